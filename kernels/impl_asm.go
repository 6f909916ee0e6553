//go:build !purego && (amd64 || arm64)

package kernels

import "math"

// withFallback returns k with the kernels it lacks (those without an
// assembly version yet) taken from the generic implementation.
func withFallback(k kernelSet) kernelSet {
	g := generic.k
	if k.softmaxRows == nil {
		k.softmaxRows = g.softmaxRows
	}
	if k.logSoftmaxRows == nil {
		k.logSoftmaxRows = g.logSoftmaxRows
	}
	if k.logSumExp == nil {
		k.logSumExp = g.logSumExp
	}
	if k.softmaxBackward == nil {
		k.softmaxBackward = g.softmaxBackward
	}
	if k.logSoftmaxBackward == nil {
		k.logSoftmaxBackward = g.logSoftmaxBackward
	}
	if k.crossEntropy == nil {
		k.crossEntropy = g.crossEntropy
	}
	if k.crossEntropyRows == nil {
		k.crossEntropyRows = g.crossEntropyRows
	}
	if k.exp == nil {
		k.exp = g.exp
	}
	if k.scaledSoftmaxRows == nil {
		k.scaledSoftmaxRows = g.scaledSoftmaxRows
	}
	if k.scaledLogSoftmaxRows == nil {
		k.scaledLogSoftmaxRows = g.scaledLogSoftmaxRows
	}
	if k.causalSoftmaxRows == nil {
		k.causalSoftmaxRows = g.causalSoftmaxRows
	}
	if k.softmaxAxis == nil {
		k.softmaxAxis = g.softmaxAxis
	}
	if k.logSoftmaxAxis == nil {
		k.logSoftmaxAxis = g.logSoftmaxAxis
	}
	if k.statsOf == nil {
		k.statsOf = g.statsOf
	}
	if k.softmaxWithStats == nil {
		k.softmaxWithStats = g.softmaxWithStats
	}
	if k.logSoftmaxWithStats == nil {
		k.logSoftmaxWithStats = g.logSoftmaxWithStats
	}
	return k
}

// rowsKernel adapts an assembly row kernel, which takes the number of rows,
// to the kernel set's form.
func rowsKernel(f func(dst, src []float32, rows, cols int)) func(dst, src []float32, cols int) {
	return func(dst, src []float32, cols int) { f(dst, src, len(src)/cols, cols) }
}

// ceRowsFunc is an assembly cross-entropy kernel: it returns the sum of the
// rows' losses in float64, added in row order, and fills grad unless it is
// nil.
type ceRowsFunc func(grad, logits []float32, targets []int32, rows, cols int) float64

// crossEntropyRowsKernel adapts an assembly cross-entropy kernel to the
// kernel set's form: the mean loss, divided and rounded as
// fallback.CrossEntropyRows does.
func crossEntropyRowsKernel(f ceRowsFunc) func(grad, logits []float32, targets []int32, cols int) float32 {
	return func(grad, logits []float32, targets []int32, cols int) float32 {
		rows := len(logits) / cols
		return roundLoss(f(grad, logits, targets, rows, cols) / float64(rows))
	}
}

// crossEntropyKernel runs an assembly cross-entropy kernel on one row. A
// target beyond the int32 range (a row of 2^31 logits or more) goes to the
// generic code, which gives the same bits.
func crossEntropyKernel(f ceRowsFunc) func(grad, logits []float32, target int) float32 {
	return func(grad, logits []float32, target int) float32 {
		if target > math.MaxInt32 {
			return generic.k.crossEntropy(grad, logits, target)
		}
		t := [1]int32{int32(target)}
		return roundLoss(f(grad, logits, t[:], 1, len(logits)))
	}
}

// roundLoss rounds a loss to float32, a NaN to the canonical NaN, as the
// fallback does.
func roundLoss(v float64) float32 {
	if v != v {
		return math.Float32frombits(0x7fc00000)
	}
	return float32(v)
}
