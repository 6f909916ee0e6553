//go:build !purego

package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/go-softmax/softmax/internal/asm"
)

// A ceKernels is the group kernels of an implementation: avx512's short
// and medium kernels, or avx2's short kernels (avx2 set).
type ceKernels struct {
	im   *Implementation
	avx2 bool
}

// ceKernelSets are the group kernels the tests run, where the CPU has them.
var ceKernelSets = []ceKernels{{avx512, false}, {avx2, true}}

// maxCols returns the longest row the kernels run.
func (k ceKernels) maxCols() int {
	if k.avx2 {
		return shortCols
	}
	return mediumCols
}

// forEachCEKernels runs f for each set of group kernels the CPU supports.
func forEachCEKernels(t *testing.T, f func(t *testing.T, k ceKernels)) {
	for _, k := range ceKernelSets {
		t.Run(k.im.Name(), func(t *testing.T) {
			if !k.im.supported() {
				t.Skip("not supported on this CPU")
			}
			f(t, k)
		})
	}
}

// ceRowLosses returns the float64 loss of each row of x, from the row
// kernel of k's implementation (CrossEntropyRowsAVX512 or
// CrossEntropyRowsAVX2) one row at a time (a total from +0 is the row's
// loss), whose losses the bit-exact tests hold to the fallback's.
func ceRowLosses(k ceKernels, x []float32, targets []int32, cols int) []float64 {
	l := make([]float64, len(targets))
	for r := range l {
		row := x[r*cols : (r+1)*cols]
		if k.avx2 {
			l[r] = asm.CrossEntropyRowsAVX2(nil, row, targets[r:r+1], 1, cols)
		} else {
			l[r] = asm.CrossEntropyRowsAVX512(nil, row, targets[r:r+1], 1, cols)
		}
	}
	return l
}

// ceGroup returns the rows of a group of the short or medium kernel for
// rows of cols elements.
func ceGroup(cols int) int {
	if cols > shortCols {
		return 4
	}
	return 8
}

// shortCEDone returns the number of rows the short or medium kernel of k
// must do: the whole groups before the first that holds a row with a NaN
// or whose max is infinite or beyond 208 in magnitude, or, for avx2's,
// whose loads (16 elements from the start of its last row) would pass the
// end of x.
func shortCEDone(k ceKernels, x []float32, cols int) int {
	rows := len(x) / cols
	n := ceGroup(cols)
	for r := 0; r < rows/n*n; r++ {
		if k.avx2 && r%n == 0 && len(x)-r*cols < 7*cols+shortCols {
			return r
		}
		m := float32(math.Inf(-1))
		for _, v := range x[r*cols : (r+1)*cols] {
			if v != v {
				return r / n * n
			}
			m = max(m, v)
		}
		if !(m <= 208 && m >= -208) {
			return r / n * n
		}
	}
	return rows / n * n
}

// checkShortCE runs the short kernel of k (or for cols > 16
// CrossEntropyMediumRowsAVX512) on the batch x with the gradient out of
// place and, for the short kernel, in place, and the form without a
// gradient, from the running total total0,
// and checks that it does the rows shortCEDone says, and want of them
// unless want < 0, that the gradient of those rows has generic's bits and the rest is
// untouched, and that the total is total0 plus each row's loss in row
// order, whose mean is generic's.
func checkShortCE(t *testing.T, k ceKernels, what string, x []float32, targets []int32, cols, want int, total0 float64) {
	t.Helper()
	rows := len(targets)
	if w := shortCEDone(k, x, cols); want < 0 {
		want = w
	} else if w != want {
		t.Fatalf("%s: the test expects %d rows done, the rule %d", what, want, w)
	}
	ref := make([]float32, len(x))
	wantMean := generic.CrossEntropyRows(ref, x, targets, cols)
	wantTotal := total0
	for _, l := range ceRowLosses(k, x[:want*cols], targets[:want], cols) {
		wantTotal += l
	}
	check := func(how string, got []float32, sentinel []float32, done int, total float64) {
		t.Helper()
		w := fmt.Sprintf("%s, %s", what, how)
		if done != want {
			t.Fatalf("%s: %d rows done, want %d", w, done, want)
		}
		if math.Float64bits(total) != math.Float64bits(wantTotal) && !(total != total && wantTotal != wantTotal) {
			t.Errorf("%s: total %v (%#x), want %v (%#x)", w, total, math.Float64bits(total), wantTotal, math.Float64bits(wantTotal))
		}
		if total0 == 0 && done > 0 {
			m := generic.CrossEntropyRows(nil, x[:done*cols], targets[:done], cols)
			compareLoss(t, w+", mean", roundLoss(total/float64(done)), m)
			if done == rows {
				compareLoss(t, w+", mean of all", roundLoss(total/float64(done)), wantMean)
			}
		}
		if got == nil {
			return
		}
		compareBits(t, w, x[:done*cols], ref[:done*cols], got[:done*cols])
		compareBits(t, w+", rows not done", x[done*cols:], sentinel[done*cols:], got[done*cols:])
	}
	kernel := func(dst, src []float32, targets []int32, rows, cols int, total float64) (int, float64) {
		return groupCE(k, dst, src, targets, rows, cols, total, true)
	}
	noGrad := func(dst, src []float32, targets []int32, rows, cols int, total float64) (int, float64) {
		return groupCE(k, dst, src, targets, rows, cols, total, false)
	}
	got := make([]float32, len(x))
	for i := range got {
		got[i] = 12345
	}
	sentinel := append([]float32(nil), got...)
	done, total := kernel(got, x, targets, rows, cols, total0)
	if cols > shortCols && done < rows/4*4 {
		// The medium kernel has written u into the group it left.
		n := done + 4
		sentinel = append(append([]float32(nil), ref[:n*cols]...), sentinel[n*cols:]...)
		copy(got[done*cols:n*cols], ref[done*cols:n*cols])
	}
	check("out of place", got, sentinel, done, total)
	if cols <= shortCols {
		y := append([]float32(nil), x...)
		done, total = kernel(y, y, targets, rows, cols, total0)
		check("in place", y, x, done, total)
	}
	done, total = noGrad(nil, x, targets, rows, cols, total0)
	check("nil grad", nil, nil, done, total)
}

