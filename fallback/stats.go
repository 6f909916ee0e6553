package fallback

import (
	"math"

	"github.com/go-softmax/softmax/internal/check"
)

// Stats are the statistics of a chunk of a row that its softmax needs: the
// chunk's maximum and its sum of exponentials. The statistics of chunks
// merge into those of their concatenation, and a chunk normalized with the
// statistics of the whole row (SoftmaxWithStats) gets its part of the
// row's softmax: for attention computed block by block, or a vocabulary
// split across workers.
//
// The sum is kept in the frame of the row algorithm (see the package
// documentation): for the offset c and exponent nm that Max determines,
//
//	Sum = sum_i exp(x_i - c - nm*ln2) = sum_i (1 + u_i) * 2^(n_i - nm)
//
// which is the row sum S itself, so that a single chunk gives exactly the
// bits of the one-shot kernels. The special chunks are told by Sum alone:
//
//	Sum == 0     no element above -Inf (empty or fully masked); Max is
//	             then any value, -Inf from StatsOf. The zero Stats is one.
//	Sum NaN      the chunk holds a NaN
//	Sum +Inf     the chunk holds +Inf and no NaN; Max is +Inf
//
// Other values, which StatsOf and Merge do not make, give unspecified
// results.
type Stats struct {
	Max float32
	Sum float64
}

// StatsOf returns the statistics of the chunk src: passes 1 and 2 of the
// row algorithm.
func StatsOf(src []float32) Stats {
	p := planRow(src)
	s := p.sum(src, nil, false)
	switch {
	case p.kind == rowMasked:
		return Stats{Max: float32(math.Inf(-1))}
	case p.kind == rowNaN && p.max > 0 && !hasNaN(src):
		return Stats{Max: float32(math.Inf(1)), Sum: math.Inf(1)}
	case p.kind == rowNaN:
		return Stats{Max: canonicalNaN, Sum: math.NaN()}
	}
	return Stats{Max: p.max, Sum: s}
}

// Merge returns the statistics of the concatenation of the chunks that s
// and t describe, in either order: Merge is commutative, bit for bit.
//
// The result keeps the larger maximum M, and adds the other chunk's sum
// rescaled to M's frame in float64 (one rounding). When both maxima are
// within [-208, 208] the rescaling is a power of two, exact; otherwise it is
// exp64 of the difference of the two offsets, within a few float64 ulps.
// Merge is therefore associative up to float64 roundings: different
// groupings of the same chunks may differ in the last bits of Sum, which
// moves an output of SoftmaxWithStats by one float32 ULP only in rare
// ties. A NaN chunk makes the result NaN; a +Inf chunk (and no NaN) makes
// it +Inf; an empty chunk leaves the other unchanged, and two empty chunks
// give the statistics StatsOf gives for one (Max -Inf), whatever their Max.
func (s Stats) Merge(t Stats) Stats {
	switch {
	case s.Sum == 0 && t.Sum == 0:
		return Stats{Max: float32(math.Inf(-1))}
	case s.Sum != s.Sum || t.Sum != t.Sum:
		return Stats{Max: canonicalNaN, Sum: math.NaN()}
	case math.IsInf(s.Sum, 1) || math.IsInf(t.Sum, 1):
		return Stats{Max: float32(math.Inf(1)), Sum: math.Inf(1)}
	case t.Sum == 0:
		return s
	case s.Sum == 0:
		return t
	}
	if t.Max > s.Max || t.Max == s.Max && math.Signbit(float64(s.Max)) {
		s, t = t, s
	}
	return Stats{Max: s.Max, Sum: s.Sum + float64(t.Sum*rebase(t.Max, s.Max))}
}

// rebase returns the factor that takes a sum in the frame of maximum m to
// the frame of maximum M >= m: exp(c_m + nm_m*ln2 - c_M - nm_M*ln2).
func rebase(m, M float32) float64 {
	pm, pM := planMax(m, false), planMax(M, false)
	k := int(pm.nm - pM.nm)
	if pm.c == pM.c {
		return math.Ldexp(1, k)
	}
	// c_m < c_M (c is 0, or the maximum when that is beyond ±largeMax),
	// and the float64 difference of two float32 values is exact unless
	// it is so large that the factor is 0 anyway. |k| <= 302, since one of
	// the two nm is 0 (that of the offset maximum).
	return exp64(float64(pm.c)-float64(pM.c), k)
}

