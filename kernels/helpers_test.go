package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// forEachImpl runs f once for every implementation this CPU runs, as a
// subtest named after it.
func forEachImpl(t *testing.T, f func(t *testing.T, im *Implementation)) {
	t.Helper()
	for _, im := range Implementations() {
		t.Run(im.Name(), func(t *testing.T) { f(t, im) })
	}
}

var (
	inf  = float32(math.Inf(1))
	ninf = float32(math.Inf(-1))
	nan  = float32(math.NaN())
	// negZero is -0: the literal -0.0 is +0 in Go.
	negZero = float32(math.Copysign(0, -1))
)

// normalRow returns n values from N(off, std^2), rounded to float32.
func normalRow(rng *rand.Rand, n int, std, off float64) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(rng.NormFloat64()*std + off)
	}
	return x
}

// uniformRow returns n values uniform in [lo, hi).
func uniformRow(rng *rand.Rand, n int, lo, hi float64) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(lo + (hi-lo)*rng.Float64())
	}
	return x
}

// randomCase is one random row of the accuracy tests.
type randomCase struct {
	group, name string
	x           []float32
}

// randomCases returns batches of rows of every length 0..300, each batch at
// least 1024 elements, over a spread of scales and offsets (std 1, 4, 16;
// offsets 0, ±300, ±1e4, ±1e30; a third -Inf in some), and rows of the
// longer lengths of the golden corpus.
func randomCases(seed uint64) []randomCase {
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	stds := []float64{1, 4, 16}
	offs := []float64{0, 1e4, -1e4, 1e30, -1e30, 300, -300}
	var cs []randomCase
	for n := 0; n <= 300; n++ {
		std, off := stds[n%3], offs[n%len(offs)]
		group := fmt.Sprintf("n=%d std=%g off=%g", n, std, off)
		for r := 0; r*n < 1024 && r < 64; r++ {
			x := normalRow(rng, n, std, off)
			if n%5 == 4 {
				for i := 0; i < n; i += 3 {
					x[i] = ninf
				}
			}
			cs = append(cs, randomCase{group, fmt.Sprintf("%s row %d", group, r), x})
		}
	}
	for _, n := range []int{1000, 4096, 32000, 128256} {
		for _, std := range stds {
			name := fmt.Sprintf("n=%d std=%g", n, std)
			cs = append(cs, randomCase{name, name, normalRow(rng, n, std, 0)})
		}
	}
	cs = append(cs, randomCase{"pm80", "uniform(-80, 80)", uniformRow(rng, 1031, -80, 80)})
	cs = append(cs, randomCase{"cutoff", "uniform(-110, 0)", uniformRow(rng, 1031, -110, 0)})
	return cs
}

// bitsEqual reports whether a and b hold the same bits, and the first
// index where they differ.
func bitsEqual(a, b []float32) (int, bool) {
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return i, false
		}
	}
	return -1, true
}

func newRand() *rand.Rand { return rand.New(rand.NewPCG(11, 12)) }

// rowOfAnyKind returns a row of c elements of one of the kinds of
// TestBitExactSoftmaxRowsSpecials, drawn at random: N(0, 4) around an
// offset that makes c 0 or the max, then in one case of four a NaN or
// +Inf somewhere, all -Inf (with a NaN in one case of three), or mostly
// -Inf.
func rowOfAnyKind(rng *rand.Rand, c int) []float32 {
	x := make([]float32, c)
	off := []float64{0, 3, -50, 250, -250, 1e4, -1e30}[rng.IntN(7)]
	for i := range x {
		x[i] = float32(rng.NormFloat64()*4 + off)
	}
	switch rng.IntN(8) {
	case 0:
		x[rng.IntN(c)] = nan
	case 1:
		x[rng.IntN(c)] = inf
	case 2, 3:
		for i := range x {
			if i != 0 || rng.IntN(2) == 0 {
				x[i] = ninf
			}
		}
		if rng.IntN(3) == 0 {
			x[rng.IntN(c)] = nan
		}
	case 4:
		for i := range x {
			if rng.IntN(4) != 0 {
				x[i] = ninf
			}
		}
	}
	return x
}

// rowsOfAnyKind returns rows rows of c elements, each drawn by
// rowOfAnyKind, one after the other.
func rowsOfAnyKind(rng *rand.Rand, rows, c int) []float32 {
	x := make([]float32, 0, rows*c)
	for r := 0; r < rows; r++ {
		x = append(x, rowOfAnyKind(rng, c)...)
	}
	return x
}
