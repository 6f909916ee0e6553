package main

import "math"

// The LogSoftmax and LogSumExp kernels: LogSoftmaxRows and LogSumExp, bit
// for bit fallback.LogSoftmaxRows and fallback.LogSumExp
// (fallback/softmax.go, fallback/row.go, fallback/log.go). Passes 1 and 2
// are SoftmaxRows's (softmax.go), with nothing stored in pass 2; then
//
//	l = float64(float64(nm)*ln2) + log64(S)    (rowPlan.logSum)
//
// where nm = round((m - c)*log2e) = bits(t_m) - 0x4b400000, and log64 is
// the fallback's logarithm, repeated operation by operation (see log64
// below). Then
//
//	LogSoftmax  y = float32(min((float64(x) - float64(c)) - l, 0)), per element:
//	            two float64 subtractions, an FMIN with 0 that keeps -0
//	            (fallback.logProb), then one rounding
//	LogSumExp   float32(l + float64(c))
//
// Special rows, as in the fallback: LogSoftmax writes the canonical NaN
// over a row whose max is NaN or +Inf or whose S is NaN, and -Inf over a
// row of -Inf. LogSumExp returns -Inf for an empty row or a row of -Inf,
// +Inf for a row whose max is +Inf, and the canonical NaN for a row with
// a NaN. Pass 1's m is NaN exactly when the row holds one (FMAX), so the
// kind of the row follows from m alone.

// logC are fallback/log.go's coefficients 1/(2k+1) of the atanh series,
// highest first, rounded to float64 as the fallback's constants are.
var logC = [...]float64{
	1.0 / 23, 1.0 / 21, 1.0 / 19, 1.0 / 17, 1.0 / 15, 1.0 / 13,
	1.0 / 11, 1.0 / 9, 1.0 / 7, 1.0 / 5, 1.0 / 3, 1,
}

// logTables adds the float64 constants of log64 and logSum to t.
func logTables(t *table) {
	t.float64("sqrt2", math.Sqrt2)
	t.float64("one64", 1)
	t.float64("ln2", math.Ln2)
	for k, c := range logC {
		t.float64(logCName(k), c)
	}
}

func logCName(k int) string { return "logC" + string(rune('a'+k)) }

// log64 emits fallback.log64 for the float64 x in the low lane of a
// register (a normal, finite x > 0: the row sum S >= 1/sqrt2) and returns
// the register holding ln(x) in its low lane. Every float64 operation is
// the fallback's, in its order, each rounded (no fused multiply-add):
//
//	e = (bits(x) >> 52) - 1023; f = bits(x) with exponent 1023, in [1, 2)
//	if f > sqrt2 { f *= 0.5; e++ }
//	z = (f - 1) / (f + 1); w = z*z
//	p = logC[0]; p = p*w + logC[k] for k = 1..11, multiply and add apart
//	r = z*p; return e*ln2 + (r + r)
//
// The halving is done on the bits, branch-free: f in [1, 2) times 0.5 is
// f with its exponent field decreased by one, which flipping bit 52 does;
// CSEL keeps it, and e + 1, where f > sqrt2. It uses V1-V7 and R10-R14.
func (s *rows) log64(x V) V {
	bits, e, h, e1 := R(10), R(11), R(12), R(14)
	f, c, a, b, z, w, p := V(1), V(2), V(3), V(4), V(5), V(6), V(7)
	s.fmovToX(bits, x)
	s.lsrI(e, bits, 52)
	s.subI(e, e, 1023) // x > 0: no sign bit
	s.andI(bits, bits, 1<<52-1)
	s.orrI(bits, bits, 1023<<52) // f
	s.eorI(h, bits, 1<<52)       // the bits of f*0.5
	s.addI(e1, e, 1)
	s.fmovFromX(f, bits)
	s.t.loadD(c, rTbl, "sqrt2")
	s.fcmpD(f, c)
	s.csel(GT, bits, h, bits) // f > sqrt2: f *= 0.5
	s.csel(GT, e, e1, e)      // and e++
	s.fmovFromX(f, bits)
	s.t.loadD(c, rTbl, "one64")
	s.fsubD(a, f, c)
	s.faddD(b, f, c)
	s.fdivD(z, a, b) // z = (f-1)/(f+1)
	s.fmulD(w, z, z)
	s.t.loadD(p, rTbl, logCName(0))
	for k := 1; k < len(logC); k++ {
		s.fmulD(p, p, w)
		s.t.loadD(c, rTbl, logCName(k))
		s.faddD(p, p, c)
	}
	s.fmulD(p, z, p) // r = z*p
	s.faddD(p, p, p) // r + r
	s.scvtfX(a, e)   // float64(e), exact
	s.t.loadD(c, rTbl, "ln2")
	s.fmulD(a, a, c)
	s.faddD(a, a, p) // e*ln2 + (r + r)
	return a
}