// LogSumExp returns ln(sum_i exp(x_i)) over the chunks s describes, as
// the LogSumExp kernel computes it from the row's plan and sum: the same
// bits for a single chunk. It is -Inf for an empty or fully masked row,
// +Inf for a row holding +Inf and no NaN, NaN for a row holding NaN.
func (s Stats) LogSumExp() float32 {
	switch {
	case s.Sum != s.Sum:
		return canonicalNaN
	case math.IsInf(s.Sum, 1):
		return float32(math.Inf(1))
	case s.Sum == 0:
		return float32(math.Inf(-1))
	}
	p := planMax(s.Max, false)
	return f32(p.logSum(s.Sum) + float64(p.c))
}

// SoftmaxWithStats sets dst to the part that the chunk src has of the
// softmax of a row, given s, the statistics of the whole row (merged from
// those of its chunks): pass 3 of the row algorithm with the row's plan
// and sum, exp recomputed. With s = StatsOf(src) it returns Softmax's
// bits. A row holding NaN or +Inf makes dst all NaN, a fully masked row all
// 0. dst may be src. It panics if s cannot include src: if src holds an
// element above s's maximum, or a NaN that s does not hold.
func SoftmaxWithStats(dst, src []float32, s Stats) {
	check.Elementwise(dst, src)
	p := s.plan(src)
	softmaxOut(dst, src, &p, s.Sum, false)
}

// LogSoftmaxWithStats is SoftmaxWithStats for LogSoftmax: dst[i] =
// src[i] - LogSumExp of the row, computed as LogSoftmax does; with
// s = StatsOf(src) it returns LogSoftmax's bits. dst may be src. It panics
// as SoftmaxWithStats does.
func LogSoftmaxWithStats(dst, src []float32, s Stats) {
	check.Elementwise(dst, src)
	p := s.plan(src)
	logSoftmaxOut(dst, src, &p, s.Sum)
}

// plan returns the row plan that the statistics of a whole row give, after
// checking that they cover the chunk src.
func (s Stats) plan(src []float32) rowPlan {
	if s.Sum != s.Sum || math.IsInf(s.Sum, 1) {
		return rowPlan{kind: rowNaN}
	}
	m := s.Max
	if s.Sum == 0 {
		m = float32(math.Inf(-1))
	}
	check.Covered(rowMax(src), hasNaN(src), m)
	if s.Sum == 0 {
		return rowPlan{kind: rowMasked}
	}
	return planMax(m, false)
}

// exp64 returns e^d * 2^k for d <= 0 and |k| <= 1000, within a few
// float64 ulps (and not rounded twice when e^d alone would be subnormal),
// with plain float64 operations in a fixed order (as log64), so that every
// platform gets the same bits: d = n*ln2 + r with n = round(d*log2e) and a
// two-step Cody-Waite reduction (n*ln2Hi64 and d - n*ln2Hi64 are exact),
// then e^r = 1 + r + r^2/2! + ... + r^13/13! for |r| <= ln2/2 (truncation
// below 2^-57), scaled by 2^(n+k).
func exp64(d float64, k int) float64 {
	if d < -2500 {
		return 0
	}
	n := float64(float64(d*math.Log2E)+roundMagic64) - roundMagic64
	r := float64(d - float64(n*ln2Hi64))
	r = float64(r - float64(n*ln2Lo64))
	p := expC64[0]
	for _, c := range expC64[1:] {
		p = float64(p*r) + c
	}
	return math.Ldexp(p, int(n)+k)
}

// ln2Hi64 + ln2Lo64 is ln 2; ln2Hi64 has 32 significant bits, so that
// n*ln2Hi64 is exact for |n| < 2^21 (fdlibm's split).
const (
	ln2Hi64 = 6.93147180369123816490e-01 // 0x3fe62e42fee00000
	ln2Lo64 = 1.90821492927058770002e-10 // 0x3dea39ef35793c76
)

// expC64 are the Taylor coefficients 1/k! of e^r, k = 13 down to 0.
var expC64 = [...]float64{
	1.0 / 6227020800, 1.0 / 479001600, 1.0 / 39916800, 1.0 / 3628800,
	1.0 / 362880, 1.0 / 40320, 1.0 / 5040, 1.0 / 720, 1.0 / 120, 1.0 / 24,
	1.0 / 6, 1.0 / 2, 1, 1,
}
