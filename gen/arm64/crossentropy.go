package main

import "math"

// The CrossEntropy kernel: CrossEntropyRowsNEON, which package kernels
// uses for CrossEntropy (one row) and CrossEntropyRows, bit for bit
// fallback.CrossEntropy and fallback.CrossEntropyRows
// (fallback/crossentropy.go). Per row, with t = targets[r] and
// xt = logits[t], read before anything is written:
//
//	passes 1 and 2 as SoftmaxRows's (softmax.go), u kept in grad unless
//	grad is nil or is logits
//	loss = l - (float64(xt) - float64(c)), l = float64(nm)*ln2 + log64(S)
//	       (logsoftmax.go); +Inf if xt is -Inf; NaN for a NaN row
//	grad = pass 3 of SoftmaxRows (zeros for a row of -Inf, the canonical
//	       NaN for a NaN row), then grad[t] -= 1 in float32 unless the
//	       row is NaN
//
// A row is NaN when its max is NaN or +Inf or its S is NaN, as in
// SoftmaxRows. The kernel returns the sum of the rows' losses in float64,
// in row order; package kernels divides it by the number of rows for
// CrossEntropyRows and rounds it to float32 with the canonical NaN.

// General registers of the kernel, besides the row kernels'.
const (
	rTargets = R(19) // the next row's target
	rTarget  = R(17) // the row's target
	rXt      = R(16) // the bits of logits[target]
	rHasGrad = R(20) // 1 if grad is not nil
)

func generateCrossEntropy(f *file) {
	t := f.newTable("crossentropyconst")
	rowTables(t)
	logTables(t)
	t.float64("posInf64", math.Inf(1))
	t.float64("nan64", math.NaN())
	t.end()
	f.function("CrossEntropyRowsNEON", "func(grad, logits []float32, targets []int32, rows, cols int) float64", rowFrame, 96,
		"CrossEntropyRowsNEON returns the sum over the rows rows of cols logits",
		"of the loss -log(softmax(row)[targets[r]]), in float64 in row order,",
		"and sets grad = softmax(logits) - onehot(targets) if grad is not nil,",
		"with the bits of fallback.CrossEntropyRows before its division and",
		"rounding. The caller checks the arguments: rows > 0, rows*cols",
		"logits, rows*cols elements in grad if it is not nil, grad is logits",
		"or does not overlap it, and every target is in [0, cols). It",
		"requires ASIMD (NEON).",
	)
	s := newRows(f, t, "ce")
	s.keepU = true
	total := V(31) // the rows do not use V31
	s.loadArg(rDst, "grad_base+0")
	s.loadArg(rSrc, "logits_base+24")
	s.loadArg(rTargets, "targets_base+48")
	s.loadArg(rRows, "rows+72")
	s.loadArg(rCols, "cols+80")
	s.zero(total)
	s.cbz(rRows, s.l("ret"))
	s.comment("u is kept in grad unless grad is nil or is logits.")
	s.cmpI(rDst, 0)
	s.cset(NE, rHasGrad)
	s.cset(EQ, R(10))
	s.cmpR(rDst, rSrc)
	s.cset(EQ, rInPlace)
	s.addR(rInPlace, rInPlace, R(10))

	nanrow := s.l("nanrow")
	s.label(s.l("row"))
	s.ldrWPost(rTarget, rTargets)
	s.lslI(R(10), rTarget, 2)
	s.addR(R(10), rSrc, R(10))
	s.ldrW(rXt, R(10))
	s.pass1(nanrow, nanrow, s.l("masked"))
	sum := s.pass2()
	s.fcmpD(sum, sum)
	s.bcond(VS, nanrow)

	s.comment("loss = max(l - (float64(xt) - float64(c)), 0), or +Inf if xt is -Inf.")
	s.movW(R(10), negInfBits)
	s.cmpW(rXt, R(10))
	s.bcond(EQ, s.l("infloss"))
	l := s.logSum(sum) // sum stays in its register
	xt, c := V(5), V(6)
	s.fmovFromW(xt, rXt)
	s.fcvtSD(xt, xt)
	s.fcvtSD(c, s.cv)
	s.fsubD(xt, xt, c)
	s.fsubD(l, l, xt)
	s.zero(c)
	s.fmaxD(l, l, c) // never below 0 (fallback.crossEntropyRow); l is not -0
	s.faddD(total, total, l)
	s.b(s.l("lossdone"))
	s.label(s.l("infloss"))
	s.addLoss(total, "posInf64")
	s.label(s.l("lossdone"))
	s.cbz(rHasGrad, s.l("next"))
	s.recip(sum)
	s.softmaxPass3(s.l("fix"))

	s.comment("A row of -Inf: loss +Inf, grad 0 but -1 at the target.")
	fill := V(0)
	s.label(s.l("masked"))
	s.addLoss(total, "posInf64")
	s.cbz(rHasGrad, s.l("next"))
	s.zero(fill)
	s.fillRow(fill, s.l("fix"))
	s.comment("A NaN row: loss NaN, grad NaN.")
	s.label(nanrow)
	s.addLoss(total, "nan64")
	s.cbz(rHasGrad, s.l("next"))
	s.t.load(fill, rTbl, "nan")
	s.fillRow(fill, s.l("next"))

	s.label(s.l("fix"))
	s.comment("grad[target] -= 1.")
	g, one := V(0), V(1)
	s.lslI(R(10), rTarget, 2)
	s.addR(R(10), rDst, R(10))
	s.ldrS(g, R(10))
	s.fmovSOne(one)
	s.fsubS(g, g, one)
	s.strS(g, R(10))
	s.label(s.l("next"))
	s.nextRow()
	s.label(s.l("ret"))
	s.storeRetD(total, "ret+88")
	s.ret()
}

// addLoss adds the float64 constant name to total.
func (s *rows) addLoss(total V, name string) {
	s.t.loadD(V(4), rTbl, name)
	s.faddD(total, total, V(4))
}
