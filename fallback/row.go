package fallback

import "math"

// The canonical lane structure of every row reduction. Element j of a row
// belongs to lane j%lanes. A block is blockVecs consecutive vectors of
// lanes elements. Each lane sums its terms of a block in float64, in
// element order, and adds that block partial to its float64 accumulator.
// The lanes are finally reduced by halving: lane i += lane i+8, then i+4,
// i+2, i+1.
//
// One AVX-512 register holds 16 float32 lanes, two AVX2 registers or four
// NEON registers do; a block is one unrolled loop iteration, and the block
// partials are what lets consecutive iterations overlap instead of waiting
// on one chain of adds. Every path keeps this order, which is what makes
// their sums bit-identical. Missing terms at the end of a row count as +0,
// which leaves every partial unchanged, so a path may end the last block
// early.
//
// The partials are float64 because float32 ones are not good enough: a
// float32 add rounds to half an ulp of the partial, so a lane whose partial
// holds the row's largest term loses up to 2^-24 of it per term added, and
// in a row dominated by a few terms that moves S, and every output, by a
// ULP or more. In float64 the sum's rounding is invisible.
const (
	lanes     = 16
	blockVecs = 4
	blockLen  = lanes * blockVecs
)

// rowKind classifies a row once its maximum is known.
type rowKind uint8

const (
	rowFinite rowKind = iota // a finite maximum: the normal case
	rowMasked                // empty, or every element -Inf
	rowNaN                   // a NaN, or a +Inf, somewhere in the row
)

// largeMax is the threshold on |max| above which a row is reduced as
// x - max instead of x. Above it, x - max is exact (Sterbenz) for every x
// within 104 of max, which are all the elements whose softmax output is not
// rounded to zero; below it, x itself lies in [-312, 208] for every such
// element, inside reduceLo.
const largeMax = float32(208)

// reduceLo is the lower clamp of the reduced argument x - c. Any element
// clamped to it has an output below 2^-150 relative to the row's largest.
const reduceLo = float32(-320)

// rowPlan is what the first pass (the maximum) decides about a row.
type rowPlan struct {
	kind rowKind
	max  float32
	// c is subtracted from every element before the exponential: 0 when
	// |max| <= largeMax, max otherwise.
	c float32
	// nm is round((max - c) * log2e), the exponent the row is scaled by:
	// terms are (1 + u_i) * 2^(n_i - nm), which are at most about 1.42.
	nm int32
}

// bias turns the bits of t = fma(x - c, log2e, roundMagic) into the biased
// float32 exponent of 2^(n - nm).
func (p *rowPlan) bias() int32 { return 127 - roundMagicBits - p.nm }

// rowMax is the canonical maximum: NaN elements are skipped (as the SIMD
// max instructions do with the order of operands the paths use).
func rowMax(x []float32) float32 {
	m := float32(math.Inf(-1))
	for _, v := range x {
		if v > m {
			m = v
		}
	}
	return m
}

func hasNaN(x []float32) bool {
	for _, v := range x {
		if v != v {
			return true
		}
	}
	return false
}

// planRow runs the first pass over a row.
func planRow(x []float32) rowPlan {
	m := rowMax(x)
	return planMax(m, math.IsInf(float64(m), -1) && hasNaN(x))
}

// planMax returns the plan of a row whose maximum (NaNs skipped) is m; nan
// says whether the row holds a NaN, and need only be right when m is -Inf:
// a NaN in a row with a finite maximum makes its sum NaN, which marks it
// later (see rowPlan.sum).
func planMax(m float32, nan bool) rowPlan {
	p := rowPlan{max: m}
	switch {
	case math.IsInf(float64(m), 1):
		p.kind = rowNaN
		return p
	case math.IsInf(float64(m), -1):
		p.kind = rowMasked
		if nan {
			p.kind = rowNaN
		}
		return p
	}
	if m > largeMax || m < -largeMax {
		p.c = m
	}
	t, _ := roundLog2e(m - p.c)
	p.nm = int32(math.Float32bits(t)) - roundMagicBits
	return p
}

