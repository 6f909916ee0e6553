//go:build unix

package kernels

import (
	"flag"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"testing"
	"time"
	"unsafe"

	"github.com/go-softmax/softmax/fallback"
	"github.com/go-softmax/softmax/internal/ref"
	"golang.org/x/sys/unix"
)

// Rows and batches of more than 2^31 elements, where a kernel that counts
// in 32 bits goes wrong. They need about 8.6 GB of memory and minutes per
// implementation, so they run only when asked:
//
//	go test -run Huge -v -timeout 4h ./kernels -args -huge
var hugeFlag = flag.Bool("huge", false, "run the tests on rows and batches of more than 2^31 elements (8.6 GB of memory, minutes)")

// hugeMem returns n float32 zeros in an anonymous mapping, unmapped when
// the test ends; it skips the test unless -huge is set and int has 64
// bits.
func hugeMem(t *testing.T, n int64) []float32 {
	t.Helper()
	if !*hugeFlag {
		t.Skip("needs -huge")
	}
	if strconv.IntSize < 64 {
		t.Skip("needs 64-bit int")
	}
	mem, err := unix.Mmap(-1, 0, int(4*n), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_ANON|unix.MAP_PRIVATE|unix.MAP_NORESERVE)
	if err != nil {
		t.Fatalf("mmap of %d bytes: %v", 4*n, err)
	}
	t.Cleanup(func() {
		if err := unix.Munmap(mem); err != nil {
			t.Errorf("munmap: %v", err)
		}
	})
	return unsafe.Slice((*float32)(unsafe.Pointer(unsafe.SliceData(mem))), int(n))
}

// hugeRow is a row of one value but at a few positions: the first, both
// sides of element 2^31, and the last, where a kernel with 32-bit counts
// or offsets reads or writes the wrong element or stops early.
type hugeRow struct {
	x   []float32
	pos []int
}

// fill sets the row to base, but vals[k] at pos[k].
func (h *hugeRow) fill(base float32, vals []float32) {
	if base == 0 {
		clear(h.x)
	} else {
		for i := range h.x {
			h.x[i] = base
		}
	}
	for k, p := range h.pos {
		h.x[p] = vals[k]
	}
}

// scan fails t unless every element but those at pos has the bits of
// x[1] (which is not one of them), and returns the sum of all the
// elements in float64.
func (h *hugeRow) scan(t *testing.T, what string) float64 {
	t.Helper()
	x := h.x
	b := math.Float32bits(x[1])
	var sum float64
	next := 0
	for i, v := range x {
		if next < len(h.pos) && i == h.pos[next] {
			next++
		} else if math.Float32bits(v) != b {
			t.Fatalf("%s: [%d] = %v (%#08x), [1] = %v (%#08x): want the same", what, i, v, math.Float32bits(v), x[1], b)
		}
		sum += float64(v)
	}
	return sum
}

// values returns the bits of x[1] and of the elements at pos.
func (h *hugeRow) values() []uint32 {
	out := []uint32{math.Float32bits(h.x[1])}
	for _, p := range h.pos {
		out = append(out, math.Float32bits(h.x[p]))
	}
	return out
}

// ownCode reports whether im runs a kernel of its own rather than
// generic's code, which the huge tests check once, on generic.
func ownCode(im *Implementation, kernel func(kernelSet) any) bool {
	return im == generic || reflect.ValueOf(kernel(im.k)).Pointer() != reflect.ValueOf(kernel(generic.k)).Pointer()
}

// timed runs f and logs how long it took.
func timed(t *testing.T, what string, f func()) {
	t.Helper()
	start := time.Now()
	f()
	t.Logf("%-40s %6.2fs", what, time.Since(start).Seconds())
}

// sameAcross checks that every implementation's result of each kernel has
// the bits of the first implementation's.
type sameAcross map[string][]uint32

func (s sameAcross) check(t *testing.T, im *Implementation, kernel string, bits []uint32) {
	t.Helper()
	first, ok := s[kernel]
	if !ok {
		s[kernel] = bits
		return
	}
	for i := range bits {
		if bits[i] != first[i] {
			t.Errorf("%s %s: value %d is %#08x, the first implementation's %#08x", im.Name(), kernel, i, bits[i], first[i])
		}
	}
}

