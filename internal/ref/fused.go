package ref

import "math"

// The references of the fused kernels. The scaled kernels are defined as
// the softmax of z = scale*x + mask rounded once to float32 (Fma32), so
// their reference is the float64 softmax of that z: the rounding of z is
// part of the definition, as the rounding of the input is for Softmax.

// Fma32 returns a*b + c rounded once to float32 (to nearest, ties to
// even). It rounds the exact sum to odd in float64 (with TwoSum and one
// step of math.Nextafter), which float32 rounding then cannot get wrong:
// a different method from the kernels' fma32, so that each checks the
// other.
func Fma32(a, b, c float32) float32 {
	p := float64(float64(a) * float64(b)) // exact
	s := float64(p + float64(c))
	if math.IsInf(s, 0) || s != s {
		return float32(s)
	}
	bb := float64(s - p)
	e := float64(p-float64(s-bb)) + float64(float64(c)-bb) // exact: x - s
	if e != 0 && math.Float64bits(s)&1 == 0 {
		s = math.Nextafter(s, math.Copysign(math.Inf(1), e))
	}
	return float32(s)
}

// Scaled returns z = Fma32(scale, x, m), or float32(scale*x) (rounded
// once) when there is no mask: the input of the scaled kernels' softmax.
func Scaled(scale, x float32, mask []float32, i int) float32 {
	if mask == nil {
		return float32(float64(scale) * float64(x))
	}
	return Fma32(scale, x, mask[i])
}

// scaled writes z to dst; mask is nil or as long as x.
func scaled(dst []float64, x, mask []float32, scale float32) {
	checkLen("dst", len(dst), len(x))
	if mask != nil {
		checkLen("mask", len(mask), len(x))
	}
	for i, v := range x {
		dst[i] = float64(Scaled(scale, v, mask, i))
	}
}

// ScaledSoftmax sets dst to the Softmax of the row z = scale*x + mask
// (see Scaled); mask is nil or as long as x.
func ScaledSoftmax(dst []float64, x, mask []float32, scale float32) {
	scaled(dst, x, mask, scale)
	softmax(dst, dst, 0, len(dst), 1)
}

// ScaledLogSoftmax sets dst to the LogSoftmax of the row
// z = scale*x + mask.
func ScaledLogSoftmax(dst []float64, x, mask []float32, scale float32) {
	scaled(dst, x, mask, scale)
	logSoftmax(dst, dst, 0, len(dst), 1)
}

// CausalSoftmax sets the first k elements of dst to the Softmax of
// scale*x over x's first k elements, and the others to 0; k is clamped to
// [0, len(x)].
func CausalSoftmax(dst []float64, x []float32, scale float32, k int) {
	checkLen("dst", len(dst), len(x))
	k = min(max(k, 0), len(x))
	ScaledSoftmax(dst[:k], x[:k], nil, scale)
	fill(dst, k, len(x)-k, 1, 0)
}

// SoftmaxAxis sets dst to the Softmax of x along the middle axis of the
// contiguous [outer, axis, inner] tensor x: over the elements
// x[(o*axis + k)*inner + j], k = 0..axis-1, for every o and j.
func SoftmaxAxis(dst []float64, x []float32, outer, axis, inner int) {
	alongAxis(dst, x, outer, axis, inner, softmax[float32])
}

// LogSoftmaxAxis sets dst to the LogSoftmax of x along the middle axis of
// the contiguous [outer, axis, inner] tensor x.
func LogSoftmaxAxis(dst []float64, x []float32, outer, axis, inner int) {
	alongAxis(dst, x, outer, axis, inner, logSoftmax[float32])
}

func alongAxis(dst []float64, x []float32, outer, axis, inner int, f func(dst []float64, x []float32, at, n, stride int)) {
	checkLen("dst", len(dst), len(x))
	checkLen("outer*axis*inner", outer*axis*inner, len(x))
	for o := 0; o < outer; o++ {
		for j := 0; j < inner; j++ {
			f(dst, x, o*axis*inner+j, axis, inner)
		}
	}
}
