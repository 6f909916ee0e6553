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

// backwardRowsAVX512 adapts AVX-512 backward kernels to the kernel set's
// form: rows of up to 16 columns go through short, eight at a time, and
// the rest (the last rows%8 of them, or every row of a longer batch)
// through rows, or through long for batches of rows of at least
// longColsAVX512 elements, longElemsAVX512 in all.
func backwardRowsAVX512(short, rows, long func(dx, y, dy []float32, rows, cols int)) func(dx, y, dy []float32, cols int) {
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
			if cols >= longColsAVX512 && (n-done)*cols >= longElemsAVX512 {
				long(dx[m:], y[m:], dy[m:], n-done, cols)
				return
			}
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
// The batches that SoftmaxRows sends SoftmaxLongRowsAVX2 (rows of at
// least softmaxLongColsAVX2 elements, softmaxLongElemsAVX2 in all) go
// through SoftmaxBackwardLongRowsAVX2 or LogSoftmaxBackwardLongRowsAVX2.
//
// Those run pass 2 from the row's last chunk of 8192 elements to its
// first, and store dx non-temporally where it is 32-byte aligned and cols
// a multiple of 8 (see backwardAVX2 in gen/amd64/backward.go, which has
// the figures of the prefetch in pass 1 that came after these). Measured
// on AMD EPYC Zen 3 (32 MiB of L3; thread CPU time, the lower quartile of
// 6 calls, 4 rounds alternating copy, the two kernels and
// SoftmaxLongRowsAVX2, each call's y and dy N(0, 4) logits' softmax and
// N(0, 1), its dx first refilled by a copy; the median of the rounds'
// ratios, long kernel against row kernel; 3 to 5 runs, then one of 10
// rounds): SoftmaxBackward 0.89-0.98x at 8 rows of 4,194,304 columns
// (0.87x over 10 rounds), 0.80-0.91x at 16 of 1,048,576 (0.92-1.01x with
// pass 2 from the row's start, in alternating runs); LogSoftmaxBackward
// 0.84-1.05x (0.86x over 10 rounds) and 0.90-1.02x. Called again and again on the same batch: 0.87x and 1.02x
// at 16 x 262,144, 0.96x and 0.98x at 4 x 1,048,576, but 0.97x and 1.14x
// at 2 x 262,144 (6 MiB in all, which is not routed there).
func backwardRowsAVX2(log bool) func(dx, y, dy []float32, cols int) {
	rows, long := asm.SoftmaxBackwardRowsAVX2, asm.SoftmaxBackwardLongRowsAVX2
	if log {
		rows, long = asm.LogSoftmaxBackwardRowsAVX2, asm.LogSoftmaxBackwardLongRowsAVX2
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
			if cols >= softmaxLongColsAVX2 && (n-done)*cols >= softmaxLongElemsAVX2 {
				long(dx[m:], y[m:], dy[m:], n-done, cols)
				return
			}
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
