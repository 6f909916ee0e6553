package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// SoftmaxBackward and LogSoftmaxBackward on every SIMD implementation
// against generic, bit for bit (see bitexact_test.go for the shared
// helpers).

// backwardKernel is one of the two backward kernels, with the inputs y it
// is meant for: Softmax outputs for SoftmaxBackward, LogSoftmax outputs
// for LogSoftmaxBackward.
type backwardKernel struct {
	name string
	call func(im *Implementation, dx, y, dy []float32)
	log  bool
}

var backwardKernels = []backwardKernel{
	{"SoftmaxBackward", (*Implementation).SoftmaxBackward, false},
	{"LogSoftmaxBackward", (*Implementation).LogSoftmaxBackward, true},
	{"SoftmaxBackwardRows", oneRow((*Implementation).SoftmaxBackwardRows), false},
	{"LogSoftmaxBackwardRows", oneRow((*Implementation).LogSoftmaxBackwardRows), true},
}

// backwardRowsFunc is a batched backward kernel.
type backwardRowsFunc func(im *Implementation, dx, y, dy []float32, cols int)

// backwardRowsKernels pairs each batched kernel with the one-row kernel
// whose bits it must give every row.
var backwardRowsKernels = []struct {
	backwardKernel
	rows backwardRowsFunc
}{
	{backwardKernels[0], (*Implementation).SoftmaxBackwardRows},
	{backwardKernels[1], (*Implementation).LogSoftmaxBackwardRows},
}

// oneRow runs a batched backward kernel on a batch of one row, the whole
// slice (a batch of no rows for an empty one), so that every test of the
// one-row kernels covers the batched ones too.
func oneRow(f backwardRowsFunc) func(im *Implementation, dx, y, dy []float32) {
	return func(im *Implementation, dx, y, dy []float32) { f(im, dx, y, dy, max(len(dx), 1)) }
}

// genericBackwardRows returns generic's one-row kernel's result for each
// row of cols elements of y and dy.
func genericBackwardRows(k backwardKernel, y, dy []float32, cols int) []float32 {
	dx := make([]float32, len(y))
	for r := 0; r < len(y); r += cols {
		k.call(generic, dx[r:r+cols], y[r:r+cols], dy[r:r+cols])
	}
	return dx
}

// backwardBatch returns y and dy for rows rows of cols elements, each row
// drawn on its own (so some rows hold NaN, ±Inf or huge values, next to
// ordinary ones).
func backwardBatch(rng *rand.Rand, rows, cols int, log bool) (y, dy []float32) {
	for range rows {
		ry, rdy := backwardYDY(rng, cols, log)
		y, dy = append(y, ry...), append(dy, rdy...)
	}
	return y, dy
}

// TestBitExactBackwardRows runs the batched kernels on batches of 1 to 17
// rows (groups of eight and what is left of them; every count 0..17 and
// a few more for rows of up to 32) of every length 1..300 (and some
// longer ones), on every
// implementation, out of place and in place (dx = y, dx = dy), against
// the one-row generic kernel on each row.
func TestBitExactBackwardRows(t *testing.T) {
	forEachImpl(t, func(t *testing.T, im *Implementation) {
		for _, k := range backwardRowsKernels {
			t.Run(k.name+"Rows", func(t *testing.T) {
				rng := rand.New(rand.NewPCG(31, 32))
				cols := []int{1000, 4097}
				for n := 1; n <= 300; n++ {
					cols = append(cols, n)
				}
				for _, c := range cols {
					rowCounts := []int{1, 2, 3, 5, 8, 17}
					if c <= 32 {
						// Short rows, which go in groups of eight: every
						// count up to two groups, and a few more.
						rowCounts = []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 23, 24, 33}
					}
					for _, rows := range rowCounts {
						y, dy := backwardBatch(rng, rows, c, k.log)
						want := genericBackwardRows(k.backwardKernel, y, dy, c)
						what := fmt.Sprintf("cols=%d rows=%d", c, rows)
						got := make([]float32, len(y))
						k.rows(im, got, y, dy, c)
						compareBits(t, what, y, want, got)
						in := append([]float32(nil), y...)
						k.rows(im, in, in, dy, c)
						compareBits(t, what+", dx = y", y, want, in)
						in = append(in[:0], dy...)
						k.rows(im, in, y, in, c)
						compareBits(t, what+", dx = dy", y, want, in)
					}
					if t.Failed() {
						return
					}
				}
			})
		}
	})
}

