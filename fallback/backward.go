package fallback

import "github.com/go-softmax/softmax/internal/check"

// SoftmaxBackward sets dx = y * (dy - <dy, y>), the gradient through
// y = Softmax(x) given the gradient dy of y. The dot product is summed in
// float64 from exact products, and each dx[i] is computed in float64 and
// rounded once; a NaN result is the canonical NaN. dx may be y or dy.
func SoftmaxBackward(dx, y, dy []float32) {
	check.Backward(dx, y, dy)
	dot := dot64(y, dy)
	for i := range dx {
		d := float64(dy[i]) - dot
		dx[i] = f32(float64(y[i]) * d)
	}
}

// LogSoftmaxBackward sets dx = dy - exp(y) * sum(dy), the gradient through
// y = LogSoftmax(x) given the gradient dy of y. exp is the Exp kernel's;
// the sum is float64, and each dx[i] is computed in float64 (a multiply,
// then a subtract) and rounded once; a NaN result is the canonical NaN.
// dx may be y or dy.
func LogSoftmaxBackward(dx, y, dy []float32) {
	check.Backward(dx, y, dy)
	sum := dot64(dy, nil)
	for v := 0; v < len(dx); v += lanes {
		var e [lanes]float32
		m := min(lanes, len(dx)-v)
		exp32Vec(e[:m], y[v:v+m])
		for l, g := range dy[v : v+m] {
			p := float64(float64(e[l]) * sum)
			dx[v+l] = f32(float64(g) - p)
		}
	}
}

// SoftmaxBackwardRows applies SoftmaxBackward to each row of cols
// consecutive elements.
func SoftmaxBackwardRows(dx, y, dy []float32, cols int) {
	check.BackwardRows(dx, y, dy, cols)
	for r := 0; r < len(dx); r += cols {
		SoftmaxBackward(dx[r:r+cols], y[r:r+cols], dy[r:r+cols])
	}
}

// LogSoftmaxBackwardRows applies LogSoftmaxBackward to each row of cols
// consecutive elements.
func LogSoftmaxBackwardRows(dx, y, dy []float32, cols int) {
	check.BackwardRows(dx, y, dy, cols)
	for r := 0; r < len(dx); r += cols {
		LogSoftmaxBackward(dx[r:r+cols], y[r:r+cols], dy[r:r+cols])
	}
}

// dot64 returns <a, b> (or the sum of a, when b is nil) with exact float64
// products, summed in the canonical lane order: per lane in element order
// within a block, then the block partials into float64 lane accumulators,
// then reduceLanes. The products of two float32s are exact in float64, so a
// compiler that fuses the multiply into the add cannot change the result.
func dot64(a, b []float32) float64 {
	var acc [lanes]float64
	for blk := 0; blk < len(a); blk += blockLen {
		var part [lanes]float64
		x := a[blk:min(blk+blockLen, len(a))]
		if b == nil {
			for i, v := range x {
				part[i%lanes] += float64(v)
			}
		} else {
			y := b[blk : blk+len(x)]
			for i, v := range x {
				part[i%lanes] += float64(v) * float64(y[i])
			}
		}
		for l := range acc {
			acc[l] += part[l]
		}
	}
	return reduceLanes(&acc)
}
