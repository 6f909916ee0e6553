//go:build !purego

package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/go-softmax/softmax/fallback"
	"github.com/go-softmax/softmax/internal/asm"
)

// shortBackwardKernels are the short backward kernels, run directly: rows
// a multiple of 8 of at most 16 columns. reach is how many elements of y
// and dy from the start of the last row a kernel may read: the AVX2 ones
// load 16 there, the AVX-512 ones only the row, under masks.
var shortBackwardKernels = []struct {
	name  string
	im    *Implementation
	run   func(dx, y, dy []float32, rows, cols int)
	want  func(dx, y, dy []float32, cols int)
	log   bool
	reach int
}{
	{"SoftmaxBackwardShortRowsAVX512", avx512, asm.SoftmaxBackwardShortRowsAVX512, fallback.SoftmaxBackwardRows, false, 0},
	{"LogSoftmaxBackwardShortRowsAVX512", avx512, asm.LogSoftmaxBackwardShortRowsAVX512, fallback.LogSoftmaxBackwardRows, true, 0},
	{"SoftmaxBackwardShortRowsAVX2", avx2, asm.SoftmaxBackwardShortRowsAVX2, fallback.SoftmaxBackwardRows, false, 16},
	{"LogSoftmaxBackwardShortRowsAVX2", avx2, asm.LogSoftmaxBackwardShortRowsAVX2, fallback.LogSoftmaxBackwardRows, true, 16},
}

// shortBackwardLen returns the length of y and dy a short backward kernel
// needs for rows rows of cols elements.
func shortBackwardLen(rows, cols, reach int) int { return max(rows*cols, (rows-1)*cols+reach) }

// TestBitExactShortBackwardKernels runs the short backward kernels
// directly on every row length they take, 1..16, in batches of 8 to 40
// rows (of backwardBatch's rows, all kinds, NaN and Inf included; and of
// signed zeros, where a row of -0s in dy must sum to +0 as the fallback's
// does), out of place and in place (dx = y, dx = dy), with y and dy only
// as long as the kernel may read and NaNs past the rows: the rows must
// have the fallback's bits, and nothing of dx past them may be written.
func TestBitExactShortBackwardKernels(t *testing.T) {
	rng := rand.New(rand.NewPCG(61, 62))
	for _, k := range shortBackwardKernels {
		if !k.im.supported() {
			continue
		}
		for cols := 1; cols <= 16; cols++ {
			for _, rows := range []int{8, 16, 24, 40, 0} {
				var y, dy []float32
				what := fmt.Sprintf("%s %dx%d", k.name, rows, cols)
				if rows == 0 {
					// Signed zeros: rows of dy all +0, all -0, or mixed.
					rows = 24
					what = fmt.Sprintf("%s %dx%d, signed zeros", k.name, rows, cols)
					y, _ = backwardBatch(rng, rows, cols, k.log)
					dy = make([]float32, rows*cols)
					for r := range rows {
						kind := rng.IntN(3)
						for i := range cols {
							if kind == 1 || kind == 2 && rng.IntN(2) == 0 {
								dy[r*cols+i] = float32(math.Copysign(0, -1))
							}
						}
					}
				} else {
					y, dy = backwardBatch(rng, rows, cols, k.log)
				}
				n := rows * cols
				want := make([]float32, n)
				k.want(want, y, dy, cols)
				ln := shortBackwardLen(rows, cols, k.reach)
				pad := func(x []float32) []float32 {
					p := make([]float32, ln+cols)
					copy(p, x)
					for i := n; i < len(p); i++ {
						p[i] = float32(math.NaN())
					}
					return p
				}
				for _, in := range []string{"", ", dx = y", ", dx = dy"} {
					ys, dys := pad(y), pad(dy)
					dx := make([]float32, n+cols)
					for i := range dx {
						dx[i] = groupSentinel
					}
					switch in {
					case ", dx = y":
						dx = ys
					case ", dx = dy":
						dx = dys
					}
					k.run(dx[:n], ys[:ln], dys[:ln], rows, cols)
					compareBits(t, what+in, y, want, dx[:n])
					for i := n; i < len(dx); i++ {
						if in == "" && dx[i] != groupSentinel || in != "" && dx[i] == dx[i] {
							t.Fatalf("%s%s: element %d written past the rows", what, in, i)
						}
					}
				}
			}
			if t.Failed() {
				return
			}
		}
	}
}

// TestGuardShortBackwardKernels places y, dy and dx of the short backward
// kernels against inaccessible pages, before and after, y and dy exactly
// as long as the kernel may read, out of place and in place: the kernels
// must not touch the pages.
func TestGuardShortBackwardKernels(t *testing.T) {
	rng := rand.New(rand.NewPCG(63, 64))
	places := []struct {
		name string
		row  func(testing.TB, int) []float32
	}{{"end", endAtGuard}, {"start", startAfterGuard}}
	for _, k := range shortBackwardKernels {
		if !k.im.supported() {
			continue
		}
		for cols := 1; cols <= 16; cols++ {
			for _, rows := range []int{8, 16} {
				y, dy := backwardBatch(rng, rows, cols, k.log)
				n, ln := rows*cols, shortBackwardLen(rows, cols, k.reach)
				want := make([]float32, n)
				k.want(want, y, dy, cols)
				for p := 0; p < 8; p++ {
					py, pdy, pdx := places[p&1], places[p>>1&1], places[p>>2]
					ys, dys, dx := py.row(t, ln), pdy.row(t, ln), pdx.row(t, n)
					copy(ys, y)
					copy(dys, dy)
					what := fmt.Sprintf("%s %dx%d, y at %s, dy at %s, dx at %s of a page",
						k.name, rows, cols, py.name, pdy.name, pdx.name)
					catchFault(t, what, func() { k.run(dx, ys, dys, rows, cols) })
					compareBits(t, what, y, want, dx)
					if p&4 == 0 {
						continue
					}
					// In place, each of y and dy ending at a page (when
					// placed there) with dx its first n elements.
					catchFault(t, what+", dx = y", func() { k.run(ys[:n], ys, dys, rows, cols) })
					compareBits(t, what+", dx = y", y, want, ys[:n])
					copy(ys, y)
					catchFault(t, what+", dx = dy", func() { k.run(dys[:n], ys, dys, rows, cols) })
					compareBits(t, what+", dx = dy", y, want, dys[:n])
				}
				if t.Failed() {
					return
				}
			}
		}
	}
}