// TestBitExactBackwardRowsOffsets runs the batched kernels on batches at
// every offset within 64 bytes (y, dy and dx apart, then in place), and
// checks that nothing around dx is written.
func TestBitExactBackwardRowsOffsets(t *testing.T) {
	forEachImpl(t, func(t *testing.T, im *Implementation) {
		for _, k := range backwardRowsKernels {
			rng := rand.New(rand.NewPCG(33, 34))
			const pad = 16
			sentinel := math.Float32frombits(0x7fa5a5a5)
			for _, c := range []int{1, 3, 10, 15, 16, 17, 33, 65, 129} {
				const rows = 9 // a group of eight, and one more
				n := rows * c
				y, dy := backwardBatch(rng, rows, c, k.log)
				want := genericBackwardRows(k.backwardKernel, y, dy, c)
				for o := 0; o < 16; o++ {
					ys := aligned64(n + 16)[o : o+n]
					copy(ys, y)
					dys := aligned64(n + 16)[15-o : 15-o+n]
					copy(dys, dy)
					buf := aligned64(n + 16 + 2*pad)
					for i := range buf {
						buf[i] = sentinel
					}
					do := (o * 7) % 16
					dx := buf[pad+do : pad+do+n]
					what := fmt.Sprintf("%sRows cols=%d offsets y %d dy %d dx %d", k.name, c, o, 15-o, do)
					k.rows(im, dx, ys, dys, c)
					compareBits(t, what, y, want, dx)
					for i, v := range buf {
						if (i < pad+do || i >= pad+do+n) && math.Float32bits(v) != math.Float32bits(sentinel) {
							t.Fatalf("%s: wrote element %d outside dx", what, i-pad-do)
						}
					}
					k.rows(im, ys, ys, dys, c)
					compareBits(t, what+", dx = y", y, want, ys)
					copy(ys, y)
					k.rows(im, dys, ys, dys, c)
					compareBits(t, what+", dx = dy", y, want, dys)
				}
				if t.Failed() {
					return
				}
			}
		}
	})
}

// forEachBackward runs f for every SIMD implementation and backward kernel.
func forEachBackward(t *testing.T, f func(t *testing.T, im *Implementation, k backwardKernel)) {
	t.Helper()
	forEachSIMD(t, func(t *testing.T, im *Implementation) {
		for _, k := range backwardKernels {
			t.Run(k.name, func(t *testing.T) { f(t, im, k) })
		}
	})
}

// backwardY returns n values of y: mostly what the kernel gets in
// training (the Softmax, or LogSoftmax, of a row of softmaxInput, which
// has its own special rows), and sometimes arbitrary values (expInput:
// NaN, ±Inf, subnormals, huge values, random bits) or a softmax output
// with specials in it.
func backwardY(rng *rand.Rand, n int, log bool) []float32 {
	y := make([]float32, n)
	switch rng.IntN(9) {
	case 0:
		return expInput(rng, n)
	case 1:
		if log {
			return uniformRow(rng, n, -120, 1)
		}
		return uniformRow(rng, n, 0, 1)
	case 2:
		// Equal logits: with backwardDY's cancelling terms, the products
		// cancel too.
		v := float32(1 / float64(n))
		if log {
			v = float32(-math.Log(float64(n)))
		}
		for i := range y {
			y[i] = v
		}
	default:
		x := softmaxInput(rng, n)
		if log {
			generic.LogSoftmax(y, x)
		} else {
			generic.Softmax(y, x)
		}
		if n > 0 && rng.IntN(6) == 0 {
			y[rng.IntN(n)] = expSpecials[rng.IntN(len(expSpecials))]
		}
	}
	return y
}

