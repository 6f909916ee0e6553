//go:build !purego

package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/go-softmax/softmax/internal/asm"
)

// TestBitExactShortKernelAVX2 runs SoftmaxShortRowsAVX2 directly on every
// row length it handles, 1..16, out of place and in place: the rows it
// reports done must have generic's bits, and it must stop at a group with
// a special row, at the last rows%8, and at a group whose loads would
// reach past len(src), writing nothing from there on.
func TestBitExactShortKernelAVX2(t *testing.T) {
	if !avx2.supported() {
		t.Skip("no AVX2")
	}
	rng := rand.New(rand.NewPCG(51, 52))
	for cols := 1; cols <= shortCols; cols++ {
		total := 0
		for _, rows := range []int{8, 13, 16, 20, 24, 40} {
			for _, inPlace := range []bool{false, true} {
				x := shortBatch(rng, rows, cols)
				if rows == 20 || rows == 40 {
					copy(x[rng.IntN(rows)*cols:], shortSpecials[rng.IntN(len(shortSpecials))].row(rng, cols))
				}
				want := make([]float32, len(x))
				generic.SoftmaxRows(want, x, cols)
				const sentinel = 12345
				got := make([]float32, len(x))
				for i := range got {
					got[i] = sentinel
				}
				if inPlace {
					copy(got, x)
				}
				done := asm.SoftmaxShortRowsAVX2(got, map[bool][]float32{false: x, true: got}[inPlace], rows, cols)
				// The groups before the first that holds a special row
				// or whose loads would reach past len(src).
				fit := 0
				for fit+8 <= rows && (rows-fit)*cols >= 7*cols+16 && plainRows(x[fit*cols:(fit+8)*cols], cols) {
					fit += 8
				}
				what := fmt.Sprintf("%dx%d, in place %v", rows, cols, inPlace)
				if done != fit {
					t.Fatalf("%s: %d rows done, want %d", what, done, fit)
				}
				total += done
				compareBits(t, what, x[:done*cols], want[:done*cols], got[:done*cols])
				for i := done * cols; i < len(got); i++ {
					if w := map[bool]float32{false: sentinel, true: x[i]}[inPlace]; math.Float32bits(got[i]) != math.Float32bits(w) {
						t.Fatalf("%s: element %d written past the %d rows done", what, i, done)
					}
				}
			}
		}
		if total == 0 {
			t.Errorf("%d columns: no group done", cols)
		}
		if t.Failed() {
			return
		}
	}
}

// plainRows reports whether every row of x, of cols elements, is one the
// short kernels run: no NaN, no +Inf, and a finite max of at most 208 in
// magnitude.
func plainRows(x []float32, cols int) bool {
	for r := 0; r < len(x); r += cols {
		m := float32(math.Inf(-1))
		for _, v := range x[r : r+cols] {
			if v != v || v > math.MaxFloat32 {
				return false
			}
			m = max(m, v)
		}
		if !(m >= -208 && m <= 208) {
			return false
		}
	}
	return true
}