// groupCE calls the short or medium kernel of k for cols, with a gradient
// or without one. The calls are direct: through a func value, a wrapper's
// frame would be added to the kernels' NOSPLIT stack.
func groupCE(k ceKernels, dst, src []float32, targets []int32, rows, cols int, total float64, grad bool) (int, float64) {
	switch {
	case k.avx2 && grad:
		return asm.CrossEntropyShortRowsAVX2(dst, src, targets, rows, cols, total)
	case k.avx2:
		return asm.CrossEntropyShortRowsNoGradAVX2(dst, src, targets, rows, cols, total)
	case cols <= shortCols && grad:
		return asm.CrossEntropyShortRowsAVX512(dst, src, targets, rows, cols, total)
	case cols <= shortCols:
		return asm.CrossEntropyShortRowsNoGradAVX512(dst, src, targets, rows, cols, total)
	case grad:
		return asm.CrossEntropyMediumRowsAVX512(dst, src, targets, rows, cols, total)
	}
	return asm.CrossEntropyMediumRowsNoGradAVX512(dst, src, targets, rows, cols, total)
}

// shortCEBatch returns rows rows of cols ordinary logits, whose maxima are
// well within 208, and their targets, a third at the first or last
// element.
func shortCEBatch(rng *rand.Rand, rows, cols int) ([]float32, []int32) {
	x := make([]float32, 0, rows*cols)
	targets := make([]int32, rows)
	for r := range targets {
		std := []float64{0.1, 1, 4, 16}[rng.IntN(4)]
		off := []float64{0, 0, 3, -50, 100, -120}[rng.IntN(6)]
		x = append(x, normalRow(rng, cols, std, off)...)
		targets[r] = int32(rng.IntN(cols))
		switch rng.IntN(6) {
		case 0:
			targets[r] = 0
		case 1:
			targets[r] = int32(cols - 1)
		}
	}
	return x, targets
}

// TestBitExactShortCrossEntropyKernel runs the group kernels directly
// (avx512's CrossEntropyShortRowsAVX512 and CrossEntropyMediumRowsAVX512,
// avx2's CrossEntropyShortRowsAVX2, and their forms without a gradient)
// on every row length they handle, with whole groups, tails of rows%8
// rows, groups they must leave (a special row), targets on a -Inf logit
// (loss +Inf) and maxima at the edge of 208.
func TestBitExactShortCrossEntropyKernel(t *testing.T) {
	forEachCEKernels(t, testShortCEKernel)
}

