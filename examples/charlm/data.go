package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	_ "embed"
	"fmt"
	"math/rand/v2"
)

// The model's alphabet: the letters a-z and a boundary symbol, written
// '.', that stands before a word's first letter and after its last.
const (
	symbols  = 27 // boundary and a-z
	boundary = 0  // the boundary symbol; letter c is c-'a'+1
)

// symbolChar returns the character that stands for symbol s.
func symbolChar(s int) byte {
	if s == boundary {
		return '.'
	}
	return byte('a' + s - 1)
}

// wordList is 63,875 lower-case English words, one a line; see
// testdata/README.md for where it comes from.
//
//go:embed testdata/words.txt.gz
var wordList []byte

// loadWords returns the embedded word list.
func loadWords() ([]string, error) {
	zr, err := gzip.NewReader(bytes.NewReader(wordList))
	if err != nil {
		return nil, err
	}
	var words []string
	sc := bufio.NewScanner(zr)
	for sc.Scan() {
		w := sc.Text()
		for i := 0; i < len(w); i++ {
			if w[i] < 'a' || w[i] > 'z' {
				return nil, fmt.Errorf("word list: %q is not lower-case a-z", w)
			}
		}
		words = append(words, w)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return words, zr.Close()
}

// splitWords shuffles words with rng and returns the first heldOut share
// of them as held-out words and the rest as training words.
func splitWords(words []string, rng *rand.Rand, heldOut float64) (train, test []string) {
	w := append([]string(nil), words...)
	rng.Shuffle(len(w), func(i, j int) { w[i], w[j] = w[j], w[i] })
	n := int(heldOut * float64(len(w)))
	return w[n:], w[:n]
}

// examples are what the model learns from: for each position of each word
// and for the boundary after it, the context symbols before it and the
// symbol there.
type examples struct {
	context int     // symbols of context per example
	ctx     []uint8 // len(next) rows of context symbols, oldest first
	next    []int32 // the symbol that follows each context
}

// makeExamples turns words into examples with context symbols of context
// each; a context reaching back before the word is filled with boundary
// symbols.
func makeExamples(words []string, context int) *examples {
	e := &examples{context: context}
	window := make([]uint8, context)
	for _, w := range words {
		clear(window) // all boundary
		for i := 0; i <= len(w); i++ {
			next := boundary
			if i < len(w) {
				next = int(w[i]-'a') + 1
			}
			e.ctx = append(e.ctx, window...)
			e.next = append(e.next, int32(next))
			copy(window, window[1:])
			window[context-1] = uint8(next)
		}
	}
	return e
}

// len returns the number of examples.
func (e *examples) len() int { return len(e.next) }
