//go:build !purego

package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/go-softmax/softmax/internal/asm"
)

// TestBitExactLogRowKernel runs LogSoftmaxRowsAVX512 and LogSoftmaxRowsAVX2
// directly, which LogSoftmaxRows sends only some batches (the short and
// medium kernels take most batches of short rows), on batches of many rows
// of every length 1..300 and some longer ones: rows of every kind in a
// random order, as in TestBitExactSoftmaxRowsSpecials (ordinary rows whose
// max is small, c = 0, or huge, c = max; rows with a NaN or +Inf anywhere;
// rows of -Inf with and without a NaN; rows mostly of -Inf), out of place
// at an offset of 0 to 3 elements, and in place. The kernels run each
// row's max a row ahead and each row's last pass a finite row late, and
// branch on c = 0 in both passes, so neighbours of different kinds check
// that no state leaks from one row to the next.
func TestBitExactLogRowKernel(t *testing.T) {
	for _, k := range []struct {
		im   *Implementation
		rows func(dst, src []float32, rows, cols int)
	}{{avx512, asm.LogSoftmaxRowsAVX512}, {avx2, asm.LogSoftmaxRowsAVX2}} {
		t.Run(k.im.Name(), func(t *testing.T) {
			if !k.im.supported() {
				t.Skip("not supported by this CPU")
			}
			rng := rand.New(rand.NewPCG(71, 72))
			cols := []int{1000, 1024, 4096, 4111}
			for c := 1; c <= 300; c++ {
				cols = append(cols, c)
			}
			for _, c := range cols {
				for rep := 0; rep < 3; rep++ {
					rows := 5 + rng.IntN(8)
					if c > 300 {
						rows = 6
					}
					var x []float32
					for r := 0; r < rows; r++ {
						x = append(x, rowOfAnyKind(rng, c)...)
					}
					want := make([]float32, len(x))
					generic.LogSoftmaxRows(want, x, c)
					off := rng.IntN(4)
					buf := make([]float32, len(x)+off)
					got := buf[off:]
					k.rows(got, x, rows, c)
					what := fmt.Sprintf("%dx%d rep %d", rows, c, rep)
					compareBits(t, what, x, want, got)
					y := append(make([]float32, off), x...)[off:]
					k.rows(y, y, rows, c)
					compareBits(t, what+" in place", x, want, y)
				}
				if t.Failed() {
					return
				}
			}
		})
	}
}

// TestBitExactCrossEntropyRowKernel runs CrossEntropyRowsAVX512 and
// CrossEntropyRowsAVX2 directly on batches of rows of every kind
// (rowOfAnyKind) and every length 1..300 and some longer ones, with a
// gradient out of place and in place, and without one: the kernels
// branch on c = 0 in passes 2 and 3 and put off each row's loss to a
// batch of 8, so neighbours of different kinds check that no state leaks
// from one row to the next.
func TestBitExactCrossEntropyRowKernel(t *testing.T) {
	for _, k := range []struct {
		im   *Implementation
		rows func(dst, src []float32, targets []int32, rows, cols int) float64
	}{{avx512, asm.CrossEntropyRowsAVX512}, {avx2, asm.CrossEntropyRowsAVX2}} {
		t.Run(k.im.Name(), func(t *testing.T) {
			if !k.im.supported() {
				t.Skip("not supported by this CPU")
			}
			rng := rand.New(rand.NewPCG(73, 74))
			cols := []int{1000, 1024, 4096, 4111}
			for c := 1; c <= 300; c++ {
				cols = append(cols, c)
			}
			for _, c := range cols {
				for rep := 0; rep < 3; rep++ {
					rows := 5 + rng.IntN(12)
					if c > 300 {
						rows = 6
					}
					var x []float32
					targets := make([]int32, rows)
					for r := range targets {
						x = append(x, rowOfAnyKind(rng, c)...)
						targets[r] = int32(rng.IntN(c))
					}
					want := make([]float32, len(x))
					wantLoss := generic.CrossEntropyRows(want, x, targets, c)
					what := fmt.Sprintf("%dx%d rep %d", rows, c, rep)
					mean := func(total float64) float32 { return roundLoss(total / float64(rows)) }
					got := make([]float32, len(x))
					compareLoss(t, what, mean(k.rows(got, x, targets, rows, c)), wantLoss)
					compareBits(t, what, x, want, got)
					y := append([]float32(nil), x...)
					compareLoss(t, what+" in place", mean(k.rows(y, y, targets, rows, c)), wantLoss)
					compareBits(t, what+" in place", x, want, y)
					compareLoss(t, what+" no gradient", mean(k.rows(nil, x, targets, rows, c)), wantLoss)
				}
				if t.Failed() {
					return
				}
			}
		})
	}
}

