package main

import (
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/go-softmax/softmax/kernels"
)

// quickConfig trains on a few thousand words for one epoch: a second or
// two, enough to learn much more than letter frequencies.
func quickConfig() config {
	cfg := defaultConfig()
	cfg.trainWords = 5000
	cfg.epochs = 1
	cfg.samples = 3
	return cfg
}

var (
	quickOnce   sync.Once
	quickReport *report
	quickErr    error
)

// trainQuick runs quickConfig once for all the tests that need a model.
func trainQuick(t *testing.T) *report {
	t.Helper()
	quickOnce.Do(func() { quickReport, quickErr = run(quickConfig(), io.Discard) })
	if quickErr != nil {
		t.Fatal(quickErr)
	}
	return quickReport
}

// TestBeatsBaselines checks that the model predicts held-out words much
// better than letter frequencies do, and better than the previous letter.
func TestBeatsBaselines(t *testing.T) {
	rep := trainQuick(t)
	t.Logf("held-out perplexity: model %.2f, bigram %.2f, unigram %.2f", rep.perplexity, rep.bigram, rep.unigram)
	if !(rep.unigram > 10 && rep.unigram < symbols) {
		t.Errorf("unigram perplexity %.2f, want between 10 and %d", rep.unigram, symbols)
	}
	if !(rep.perplexity < 0.7*rep.unigram) {
		t.Errorf("model perplexity %.2f, want below 0.7 * unigram %.2f", rep.perplexity, rep.unigram)
	}
	if !(rep.perplexity < rep.bigram) {
		t.Errorf("model perplexity %.2f, want below bigram %.2f", rep.perplexity, rep.bigram)
	}
	if len(rep.words) != len(settings) {
		t.Fatalf("%d lines of samples, want %d", len(rep.words), len(settings))
	}
}

// TestSameWordsOnEveryImplementation samples with the same seed on every
// implementation this CPU runs. They return the same bits, so the words
// and the held-out loss must be the same too.
func TestSameWordsOnEveryImplementation(t *testing.T) {
	m := trainQuick(t).model
	words, _ := loadWords()
	test := makeExamples(words[:2000], m.context)
	s, one := m.newScratch(4096), m.newScratch(1)
	var want []string
	var wantLoss float64
	for _, im := range kernels.Implementations() {
		rng := rand.New(rand.NewPCG(7, 7))
		var got []string
		for _, how := range settings {
			for i := 0; i < 20; i++ {
				w := m.sample(rng, im, how, one)
				if strings.Trim(w, "abcdefghijklmnopqrstuvwxyz") != "" || len(w) > maxLetters {
					t.Fatalf("%s: %v made up %q", im, how, w)
				}
				got = append(got, w)
			}
		}
		loss := m.loss(s, im, test)
		if want == nil {
			want, wantLoss = got, loss
			t.Logf("%s: %s ...", im, strings.Join(got[:10], " "))
			continue
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s made up different words from %s:\n%q\n%q", im, kernels.Implementations()[0], got, want)
		}
		if math.Float64bits(loss) != math.Float64bits(wantLoss) {
			t.Errorf("%s: loss %v, %s: %v", im, loss, kernels.Implementations()[0], wantLoss)
		}
	}
}

// TestGreedy checks that top-k 1 and a tiny top-p both take the likeliest
// symbol every time, so that any seed makes up the same word.
func TestGreedy(t *testing.T) {
	m := trainQuick(t).model
	one := m.newScratch(1)
	im := kernels.Default()
	for _, how := range []sampling{{temperature: 1, topK: 1, topP: 1}, {temperature: 1, topP: 1e-6}, {temperature: 1e-3, topP: 1}} {
		first := m.sample(rand.New(rand.NewPCG(1, 1)), im, how, one)
		for seed := uint64(2); seed < 6; seed++ {
			if w := m.sample(rand.New(rand.NewPCG(seed, seed)), im, how, one); w != first {
				t.Errorf("%v: seed 1 made up %q, seed %d %q", how, first, seed, w)
			}
		}
	}
}

