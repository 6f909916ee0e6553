package fallback

import "math"

// The exponential used by every kernel.
//
// exp(x) is written as (1 + u) * 2^n with
//
//	n  = round(x * log2(e))                 (ties to even, via the 1.5*2^23 trick)
//	r  = x - n*ln2Hi - n*ln2Lo              (two-step Cody-Waite, each step one FMA)
//	u  = r + r^2 * q(r)                     (q of degree 4, so exp is degree 6)
//
// The first Cody-Waite step is exact: ln2Hi is ln 2 rounded to float32, and
// for every |x| the kernels feed in (at most a few hundred), x - n*ln2Hi is a
// multiple of min(ulp(x), 2^-24) smaller than 1/2, so the FMA that computes
// it does not round. The second step rounds once, to r.
//
// q's coefficients and their measured error are documented at expC2..expC6.
const (
	log2e = float32(1.4426950408889634)     // 0x3fb8aa3b
	ln2Hi = float32(0.6931471805599453)     // 0x3f317218, ln 2 rounded to float32
	ln2Lo = float32(-1.904654299957768e-09) // 0xb102e308, ln 2 - ln2Hi rounded

	// roundMagic is 1.5*2^23: fma(x, log2e, roundMagic) leaves round(x*log2e)
	// in the low mantissa bits (for |x*log2e| < 2^22) and subtracting it again
	// gives that integer as a float32, exactly.
	roundMagic = float32(12582912)
)

// roundMagicBits is the bit pattern of roundMagic: bits(t) - roundMagicBits
// is the integer n that t = fma(x, log2e, roundMagic) holds.
const roundMagicBits = 0x4b400000

// Coefficients of q(r) ~ (exp(r) - 1 - r) / r^2, so that
// 1 + r + r^2*q(r) ~ exp(r) on |r| <= 0.35 (the reduced range is ln2/2 =
// 0.3466). They are float32 values fitted by Sollya's fpminimax to the
// relative error of the whole degree-6 polynomial, with 1 + r fixed; the
// script is gen/sollya/expq.sollya. Sollya bounds that error, with these
// float32 coefficients evaluated exactly, by 3.47e-9 = 0.058 * 2^-24: a
// twentieth of a float32 rounding. What the exponential loses beyond that
// comes from rounding r, q and the result in float32: the Exp kernel
// measures 0.89 ULP max over every float32 whose exp is a normal float32
// (kernels.TestAccuracyExp with -exp.sweep). Taylor's degree-7 coefficients
// are less accurate (0.13 * 2^-24) and cost one FMA more; Sollya's degree-7
// fit (0.002 * 2^-24) measured 0.87 ULP, not worth the FMA.
const (
	expC2 = float32(0.4999999105930328369140625)        // 0x3efffffd
	expC3 = float32(0.16666515171527862548828125)       // 0x3e2aaa45
	expC4 = float32(4.16689254343509674072265625e-2)    // 0x3d2aad09
	expC5 = float32(8.3693824708461761474609375e-3)     // 0x3c091fbc
	expC6 = float32(1.37874786742031574249267578125e-3) // 0x3ab4b71a
)

// pow2 returns 2^k as a float32 for k in [-126, 127], and 0 for k = -127.
// Callers clamp k to that range.
func pow2(k int32) float32 {
	return math.Float32frombits(uint32(k+127) << 23)
}

// Exp's clamps. Below expLo every exp underflows to 0 after rounding
// (exp(-105) < 2^-151); above expHi every exp overflows to +Inf. Inside the
// range n = round(x*log2e) lies in [-151, 129].
const (
	expLo = float32(-105)
	expHi = float32(89)
)

// canonicalNaN is the one NaN every kernel writes: the quiet NaN 0x7fc00000.
var canonicalNaN = math.Float32frombits(0x7fc00000)

// vec64 holds one vector of float32 values carried in float64s, for
// chains of fma32c.
type vec64 = [lanes]float64

