// Command classify trains a classifier of the 8x8 handwritten digits and
// shows what it learned.
//
//	go run ./examples/classify -out DIR [-hidden 32] [-epochs 30]
//
// The model has one hidden layer of tanh units: the ten logits of an image
// x (64 pixels) are logits = tanh(x·W1 + b1)·W2 + b2, and its class
// probabilities are Softmax(logits). With -hidden 0 it is plain softmax
// regression, logits = x·W + b. Training minimizes the cross-entropy by
// mini-batch stochastic gradient descent, and kernels.CrossEntropyRows
// does the softmax part of it: in one call it returns the mean loss of a
// batch and each row's gradient with respect to its logits,
// softmax(logits) - onehot(label). The layers are plain Go loops (package
// nn).
//
// It prints the loss and accuracy after each epoch, then the test
// accuracy, the confusion matrix and the mistakes made with the most
// confidence, and writes two pictures to DIR: curves.png (loss and accuracy
// per epoch) and digits.png (test digits labelled with the predictions, the
// wrong ones in red). The data set is built in (see testdata/README.md);
// nothing is downloaded.
package main

import (
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/go-softmax/softmax/examples/internal/nn"
	"github.com/go-softmax/softmax/kernels"
)

func main() {
	cfg := defaultConfig()
	flag.StringVar(&cfg.outDir, "out", ".", "folder to write curves.png and digits.png to")
	flag.IntVar(&cfg.hidden, "hidden", cfg.hidden, "units in the hidden layer; 0 for plain softmax regression")
	flag.IntVar(&cfg.epochs, "epochs", cfg.epochs, "passes over the training set")
	flag.Parse()
	if _, err := run(cfg, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "classify:", err)
		os.Exit(1)
	}
}

// config holds the training settings.
type config struct {
	hidden   int     // units in the hidden layer; 0 for none
	epochs   int     // passes over the training set
	batch    int     // images per SGD step
	lr       float32 // learning rate
	decay    float32 // L2 weight decay, per step, relative to lr
	testFrac float64 // the share of the images held out for testing
	seed     uint64  // seeds the split and the shuffles
	outDir   string  // where to write the PNGs; "" writes none
}

func defaultConfig() config {
	return config{hidden: 32, epochs: 30, batch: 8, lr: 0.5, decay: 1e-4, testFrac: 0.2, seed: 1}
}

// epochStats is what an epoch ended with.
type epochStats struct {
	trainLoss, trainAcc float64
	testLoss, testAcc   float64
}

// report is what run found.
type report struct {
	history   []epochStats
	testAcc   float64
	confusion [classes][classes]int // [true][predicted] counts on the test set
	files     []string              // the PNGs written
}

// run trains a model as cfg says, printing its progress to w.
func run(cfg config, w io.Writer) (*report, error) {
	all, err := loadDigits()
	if err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(cfg.seed, 0x5eed))
	train, test := all.split(rng, cfg.testFrac)
	fmt.Fprintf(w, "%d images of %dx%d pixels: %d to train on, %d to test; softmax on %q\n",
		all.len(), side, side, train.len(), test.len(), kernels.Impl())

	m := newModel(cfg.hidden, cfg.batch, rng)
	rep := &report{}
	order := make([]int, train.len())
	for i := range order {
		order[i] = i
	}
	bx := make([]float32, cfg.batch*features)
	by := make([]int32, cfg.batch)
	for epoch := 1; epoch <= cfg.epochs; epoch++ {
		// The learning rate falls linearly, to cfg.lr/cfg.epochs in the
		// last epoch, so that training settles.
		lr := cfg.lr * float32(cfg.epochs+1-epoch) / float32(cfg.epochs)
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		for start := 0; start < len(order); start += cfg.batch {
			idx := order[start:min(start+cfg.batch, len(order))]
			for r, i := range idx {
				copy(bx[r*features:], train.row(i))
				by[r] = train.y[i]
			}
			m.step(bx[:len(idx)*features], by[:len(idx)], lr, cfg.decay)
		}
		var s epochStats
		s.trainLoss, s.trainAcc, _, _ = m.evaluate(train)
		s.testLoss, s.testAcc, _, _ = m.evaluate(test)
		rep.history = append(rep.history, s)
		fmt.Fprintf(w, "epoch %2d/%d %s train loss %.4f acc %.4f | test loss %.4f acc %.4f\n",
			epoch, cfg.epochs, progressBar(epoch, cfg.epochs, 20), s.trainLoss, s.trainAcc, s.testLoss, s.testAcc)
	}

	_, acc, pred, probs := m.evaluate(test)
	rep.testAcc = acc
	for i, p := range pred {
		rep.confusion[test.y[i]][p]++
	}
	fmt.Fprintf(w, "\ntest accuracy %.4f (%d of %d right)\n", acc, int(acc*float64(test.len())+0.5), test.len())
	printConfusion(w, &rep.confusion)
	printMistakes(w, test, pred, probs, 5)

	if cfg.outDir != "" {
		if err := os.MkdirAll(cfg.outDir, 0o755); err != nil {
			return nil, err
		}
		curves := filepath.Join(cfg.outDir, "curves.png")
		digits := filepath.Join(cfg.outDir, "digits.png")
		if err := writeCurves(curves, rep.history); err != nil {
			return nil, err
		}
		if err := writeDigits(digits, test, pred, 12, 8); err != nil {
			return nil, err
		}
		rep.files = []string{curves, digits}
		fmt.Fprintf(w, "\nwrote %s and %s\n", curves, digits)
	}
	return rep, nil
}

