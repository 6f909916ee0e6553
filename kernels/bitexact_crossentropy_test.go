package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// CrossEntropy and CrossEntropyRows on every SIMD implementation against
// generic, bit for bit, loss and gradient, with the gradient out of place,
// in place (grad = logits) and nil (see bitexact_test.go for the shared
// helpers and bitexact_softmax_test.go for softmaxInput).

// compareLoss fails t if got and want, two losses, differ in any bit.
func compareLoss(t *testing.T, what string, got, want float32) {
	t.Helper()
	if math.Float32bits(got) != math.Float32bits(want) {
		t.Errorf("%s: loss = %v (%#08x), generic %v (%#08x)",
			what, got, math.Float32bits(got), want, math.Float32bits(want))
	}
}

// ceTargets returns the targets a row of n logits is tested at: the first,
// the last and the middle element, and a random one.
func ceTargets(rng *rand.Rand, n int) []int {
	return []int{0, n - 1, n / 2, rng.IntN(n)}
}

// checkCrossEntropy compares im's CrossEntropy of the row x at target with
// generic's: the gradient out of place and in place, and the loss of
// those calls and of a call with a nil gradient.
func checkCrossEntropy(t *testing.T, what string, im *Implementation, x []float32, target int) {
	t.Helper()
	what = fmt.Sprintf("%s, target %d", what, target)
	want := make([]float32, len(x))
	wantLoss := generic.CrossEntropy(want, x, target)
	got := make([]float32, len(x))
	compareLoss(t, what, im.CrossEntropy(got, x, target), wantLoss)
	compareBits(t, what, x, want, got)
	y := append([]float32(nil), x...)
	compareLoss(t, what+", in place", im.CrossEntropy(y, y, target), wantLoss)
	compareBits(t, what+", in place", x, want, y)
	compareLoss(t, what+", nil grad", im.CrossEntropy(nil, x, target), wantLoss)
}

// checkCrossEntropyRows compares im's CrossEntropyRows of the batch x with
// generic's, as checkCrossEntropy does for one row.
func checkCrossEntropyRows(t *testing.T, what string, im *Implementation, x []float32, targets []int32, cols int) {
	t.Helper()
	want := make([]float32, len(x))
	wantLoss := generic.CrossEntropyRows(want, x, targets, cols)
	got := make([]float32, len(x))
	compareLoss(t, what, im.CrossEntropyRows(got, x, targets, cols), wantLoss)
	compareBits(t, what, x, want, got)
	y := append([]float32(nil), x...)
	compareLoss(t, what+", in place", im.CrossEntropyRows(y, y, targets, cols), wantLoss)
	compareBits(t, what+", in place", x, want, y)
	compareLoss(t, what+", nil grad", im.CrossEntropyRows(nil, x, targets, cols), wantLoss)
}

// ceBatch returns rows rows of cols logits, each from softmaxInput or
// specialRow (ordinary rows, far offsets, fully masked rows with and
// without a NaN, rows with a NaN or a +Inf), and their targets, a third
// of them at the first or last element; some rows get -Inf at the target.
func ceBatch(rng *rand.Rand, rows, cols int) ([]float32, []int32) {
	x := make([]float32, 0, rows*cols)
	targets := make([]int32, rows)
	for r := range targets {
		row := softmaxInput(rng, cols)
		if rng.IntN(3) == 0 {
			row = specialRow(rng, cols)
		}
		t := rng.IntN(cols)
		switch rng.IntN(6) {
		case 0:
			t = 0
		case 1:
			t = cols - 1
		}
		if rng.IntN(8) == 0 {
			row[t] = ninf
		}
		x = append(x, row...)
		targets[r] = int32(t)
	}
	return x, targets
}

func TestBitExactCrossEntropyLengths(t *testing.T) {
	forEachSIMD(t, func(t *testing.T, im *Implementation) {
		rng := rand.New(rand.NewPCG(41, 42))
		lengths := []int{4096, 32000, 128256, 1 << 20}
		for n := 1; n <= 300; n++ {
			lengths = append(lengths, n)
		}
		for _, n := range lengths {
			for rep := 0; rep < 4 && (rep == 0 || n <= 300); rep++ {
				x := softmaxInput(rng, n)
				for _, target := range ceTargets(rng, n) {
					checkCrossEntropy(t, fmt.Sprintf("n=%d rep %d", n, rep), im, x, target)
				}
			}
			if t.Failed() {
				return
			}
		}
		// An empty batch.
		compareLoss(t, "empty batch", im.CrossEntropyRows(nil, nil, nil, 3), 0)
	})
}