// backwardDY returns len(y) values of dy: N(0, 1) at a random scale (down
// to where products with y are subnormal, up to where they overflow
// float32), a cross-entropy-like gradient (small positive values, one of
// them less 1), arbitrary values (expInput), or normal values with pairs
// of huge ones that cancel: those make the sum depend on its order, since
// which small terms a huge partial absorbs depends on the lanes and
// blocks, so that a kernel that adds in any other order than the
// canonical one fails. Some rows get a special value at a random place.
//
// Or dy makes dx the small difference of nearly equal terms, which shows
// the last bits of the float64 intermediates in the float32 result: a
// constant dy for SoftmaxBackward (dy - dot is then about dy*(1 - sum y)),
// and dy = exp(y)*S for LogSoftmaxBackward, S close to the sum of dy (dy -
// exp(y)*sum is then mostly the rounding of the product). A kernel that
// fuses an operation the fallback rounds, or sums in another order, fails
// on those.
func backwardDY(rng *rand.Rand, y []float32, log bool) []float32 {
	n := len(y)
	scale := []float64{1, 1, 1e-3, 1e3, 1e-38, 1e-30, 1e30, 3e38}[rng.IntN(8)]
	var dy []float32
	switch rng.IntN(10) {
	case 8, 9:
		dy = make([]float32, n)
		if !log {
			c := float32(rng.NormFloat64())
			for i := range dy {
				dy[i] = c
			}
			break
		}
		e := genericExp(y)
		s := -1.0
		for range 2 {
			for i := range dy {
				dy[i] = float32(float64(e[i]) * s)
			}
			s = 0
			for _, v := range dy {
				s += float64(v)
			}
		}
	case 0:
		dy = expInput(rng, n)
	case 1:
		dy = uniformRow(rng, n, 0, 1e-2)
		if n > 0 {
			dy[rng.IntN(n)] -= 1
		}
	case 2, 3:
		dy = normalRow(rng, n, 1, 0)
		for p := 0; p < n/8; p++ {
			big := float32(math.Ldexp(1, 40+rng.IntN(60)))
			dy[rng.IntN(n)] = big
			dy[rng.IntN(n)] = -big
		}
	default:
		dy = normalRow(rng, n, scale, 0)
	}
	if n > 0 && rng.IntN(5) == 0 {
		dy[rng.IntN(n)] = expSpecials[rng.IntN(len(expSpecials))]
	}
	return dy
}

// backwardYDY returns y and dy for a row of n elements.
func backwardYDY(rng *rand.Rand, n int, log bool) (y, dy []float32) {
	y = backwardY(rng, n, log)
	return y, backwardDY(rng, y, log)
}

// genericBackward returns generic's result of the kernel.
func genericBackward(k backwardKernel, y, dy []float32) []float32 {
	dx := make([]float32, len(y))
	k.call(generic, dx, y, dy)
	return dx
}

// checkBackward runs the kernel on im out of place and in place (dx = y,
// dx = dy) and compares each with want.
func checkBackward(t *testing.T, what string, im *Implementation, k backwardKernel, y, dy, want []float32) {
	t.Helper()
	got := make([]float32, len(y))
	k.call(im, got, y, dy)
	compareBits(t, what, y, want, got)
	in := append([]float32(nil), y...)
	k.call(im, in, in, dy)
	compareBits(t, what+", dx = y", y, want, in)
	in = append(in[:0], dy...)
	k.call(im, in, y, in)
	compareBits(t, what+", dx = dy", y, want, in)
}

func TestBitExactBackwardLengths(t *testing.T) {
	forEachBackward(t, func(t *testing.T, im *Implementation, k backwardKernel) {
		rng := rand.New(rand.NewPCG(21, 22))
		lengths := []int{4096, 1 << 20}
		for n := 0; n <= 300; n++ {
			lengths = append(lengths, n)
		}
		for _, n := range lengths {
			for rep := 0; rep < 8 && (rep == 0 || n <= 300); rep++ {
				y, dy := backwardYDY(rng, n, k.log)
				want := genericBackward(k, y, dy)
				checkBackward(t, fmt.Sprintf("n=%d rep %d", n, rep), im, k, y, dy, want)
			}
			if t.Failed() {
				return
			}
		}
	})
}

