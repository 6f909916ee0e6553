package main

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/go-softmax/softmax/kernels"
)

// maxLetters stops a word that would not end.
const maxLetters = 24

// sampling says how to draw each next symbol from the model's logits.
type sampling struct {
	temperature float32 // the logits are divided by it; 1 keeps the model's distribution
	topK        int     // keep only the k likeliest symbols; 0 keeps all
	topP        float32 // keep the fewest likeliest symbols whose probability adds up to topP; 1 keeps all
}

func (s sampling) String() string {
	str := fmt.Sprintf("T=%g", s.temperature)
	if s.topK > 0 {
		str += fmt.Sprintf(" top-k=%d", s.topK)
	}
	if s.topP < 1 {
		str += fmt.Sprintf(" top-p=%g", s.topP)
	}
	return str
}

// draw picks a symbol with rng from the distribution that s makes of
// logits, which it overwrites; probs is scratch space of the same length.
// The softmax runs on im.
func (s sampling) draw(rng *rand.Rand, im *kernels.Implementation, logits, probs []float32) int {
	// Temperature: T < 1 sharpens the distribution, T > 1 flattens it.
	scale := 1 / s.temperature
	for i := range logits {
		logits[i] *= scale
	}
	// Top-k: mask all but the k largest logits. A masked logit is -Inf,
	// and Softmax gives it probability 0.
	if s.topK > 0 && s.topK < len(logits) {
		sorted := slices.Clone(logits)
		slices.Sort(sorted)
		kth := sorted[len(sorted)-s.topK]
		for i, v := range logits {
			if v < kth {
				logits[i] = float32(math.Inf(-1))
			}
		}
	}
	im.Softmax(probs, logits)
	// Top-p (nucleus): keep the likeliest symbols until their probability
	// reaches topP, mask the rest, and let Softmax renormalize.
	if s.topP < 1 {
		order := make([]int, len(probs))
		for i := range order {
			order[i] = i
		}
		slices.SortStableFunc(order, func(a, b int) int {
			switch {
			case probs[a] > probs[b]:
				return -1
			case probs[a] < probs[b]:
				return 1
			}
			return 0
		})
		var mass float64
		for n, i := range order {
			if mass >= float64(s.topP) {
				for _, j := range order[n:] {
					logits[j] = float32(math.Inf(-1))
				}
				break
			}
			mass += float64(probs[i])
		}
		im.Softmax(probs, logits)
	}
	// Invert the cumulative distribution at a uniform u.
	u := rng.Float64()
	var cum float64
	last := 0
	for i, p := range probs {
		if p == 0 {
			continue
		}
		cum += float64(p)
		last = i
		if u < cum {
			return i
		}
	}
	return last // u fell into the rounding gap below 1
}

// sample makes up a word, symbol by symbol, until the model draws the
// boundary; s is scratch space for one row.
func (m *model) sample(rng *rand.Rand, im *kernels.Implementation, how sampling, s *scratch) string {
	ctx := make([]uint8, m.context) // all boundary: the start of a word
	probs := make([]float32, symbols)
	var word []byte
	for len(word) < maxLetters {
		next := how.draw(rng, im, m.forward(s, ctx), probs)
		if next == boundary {
			break
		}
		word = append(word, symbolChar(next))
		copy(ctx, ctx[1:])
		ctx[len(ctx)-1] = uint8(next)
	}
	return string(word)
}