// model is a softmax regression on the pixels or, with a hidden layer, on
// tanh features of them: logits = tanh(x·W1 + b1)·W2 + b2.
type model struct {
	hidden *nn.Dense // nil for plain softmax regression
	out    *nn.Dense // to the classes' logits

	// Scratch space for one batch.
	h, dh, logits, grad []float32
}

func newModel(hidden, batch int, rng *rand.Rand) *model {
	m := &model{logits: make([]float32, batch*classes), grad: make([]float32, batch*classes)}
	in := features
	if hidden > 0 {
		m.hidden = nn.NewDense(features, hidden, rng)
		m.h, m.dh = make([]float32, batch*hidden), make([]float32, batch*hidden)
		in = hidden
	}
	m.out = nn.NewDense(in, classes, rng)
	return m
}

// forward sets logits, classes values per image, for the images in x and
// returns what the output layer saw: x itself, or the hidden layer's
// output h.
func (m *model) forward(logits, x, h []float32) []float32 {
	if m.hidden != nil {
		m.hidden.Forward(h, x)
		nn.Tanh(h, h)
		x = h
	}
	m.out.Forward(logits, x)
	return x
}

// step takes one SGD step on the batch of images x with labels y and
// returns the batch's mean loss.
func (m *model) step(x []float32, y []int32, lr, decay float32) float32 {
	n := len(y)
	logits, grad := m.logits[:n*classes], m.grad[:n*classes]
	var h, dh []float32
	if m.hidden != nil {
		h, dh = m.h[:n*m.hidden.Out], m.dh[:n*m.hidden.Out]
	}
	top := m.forward(logits, x, h)
	// The mean of -ln softmax(logits)[y] over the batch, and for each row
	// the gradient of its own loss: softmax(logits) - onehot(y).
	loss := kernels.CrossEntropyRows(grad, logits, y, classes)
	nn.Scale(grad, 1/float32(n)) // the batch loss is the mean of the rows'

	m.out.Backward(dh, top, grad) // dh stays nil without a hidden layer
	m.out.Step(lr, decay)
	if m.hidden != nil {
		nn.TanhBackward(dh, h, dh)
		m.hidden.Backward(nil, x, dh)
		m.hidden.Step(lr, decay)
	}
	return loss
}

// evaluate returns the mean loss and the accuracy of m on d, the class it
// predicts for each image and the class probabilities (d.len() rows of
// classes values).
func (m *model) evaluate(d *dataset) (loss, acc float64, pred []int32, probs []float32) {
	logits := make([]float32, d.len()*classes)
	var h []float32
	if m.hidden != nil {
		h = make([]float32, d.len()*m.hidden.Out)
	}
	m.forward(logits, d.x, h)
	loss = float64(kernels.CrossEntropyRows(nil, logits, d.y, classes))
	probs = logits // in place: the logits are not needed any more
	kernels.SoftmaxRows(probs, logits, classes)
	pred = make([]int32, d.len())
	right := 0
	for i := range pred {
		row := probs[i*classes : (i+1)*classes]
		pred[i] = int32(slices.Index(row, slices.Max(row)))
		if pred[i] == d.y[i] {
			right++
		}
	}
	return loss, float64(right) / float64(d.len()), pred, probs
}

// progressBar returns a bar of width cells, done/total of them filled.
func progressBar(done, total, width int) string {
	n := done * width / total
	return "[" + strings.Repeat("#", n) + strings.Repeat(".", width-n) + "]"
}

// printConfusion prints the confusion matrix, a row per true class.
func printConfusion(w io.Writer, cm *[classes][classes]int) {
	fmt.Fprintf(w, "\nconfusion matrix (rows: true digit, columns: predicted)\n     ")
	for c := 0; c < classes; c++ {
		fmt.Fprintf(w, "%4d", c)
	}
	fmt.Fprintln(w)
	for t, row := range cm {
		fmt.Fprintf(w, "%4d ", t)
		for p, n := range row {
			switch {
			case n == 0:
				fmt.Fprintf(w, "%4s", ".")
			case p != t:
				fmt.Fprintf(w, "%3d*", n)
			default:
				fmt.Fprintf(w, "%4d", n)
			}
		}
		fmt.Fprintln(w)
	}
}

// printMistakes prints up to k of the wrong predictions, the most
// confident first, with the probability given to the predicted and the
// true class.
func printMistakes(w io.Writer, d *dataset, pred []int32, probs []float32, k int) {
	var wrong []int
	for i, p := range pred {
		if p != d.y[i] {
			wrong = append(wrong, i)
		}
	}
	conf := func(i int) float32 { return probs[i*classes+int(pred[i])] }
	slices.SortStableFunc(wrong, func(a, b int) int {
		switch {
		case conf(a) > conf(b):
			return -1
		case conf(a) < conf(b):
			return 1
		}
		return 0
	})
	fmt.Fprintf(w, "\n%d mistakes; the most confident:\n", len(wrong))
	for _, i := range wrong[:min(k, len(wrong))] {
		fmt.Fprintf(w, "  test image %3d: a %d taken for a %d (p=%.3f; p(%d)=%.3f)\n",
			i, d.y[i], pred[i], conf(i), d.y[i], probs[i*classes+int(d.y[i])])
	}
}
