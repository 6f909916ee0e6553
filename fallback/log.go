package fallback

import "math"

// log64 returns ln(s) for a normal, finite s > 0. It is the one logarithm
// every path uses (LogSumExp, LogSoftmax, CrossEntropy take the log of the
// row sum S >= 1/sqrt2), written with plain float64 multiplies and adds in a
// fixed order so that the assembly paths can repeat it bit for bit; the
// standard library's math.Log has assembly versions of its own on some
// architectures.
//
// With s = 2^e * f, f in [sqrt(1/2), sqrt 2), and z = (f-1)/(f+1),
// ln f = 2*atanh(z) = 2z * (1 + z^2/3 + z^4/5 + ...). |z| <= 0.1716, so the
// 12 terms below leave a truncation error under 1e-18; the rounding error
// is a few float64 ulps, far below what a float32 result can see.
func log64(s float64) float64 {
	b := math.Float64bits(s)
	e := int64(b>>52) - 1023
	f := math.Float64frombits(b&(1<<52-1) | 1023<<52)
	if f > math.Sqrt2 {
		f *= 0.5
		e++
	}
	z := float64(f-1) / float64(f+1)
	w := float64(z * z)
	p := logC[0]
	for _, c := range logC[1:] {
		p = float64(p*w) + c
	}
	r := float64(z * p)
	return float64(float64(e)*math.Ln2) + float64(r+r)
}

// logC are the coefficients 1/(2k+1) of the atanh series, highest first.
var logC = [...]float64{
	1.0 / 23, 1.0 / 21, 1.0 / 19, 1.0 / 17, 1.0 / 15, 1.0 / 13,
	1.0 / 11, 1.0 / 9, 1.0 / 7, 1.0 / 5, 1.0 / 3, 1,
}
