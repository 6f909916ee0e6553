//go:build !purego

package kernels

import "github.com/go-softmax/softmax/internal/asm"

// backwardRowsKernel adapts an assembly backward kernel that takes the
// number of rows to the kernel set's form.
func backwardRowsKernel(f func(dx, y, dy []float32, rows, cols int)) func(dx, y, dy []float32, cols int) {
	return func(dx, y, dy []float32, cols int) { f(dx, y, dy, len(dx)/cols, cols) }
}

// shortBackwardRows is the longest row that the short backward kernels
// (SoftmaxBackwardShortRowsAVX512, LogSoftmaxBackwardShortRowsAVX512, and
// their AVX2 forms) run.
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

// backwardRowsAVX2 runs SoftmaxBackwardRows, or LogSoftmaxBackwardRows
// if log, on AVX2, as backwardRowsAVX512 does: rows of up to 16 columns
// go through the short kernel (shortBackwardAVX2), eight at a time, and
// the rest through the batched kernel. The short kernels read up to 16
// elements from the start of a group's last row: a last group for which
// that would pass the end of y or dy goes through shortBackwardGroupAVX2.
func backwardRowsAVX2(log bool) func(dx, y, dy []float32, cols int) {
	rows := asm.SoftmaxBackwardRowsAVX2
	if log {
		rows = asm.LogSoftmaxBackwardRowsAVX2
	}
	return func(dx, y, dy []float32, cols int) {
		n, done := len(dx)/cols, 0
		if cols <= shortBackwardRows {
			full := n / 8 * 8
			// The groups whose loads, to (done-1)*cols+16, stay within the slices.
			if reach := n*cols - shortBackwardRows; reach >= 0 {
				done = min(full, reach/cols+1) / 8 * 8
			}
			if done > 0 {
				m := done * cols
				shortBackwardAVX2(log, dx[:m], y, dy, done, cols)
			}
			for ; done < full; done += 8 {
				m := done * cols
				shortBackwardGroupAVX2(log, dx[m:], y[m:], dy[m:], cols)
			}
		}
		if done < n {
			m := done * cols
			rows(dx[m:], y[m:], dy[m:], n-done, cols)
		}
	}
}

// shortBackwardAVX2 calls SoftmaxBackwardShortRowsAVX2, or
// LogSoftmaxBackwardShortRowsAVX2 if log.
func shortBackwardAVX2(log bool, dx, y, dy []float32, rows, cols int) {
	if log {
		asm.LogSoftmaxBackwardShortRowsAVX2(dx, y, dy, rows, cols)
		return
	}
	asm.SoftmaxBackwardShortRowsAVX2(dx, y, dy, rows, cols)
}

// shortBackwardGroupAVX2 runs the first 8 rows of cols elements through
// shortBackwardAVX2 on copies of y and dy with room after them.
func shortBackwardGroupAVX2(log bool, dx, y, dy []float32, cols int) {
	var yb, dyb [8*shortBackwardRows + shortBackwardRows]float32
	m := 8 * cols
	copy(yb[:], y[:m])
	copy(dyb[:], dy[:m])
	shortBackwardAVX2(log, yb[:m], yb[:], dyb[:], 8, cols)
	copy(dx[:m], yb[:m])
}