// TestBitExactBackwardLong checks rows whose sums run over many blocks, of
// ordinary values at both kernels' usual scales, where a sum taken in any
// other order would differ in its last bits.
func TestBitExactBackwardLong(t *testing.T) {
	forEachBackward(t, func(t *testing.T, im *Implementation, k backwardKernel) {
		rng := rand.New(rand.NewPCG(23, 24))
		for _, n := range []int{1000, 4095, 4097, 32000, 128256} {
			x := normalRow(rng, n, 4, 0)
			y := make([]float32, n)
			if k.log {
				generic.LogSoftmax(y, x)
			} else {
				generic.Softmax(y, x)
			}
			dy := normalRow(rng, n, 1, 0)
			checkBackward(t, fmt.Sprintf("n=%d", n), im, k, y, dy, genericBackward(k, y, dy))
		}
	})
}

// TestBitExactBackwardSpecials puts each special value at every position
// of y, and of dy, in rows of lengths around the vector and block sizes.
func TestBitExactBackwardSpecials(t *testing.T) {
	forEachBackward(t, func(t *testing.T, im *Implementation, k backwardKernel) {
		rng := rand.New(rand.NewPCG(25, 26))
		for _, n := range []int{1, 7, 15, 16, 17, 33, 64, 65, 79} {
			for _, s := range expSpecials {
				for pos := 0; pos < n; pos++ {
					for _, inY := range []bool{true, false} {
						y, dy := backwardY(rng, n, k.log), normalRow(rng, n, 1, 0)
						where := "dy"
						if inY {
							y[pos], where = s, "y"
						} else {
							dy[pos] = s
						}
						want := genericBackward(k, y, dy)
						got := make([]float32, n)
						k.call(im, got, y, dy)
						compareBits(t, fmt.Sprintf("n=%d, %s[%d] = %#08x", n, where, pos, math.Float32bits(s)), y, want, got)
					}
				}
			}
			if t.Failed() {
				return
			}
		}
	})
}

// TestBitExactBackwardOffsets slices y, dy and dx at every combination of
// offsets within 64 bytes and checks that nothing around dx is written;
// then in place, dx = y and dx = dy, at every offset.
func TestBitExactBackwardOffsets(t *testing.T) {
	forEachBackward(t, func(t *testing.T, im *Implementation, k backwardKernel) {
		rng := rand.New(rand.NewPCG(27, 28))
		const pad = 16
		sentinel := math.Float32frombits(0x7fa5a5a5)
		for _, n := range []int{1, 3, 15, 16, 17, 31, 33, 63, 64, 65, 100, 129, 300} {
			y, dy := backwardYDY(rng, n, k.log)
			want := genericBackward(k, y, dy)
			for yo := 0; yo < 16; yo++ {
				ys := aligned64(n + 16)[yo : yo+n]
				copy(ys, y)
				for dyo := 0; dyo < 16; dyo++ {
					dys := aligned64(n + 16)[dyo : dyo+n]
					copy(dys, dy)
					for do := 0; do < 16; do++ {
						buf := aligned64(n + 16 + 2*pad)
						for i := range buf {
							buf[i] = sentinel
						}
						dx := buf[pad+do : pad+do+n]
						k.call(im, dx, ys, dys)
						what := fmt.Sprintf("n=%d offsets y %d dy %d dx %d", n, yo, dyo, do)
						compareBits(t, what, y, want, dx)
						for i, v := range buf {
							if (i < pad+do || i >= pad+do+n) && math.Float32bits(v) != math.Float32bits(sentinel) {
								t.Fatalf("%s: wrote element %d outside dx", what, i-pad-do)
							}
						}
					}
				}
				// In place at this offset, against a dy at another one.
				dys := aligned64(n + 16)[15-yo : 15-yo+n]
				copy(dys, dy)
				k.call(im, ys, ys, dys)
				compareBits(t, fmt.Sprintf("n=%d offset %d, dx = y", n, yo), y, want, ys)
				copy(ys, y)
				k.call(im, dys, ys, dys)
				compareBits(t, fmt.Sprintf("n=%d offset %d, dx = dy", n, 15-yo), y, want, dys)
			}
			if t.Failed() {
				return
			}
		}
	})
}

