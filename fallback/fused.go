package fallback

import "github.com/go-softmax/softmax/internal/check"

// The scaled kernels run the row algorithm on z = scale*x + mask, rounded
// once to float32:
//
//	z_i = fma(scale, x_i, mask_i)    with a mask (one fused multiply-add)
//	z_i = scale * x_i                without one (one multiply)
//
// Without a mask z is what a mask of -0 would give: -0 is the additive
// identity of IEEE arithmetic, so fma(scale, x, -0) is the rounded product,
// even when that is -0. A mask of +0 differs from no mask only in the sign
// of a zero z, which LogSoftmax can show and Softmax cannot. With
// scale = 1 and no mask, z is x and the results are SoftmaxRows' and
// LogSoftmaxRows' bits.
//
// z then goes through the row algorithm exactly as a row of SoftmaxRows
// would (its maximum, offset, lanes and normalization), so that a vector
// path computes z in a register where the unfused kernels load x.

// ScaledSoftmaxRows sets each row of cols elements of dst to the softmax
// of z = scale*src + mask of that row. mask is nil (no mask), one row of
// cols elements added to every row, or len(src) elements, one row per
// row. dst may be src; mask may not share memory with dst.
func ScaledSoftmaxRows(dst, src, mask []float32, scale float32, cols int) {
	check.Scaled(dst, src, mask, cols)
	for i := 0; i < len(src); i += cols {
		scaledSoftmaxRow(dst[i:i+cols], src[i:i+cols], maskRow(mask, i, cols), scale)
	}
}

// ScaledLogSoftmaxRows is ScaledSoftmaxRows' LogSoftmax: each row of dst
// is LogSoftmax(z) for z = scale*src + mask of that row.
func ScaledLogSoftmaxRows(dst, src, mask []float32, scale float32, cols int) {
	check.Scaled(dst, src, mask, cols)
	for i := 0; i < len(src); i += cols {
		scaleRow(dst[i:i+cols], src[i:i+cols], maskRow(mask, i, cols), scale)
		logSoftmaxRow(dst[i:i+cols], dst[i:i+cols])
	}
}

// CausalSoftmaxRows applies a causal mask to each row r of cols elements:
// its first k = offset+r+1 elements (clamped to [0, cols]) are set to the
// softmax of scale*src over them, and the others to 0. Those others are
// not read. A row with k = 0 is all zeros, as a fully masked row is. dst
// may be src.
func CausalSoftmaxRows(dst, src []float32, scale float32, cols, offset int) {
	check.RowsOf(dst, src, cols)
	for i, r := 0, 0; i < len(src); i, r = i+cols, r+1 {
		k := causalLen(r, cols, offset)
		scaledSoftmaxRow(dst[i:i+k], src[i:i+k], nil, scale)
		clear(dst[i+k : i+cols])
	}
}

// causalLen returns how many elements of row r CausalSoftmaxRows uses:
// offset+r+1, clamped to [0, cols], computed without overflow.
func causalLen(r, cols, offset int) int {
	if offset >= cols-r {
		return cols
	}
	return max(0, offset+r+1)
}

// maskRow returns the mask of the row that starts at element i: nil, the
// broadcast row, or that row of a full mask.
func maskRow(mask []float32, i, cols int) []float32 {
	switch len(mask) {
	case 0:
		return nil
	case cols:
		return mask
	}
	return mask[i : i+cols]
}

// scaleRow sets dst to z = scale*src + mask, rounded once (see the top of
// this file). dst may be src; mask is nil or as long as src.
func scaleRow(dst, src, mask []float32, scale float32) {
	dst = dst[:len(src)]
	if mask == nil {
		for i, x := range src {
			dst[i] = float32(scale * x)
		}
		return
	}
	mask = mask[:len(src)]
	for i, x := range src {
		// When the float32 product is exact (always, for a power-of-two
		// scale such as 1/sqrt(64)), the float32 add rounds the exact sum
		// once: fma32's result, without its slow path for sums that are
		// exact in float32.
		if p := float32(scale * x); float64(p) == float64(scale)*float64(x) {
			dst[i] = p + mask[i]
		} else {
			dst[i] = fma32(scale, x, mask[i])
		}
	}
}

// scaledSoftmaxRow is one row of ScaledSoftmaxRows. The first pass writes
// z to dst; out of place, the second pass then replaces each z by its u,
// and the third recomputes z from src and mask (one FMA, where recomputing
// u would take an exponential); in place, it is softmaxRow on z.
func scaledSoftmaxRow(dst, src, mask []float32, scale float32) {
	if len(src) == 0 {
		return
	}
	scaleRow(dst, src, mask, scale)
	if sameSlice(dst, src) {
		softmaxRow(dst, dst)
		return
	}
	p := planRow(dst)
	s := p.sum(dst, dst, true)
	if p.kind != rowFinite {
		fill(dst, p.kind, 0)
		return
	}
	nz := newNormalizer(&p, s)
	for v := 0; v < len(src); v += lanes {
		var z [lanes]float32
		m := min(lanes, len(src)-v)
		var mv []float32
		if mask != nil {
			mv = mask[v : v+m]
		}
		scaleRow(z[:m], src[v:v+m], mv, scale)
		nz.vec(dst[v:v+m], z[:m], true)
	}
}
