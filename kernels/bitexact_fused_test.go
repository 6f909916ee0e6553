package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/go-softmax/softmax/fallback"
)

// The fused kernels on every implementation against package fallback, bit
// for bit (see bitexact_test.go for the shared helpers): the scaled and
// causal row kernels, the axis kernels, and the chunk statistics. Where an
// implementation has no vector version of a kernel yet, it runs the
// fallback's code and these tests check its wiring; a vector version is
// checked as soon as it is added to its kernel set.

// fusedScales are the scales the bit-exact tests draw from: ordinary ones
// and the special values, signed zeros, extremes.
var fusedScales = []float32{1, 1, 0.125, 0.088388346, 1 / 0.7, 2, -1, 0, float32(math.Copysign(0, -1)),
	1e-30, 1e30, math.MaxFloat32, 0x1p-149, inf, ninf, nan}

// fusedMask returns a mask of one of testMask's kinds, with now and then a
// special value (NaN, ±Inf, ±0, a subnormal, a huge value) in it.
func fusedMask(rng *rand.Rand, kind, rows, cols int) []float32 {
	m := testMask(rng, kind, rows, cols)
	for i := range m {
		if rng.IntN(40) == 0 {
			m[i] = []float32{nan, inf, ninf, 0, float32(math.Copysign(0, -1)), 0x1p-140, 1e30, -1e30}[rng.IntN(8)]
		}
	}
	return m
}

// scaledKernel is ScaledSoftmaxRows or ScaledLogSoftmaxRows, on an
// implementation and on the fallback.
type scaledKernel struct {
	name string
	call func(im *Implementation, dst, src, mask []float32, scale float32, cols int)
	want func(dst, src, mask []float32, scale float32, cols int)
}

var scaledKernels = []scaledKernel{
	{"ScaledSoftmaxRows", (*Implementation).ScaledSoftmaxRows, fallback.ScaledSoftmaxRows},
	{"ScaledLogSoftmaxRows", (*Implementation).ScaledLogSoftmaxRows, fallback.ScaledLogSoftmaxRows},
}

// checkScaled runs k on im out of place and in place, compares both with
// the fallback, and returns the fallback's result.
func checkScaled(t *testing.T, what string, im *Implementation, k scaledKernel, x, mask []float32, scale float32, cols int) []float32 {
	t.Helper()
	want, got := make([]float32, len(x)), make([]float32, len(x))
	k.want(want, x, mask, scale, cols)
	k.call(im, got, x, mask, scale, cols)
	compareBits(t, what, x, want, got)
	in := append([]float32(nil), x...)
	k.call(im, in, in, mask, scale, cols)
	compareBits(t, what+", in place", x, want, in)
	return want
}