// TestGuardBackward places y, dy and dx against inaccessible pages, each
// at the end of one or at the start of one (every combination), for every
// length 0..300, on every implementation; and in place.
func TestGuardBackward(t *testing.T) {
	places := []struct {
		name string
		row  func(testing.TB, int) []float32
	}{{"end", endAtGuard}, {"start", startAfterGuard}}
	forEachImpl(t, func(t *testing.T, im *Implementation) {
		for _, k := range backwardKernels {
			rng := rand.New(rand.NewPCG(29, 30))
			for n := 0; n <= 300; n++ {
				y, dy := backwardYDY(rng, n, k.log)
				want := genericBackward(k, y, dy)
				for c := 0; c < 8; c++ {
					py, pdy, pdx := places[c&1], places[c>>1&1], places[c>>2]
					ys, dys, dx := py.row(t, n), pdy.row(t, n), pdx.row(t, n)
					copy(ys, y)
					copy(dys, dy)
					what := fmt.Sprintf("%s n=%d, y at %s, dy at %s, dx at %s of a page",
						k.name, n, py.name, pdy.name, pdx.name)
					catchFault(t, what, func() { k.call(im, dx, ys, dys) })
					compareBits(t, what, y, want, dx)
					if c&4 == 0 {
						continue
					}
					catchFault(t, what+", dx = y", func() { k.call(im, ys, ys, dys) })
					compareBits(t, what+", dx = y", y, want, ys)
					copy(ys, y)
					catchFault(t, what+", dx = dy", func() { k.call(im, dys, ys, dys) })
					compareBits(t, what+", dx = dy", y, want, dys)
				}
				if t.Failed() {
					return
				}
			}
		}
	})
}

// TestGuardBackwardRows places batches of 9 rows of y, dy and dx against
// inaccessible pages, each at the end of one or at the start of one (every
// combination), for every cols 1..100, on every implementation.
func TestGuardBackwardRows(t *testing.T) {
	places := []struct {
		name string
		row  func(testing.TB, int) []float32
	}{{"end", endAtGuard}, {"start", startAfterGuard}}
	forEachImpl(t, func(t *testing.T, im *Implementation) {
		for _, k := range backwardRowsKernels {
			rng := rand.New(rand.NewPCG(35, 36))
			for c := 1; c <= 100; c++ {
				const rows = 9 // a group of eight, and one more
				n := rows * c
				y, dy := backwardBatch(rng, rows, c, k.log)
				want := genericBackwardRows(k.backwardKernel, y, dy, c)
				for p := 0; p < 8; p++ {
					py, pdy, pdx := places[p&1], places[p>>1&1], places[p>>2]
					ys, dys, dx := py.row(t, n), pdy.row(t, n), pdx.row(t, n)
					copy(ys, y)
					copy(dys, dy)
					what := fmt.Sprintf("%sRows cols=%d, y at %s, dy at %s, dx at %s of a page",
						k.name, c, py.name, pdy.name, pdx.name)
					catchFault(t, what, func() { k.rows(im, dx, ys, dys, c) })
					compareBits(t, what, y, want, dx)
				}
				if t.Failed() {
					return
				}
			}
		}
	})
}

