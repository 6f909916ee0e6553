//go:build !purego

package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/go-softmax/softmax/internal/asm"
)

// TestBitExactMediumKernel runs SoftmaxMediumRowsAVX512 directly on every
// row length it handles, 17..128, including those past mediumCols that
// SoftmaxRows does not send it (two blocks of 4 vectors from 65 columns
// on): the rows it reports done must have generic's bits, and the rest of
// dst must be untouched unless the kernel left a group (a special row)
// after writing to it.
func TestBitExactMediumKernel(t *testing.T) {
	if !avx512.supported() {
		t.Skip("no AVX-512")
	}
	rng := rand.New(rand.NewPCG(49, 50))
	for cols := shortCols + 1; cols <= 128; cols++ {
		for _, rows := range []int{4, 7, 8, 13, 20} {
			// Rows of N(0, 16): every max well within 208, so that
			// every group but one with a special row is done here.
			x := normalRow(rng, rows*cols, 4, 0)
			if rows == 13 {
				copy(x[9*cols:], shortSpecials[rng.IntN(len(shortSpecials))].row(rng, cols))
			}
			want := make([]float32, len(x))
			generic.SoftmaxRows(want, x, cols)
			got := make([]float32, len(x))
			done := asm.SoftmaxMediumRowsAVX512(got, x, rows, cols)
			if done%4 != 0 || done > rows || (rows != 13 && done != rows/4*4) || (rows == 13 && done != 8 && done != 12) {
				t.Fatalf("%dx%d: %d rows done", rows, cols, done)
			}
			what := fmt.Sprintf("%dx%d", rows, cols)
			compareBits(t, what, x[:done*cols], want[:done*cols], got[:done*cols])
		}
		if t.Failed() {
			return
		}
	}
}