// logSum emits rowPlan.logSum: l = float64(float64(nm)*ln2) + log64(S)
// for the sum S in the low lane of sum, with nm = bits(t_m) - 0x4b400000,
// and returns the register holding l in its low lane. It uses V1-V7 and
// R10-R15.
func (s *rows) logSum(sum V) V {
	lg := s.log64(sum)
	nm, c, l := R(15), V(2), V(4)
	s.movW(nm, roundMagicBits)
	s.subW(nm, rTm, nm)
	s.scvtfW(l, nm) // float64(nm), exact
	s.t.loadD(c, rTbl, "ln2")
	s.fmulD(l, l, c)
	s.faddD(l, l, lg)
	return l
}

func generateLogSoftmax(f *file) {
	t := f.newTable("logsoftmaxconst")
	rowTables(t)
	logTables(t)
	t.end()
	logSoftmaxRows(f, t)
	logSumExp(f, t)
}

func logSoftmaxRows(f *file, t *table) {
	f.function("LogSoftmaxRowsNEON", "func(dst, src []float32, rows, cols int)", rowFrame, 64,
		"LogSoftmaxRowsNEON sets each of the rows rows of cols elements of dst",
		"to the log-softmax of the same row of src, with the bits of",
		"fallback.LogSoftmaxRows. The caller checks the arguments: rows*cols",
		"elements in each slice, cols > 0, and dst is src or does not overlap",
		"it. It requires ASIMD (NEON).",
	)
	newRows(f, t, "lsm").logRows()
}

// The registers of the row's l and float64(c), in both lanes, for
// LogSoftmax's pass 3.
const lReg, c64Reg = V(18), V(19)

// logOut is LogSoftmax's pass 3 for a vector, y = float32(min((float64(x)
// - float64(c)) - l, 0)), each half of the registers in float64, with l
// and float64(c) in lReg and c64Reg.
func (s *rows) logOut(tail bool) {
	lv, cv64 := lReg, c64Reg
	x, y := vecAt(0), vecAt(4)
	if tail {
		s.loadTailIn(x, bufOff)
	} else {
		s.loadIn(x, y)
	}
	each(func(j int) { s.fcvtl(y[j], x[j]) })
	each(func(j int) { s.fcvtl2(x[j], x[j]) })
	for _, v := range []V{cv64, lv} { // (x - c) - l
		each(func(j int) {
			s.fsub(D2, y[j], y[j], v)
			s.fsub(D2, x[j], x[j], v)
		})
	}
	zero := V(8)
	s.zero(zero)
	each(func(j int) { // never above 0, -0 kept (fallback.logProb)
		s.fmin(D2, y[j], y[j], zero)
		s.fmin(D2, x[j], x[j], zero)
	})
	each(func(j int) { s.fcvtn(y[j], y[j]) })
	each(func(j int) { s.fcvtn2(y[j], x[j]) })
	if tail {
		s.storeTail(y, rQ, buf2Off, 8)
	} else {
		s.st1(S4, y[0], 4, rQ, true)
	}
}

// logRows emits the body of a LogSoftmaxRows kernel.
func (s *rows) logRows() {
	lv, cv64 := lReg, c64Reg
	s.rowsKernel(func(v V) { s.mov(v, s.negInf) }, func(sum V) {
		s.comment("l = float64(nm)*ln2 + log64(S).")
		l := s.logSum(sum)
		s.dupElem(D2, lv, l, 0)
		s.fcvtSD(cv64, s.cv)
		s.dupElem(D2, cv64, cv64, 0)
		s.comment("Pass 3: y = float32(min((float64(x) - float64(c)) - l, 0)).")
		s.pass3("out", s.l("next"), s.logOut)
	})
}

func logSumExp(f *file, t *table) {
	f.function("LogSumExpNEON", "func(src []float32) float32", rowFrame, 28,
		"LogSumExpNEON returns ln(sum_i exp(src[i])), with the bits of",
		"fallback.LogSumExp. It requires ASIMD (NEON).",
	)
	s := newRows(f, t, "lse")
	res := V(0)
	s.loadArg(rSrc, "src_base+0")
	s.loadArg(rCols, "src_len+8")
	s.cbz(rCols, s.l("neginf"))
	nan := s.l("nan")
	s.pass1(nan, s.l("posinf"), s.l("neginf"))
	sum := s.pass2()
	s.fcmpD(sum, sum)
	s.bcond(VS, nan)
	s.comment("float32(float64(nm)*ln2 + log64(S) + float64(c)).")
	l := s.logSum(sum)
	c64 := V(5)
	s.fcvtSD(c64, s.cv)
	s.faddD(l, l, c64)
	s.fcmpD(l, l)
	s.bcond(VS, nan)
	s.fcvtDS(res, l)
	s.b(s.l("ret"))
	for _, e := range []struct{ label, value string }{
		{"posinf", "posInf"}, {"neginf", "negInf"}, {"nan", "nan"},
	} {
		s.label(s.l(e.label))
		s.t.load(res, rTbl, e.value)
		if e.label != "nan" {
			s.b(s.l("ret"))
		}
	}
	s.label(s.l("ret"))
	s.storeRetS(res, "ret+24")
	s.ret()
}