// reduced returns x - c, clamped below at reduceLo; NaN stays NaN.
func reduced(x, c float32) float32 {
	d := x - c
	if d < reduceLo {
		d = reduceLo
	}
	return d
}

// scale returns 2^(n - nm) for t = fma(x - c, log2e, roundMagic), or 0 when
// n - nm < -126: such a term is below 2^-126 relative to the row's largest
// and its output is flushed to zero.
func scale(t float32, bias int32) float32 {
	kb := int32(math.Float32bits(t)) + bias
	if kb < 0 {
		kb = 0
	}
	return math.Float32frombits(uint32(kb) << 23)
}

// rowSum is the second pass: S = sum over the row of (1 + u_i) * 2^(n_i - nm)
// in the canonical lane order (see lanes). Each term is formed in float64
// as u_i*s_i + s_i (s_i = 2^(n_i - nm)), which is exact but for the last
// bits of a u_i far below 2^-29, and is then added in float64. If store is
// not nil, u_i is written to store[i].
//
// S is NaN exactly when the row holds a NaN (the plan has excluded +Inf).
// store may be x itself: each vector of x is read before its u are stored.
func rowSum(x []float32, p *rowPlan, store []float32) float64 {
	var acc [lanes]float64
	bias := p.bias()
	n := len(x)
	for b := 0; b < n; b += blockLen {
		var part [lanes]float64
		for v := b; v < n && v < b+blockLen; v += lanes {
			var d, u, t [lanes]float32
			m := copy(d[:], x[v:min(v+lanes, n)])
			for l := range d[:m] {
				d[l] = reduced(d[l], p.c)
			}
			expUVec(d[:m], t[:m], u[:m])
			if store != nil {
				copy(store[v:v+m], u[:m])
			}
			for l := range d[:m] {
				s := float64(scale(t[l], bias))
				// The product is exact, so fusing it into the add
				// cannot change the result.
				part[l] += float64(u[l])*s + s
			}
		}
		for l := range acc {
			acc[l] += part[l]
		}
	}
	return reduceLanes(&acc)
}

// reduceLanes adds the float64 lane accumulators by halving.
func reduceLanes(acc *[lanes]float64) float64 {
	for h := lanes / 2; h >= 1; h /= 2 {
		for i := 0; i < h; i++ {
			acc[i] += acc[i+h]
		}
	}
	return acc[0]
}

// recip splits 1/S into float32 hi + lo parts.
func recip(s float64) (hi, lo float32) {
	inv := 1 / s
	hi = float32(inv)
	lo = float32(inv - float64(hi))
	return hi, lo
}

// normalizeVec replaces every element of u (at most lanes) by (1 + u) * (hi + lo) * 2^(n - nm),
// where t holds n (as roundLog2e returns it): two FMAs and one add, then
// the exact scaling by 2^(n - nm) (see scale).
func normalizeVec(u, t []float32, hi, lo float32, bias int32) {
	hi64, lo64 := float64(hi), float64(lo)
	t = t[:len(u)]
	for l, v := range u {
		u64 := float64(v)
		w := fma32c(u64, lo64, lo64)
		z := float32(fma32c(u64, hi64, w))
		y := float32(hi + z)
		u[l] = float32(y * scale(t[l], bias))
	}
}

// logSum returns ln(sum_i exp(x_i - c)) = nm*ln2 + ln S for a finite row
// with sum S, in float64. The row's LogSumExp is c + logSum; LogSoftmax and
// CrossEntropy subtract it from x - c instead, which is exact in float64,
// so that a row offset by 1e30 keeps its log-probabilities.
func (p *rowPlan) logSum(s float64) float64 {
	l := float64(float64(p.nm) * math.Ln2)
	return l + log64(s)
}