// expReduceVec computes, for every element of d (at most lanes of them), t,
// r and q with exp(d) ~ (1 + r + r^2*q) * 2^n, where n is
// int32(math.Float32bits(t)) - roundMagicBits; r and q are float32 values
// carried in float64s. Each d must satisfy |d * log2e| < 2^22 (the kernels
// clamp it first); a NaN gives NaN r and q. The elements are independent,
// so a CPU overlaps their chains of roundings.
func expReduceVec(d, t []float32, r, q *vec64) {
	t = t[:len(d)]
	rs, qs := r[:len(d)], q[:len(d)]
	for l, x := range d {
		var n float64
		t[l], n = roundLog2e(x)
		// r1 = fma(n, -ln2Hi, x) is exact (see the top of this file), so
		// plain float64 arithmetic gives its bits.
		r1 := float64(float32(float64(x) - float64(n*float64(ln2Hi))))
		rr := fma32c(n, -float64(ln2Lo), r1)
		qq := fma32c(float64(expC6), rr, float64(expC5))
		qq = fma32c(qq, rr, float64(expC4))
		qq = fma32c(qq, rr, float64(expC3))
		qs[l] = fma32c(qq, rr, float64(expC2))
		rs[l] = rr
	}
}

// expUVec sets u[i] to the u of exp(d[i]) = (1 + u) * 2^n, and t[i] as
// expReduceVec does, for up to lanes elements: u = r + r^2*q, with r^2
// rounded and one FMA. The softmax kernels keep u apart from the 1, which
// the normalization adds back without rounding it first (see
// normalizeVec).
func expUVec(d, t, u []float32) {
	var r, q vec64
	expReduceVec(d, t, &r, &q)
	u = u[:len(d)]
	rs, qs := r[:len(d)], q[:len(d)]
	for l, rr := range rs {
		r2 := float64(float32(rr * rr))
		u[l] = float32(fma32c(r2, qs[l], rr))
	}
}

// exp32Vec sets dst[i] = exp(src[i]), the Exp kernel's exponential, for up
// to lanes elements. x is clamped to [expLo, expHi]; p = 1 + r*(1 + r*q) in
// two FMAs, which measured more accurate than 1 + (r + r^2*q) and is one
// operation less; then p*2^n, applied in two exact halves so that overflow
// gives +Inf and gradual underflow rounds once, as one IEEE multiplication
// by 2^n would. NaN gives the canonical NaN. dst may be src.
func exp32Vec(dst, src []float32) {
	var d, t [lanes]float32
	var r, q vec64
	n := len(src)
	for l, v := range src {
		d[l] = min(max(v, expLo), expHi)
	}
	expReduceVec(d[:n], t[:n], &r, &q)
	dst = dst[:n]
	for l, v := range src {
		if v != v {
			dst[l] = canonicalNaN
			continue
		}
		w := fma32c(r[l], q[l], 1)
		p := float32(fma32c(r[l], w, 1))
		k := int32(math.Float32bits(t[l])) - roundMagicBits
		k1 := k >> 1
		dst[l] = float32(p*pow2(k1)) * pow2(k-k1)
	}
}

// roundLog2e returns t = fma(d, log2e, roundMagic), the first step of the
// exponential on every path, and the integer n = round(d*log2e) it holds.
// It is computed without the generic fma32: the product is exact in
// float64, and for |d*log2e| < 2^22 the float32 sum rounds it to the
// nearest integer, ties to even (roundMagic is even), which adding and
// subtracting 1.5*2^52 in float64 does exactly too.
func roundLog2e(d float32) (t float32, n float64) {
	n = float64(float64(d)*float64(log2e)+roundMagic64) - roundMagic64
	return float32(n + float64(roundMagic)), n
}

// roundMagic64 is 1.5*2^52: x + roundMagic64 - roundMagic64 rounds a
// float64 x with |x| < 2^51 to an integer, ties to even.
const roundMagic64 = 0x1.8p52
