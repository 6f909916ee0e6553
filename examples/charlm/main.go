// Command charlm trains a character-level language model on English words
// and makes up new words with it.
//
//	go run ./examples/charlm [-epochs 2] [-n 10] [-seed 1]
//
// The model reads the last few characters of a word and gives the
// probabilities of the next one: a letter, or the end of the word. It is a
// small neural network (one-hot characters, a layer of tanh units, and a
// softmax over 27 symbols), trained by mini-batch SGD on the cross-entropy
// with kernels.CrossEntropyRows, which returns a batch's mean loss and the
// gradient of each row's loss with respect to its logits in one call.
//
// It prints the loss after each epoch, then the model's perplexity on
// words held out of training next to that of counting models (unigram:
// letter frequencies; bigram: the previous letter), and then made-up words
// drawn with several temperatures, top-k and top-p (nucleus) settings,
// where each draw runs kernels.Softmax on scaled and masked logits. A word
// marked * is in the word list. The list is built in (see
// testdata/README.md); nothing is downloaded.
package main

import (
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"strings"
	"time"

	"github.com/go-softmax/softmax/kernels"
)

func main() {
	cfg := defaultConfig()
	flag.IntVar(&cfg.epochs, "epochs", cfg.epochs, "passes over the training words")
	flag.IntVar(&cfg.samples, "n", cfg.samples, "words to make up per sampling setting")
	flag.Uint64Var(&cfg.sampleSeed, "seed", cfg.sampleSeed, "seed of the sampling")
	flag.Parse()
	if _, err := run(cfg, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "charlm:", err)
		os.Exit(1)
	}
}

// config holds the model's shape and the training and sampling settings.
type config struct {
	context    int                     // characters the model sees before the next one
	hidden     int                     // tanh units
	epochs     int                     // passes over the training words
	batch      int                     // examples per SGD step
	lr         float32                 // learning rate at the start; it falls linearly to 0
	heldOut    float64                 // the share of the words kept out of training
	trainWords int                     // train on at most this many words; 0 for all
	seed       uint64                  // seeds the split, the weights and the shuffles
	samples    int                     // words to make up per sampling setting
	sampleSeed uint64                  // seeds the sampling
	im         *kernels.Implementation // runs the cross-entropy and the softmax
}

func defaultConfig() config {
	return config{
		context: 5, hidden: 64, epochs: 2, batch: 32, lr: 0.5,
		heldOut: 0.1, seed: 1, samples: 10, sampleSeed: 1,
		im: kernels.Default(),
	}
}

// settings are the ways run samples words, from cautious to adventurous.
var settings = []sampling{
	{temperature: 0.5, topP: 1},
	{temperature: 0.8, topP: 1},
	{temperature: 1, topP: 1},
	{temperature: 1.5, topP: 1},
	{temperature: 1, topK: 5, topP: 1},
	{temperature: 1, topP: 0.9},
}

// report is what run found.
type report struct {
	model           *model
	trainLoss       []float64 // mean training loss per epoch
	perplexity      float64   // the model's, on the held-out words
	unigram, bigram float64   // the counting models', on the held-out words
	words           [][]string
}

