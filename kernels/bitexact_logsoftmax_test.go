package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// LogSoftmax, LogSoftmaxRows and LogSumExp on every SIMD implementation
// against generic, bit for bit (see bitexact_test.go for the shared
// helpers and bitexact_softmax_test.go for softmaxInput).

func genericLogSoftmax(x []float32) []float32 {
	y := make([]float32, len(x))
	generic.LogSoftmax(y, x)
	return y
}

// compareLogSumExp fails t if im's LogSumExp of x differs in any bit from
// generic's.
func compareLogSumExp(t *testing.T, what string, im *Implementation, x []float32) {
	t.Helper()
	want, got := generic.LogSumExp(x), im.LogSumExp(x)
	if math.Float32bits(want) != math.Float32bits(got) {
		t.Errorf("%s: LogSumExp = %v (%#08x), generic %v (%#08x)",
			what, got, math.Float32bits(got), want, math.Float32bits(want))
	}
}

func TestBitExactLogSoftmaxLengths(t *testing.T) {
	forEachSIMD(t, func(t *testing.T, im *Implementation) {
		rng := rand.New(rand.NewPCG(21, 22))
		lengths := []int{1000, 4096, 32000, 128256, 1 << 20}
		for n := 0; n <= 300; n++ {
			lengths = append(lengths, n)
		}
		for _, n := range lengths {
			for rep := 0; rep < 6 && (rep == 0 || n <= 300); rep++ {
				x := softmaxInput(rng, n)
				what := fmt.Sprintf("n=%d rep %d", n, rep)
				want := genericLogSoftmax(x)
				got := make([]float32, n)
				im.LogSoftmax(got, x)
				compareBits(t, what, x, want, got)
				compareLogSumExp(t, what, im, x)
				y := append([]float32(nil), x...)
				im.LogSoftmax(y, y)
				compareBits(t, what+", in place", x, want, y)
			}
			if t.Failed() {
				return
			}
		}
	})
}

// TestBitExactLogSoftmaxRows checks batches of every row length up to 70
// and some longer ones, rows of mixed kinds (special rows among ordinary
// ones), out of place and in place, and LogSumExp of each row.
func TestBitExactLogSoftmaxRows(t *testing.T) {
	forEachSIMD(t, func(t *testing.T, im *Implementation) {
		rng := rand.New(rand.NewPCG(23, 24))
		cols := []int{100, 127, 128, 129, 255, 256, 1000}
		for c := 1; c <= 70; c++ {
			cols = append(cols, c)
		}
		for _, c := range cols {
			rows := 1 + rng.IntN(9)
			x := make([]float32, 0, rows*c)
			for r := 0; r < rows; r++ {
				x = append(x, softmaxInput(rng, c)...)
			}
			want := make([]float32, len(x))
			generic.LogSoftmaxRows(want, x, c)
			got := make([]float32, len(x))
			im.LogSoftmaxRows(got, x, c)
			compareBits(t, fmt.Sprintf("%dx%d", rows, c), x, want, got)
			y := append([]float32(nil), x...)
			im.LogSoftmaxRows(y, y, c)
			compareBits(t, fmt.Sprintf("%dx%d in place", rows, c), x, want, y)
			for r := 0; r < rows; r++ {
				compareLogSumExp(t, fmt.Sprintf("%dx%d row %d", rows, c, r), im, x[r*c:(r+1)*c])
			}
			if t.Failed() {
				return
			}
		}
	})
}

// specialRow returns a row of n elements of one of the kinds the row
// kernels treat apart: ordinary, offset far from 0, fully masked, masked
// with a NaN, with a NaN, with a +Inf.
func specialRow(rng *rand.Rand, n int) []float32 {
	x := normalRow(rng, n, 4, 0)
	switch rng.IntN(6) {
	case 1:
		x = normalRow(rng, n, 4, 1e4)
	case 2, 3:
		for i := range x {
			x[i] = ninf
		}
		if rng.IntN(2) == 0 {
			x[rng.IntN(n)] = nan
		}
	case 4:
		x[rng.IntN(n)] = nan
	case 5:
		x[rng.IntN(n)] = inf
	}
	return x
}

