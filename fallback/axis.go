package fallback

import (
	"math"

	"github.com/go-softmax/softmax/internal/check"
)

// The axis kernels normalize along the middle axis of a contiguous tensor
// of shape [outer, axis, inner]: for every o and j, the axis elements
// x_k = src[(o*axis + k)*inner + j], k = 0..axis-1.
//
// With inner = 1 those are rows, and the kernels are SoftmaxRows and
// LogSoftmaxRows with cols = axis: the same code and bits.
//
// With inner > 1 the vector paths vectorize across inner, as a column of a
// row-major matrix is best read: lane l of a vector holds column j+l, and
// every step of the row algorithm runs lane-wise, each lane with its own
// maximum, offset, exponent and sum. The columns j, j+1, ... are taken
// lanes at a time from j = 0; the last group may be narrower. Per lane:
//
//   - pass 1: the maximum of x_k (NaNs skipped) and whether any x_k is
//     NaN, which makes the column all NaN; a +Inf does too, and a column of
//     -Inf is fully masked. The plan (offset c, exponent nm) is the row
//     algorithm's for that maximum.
//   - pass 2: the terms (1 + u_k) * 2^(n_k - nm) of the row algorithm,
//     added in float64 in the order k = 0, 1, ..., axis-1 to one
//     accumulator, starting from +0: no lanes within a column, no blocks.
//   - pass 3: the row algorithm's normalization with this column's 1/S,
//     or its log-softmax (x_k - c) - (nm*ln2 + ln S).
//
// So a column's result equals Softmax of the column extracted as a row in
// everything but the order of its sum, which the row kernel splits over 16
// lanes: the two may differ in the last bit of some outputs, each within
// the accuracy bounds.

// SoftmaxAxis applies Softmax along the middle axis of a contiguous
// [outer, axis, inner] tensor: for every o and j, over the elements
// src[(o*axis + k)*inner + j], k = 0..axis-1. With inner = 1 it is
// SoftmaxRows with cols = axis, bit for bit. With inner > 1 each column's
// sum is taken in float64 in axis order, where Softmax splits a row's sum
// over 16 lanes, so a column's outputs may differ in their last bit from
// Softmax of the column copied out as a row, both within the accuracy
// bounds. dst may be src.
func SoftmaxAxis(dst, src []float32, outer, axis, inner int) {
	check.Axis(dst, src, outer, axis, inner)
	alongAxis(dst, src, axis, inner, false)
}

// LogSoftmaxAxis applies LogSoftmax along the middle axis of a contiguous
// [outer, axis, inner] tensor, as SoftmaxAxis does Softmax: with inner = 1
// it is LogSoftmaxRows with cols = axis, bit for bit, and with inner > 1 a
// column's outputs may differ in their last bit from LogSoftmax of the
// column copied out as a row, for the same reason. dst may be src.
func LogSoftmaxAxis(dst, src []float32, outer, axis, inner int) {
	check.Axis(dst, src, outer, axis, inner)
	alongAxis(dst, src, axis, inner, true)
}

func alongAxis(dst, src []float32, axis, inner int, log bool) {
	if len(src) == 0 {
		return
	}
	if inner == 1 {
		for i := 0; i < len(src); i += axis {
			if log {
				logSoftmaxRow(dst[i:i+axis], src[i:i+axis])
			} else {
				softmaxRow(dst[i:i+axis], src[i:i+axis])
			}
		}
		return
	}
	slab := axis * inner
	for o := 0; o < len(src); o += slab {
		for j := 0; j < inner; j += lanes {
			columns(dst[o:o+slab], src[o:o+slab], inner, j, min(lanes, inner-j), log)
		}
	}
}

// columns runs the three passes over w <= lanes columns of one slab (an
// [axis, inner] matrix), starting at column j.
func columns(dst, src []float32, inner, j, w int, log bool) {
	// Pass 1: the maximum and the NaNs of each column.
	var mx [lanes]float32
	var nan [lanes]bool
	for l := range mx {
		mx[l] = float32(math.Inf(-1))
	}
	for k := j; k < len(src); k += inner {
		for l, x := range src[k : k+w] {
			if x > mx[l] {
				mx[l] = x
			}
			if x != x {
				nan[l] = true
			}
		}
	}
	var p [lanes]rowPlan
	var c [lanes]float32
	var bias [lanes]int32
	for l := range p[:w] {
		p[l] = planMax(mx[l], nan[l])
		if nan[l] {
			p[l].kind = rowNaN
		}
		c[l], bias[l] = p[l].c, p[l].bias()
	}

	// Pass 2: the sums; out of place, Softmax keeps u in dst.
	stored := !log && !sameSlice(dst, src)
	var acc [lanes]float64
	for k := j; k < len(src); k += inner {
		var d, t, u [lanes]float32
		reducedLanes(d[:w], src[k:k+w], &c)
		expUVec(d[:w], t[:w], u[:w])
		if stored {
			copy(dst[k:k+w], u[:w])
		}
		for l := range u[:w] {
			s := float64(scale(t[l], bias[l]))
			acc[l] += float64(u[l])*s + s
		}
	}
	for l := range p[:w] {
		if acc[l] != acc[l] {
			p[l].kind = rowNaN
		}
	}

	// Pass 3.
	if log {
		logColumns(dst, src, inner, j, w, &p, &acc)
		return
	}
	var hi, lo [lanes]float32
	for l := range p[:w] {
		hi[l], lo[l] = recip(acc[l])
	}
	for k := j; k < len(src); k += inner {
		var d, t, u [lanes]float32
		reducedLanes(d[:w], src[k:k+w], &c)
		if stored {
			copy(u[:w], dst[k:k+w])
			for l := range d[:w] {
				t[l], _ = roundLog2e(d[l])
			}
		} else {
			expUVec(d[:w], t[:w], u[:w])
		}
		for l, v := range u[:w] {
			if p[l].kind != rowFinite {
				dst[k+l] = fillValue(p[l].kind, 0)
				continue
			}
			// normalizeVec, with each lane's own 1/S and exponent.
			u64, hi64, lo64 := float64(v), float64(hi[l]), float64(lo[l])
			z := float32(fma32c(u64, hi64, fma32c(u64, lo64, lo64)))
			dst[k+l] = float32(float32(hi[l]+z) * scale(t[l], bias[l]))
		}
	}
}

// logColumns is the third pass of LogSoftmaxAxis over the columns
// j..j+w-1, given their plans and sums.
func logColumns(dst, src []float32, inner, j, w int, p *[lanes]rowPlan, acc *[lanes]float64) {
	var ls [lanes]float64
	for l := range p[:w] {
		if p[l].kind == rowFinite {
			ls[l] = p[l].logSum(acc[l])
		}
	}
	for k := j; k < len(src); k += inner {
		for l, x := range src[k : k+w] {
			if p[l].kind != rowFinite {
				dst[k+l] = fillValue(p[l].kind, float32(math.Inf(-1)))
				continue
			}
			dst[k+l] = float32(logProb(float64(x)-float64(p[l].c), ls[l]))
		}
	}
}

// reducedLanes sets d[l] = x[l] - c[l], clamped as reduced does.
func reducedLanes(d, x []float32, c *[lanes]float32) {
	for l, v := range x[:len(d)] {
		d[l] = reduced(v, c[l])
	}
}