// TestHugeRow runs every kernel on one row of 2^31 + 17 elements, in place,
// on every implementation: a row of 0 with 1, -1, 3 and 5 at the first
// element, either side of 2^31 and the last, whose results are known in
// closed form. Every element but those must get the same bits; each
// result is checked against the float64 value within the documented
// bound, Softmax's sum against 1, and every implementation's bits against
// the first one's.
func TestHugeRow(t *testing.T) {
	n := int64(1)<<31 + 17
	split := int(n - 17) // 2^31, computed so that 32-bit platforms compile it
	h := &hugeRow{x: hugeMem(t, n), pos: []int{0, split - 1, split, int(n) - 1}}
	vals := []float32{1, -1, 3, 5}
	// S is the sum of exp(x) over the row (its max is 5, but the formulas
	// need no shift at these magnitudes).
	s := float64(n) - float64(len(vals))
	for _, v := range vals {
		s += math.Exp(float64(v))
	}
	lnS := math.Log(s)
	same := sameAcross{}

	for _, im := range Implementations() {
		t.Run(im.Name(), func(t *testing.T) {
			// check scans the row that kernel left, then checks the value
			// of each input (base, then vals) with err, within bound, and
			// the sum of the row against 1 if sum is set.
			check := func(kernel string, inputs []float32, sum bool, bound float64, err func(got float32, v float64) float64) []uint32 {
				t.Helper()
				var total float64
				timed(t, kernel+": check", func() { total = h.scan(t, kernel) })
				bits := h.values()
				for i, b := range bits {
					got := math.Float32frombits(b)
					if e := err(got, float64(inputs[i])); e > bound || e != e {
						t.Errorf("%s: input %v: got %v (%#08x): error %.3f > %g", kernel, inputs[i], got, b, e, bound)
					}
				}
				if sum && math.Abs(total-1) > softmaxSumBound(int(n)) {
					t.Errorf("%s: sum %v, %g from 1 > %g", kernel, total, math.Abs(total-1), softmaxSumBound(int(n)))
				}
				same.check(t, im, kernel, bits)
				return bits
			}
			inputs := append([]float32{0}, vals...)

			h.fill(0, vals)
			var lse float32
			timed(t, "LogSumExp", func() { lse = im.LogSumExp(h.x) })
			if e := logErr(lse, lnS); e > logBound {
				t.Errorf("LogSumExp = %v, want %v: error %.3f", lse, lnS, e)
			}
			same.check(t, im, "LogSumExp", []uint32{math.Float32bits(lse)})
			timed(t, "Softmax in place", func() { im.Softmax(h.x, h.x) })
			sm := check("Softmax", inputs, true, softmaxMaxULP, func(got float32, v float64) float64 {
				u, ok := ref.SoftmaxErr(got, math.Exp(v)/s)
				if !ok {
					return math.Inf(1)
				}
				return u
			})

			if ownCode(im, func(k kernelSet) any { return k.crossEntropy }) {
				h.fill(0, vals)
				var loss float32
				// The target is element 2^31 - 1, the last an int32 can
				// index, whose input is -1.
				timed(t, "CrossEntropy in place", func() { loss = im.CrossEntropy(h.x, h.x, h.pos[1]) })
				if e := logErr(loss, lnS+1); e > logBound {
					t.Errorf("CrossEntropy loss = %v, want %v: error %.3f", loss, lnS+1, e)
				}
				same.check(t, im, "CrossEntropy loss", []uint32{math.Float32bits(loss)})
				h.scan(t, "CrossEntropy")
				want := append([]uint32(nil), sm...)
				want[2] = math.Float32bits(math.Float32frombits(want[2]) - 1)
				for i, g := range h.values() {
					if g != want[i] {
						t.Errorf("CrossEntropy grad of input %v: %#08x, want Softmax - onehot %#08x", inputs[i], g, want[i])
					}
				}
			}

			h.fill(0, vals)
			timed(t, "LogSoftmax in place", func() { im.LogSoftmax(h.x, h.x) })
			check("LogSoftmax", inputs, false, logBound, func(got float32, v float64) float64 { return logErr(got, v-lnS) })

			h.fill(0, vals)
			timed(t, "Exp in place", func() { im.Exp(h.x, h.x) })
			check("Exp", inputs, false, expMaxULP, func(got float32, v float64) float64 { return ref.ULPErr(got, math.Exp(v)) })

			// SoftmaxBackward(y, y, y): dx = y*(y - <y, y>).
			yv := []float32{0x1p-31, 0.25, 0.125, 0.5, 0.0625}
			dot := float64(n-4) * float64(yv[0]) * float64(yv[0])
			for _, v := range yv[1:] {
				dot += float64(v) * float64(v)
			}
			h.fill(yv[0], yv[1:])
			timed(t, "SoftmaxBackward dx = y = dy", func() { im.SoftmaxBackward(h.x, h.x, h.x) })
			check("SoftmaxBackward", yv, false, backwardBound, func(got float32, v float64) float64 {
				return gradErr(got, v*(v-dot), v*(v+dot))
			})

			// LogSoftmaxBackward(y, y, y): dx = y - exp(y)*sum(y).
			ly := []float32{-21.5, -1, -2, -3, -0.5}
			sum, abs := float64(n-4)*float64(ly[0]), float64(n-4)*math.Abs(float64(ly[0]))
			for _, v := range ly[1:] {
				sum += float64(v)
				abs += math.Abs(float64(v))
			}
			h.fill(ly[0], ly[1:])
			timed(t, "LogSoftmaxBackward dx = y = dy", func() { im.LogSoftmaxBackward(h.x, h.x, h.x) })
			check("LogSoftmaxBackward", ly, false, backwardBound, func(got float32, v float64) float64 {
				return gradErr(got, v-math.Exp(v)*sum, math.Abs(v)+math.Exp(v)*abs)
			})

			// The only +Inf is the last element: all NaN.
			h.fill(0, []float32{1, -1, 3, inf})
			timed(t, "LogSumExp, +Inf last", func() { lse = im.LogSumExp(h.x) })
			if lse != inf {
				t.Errorf("LogSumExp with +Inf last = %v, want +Inf", lse)
			}
			timed(t, "Softmax in place, +Inf last", func() { im.Softmax(h.x, h.x) })
			check("Softmax, +Inf last", inputs, false, 0, func(got float32, _ float64) float64 {
				if isCanonicalNaN(got) {
					return 0
				}
				return math.Inf(1)
			})
		})
	}
}