// TestAVX2RegistersVEX checks that no AVX2 function in internal/asm uses a
// register only EVEX (AVX-512) instructions can name: X16-X31, Y16-Y31,
// any Z or K register. avo's register allocator may hand out X16-Y31 when
// more than 16 vectors are live, and Go's assembler then encodes the
// instruction as EVEX (AVX-512VL) where it can, without a word: the
// function faults on a CPU without AVX-512, and no test on one with it
// notices. The generators' ISA check does not see it either, as the
// instruction forms were chosen before allocation.
func TestAVX2RegistersVEX(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "internal", "asm", "*_amd64.s"))
	if err != nil || len(files) == 0 {
		t.Skipf("no assembly files found: %v", err)
	}
	text := regexp.MustCompile(`^TEXT\s+·(\w+)\(SB\)`)
	evex := regexp.MustCompile(`\b([XY](1[6-9]|2[0-9]|3[01])|Z[0-9]+|K[0-7])\b`)
	for _, file := range files {
		src, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		fn := ""
		for i, line := range strings.Split(string(src), "\n") {
			if m := text.FindStringSubmatch(line); m != nil {
				fn = m[1]
				continue
			}
			code, _, _ := strings.Cut(line, "//")
			if strings.HasSuffix(fn, "AVX2") && evex.MatchString(code) {
				t.Errorf("%s:%d: %s uses an EVEX-only register: %s", file, i+1, fn, strings.TrimSpace(code))
			}
		}
	}
}

// TestBitExactBackwardResultClasses gives the rounding step rows whose dx
// are of every class it must keep or replace: ±0, subnormals of both
// signs, ±Inf, ±MaxFloat32, and NaNs of both signs, quiet and signaling,
// with payloads, from dy, from y and from Inf - Inf. Only a NaN may change
// (to the canonical NaN); every other value keeps its bits, sign included.
func TestBitExactBackwardResultClasses(t *testing.T) {
	bits := []uint32{
		0x00000000, 0x80000000, 0x00000001, 0x80000001, 0x007fffff, 0x807fffff,
		0x00800000, 0x80800000, 0x7f7fffff, 0xff7fffff, 0x7f800000, 0xff800000,
		0x3f800000, 0xbf800000, 0x7fc00000, 0xffc00000, 0x7fc12345, 0xffc12345,
		0x7f800001, 0xff812345,
	}
	vals := make([]float32, len(bits))
	for i, b := range bits {
		vals[i] = math.Float32frombits(b)
	}
	forEachBackward(t, func(t *testing.T, im *Implementation, k backwardKernel) {
		for _, n := range []int{1, 10, 16, 17, 20, 40, 64, 100} {
			for rot := 0; rot < len(vals); rot++ {
				for yc := 0; yc < 4; yc++ {
					y, dy := resultClassRow(vals, n, rot, yc, k.log)
					want := genericBackward(k, y, dy)
					checkBackward(t, fmt.Sprintf("n=%d rot %d case %d", n, rot, yc), im, k, y, dy, want)
				}
			}
			if t.Failed() {
				return
			}
		}
	})
	// The batched kernels on batches of such rows, of every case and of dy
	// all -0 (whose sum is +0), in groups of eight and what is left.
	forEachSIMD(t, func(t *testing.T, im *Implementation) {
		for _, k := range backwardRowsKernels {
			for _, cols := range []int{1, 3, 8, 10, 15, 16, 17} {
				for _, rows := range []int{8, 20, 24} {
					var y, dy []float32
					for r := range rows {
						ry, rdy := resultClassRow(vals, cols, r*7, r%5, k.log)
						y, dy = append(y, ry...), append(dy, rdy...)
					}
					want := genericBackwardRows(k.backwardKernel, y, dy, cols)
					what := fmt.Sprintf("%sRows %dx%d", k.name, rows, cols)
					got := make([]float32, len(y))
					k.rows(im, got, y, dy, cols)
					compareBits(t, what, y, want, got)
					in := append([]float32(nil), y...)
					k.rows(im, in, in, dy, cols)
					compareBits(t, what+", dx = y", y, want, in)
					in = append(in[:0], dy...)
					k.rows(im, in, y, in, cols)
					compareBits(t, what+", dx = dy", y, want, in)
				}
			}
		}
	})
}

