package main

import (
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// The CrossEntropy kernels: CrossEntropyRows, bit for bit
// fallback.CrossEntropyRows (fallback/crossentropy.go). One call covers
// every row of a batch. Each row is SoftmaxRows's (softmax.go): passes 1
// and 2, and unless the gradient is nil, pass 3 writes softmax(x) into it;
// the loss of a row with a finite max and sum S is, in float64,
//
//	loss = l - (float64(x_t) - float64(c))
//
// with l = float64(nm)*ln2 + log64(S) as LogSoftmax computes it
// (logsoftmax.go), x_t the row's logit at its target t, read before pass 3
// can overwrite it in place. Then grad[t] = grad[t] - 1 in float32. A row
// of -Inf (with no NaN) gets grad = 0 - onehot(t) and loss +Inf; a row
// whose max is NaN or +Inf, or whose S is NaN, gets a gradient of the
// canonical NaN, left as it is at t, and loss NaN. A finite row whose x_t
// is -Inf gets loss +Inf from the formula, as in the fallback.
//
// The losses are added to a float64 total in row order, starting from +0;
// the caller divides it by the number of rows and rounds it to float32, as
// the fallback does, or rounds it alone for a single row (0 + loss is loss:
// a loss is never -0, since l is never -0).

// ceRows is what the CrossEntropy generator needs of sm512 and sm256.
type ceRows interface {
	rowPasses
	setHooks(h rowHooks)
	softmaxOut(after string) func(sum reg.VecVirtual)
}

func (s *sm512) setHooks(h rowHooks) { s.hooks = h }
func (s *sm256) setHooks(h rowHooks) { s.hooks = h }

func generateCrossEntropy(g *gen) {
	c := g.constTable("crossentropyconst", softmaxConsts)
	t := g.log64Table()
	crossEntropyAVX512(g, c, t)
	crossEntropyAVX2(g, c, t)
}

// crossEntropySignature is the kernels' Go signature: dst is the gradient
// and src the logits.
const crossEntropySignature = "func(dst, src []float32, targets []int32, rows, cols int) float64"

func crossEntropyAVX512(g *gen, c *constTable, t *log64Table) {
	g.function("CrossEntropyRowsAVX512", crossEntropySignature,
		[]string{"AVX", "AVX512F", "CMOV", "FMA3", "SSE", "SSE2"},
		"CrossEntropyRowsAVX512 returns the sum, in float64 and in row order, of",
		"the cross-entropy losses of the rows rows of cols logits in src, row r",
		"against class targets[r], and unless dst is nil sets each row of dst",
		"to softmax(row) - onehot(targets[r]); with the bits of",
		"fallback.CrossEntropyRows, which returns the sum divided by rows and",
		"rounded to float32 (a NaN as the canonical NaN). The caller checks",
		"the arguments: rows*cols elements in src, and in dst unless it is",
		"nil, cols > 0, 0 <= targets[r] < cols for each of the rows, and dst",
		"is src or does not overlap it. It requires AVX-512F.",
	)
	s := newSM512(g, c, "ce512")
	s.keepU = true
	crossEntropyRows(g, s, c, t, func(zero reg.VecVirtual) { g.VPXORD(zero, zero, zero) })
}

func crossEntropyAVX2(g *gen, c *constTable, t *log64Table) {
	g.function("CrossEntropyRowsAVX2", crossEntropySignature,
		[]string{"AVX", "AVX2", "CMOV", "FMA3", "SSE", "SSE2"},
		"CrossEntropyRowsAVX2 is CrossEntropyRowsAVX512 for AVX2 and FMA3.",
	)
	s := newSM256(g, c, "ce256")
	s.keepU = true
	crossEntropyRows(g, s, c, t, func(zero reg.VecVirtual) { g.VXORPS(zero, zero, zero) })
}

// crossEntropyRows emits the body of a CrossEntropyRows kernel: the
// total, kept in the result's slot, the rows' targets, and the loss and
// grad[t] of each row around rowsKernel's passes; zero sets the fill
// vector of a row of -Inf.
func crossEntropyRows(g *gen, s ceRows, c *constTable, t *log64Table, zero func(v reg.VecVirtual)) {
	res, err := g.ReturnIndex(0).Resolve()
	if err != nil {
		panic(err)
	}
	total := res.Addr
	z := g.XMM()
	g.VXORPD(z, z, z)
	g.VMOVSD(z, total)

	// tp points at the current row's target: it starts one before
	// targets[0] and moves on at the start of each row.
	tp := g.GP64()
	g.Load(g.Param("targets").Base(), tp)
	g.SUBQ(U32(4), tp)
	// target returns the address of the element at the row's target in
	// the row at base.
	target := func(base reg.GPVirtual) Mem {
		ti := g.GP64()
		g.MOVLQSX(Mem{Base: tp}, ti)
		return Mem{Base: base, Index: ti, Scale: 4}
	}
	// addLoss adds the float64 loss to the total.
	addLoss := func(loss reg.VecVirtual) {
		g.VADDSD(total, loss, loss)
		g.VMOVSD(loss, total)
	}
	// subOne emits grad[t] = grad[t] - 1, in float32.
	subOne := func() {
		at := target(s.rowDst())
		x := g.XMM()
		g.VMOVSS(at, x)
		g.VSUBSS(c.scalar("one"), x, x)
		g.VMOVSS(x, at)
	}

	s.setHooks(rowHooks{
		begin: func() { g.ADDQ(U32(4), tp) },
		special: func(fill reg.VecVirtual) {
			g.Comment("A row of -Inf: grad[t] = 0 - 1 and loss 0 + Inf. A row of NaN: grad[t]",
				"keeps its NaN (NaN - 1 is that NaN) and the loss is NaN + Inf = NaN.")
			noGrad := s.label("nograd")
			g.TESTQ(s.rowDst(), s.rowDst())
			g.JZ(LabelRef(noGrad))
			subOne()
			g.Label(noGrad)
			loss := g.XMM()
			g.VADDSS(c.scalar("posInf"), fill.AsX(), loss)
			g.VCVTSS2SD(loss, loss, loss)
			addLoss(loss)
		},
		nilDst: true,
	})
	s.rowsKernel(zero, func(sum reg.VecVirtual) {
		g.Comment("loss = l - (float64(x_t) - float64(c)), l = float64(nm)*ln2 + log64(S).")
		l := g.logSum(t, s.bias(), sum)
		xt := g.XMM()
		g.VMOVSS(target(s.rowSrc()), xt)
		g.VCVTSS2SD(xt, xt, xt)
		g.VSUBSD(s.c64(), xt, xt)
		g.VSUBSD(xt, l, l)
		addLoss(l)
		g.TESTQ(s.rowDst(), s.rowDst())
		g.JZ(LabelRef(s.label("next")))

		grad := s.label("grad")
		s.softmaxOut(grad)(sum)
		g.Label(grad)
		g.Comment("grad[t] = softmax(x)[t] - 1.")
		subOne()
		g.JMP(LabelRef(s.label("next")))
	}, nil)
}
