package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"testing"
)

// TestConcurrent calls every kernel of every implementation (and the
// package-level functions and package fallback) from many goroutines at
// once, on shared read-only inputs, each goroutine with outputs of its own
// (and its own copy of the input for the in-place calls), and checks that
// every call returns the bits of a serial run. Under -race it also shows
// that no kernel writes shared state.
func TestConcurrent(t *testing.T) {
	type call struct {
		name string
		n    int
		// run writes the kernel's output to out (n elements) and returns
		// its scalar result if any.
		run func(out []float32) float32
	}
	rng := rand.New(rand.NewPCG(31, 32))
	var calls []call
	for _, n := range []int{0, 1, 15, 16, 17, 100, 1000, 4099} {
		x := softmaxInput(rng, n)
		y, dy := backwardYDY(rng, n, false)
		ly, ldy := backwardYDY(rng, n, true)
		cols := max(1, n/7)
		x = x[:n/cols*cols]
		tg := make([]int32, len(x)/cols)
		for i := range tg {
			tg[i] = int32(rng.IntN(cols))
		}
		target := 0
		if n > 0 {
			target = rng.IntN(n)
		}
		inPlace := func(f func(dst, src []float32)) func(out []float32) float32 {
			return func(out []float32) float32 { copy(out, x); f(out, out); return 0 }
		}
		for _, k := range allAPIs() {
			add := func(name string, run func(out []float32) float32) {
				calls = append(calls, call{fmt.Sprintf("%s %s n=%d", k.name, name, n), n, run})
			}
			add("Softmax", func(out []float32) float32 { k.Softmax(out[:len(x)], x); return 0 })
			add("Softmax in place", inPlace(k.Softmax))
			add("SoftmaxRows", func(out []float32) float32 { k.SoftmaxRows(out[:len(x)], x, cols); return 0 })
			add("LogSoftmax", func(out []float32) float32 { k.LogSoftmax(out[:len(x)], x); return 0 })
			add("LogSoftmax in place", inPlace(k.LogSoftmax))
			add("LogSoftmaxRows", func(out []float32) float32 { k.LogSoftmaxRows(out[:len(x)], x, cols); return 0 })
			add("LogSumExp", func([]float32) float32 { return k.LogSumExp(x) })
			add("Exp", func(out []float32) float32 { k.Exp(out[:len(x)], x); return 0 })
			add("Exp in place", inPlace(k.Exp))
			add("SoftmaxBackward", func(out []float32) float32 { k.SoftmaxBackward(out, y, dy); return 0 })
			add("SoftmaxBackward dx = dy", func(out []float32) float32 {
				copy(out, dy)
				k.SoftmaxBackward(out, y, out)
				return 0
			})
			add("LogSoftmaxBackward", func(out []float32) float32 { k.LogSoftmaxBackward(out, ly, ldy); return 0 })
			add("LogSoftmaxBackward dx = y", func(out []float32) float32 {
				copy(out, ly)
				k.LogSoftmaxBackward(out, out, ldy)
				return 0
			})
			m := len(x) // rows of cols
			add("SoftmaxBackwardRows", func(out []float32) float32 {
				k.SoftmaxBackwardRows(out[:m], y[:m], dy[:m], cols)
				return 0
			})
			add("LogSoftmaxBackwardRows dx = dy", func(out []float32) float32 {
				copy(out, ldy[:m])
				k.LogSoftmaxBackwardRows(out[:m], ly[:m], out[:m], cols)
				return 0
			})
			if n > 0 {
				add("CrossEntropy", func(out []float32) float32 { return k.CrossEntropy(out[:len(x)], x, target%len(x)) })
				add("CrossEntropy nil grad", func([]float32) float32 { return k.CrossEntropy(nil, x, target%len(x)) })
			}
			add("CrossEntropyRows", func(out []float32) float32 { return k.CrossEntropyRows(out[:len(x)], x, tg, cols) })
			add("CrossEntropyRows in place", func(out []float32) float32 {
				copy(out, x)
				return k.CrossEntropyRows(out[:len(x)], out[:len(x)], tg, cols)
			})
		}
	}

	// The serial run.
	want := make([][]float32, len(calls))
	wantS := make([]float32, len(calls))
	for i, c := range calls {
		want[i] = make([]float32, c.n)
		for k := range want[i] {
			want[i][k] = float32(math.NaN())
		}
		wantS[i] = c.run(want[i])
	}

	goroutines, rounds := 8, 3
	if testing.Short() {
		goroutines, rounds = 4, 1
	}
	var (
		wg sync.WaitGroup
		mu sync.Mutex
	)
	for gr := 0; gr < goroutines; gr++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out := make([]float32, 4099)
			for r := 0; r < rounds; r++ {
				// Each goroutine starts at another call, so that different
				// kernels and implementations run at the same time.
				for j := range calls {
					i := (j + gr*len(calls)/goroutines) % len(calls)
					c := calls[i]
					o := out[:c.n]
					for k := range o {
						o[k] = float32(math.NaN())
					}
					s := c.run(o)
					_, same := bitsEqual(o, want[i])
					if !same || math.Float32bits(s) != math.Float32bits(wantS[i]) {
						mu.Lock()
						t.Errorf("%s, goroutine %d round %d: differs from the serial run", c.name, gr, r)
						mu.Unlock()
					}
				}
			}
		}()
	}
	wg.Wait()
}
