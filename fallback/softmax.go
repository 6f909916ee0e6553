package fallback

import (
	"math"

	"github.com/go-softmax/softmax/internal/check"
)

// Softmax sets dst[i] = exp(src[i]) / sum_j exp(src[j]). dst may be src.
// See the package documentation for the treatment of -Inf, +Inf and NaN.
func Softmax(dst, src []float32) {
	check.Elementwise(dst, src)
	softmaxRow(dst, src)
}

// SoftmaxRows applies Softmax to each row of cols elements of src.
func SoftmaxRows(dst, src []float32, cols int) {
	check.RowsOf(dst, src, cols)
	for i := 0; i < len(src); i += cols {
		softmaxRow(dst[i:i+cols], src[i:i+cols])
	}
}

func softmaxRow(dst, src []float32) {
	if len(src) == 0 {
		return
	}
	p := planRow(src)
	// Out of place, the second pass keeps u_i in dst for the third; in place
	// it cannot, and the third pass recomputes it. Both give the same bits.
	stored := !sameSlice(dst, src)
	s := p.sum(src, dst, stored)
	softmaxOut(dst, src, &p, s, stored)
}

// sum runs the second pass over a finite row (see rowSum), storing u_i in
// dst if stored, and marks the row rowNaN if its sum is NaN.
func (p *rowPlan) sum(src, dst []float32, stored bool) float64 {
	if p.kind != rowFinite {
		return 0
	}
	var store []float32
	if stored {
		store = dst
	}
	s := rowSum(src, p, store)
	if s != s {
		p.kind = rowNaN
	}
	return s
}

// softmaxOut is the third pass: dst[i] = (1 + u_i) / S * 2^(n_i - nm), with
// u_i read back from dst when stored, recomputed otherwise.
func softmaxOut(dst, src []float32, p *rowPlan, s float64, stored bool) {
	if p.kind != rowFinite {
		fill(dst, p.kind, 0)
		return
	}
	nz := newNormalizer(p, s)
	for v := 0; v < len(src); v += lanes {
		var d [lanes]float32
		m := copy(d[:], src[v:])
		nz.vec(dst[v:v+m], d[:m], stored)
	}
}

// normalizer holds what the third pass of a finite row needs.
type normalizer struct {
	c, hi, lo float32
	bias      int32
}

func newNormalizer(p *rowPlan, s float64) normalizer {
	hi, lo := recip(s)
	return normalizer{c: p.c, hi: hi, lo: lo, bias: p.bias()}
}

// vec writes the outputs of one vector of a row (at most lanes elements) to
// dst, given the row's values x (overwritten): dst holds their u when
// stored, which is recomputed otherwise.
func (nz *normalizer) vec(dst, x []float32, stored bool) {
	var u, t [lanes]float32
	m := len(x)
	for l := range x {
		x[l] = reduced(x[l], nz.c)
	}
	if stored {
		copy(u[:], dst)
		for l := range x {
			t[l], _ = roundLog2e(x[l])
		}
	} else {
		expUVec(x, t[:m], u[:m])
	}
	normalizeVec(u[:m], t[:m], nz.hi, nz.lo, nz.bias)
	copy(dst, u[:m])
}

// sameSlice reports whether a and b start at the same element.
func sameSlice(a, b []float32) bool {
	return len(a) > 0 && len(b) > 0 && &a[0] == &b[0]
}

// fill writes the output of a row that is not finite: the canonical NaN
// for rowNaN, masked for rowMasked.
func fill(dst []float32, k rowKind, masked float32) {
	v := fillValue(k, masked)
	for i := range dst {
		dst[i] = v
	}
}

// fillValue is the output of every element of a row that is not finite.
func fillValue(k rowKind, masked float32) float32 {
	if k == rowNaN {
		return canonicalNaN
	}
	return masked
}

// LogSoftmax sets dst[i] = src[i] - ln(sum_j exp(src[j])), computed in
// float64 with the row's log-sum-exp in float64, rounded once and clamped
// to at most 0 (see the package documentation). An element whose distance
// below the row's maximum overflows the float32 range gets -Inf. dst may
// be src.
func LogSoftmax(dst, src []float32) {
	check.Elementwise(dst, src)
	logSoftmaxRow(dst, src)
}

// LogSoftmaxRows applies LogSoftmax to each row of cols elements of src.
func LogSoftmaxRows(dst, src []float32, cols int) {
	check.RowsOf(dst, src, cols)
	for i := 0; i < len(src); i += cols {
		logSoftmaxRow(dst[i:i+cols], src[i:i+cols])
	}
}

func logSoftmaxRow(dst, src []float32) {
	if len(src) == 0 {
		return
	}
	p := planRow(src)
	s := p.sum(src, nil, false)
	logSoftmaxOut(dst, src, &p, s)
}

// logSoftmaxOut is LogSoftmax's last pass, given the row's plan and sum.
func logSoftmaxOut(dst, src []float32, p *rowPlan, s float64) {
	if p.kind != rowFinite {
		fill(dst, p.kind, float32(math.Inf(-1)))
		return
	}
	l := p.logSum(s)
	c := float64(p.c)
	for i, x := range src {
		dst[i] = float32(logProb(float64(x)-c, l))
	}
}

// logProb returns d - l, the log-probability of an element with x - c = d
// in a row with logSum l, but never more than 0: l carries the rounding
// of the row's sum and of log64, so d - l can come out slightly above 0
// (2^-26 or so) for the row's largest element, whose exact value is <= 0.
// A NaN or -0 is returned unchanged.
func logProb(d, l float64) float64 {
	v := d - l
	if v > 0 {
		v = 0
	}
	return v
}

// LogSumExp returns ln(sum_i exp(src[i])), computed without overflow for
// any finite input. It is -Inf for an empty row or a row of -Inf, +Inf for
// a row holding +Inf and no NaN, and NaN for a row holding NaN.
func LogSumExp(src []float32) float32 {
	return f32(logSumExp(src))
}

func logSumExp(src []float32) float64 {
	p := planRow(src)
	s := p.sum(src, nil, false)
	return p.logSumExpOf(src, s)
}

// logSumExpOf returns the row's LogSumExp given its plan and sum, with the
// special rows' values.
func (p *rowPlan) logSumExpOf(src []float32, s float64) float64 {
	switch {
	case p.kind == rowMasked:
		return math.Inf(-1)
	case p.kind == rowNaN && p.max > 0 && !hasNaN(src):
		return math.Inf(1)
	case p.kind == rowNaN:
		return math.NaN()
	}
	return p.logSum(s) + float64(p.c)
}

// f32 rounds v to float32, with the canonical NaN for any NaN.
func f32(v float64) float32 {
	if v != v {
		return canonicalNaN
	}
	return float32(v)
}

// Exp sets dst[i] = exp(src[i]). dst may be src. Results below the float32
// normal range are rounded as IEEE gradual underflow does; results above
// it are +Inf; NaN gives NaN.
func Exp(dst, src []float32) {
	check.Elementwise(dst, src)
	for v := 0; v < len(src); v += lanes {
		m := min(lanes, len(src)-v)
		exp32Vec(dst[v:v+m], src[v:v+m])
	}
}