// run trains a model as cfg says and samples words from it, printing
// what it does to w.
func run(cfg config, w io.Writer) (*report, error) {
	words, err := loadWords()
	if err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(cfg.seed, 0xc4a7))
	trainWords, testWords := splitWords(words, rng, cfg.heldOut)
	if cfg.trainWords > 0 && cfg.trainWords < len(trainWords) {
		trainWords = trainWords[:cfg.trainWords]
	}
	train := makeExamples(trainWords, cfg.context)
	test := makeExamples(testWords, cfg.context)
	m := newModel(cfg.context, cfg.hidden, rng)
	fmt.Fprintf(w, "%d words: %d to train on (%d symbols), %d held out; softmax on %q\n",
		len(words), len(trainWords), train.len(), len(testWords), cfg.im.Name())
	fmt.Fprintf(w, "model: %d characters of context -> %d tanh units -> %d symbols, %d weights\n",
		cfg.context, cfg.hidden, symbols, m.weights())

	rep := &report{model: m}
	s := m.newScratch(max(cfg.batch, 4096))
	order := make([]int, train.len())
	for i := range order {
		order[i] = i
	}
	ctx := make([]uint8, cfg.batch*cfg.context)
	next := make([]int32, cfg.batch)
	for epoch := 1; epoch <= cfg.epochs; epoch++ {
		start := time.Now()
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		var sum float64
		for b := 0; b < len(order); b += cfg.batch {
			idx := order[b:min(b+cfg.batch, len(order))]
			for r, i := range idx {
				copy(ctx[r*cfg.context:], train.ctx[i*cfg.context:(i+1)*cfg.context])
				next[r] = train.next[i]
			}
			// The learning rate falls linearly from cfg.lr to 0 over
			// the whole training.
			done := float32((epoch-1)*len(order)+b) / float32(cfg.epochs*len(order))
			loss := m.step(s, cfg.im, ctx[:len(idx)*cfg.context], next[:len(idx)], cfg.lr*(1-done))
			sum += float64(loss) * float64(len(idx))
		}
		rep.trainLoss = append(rep.trainLoss, sum/float64(train.len()))
		heldOut := m.loss(s, cfg.im, test)
		fmt.Fprintf(w, "epoch %d/%d: train loss %.4f, held-out loss %.4f (perplexity %.2f), %.1fs\n",
			epoch, cfg.epochs, rep.trainLoss[epoch-1], heldOut, math.Exp(heldOut), time.Since(start).Seconds())
	}

	rep.perplexity = math.Exp(m.loss(s, cfg.im, test))
	rep.unigram = ngramPerplexity(train, test, 1)
	rep.bigram = ngramPerplexity(train, test, 2)
	fmt.Fprintf(w, "\nheld-out perplexity per symbol (lower is better; 27 is a uniform guess):\n")
	fmt.Fprintf(w, "  unigram, letter frequencies     %6.2f\n", rep.unigram)
	fmt.Fprintf(w, "  bigram, the previous letter     %6.2f\n", rep.bigram)
	fmt.Fprintf(w, "  this model, the last %d letters  %6.2f\n", cfg.context, rep.perplexity)

	known := make(map[string]bool, len(words))
	for _, word := range words {
		known[word] = true
	}
	fmt.Fprintf(w, "\nmade-up words (* when in the word list):\n")
	sampleRNG := rand.New(rand.NewPCG(cfg.sampleSeed, 0x5a3b))
	one := m.newScratch(1)
	for _, how := range settings {
		var line []string
		for i := 0; i < cfg.samples; i++ {
			word := m.sample(sampleRNG, cfg.im, how, one)
			if known[word] {
				word += "*"
			}
			line = append(line, word)
		}
		rep.words = append(rep.words, line)
		fmt.Fprintf(w, "  %-16s %s\n", how, strings.Join(line, " "))
	}
	return rep, nil
}

// ngramPerplexity returns the perplexity on test of a counting model of
// the given order fitted on train: P(next | the order-1 symbols before it)
// is the share of next among what followed those symbols in train, with
// one added to every count (add-one smoothing). Order 1 ignores the
// context: it is the unigram model.
func ngramPerplexity(train, test *examples, order int) float64 {
	key := func(e *examples, r int) int {
		k := 0
		for _, c := range e.ctx[(r+1)*e.context-(order-1) : (r+1)*e.context] {
			k = k*symbols + int(c)
		}
		return k
	}
	counts := map[int]*[symbols + 1]float64{} // per context: a count per symbol, then their total
	for r, next := range train.next {
		c := counts[key(train, r)]
		if c == nil {
			c = new([symbols + 1]float64)
			counts[key(train, r)] = c
		}
		c[next]++
		c[symbols]++
	}
	var nll float64
	for r, next := range test.next {
		n, total := 1.0, float64(symbols)
		if c := counts[key(test, r)]; c != nil {
			n += c[next]
			total += c[symbols]
		}
		nll -= math.Log(n / total)
	}
	return math.Exp(nll / float64(test.len()))
}