// TestBitExactCrossEntropyRows checks batches of every row length up to
// 70 and some longer ones, with rows of every kind in every order (the
// kernels fill special rows and compute the loss of finite ones apart),
// and a batch of many short rows, whose mean runs over 26214 losses.
func TestBitExactCrossEntropyRows(t *testing.T) {
	forEachSIMD(t, func(t *testing.T, im *Implementation) {
		rng := rand.New(rand.NewPCG(43, 44))
		cols := []int{100, 127, 128, 129, 255, 256, 1000}
		for c := 1; c <= 70; c++ {
			cols = append(cols, c)
		}
		for _, c := range cols {
			for rep := 0; rep < 8; rep++ {
				rows := 1 + rng.IntN(20)
				x, targets := ceBatch(rng, rows, c)
				checkCrossEntropyRows(t, fmt.Sprintf("%dx%d rep %d", rows, c, rep), im, x, targets, c)
			}
			if t.Failed() {
				return
			}
		}
		// Ordinary rows, whose losses, from about 0 to 100, give a finite
		// mean that depends on the order of the sum.
		for _, c := range []int{10, 100} {
			rows := (1 << 18) / c
			var x []float32
			targets := make([]int32, rows)
			for r := range targets {
				x = append(x, normalRow(rng, c, []float64{1, 4, 16}[r%3], 0)...)
				targets[r] = int32(rng.IntN(c))
			}
			checkCrossEntropyRows(t, fmt.Sprintf("%dx%d", rows, c), im, x, targets, c)
		}
	})
}

// TestBitExactCrossEntropyOrder checks that the losses are added in row
// order. One row's loss is B = 2^54 + 2^30, exactly (the row {2^54, -2^30}
// at its second element), and the others' ln 2 ({0, 0}): added to B one
// by one, each is lost (half an ulp of B is 2), but three or more added
// first come to more than 2 and move the total to B + 4. With 8, 16 or 32
// rows, B/rows lies halfway between two float32s, so that the mean rounds
// differently for every such difference.
func TestBitExactCrossEntropyOrder(t *testing.T) {
	forEachSIMD(t, func(t *testing.T, im *Implementation) {
		for _, rows := range []int{8, 16, 32} {
			for big := 0; big < rows; big++ {
				x := make([]float32, 2*rows)
				targets := make([]int32, rows)
				x[2*big], x[2*big+1], targets[big] = 1<<54, -1<<30, 1
				checkCrossEntropyRows(t, fmt.Sprintf("%d rows, B at %d", rows, big), im, x, targets, 2)
			}
		}
	})
}

