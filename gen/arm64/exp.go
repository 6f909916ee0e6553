package main

// The Exp kernel: dst[i] = exp(src[i]), bit for bit fallback.Exp, whose
// exponential is fallback.exp32Vec (fallback/exp.go). exp32 emits that
// exponential for other kernels too (LogSoftmaxBackward, in backward.go).
// Every step is one step of exp32Vec, with a fused multiply-add (FMLA)
// exactly where the fallback calls fma32c and a plain operation where it
// uses one:
//
//	d  = min(max(x, expLo), expHi)
//	t  = fma(d, log2e, 1.5*2^23)      n = round(d*log2e) is in t's low bits
//	nf = t - 1.5*2^23                 n as a float32, exactly
//	r  = fma(nf, -ln2Lo, fma(nf, -ln2Hi, d))
//	q  = fma(fma(fma(fma(c6, r, c5), r, c4), r, c3), r, c2)
//	w  = fma(r, q, 1)
//	p  = fma(r, w, 1)
//	n  = bits(t) - bits(1.5*2^23); k1 = n>>1; k2 = n - k1
//	y  = (p * 2^k1) * 2^k2, 2^k having the bits (k+127)<<23
//
// The first product is exact (p is in [0.7, 1.5] and k1 in [-76, 64]), so
// y is p*2^n rounded once, with gradual underflow and overflow to +Inf, as
// Go runs (round to nearest, no flush to zero).
//
// NaN: FMAX and FMIN return a NaN when either operand is one, and every
// later step keeps it; no finite or infinite x gives a NaN y. So y is NaN
// exactly where x is, and those lanes get the canonical NaN 0x7fc00000 at
// the end (FCMEQ y, y is false only for NaN; BIF inserts the NaN there).

// expRegs are the registers of the Exp kernel's constants: expK's, the
// clamp bounds, the exponent bias 127 (int32), the canonical NaN, and one
// holding 1.0 in lane 0, which DUP copies out.
type expRegs struct {
	expK
	lo, hi, bias, nan, one V
}

// expTables adds the Exp kernel's constants to t.
func expTables(t *table) {
	expTable(t)
	t.splat("lo", 0xc2d20000) // expLo = -105: below it every exp rounds to 0
	t.splat("hi", 0x42b20000) // expHi = 89: above it every exp overflows
	t.splat("bias", 127)
	t.splat("nan", nanBits)
	t.lanes("one", oneBits, 0, 0, 0)
}

// loadExpRegs loads the constants of exp32 into V24-V31 from the table at
// base.
func (f *file) loadExpRegs(t *table, base R) expRegs {
	k := expRegs{expK: expK{magic: 24, k: 25, c: 26}, lo: 27, hi: 28, bias: 29, nan: 30, one: 31}
	for _, e := range []struct {
		name string
		v    V
	}{{"magic", k.magic}, {"k", k.k}, {"c", k.c}, {"lo", k.lo}, {"hi", k.hi},
		{"bias", k.bias}, {"nan", k.nan}, {"one", k.one}} {
		t.load(e.v, base, e.name)
	}
	return k
}

// exp32 emits the Exp kernel's exponential of the vector x in place; t, a
// and b are scratch.
func (f *file) exp32(k expRegs, x, t, a, b vec) {
	f.comment("d = min(max(x, expLo), expHi).")
	each(func(j int) { f.fmax(S4, x[j], x[j], k.lo) })
	each(func(j int) { f.fmin(S4, x[j], x[j], k.hi) })
	f.comment("t, r = x reduced, q in b.")
	f.expReduce(k.expK, x, t, a, b)
	f.comment("p = fma(r, fma(r, q, 1), 1).")
	each(func(j int) { f.dupElem(S4, a[j], k.one, 0) })
	each(func(j int) { f.fmla(S4, a[j], x[j], b[j]) })
	each(func(j int) { f.dupElem(S4, b[j], k.one, 0) })
	each(func(j int) { f.fmla(S4, b[j], x[j], a[j]) })
	f.comment("n = bits(t) - bits(1.5*2^23); k1 = n>>1; k2 = n - k1.")
	each(func(j int) { f.sub(S4, t[j], t[j], k.magic) })
	each(func(j int) { f.sshr(a[j], t[j], 1) })
	each(func(j int) { f.sub(S4, t[j], t[j], a[j]) })
	f.comment("y = (p * 2^k1) * 2^k2, 2^k having the bits (k+127)<<23.")
	each(func(j int) { f.add(S4, a[j], a[j], k.bias) })
	each(func(j int) { f.shl(a[j], a[j], 23) })
	each(func(j int) { f.fmul(S4, b[j], b[j], a[j]) })
	each(func(j int) { f.add(S4, t[j], t[j], k.bias) })
	each(func(j int) { f.shl(t[j], t[j], 23) })
	each(func(j int) { f.fmul(S4, x[j], b[j], t[j]) })
	f.comment("NaN lanes get the canonical NaN.")
	each(func(j int) { f.fcmeq(S4, a[j], x[j], x[j]) })
	each(func(j int) { f.bif(x[j], k.nan, a[j]) })
}

func generateExp(f *file) {
	t := f.newTable("expconst")
	expTables(t)
	t.end()
	f.function("ExpNEON", "func(dst, src []float32)", 64, 48,
		"ExpNEON sets dst[i] = exp(src[i]) for i < min(len(dst), len(src)),",
		"with the bits of fallback.Exp. dst may be src; any other overlap",
		"gives unspecified results. It requires ASIMD (NEON).",
	)
	base := R(8)
	f.addr(base, t.sym)
	k := f.loadExpRegs(t, base)
	f.elementwise("exp", func(x vec) { f.exp32(k, x, vecAt(4), vecAt(8), vecAt(12)) })
}
