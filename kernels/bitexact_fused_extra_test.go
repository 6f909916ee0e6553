package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/go-softmax/softmax/fallback"
)

// TestGuardCausal places batches of CausalSoftmaxRows against
// inaccessible pages and at every alignment, with offsets that leave the
// last row empty, partial and full, so that a kernel that reads or writes
// past a row's first k elements, or past the batch, faults or is caught.
func TestGuardCausal(t *testing.T) {
	forEachImpl(t, func(t *testing.T, im *Implementation) {
		rng := rand.New(rand.NewPCG(61, 62))
		cols := []int{100, 129, 300}
		for c := 1; c <= 70; c++ {
			cols = append(cols, c)
		}
		for _, c := range cols {
			for _, rows := range []int{1, 3} {
				for _, offset := range []int{0, -rows, c - rows, c - rows - 1 - rng.IntN(c)} {
					var x []float32
					for r := 0; r < rows; r++ {
						x = append(x, softmaxInput(rng, c)...)
					}
					want := make([]float32, len(x))
					fallback.CausalSoftmaxRows(want, x, 0.125, c, offset)
					f := func(dst, src []float32) { im.CausalSoftmaxRows(dst, src, 0.125, c, offset) }
					checkGuards(t, x, want, f, nil)
					checkOffsets(t, x, want, f, nil)
					if t.Failed() {
						t.Fatalf("%dx%d offset %d", rows, c, offset)
					}
				}
			}
		}
	})
}

// TestStatsZeroMax checks StatsOf's max on rows whose max is a zero of
// either sign, among zeros of both signs and negative values at every
// position of the lanes: the fallback's max is the first zero of the row.
func TestStatsZeroMax(t *testing.T) {
	forEachImpl(t, func(t *testing.T, im *Implementation) {
		rng := rand.New(rand.NewPCG(63, 64))
		negZero := float32(math.Copysign(0, -1))
		for _, n := range []int{1, 2, 15, 16, 17, 33, 64, 65, 100, 300} {
			for rep := 0; rep < 20; rep++ {
				x := make([]float32, n)
				for i := range x {
					x[i] = []float32{-1, -3, 0, negZero}[rng.IntN(4)]
				}
				x[rng.IntN(n)] = []float32{0, negZero}[rng.IntN(2)]
				compareStats(t, fmt.Sprintf("n=%d %v", n, x), im.StatsOf(x), fallback.StatsOf(x))
			}
			if t.Failed() {
				return
			}
		}
	})
}

// TestBitExactScaledBatches runs batches of several rows of every length
// 1..300, and of 1000, 4096 and 32000 columns, with each mask kind: the
// row kernels find a row's max while the row before it is still pending,
// so every row's mask (broadcast or its own) must follow it through the
// batch. Rows of softmaxInput's kinds (NaN, +Inf, -Inf, huge) stand among
// ordinary ones, and per-row masks now and then mask a whole row.
func TestBitExactScaledBatches(t *testing.T) {
	forEachImpl(t, func(t *testing.T, im *Implementation) {
		rng := rand.New(rand.NewPCG(61, 62))
		var cols []int
		for c := 1; c <= 300; c++ {
			cols = append(cols, c)
		}
		if !testing.Short() {
			cols = append(cols, 1000, 4096, 32000)
		}
		for _, k := range scaledKernels {
			for _, c := range cols {
				for kind := 0; kind < 3; kind++ {
					rows := 2 + rng.IntN(6)
					if c > 300 {
						rows = 3 + rng.IntN(2)
					}
					var x []float32
					for r := 0; r < rows; r++ {
						x = append(x, softmaxInput(rng, c)...)
					}
					scale := testScales[rng.IntN(len(testScales))]
					if rng.IntN(4) == 0 {
						scale = fusedScales[rng.IntN(len(fusedScales))]
					}
					mask := fusedMask(rng, kind, rows, c)
					checkScaled(t, fmt.Sprintf("%s %dx%d mask kind %d scale %v", k.name, rows, c, kind, scale), im, k, x, mask, scale, c)
				}
				if t.Failed() {
					return
				}
			}
		}
	})
}

// TestBitExactCausalLong runs batches of long rows through
// CausalSoftmaxRows, with offsets that leave the first rows empty or
// partial and the last ones full.
func TestBitExactCausalLong(t *testing.T) {
	if testing.Short() {
		t.Skip("long rows")
	}
	forEachImpl(t, func(t *testing.T, im *Implementation) {
		rng := rand.New(rand.NewPCG(63, 64))
		for _, c := range []int{300, 1000, 4096, 32000} {
			rows := 3 + rng.IntN(3)
			for _, offset := range []int{0, c - rows, -2, c/2 - 1, c} {
				checkCausal(t, im, rng, rows, c, offset, testScales[rng.IntN(len(testScales))])
			}
			if t.Failed() {
				return
			}
		}
	})
}