// TestHugeBatch runs the batched kernels on batches of more than 2^31
// elements, in place, on every implementation: 2^21 + 1 rows of 1024 (the
// same row but the last, which ends in the row's maximum) and 2^31 + 1
// rows of one element. Every row must have the bits of package fallback on
// the same row.
func TestHugeBatch(t *testing.T) {
	const cols = 1024
	rows := 1<<21 + 1
	n := int64(rows) * cols
	x := hugeMem(t, n)
	row := func(r, j int) float32 {
		if r == rows-1 && j == cols-1 {
			return 100
		}
		return float32(j%37)*0.75 - 9
	}
	fill := func() {
		for j := 0; j < cols; j++ {
			x[j] = row(0, j)
		}
		for r := 1; r < rows; r++ {
			copy(x[r*cols:(r+1)*cols], x[:cols])
		}
		x[len(x)-1] = row(rows-1, cols-1)
	}
	// The reference: package fallback on the first row and the last.
	small := make([]float32, 2*cols)
	for j := range small {
		small[j] = row(rows-2+j/cols, j%cols)
	}
	// checkRows fails t unless every row but the last has the bits of
	// want's first, and the last has those of want's second.
	checkRows := func(t *testing.T, what string, want []float32) {
		t.Helper()
		timed(t, what+": check", func() {
			for r := 0; r < rows; r++ {
				w := want[:cols]
				if r == rows-1 {
					w = want[cols:]
				}
				if i, ok := bitsEqual(x[r*cols:(r+1)*cols], w); !ok {
					t.Fatalf("%s: row %d [%d] = %#08x, fallback %#08x", what, r, i, math.Float32bits(x[r*cols+i]), math.Float32bits(w[i]))
				}
			}
		})
	}
	targets := make([]int32, rows)
	for r := range targets {
		targets[r] = int32(r % cols)
	}
	targets[rows-1] = cols - 1
	// The float64 loss of the first row at each target, of the last at its.
	lossOf := make([]float64, cols)
	for j := range lossOf {
		lossOf[j] = ref.CrossEntropy(nil, small[:cols], j)
	}
	lastLoss := ref.CrossEntropy(nil, small[cols:], cols-1)
	// SoftmaxRows of rows of one element, -3..3.
	oneIn := []float32{-3, -2, -1, 0, 1, 2, 3}
	oneBits := make([]float32, len(oneIn))
	fallback.SoftmaxRows(oneBits, oneIn, 1)

	for _, im := range Implementations() {
		t.Run(im.Name(), func(t *testing.T) {
			want := make([]float32, len(small))
			fill()
			fallback.SoftmaxRows(want, small, cols)
			timed(t, fmt.Sprintf("SoftmaxRows %dx%d in place", rows, cols), func() { im.SoftmaxRows(x, x, cols) })
			checkRows(t, "SoftmaxRows", want)

			fill()
			fallback.LogSoftmaxRows(want, small, cols)
			timed(t, fmt.Sprintf("LogSoftmaxRows %dx%d in place", rows, cols), func() { im.LogSoftmaxRows(x, x, cols) })
			checkRows(t, "LogSoftmaxRows", want)

			if ownCode(im, func(k kernelSet) any { return k.crossEntropyRows }) {
				// CrossEntropyRows: the targets differ from row to row, so
				// check the gradient against SoftmaxRows's output, less 1 at
				// the target, and the mean loss against that of the two rows.
				fill()
				fallback.SoftmaxRows(want, small, cols)
				var loss float32
				timed(t, fmt.Sprintf("CrossEntropyRows %dx%d in place", rows, cols), func() { loss = im.CrossEntropyRows(x, x, targets, cols) })
				timed(t, "CrossEntropyRows: check", func() {
					for r := 0; r < rows; r++ {
						w := want[:cols]
						if r == rows-1 {
							w = want[cols:]
						}
						g := x[r*cols : (r+1)*cols]
						tg := int(targets[r])
						if g[tg] != w[tg]-1 {
							t.Fatalf("CrossEntropyRows: row %d: grad at the target %v, want %v", r, g[tg], w[tg]-1)
						}
						g[tg] = w[tg]
						if i, ok := bitsEqual(g, w); !ok {
							t.Fatalf("CrossEntropyRows: row %d [%d] = %#08x, Softmax %#08x", r, i, math.Float32bits(g[i]), math.Float32bits(w[i]))
						}
					}
				})
				var sum float64
				for r := 0; r < rows; r++ {
					sum += lossOf[targets[r]]
				}
				sum += lastLoss - lossOf[targets[rows-1]]
				if e := logErr(loss, sum/float64(rows)); e > logBound {
					t.Errorf("CrossEntropyRows loss %v, want %v: error %.3f > %g", loss, sum/float64(rows), e, logBound)
				}
			}

			// 2^31 + 1 rows of one element: x, 0 or NaN.
			one := x[:len(x)-cols+1] // 2^31 + 1 elements
			for i := range one {
				one[i] = float32(i%7) - 3
			}
			one[0], one[len(one)-1] = ninf, nan
			timed(t, fmt.Sprintf("SoftmaxRows %dx1 in place", len(one)), func() { im.SoftmaxRows(one, one, 1) })
			timed(t, "SoftmaxRows x1: check", func() {
				for i, v := range one {
					var w uint32
					switch {
					case i == 0:
						w = 0
					case i == len(one)-1:
						w = canonicalNaNBits
					default:
						w = math.Float32bits(oneBits[i%7])
					}
					if math.Float32bits(v) != w {
						t.Fatalf("SoftmaxRows x1: [%d] = %#08x, want %#08x", i, math.Float32bits(v), w)
					}
				}
			})
		})
	}
}
