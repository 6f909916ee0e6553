package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// Batches of many short rows, the shape the SIMD implementations run
// several rows at a time (a group of eight rows on AVX-512), against
// generic, bit for bit: every row count 1..40 (whole groups and a
// remainder), special rows at every position of a batch (a group that
// falls back to the per-row kernel, before, between and after groups that
// do not), every offset, in place, and against guard pages.

// shortColsTested are the row lengths of the short-row tests: every one up
// to 32, and some up to 128.
func shortColsTested() []int {
	var cs []int
	for c := 1; c <= 32; c++ {
		cs = append(cs, c)
	}
	return append(cs, 33, 47, 48, 64, 100, 127, 128)
}

// shortRow returns an ordinary row of n logits: normal with a random
// scale, and an offset that keeps its max within 208 of 0, the common
// case.
func shortRow(rng *rand.Rand, n int) []float32 {
	std := []float64{0.1, 1, 4, 16, 40}[rng.IntN(5)]
	off := []float64{0, 0, 3, -50, 100, -150}[rng.IntN(6)]
	return normalRow(rng, n, std, off)
}

// shortSpecials are rows that the common path of a short-row kernel must
// not take, or takes at its edges: each returns such a row of n logits.
var shortSpecials = []struct {
	name string
	row  func(rng *rand.Rand, n int) []float32
}{
	{"NaN", func(rng *rand.Rand, n int) []float32 {
		x := shortRow(rng, n)
		x[rng.IntN(n)] = nan
		return x
	}},
	{"NaN with a payload", func(rng *rand.Rand, n int) []float32 {
		// Quiet and signaling, both signs: the output is the canonical
		// NaN all the same.
		x := shortRow(rng, n)
		b := []uint32{0xffc00000, 0x7fc12345, 0xff800001, 0x7f800001}[rng.IntN(4)]
		x[rng.IntN(n)] = math.Float32frombits(b)
		return x
	}},
	{"+Inf", func(rng *rand.Rand, n int) []float32 {
		x := shortRow(rng, n)
		x[rng.IntN(n)] = inf
		return x
	}},
	{"-Inf", func(rng *rand.Rand, n int) []float32 {
		x := shortRow(rng, n)
		x[rng.IntN(n)] = ninf
		return x
	}},
	{"all -Inf", func(rng *rand.Rand, n int) []float32 {
		x := make([]float32, n)
		for i := range x {
			x[i] = ninf
		}
		return x
	}},
	{"all -Inf and NaN", func(rng *rand.Rand, n int) []float32 {
		x := make([]float32, n)
		for i := range x {
			x[i] = ninf
		}
		x[rng.IntN(n)] = nan
		return x
	}},
	{"max > 208", func(rng *rand.Rand, n int) []float32 {
		return normalRow(rng, n, 4, 300)
	}},
	{"max < -208", func(rng *rand.Rand, n int) []float32 {
		return normalRow(rng, n, 4, -300)
	}},
	{"max 1e30", func(rng *rand.Rand, n int) []float32 {
		return normalRow(rng, n, 1e28, 1e30)
	}},
	{"max +-208", func(rng *rand.Rand, n int) []float32 {
		x := normalRow(rng, n, 50, 0)
		for i := range x {
			x[i] = min(x[i], 200)
		}
		m := []float32{208, -208, math.Nextafter32(208, 300), math.Nextafter32(-208, -300)}[rng.IntN(4)]
		x[rng.IntN(n)] = m
		if m < 0 {
			for i := range x {
				x[i] = min(x[i]-500, m)
			}
			x[rng.IntN(n)] = m
		}
		return x
	}},
	{"clamped at -320", func(rng *rand.Rand, n int) []float32 {
		m := float32(rng.NormFloat64() * 100)
		m = min(max(m, -208), 208)
		x := uniformRow(rng, n, float64(m)-700, float64(m)-300)
		x[rng.IntN(n)] = m
		return x
	}},
	{"huge spread", func(rng *rand.Rand, n int) []float32 {
		return uniformRow(rng, n, -math.MaxFloat32, math.MaxFloat32)
	}},
}

// shortBatch returns rows ordinary rows of cols logits.
func shortBatch(rng *rand.Rand, rows, cols int) []float32 {
	x := make([]float32, 0, rows*cols)
	for range rows {
		x = append(x, shortRow(rng, cols)...)
	}
	return x
}

