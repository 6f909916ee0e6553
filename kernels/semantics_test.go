package kernels

import (
	"math"
	"testing"
)

// The special rows of the package documentation, on every implementation.

const canonicalNaNBits = 0x7fc00000

func isCanonicalNaN(v float32) bool { return math.Float32bits(v) == canonicalNaNBits }

func allCanonicalNaN(v []float32) bool {
	for _, x := range v {
		if !isCanonicalNaN(x) {
			return false
		}
	}
	return true
}

func allEqual(v []float32, want float32) bool {
	for _, x := range v {
		if x != want || math.Signbit(float64(x)) != math.Signbit(float64(want)) {
			return false
		}
	}
	return true
}

func TestSemanticsSoftmax(t *testing.T) {
	forEachImpl(t, func(t *testing.T, im *Implementation) {
		run := func(x []float32) (sm, lsm []float32, lse float32) {
			sm = make([]float32, len(x))
			lsm = make([]float32, len(x))
			im.Softmax(sm, x)
			im.LogSoftmax(lsm, x)
			return sm, lsm, im.LogSumExp(x)
		}

		// Empty: no-op, and LogSumExp is -Inf.
		if _, _, lse := run(nil); !math.IsInf(float64(lse), -1) {
			t.Errorf("LogSumExp(empty) = %v, want -Inf", lse)
		}
		im.Softmax([]float32{}, []float32{})

		// Huge finite magnitudes: no overflow, exact halves.
		for _, x := range [][]float32{
			{1e30, 1e30, -1e30},
			{-1e30, -1e30},
			{math.MaxFloat32, math.MaxFloat32},
			{-math.MaxFloat32, -math.MaxFloat32},
		} {
			sm, lsm, lse := run(x)
			if sm[0] != 0.5 || sm[1] != 0.5 {
				t.Errorf("Softmax(%v) = %v, want halves", x, sm)
			}
			if len(x) == 3 && sm[2] != 0 {
				t.Errorf("Softmax(%v)[2] = %v, want 0", x, sm[2])
			}
			if d := math.Abs(float64(lsm[0]) + math.Ln2); d > 1e-7 {
				t.Errorf("LogSoftmax(%v)[0] = %v, want -ln2", x, lsm[0])
			}
			want := float64(x[0]) + math.Ln2
			if d := math.Abs(float64(lse) - want); d > math.Abs(want)*0x1p-23 {
				t.Errorf("LogSumExp(%v) = %v, want %v", x, lse, want)
			}
		}
		if sm, _, _ := run([]float32{-math.MaxFloat32, math.MaxFloat32}); sm[0] != 0 || sm[1] != 1 {
			t.Errorf("Softmax(-max, max) = %v, want [0 1]", sm)
		}

		// Some -Inf: those outputs are 0 and -Inf.
		x := []float32{ninf, 0, ninf, 0, ninf}
		sm, lsm, lse := run(x)
		if sm[0] != 0 || sm[2] != 0 || sm[4] != 0 || sm[1] != 0.5 || sm[3] != 0.5 {
			t.Errorf("Softmax(%v) = %v", x, sm)
		}
		if !math.IsInf(float64(lsm[0]), -1) || !math.IsInf(float64(lsm[4]), -1) {
			t.Errorf("LogSoftmax(%v) = %v", x, lsm)
		}
		if math.Abs(float64(lse)-math.Ln2) > 1e-7 {
			t.Errorf("LogSumExp(%v) = %v, want ln2", x, lse)
		}

		// All -Inf (fully masked): zeros, -Inf, -Inf.
		for _, n := range []int{1, 5, 17, 100} {
			x := make([]float32, n)
			for i := range x {
				x[i] = ninf
			}
			sm, lsm, lse := run(x)
			if !allEqual(sm, 0) || !allEqual(lsm, ninf) || !math.IsInf(float64(lse), -1) {
				t.Errorf("all -Inf, n=%d: Softmax %v, LogSoftmax %v, LogSumExp %v", n, sm, lsm, lse)
			}
		}

		// Any NaN, any +Inf: all NaN (the canonical one); LogSumExp NaN or +Inf.
		for _, c := range []struct {
			x   []float32
			lse float32
		}{
			{[]float32{1, nan, 3}, nan},
			{[]float32{nan}, nan},
			{[]float32{ninf, nan, ninf}, nan},
			{[]float32{1, inf, 3}, inf},
			{[]float32{ninf, inf}, inf},
			{[]float32{inf, nan}, nan},
			{[]float32{inf, inf}, inf},
			{append(make([]float32, 200), nan), nan},
			{append(make([]float32, 200), inf), inf},
		} {
			sm, lsm, lse := run(c.x)
			if !allCanonicalNaN(sm) || !allCanonicalNaN(lsm) {
				t.Errorf("row with NaN/+Inf ending %v: Softmax %v..., LogSoftmax %v..., want canonical NaNs", c.x[max(0, len(c.x)-3):], sm[:min(3, len(sm))], lsm[:min(3, len(lsm))])
			}
			if c.lse != c.lse && !isCanonicalNaN(lse) || c.lse == c.lse && lse != c.lse {
				t.Errorf("LogSumExp(%v) = %v, want %v", c.x, lse, c.lse)
			}
		}

		// A term exp(x - max) whose exponent n = round((x - max)*log2e)
		// is below -126 is flushed to zero: -88 (-126.96) is, -87.5
		// (-126.24) is not, and gives a subnormal output. An output that
		// is below 2^-126 only after the division by S is kept, as a
		// subnormal: exp(-87)/2 in the second row.
		for _, c := range []struct {
			x       []float32
			flushed []bool
			sub     int // an output that is subnormal
		}{
			{[]float32{0, -200, -88, -87.5, -87.3}, []bool{false, true, true, false, false}, 3},
			{[]float32{0, 0, -87}, []bool{false, false, false}, 2},
		} {
			sm, _, _ = run(c.x)
			var s float64
			for _, v := range c.x {
				s += math.Exp(float64(v))
			}
			for i, v := range c.x {
				want := math.Exp(float64(v)) / s
				if c.flushed[i] {
					want = 0
				}
				if d := math.Abs(float64(sm[i]) - want); d > 0x1p-22*want+0x1p-149 {
					t.Errorf("Softmax(%v)[%d] = %v, want %v", c.x, i, sm[i], want)
				}
			}
			if y := sm[c.sub]; y == 0 || y >= 0x1p-126 {
				t.Errorf("Softmax(%v)[%d] = %v, want a subnormal", c.x, c.sub, y)
			}
		}

		// In place gives the same bits as out of place.
		x = []float32{1, 2, 3, -4, 5}
		want, _, _ := run(x)
		im.Softmax(x, x)
		if i, ok := bitsEqual(x, want); !ok {
			t.Errorf("in-place Softmax differs at %d: %v vs %v", i, x, want)
		}
	})
}

