package nn

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestGradients checks Backward and TanhBackward against central finite
// differences of the loss L = sum_o c[o] * tanh(x·W + B)[o] over a batch.
func TestGradients(t *testing.T) {
	const rows, in, out = 3, 5, 4
	rng := rand.New(rand.NewPCG(1, 2))
	d := NewDense(in, out, rng)
	for o := range d.B {
		d.B[o] = float32(rng.NormFloat64())
	}
	x := make([]float32, rows*in)
	c := make([]float32, rows*out)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	for i := range c {
		c[i] = float32(rng.NormFloat64())
	}
	y := make([]float32, rows*out)
	loss := func() float64 {
		d.Forward(y, x)
		Tanh(y, y)
		var l float64
		for i, v := range y {
			l += float64(c[i] * v)
		}
		return l
	}

	loss()
	dy := make([]float32, rows*out)
	TanhBackward(dy, y, c)
	dx := make([]float32, rows*in)
	d.Backward(dx, x, dy)

	check := func(name string, p []float32, analytic []float32) {
		t.Helper()
		for i := range p {
			const h = 1e-2
			keep := p[i]
			p[i] = keep + h
			up := loss()
			p[i] = keep - h
			down := loss()
			p[i] = keep
			numeric := (up - down) / (2 * h)
			if diff := math.Abs(numeric - float64(analytic[i])); diff > 2e-3*math.Max(1, math.Abs(numeric)) {
				t.Errorf("%s[%d]: Backward gives %.5f, finite differences %.5f", name, i, analytic[i], numeric)
			}
		}
	}
	check("W", d.W, d.gradW)
	check("B", d.B, d.gradB)
	check("x", x, dx)

	// Step moves each weight by -lr times its gradient, then clears it.
	w0, g0 := d.W[0], d.gradW[0]
	d.Step(0.5, 0)
	if want := w0 - 0.5*g0; d.W[0] != want {
		t.Errorf("Step: W[0] = %v, want %v", d.W[0], want)
	}
	for i, g := range d.gradW {
		if g != 0 {
			t.Fatalf("Step left gradW[%d] = %v", i, g)
		}
	}
}

// TestTanh compares Tanh with math.Tanh on a grid and at the extremes.
func TestTanh(t *testing.T) {
	x := []float32{0, 1e-30, -1e-30, 100, -100, float32(math.Inf(1)), float32(math.Inf(-1))}
	for v := float32(-20); v < 20; v += 1.0 / 1024 {
		x = append(x, v)
	}
	y := make([]float32, len(x))
	Tanh(y, x)
	for i, v := range x {
		if d := math.Abs(float64(y[i]) - math.Tanh(float64(v))); !(d <= 2.5e-7) {
			t.Errorf("Tanh(%g) = %g, math.Tanh gives %g", v, y[i], math.Tanh(float64(v)))
		}
	}
}

// TestBackwardSparse checks that Backward without dx, which skips the zero
// inputs, sums the same weight gradients as with dx.
func TestBackwardSparse(t *testing.T) {
	const rows, in, out = 2, 6, 3
	rng := rand.New(rand.NewPCG(3, 4))
	a := NewDense(in, out, rng)
	b := &Dense{In: in, Out: out, W: a.W, B: a.B, gradW: make([]float32, in*out), gradB: make([]float32, out)}
	x := []float32{0, 1, 0, 0, 0.5, 0, 1, 0, 0, 0, 0, 2} // mostly zero, like one-hot rows
	dy := make([]float32, rows*out)
	for i := range dy {
		dy[i] = float32(rng.NormFloat64())
	}
	a.Backward(make([]float32, rows*in), x, dy)
	b.Backward(nil, x, dy)
	for i := range a.gradW {
		if a.gradW[i] != b.gradW[i] {
			t.Errorf("gradW[%d]: %v with dx, %v without", i, a.gradW[i], b.gradW[i])
		}
	}
	for o := range a.gradB {
		if a.gradB[o] != b.gradB[o] || a.gradB[o] == 0 {
			t.Errorf("gradB[%d]: %v with dx, %v without", o, a.gradB[o], b.gradB[o])
		}
	}
}
