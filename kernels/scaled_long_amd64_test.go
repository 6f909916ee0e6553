//go:build !purego

package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/go-softmax/softmax/fallback"
	"github.com/go-softmax/softmax/internal/asm"
)

// ScaledSoftmaxRows with a mask runs rows of at least scaledLongCols
// elements through ScaledSoftmaxLongRowsAVX512 on AVX-512, shorter ones
// through ScaledSoftmaxRowsAVX512: the tests below check the long kernel
// on rows of every length, and the dispatch on both sides of its
// threshold.

// TestBitExactScaledLongKernel runs the scaled tests with every masked
// row kernel call sent to ScaledSoftmaxLongRowsAVX512 (scaledLongCols 1):
// rows of every length 1..300 in batches and alone, at every offset, and
// against guard pages.
func TestBitExactScaledLongKernel(t *testing.T) {
	if !avx512.supported() {
		t.Skip("no AVX-512")
	}
	defer func(c int) { scaledLongCols = c }(scaledLongCols)
	scaledLongCols = 1
	t.Run("Rows", TestBitExactScaledRows)
	t.Run("Batches", TestBitExactScaledBatches)
	t.Run("Offsets", TestBitExactScaledOffsets)
	t.Run("Guard", TestGuardScaled)
}

// TestBitExactScaledLongRowKinds runs ScaledSoftmaxLongRowsAVX512 directly
// on batches whose rows are of every kind of specialRow (offset far from 0,
// so c is not 0; fully masked, NaN, +Inf) among ordinary ones, in every
// position, with per-row masks that now and then mask a whole row and
// broadcast masks, out of place at an offset of 0 to 3 elements and in
// place: lengths 1..300, and rows on both sides of prefetchCols (the
// longest row whose pass 2 prefetches the next one, 32768 in
// gen/amd64/softmax.go).
func TestBitExactScaledLongRowKinds(t *testing.T) {
	if !avx512.supported() {
		t.Skip("no AVX-512")
	}
	rng := rand.New(rand.NewPCG(81, 82))
	var cols []int
	for c := 1; c <= 300; c++ {
		cols = append(cols, c)
	}
	if !testing.Short() {
		cols = append(cols, 32767, 32768, 32769, 32800)
	}
	for _, c := range cols {
		for kind := 1; kind < 3; kind++ {
			rows := 4 + rng.IntN(6)
			if c > 300 {
				rows = 3
			}
			var x []float32
			for r := 0; r < rows; r++ {
				if rng.IntN(3) == 0 {
					x = append(x, specialRow(rng, c)...)
				} else {
					x = append(x, normalRow(rng, c, 4, 0)...)
				}
			}
			mask := fusedMask(rng, kind, rows, c)
			scale := testScales[rng.IntN(len(testScales))]
			if rng.IntN(4) == 0 {
				scale = fusedScales[rng.IntN(len(fusedScales))]
			}
			want := make([]float32, len(x))
			fallback.ScaledSoftmaxRows(want, x, mask, scale, c)
			off := rng.IntN(4)
			got := make([]float32, len(x)+off)[off:]
			asm.ScaledSoftmaxLongRowsAVX512(got, x, mask, scale, rows, c)
			what := fmt.Sprintf("%dx%d mask kind %d scale %v", rows, c, kind, scale)
			compareBits(t, what, x, want, got)
			y := append(make([]float32, off), x...)[off:]
			asm.ScaledSoftmaxLongRowsAVX512(y, y, mask, scale, rows, c)
			compareBits(t, what+" in place", x, want, y)
		}
		if t.Failed() {
			return
		}
	}
}

// TestBitExactScaledLongThreshold runs ScaledSoftmaxRows on rows on both
// sides of scaledLongCols, with each mask kind, through the public API.
func TestBitExactScaledLongThreshold(t *testing.T) {
	forEachImpl(t, func(t *testing.T, im *Implementation) {
		rng := rand.New(rand.NewPCG(83, 84))
		for _, c := range []int{scaledLongCols - 1, scaledLongCols, scaledLongCols + 1} {
			for kind := 0; kind < 3; kind++ {
				rows := 3 + rng.IntN(3)
				var x []float32
				for r := 0; r < rows; r++ {
					x = append(x, specialRow(rng, c)...)
				}
				scale := fusedScales[rng.IntN(len(fusedScales))]
				mask := fusedMask(rng, kind, rows, c)
				checkScaled(t, fmt.Sprintf("%dx%d mask kind %d scale %v", rows, c, kind, scale), im, scaledKernels[0], x, mask, scale, c)
			}
		}
	})
}
