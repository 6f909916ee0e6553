package fallback

import "math"

// The exponential used by every kernel.
//
// exp(x) is written as (1 + u) * 2^n with
//
//	n  = round(x * log2(e))                 (ties to even, via the 1.5*2^23 trick)
//	r  = x - n*ln2Hi - n*ln2Lo              (two-step Cody-Waite, each step one FMA)
//	u  = r + r^2 * q(r)                     (q of degree 5, so exp is degree 7)
//
// The first Cody-Waite step is exact: ln2Hi is ln 2 rounded to float32, and
// for every |x| the kernels feed in (at most a few hundred), x - n*ln2Hi is a
// multiple of min(ulp(x), 2^-24) smaller than 1/2, so the FMA that computes
// it does not round. The second step rounds once, to r.
//
// q's coefficients and their measured error are documented at expC2..expC7.
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

// Coefficients of q(r) = (exp(r) - 1 - r) / r^2 on |r| <= ln2/2.
const (
	expC2 = float32(1.0 / 2)
	expC3 = float32(1.0 / 6)
	expC4 = float32(1.0 / 24)
	expC5 = float32(1.0 / 120)
	expC6 = float32(1.0 / 720)
	expC7 = float32(1.0 / 5040)
)

// expReduce returns u and t for exp(x) = (1 + u) * 2^n, where n is
// int32(math.Float32bits(t)) - roundMagicBits. x must satisfy
// |x * log2e| < 2^22 (the kernels clamp it first); a NaN x gives a NaN u.
func expReduce(x float32) (u float32, t float32) {
	t = fma32(x, log2e, roundMagic)
	n := t - roundMagic // exact
	r := fma32(n, -ln2Hi, x)
	r = fma32(n, -ln2Lo, r)
	q := fma32(expC7, r, expC6)
	q = fma32(q, r, expC5)
	q = fma32(q, r, expC4)
	q = fma32(q, r, expC3)
	q = fma32(q, r, expC2)
	r2 := float32(r * r)
	u = fma32(r2, q, r)
	return u, t
}

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

// exp32 is the elementwise exponential of the Exp kernel. The result is
// (1 + u) rounded to float32 (p), times 2^n applied in two exact halves so
// that overflow gives +Inf and gradual underflow rounds once, as a single
// IEEE multiplication by 2^n would. NaN gives the canonical NaN.
func exp32(x float32) float32 {
	if x != x {
		return canonicalNaN
	}
	if x < expLo {
		x = expLo
	}
	if x > expHi {
		x = expHi
	}
	u, t := expReduce(x)
	p := 1 + u
	n := int32(math.Float32bits(t)) - roundMagicBits
	n1 := n >> 1
	return float32(p*pow2(n1)) * pow2(n-n1)
}