func TestSemanticsCrossEntropy(t *testing.T) {
	forEachImpl(t, func(t *testing.T, im *Implementation) {
		grad := make([]float32, 3)

		// The target is -Inf: infinite loss, gradient -1 there.
		loss := im.CrossEntropy(grad, []float32{0, ninf, 0}, 1)
		if !math.IsInf(float64(loss), 1) || grad[1] != -1 || grad[0] != 0.5 || grad[2] != 0.5 {
			t.Errorf("target -Inf: loss %v grad %v", loss, grad)
		}
		// Fully masked: infinite loss, softmax zeros minus onehot.
		loss = im.CrossEntropy(grad, []float32{ninf, ninf, ninf}, 2)
		if !math.IsInf(float64(loss), 1) || grad[0] != 0 || grad[1] != 0 || grad[2] != -1 {
			t.Errorf("masked: loss %v grad %v", loss, grad)
		}
		// NaN or +Inf: NaN loss and gradient.
		for _, x := range [][]float32{{0, nan, 1}, {0, inf, 1}, {inf, 0, 0}} {
			loss = im.CrossEntropy(grad, x, 0)
			if !isCanonicalNaN(loss) || !allCanonicalNaN(grad) {
				t.Errorf("CrossEntropy(%v): loss %v grad %v, want canonical NaNs", x, loss, grad)
			}
		}
		// Huge logits: no overflow.
		loss = im.CrossEntropy(grad, []float32{1e30, 1e30, -1e30}, 0)
		if math.Abs(float64(loss)-math.Ln2) > 1e-7 || grad[0] != -0.5 || grad[1] != 0.5 || grad[2] != 0 {
			t.Errorf("huge logits: loss %v grad %v", loss, grad)
		}
		// nil grad gives the same loss.
		x := []float32{0.5, -1, 2}
		l1 := im.CrossEntropy(grad, x, 2)
		if l2 := im.CrossEntropy(nil, x, 2); l1 != l2 {
			t.Errorf("loss with grad %v, without %v", l1, l2)
		}
		// Empty batch: 0.
		if l := im.CrossEntropyRows(nil, nil, nil, 3); l != 0 {
			t.Errorf("CrossEntropyRows(empty) = %v", l)
		}
	})
}