// drawCounts draws n symbols from logits as how says and counts them.
func drawCounts(how sampling, logits []float32, n int) []int {
	rng := rand.New(rand.NewPCG(3, 3))
	counts := make([]int, len(logits))
	l, p := make([]float32, len(logits)), make([]float32, len(logits))
	for i := 0; i < n; i++ {
		copy(l, logits) // draw overwrites its logits
		counts[how.draw(rng, kernels.Default(), l, p)]++
	}
	return counts
}

func TestDraw(t *testing.T) {
	logp := func(ps ...float64) []float32 {
		l := make([]float32, len(ps))
		for i, p := range ps {
			l[i] = float32(math.Log(p))
		}
		return l
	}
	probs := logp(0.5, 0.3, 0.15, 0.05)
	for _, c := range []struct {
		how  sampling
		want []bool // which symbols may be drawn
	}{
		{sampling{temperature: 1, topP: 1}, []bool{true, true, true, true}},
		{sampling{temperature: 1, topK: 2, topP: 1}, []bool{true, true, false, false}},
		{sampling{temperature: 1, topK: 3, topP: 1}, []bool{true, true, true, false}},
		{sampling{temperature: 1, topP: 0.5}, []bool{true, false, false, false}},
		{sampling{temperature: 1, topP: 0.7}, []bool{true, true, false, false}},
		{sampling{temperature: 1, topP: 0.9}, []bool{true, true, true, false}},
		{sampling{temperature: 1, topK: 2, topP: 0.9}, []bool{true, true, false, false}},
		{sampling{temperature: 0.01, topP: 1}, []bool{true, false, false, false}},
	} {
		counts := drawCounts(c.how, probs, 4000)
		for i, n := range counts {
			if (n > 0) != c.want[i] {
				t.Errorf("%v: drew symbol %d %d times in 4000", c.how, i, n)
			}
		}
	}

	// Without truncation the draws follow the probabilities, and a higher
	// temperature flattens them.
	counts := drawCounts(sampling{temperature: 1, topP: 1}, probs, 20000)
	if f := float64(counts[0]) / 20000; math.Abs(f-0.5) > 0.02 {
		t.Errorf("T=1: drew the p=0.5 symbol %.3f of the time", f)
	}
	hot := drawCounts(sampling{temperature: 2, topP: 1}, probs, 20000)
	if !(hot[0] < counts[0] && hot[3] > counts[3]) {
		t.Errorf("T=2 drew %v, T=1 %v: want the likeliest less often and the least likely more", hot, counts)
	}
}

// TestNgram checks the counting baselines on a case small enough to work
// out by hand. Training on "ab" sees a, b and the boundary once each.
// Unigram: p = (1+1)/(3+27) for every symbol of "ab" and its boundary.
// Bigram: each symbol follows its context once, out of once: (1+1)/(1+27).
func TestNgram(t *testing.T) {
	e := makeExamples([]string{"ab"}, 2)
	if got := ngramPerplexity(e, e, 1); math.Abs(got-15) > 1e-9 {
		t.Errorf("unigram perplexity %v, want 15", got)
	}
	if got := ngramPerplexity(e, e, 2); math.Abs(got-14) > 1e-9 {
		t.Errorf("bigram perplexity %v, want 14", got)
	}
	// "zz": z never followed the boundary, 1/(1+27); then the context z was
	// never seen, 1/27 for each of z and the boundary.
	want := math.Exp(-(math.Log(1.0/28) + 2*math.Log(1.0/27)) / 3)
	if got := ngramPerplexity(e, makeExamples([]string{"zz"}, 2), 2); math.Abs(got-want) > 1e-9 {
		t.Errorf("bigram perplexity of \"zz\" %v, want %v", got, want)
	}
}

func TestMakeExamples(t *testing.T) {
	e := makeExamples([]string{"cab"}, 2)
	var got []string
	for r := 0; r < e.len(); r++ {
		var b []byte
		for _, c := range e.ctx[r*2 : r*2+2] {
			b = append(b, symbolChar(int(c)))
		}
		got = append(got, string(b)+">"+string(symbolChar(int(e.next[r]))))
	}
	if want := []string{"..>c", ".c>a", "ca>b", "ab>."}; !slices.Equal(got, want) {
		t.Errorf("examples of \"cab\": %q, want %q", got, want)
	}
}
