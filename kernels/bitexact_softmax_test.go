package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// Softmax and SoftmaxRows on every SIMD implementation against generic,
// bit for bit (see bitexact_test.go for the shared helpers).

// softmaxInput returns a row of n logits of one of several kinds: normal
// with a random scale and offset (small, ±300, ±1e4, ±1e30), uniform over
// the range where outputs underflow, rows with -Inf, rows at the float32
// extremes, and rows with special values in random places.
func softmaxInput(rng *rand.Rand, n int) []float32 {
	x := make([]float32, n)
	std := []float64{0.1, 1, 4, 16, 80}[rng.IntN(5)]
	off := []float64{0, 0, 3, 300, -300, 1e4, -1e4, 1e30, -1e30, 200, -220}[rng.IntN(11)]
	kind := rng.IntN(10)
	for i := range x {
		switch kind {
		case 0:
			x[i] = float32(-110 * rng.Float64())
		case 1:
			x[i] = float32(rng.NormFloat64()*std + off)
			if rng.IntN(3) == 0 {
				x[i] = ninf
			}
		case 2:
			x[i] = float32(math.MaxFloat32 * (2*rng.Float64() - 1))
		default:
			x[i] = float32(rng.NormFloat64()*std + off)
		}
	}
	if kind == 9 && n > 0 {
		x[rng.IntN(n)] = expSpecials[rng.IntN(len(expSpecials))]
	}
	return x
}

func genericSoftmax(x []float32) []float32 {
	y := make([]float32, len(x))
	generic.Softmax(y, x)
	return y
}

func TestBitExactSoftmaxLengths(t *testing.T) {
	forEachSIMD(t, func(t *testing.T, im *Implementation) {
		rng := rand.New(rand.NewPCG(11, 12))
		lengths := []int{1000, 4096, 32000, 128256, 1 << 20}
		for n := 0; n <= 300; n++ {
			lengths = append(lengths, n)
		}
		for _, n := range lengths {
			for rep := 0; rep < 6 && (rep == 0 || n <= 300); rep++ {
				x := softmaxInput(rng, n)
				want := genericSoftmax(x)
				got := make([]float32, n)
				im.Softmax(got, x)
				compareBits(t, fmt.Sprintf("n=%d rep %d", n, rep), x, want, got)
				y := append([]float32(nil), x...)
				im.Softmax(y, y)
				compareBits(t, fmt.Sprintf("n=%d rep %d, in place", n, rep), x, want, y)
			}
			if t.Failed() {
				return
			}
		}
	})
}

// checkSoftmaxRows compares im's SoftmaxRows of the rows of c columns in
// x with generic's, out of place and in place.
func checkSoftmaxRows(t *testing.T, im *Implementation, x []float32, rows, c int) {
	t.Helper()
	want := make([]float32, len(x))
	generic.SoftmaxRows(want, x, c)
	got := make([]float32, len(x))
	im.SoftmaxRows(got, x, c)
	compareBits(t, fmt.Sprintf("%dx%d", rows, c), x, want, got)
	y := append([]float32(nil), x...)
	im.SoftmaxRows(y, y, c)
	compareBits(t, fmt.Sprintf("%dx%d in place", rows, c), x, want, y)
}

// TestBitExactSoftmaxRows checks batches of every row length up to 70 and
// some longer ones, rows of mixed kinds (special rows among ordinary
// ones), out of place and in place.
func TestBitExactSoftmaxRows(t *testing.T) {
	forEachSIMD(t, func(t *testing.T, im *Implementation) {
		rng := rand.New(rand.NewPCG(13, 14))
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
			checkSoftmaxRows(t, im, x, rows, c)
			if t.Failed() {
				return
			}
		}
	})
}

// TestBitExactSoftmaxRowsSpecials checks batches of every row length up
// to 300 and some longer ones whose rows are of every kind in turn, in a
// random order: ordinary rows whose max is small (c = 0) or huge (c = max),
// rows with a NaN or +Inf anywhere, rows of -Inf with and without a NaN,
// and rows where most elements are -Inf. Kernels that work a row ahead or
// a row late must leave each row's bits as the fallback's, whatever its
// neighbours are; out of place and in place.
func TestBitExactSoftmaxRowsSpecials(t *testing.T) {
	forEachSIMD(t, func(t *testing.T, im *Implementation) {
		rng := rand.New(rand.NewPCG(19, 20))
		cols := []int{1000, 4096}
		for c := 1; c <= 300; c++ {
			cols = append(cols, c)
		}
		for _, c := range cols {
			rows := 2 + rng.IntN(14)
			if c > 300 {
				rows = 6
			}
			x := rowsOfAnyKind(rng, rows, c)
			checkSoftmaxRows(t, im, x, rows, c)
			if t.Failed() {
				return
			}
		}
	})
}

// TestBitExactSoftmaxSpecials puts a special value at every position of
// rows of lengths around the vector and block sizes, among them rows whose
// last block has 1 to 4 vectors.
func TestBitExactSoftmaxSpecials(t *testing.T) {
	forEachSIMD(t, func(t *testing.T, im *Implementation) {
		rng := rand.New(rand.NewPCG(15, 16))
		for _, n := range []int{1, 5, 16, 17, 50, 64, 65, 79, 100, 127} {
			for _, s := range []float32{nan, inf, ninf, negZero, math.MaxFloat32, -math.MaxFloat32, 1e30, -1e30} {
				for pos := 0; pos < n; pos++ {
					x := softmaxInput(rng, n)
					x[pos] = s
					want := genericSoftmax(x)
					got := make([]float32, n)
					im.Softmax(got, x)
					compareBits(t, fmt.Sprintf("n=%d, %v at %d", n, s, pos), x, want, got)
				}
			}
			// Fully masked, with and without one NaN.
			x := make([]float32, n)
			for i := range x {
				x[i] = ninf
			}
			for pos := -1; pos < n; pos++ {
				if pos >= 0 {
					x[pos] = nan
				}
				got := make([]float32, n)
				im.Softmax(got, x)
				compareBits(t, fmt.Sprintf("n=%d masked, NaN at %d", n, pos), x, genericSoftmax(x), got)
				if pos >= 0 {
					x[pos] = ninf
				}
			}
			if t.Failed() {
				return
			}
		}
	})
}

// TestBitExactSoftmaxOffsets slices input and output at every offset within
// 64 bytes and checks that nothing around the output is written.
func TestBitExactSoftmaxOffsets(t *testing.T) {
	forEachSIMD(t, func(t *testing.T, im *Implementation) {
		rng := rand.New(rand.NewPCG(17, 18))
		for _, n := range []int{1, 3, 15, 16, 17, 31, 33, 63, 64, 65, 100, 129, 300} {
			x := softmaxInput(rng, n)
			checkOffsets(t, x, genericSoftmax(x), im.Softmax, nil)
			if t.Failed() {
				return
			}
		}
	})
}

// TestGuardSoftmax places rows against inaccessible pages, for every length
// 0..300, on every implementation.
func TestGuardSoftmax(t *testing.T) {
	forEachImpl(t, func(t *testing.T, im *Implementation) {
		rng := rand.New(rand.NewPCG(19, 20))
		for n := 0; n <= 300; n++ {
			x := softmaxInput(rng, n)
			checkGuards(t, x, genericSoftmax(x), im.Softmax, nil)
		}
	})
}