// resultClassRow returns y and dy of a row of n elements for
// TestBitExactBackwardResultClasses: case yc of the values vals, rotated
// by rot; case 4 is y of every class and dy all -0.
func resultClassRow(vals []float32, n, rot, yc int, log bool) (y, dy []float32) {
	ninf := float32(math.Inf(-1))
	y, dy = make([]float32, n), make([]float32, n)
	for i := range n {
		v := vals[(i+rot)%len(vals)]
		switch yc {
		case 0: // y = -Inf: e = 0, dx = dy (or NaN where sum is)
			y[i], dy[i] = ninf, v
		case 1: // y = 0 or 1, dy one class at a time
			y[i], dy[i] = 0, 0
			if i == rot%n {
				dy[i] = v
			}
		case 2: // y of every class, dy = 1
			y[i], dy[i] = v, 1
		case 3: // both
			y[i], dy[i] = v, vals[(3*i+rot)%len(vals)]
		default: // y of every class, dy = -0
			y[i], dy[i] = v, float32(math.Copysign(0, -1))
		}
	}
	if yc == 1 && !log {
		for i := range y {
			y[i] = 1
		}
	}
	return y, dy
}

// TestBitExactBackwardFastBound checks LogSoftmaxBackward's rows around
// the bound of the avx2 and avx512 kernels' fast rows (|y| <= 87 over the
// row's whole vectors, sum finite): rows of ordinary y with one value at,
// just inside or just outside the bound, or past the exponential's
// clamps, or NaN or Inf, at every position of rows around 1, 2, 3, 4, 6
// and 8 vectors long (avx512's pass 1 takes blocks of 4 vectors, its
// pipeline steps of 2 from 4 vectors on, then single vectors), and
// batches of such rows next to ordinary ones; out of place and in place.
func TestBitExactBackwardFastBound(t *testing.T) {
	b87 := math.Float32bits(87)
	var vals []float32
	for _, b := range []uint32{b87 - 1, b87, b87 + 1} {
		vals = append(vals, math.Float32frombits(b), -math.Float32frombits(b))
	}
	vals = append(vals, 87.5, -87.5, 88.3, 88.4, 88.72, 88.8, 89, 90, 200,
		-87.68, -87.7, -88, -89, -95, -103.3, -104.9, -105, -106, -200,
		float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()))
	rng := rand.New(rand.NewPCG(37, 38))
	row := func(n int) []float32 {
		y := normalRow(rng, n, 5, -20)
		for i, v := range y {
			y[i] = max(-86, min(v, 0))
		}
		return y
	}
	forEachSIMD(t, func(t *testing.T, im *Implementation) {
		for _, k := range backwardKernels {
			if !k.log {
				continue
			}
			for _, n := range []int{16, 17, 31, 32, 33, 47, 48, 49, 63, 64, 65, 80, 96, 127, 128, 129} {
				for _, v := range vals {
					for pos := 0; pos < n; pos++ {
						y := row(n)
						y[pos] = v
						dy := normalRow(rng, n, 1, 0)
						if pos%2 == 0 {
							dy[pos] = 0 // dx = -e*sum, which dy does not hide
						}
						what := fmt.Sprintf("%s n=%d, y[%d] = %v", k.name, n, pos, v)
						checkBackward(t, what, im, k, y, dy, genericBackward(k, y, dy))
					}
				}
				if t.Failed() {
					return
				}
			}
		}
		k := backwardKernels[1]
		// Batches: fast rows and rows that are not, in turn.
		for _, cols := range []int{17, 32, 33, 48, 79, 100, 129, 1000} {
			var y, dy []float32
			for r := range 12 {
				ry := row(cols)
				rdy := normalRow(rng, cols, 1, 0)
				if r%3 != 0 {
					pos := rng.IntN(cols)
					ry[pos], rdy[pos] = vals[rng.IntN(len(vals))], 0
				}
				y, dy = append(y, ry...), append(dy, rdy...)
			}
			want := genericBackwardRows(k, y, dy, cols)
			what := fmt.Sprintf("LogSoftmaxBackwardRows cols=%d", cols)
			got := make([]float32, len(y))
			im.LogSoftmaxBackwardRows(got, y, dy, cols)
			compareBits(t, what, y, want, got)
			in := append([]float32(nil), y...)
			im.LogSoftmaxBackwardRows(in, in, dy, cols)
			compareBits(t, what+", dx = y", y, want, in)
			in = append(in[:0], dy...)
			im.LogSoftmaxBackwardRows(in, y, in, cols)
			compareBits(t, what+", dx = dy", y, want, in)
		}
	})
}
