//go:build !purego

package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/go-softmax/softmax/internal/asm"
)

// TestBitExactLogRowKernel runs LogSoftmaxRowsAVX512 directly, which
// LogSoftmaxRows sends only some batches on AVX-512 (the medium kernel
// takes most batches of short rows out of place), on batches of many rows
// of every length 1..300: rows of every kind of specialRow (offset far
// from 0, so c is not 0; fully masked, NaN, +Inf) among ordinary ones, in
// every position, out of place at an offset of 0 to 3 elements, and in
// place. The kernel runs each row's max a row ahead and each row's last
// pass a finite row late, so a special row mid-batch checks both.
func TestBitExactLogRowKernel(t *testing.T) {
	if !avx512.supported() {
		t.Skip("no AVX-512")
	}
	rng := rand.New(rand.NewPCG(71, 72))
	for cols := 1; cols <= 300; cols++ {
		for rep := 0; rep < 3; rep++ {
			rows := 5 + rng.IntN(8)
			var x []float32
			for r := 0; r < rows; r++ {
				if rng.IntN(3) == 0 {
					x = append(x, specialRow(rng, cols)...)
				} else {
					x = append(x, normalRow(rng, cols, 4, 0)...)
				}
			}
			want := make([]float32, len(x))
			generic.LogSoftmaxRows(want, x, cols)
			off := rng.IntN(4)
			buf := make([]float32, len(x)+off)
			got := buf[off:]
			asm.LogSoftmaxRowsAVX512(got, x, rows, cols)
			what := fmt.Sprintf("%dx%d rep %d", rows, cols, rep)
			compareBits(t, what, x, want, got)
			y := append(make([]float32, off), x...)[off:]
			asm.LogSoftmaxRowsAVX512(y, y, rows, cols)
			compareBits(t, what+" in place", x, want, y)
		}
		if t.Failed() {
			return
		}
	}
}