// TestBitExactCrossEntropySpecials puts a special value at every position
// of rows of lengths around the vector and block sizes, at and away from
// the target; and checks rows full of -Inf (with a NaN or a +Inf or not),
// of NaN, of +Inf, and of the largest finite magnitudes.
func TestBitExactCrossEntropySpecials(t *testing.T) {
	forEachSIMD(t, func(t *testing.T, im *Implementation) {
		rng := rand.New(rand.NewPCG(45, 46))
		for _, n := range []int{1, 5, 16, 17, 64, 65, 79} {
			for _, s := range []float32{nan, inf, ninf, negZero, math.MaxFloat32, -math.MaxFloat32, 1e30, -1e30} {
				for pos := 0; pos < n; pos++ {
					x := softmaxInput(rng, n)
					x[pos] = s
					what := fmt.Sprintf("n=%d, %v at %d", n, s, pos)
					checkCrossEntropy(t, what, im, x, pos)
					checkCrossEntropy(t, what, im, x, (pos+n/2)%n)
				}
			}
			fills := []struct {
				name string
				v    func(i int) float32
			}{
				{"-Inf", func(int) float32 { return ninf }},
				{"NaN", func(int) float32 { return nan }},
				{"+Inf", func(int) float32 { return inf }},
				{"MaxFloat32", func(int) float32 { return math.MaxFloat32 }},
				{"-MaxFloat32", func(int) float32 { return -math.MaxFloat32 }},
				{"±MaxFloat32", func(i int) float32 { return math.MaxFloat32 * float32(1-2*(i%2)) }},
				{"±1e30", func(i int) float32 { return float32(1e30 * float64(1-2*(i%3%2))) }},
			}
			for _, f := range fills {
				x := make([]float32, n)
				for i := range x {
					x[i] = f.v(i)
				}
				for _, target := range ceTargets(rng, n) {
					checkCrossEntropy(t, fmt.Sprintf("n=%d all %s", n, f.name), im, x, target)
				}
			}
			// Fully masked but for one NaN, +Inf or finite value.
			for _, s := range []float32{nan, inf, 0, -1e30} {
				x := make([]float32, n)
				for i := range x {
					x[i] = ninf
				}
				for pos := 0; pos < n; pos++ {
					x[pos] = s
					what := fmt.Sprintf("n=%d masked, %v at %d", n, s, pos)
					checkCrossEntropy(t, what, im, x, pos)
					checkCrossEntropy(t, what, im, x, (pos+1)%n)
					x[pos] = ninf
				}
			}
			if t.Failed() {
				return
			}
		}
	})
}

// TestBitExactCrossEntropyOffsets slices logits and gradient at every
// offset within 64 bytes and checks that nothing around the gradient is
// written; the loss with a nil gradient at every logits offset too.
func TestBitExactCrossEntropyOffsets(t *testing.T) {
	forEachSIMD(t, func(t *testing.T, im *Implementation) {
		rng := rand.New(rand.NewPCG(47, 48))
		for _, n := range []int{1, 3, 15, 16, 17, 31, 33, 63, 64, 65, 100, 129, 300} {
			x := softmaxInput(rng, n)
			target := rng.IntN(n)
			want := make([]float32, n)
			wantLoss := generic.CrossEntropy(want, x, target)
			ce := func(grad, logits []float32) {
				compareLoss(t, fmt.Sprintf("n=%d target %d", n, target), im.CrossEntropy(grad, logits, target), wantLoss)
			}
			lossOnly := func(what string, logits []float32) {
				compareLoss(t, what+", nil grad", im.CrossEntropy(nil, logits, target), wantLoss)
			}
			checkOffsets(t, x, want, ce, lossOnly)
			if t.Failed() {
				return
			}
		}
	})
}

// TestGuardCrossEntropy places logits and gradient against inaccessible
// pages, for every length 0..300, on every implementation: one row at a
// time, and as a batch of rows of 1 to 17 elements, out of place, in place
// and with a nil gradient.
func TestGuardCrossEntropy(t *testing.T) {
	forEachImpl(t, func(t *testing.T, im *Implementation) {
		rng := rand.New(rand.NewPCG(49, 50))
		for n := 0; n <= 300; n++ {
			// One row up to 17 elements, then batches of rows that
			// make up n elements, or nearly.
			cols, rows := max(1, n), min(1, n)
			if n > 17 {
				cols = 1 + rng.IntN(17)
				rows = n / cols
			}
			x, targets := ceBatch(rng, rows, cols)
			want := make([]float32, len(x))
			wantLoss := generic.CrossEntropyRows(want, x, targets, cols)
			what := fmt.Sprintf("%dx%d", rows, cols)
			ce := func(grad, logits []float32) {
				if rows == 1 {
					compareLoss(t, what+", CrossEntropy", im.CrossEntropy(grad, logits, int(targets[0])), wantLoss)
					return
				}
				compareLoss(t, what, im.CrossEntropyRows(grad, logits, targets, cols), wantLoss)
			}
			lossOnly := func(where string, logits []float32) {
				compareLoss(t, where+", nil grad", im.CrossEntropyRows(nil, logits, targets, cols), wantLoss)
				if rows == 1 {
					compareLoss(t, where+", CrossEntropy nil grad", im.CrossEntropy(nil, logits, int(targets[0])), wantLoss)
				}
			}
			checkGuards(t, x, want, ce, lossOnly)
		}
	})
}