// checkRows compares im.SoftmaxRows, out of place and in place, with
// generic's.
func checkRows(t *testing.T, im *Implementation, what string, x []float32, cols int) {
	t.Helper()
	checkBatch(t, what, x, cols, generic.SoftmaxRows, im.SoftmaxRows)
}

// checkBatch compares run, a batched kernel, out of place and in place,
// with ref on the rows of cols elements of x.
func checkBatch(t *testing.T, what string, x []float32, cols int, ref, run func(dst, src []float32, cols int)) {
	t.Helper()
	want := make([]float32, len(x))
	ref(want, x, cols)
	got := make([]float32, len(x))
	run(got, x, cols)
	compareBits(t, what, x, want, got)
	y := append([]float32(nil), x...)
	run(y, y, cols)
	compareBits(t, what+" in place", x, want, y)
}

// addSpecialRow copies a special row drawn from shortSpecials over a row
// drawn from the rows rows of cols elements of x, and returns the words
// that say which and where.
func addSpecialRow(rng *rand.Rand, x []float32, rows, cols int) string {
	sp := shortSpecials[rng.IntN(len(shortSpecials))]
	pos := rng.IntN(rows)
	copy(x[pos*cols:], sp.row(rng, cols))
	return fmt.Sprintf(", %s row at %d", sp.name, pos)
}

// TestBitExactShortRows runs batches of 1..40 ordinary rows of every
// length in shortColsTested.
func TestBitExactShortRows(t *testing.T) {
	forEachSIMD(t, func(t *testing.T, im *Implementation) {
		rng := rand.New(rand.NewPCG(41, 42))
		for _, cols := range shortColsTested() {
			for rows := 1; rows <= 40; rows++ {
				checkRows(t, im, fmt.Sprintf("%dx%d", rows, cols), shortBatch(rng, rows, cols), cols)
			}
			if t.Failed() {
				return
			}
		}
	})
}

// TestBitExactShortRowsSpecials puts one special row at every position of
// batches of short rows, and in about half of the batches a second one at
// a random position.
func TestBitExactShortRowsSpecials(t *testing.T) {
	forEachSIMD(t, func(t *testing.T, im *Implementation) {
		rng := rand.New(rand.NewPCG(43, 44))
		for _, cols := range shortColsTested() {
			for _, sp := range shortSpecials {
				rows := []int{8, 19, 33}[rng.IntN(3)]
				for pos := range rows {
					x := shortBatch(rng, rows, cols)
					copy(x[pos*cols:], sp.row(rng, cols))
					what := fmt.Sprintf("%dx%d, %s row at %d", rows, cols, sp.name, pos)
					if rng.IntN(2) == 0 {
						what += addSpecialRow(rng, x, rows, cols)
					}
					checkRows(t, im, what, x, cols)
				}
			}
			if t.Failed() {
				return
			}
		}
	})
}

// TestBitExactShortRowsOffsets runs batches of short rows at every offset
// of src and dst, and checks that nothing around dst is written.
func TestBitExactShortRowsOffsets(t *testing.T) {
	forEachSIMD(t, func(t *testing.T, im *Implementation) {
		rng := rand.New(rand.NewPCG(45, 46))
		for _, cols := range []int{1, 3, 7, 8, 9, 10, 15, 16, 17, 31, 32, 100} {
			for _, rows := range []int{8, 17, 24} {
				x := shortBatch(rng, rows, cols)
				if rows == 17 {
					copy(x[9*cols:], shortSpecials[0].row(rng, cols))
				}
				want := make([]float32, len(x))
				generic.SoftmaxRows(want, x, cols)
				checkOffsets(t, x, want, func(dst, src []float32) { im.SoftmaxRows(dst, src, cols) }, nil)
			}
			if t.Failed() {
				return
			}
		}
	})
}

// TestGuardShortRows places batches of short rows against inaccessible
// pages, on every implementation: the last row's last element is the
// last before the page, or the first row's first the first after one.
func TestGuardShortRows(t *testing.T) {
	forEachImpl(t, func(t *testing.T, im *Implementation) {
		rng := rand.New(rand.NewPCG(47, 48))
		for _, cols := range shortColsTested() {
			for _, rows := range []int{8, 9, 16, 23} {
				x := shortBatch(rng, rows, cols)
				if rows == 23 {
					copy(x[3*cols:], shortSpecials[6].row(rng, cols)) // max > 208
				}
				want := make([]float32, len(x))
				generic.SoftmaxRows(want, x, cols)
				checkGuards(t, x, want, func(dst, src []float32) { im.SoftmaxRows(dst, src, cols) }, nil)
			}
		}
	})
}