func TestSemanticsExp(t *testing.T) {
	forEachImpl(t, func(t *testing.T, im *Implementation) {
		x := []float32{ninf, inf, nan, 0, negZero, 89, -105, 88.7, 1, -87.3, -103.9}
		y := make([]float32, len(x))
		im.Exp(y, x)
		if y[0] != 0 || !math.IsInf(float64(y[1]), 1) || !isCanonicalNaN(y[2]) || y[3] != 1 || y[4] != 1 {
			t.Errorf("Exp(-Inf, +Inf, NaN, 0, -0) = %v", y[:5])
		}
		if !math.IsInf(float64(y[5]), 1) || y[6] != 0 {
			t.Errorf("Exp(89), Exp(-105) = %v, %v, want +Inf, 0", y[5], y[6])
		}
		if e := math.Exp(float64(x[7])); math.Abs(float64(y[7])/e-1) > 0x1p-23 {
			t.Errorf("Exp(88.7) = %v, want %v", y[7], e)
		}
		if math.Abs(float64(y[8])-math.E) > 0x1p-22 {
			t.Errorf("Exp(1) = %v", y[8])
		}
		// Gradual underflow: exp(-103.9) is about 8e-46, rounded to a
		// subnormal, not flushed.
		if y[10] == 0 || y[10] > 0x1p-148 {
			t.Errorf("Exp(-103.9) = %v, want the smallest subnormals", y[10])
		}
	})
}

func TestSemanticsBackward(t *testing.T) {
	forEachImpl(t, func(t *testing.T, im *Implementation) {
		// The gradient of softmax is orthogonal to 1: it sums to ~0.
		y := []float32{0.25, 0.25, 0.5}
		dy := []float32{1, 1, 1}
		dx := make([]float32, 3)
		im.SoftmaxBackward(dx, y, dy)
		if !allEqual(dx, 0) {
			t.Errorf("SoftmaxBackward with constant dy = %v, want zeros", dx)
		}
		// dy = onehot(0): dx = y*(e0 - y0).
		im.SoftmaxBackward(dx, y, []float32{1, 0, 0})
		if dx[0] != 0.25*0.75 || dx[1] != -0.25*0.25 || dx[2] != -0.5*0.25 {
			t.Errorf("SoftmaxBackward onehot = %v", dx)
		}
		// LogSoftmax: y = log(0.25, 0.25, 0.5), dy = 1 -> dx = 1 - 3p.
		ly := []float32{float32(math.Log(0.25)), float32(math.Log(0.25)), float32(math.Log(0.5))}
		im.LogSoftmaxBackward(dx, ly, dy)
		for i, p := range []float64{0.25, 0.25, 0.5} {
			if d := math.Abs(float64(dx[i]) - (1 - 3*p)); d > 1e-7 {
				t.Errorf("LogSoftmaxBackward[%d] = %v, want %v", i, dx[i], 1-3*p)
			}
		}
		// NaN in gives canonical NaN out.
		im.SoftmaxBackward(dx, []float32{0.5, nan, 0.5}, dy)
		if !allCanonicalNaN(dx) {
			t.Errorf("SoftmaxBackward with NaN = %v", dx)
		}
		im.LogSoftmaxBackward(dx, ly, []float32{0, nan, 0})
		if !allCanonicalNaN(dx) {
			t.Errorf("LogSoftmaxBackward with NaN = %v", dx)
		}
		// Empty rows are no-ops.
		im.SoftmaxBackward(nil, nil, nil)
		im.LogSoftmaxBackward(nil, nil, nil)
	})
}
