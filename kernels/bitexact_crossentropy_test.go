package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// CrossEntropy and CrossEntropyRows on every SIMD implementation against
// generic, bit for bit: the loss and the gradient, with the gradient out
// of place, in place (grad = logits) and absent (grad = nil). See
// bitexact_test.go for the shared helpers and bitexact_softmax_test.go for
// softmaxInput.

// ceInput returns rows rows of cols logits and a target for each: rows of
// softmaxInput and specialRow, with the target's logit sometimes -Inf, NaN
// or +Inf.
func ceInput(rng *rand.Rand, rows, cols int) ([]float32, []int32) {
	x := make([]float32, 0, rows*cols)
	targets := make([]int32, rows)
	for r := range targets {
		var row []float32
		if rng.IntN(4) == 0 {
			row = specialRow(rng, cols)
		} else {
			row = softmaxInput(rng, cols)
		}
		targets[r] = int32(rng.IntN(cols))
		if rng.IntN(8) == 0 {
			row[targets[r]] = []float32{ninf, nan, inf}[rng.IntN(3)]
		}
		x = append(x, row...)
	}
	return x, targets
}

// compareLoss fails t if got and want differ in any bit.
func compareLoss(t *testing.T, what string, want, got float32) {
	t.Helper()
	if math.Float32bits(want) != math.Float32bits(got) {
		t.Errorf("%s: loss %v (%#08x), generic %v (%#08x)", what, got, math.Float32bits(got), want, math.Float32bits(want))
	}
}

// checkCrossEntropy compares im with generic on the rows of x: with
// CrossEntropyRows out of place, in place and without a gradient, and
// with CrossEntropy for a single row.
func checkCrossEntropy(t *testing.T, what string, im *Implementation, x []float32, targets []int32, cols int) {
	t.Helper()
	want := make([]float32, len(x))
	wantLoss := generic.CrossEntropyRows(want, x, targets, cols)

	got := make([]float32, len(x))
	compareLoss(t, what, wantLoss, im.CrossEntropyRows(got, x, targets, cols))
	compareBits(t, what, x, want, got)
	compareLoss(t, what+", no grad", wantLoss, im.CrossEntropyRows(nil, x, targets, cols))
	in := append([]float32(nil), x...)
	compareLoss(t, what+", in place", wantLoss, im.CrossEntropyRows(in, in, targets, cols))
	compareBits(t, what+", in place", x, want, in)

	if len(targets) == 1 {
		target := int(targets[0])
		wantLoss = generic.CrossEntropy(want, x, target)
		compareLoss(t, what+", CrossEntropy", wantLoss, im.CrossEntropy(got, x, target))
		compareBits(t, what+", CrossEntropy", x, want, got)
		compareLoss(t, what+", CrossEntropy no grad", wantLoss, im.CrossEntropy(nil, x, target))
		copy(in, x)
		compareLoss(t, what+", CrossEntropy in place", wantLoss, im.CrossEntropy(in, in, target))
		compareBits(t, what+", CrossEntropy in place", x, want, in)
	}
}

func TestBitExactCrossEntropyLengths(t *testing.T) {
	forEachSIMD(t, func(t *testing.T, im *Implementation) {
		rng := rand.New(rand.NewPCG(41, 42))
		lengths := []int{1000, 4096, 32000, 128256}
		for n := 1; n <= 300; n++ {
			lengths = append(lengths, n)
		}
		for _, n := range lengths {
			for rep := 0; rep < 4 && (rep == 0 || n <= 300); rep++ {
				x, targets := ceInput(rng, 1, n)
				checkCrossEntropy(t, fmt.Sprintf("n=%d rep %d", n, rep), im, x, targets, n)
			}
			if t.Failed() {
				return
			}
		}
	})
}

// TestBitExactCrossEntropyRows checks batches of every row length up to 70
// and some longer ones, with special rows among ordinary ones: the mean
// adds the rows' losses in row order.
func TestBitExactCrossEntropyRows(t *testing.T) {
	forEachSIMD(t, func(t *testing.T, im *Implementation) {
		rng := rand.New(rand.NewPCG(43, 44))
		cols := []int{100, 127, 128, 129, 255, 256, 1000}
		for c := 1; c <= 70; c++ {
			cols = append(cols, c)
		}
		for _, c := range cols {
			rows := 1 + rng.IntN(9)
			x, targets := ceInput(rng, rows, c)
			checkCrossEntropy(t, fmt.Sprintf("%dx%d", rows, c), im, x, targets, c)
			if t.Failed() {
				return
			}
		}
	})
}

// TestBitExactCrossEntropySpecials puts a special value at every position
// of rows of lengths around the vector and block sizes, for every target.
func TestBitExactCrossEntropySpecials(t *testing.T) {
	forEachSIMD(t, func(t *testing.T, im *Implementation) {
		rng := rand.New(rand.NewPCG(45, 46))
		for _, n := range []int{1, 5, 16, 17, 65} {
			for _, s := range []float32{nan, inf, ninf, -0.0, math.MaxFloat32, -1e30} {
				for pos := 0; pos < n; pos++ {
					x := softmaxInput(rng, n)
					x[pos] = s
					target := []int32{int32(rng.IntN(n))}
					if rng.IntN(2) == 0 {
						target[0] = int32(pos)
					}
					checkCrossEntropy(t, fmt.Sprintf("n=%d, %v at %d, target %d", n, s, pos, target[0]), im, x, target, n)
				}
			}
			// Fully masked.
			x := make([]float32, n)
			for i := range x {
				x[i] = ninf
			}
			checkCrossEntropy(t, fmt.Sprintf("n=%d masked", n), im, x, []int32{int32(n - 1)}, n)
			if t.Failed() {
				return
			}
		}
	})
}

// TestGuardCrossEntropy places logits and grad against inaccessible pages
// (each at the end or the start of one), for every length 1..300, on every
// implementation, out of place, in place and without a gradient.
func TestGuardCrossEntropy(t *testing.T) {
	places := []struct {
		name string
		row  func(testing.TB, int) []float32
	}{{"end", endAtGuard}, {"start", startAfterGuard}}
	forEachImpl(t, func(t *testing.T, im *Implementation) {
		rng := rand.New(rand.NewPCG(47, 48))
		for n := 1; n <= 300; n++ {
			x, targets := ceInput(rng, 1, n)
			want := make([]float32, n)
			wantLoss := generic.CrossEntropy(want, x, int(targets[0]))
			for c := 0; c < 4; c++ {
				pl, pg := places[c&1], places[c>>1]
				logits, grad := pl.row(t, n), pg.row(t, n)
				copy(logits, x)
				what := fmt.Sprintf("n=%d, logits at %s, grad at %s of a page", n, pl.name, pg.name)
				var loss float32
				catchFault(t, what, func() { loss = im.CrossEntropyRows(grad, logits, targets, n) })
				compareLoss(t, what, wantLoss, loss)
				compareBits(t, what, x, want, grad)
				catchFault(t, what+", no grad", func() { loss = im.CrossEntropyRows(nil, logits, targets, n) })
				compareLoss(t, what+", no grad", wantLoss, loss)
				catchFault(t, what+", in place", func() { loss = im.CrossEntropy(logits, logits, int(targets[0])) })
				compareLoss(t, what+", in place", wantLoss, loss)
				compareBits(t, what+", in place", x, want, logits)
			}
		}
	})
}
