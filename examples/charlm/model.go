package main

import (
	"math/rand/v2"

	"github.com/go-softmax/softmax/examples/internal/nn"
	"github.com/go-softmax/softmax/kernels"
)

// model predicts the next symbol of a word from the context symbols
// before it:
//
//	x      = onehot(ctx[0]) ++ onehot(ctx[1]) ++ ... (context*symbols inputs)
//	h      = tanh(x·W1 + b1)
//	logits = h·W2 + b2
//	P(next | ctx) = Softmax(logits)
//
// With one-hot inputs, x·W1 adds up one row of W1 per context position:
// W1 holds a learned embedding, hidden values wide, of each character at
// each position, so a forward pass costs context*hidden additions for the
// first layer and hidden*symbols multiply-adds for the second.
type model struct {
	context int
	hidden  *nn.Dense // context*symbols one-hot inputs to the tanh units
	out     *nn.Dense // tanh units to the logits
}

func newModel(context, hidden int, rng *rand.Rand) *model {
	return &model{
		context: context,
		hidden:  nn.NewDense(context*symbols, hidden, rng),
		out:     nn.NewDense(hidden, symbols, rng),
	}
}

// weights returns the number of trained parameters.
func (m *model) weights() int {
	return len(m.hidden.W) + len(m.hidden.B) + len(m.out.W) + len(m.out.B)
}

// scratch holds the activations of a batch of up to rows examples.
type scratch struct {
	x, h, dh, logits, grad []float32
}

func (m *model) newScratch(rows int) *scratch {
	return &scratch{
		x:      make([]float32, rows*m.context*symbols),
		h:      make([]float32, rows*m.hidden.Out),
		dh:     make([]float32, rows*m.hidden.Out),
		logits: make([]float32, rows*symbols),
		grad:   make([]float32, rows*symbols),
	}
}

// forward computes the logits for the contexts in ctx, m.context symbols
// a row, into s, and returns them: symbols values a row.
func (m *model) forward(s *scratch, ctx []uint8) []float32 {
	rows := len(ctx) / m.context
	x := s.x[:rows*m.context*symbols]
	clear(x)
	for i, c := range ctx { // row r, position p: i = r*m.context + p
		x[i*symbols+int(c)] = 1
	}
	h := s.h[:rows*m.hidden.Out]
	m.hidden.Forward(h, x)
	nn.Tanh(h, h)
	logits := s.logits[:rows*symbols]
	m.out.Forward(logits, h)
	return logits
}

// step takes one SGD step on a batch of contexts and the symbols that
// follow them and returns the batch's mean loss, computed by im.
func (m *model) step(s *scratch, im *kernels.Implementation, ctx []uint8, next []int32, lr float32) float32 {
	rows := len(next)
	logits := m.forward(s, ctx)
	// The mean of -ln Softmax(logits)[next] over the rows, and per row the
	// gradient of its loss with respect to its logits.
	grad := s.grad[:rows*symbols]
	loss := im.CrossEntropyRows(grad, logits, next, symbols)
	nn.Scale(grad, 1/float32(rows)) // the batch loss is the rows' mean

	h, dh := s.h[:rows*m.hidden.Out], s.dh[:rows*m.hidden.Out]
	m.out.Backward(dh, h, grad)
	nn.TanhBackward(dh, h, dh)
	m.hidden.Backward(nil, s.x[:rows*m.context*symbols], dh)
	m.out.Step(lr, 0)
	m.hidden.Step(lr, 0)
	return loss
}

// loss returns the mean of -ln P(next | ctx) over the examples e,
// computed by im, in batches that fit s.
func (m *model) loss(s *scratch, im *kernels.Implementation, e *examples) float64 {
	rows := len(s.logits) / symbols
	var sum float64
	for start := 0; start < e.len(); start += rows {
		end := min(start+rows, e.len())
		logits := m.forward(s, e.ctx[start*m.context:end*m.context])
		mean := im.CrossEntropyRows(nil, logits, e.next[start:end], symbols)
		sum += float64(mean) * float64(end-start)
	}
	return sum / float64(e.len())
}