// TestBitExactLogSoftmaxRowKinds runs batches whose rows switch between
// ordinary and special ones in every order: the kernels put off the last
// pass of a finite row until the next finite row or the end of the batch,
// and fill special rows at once.
func TestBitExactLogSoftmaxRowKinds(t *testing.T) {
	forEachSIMD(t, func(t *testing.T, im *Implementation) {
		rng := rand.New(rand.NewPCG(33, 34))
		for _, c := range []int{1, 2, 7, 16, 17, 33, 64, 100} {
			for rep := 0; rep < 60; rep++ {
				rows := 1 + rng.IntN(6)
				var x []float32
				for r := 0; r < rows; r++ {
					x = append(x, specialRow(rng, c)...)
				}
				want := make([]float32, len(x))
				generic.LogSoftmaxRows(want, x, c)
				got := make([]float32, len(x))
				im.LogSoftmaxRows(got, x, c)
				compareBits(t, fmt.Sprintf("%dx%d rep %d", rows, c, rep), x, want, got)
				y := append([]float32(nil), x...)
				im.LogSoftmaxRows(y, y, c)
				compareBits(t, fmt.Sprintf("%dx%d rep %d in place", rows, c, rep), x, want, y)
				if t.Failed() {
					return
				}
			}
		}
	})
}

// TestBitExactLogSoftmaxSpecials puts a special value at every position of
// rows of lengths around the vector and block sizes, and checks fully
// masked rows with and without a NaN, a +Inf, or both.
func TestBitExactLogSoftmaxSpecials(t *testing.T) {
	forEachSIMD(t, func(t *testing.T, im *Implementation) {
		rng := rand.New(rand.NewPCG(25, 26))
		for _, n := range []int{1, 5, 16, 17, 64, 65, 79} {
			for _, s := range []float32{nan, inf, ninf, negZero, math.MaxFloat32, -math.MaxFloat32, 1e30, -1e30} {
				for pos := 0; pos < n; pos++ {
					x := softmaxInput(rng, n)
					x[pos] = s
					what := fmt.Sprintf("n=%d, %v at %d", n, s, pos)
					got := make([]float32, n)
					im.LogSoftmax(got, x)
					compareBits(t, what, x, genericLogSoftmax(x), got)
					compareLogSumExp(t, what, im, x)
				}
			}
			// Fully masked, with one NaN or +Inf, or both.
			for _, s := range [][]float32{{nan}, {inf}, {nan, inf}, {inf, nan}} {
				x := make([]float32, n)
				for i := range x {
					x[i] = ninf
				}
				for pos := -1; pos < n; pos++ {
					if pos >= 0 {
						for k, v := range s {
							x[(pos+k*n/2)%n] = v
						}
					}
					what := fmt.Sprintf("n=%d masked, %v at %d", n, s, pos)
					got := make([]float32, n)
					im.LogSoftmax(got, x)
					compareBits(t, what, x, genericLogSoftmax(x), got)
					compareLogSumExp(t, what, im, x)
					if pos >= 0 {
						for k := range s {
							x[(pos+k*n/2)%n] = ninf
						}
					}
				}
			}
			// Rows of +Inf and finite values, with and without a NaN.
			for pos := 0; pos < n; pos++ {
				x := softmaxInput(rng, n)
				for i := range x {
					if x[i] != x[i] {
						x[i] = 0
					}
				}
				x[pos] = inf
				compareLogSumExp(t, fmt.Sprintf("n=%d, +Inf at %d", n, pos), im, x)
				x[(pos+n/2)%n] = nan
				compareLogSumExp(t, fmt.Sprintf("n=%d, +Inf at %d, NaN at %d", n, pos, (pos+n/2)%n), im, x)
			}
			if t.Failed() {
				return
			}
		}
		compareLogSumExp(t, "empty", im, nil)
		compareLogSumExp(t, "empty", im, []float32{})
	})
}

