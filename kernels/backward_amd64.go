//go:build !purego

package kernels

// backwardRowsKernel adapts an assembly backward kernel that takes the
// number of rows to the kernel set's form.
func backwardRowsKernel(f func(dx, y, dy []float32, rows, cols int)) func(dx, y, dy []float32, cols int) {
	return func(dx, y, dy []float32, cols int) { f(dx, y, dy, len(dx)/cols, cols) }
}

// shortBackwardRows is the longest row that the short backward kernels
// (SoftmaxBackwardShortRowsAVX512, LogSoftmaxBackwardShortRowsAVX512) run.
const shortBackwardRows = 16

// backwardRowsAVX512 adapts a pair of AVX-512 backward kernels to the
// kernel set's form: rows of up to 16 columns go through short, eight at
// a time, and the rest (the last rows%8 of them, or every row of a longer
// batch) through rows.
func backwardRowsAVX512(short, rows func(dx, y, dy []float32, rows, cols int)) func(dx, y, dy []float32, cols int) {
	return func(dx, y, dy []float32, cols int) {
		n, done := len(dx)/cols, 0
		if cols <= shortBackwardRows {
			done = n / 8 * 8
			if done > 0 {
				m := done * cols
				short(dx[:m], y[:m], dy[:m], done, cols)
			}
		}
		if done < n {
			m := done * cols
			rows(dx[m:], y[m:], dy[m:], n-done, cols)
		}
	}
}
