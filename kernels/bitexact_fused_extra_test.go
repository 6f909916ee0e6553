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

// rowKinds are the kinds of row that take different ways through the row
// kernels: finite with c = 0 (max at most 208 in magnitude), finite with
// c = max (max beyond 208), a NaN, a +Inf, all -Inf, -Inf with a NaN, and
// an ordinary row that the mask masks entirely (with a per-row mask; all
// -Inf otherwise).
const rowKinds = 7

// kindRow returns a row of n elements of kind k (see rowKinds), and sets
// the row's mask m, if it has one of its own, for kind 6.
func kindRow(rng *rand.Rand, k, n int, m []float32) []float32 {
	x := make([]float32, n)
	off := []float64{0, 1e4, 0, 0, 0, 0, 0}[k]
	for i := range x {
		x[i] = float32(4*rng.NormFloat64() + off)
	}
	switch k {
	case 2:
		x[rng.IntN(n)] = nan
	case 3:
		x[rng.IntN(n)] = inf
	case 4, 5:
		for i := range x {
			x[i] = ninf
		}
		if k == 5 {
			x[rng.IntN(n)] = nan
		}
	case 6:
		if m == nil {
			for i := range x {
				x[i] = ninf
			}
		}
		for i := range m {
			m[i] = ninf
		}
	}
	return x
}

// TestBitExactScaledRowKinds runs batches of three rows of kinds a, b, a,
// for every pair of kinds, every mask kind and lengths up to 300 (and
// longer ones), out of place and in place: the row kernels find a row's
// max a row ahead and finish a row a row late, so each way through a row
// must hand the next one the right state, whatever the kind of either.
func TestBitExactScaledRowKinds(t *testing.T) {
	forEachImpl(t, func(t *testing.T, im *Implementation) {
		rng := rand.New(rand.NewPCG(65, 66))
		var cols []int
		for c := 1; c <= 300; c++ {
			if !testing.Short() || c <= 40 || c%7 == 0 {
				cols = append(cols, c)
			}
		}
		cols = append(cols, 1000, 4096)
		for _, k := range scaledKernels {
			for _, c := range cols {
				for mk := 0; mk < 3; mk++ {
					for a := 0; a < rowKinds; a++ {
						for b := 0; b < rowKinds; b++ {
							mask := testMask(rng, mk, 3, c)
							var x []float32
							for r, kind := range []int{a, b, a} {
								var m []float32
								if mk == 2 {
									m = mask[r*c : (r+1)*c]
								}
								x = append(x, kindRow(rng, kind, c, m)...)
							}
							scale := testScales[rng.IntN(len(testScales))]
							checkScaled(t, fmt.Sprintf("%s 3x%d kinds %d %d %d mask kind %d scale %v", k.name, c, a, b, a, mk, scale), im, k, x, mask, scale, c)
							if t.Failed() {
								return
							}
						}
					}
				}
			}
		}
	})
}

// TestBitExactCausalRowKinds is TestBitExactScaledRowKinds for
// CausalSoftmaxRows, with offsets that leave rows empty, partial and full;
// a row's special values may lie past its first k elements.
func TestBitExactCausalRowKinds(t *testing.T) {
	forEachImpl(t, func(t *testing.T, im *Implementation) {
		rng := rand.New(rand.NewPCG(67, 68))
		var cols []int
		for c := 1; c <= 300; c++ {
			if !testing.Short() || c <= 40 || c%7 == 0 {
				cols = append(cols, c)
			}
		}
		cols = append(cols, 1000, 4096)
		for _, c := range cols {
			for a := 0; a < rowKinds-1; a++ {
				for b := 0; b < rowKinds-1; b++ {
					var x []float32
					for _, kind := range []int{a, b, a, b} {
						x = append(x, kindRow(rng, kind, c, nil)...)
					}
					for _, offset := range []int{c - 4, c / 2, -2, 0} {
						scale := testScales[rng.IntN(len(testScales))]
						want, got := make([]float32, len(x)), make([]float32, len(x))
						fallback.CausalSoftmaxRows(want, x, scale, c, offset)
						im.CausalSoftmaxRows(got, x, scale, c, offset)
						what := fmt.Sprintf("4x%d kinds %d %d offset %d scale %v", c, a, b, offset, scale)
						compareBits(t, what, x, want, got)
						in := append([]float32(nil), x...)
						im.CausalSoftmaxRows(in, in, scale, c, offset)
						compareBits(t, what+", in place", x, want, in)
						if t.Failed() {
							return
						}
					}
				}
			}
		}
	})
}

// TestBitExactCausalShortBatches runs batches of 3 to 300 rows of at
// most 17 columns through CausalSoftmaxRows, which go through the causal
// short kernels (see causalSoftmaxRowsAVX2 and causalSoftmaxRowsAVX512),
// partial last groups too, with
// rows of every kind of rowKinds but the masked one, every scale of
// fusedScales and offsets that leave rows empty, partial and full.
func TestBitExactCausalShortBatches(t *testing.T) {
	forEachImpl(t, func(t *testing.T, im *Implementation) {
		rng := rand.New(rand.NewPCG(69, 70))
		for c := 1; c <= 17; c++ {
			for _, rows := range []int{3, 5, 10, 16, 17, 23, 40, 300} {
				for _, scale := range fusedScales {
					var x []float32
					for r := 0; r < rows; r++ {
						kind := 0
						if rng.IntN(4) == 0 {
							kind = rng.IntN(rowKinds - 1)
						}
						x = append(x, kindRow(rng, kind, c, nil)...)
					}
					offset := []int{0, c - rows, -1 - rng.IntN(rows), rng.IntN(c + 2), -rows / 2, math.MaxInt}[rng.IntN(6)]
					want, got := make([]float32, len(x)), make([]float32, len(x))
					fallback.CausalSoftmaxRows(want, x, scale, c, offset)
					im.CausalSoftmaxRows(got, x, scale, c, offset)
					what := fmt.Sprintf("%dx%d offset %d scale %v", rows, c, offset, scale)
					compareBits(t, what, x, want, got)
					in := append([]float32(nil), x...)
					im.CausalSoftmaxRows(in, in, scale, c, offset)
					compareBits(t, what+", in place", x, want, in)
					if t.Failed() {
						return
					}
				}
			}
		}
	})
}