// TestBitExactLogSumExpSums runs rows whose sum S takes many values, from
// 1 to above 2^17, so that log64 sees mantissas on both sides of sqrt2 and
// many exponents: n equal elements give S = n*(1 + u), exactly n for
// zeros, and one element more, far below the others, moves S by a few
// float64 ulps; and rows of two elements, whose S runs densely over (1, 3).
func TestBitExactLogSumExpSums(t *testing.T) {
	forEachSIMD(t, func(t *testing.T, im *Implementation) {
		rng := rand.New(rand.NewPCG(27, 28))
		var lengths []int
		for k := 0; k <= 16; k++ {
			for _, f := range []float64{1, 1.41421, 1.41422, 1.5, 1.99} {
				if n := int(f * float64(int(1)<<k)); n >= 1 {
					lengths = append(lengths, n, n+1)
				}
			}
		}
		for _, n := range lengths {
			// Long rows test the large exponents, with fewer variants.
			offs, tinies := []float32{0, 5, -5, 300, -300, 1e30}, []float32{ninf, -20, -30, -0.5, 0.25}
			if n > 4096 {
				offs, tinies = []float32{0, -300}, []float32{-20, 0.25}
			}
			x := make([]float32, n+1)
			for _, off := range offs {
				for i := range x[:n] {
					x[i] = off
				}
				for _, tiny := range tinies {
					x[n] = off + tiny
					what := fmt.Sprintf("%d x %v and %v", n, off, off+tiny)
					compareLogSumExp(t, what, im, x)
					if n <= 4096 {
						got := make([]float32, n+1)
						im.LogSoftmax(got, x)
						compareBits(t, what, x, genericLogSoftmax(x), got)
					}
				}
			}
			// Random rows of this length, of one scale.
			for rep := 0; rep < 3 && n <= 1<<14; rep++ {
				std := []float64{0.01, 1, 10}[rep]
				y := normalRow(rng, n, std, 0)
				compareLogSumExp(t, fmt.Sprintf("n=%d N(0, %v)", n, std), im, y)
			}
			if t.Failed() {
				return
			}
		}
		// Rows {0, y}: S = 1 + exp(y) runs densely over (1, 3), through
		// sqrt2 and 2, and over ulps of S near 1 for y far below 0.
		for k := 0; k < 20000; k++ {
			y := float32(-25 + 26*rng.Float64())
			x := []float32{0, y}
			compareLogSumExp(t, fmt.Sprintf("{0, %v}", y), im, x)
			got := make([]float32, 2)
			im.LogSoftmax(got, x)
			compareBits(t, fmt.Sprintf("{0, %v}", y), x, genericLogSoftmax(x), got)
			if t.Failed() {
				return
			}
		}
	})
}

// TestBitExactLogSoftmaxOffsets slices input and output at every offset
// within 64 bytes and checks that nothing around the output is written.
func TestBitExactLogSoftmaxOffsets(t *testing.T) {
	forEachSIMD(t, func(t *testing.T, im *Implementation) {
		rng := rand.New(rand.NewPCG(29, 30))
		for _, n := range []int{1, 3, 15, 16, 17, 31, 33, 63, 64, 65, 100, 129, 300} {
			x := softmaxInput(rng, n)
			lse := func(what string, src []float32) { compareLogSumExp(t, what, im, src) }
			checkOffsets(t, x, genericLogSoftmax(x), im.LogSoftmax, lse)
			if t.Failed() {
				return
			}
		}
	})
}

// TestGuardLogSoftmax places rows against inaccessible pages, for every
// length 0..300, on every implementation: LogSoftmax out of place and in
// place, and LogSumExp.
func TestGuardLogSoftmax(t *testing.T) {
	forEachImpl(t, func(t *testing.T, im *Implementation) {
		rng := rand.New(rand.NewPCG(31, 32))
		for n := 0; n <= 300; n++ {
			x := softmaxInput(rng, n)
			lse := func(what string, src []float32) { compareLogSumExp(t, what+", LogSumExp", im, src) }
			checkGuards(t, x, genericLogSoftmax(x), im.LogSoftmax, lse)
		}
	})
}
