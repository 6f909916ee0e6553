package main

import (
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// The Exp kernel: dst[i] = exp(src[i]), bit for bit fallback.Exp, whose
// exponential is fallback.exp32Vec (fallback/exp.go). exp512 and exp256
// emit that exponential for other kernels too (LogSoftmaxBackward, in
// backward.go), so that they share its code and its bits. Every step below is
// one step of exp32Vec, with a fused multiply-add exactly where the
// fallback calls fma32c and a plain operation where it uses one:
//
//	d  = min(max(x, expLo), expHi)
//	t  = fma(d, log2e, 1.5*2^23)      n = round(d*log2e) is in t's low bits
//	nf = t - 1.5*2^23                 n as a float32, exactly
//	r1 = fma(nf, -ln2Hi, d)           exact
//	r  = fma(nf, -ln2Lo, r1)
//	q  = fma(fma(fma(fma(c6, r, c5), r, c4), r, c3), r, c2)
//	w  = fma(r, q, 1)
//	p  = fma(r, w, 1)
//	y  = p * 2^n, rounded once; the canonical NaN where x is NaN
//
// The fallback computes t and r1 in float64 and proves them equal to the
// float32 FMAs used here.
//
// The last step: the fallback forms 2^k1 and 2^k2 from k1 = n>>1 and
// k2 = n-k1 as (k+127)<<23 and multiplies p by them in turn. The first
// product is exact (p is in [0.7, 1.5] and k1 in [-76, 64]), so the
// result is p*2^n rounded once, with gradual underflow and overflow to
// +Inf. The AVX2 kernel does exactly that. The AVX-512 kernel uses
// VSCALEFPS p, nf, which computes p*2^floor(nf) rounded once under the
// same MXCSR rounding (round to nearest, no flush to zero, as Go runs):
// the same number, in one instruction instead of nine.
//
// NaN: the clamps keep a NaN, every later step propagates it, and no
// finite or infinite x gives a NaN y, so y is NaN exactly where x is; those
// lanes get the canonical NaN 0x7fc00000 at the end. To keep the NaN,
// VMAXPS and VMINPS take x as their second source: in Intel's order,
// VMAXPS dst, src1, src2 returns src2 when either source is NaN. Go's
// assembler, and avo, reverse the order, so the clamps read VMAXPS x, lo,
// dst. Only src2 can come from memory, so the bounds sit in registers.
//
// The bit-exact tests in package kernels compare both kernels with the
// fallback on every 257th float32 and on every input in [1/4, 105] in
// magnitude; with -bitexact.stride 1 on all 2^32 inputs.

// expConsts are the constants of the exponential; their values and
// meaning are those of fallback/exp.go.
var expConsts = []constant{
	{"lo", 0xc2d20000},       // expLo = -105: below it every exp rounds to 0
	{"hi", 0x42b20000},       // expHi = 89: above it every exp overflows
	{"log2e", 0x3fb8aa3b},    // log2(e) rounded to float32
	{"magic", 0x4b400000},    // roundMagic = 1.5*2^23, also roundMagicBits
	{"negLn2Hi", 0xbf317218}, // -ln2Hi
	{"negLn2Lo", 0x3102e308}, // -ln2Lo (ln2Lo is negative)
	{"c6", 0x3ab4b71a},       // expC6
	{"c5", 0x3c091fbc},       // expC5
	{"c4", 0x3d2aad09},       // expC4
	{"c3", 0x3e2aaa45},       // expC3
	{"c2", 0x3efffffd},       // expC2
	{"one", 0x3f800000},      // 1
	{"nan", 0x7fc00000},      // canonicalNaN
	{"bias", 127},            // int32: the exponent bias, for 2^k
}

// cmpUnord is the VCMPPS predicate "unordered": true where either
// operand is NaN.
const cmpUnord = 3

func generateExp(g *gen) {
	c := g.constTable("expconst", expConsts)
	expAVX512(g, c)
	expAVX2(g, c)
}

func expAVX512(g *gen, c *constTable) {
	g.function("ExpAVX512", "func(dst, src []float32)",
		[]string{"AVX", "AVX512F", "CMOV"},
		"ExpAVX512 sets dst[i] = exp(src[i]) for i < min(len(dst), len(src)),",
		"with the bits of fallback.Exp. dst may be src; any other overlap",
		"gives unspecified results. It requires AVX-512F.",
	)
	// Every constant lives in a register (there are 32 zmm): 13 of them,
	// and 3 temporaries per vector for 4 vectors per iteration.
	k := expRegs512(g, c)
	g.elementwise512("exp512", 4, func(x []reg.VecVirtual) { exp512(g, k, x) })
}

// expRegs512 broadcasts the constants exp512 keeps in zmm registers from
// c, a table that holds expConsts.
func expRegs512(g *gen, c *constTable) map[string]reg.VecVirtual {
	k := map[string]reg.VecVirtual{}
	for _, name := range []string{"lo", "hi", "log2e", "magic", "negLn2Hi", "negLn2Lo",
		"c6", "c5", "c4", "c3", "c2", "one", "nan"} {
		k[name] = g.ZMM()
		g.VBROADCASTSS(c.scalar(name), k[name])
	}
	return k
}

// exp512 emits the exponential of the Exp kernel for the zmm vectors x, in
// place: each x[i] holds exp(x[i]) on exit, bit for bit fallback's
// exp32Vec. k holds the constants (see expRegs512). It uses 2 temporaries
// per vector besides x, and each step is emitted for every vector before
// the next, so that their chains overlap.
func exp512(g *gen, k map[string]reg.VecVirtual, x []reg.VecVirtual) {
	expAnyNaN512(g, k, x)
	g.Comment("NaN lanes get the canonical NaN.")
	for _, v := range x {
		m := g.K()
		g.VCMPPS(U8(cmpUnord), v, v, m)
		g.VMOVAPS(k["nan"], m, v)
	}
}

// expAnyNaN512 is exp512 without its last step: a NaN lane of x holds a
// NaN on exit, but not necessarily the canonical one. For a caller that
// canonicalizes its own results later (LogSoftmaxBackward).
func expAnyNaN512(g *gen, k map[string]reg.VecVirtual, x []reg.VecVirtual) {
	expSteps512(g, k, x, true)
}

// expFast512 is expAnyNaN512 without its clamps, for x that lie inside
// them (LogSoftmaxBackward's fast rows, see fastRow in backward.go).
func expFast512(g *gen, k map[string]reg.VecVirtual, x []reg.VecVirtual) {
	expSteps512(g, k, x, false)
}

// expSteps512 emits the steps of expAnyNaN512, the clamps only if clamp.
func expSteps512(g *gen, k map[string]reg.VecVirtual, x []reg.VecVirtual, clamp bool) {
	// Go's operand order throughout: sources first, destination last;
	// VFMADD231PS a, b, acc is acc = b*a + acc, VFMADD213PS a, b, acc
	// is acc = b*acc + a, VSUBPS a, b, dst is dst = b - a.
	t := make([]reg.VecVirtual, len(x))
	q := make([]reg.VecVirtual, len(x))
	each := func(f func(i int)) {
		for i := range x {
			f(i)
		}
	}
	d := "y" // the argument of the steps below, as their comments name it
	if clamp {
		d = "d"
		g.Comment("d = min(max(x, expLo), expHi), NaN kept: x is the second source.")
		each(func(i int) { g.VMAXPS(x[i], k["lo"], x[i]) })
		each(func(i int) { g.VMINPS(x[i], k["hi"], x[i]) })
	}
	g.Comment("t = fma(" + d + ", log2e, 1.5*2^23); nf = t - 1.5*2^23.")
	each(func(i int) {
		t[i] = g.ZMM()
		g.VMOVAPS(k["magic"], t[i])
	})
	each(func(i int) { g.VFMADD231PS(k["log2e"], x[i], t[i]) })
	each(func(i int) { g.VSUBPS(k["magic"], t[i], t[i]) })
	g.Comment("r = fma(nf, -ln2Lo, fma(nf, -ln2Hi, " + d + ")).")
	each(func(i int) { g.VFMADD231PS(k["negLn2Hi"], t[i], x[i]) })
	each(func(i int) { g.VFMADD231PS(k["negLn2Lo"], t[i], x[i]) })
	g.Comment("q = fma(fma(fma(fma(c6, r, c5), r, c4), r, c3), r, c2).")
	each(func(i int) {
		q[i] = g.ZMM()
		g.VMOVAPS(k["c6"], q[i])
	})
	for _, ci := range []string{"c5", "c4", "c3", "c2"} {
		each(func(i int) { g.VFMADD213PS(k[ci], x[i], q[i]) })
	}
	g.Comment("p = fma(r, fma(r, q, 1), 1).")
	each(func(i int) { g.VFMADD213PS(k["one"], x[i], q[i]) })
	each(func(i int) { g.VFMADD213PS(k["one"], x[i], q[i]) })
	g.Comment("y = p * 2^nf, rounded once.")
	each(func(i int) { g.VSCALEFPS(t[i], q[i], x[i]) })
}

func expAVX2(g *gen, c *constTable) {
	g.function("ExpAVX2", "func(dst, src []float32)",
		[]string{"AVX", "AVX2", "CMOV", "FMA3"},
		"ExpAVX2 sets dst[i] = exp(src[i]) for i < min(len(dst), len(src)),",
		"with the bits of fallback.Exp. dst may be src; any other overlap",
		"gives unspecified results. It requires AVX2 and FMA3.",
	)
	// 16 ymm registers: the two clamp bounds (registers, to keep NaN; see
	// the top of this file) and 3 temporaries per half-vector, 4 halves per
	// iteration. The other constants are 256-bit memory operands.
	lo, hi := g.YMM(), g.YMM()
	g.VMOVUPS(c.ymm("lo"), lo)
	g.VMOVUPS(c.ymm("hi"), hi)
	g.elementwise256("exp256", 2, func(x []reg.VecVirtual) { exp256(g, c, lo, hi, x) })
}

// exp256 emits the exponential of the Exp kernel for the ymm vectors x, in
// place, as exp512 does: lo and hi hold expLo and expHi in every lane (the
// clamps need them in registers), and the other constants are memory
// operands of c, a table that holds expConsts. It uses 2 temporaries per
// vector besides x.
func exp256(g *gen, c *constTable, lo, hi reg.VecVirtual, x []reg.VecVirtual) {
	expAnyNaN256(g, c, lo, hi, x)
	g.Comment("NaN lanes get the canonical NaN.")
	m := make([]reg.VecVirtual, len(x))
	for i, v := range x {
		m[i] = g.YMM()
		g.VCMPPS(U8(cmpUnord), v, v, m[i])
	}
	for i, v := range x {
		g.VBLENDVPS(m[i], c.ymm("nan"), v, v)
	}
}

// expAnyNaN256 is exp256 without its last step, as expAnyNaN512 is
// exp512's: a NaN lane of x holds a NaN on exit, not necessarily the
// canonical one.
func expAnyNaN256(g *gen, c *constTable, lo, hi reg.VecVirtual, x []reg.VecVirtual) {
	t := make([]reg.VecVirtual, len(x))
	q := make([]reg.VecVirtual, len(x))
	each := func(f func(i int)) {
		for i := range x {
			f(i)
		}
	}
	g.Comment("d = min(max(x, expLo), expHi), NaN kept: x is the second source.")
	each(func(i int) { g.VMAXPS(x[i], lo, x[i]) })
	each(func(i int) { g.VMINPS(x[i], hi, x[i]) })
	g.Comment("t = fma(d, log2e, 1.5*2^23); nf = t - 1.5*2^23.")
	each(func(i int) {
		t[i] = g.YMM()
		g.VMOVUPS(c.ymm("magic"), t[i])
	})
	each(func(i int) { g.VFMADD231PS(c.ymm("log2e"), x[i], t[i]) })
	each(func(i int) {
		q[i] = g.YMM()
		g.VSUBPS(c.ymm("magic"), t[i], q[i])
	})
	g.Comment("r = fma(nf, -ln2Lo, fma(nf, -ln2Hi, d)).")
	each(func(i int) { g.VFMADD231PS(c.ymm("negLn2Hi"), q[i], x[i]) })
	each(func(i int) { g.VFMADD231PS(c.ymm("negLn2Lo"), q[i], x[i]) })
	g.Comment("q = fma(fma(fma(fma(c6, r, c5), r, c4), r, c3), r, c2).")
	each(func(i int) { g.VMOVUPS(c.ymm("c6"), q[i]) })
	for _, ci := range []string{"c5", "c4", "c3", "c2"} {
		each(func(i int) { g.VFMADD213PS(c.ymm(ci), x[i], q[i]) })
	}
	g.Comment("p = fma(r, fma(r, q, 1), 1).")
	each(func(i int) { g.VFMADD213PS(c.ymm("one"), x[i], q[i]) })
	each(func(i int) { g.VFMADD213PS(c.ymm("one"), x[i], q[i]) })
	g.Comment("n = bits(t) - bits(1.5*2^23); k1 = n>>1; k2 = n - k1.")
	each(func(i int) { g.VPSUBD(c.ymm("magic"), t[i], t[i]) })
	each(func(i int) { g.VPSRAD(U8(1), t[i], x[i]) })
	each(func(i int) { g.VPSUBD(x[i], t[i], t[i]) })
	g.Comment("y = (p * 2^k1) * 2^k2, 2^k having the bits (k+127)<<23.")
	each(func(i int) { g.VPADDD(c.ymm("bias"), x[i], x[i]) })
	each(func(i int) { g.VPSLLD(U8(23), x[i], x[i]) })
	each(func(i int) { g.VMULPS(x[i], q[i], q[i]) })
	each(func(i int) { g.VPADDD(c.ymm("bias"), t[i], t[i]) })
	each(func(i int) { g.VPSLLD(U8(23), t[i], t[i]) })
	each(func(i int) { g.VMULPS(t[i], q[i], x[i]) })
}
