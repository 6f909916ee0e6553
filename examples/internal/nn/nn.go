// Package nn is the small amount of neural-network code that the example
// programs share: a dense layer over a batch of rows, tanh, and plain
// stochastic gradient descent. The softmax and the cross-entropy, the part
// that package kernels provides, stay in the programs.
//
// Batches are row-major float32 slices: a batch of n rows of k values is a
// slice of n*k values, row r at [r*k : (r+1)*k]. The matrix products are
// plain Go loops, fast enough for the examples' few thousand weights.
package nn

import (
	"math"
	"math/rand/v2"

	"github.com/go-softmax/softmax/kernels"
)

// Dense is a fully connected layer: y = x·W + B for each row x.
type Dense struct {
	In, Out int
	W       []float32 // In x Out, row-major: W[i*Out+o] joins input i to output o
	B       []float32 // Out

	gradW, gradB []float32 // gradients summed by Backward since the last Step
}

// NewDense returns a layer with weights drawn from a normal distribution
// of standard deviation 1/sqrt(in), and zero biases.
func NewDense(in, out int, rng *rand.Rand) *Dense {
	d := &Dense{
		In: in, Out: out,
		W: make([]float32, in*out), B: make([]float32, out),
		gradW: make([]float32, in*out), gradB: make([]float32, out),
	}
	scale := 1 / math.Sqrt(float64(in))
	for i := range d.W {
		d.W[i] = float32(rng.NormFloat64() * scale)
	}
	return d
}

// Forward sets y, a batch of rows of Out values, to the layer's output for
// x, the same number of rows of In values.
func (d *Dense) Forward(y, x []float32) {
	for r := 0; r < len(x)/d.In; r++ {
		yr := y[r*d.Out : (r+1)*d.Out]
		copy(yr, d.B)
		for i, v := range x[r*d.In : (r+1)*d.In] {
			if v == 0 {
				continue // sparse inputs (blank pixels) cost nothing
			}
			w := d.W[i*d.Out : (i+1)*d.Out]
			w = w[:len(yr)] // lets the compiler drop the bounds checks below
			for o := range yr {
				yr[o] += v * w[o]
			}
		}
	}
}

// Backward takes the batch x that Forward saw and dy, the gradient of the
// loss with respect to its output y. It adds the gradients with respect
// to W and B to those kept for Step and, unless dx is nil, sets dx to the
// gradient with respect to x.
func (d *Dense) Backward(dx, x, dy []float32) {
	for r := 0; r < len(x)/d.In; r++ {
		dyr := dy[r*d.Out : (r+1)*d.Out]
		for o, g := range dyr {
			d.gradB[o] += g
		}
		for i, v := range x[r*d.In : (r+1)*d.In] {
			if v == 0 && dx == nil {
				continue // nothing to add to gradW, no dx wanted
			}
			w := d.W[i*d.Out : (i+1)*d.Out]
			gw := d.gradW[i*d.Out : (i+1)*d.Out]
			w, gw = w[:len(dyr)], gw[:len(dyr)] // no bounds checks below
			var s float32
			for o, g := range dyr {
				s += g * w[o]
				gw[o] += v * g
			}
			if dx != nil {
				dx[r*d.In+i] = s
			}
		}
	}
}

// Step moves the weights against the gradients summed since the last
// Step, W -= lr*(gradW + decay*W) and B -= lr*gradB, then clears them.
func (d *Dense) Step(lr, decay float32) {
	for i, g := range d.gradW {
		d.W[i] -= lr * (g + decay*d.W[i])
		d.gradW[i] = 0
	}
	for o, g := range d.gradB {
		d.B[o] -= lr * g
		d.gradB[o] = 0
	}
}

// Tanh sets y[i] = tanh(x[i]) = 2/(1 + exp(-2*x[i])) - 1, with the
// exponentials from kernels.Exp, a few times faster than math.Tanh. It is
// within 2.5e-7 of tanh, plenty for training. y may be x.
func Tanh(y, x []float32) {
	for i, v := range x {
		y[i] = -2 * v
	}
	kernels.Exp(y, y) // +Inf for very negative x, and 2/(1+Inf) - 1 = -1
	for i, e := range y {
		y[i] = 2/(1+e) - 1
	}
}

// TanhBackward sets dx[i] = dy[i] * (1 - y[i]^2), the gradient with
// respect to x where y = Tanh(x) and dy is the gradient with respect to y.
// dx may be dy.
func TanhBackward(dx, y, dy []float32) {
	for i, v := range y {
		dx[i] = dy[i] * (1 - v*v)
	}
}

// Scale multiplies every element of x by s.
func Scale(x []float32, s float32) {
	for i := range x {
		x[i] *= s
	}
}