// softmaxRowKernels are the SoftmaxRows row kernels that the tests below
// run directly, each with the implementation that must support it.
var softmaxRowKernels = []struct {
	im   *Implementation
	rows func(dst, src []float32, rows, cols int)
}{{avx512, asm.SoftmaxRowsAVX512}, {avx2, asm.SoftmaxRowsAVX2}}

// TestBitExactSoftmaxRowKernel runs SoftmaxRowsAVX512 and SoftmaxRowsAVX2
// directly, which SoftmaxRows sends only some batches of short rows:
// every row count 0 to 9 and batches of up to 24 rows, of every length
// 1..300 and lengths around sCols in the generator (1024), up to which
// the kernels keep each row's s in two buffers of their frames, the
// current row's and the pending row's, when dst is not src (in place,
// SoftmaxRowsAVX512 keeps u as well, up to 512). Rows of every kind in a
// random order (rowOfAnyKind), so that rows filled early (NaN, +Inf,
// -Inf) and rows of a NaN S, which keep no pending row, fall between rows
// that do; out of place at an offset of 0 to 3 elements, and in place.
// Each batch also runs on a new goroutine, whose small stack the kernel's
// frame makes grow.
func TestBitExactSoftmaxRowKernel(t *testing.T) {
	for _, k := range softmaxRowKernels {
		t.Run(k.im.Name(), func(t *testing.T) {
			if !k.im.supported() {
				t.Skip("not supported by this CPU")
			}
			bitExactSoftmaxRowKernel(t, k.rows)
		})
	}
}

func bitExactSoftmaxRowKernel(t *testing.T, kernel func(dst, src []float32, rows, cols int)) {
	rng := rand.New(rand.NewPCG(75, 76))
	cols := []int{511, 512, 513, 1000, 1008, 1023, 1024, 1025, 1040, 2048}
	for c := 1; c <= 300; c++ {
		cols = append(cols, c)
	}
	for _, c := range cols {
		for rep := 0; rep < 4; rep++ {
			rows := rep
			if rep == 3 {
				rows = 3 + rng.IntN(22)
			}
			if c > 300 {
				rows = 2*rep + 1
			} else if rep == 0 {
				rows = rng.IntN(10)
			}
			var x []float32
			for r := 0; r < rows; r++ {
				x = append(x, rowOfAnyKind(rng, c)...)
			}
			want := make([]float32, len(x))
			generic.SoftmaxRows(want, x, c)
			off := rng.IntN(4)
			got := make([]float32, len(x)+off)[off:]
			kernel(got, x, rows, c)
			what := fmt.Sprintf("%dx%d rep %d", rows, c, rep)
			compareBits(t, what, x, want, got)
			y := append(make([]float32, off), x...)[off:]
			kernel(y, y, rows, c)
			compareBits(t, what+" in place", x, want, y)
			done := make(chan []float32)
			go func() {
				z := make([]float32, len(x))
				kernel(z, x, rows, c)
				done <- z
			}()
			compareBits(t, what+" on a new goroutine", x, want, <-done)
		}
		if t.Failed() {
			return
		}
	}
}

// TestGuardSoftmaxRowKernel runs SoftmaxRowsAVX512 and SoftmaxRowsAVX2
// directly on batches of 1 to 9 rows that end right before, then start
// right after, an inaccessible page (see checkGuards): pass 2 of each row
// of SoftmaxRowsAVX512 also reads the next row, or the row itself on the
// last one, under the mask of the row's last vector.
func TestGuardSoftmaxRowKernel(t *testing.T) {
	for _, k := range softmaxRowKernels {
		t.Run(k.im.Name(), func(t *testing.T) {
			if !k.im.supported() {
				t.Skip("not supported by this CPU")
			}
			rng := rand.New(rand.NewPCG(77, 78))
			cols := []int{1, 7, 16, 17, 33, 200, 1023, 1024, 1025}
			for c := 49; c <= 128; c++ {
				cols = append(cols, c)
			}
			for _, c := range cols {
				rows := 1 + rng.IntN(9)
				var x []float32
				for r := 0; r < rows; r++ {
					x = append(x, rowOfAnyKind(rng, c)...)
				}
				want := make([]float32, len(x))
				generic.SoftmaxRows(want, x, c)
				checkGuards(t, x, want, func(dst, src []float32) { k.rows(dst, src, rows, c) }, nil)
				if t.Failed() {
					return
				}
			}
		})
	}
}