// TestBitExactScaledRows runs batches of every row length up to 70 and
// longer ones, with every mask kind and scale, rows of softmaxInput's
// kinds (special rows among ordinary ones) and masks with special values.
func TestBitExactScaledRows(t *testing.T) {
	forEachImpl(t, func(t *testing.T, im *Implementation) {
		rng := rand.New(rand.NewPCG(51, 52))
		cols := []int{100, 127, 128, 129, 255, 256, 1000, 4096}
		for c := 1; c <= 70; c++ {
			cols = append(cols, c)
		}
		for _, k := range scaledKernels {
			for _, c := range cols {
				for kind := 0; kind < 3; kind++ {
					rows := 1 + rng.IntN(9)
					var x []float32
					for r := 0; r < rows; r++ {
						x = append(x, softmaxInput(rng, c)...)
					}
					scale := fusedScales[rng.IntN(len(fusedScales))]
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

// TestBitExactScaledLengths runs single rows of every length 0..300 and
// long ones.
func TestBitExactScaledLengths(t *testing.T) {
	forEachImpl(t, func(t *testing.T, im *Implementation) {
		rng := rand.New(rand.NewPCG(53, 54))
		lengths := []int{1000, 4096, 32000, 128256}
		for n := 0; n <= 300; n++ {
			lengths = append(lengths, n)
		}
		for _, k := range scaledKernels {
			for _, n := range lengths {
				x := softmaxInput(rng, n)
				kind := rng.IntN(3)
				mask := fusedMask(rng, kind, 1, n)
				scale := testScales[rng.IntN(len(testScales))]
				checkScaled(t, fmt.Sprintf("%s n=%d mask kind %d scale %v", k.name, n, kind, scale), im, k, x, mask, scale, max(1, n))
				if t.Failed() {
					return
				}
			}
		}
	})
}

// scaledRow returns a one-row kernel func(dst, src) for checkOffsets and
// checkGuards: k with a fixed mask (nil or as long as the row) and scale.
func scaledRow(im *Implementation, k scaledKernel, mask []float32, scale float32) func(dst, src []float32) {
	return func(dst, src []float32) { k.call(im, dst, src, mask, scale, max(1, len(src))) }
}

func TestBitExactScaledOffsets(t *testing.T) {
	forEachImpl(t, func(t *testing.T, im *Implementation) {
		rng := rand.New(rand.NewPCG(55, 56))
		for _, k := range scaledKernels {
			for _, n := range []int{1, 3, 15, 16, 17, 31, 33, 63, 64, 65, 100, 129, 300} {
				x := softmaxInput(rng, n)
				mask := fusedMask(rng, 1+rng.IntN(2), 1, n)
				want := make([]float32, n)
				k.want(want, x, mask, 0.125, n)
				checkOffsets(t, x, want, scaledRow(im, k, mask, 0.125), nil)
				if t.Failed() {
					return
				}
			}
		}
	})
}

// TestGuardScaled places rows, and their masks, against inaccessible
// pages, for every length 0..300, on every implementation.
func TestGuardScaled(t *testing.T) {
	forEachImpl(t, func(t *testing.T, im *Implementation) {
		rng := rand.New(rand.NewPCG(57, 58))
		for _, k := range scaledKernels {
			for n := 0; n <= 300; n++ {
				x := softmaxInput(rng, n)
				m := fusedMask(rng, 1, 1, n)
				want := make([]float32, n)
				k.want(want, x, m, 2, max(1, n))
				for _, place := range []func(testing.TB, int) []float32{endAtGuard, startAfterGuard} {
					mask := place(t, n)
					copy(mask, m)
					checkGuards(t, x, want, scaledRow(im, k, mask, 2), nil)
				}
			}
		}
	})
}

// TestBitExactCausal runs score matrices of many shapes with offsets that
// leave rows empty, partial and full, and special values everywhere,
// inside the rows' prefixes and after them.
func TestBitExactCausal(t *testing.T) {
	forEachImpl(t, func(t *testing.T, im *Implementation) {
		rng := rand.New(rand.NewPCG(59, 60))
		cols := []int{100, 127, 128, 129, 256, 1000}
		for c := 1; c <= 40; c++ {
			cols = append(cols, c)
		}
		for _, c := range cols {
			for _, rows := range []int{1, 1 + rng.IntN(20), c} {
				for _, offset := range []int{0, c - rows, -1 - rng.IntN(rows), rng.IntN(c + 2), math.MaxInt, math.MinInt} {
					checkCausal(t, im, rng, rows, c, offset, fusedScales[rng.IntN(len(fusedScales))])
				}
			}
			if t.Failed() {
				return
			}
		}
	})
}

// checkCausal runs CausalSoftmaxRows on im over rows rows of c of
// softmaxInput's elements, out of place and in place, and compares both
// with the fallback.
func checkCausal(t *testing.T, im *Implementation, rng *rand.Rand, rows, c, offset int, scale float32) {
	t.Helper()
	x := make([]float32, 0, rows*c)
	for r := 0; r < rows; r++ {
		x = append(x, softmaxInput(rng, c)...)
	}
	want, got := make([]float32, len(x)), make([]float32, len(x))
	fallback.CausalSoftmaxRows(want, x, scale, c, offset)
	im.CausalSoftmaxRows(got, x, scale, c, offset)
	what := fmt.Sprintf("%dx%d offset %d scale %v", rows, c, offset, scale)
	compareBits(t, what, x, want, got)
	im.CausalSoftmaxRows(x, x, scale, c, offset)
	compareBits(t, what+", in place", x, want, x)
}

// axisKernel is SoftmaxAxis or LogSoftmaxAxis, on an implementation and
// on the fallback.
type axisKernel struct {
	name string
	call func(im *Implementation, dst, src []float32, outer, axis, inner int)
	want func(dst, src []float32, outer, axis, inner int)
}

var axisKernels = []axisKernel{
	{"SoftmaxAxis", (*Implementation).SoftmaxAxis, fallback.SoftmaxAxis},
	{"LogSoftmaxAxis", (*Implementation).LogSoftmaxAxis, fallback.LogSoftmaxAxis},
}

// axisTensor returns an [outer, axis, inner] tensor whose columns are
// rows of softmaxInput's kinds, so that special columns (NaN, +Inf, fully
// masked, huge offsets) stand next to ordinary ones in every lane.
func axisTensor(rng *rand.Rand, outer, axis, inner int) []float32 {
	x := make([]float32, outer*axis*inner)
	for o := 0; o < outer; o++ {
		for j := 0; j < inner; j++ {
			for k, v := range softmaxInput(rng, axis) {
				x[(o*axis+k)*inner+j] = v
			}
		}
	}
	return x
}

// TestBitExactAxis runs tensors with every inner size up to 40 (every
// lane count of the last group of columns, after full groups) and wider
// ones, axis lengths 0 to 20 and around the vector and block sizes, long
// axes, one to three slabs, out of place and in place.
func TestBitExactAxis(t *testing.T) {
	forEachImpl(t, func(t *testing.T, im *Implementation) {
		rng := rand.New(rand.NewPCG(61, 62))
		var shapes [][3]int
		for inner := 1; inner <= 40; inner++ {
			for _, axis := range []int{1, 2, 15, 16, 17, 64, 65} {
				shapes = append(shapes, [3]int{1 + rng.IntN(3), axis, inner})
			}
		}
		for axis := 0; axis <= 20; axis++ {
			for _, inner := range []int{2, 17} {
				shapes = append(shapes, [3]int{1 + rng.IntN(3), axis, inner})
			}
		}
		for _, inner := range []int{48, 64, 100, 257} {
			for _, axis := range []int{1, 3, 20} {
				shapes = append(shapes, [3]int{1 + rng.IntN(3), axis, inner})
			}
		}
		shapes = append(shapes, [3]int{1, 1000, 16}, [3]int{2, 300, 33}, [3]int{1, 4096, 5}, [3]int{1, 1 << 15, 2},
			[3]int{2, 1500, 3}, [3]int{1, 1200, 31})
		// Many slabs of few columns, which the AVX-512 kernels take
		// several to a group (every group full, or the last one not).
		shapes = append(shapes, [3]int{20, 5, 3}, [3]int{11, 9, 7}, [3]int{33, 2, 2}, [3]int{17, 40, 8},
			[3]int{9, 3, 5}, [3]int{40, 1, 4}, [3]int{5, 300, 6})
		// Either side of the fewest columns (outer*inner = 8) for which
		// they gather: 6 and 4 columns run one slab a group, 8 gathered.
		shapes = append(shapes, [3]int{3, 100, 2}, [3]int{1, 100, 4}, [3]int{4, 100, 2}, [3]int{2, 100, 4})
		checkAxisShapes(t, im, rng, shapes, axisTensor)
	})
}

// checkAxisShapes runs both axis kernels on im and on the fallback over
// tensors of the given shapes, out of place and in place.
func checkAxisShapes(t *testing.T, im *Implementation, rng *rand.Rand, shapes [][3]int,
	tensor func(rng *rand.Rand, outer, axis, inner int) []float32) {
	t.Helper()
	for _, k := range axisKernels {
		for _, sh := range shapes {
			x := tensor(rng, sh[0], sh[1], sh[2])
			want, got := make([]float32, len(x)), make([]float32, len(x))
			k.want(want, x, sh[0], sh[1], sh[2])
			k.call(im, got, x, sh[0], sh[1], sh[2])
			what := fmt.Sprintf("%s %v", k.name, sh)
			compareBits(t, what, x, want, got)
			k.call(im, x, x, sh[0], sh[1], sh[2])
			compareBits(t, what+", in place", x, want, x)
			if t.Failed() {
				return
			}
		}
	}
}

// TestBitExactAxisOffsets runs the axis kernels at every alignment offset
// and next to guard pages, with last groups of columns of every width the
// kernels load in their own way (the last 1 to 7 columns of NEON and AVX2,
// by the bits of their count; masks for AVX-512).
func TestBitExactAxisOffsets(t *testing.T) {
	forEachImpl(t, func(t *testing.T, im *Implementation) {
		rng := rand.New(rand.NewPCG(63, 64))
		for _, k := range axisKernels {
			for _, sh := range [][3]int{{1, 1, 3}, {2, 5, 7}, {1, 3, 17}, {1, 2, 33}, {3, 4, 16}, {1, 10, 30}, {2, 3, 45}, {7, 3, 3}, {5, 2, 8}, {2, 3, 4}, {1, 5, 2}, {2, 2, 12}, {5, 3, 2}, {3, 2, 4}, {9, 2, 2},
				// Packed steps, the last vector of each slab narrower.
				{1, 9, 2}, {2, 13, 2}, {1, 7, 3}, {2, 6, 4}, {1, 5, 5}, {3, 4, 6}, {1, 3, 7}, {2, 3, 8}, {1, 41, 3},
				{1, 3, 9}, {2, 5, 11}, {1, 4, 13}, {2, 3, 14}, {1, 6, 15}} {
				x := axisTensor(rng, sh[0], sh[1], sh[2])
				want := make([]float32, len(x))
				k.want(want, x, sh[0], sh[1], sh[2])
				f := func(dst, src []float32) { k.call(im, dst, src, sh[0], sh[1], sh[2]) }
				checkOffsets(t, x, want, f, nil)
				checkGuards(t, x, want, f, nil)
				if t.Failed() {
					return
				}
			}
		}
	})
}

// TestBitExactAxisPacked runs the narrow tensors whose slabs the AVX-512
// and AVX2 kernels pack several axis steps to a vector (inner 2 to 8), or
// run one step a vector the same way (up to 15): every axis length
// 0..300, so that the last vector of a slab holds every number of steps,
// one to three slabs, and long axes, out of place and in place. Each column is a row of softmaxInput's kinds, so NaN, +Inf,
// fully masked and huge columns share vectors with ordinary ones.
func TestBitExactAxisPacked(t *testing.T) {
	forEachSIMD(t, func(t *testing.T, im *Implementation) {
		rng := rand.New(rand.NewPCG(65, 66))
		var shapes [][3]int
		for inner := 2; inner <= 15; inner++ {
			for axis := 0; axis <= 300; axis++ {
				shapes = append(shapes, [3]int{1 + rng.IntN(3), axis, inner})
			}
			shapes = append(shapes, [3]int{1, 40000 + rng.IntN(16), inner}, [3]int{2, 5000 + rng.IntN(16), inner})
		}
		shapes = append(shapes, [3]int{1, 128256, 2}, [3]int{1, 32000, 8}, [3]int{40, 64, 2}, [3]int{9, 100, 4})
		// Either side of the shortest slabs packed where the AVX-512
		// kernels could gather (16 elements for Softmax, 48 for
		// LogSoftmax).
		shapes = append(shapes, [3]int{9, 7, 2}, [3]int{9, 8, 2}, [3]int{8, 23, 2}, [3]int{8, 24, 2},
			[3]int{5, 5, 3}, [3]int{5, 6, 3}, [3]int{3, 15, 3}, [3]int{3, 16, 3}, [3]int{4, 3, 4}, [3]int{4, 4, 4}, [3]int{2, 11, 4}, [3]int{2, 12, 4})
		checkAxisShapes(t, im, rng, shapes, axisTensor)
		// Columns whose sum shows its order.
		shapes = shapes[:0]
		for inner := 2; inner <= 15; inner++ {
			for _, axis := range []int{2, 3, 5, 8, 13, 16, 17, 31, 64, 100, 1000} {
				shapes = append(shapes, [3]int{1 + rng.IntN(2), axis, inner})
			}
		}
		checkAxisShapes(t, im, rng, shapes, sumOrderTensor)
	})
}

// sumOrderTensor returns an [outer, axis, inner] tensor whose columns
// each hold one element in [0, 1), at a random step, and the others in
// [-30, -20). A column's S is then 1 + e, e about 1e-12 to 1e-9, and
// LogSoftmax's output at the large element, about -e, keeps the last bits
// of S: adding the terms in another order than the fallback's changes it.
func sumOrderTensor(rng *rand.Rand, outer, axis, inner int) []float32 {
	x := make([]float32, outer*axis*inner)
	for i := range x {
		x[i] = float32(-20 - 10*rng.Float64())
	}
	for o := 0; o < outer; o++ {
		for j := 0; j < inner; j++ {
			x[(o*axis+rng.IntN(axis))*inner+j] = float32(rng.Float64())
		}
	}
	return x
}

// compareStats fails t unless got holds want's bits.
func compareStats(t *testing.T, what string, got Stats, want fallback.Stats) {
	t.Helper()
	if math.Float32bits(got.s.Max) != math.Float32bits(want.Max) || math.Float64bits(got.s.Sum) != math.Float64bits(want.Sum) {
		t.Errorf("%s: StatsOf = {%v %v} (%#x %#x), fallback {%v %v} (%#x %#x)", what,
			got.s.Max, got.s.Sum, math.Float32bits(got.s.Max), math.Float64bits(got.s.Sum),
			want.Max, want.Sum, math.Float32bits(want.Max), math.Float64bits(want.Sum))
	}
}

// checkChunks computes, on im and on the fallback, the statistics of each
// chunk of x (cut at cuts), merges them left to right, and normalizes
// every chunk with the result, comparing every step bit for bit.
func checkChunks(t *testing.T, what string, im *Implementation, x []float32, cuts []int) {
	t.Helper()
	var s Stats
	var w fallback.Stats
	for c := 1; c < len(cuts); c++ {
		chunk := x[cuts[c-1]:cuts[c]]
		cs, cw := im.StatsOf(chunk), fallback.StatsOf(chunk)
		compareStats(t, fmt.Sprintf("%s chunk %d", what, c-1), cs, cw)
		s, w = s.Merge(cs), w.Merge(cw)
	}
	compareStats(t, what+" merged", s, w)
	for _, log := range []bool{false, true} {
		want, got := make([]float32, len(x)), make([]float32, len(x))
		for c := 1; c < len(cuts); c++ {
			a, b := cuts[c-1], cuts[c]
			if log {
				fallback.LogSoftmaxWithStats(want[a:b], x[a:b], w)
				im.LogSoftmaxWithStats(got[a:b], x[a:b], s)
			} else {
				fallback.SoftmaxWithStats(want[a:b], x[a:b], w)
				im.SoftmaxWithStats(got[a:b], x[a:b], s)
			}
		}
		compareBits(t, fmt.Sprintf("%s log %v", what, log), x, want, got)
	}
}

// TestBitExactStats runs rows of every length 0..300 and long ones, in one
// chunk and in random chunks (empty ones, single elements, special values
// among them).
func TestBitExactStats(t *testing.T) {
	forEachImpl(t, func(t *testing.T, im *Implementation) {
		rng := rand.New(rand.NewPCG(65, 66))
		lengths := []int{1000, 4096, 32000, 128256}
		for n := 0; n <= 300; n++ {
			lengths = append(lengths, n)
		}
		for _, n := range lengths {
			for rep := 0; rep < 4 && (rep == 0 || n <= 300); rep++ {
				x := softmaxInput(rng, n)
				checkChunks(t, fmt.Sprintf("n=%d rep %d, one chunk", n, rep), im, x, []int{0, n})
				cuts := chunking(rng, n)
				checkChunks(t, fmt.Sprintf("n=%d rep %d, chunks %v", n, rep, cuts), im, x, cuts)
			}
			if t.Failed() {
				return
			}
		}
	})
}

// TestBitExactStatsOffsets runs SoftmaxWithStats and LogSoftmaxWithStats
// at every alignment and against guard pages, with the statistics of a
// row that the chunk is part of, and StatsOf on each placement.
func TestBitExactStatsOffsets(t *testing.T) {
	forEachImpl(t, func(t *testing.T, im *Implementation) {
		rng := rand.New(rand.NewPCG(67, 68))
		for _, n := range []int{0, 1, 3, 15, 16, 17, 33, 64, 65, 100, 129, 300} {
			x := softmaxInput(rng, n)
			other := normalRow(rng, 50, 4, 0)
			w := fallback.StatsOf(x).Merge(fallback.StatsOf(other))
			s := im.StatsOf(x).Merge(im.StatsOf(other))
			each := func(what string, src []float32) { compareStats(t, what, im.StatsOf(src), fallback.StatsOf(x)) }
			for _, log := range []bool{false, true} {
				want := make([]float32, n)
				f := func(dst, src []float32) { im.SoftmaxWithStats(dst, src, s) }
				fallback.SoftmaxWithStats(want, x, w)
				if log {
					f = func(dst, src []float32) { im.LogSoftmaxWithStats(dst, src, s) }
					fallback.LogSoftmaxWithStats(want, x, w)
				}
				if n == 0 || n%16 == 1 {
					checkOffsets(t, x, want, f, each)
				}
				checkGuards(t, x, want, f, each)
			}
			if t.Failed() {
				return
			}
		}
	})
}