func testShortCEKernel(t *testing.T, k ceKernels) {
	rng := rand.New(rand.NewPCG(51, 52))
	for cols := 1; cols <= k.maxCols(); cols++ {
		for _, rows := range []int{0, 3, 4, 5, 8, 13, 16, 24, 31} {
			x, targets := shortCEBatch(rng, rows, cols)
			what := fmt.Sprintf("%dx%d", rows, cols)
			checkShortCE(t, k, what, x, targets, cols, -1, 0)
			checkShortCE(t, k, what+", total 0.1", x, targets, cols, -1, 0.1)
		}
		// A special row in the third group: the first two are done.
		for _, sp := range shortSpecials {
			x, targets := shortCEBatch(rng, 32, cols)
			n := ceGroup(cols)
			r := 2*n + rng.IntN(n)
			copy(x[r*cols:], sp.row(rng, cols))
			want := -1 // as shortCEDone says: the group may stay in the kernel
			switch sp.name {
			case "NaN", "NaN with a payload", "+Inf", "all -Inf", "all -Inf and NaN", "max > 208", "max < -208", "max 1e30":
				want = 2 * n
			}
			checkShortCE(t, k, fmt.Sprintf("32x%d, %s at row %d", cols, sp.name, r), x, targets, cols, want, 0)
		}
		// Targets on a -Inf logit in rows with a finite max: loss +Inf.
		if cols > 1 {
			x, targets := shortCEBatch(rng, 16, cols)
			for r := 0; r < 16; r += 3 {
				x[r*cols+int(targets[r])] = ninf
				if m := x[r*cols : (r+1)*cols]; slicesHaveNoFinite(m) {
					m[(int(targets[r])+1)%cols] = 1
				}
			}
			checkShortCE(t, k, fmt.Sprintf("16x%d, targets on -Inf", cols), x, targets, cols, -1, 0)
		}
		// Huge logits: beyond 208 the group is left, and with no max
		// that far but big negative logits elsewhere the group is done
		// (and the ordinary group after it, unless its loads would pass
		// the end).
		{
			x, targets := shortCEBatch(rng, 32, cols)
			for i := range x[:8*cols] {
				x[i] = float32(rng.NormFloat64()*1e30 - 3e38)
			}
			for i := 8 * cols; i < 16*cols; i += 2 {
				x[i] = -3e38
			}
			for r := 8; r < 16; r++ {
				x[r*cols+cols-1] = 0
			}
			checkShortCE(t, k, fmt.Sprintf("32x%d, huge", cols), x, targets, cols, 0, 0)
			want := 0
			for want < 24 && (!k.avx2 || (24-want)*cols >= 7*cols+shortCols) {
				want += ceGroup(cols)
			}
			if want < 8 {
				t.Fatalf("%d columns: no group of the finite-max rows runs", cols)
			}
			checkShortCE(t, k, fmt.Sprintf("24x%d, huge, finite max", cols), x[8*cols:], targets[8:], cols, want, 0)
		}
		if t.Failed() {
			return
		}
	}
}

// slicesHaveNoFinite reports whether every element of x is infinite or
// NaN.
func slicesHaveNoFinite(x []float32) bool {
	for _, v := range x {
		if !math.IsInf(float64(v), 0) && v == v {
			return false
		}
	}
	return true
}

// TestShortCrossEntropyKernelGuard runs the group kernels on batches
// whose logits and gradient end right before, or start right after, an
// inaccessible page.
func TestShortCrossEntropyKernelGuard(t *testing.T) {
	forEachCEKernels(t, func(t *testing.T, k ceKernels) {
		rng := rand.New(rand.NewPCG(53, 54))
		for cols := 1; cols <= k.maxCols(); cols++ {
			for _, rows := range []int{8, 16, 21} {
				x, targets := shortCEBatch(rng, rows, cols)
				for _, place := range []struct {
					name string
					at   func(testing.TB, int) []float32
				}{{"end", endAtGuard}, {"start", startAfterGuard}} {
					what := fmt.Sprintf("%dx%d, %s at guard", rows, cols, place.name)
					src, dst := place.at(t, len(x)), place.at(t, len(x))
					copy(src, x)
					done := shortCEDone(k, x, cols)
					wantGrad := make([]float32, len(x))
					generic.CrossEntropyRows(wantGrad, x, targets, cols)
					catchFault(t, what, func() {
						checkShortCE(t, k, what, src, targets, cols, -1, 0)
						d, total := groupCE(k, nil, src, targets, rows, cols, 0, false)
						// check compares a call with the gradient to the
						// call without it, and the gradient at the guard
						// page to the fallback's.
						check := func(how string, grad []float32, d1 int, t1 float64) {
							t.Helper()
							if d != done || d1 != done {
								t.Fatalf("%s: %d rows done without the gradient, %d %s, want %d", what, d, d1, how, done)
							}
							if math.Float64bits(t1) != math.Float64bits(total) && !(t1 != t1 && total != total) {
								t.Errorf("%s: total %v %s, %v without the gradient", what, t1, how, total)
							}
							compareBits(t, what+", gradient "+how, x[:done*cols], wantGrad[:done*cols], grad[:done*cols])
						}
						d1, t1 := groupCE(k, dst, src, targets, rows, cols, 0, true)
						check("out of place", dst, d1, t1)
						if cols <= shortCols {
							d1, t1 := groupCE(k, src, src, targets, rows, cols, 0, true)
							check("in place", src, d1, t1)
						}
					})
				}
			}
		}
	})
}
