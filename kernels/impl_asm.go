//go:build !purego && (amd64 || arm64)

package kernels

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
