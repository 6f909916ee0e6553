package kernels

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/go-softmax/softmax/fallback"
	"github.com/go-softmax/softmax/internal/ref"
)

// Fuzz targets, one per kernel:
//
//	go test -run '^$' -fuzz '^FuzzSoftmax$' -fuzztime 1m ./kernels
//
// Each decodes its input (see fuzzCase) into rows of float32s, runs the
// kernel on every implementation this CPU runs, at the decoded alignment,
// in place or not, and checks
//   - that each returns the bits of package fallback, called directly;
//   - that nothing around the destination, and nothing in a source that is
//     not also the destination, is written;
//   - the semantics of the package documentation: NaN, ±Inf and empty rows,
//     the ranges of the results, and the accuracy bounds, which hold for
//     any input (checked against internal/ref on the fallback's output,
//     which every implementation matches).
//
// Without -fuzz, go test runs the seeds: those added by each target and
// the files in testdata/fuzz/FuzzX (Go's corpus format; a failure the
// fuzzer finds is written there, and stays as a regression test).

// A fuzz input is a header of fuzzHeader bytes (missing bytes read as 0)
// followed by the elements, 4 little-endian bytes each:
//
//	[0]     bits 0-1: 0 or 3 out of place, 1 dst = src (dx = y), 2 dx = dy
//	        (the one-source kernels run in place for 1 and 2);
//	        bit 2: nil grad (CrossEntropy); bits 3-5: how the elements
//	        beyond the given ones are made (fuzzFill)
//	[1]     offsets of src (y) and dst (dx), in elements: low and high nibble
//	[2]     low nibble: offset of dy
//	[3:5]   the number of elements n, mod fuzzMaxLen+1
//	[5:7]   selects cols for the batched kernels: 1 + v % n, so that a
//	        batch is n/cols whole rows (n rounded down to them)
//	[7:9]   t0, [9:11] t1: the target of row r is (t0 + r*t1) % cols
//	[11]    a parameter of the fill: the scale of random logits
const (
	fuzzHeader = 12
	fuzzMaxLen = 4096
)

// fuzzCase is a decoded fuzz input.
type fuzzCase struct {
	place   int // 0 out of place, 1 dst = src (dx = y), 2 dx = dy
	nilGrad bool
	fill    int
	off     [3]int // offsets of src (y), dst (dx), dy within 64 bytes
	n       int
	colsSel int
	t0, t1  int
	param   byte
	data    []byte // the element bytes
	seed    uint64 // for the generated elements: a hash of the input
}

func decodeFuzz(b []byte) *fuzzCase {
	var h [fuzzHeader]byte
	copy(h[:], b)
	c := &fuzzCase{
		place:   int(h[0] & 3 % 3),
		nilGrad: h[0]&4 != 0,
		fill:    int(h[0] >> 3 & 7),
		off:     [3]int{int(h[1] & 15), int(h[1] >> 4), int(h[2] & 15)},
		n:       int(binary.LittleEndian.Uint16(h[3:])) % (fuzzMaxLen + 1),
		colsSel: int(binary.LittleEndian.Uint16(h[5:])),
		t0:      int(binary.LittleEndian.Uint16(h[7:])),
		t1:      int(binary.LittleEndian.Uint16(h[9:])),
		param:   h[11],
	}
	if len(b) > fuzzHeader {
		c.data = b[fuzzHeader:]
	}
	hash := fnv.New64a()
	hash.Write(b)
	c.seed = hash.Sum64()
	return c
}

// fuzzFill names the ways the elements past the given ones are made.
var fuzzFill = [8]string{
	"repeat the given elements",
	"random logits, N(0, scale) or so",
	"-Inf",
	"the last given element",
	"random bit patterns",
	"special values",
	"zeros",
	"uniform in [-110, 0]",
}

// fuzzScales are the scales of the random logits, chosen by the parameter.
var fuzzScales = []float64{1, 4, 16, 100, 1e4, 1e30, 1e-3, 80, 3e38}

// values returns count elements: the given ones, then fill's.
func (c *fuzzCase) values(count int) []float32 {
	x := make([]float32, count)
	given := min(count, len(c.data)/4)
	for i := range x[:given] {
		x[i] = math.Float32frombits(binary.LittleEndian.Uint32(c.data[4*i:]))
	}
	state := c.seed
	next := func() uint64 { // splitmix64
		state += 0x9e3779b97f4a7c15
		z := state
		z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
		z = (z ^ z>>27) * 0x94d049bb133111eb
		return z ^ z>>31
	}
	unit := func() float64 { return float64(next()>>11) / (1 << 53) }
	scale := fuzzScales[int(c.param)%len(fuzzScales)]
	for i := given; i < count; i++ {
		var v float32
		switch c.fill {
		case 0:
			if given > 0 {
				v = x[i%given]
			}
		case 1:
			v = float32((unit() + unit() + unit() - 1.5) * 2 * scale)
		case 2:
			v = ninf
		case 3:
			if given > 0 {
				v = x[given-1]
			}
		case 4:
			v = math.Float32frombits(uint32(next()))
		case 5:
			v = expSpecials[next()%uint64(len(expSpecials))]
		case 6:
			v = 0
		case 7:
			v = float32(-110 * unit())
		}
		x[i] = v
	}
	return x
}

// row returns the n elements of a one-row kernel.
func (c *fuzzCase) row() []float32 { return c.values(c.n) }

// batch returns the elements and cols of a batched kernel: n rounded down
// to whole rows.
func (c *fuzzCase) batch() ([]float32, int) {
	if c.n == 0 {
		return nil, 1 + c.colsSel%64
	}
	cols := 1 + c.colsSel%c.n
	return c.values(c.n / cols * cols), cols
}

// pair returns y and dy of a backward kernel, interleaved in the input.
func (c *fuzzCase) pair() (y, dy []float32) {
	v := c.values(2 * c.n)
	y, dy = make([]float32, c.n), make([]float32, c.n)
	for i := range y {
		y[i], dy[i] = v[2*i], v[2*i+1]
	}
	return y, dy
}

// targets returns the class of each of rows rows of cols elements.
func (c *fuzzCase) targets(rows, cols int) []int32 {
	t := make([]int32, rows)
	for r := range t {
		t[r] = int32((c.t0 + r*c.t1) % cols)
	}
	return t
}

func (c *fuzzCase) String() string {
	return fmt.Sprintf("n=%d place=%d offsets=%v fill=%q", c.n, c.place, c.off, fuzzFill[c.fill])
}

// fuzzSeed encodes a fuzz input: the header fields, then the elements.
func fuzzSeed(mode, offs byte, n, cols, t0, t1 int, param byte, x ...float32) []byte {
	b := make([]byte, fuzzHeader, fuzzHeader+4*len(x))
	b[0], b[1], b[11] = mode, offs, param
	binary.LittleEndian.PutUint16(b[3:], uint16(n))
	binary.LittleEndian.PutUint16(b[5:], uint16(cols))
	binary.LittleEndian.PutUint16(b[7:], uint16(t0))
	binary.LittleEndian.PutUint16(b[9:], uint16(t1))
	for _, v := range x {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
	}
	return b
}

// Fill modes for fuzzSeed's mode byte.
const (
	fillRepeat  = 0 << 3
	fillRandom  = 1 << 3
	fillNegInf  = 2 << 3
	fillLast    = 3 << 3
	fillBits    = 4 << 3
	fillSpecial = 5 << 3
	fillZero    = 6 << 3
	fillUnder   = 7 << 3
)

// addRowSeeds adds the seeds shared by the row kernels: rows of the
// special kinds of the documentation, at lengths around the vector and
// block sizes, aligned and not, in place and not.
func addRowSeeds(f *testing.F) {
	max32 := float32(math.MaxFloat32)
	for _, s := range [][]byte{
		fuzzSeed(0, 0, 0, 0, 0, 0, 0),
		fuzzSeed(fillRepeat, 0, 1, 0, 0, 0, 0, 3),
		fuzzSeed(fillRandom, 0x31, 100, 9, 3, 1, 1),
		fuzzSeed(fillRandom|1, 0x07, 4096, 1023, 17, 5, 2),
		fuzzSeed(fillRandom, 0xf1, 1000, 99, 1, 1, 5, 1e30, -1e30),
		fuzzSeed(fillNegInf|1, 0x55, 67, 66, 2, 0, 0, 0, 1, 2),
		fuzzSeed(fillNegInf, 0x10, 17, 16, 0, 0, 0),
		fuzzSeed(fillRepeat, 0x0f, 33, 10, 0, 3, 0, nan, 1, 2),
		fuzzSeed(fillRepeat, 0x3c, 65, 64, 5, 0, 0, inf, -1, 2, ninf),
		fuzzSeed(fillLast, 0x21, 300, 29, 7, 11, 0, max32, -max32, max32),
		fuzzSeed(fillBits, 0x9a, 129, 42, 1, 2, 0),
		fuzzSeed(fillSpecial, 0x44, 79, 15, 3, 3, 0),
		fuzzSeed(fillZero|2, 0x08, 48, 47, 0, 1, 0, negZero),
		fuzzSeed(fillRepeat, 0x00, 1, 0, 0, 0, 0, negZero),
		fuzzSeed(fillRepeat|1, 0x00, 1, 0, 0, 0, 0, -4.3362412),
		fuzzSeed(fillUnder, 0x62, 200, 19, 9, 4, 0, 0),
		fuzzSeed(fillRandom, 0x00, 257, 256, 0, 0, 3, -87.5, -87.0, -103.9),
	} {
		f.Add(s)
	}
}

// fuzzSentinel marks the elements around a destination.
var fuzzSentinel = math.Float32frombits(0x7fa5a5a5)

// fuzzSlot is a slice at an offset in a 64-byte-aligned buffer, with
// sentinels on both sides.
type fuzzSlot struct {
	buf []float32
	lo  int
	s   []float32
}

const fuzzPad = 16

// newSlot returns a slot of len(x) elements at offset off, holding x, or
// sentinels if x is nil and n > 0.
func newSlot(x []float32, n, off int) *fuzzSlot {
	buf := aligned64(n + 16 + 2*fuzzPad)
	for i := range buf {
		buf[i] = fuzzSentinel
	}
	sl := &fuzzSlot{buf: buf, lo: fuzzPad + off, s: buf[fuzzPad+off : fuzzPad+off+n]}
	copy(sl.s, x)
	return sl
}

// intact fails t if anything around the slot was written.
func (sl *fuzzSlot) intact(t *testing.T, what string) {
	t.Helper()
	for i, v := range sl.buf {
		if (i < sl.lo || i >= sl.lo+len(sl.s)) && math.Float32bits(v) != math.Float32bits(fuzzSentinel) {
			t.Fatalf("%s: wrote element %d outside the destination", what, i-sl.lo)
		}
	}
}

// runElementwise runs f(dst, src) on x as c places it and compares dst
// with want, and src, out of place, with x.
func (c *fuzzCase) runElementwise(t *testing.T, what string, x, want []float32, f func(dst, src []float32)) {
	t.Helper()
	what = fmt.Sprintf("%s (%v)", what, c)
	src := newSlot(x, len(x), c.off[0])
	if c.place != 0 {
		f(src.s, src.s)
		compareBits(t, what+", in place", x, want, src.s)
		src.intact(t, what)
		return
	}
	dst := newSlot(nil, len(x), c.off[1])
	f(dst.s, src.s)
	compareBits(t, what, x, want, dst.s)
	dst.intact(t, what)
	compareBits(t, what+": src written", x, x, src.s)
}

// rowClass classifies a row as the documentation does.
type rowClass int

const (
	classFinite rowClass = iota // some finite element, no NaN or +Inf
	classMasked                 // empty or all -Inf
	classNaN                    // a NaN or a +Inf
)

func classify(x []float32) rowClass {
	k := classMasked
	for _, v := range x {
		switch {
		case v != v || math.IsInf(float64(v), 1):
			return classNaN
		case !math.IsInf(float64(v), -1):
			k = classFinite
		}
	}
	return k
}

// checkAll fails t unless every element of y satisfies ok.
func checkAll(t *testing.T, what string, x, y []float32, ok func(x, y float32) bool) {
	t.Helper()
	for i := range y {
		if !ok(x[i], y[i]) {
			t.Fatalf("%s: [%d] x = %v (%#08x): got %v (%#08x)", what, i, x[i], math.Float32bits(x[i]), y[i], math.Float32bits(y[i]))
		}
	}
}

func isPosZero(v float32) bool { return math.Float32bits(v) == 0 }

// softmaxSumBound is how far the sum of a Softmax row of n elements may be
// from 1: each output with a reference >= 2^-126 is within 2 ULP of it,
// and an ULP there is at most 2^-23 of the reference, so those outputs
// are together within 2^-22 of their references' sum; each other output is
// within 2^-126 of its reference; the references sum to 1; and summing
// the outputs in float64 adds at most n*2^-53.
func softmaxSumBound(n int) float64 {
	return softmaxMaxULP*0x1p-23 + float64(n)*(0x1p-126+0x1p-53)
}

// checkSoftmaxRow checks a Softmax row y of x against the documentation:
// canonical NaNs for a row with NaN or +Inf, +0 for a masked row and for
// -Inf elements, outputs in [0, 1] summing to 1 within softmaxSumBound,
// each within softmaxMaxULP of the float64 reference.
func checkSoftmaxRow(t *testing.T, what string, x, y []float32) {
	t.Helper()
	switch classify(x) {
	case classNaN:
		checkAll(t, what+": row with NaN or +Inf, want canonical NaN", x, y, func(_, y float32) bool { return isCanonicalNaN(y) })
		return
	case classMasked:
		checkAll(t, what+": masked row, want +0", x, y, func(_, y float32) bool { return isPosZero(y) })
		return
	}
	checkAll(t, what+": want +0 for -Inf, else in [0, 1]", x, y, func(x, y float32) bool {
		if math.IsInf(float64(x), -1) {
			return isPosZero(y)
		}
		return y >= 0 && y <= 1 && !math.Signbit(float64(y))
	})
	want := make([]float64, len(x))
	ref.Softmax(want, x)
	var sum float64
	for i, v := range y {
		sum += float64(v)
		if u, ok := ref.SoftmaxErr(v, want[i]); !ok || u > softmaxMaxULP {
			t.Fatalf("%s: [%d] = %v (%#08x), reference %v: %.3f ULP > %g", what, i, v, math.Float32bits(v), want[i], u, softmaxMaxULP)
		}
	}
	if d := math.Abs(sum - 1); d > softmaxSumBound(len(y)) {
		t.Fatalf("%s: sum %v is %g from 1 > %g", what, sum, d, softmaxSumBound(len(y)))
	}
}

// checkLogSoftmaxRow checks a LogSoftmax row: canonical NaNs, -Inf for a
// masked row and for the -Inf elements, every output <= 0 and within
// logBound of the float64 reference (so -Inf for a finite element only
// where the reference is below the float32 range).
func checkLogSoftmaxRow(t *testing.T, what string, x, y []float32) {
	t.Helper()
	switch classify(x) {
	case classNaN:
		checkAll(t, what+": row with NaN or +Inf, want canonical NaN", x, y, func(_, y float32) bool { return isCanonicalNaN(y) })
		return
	case classMasked:
		checkAll(t, what+": masked row, want -Inf", x, y, func(_, y float32) bool { return y == ninf })
		return
	}
	checkAll(t, what+": want -Inf for -Inf, else <= 0", x, y, func(x, y float32) bool {
		return (x != ninf || y == ninf) && y <= 0
	})
	want := make([]float64, len(x))
	ref.LogSoftmax(want, x)
	for i, v := range y {
		if e := logErr(v, want[i]); e > logBound {
			t.Fatalf("%s: [%d] = %v (%#08x), reference %v: error %.3f > %g", what, i, v, math.Float32bits(v), want[i], e, logBound)
		}
	}
}

// checkLogSumExp checks a LogSumExp result: NaN for a row with NaN, +Inf
// for a row with +Inf and no NaN, -Inf for an empty or masked row, and
// within logBound of the reference.
func checkLogSumExp(t *testing.T, what string, x []float32, lse float32) {
	t.Helper()
	want := ref.LogSumExp(x)
	if want != want {
		if !isCanonicalNaN(lse) {
			t.Fatalf("%s: %v (%#08x), want the canonical NaN", what, lse, math.Float32bits(lse))
		}
		return
	}
	if e := logErr(lse, want); e > logBound {
		t.Fatalf("%s: %v (%#08x), reference %v: error %.3f > %g", what, lse, math.Float32bits(lse), want, e, logBound)
	}
}

// compareScalar fails t if got and want differ in any bit.
func compareScalar(t *testing.T, what string, want, got float32) {
	t.Helper()
	if math.Float32bits(want) != math.Float32bits(got) {
		t.Errorf("%s: got %v (%#08x), fallback %v (%#08x)", what, got, math.Float32bits(got), want, math.Float32bits(want))
	}
}

// fuzzRow is the body of the fuzz target of a one-row kernel: ref is
// package fallback's, check checks its output, and kernel returns an
// implementation's.
func fuzzRow(f *testing.F, name string, ref func(dst, src []float32), check func(t *testing.T, what string, x, y []float32),
	kernel func(im *Implementation) func(dst, src []float32)) {
	addRowSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		c := decodeFuzz(data)
		x := c.row()
		want := make([]float32, len(x))
		ref(want, x)
		check(t, "fallback."+name, x, want)
		for _, im := range Implementations() {
			c.runElementwise(t, im.Name()+" "+name, x, want, kernel(im))
		}
	})
}

// fuzzBatch is the body of the fuzz target of a batched kernel: ref is
// package fallback's, which must give each row refRow's bits, the one-row
// kernel's, which check checks; kernel returns an implementation's.
func fuzzBatch(f *testing.F, name string, ref func(dst, src []float32, cols int), refRow func(dst, src []float32),
	check func(t *testing.T, what string, x, y []float32), kernel func(im *Implementation) func(dst, src []float32, cols int)) {
	addRowSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		c := decodeFuzz(data)
		x, cols := c.batch()
		want := make([]float32, len(x))
		ref(want, x, cols)
		row := make([]float32, cols)
		for r := 0; r < len(x); r += cols {
			what := fmt.Sprintf("fallback.%s, cols %d, row %d", name, cols, r/cols)
			refRow(row, x[r:r+cols])
			compareBits(t, what+" against the one-row kernel", x[r:r+cols], row, want[r:r+cols])
			check(t, what, x[r:r+cols], want[r:r+cols])
		}
		for _, im := range Implementations() {
			k := kernel(im)
			c.runElementwise(t, fmt.Sprintf("%s %s cols %d", im.Name(), name, cols), x, want,
				func(dst, src []float32) { k(dst, src, cols) })
		}
	})
}

func FuzzSoftmax(f *testing.F) {
	fuzzRow(f, "Softmax", fallback.Softmax, checkSoftmaxRow,
		func(im *Implementation) func(dst, src []float32) { return im.Softmax })
}

func FuzzSoftmaxRows(f *testing.F) {
	fuzzBatch(f, "SoftmaxRows", fallback.SoftmaxRows, fallback.Softmax, checkSoftmaxRow,
		func(im *Implementation) func(dst, src []float32, cols int) { return im.SoftmaxRows })
}

func FuzzLogSoftmax(f *testing.F) {
	fuzzRow(f, "LogSoftmax", fallback.LogSoftmax, checkLogSoftmaxRow,
		func(im *Implementation) func(dst, src []float32) { return im.LogSoftmax })
}

func FuzzLogSoftmaxRows(f *testing.F) {
	fuzzBatch(f, "LogSoftmaxRows", fallback.LogSoftmaxRows, fallback.LogSoftmax, checkLogSoftmaxRow,
		func(im *Implementation) func(dst, src []float32, cols int) { return im.LogSoftmaxRows })
}

func FuzzExp(f *testing.F) {
	fuzzRow(f, "Exp", fallback.Exp, checkExp,
		func(im *Implementation) func(dst, src []float32) { return im.Exp })
}

// checkExp checks Exp's output against math.Exp: the canonical NaN for a
// NaN, +Inf or MaxFloat32 beyond the float32 range, else within expMaxULP
// (for every result, gradual underflow included) and never -0.
func checkExp(t *testing.T, what string, x, y []float32) {
	t.Helper()
	checkAll(t, what+", against math.Exp", x, y, func(x, y float32) bool {
		e := math.Exp(float64(x))
		switch {
		case x != x:
			return isCanonicalNaN(y)
		case e >= math.MaxFloat32:
			return y == inf || y == math.MaxFloat32
		}
		return !math.Signbit(float64(y)) && ref.ULPErr(y, e) <= expMaxULP
	})
}

// FuzzSoftmaxAxis runs SoftmaxAxis and LogSoftmaxAxis with inner > 1 on
// a tensor of the input's elements: inner = 2 + (cols field) % 47, axis =
// 1 + t0 % 64, and as many slabs as the n elements fill (at least one).
func FuzzSoftmaxAxis(f *testing.F) {
	addRowSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		c := decodeFuzz(data)
		inner, axis := 2+c.colsSel%47, 1+c.t0%64
		outer := max(1, c.n/(axis*inner))
		x := c.values(outer * axis * inner)
		for _, k := range axisKernels {
			want := make([]float32, len(x))
			k.want(want, x, outer, axis, inner)
			for _, im := range Implementations() {
				c.runElementwise(t, fmt.Sprintf("%s %s [%d %d %d]", im.Name(), k.name, outer, axis, inner), x, want,
					func(dst, src []float32) { k.call(im, dst, src, outer, axis, inner) })
			}
		}
	})
}

func FuzzLogSumExp(f *testing.F) {
	addRowSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		c := decodeFuzz(data)
		x := c.row()
		want := fallback.LogSumExp(x)
		checkLogSumExp(t, "fallback.LogSumExp", x, want)
		for _, im := range Implementations() {
			src := newSlot(x, len(x), c.off[0])
			compareScalar(t, fmt.Sprintf("%s LogSumExp (%v)", im.Name(), c), want, im.LogSumExp(src.s))
			compareBits(t, im.Name()+" LogSumExp: src written", x, x, src.s)
		}
	})
}

// logErr is ref.LogErr, except that a reference beyond the float32 range
// may be rounded to the float32 extreme or the infinity of its sign.
func logErr(got float32, want float64) float64 {
	if math.Abs(want) >= math.MaxFloat32 && !math.IsInf(want, 0) {
		if math.Abs(float64(got)) >= math.MaxFloat32 && math.Signbit(float64(got)) == math.Signbit(want) {
			return 0
		}
	}
	return ref.LogErr(got, want)
}

// gradErr is ref.GradErr, with logErr's rule beyond the float32 range.
func gradErr(got float32, want, scale float64) float64 {
	if math.Abs(want) >= math.MaxFloat32 && !math.IsInf(want, 0) {
		if math.Abs(float64(got)) >= math.MaxFloat32 && math.Signbit(float64(got)) == math.Signbit(want) {
			return 0
		}
	}
	return ref.GradErr(got, want, scale)
}

func anyNaN(x []float32) bool {
	for _, v := range x {
		if v != v {
			return true
		}
	}
	return false
}

func anyInf(x []float32) bool {
	for _, v := range x {
		if math.IsInf(float64(v), 0) {
			return true
		}
	}
	return false
}

// runBackward runs f(dx, y, dy) with y, dy and dx (or dx = y, or dx = dy)
// as c places them, compares dx with want, and checks that nothing around
// dx and nothing in a source that is not dx is written.
func (c *fuzzCase) runBackward(t *testing.T, what string, y, dy, want []float32, f func(dx, y, dy []float32)) {
	t.Helper()
	what = fmt.Sprintf("%s (%v)", what, c)
	ys, dys := newSlot(y, len(y), c.off[0]), newSlot(dy, len(dy), c.off[2])
	switch c.place {
	case 1:
		f(ys.s, ys.s, dys.s)
		compareBits(t, what+", dx = y", y, want, ys.s)
		ys.intact(t, what)
		compareBits(t, what+": dy written", dy, dy, dys.s)
	case 2:
		f(dys.s, ys.s, dys.s)
		compareBits(t, what+", dx = dy", y, want, dys.s)
		dys.intact(t, what)
		compareBits(t, what+": y written", y, y, ys.s)
	default:
		dx := newSlot(nil, len(y), c.off[1])
		f(dx.s, ys.s, dys.s)
		compareBits(t, what, y, want, dx.s)
		dx.intact(t, what)
		compareBits(t, what+": y written", y, y, ys.s)
		compareBits(t, what+": dy written", dy, dy, dys.s)
	}
}

// runBackwardRows runs a batched backward kernel on every implementation,
// on y and dy cut to whole rows of the fuzz case's cols, and compares each
// row with the one-row fallback kernel's.
func (c *fuzzCase) runBackwardRows(t *testing.T, name string, y, dy []float32, row func(dx, y, dy []float32),
	rows func(im *Implementation, dx, y, dy []float32, cols int)) {
	t.Helper()
	if len(y) == 0 {
		return
	}
	cols := 1 + c.colsSel%len(y)
	m := len(y) / cols * cols
	y, dy = y[:m], dy[:m]
	want := make([]float32, m)
	for r := 0; r < m; r += cols {
		row(want[r:r+cols], y[r:r+cols], dy[r:r+cols])
	}
	for _, im := range Implementations() {
		c.runBackward(t, fmt.Sprintf("%s %s cols=%d", im.Name(), name, cols), y, dy, want,
			func(dx, y, dy []float32) { rows(im, dx, y, dy, cols) })
	}
}

// checkBackwardBounds checks a backward kernel's output dx of y and dy:
// every NaN canonical, every output NaN when nanAll, and, where the inputs
// are finite, each output within backwardBound (in units of 2^-24 *
// scale(i)) of the reference want, but those whose scale is < 0.
func checkBackwardBounds(t *testing.T, what string, y, dy, dx []float32, nanAll bool, want []float64, scale func(i int) float64) {
	t.Helper()
	checkAll(t, what+": NaNs canonical, all NaN for a NaN in the sum", y, dx, func(_, v float32) bool {
		return isCanonicalNaN(v) || v == v && !nanAll
	})
	if nanAll || anyInf(y) || anyInf(dy) {
		return
	}
	for i, v := range dx {
		if scale(i) < 0 {
			continue
		}
		if e := gradErr(v, want[i], scale(i)); e > backwardBound {
			t.Fatalf("%s: [%d] y = %v, dy = %v: got %v (%#08x), reference %v: error %.3f > %g (scale %g)",
				what, i, y[i], dy[i], v, math.Float32bits(v), want[i], e, backwardBound, scale(i))
		}
	}
}

// The backward kernels' bounds are checked with the scale of the error
// that their float64 sums can make, which holds for any input: the sum of
// |y_j*dy_j| (of |dy_j|) rather than the |<dy, y>| (|sum(dy)|) of the
// documentation, which is the same for the softmax outputs and moderate
// gradients of training but can be far smaller when terms cancel.

func FuzzSoftmaxBackward(f *testing.F) {
	addRowSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		c := decodeFuzz(data)
		y, dy := c.pair()
		want := make([]float32, len(y))
		fallback.SoftmaxBackward(want, y, dy)
		w := make([]float64, len(y))
		ref.SoftmaxBackward(w, y, dy)
		var abs float64
		for i := range y {
			abs += math.Abs(float64(y[i]) * float64(dy[i]))
		}
		checkBackwardBounds(t, "fallback.SoftmaxBackward", y, dy, want, anyNaN(y) || anyNaN(dy), w, func(i int) float64 {
			return math.Abs(float64(y[i])) * (math.Abs(float64(dy[i])) + abs)
		})
		for _, im := range Implementations() {
			c.runBackward(t, im.Name()+" SoftmaxBackward", y, dy, want, im.SoftmaxBackward)
		}
		c.runBackwardRows(t, "SoftmaxBackwardRows", y, dy, fallback.SoftmaxBackward, (*Implementation).SoftmaxBackwardRows)
	})
}

func FuzzLogSoftmaxBackward(f *testing.F) {
	addRowSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		c := decodeFuzz(data)
		y, dy := c.pair()
		want := make([]float32, len(y))
		fallback.LogSoftmaxBackward(want, y, dy)
		w := make([]float64, len(y))
		ref.LogSoftmaxBackward(w, y, dy)
		var abs float64
		for _, v := range dy {
			abs += math.Abs(float64(v))
		}
		checkBackwardBounds(t, "fallback.LogSoftmaxBackward", y, dy, want, anyNaN(dy), w, func(i int) float64 {
			// Exp's error is relative down to 2^-126 and absolute below;
			// above 88.72 it is +Inf.
			if y[i] > 88.72 {
				return -1
			}
			return math.Abs(float64(dy[i])) + math.Max(math.Exp(float64(y[i])), 0x1p-126)*abs
		})
		for _, im := range Implementations() {
			c.runBackward(t, im.Name()+" LogSoftmaxBackward", y, dy, want, im.LogSoftmaxBackward)
		}
		c.runBackwardRows(t, "LogSoftmaxBackwardRows", y, dy, fallback.LogSoftmaxBackward, (*Implementation).LogSoftmaxBackwardRows)
	})
}

// checkCrossEntropySemantics checks CrossEntropy's loss and gradient of a row
// against the documentation and the other kernels: NaNs for a row with a
// NaN or +Inf; otherwise a gradient that is Softmax's output, bit for bit,
// less 1 at the target, and a loss that is +Inf for a -Inf target, else
// -LogSoftmax at the target, >= 0 and within logBound of the reference.
func checkCrossEntropySemantics(t *testing.T, what string, x []float32, target int, grad []float32, loss float32) {
	t.Helper()
	if classify(x) == classNaN {
		if !isCanonicalNaN(loss) {
			t.Fatalf("%s: row with NaN or +Inf: loss %v (%#08x), want the canonical NaN", what, loss, math.Float32bits(loss))
		}
		checkAll(t, what+": row with NaN or +Inf, want canonical NaN", x, grad, func(_, g float32) bool { return isCanonicalNaN(g) })
		return
	}
	sm := make([]float32, len(x))
	fallback.Softmax(sm, x)
	sm[target] -= 1
	compareBits(t, what+": grad against Softmax - onehot", x, sm, grad)
	if x[target] == ninf {
		if loss != inf {
			t.Fatalf("%s: target -Inf: loss %v, want +Inf", what, loss)
		}
		return
	}
	lsm := make([]float32, len(x))
	fallback.LogSoftmax(lsm, x)
	if loss != -lsm[target] || !(loss >= 0) {
		t.Fatalf("%s: loss %v (%#08x), LogSoftmax at the target %v: want its negation, >= 0", what, loss, math.Float32bits(loss), lsm[target])
	}
	if e := logErr(loss, ref.CrossEntropy(nil, x, target)); e > logBound {
		t.Fatalf("%s: loss %v, reference %v: error %.3f > %g", what, loss, ref.CrossEntropy(nil, x, target), e, logBound)
	}
}

func FuzzCrossEntropy(f *testing.F) {
	addRowSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		c := decodeFuzz(data)
		x := c.row()
		if len(x) == 0 {
			return // no valid target; TestBadArguments has this case
		}
		target := c.t0 % len(x)
		grad := make([]float32, len(x))
		loss := fallback.CrossEntropy(grad, x, target)
		compareScalar(t, "fallback.CrossEntropy without grad", loss, fallback.CrossEntropy(nil, x, target))
		checkCrossEntropySemantics(t, fmt.Sprintf("fallback.CrossEntropy, target %d", target), x, target, grad, loss)
		for _, im := range Implementations() {
			what := fmt.Sprintf("%s CrossEntropy target %d", im.Name(), target)
			var got float32
			c.runElementwise(t, what, x, grad, func(g, l []float32) {
				got = im.CrossEntropy(g, l, target)
			})
			compareScalar(t, what+": loss", loss, got)
			if c.nilGrad {
				src := newSlot(x, len(x), c.off[0])
				compareScalar(t, what+" without grad", loss, im.CrossEntropy(nil, src.s, target))
			}
		}
	})
}

func FuzzCrossEntropyRows(f *testing.F) {
	addRowSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		c := decodeFuzz(data)
		x, cols := c.batch()
		rows := len(x) / cols
		tg := c.targets(rows, cols)
		grad := make([]float32, len(x))
		loss := fallback.CrossEntropyRows(grad, x, tg, cols)
		compareScalar(t, "fallback.CrossEntropyRows without grad", loss, fallback.CrossEntropyRows(nil, x, tg, cols))
		checkCrossEntropyRowsSemantics(t, fmt.Sprintf("fallback.CrossEntropyRows, cols %d", cols), x, tg, cols, grad, loss)
		for _, im := range Implementations() {
			what := fmt.Sprintf("%s CrossEntropyRows cols %d", im.Name(), cols)
			var got float32
			c.runElementwise(t, what, x, grad, func(g, l []float32) {
				got = im.CrossEntropyRows(g, l, tg, cols)
			})
			compareScalar(t, what+": loss", loss, got)
			if c.nilGrad {
				src := newSlot(x, len(x), c.off[0])
				compareScalar(t, what+" without grad", loss, im.CrossEntropyRows(nil, src.s, tg, cols))
			}
		}
	})
}

// checkCrossEntropyRowsSemantics checks a batch's gradient against CrossEntropy's,
// row by row, bit for bit, and its mean loss: 0 for no rows, NaN if a row
// has a NaN or +Inf, else +Inf if a target is -Inf, else within logBound
// (of the mean of the rows' max(1, |loss|)) of the reference mean: each
// row's loss is within logBound of its reference.
func checkCrossEntropyRowsSemantics(t *testing.T, what string, x []float32, tg []int32, cols int, grad []float32, loss float32) {
	t.Helper()
	rows := len(tg)
	if rows == 0 {
		if !isPosZero(loss) {
			t.Fatalf("%s: no rows: loss %v, want 0", what, loss)
		}
		return
	}
	var sum, scale float64
	for r := 0; r < rows; r++ {
		row := x[r*cols : (r+1)*cols]
		g := make([]float32, cols)
		fallback.CrossEntropy(g, row, int(tg[r]))
		compareBits(t, fmt.Sprintf("%s: row %d, against CrossEntropy", what, r), row, g, grad[r*cols:(r+1)*cols])
		l := ref.CrossEntropy(nil, row, int(tg[r]))
		sum += l
		scale += math.Max(1, math.Abs(l))
	}
	mean := sum / float64(rows)
	switch {
	case mean != mean:
		if !isCanonicalNaN(loss) {
			t.Fatalf("%s: a row with NaN or +Inf: loss %v (%#08x), want the canonical NaN", what, loss, math.Float32bits(loss))
		}
	case math.IsInf(mean, 1):
		if loss != inf {
			t.Fatalf("%s: a target -Inf: loss %v, want +Inf", what, loss)
		}
	default:
		if e := ref.ScaledErr(loss, mean, scale/float64(rows)); e > logBound && logErr(loss, mean) != 0 {
			t.Fatalf("%s: loss %v, reference %v: error %.3f > %g", what, loss, mean, e, logBound)
		}
	}
}

// The fused kernels' targets (scaled, causal, chunk statistics) read a
// second header of fuzzFusedHeader bytes after the first, then the
// elements:
//
//	[12]     the mode: the mask kind of the scaled kernels (mod 3: none,
//	         one broadcast row, one row per row); how the causal kernel's
//	         offset is made (fusedCase.offset); the statistics of
//	         FuzzWithStats (fuzzStatsModes); one chunk (0 mod 4) or a
//	         random chunking for FuzzStats
//	[13]     bits 0-2: how the mask is made (fuzzMaskFill)
//	[14:18]  the scale, as float32 bits
//	[18:30]  statistics in MarshalBinary's encoding (FuzzWithStats)
//
// The place field of the first header runs the scaled kernels out of
// place (0), in place (1), or with the mask being src (2, where the mask
// is as long as src). A random chunking and merge order are drawn from a
// generator seeded with the input's hash.
const fuzzFusedHeader = 18

// fusedCase is a decoded input of a fused kernel's target.
type fusedCase struct {
	*fuzzCase
	mode, maskFill byte
	scale          float32
	stats          fallback.Stats
}

func decodeFused(b []byte) *fusedCase {
	var h [fuzzFusedHeader]byte
	if len(b) > fuzzHeader {
		copy(h[:], b[fuzzHeader:])
	}
	c := &fusedCase{
		fuzzCase: decodeFuzz(b),
		mode:     h[0],
		maskFill: h[1] & 7,
		scale:    math.Float32frombits(binary.LittleEndian.Uint32(h[2:])),
		stats: fallback.Stats{
			Max: math.Float32frombits(binary.LittleEndian.Uint32(h[6:])),
			Sum: math.Float64frombits(binary.LittleEndian.Uint64(h[10:])),
		},
	}
	c.data = nil
	if len(b) > fuzzHeader+fuzzFusedHeader {
		c.data = b[fuzzHeader+fuzzFusedHeader:]
	}
	return c
}

func (c *fusedCase) String() string {
	return fmt.Sprintf("%v mode=%d scale=%v (%#08x)", c.fuzzCase, c.mode, c.scale, math.Float32bits(c.scale))
}

// fusedSeed encodes an input of a fused kernel's target: base, what
// fuzzSeed encodes, with the second header inserted before its elements.
func fusedSeed(base []byte, mode, maskFill byte, scale float32, s fallback.Stats) []byte {
	b := append([]byte(nil), base[:fuzzHeader]...)
	b = append(b, mode, maskFill)
	b = binary.LittleEndian.AppendUint32(b, math.Float32bits(scale))
	b = binary.LittleEndian.AppendUint32(b, math.Float32bits(s.Max))
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(s.Sum))
	return append(b, base[fuzzHeader:]...)
}

// rand returns a generator seeded with the input's hash and salt.
func (c *fusedCase) rand(salt uint64) *rand.Rand {
	return rand.New(rand.NewPCG(c.seed, salt))
}

// fuzzMaskFill names the ways the mask of the scaled kernels is made.
var fuzzMaskFill = [8]string{
	"the elements after src's",
	"N(0, 1), -Inf one in six",
	"all -Inf",
	"special values",
	"random bit patterns",
	"zeros of both signs",
	"causal: 0 up to the row's index, -Inf after",
	"N(0, 1), some rows all -Inf",
}

// mask returns the mask of a batch of rows rows of cols elements: none
// (kind 0), one row of cols elements (1), or one per row (2).
func (c *fusedCase) mask(rows, cols int) []float32 {
	var n int
	switch c.mode % 3 {
	case 0:
		return nil
	case 1:
		n = cols
	default:
		n = rows * cols
	}
	if c.maskFill == 0 {
		return c.values(rows*cols + n)[rows*cols:]
	}
	rng := c.rand(1)
	m := make([]float32, n)
	for i := range m {
		var v float32
		switch c.maskFill {
		case 1, 7:
			v = float32(rng.NormFloat64())
			if c.maskFill == 1 && rng.IntN(6) == 0 {
				v = ninf
			}
		case 2:
			v = ninf
		case 3:
			v = expSpecials[rng.IntN(len(expSpecials))]
		case 4:
			v = math.Float32frombits(rng.Uint32())
		case 5:
			v = float32(math.Copysign(0, float64(rng.IntN(2)*2-1)))
		case 6:
			if i%cols > i/cols {
				v = ninf
			}
		}
		m[i] = v
	}
	if c.maskFill == 7 {
		for r := 0; r < n/cols; r++ {
			if rng.IntN(3) == 0 {
				for i := range m[r*cols : (r+1)*cols] {
					m[r*cols+i] = ninf
				}
			}
		}
	}
	return m
}

// fuzzScaled is the body of the target of a scaled kernel: rowRef is the
// fallback's one-row kernel, which must give each row's bits for the row
// of z = scale*x + mask computed by the reference, and check checks them
// against z.
func fuzzScaled(f *testing.F, k scaledKernel, rowRef func(dst, src []float32), check func(t *testing.T, what string, x, y []float32)) {
	addFusedSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		c := decodeFused(data)
		x, cols := c.batch()
		rows := len(x) / cols
		mask := c.mask(rows, cols)
		aliased := c.place == 2 && len(x) > 0 && len(mask) == len(x)
		if aliased {
			mask = x
		}
		what := fmt.Sprintf("%s (%v, cols %d, len(mask) %d, mask %q)", k.name, c, cols, len(mask), fuzzMaskFill[c.maskFill])
		want := make([]float32, len(x))
		k.want(want, x, mask, c.scale, cols)
		row := make([]float32, cols)
		for r := 0; r < rows; r++ {
			w := "fallback." + what + ", row " + strconv.Itoa(r) // cheap: a batch may have 4096 rows
			z := scaledZ(x[r*cols:(r+1)*cols], maskOfRow(mask, r, cols), c.scale)
			rowRef(row, z)
			compareBits(t, w+" against the one-row kernel on z", z, row, want[r*cols:(r+1)*cols])
			check(t, w, z, want[r*cols:(r+1)*cols])
		}
		for _, im := range Implementations() {
			w := im.Name() + " " + what
			src := newSlot(x, len(x), c.off[0])
			var ms *fuzzSlot
			m := mask
			switch {
			case aliased:
				m = src.s
			case mask != nil:
				ms = newSlot(mask, len(mask), c.off[2])
				m = ms.s
			}
			if c.place == 1 {
				k.call(im, src.s, src.s, m, c.scale, cols)
				compareBits(t, w+", in place", x, want, src.s)
				src.intact(t, w)
			} else {
				dst := newSlot(nil, len(x), c.off[1])
				k.call(im, dst.s, src.s, m, c.scale, cols)
				compareBits(t, w, x, want, dst.s)
				dst.intact(t, w)
				compareBits(t, w+": src written", x, x, src.s)
			}
			if ms != nil {
				compareBits(t, w+": mask written", mask, mask, ms.s)
			}
			if t.Failed() {
				return
			}
		}
	})
}

// addFusedSeeds adds the seeds shared by the fused kernels' targets: each
// mode, mask and special scale, on short and long batches.
func addFusedSeeds(f *testing.F) {
	var none fallback.Stats
	for _, s := range [][]byte{
		fusedSeed(fuzzSeed(0, 0, 0, 0, 0, 0, 0), 0, 0, 1, none),
		fusedSeed(fuzzSeed(fillRandom, 0x31, 100, 9, 3, 1, 1), 1, 1, 0.125, none),
		fusedSeed(fuzzSeed(fillRandom|1, 0x17, 1024, 63, 7, 0, 2), 2, 7, 0.088388346, none),
		fusedSeed(fuzzSeed(fillRandom|2, 0x25, 64, 7, 2, 0, 0), 2, 0, -1, none),
		fusedSeed(fuzzSeed(fillRandom, 0x10, 17, 16, 0, 0, 0), 1, 2, 2, none),
		fusedSeed(fuzzSeed(fillSpecial, 0x44, 79, 15, 3, 3, 0), 2, 3, 0, none),
		fusedSeed(fuzzSeed(fillRandom, 0x00, 33, 32, 0, 0, 3), 0, 0, negZero, none),
		fusedSeed(fuzzSeed(fillRandom, 0x9a, 129, 42, 1, 2, 4), 3, 4, inf, none),
		fusedSeed(fuzzSeed(fillRandom, 0x62, 200, 19, 9, 4, 0), 4, 5, nan, none),
		fusedSeed(fuzzSeed(fillRandom, 0x08, 48, 47, 0, 1, 0), 1, 6, 0x1p-149, none),
		fusedSeed(fuzzSeed(fillUnder, 0x21, 300, 29, 7, 11, 0), 2, 1, 1e30, none),
		fusedSeed(fuzzSeed(fillBits, 0x07, 65, 64, 5, 0, 0), 1, 1, ninf, none),
	} {
		f.Add(s)
	}
}

func FuzzScaledSoftmaxRows(f *testing.F) {
	fuzzScaled(f, scaledKernels[0], fallback.Softmax, checkSoftmaxRow)
}

func FuzzScaledLogSoftmaxRows(f *testing.F) {
	fuzzScaled(f, scaledKernels[1], fallback.LogSoftmax, checkLogSoftmaxRow)
}

// offset returns the offset of FuzzCausalSoftmaxRows for a batch of
// rows rows of cols elements, made as the mode says (mod 5), with the
// t0 and t1 fields: small and signed, around a KV cache's cols - rows,
// near the extremes of int, or any 32-bit value.
func (c *fusedCase) offset(rows, cols int) int {
	switch c.mode % 5 {
	case 0:
		return int(int16(c.t0))
	case 1:
		return cols - rows + int(int16(c.t0))
	case 2:
		return math.MaxInt - c.t0
	case 3:
		return math.MinInt + c.t0
	}
	return int(int32(uint32(c.t0) | uint32(c.t1)<<16))
}

// FuzzCausalSoftmaxRows checks CausalSoftmaxRows: every row is the
// fallback's ScaledSoftmaxRows of its first k elements, bit for bit,
// within Softmax's bounds of the reference on z, and zeros after; the
// elements after are not read (replacing them changes nothing); every
// implementation returns the fallback's bits.
func FuzzCausalSoftmaxRows(f *testing.F) {
	addFusedSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		c := decodeFused(data)
		x, cols := c.batch()
		rows := len(x) / cols
		offset := c.offset(rows, cols)
		what := fmt.Sprintf("CausalSoftmaxRows (%v, cols %d, offset %d)", c, cols, offset)
		want := make([]float32, len(x))
		fallback.CausalSoftmaxRows(want, x, c.scale, cols, offset)
		// x2 holds other values after each row's prefix.
		x2 := append([]float32(nil), x...)
		rng := c.rand(2)
		for r := 0; r < rows; r++ {
			k := causalLen(r, cols, offset)
			w := "fallback." + what + ", row " + strconv.Itoa(r) + ", prefix " + strconv.Itoa(k)
			xr, yr := x[r*cols:(r+1)*cols], want[r*cols:(r+1)*cols]
			if k > 0 {
				one := make([]float32, k)
				fallback.ScaledSoftmaxRows(one, xr[:k], nil, c.scale, k)
				compareBits(t, w+" against ScaledSoftmaxRows of the prefix", xr, one, yr[:k])
			}
			checkAll(t, w+": want +0 after the prefix", xr[k:], yr[k:], func(_, y float32) bool { return isPosZero(y) })
			checkSoftmaxRow(t, w, scaledZ(xr[:k], nil, c.scale), yr[:k])
			for i := k; i < cols; i++ {
				x2[r*cols+i] = []float32{nan, inf, ninf, 1e30, math.Float32frombits(rng.Uint32())}[rng.IntN(5)]
			}
		}
		got := make([]float32, len(x))
		fallback.CausalSoftmaxRows(got, x2, c.scale, cols, offset)
		compareBits(t, "fallback."+what+", other values after the prefixes", x2, want, got)
		for _, im := range Implementations() {
			w := im.Name() + " " + what
			c.runElementwise(t, w, x, want, func(dst, src []float32) { im.CausalSoftmaxRows(dst, src, c.scale, cols, offset) })
			im.CausalSoftmaxRows(got, x2, c.scale, cols, offset)
			compareBits(t, w+", other values after the prefixes", x2, want, got)
			if t.Failed() {
				return
			}
		}
	})
}

// fuzzMerge merges st in an order and grouping drawn from rng, checking
// that each merge is commutative and that merging the zero Stats changes
// nothing, bit for bit (see sameStats). It returns the zero Stats for no
// chunks.
func fuzzMerge(t *testing.T, what string, rng *rand.Rand, st []Stats) Stats {
	t.Helper()
	var zero Stats
	rng.Shuffle(len(st), func(i, j int) { st[i], st[j] = st[j], st[i] })
	for len(st) > 1 {
		i := rng.IntN(len(st) - 1)
		a, b := st[i], st[i+1]
		m := a.Merge(b)
		if !sameStats(m, b.Merge(a)) || !sameStats(a.Merge(zero), a) || !sameStats(zero.Merge(a), a) {
			t.Fatalf("%s: Merge of %v and %v: %v, swapped %v, with the zero Stats %v %v", what, a.s, b.s, m.s, b.Merge(a).s, a.Merge(zero).s, zero.Merge(a).s)
		}
		st[i] = m
		st = append(st[:i+1], st[i+2:]...)
	}
	if len(st) == 0 {
		return zero
	}
	return st[0]
}

// sameBits reports whether a and b hold the same bits.
func sameBits(a, b Stats) bool {
	return math.Float32bits(a.s.Max) == math.Float32bits(b.s.Max) && math.Float64bits(a.s.Sum) == math.Float64bits(b.s.Sum)
}

// sameStats reports whether a and b are the same statistics: the same
// bits, or both of an empty chunk, whose Max is any value (the zero Stats
// has 0, StatsOf -Inf).
func sameStats(a, b Stats) bool {
	return a.s.Sum == 0 && b.s.Sum == 0 && !math.Signbit(a.s.Sum) && !math.Signbit(b.s.Sum) || sameBits(a, b)
}

// FuzzStats checks StatsOf, Merge, LogSumExp, Max, the binary encoding,
// SoftmaxWithStats and LogSoftmaxWithStats on a row split into chunks:
// one chunk (mode 0 mod 4), or a random chunking (empty chunks and single
// elements among them) merged in a random order. Every implementation's
// StatsOf and outputs must be the fallback's bits; one chunk must give
// Softmax's, LogSoftmax's and LogSumExp's bits; any chunking must keep
// their semantics and accuracy bounds.
func FuzzStats(f *testing.F) {
	addFusedSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		c := decodeFused(data)
		x := c.row()
		n := len(x)
		rng := c.rand(3)
		cuts := []int{0, n}
		if c.mode%4 != 0 {
			cuts = chunking(rng, n)
		}
		what := fmt.Sprintf("(%v, chunks %v)", c, cuts)
		if len(cuts) > 12 {
			what = fmt.Sprintf("(%v, %d chunks)", c, len(cuts)-1)
		}
		var st []Stats
		for i := 1; i < len(cuts); i++ {
			chunk := x[cuts[i-1]:cuts[i]]
			s := Stats{fallback.StatsOf(chunk)}
			for _, im := range Implementations() {
				src := newSlot(chunk, len(chunk), c.off[0])
				compareStats(t, fmt.Sprintf("%s StatsOf %s chunk %d", im.Name(), what, i-1), im.StatsOf(src.s), s.s)
				compareBits(t, im.Name()+" StatsOf: src written", chunk, chunk, src.s)
			}
			st = append(st, s)
		}
		s := fuzzMerge(t, what, rng, st)
		// The binary encoding carries the statistics exactly.
		var u Stats
		if b, err := s.MarshalBinary(); err != nil {
			t.Fatalf("%s: MarshalBinary: %v", what, err)
		} else if err := u.UnmarshalBinary(b); err != nil || !sameBits(u, s) {
			t.Fatalf("%s: UnmarshalBinary of %v: %v, %v", what, s.s, u.s, err)
		}
		lse := s.LogSumExp()
		checkLogSumExp(t, "LogSumExp of the merged statistics "+what, x, lse)
		wantMax := float32(math.Inf(-1))
		for _, v := range x {
			wantMax = max(wantMax, v)
		}
		if gotMax := s.Max(); math.IsNaN(float64(wantMax)) != math.IsNaN(float64(gotMax)) || wantMax == wantMax && gotMax != wantMax {
			t.Fatalf("%s: Max %v, want %v", what, gotMax, wantMax)
		}
		want, lwant := make([]float32, n), make([]float32, n)
		for i := 1; i < len(cuts); i++ {
			a, b := cuts[i-1], cuts[i]
			fallback.SoftmaxWithStats(want[a:b], x[a:b], s.s)
			fallback.LogSoftmaxWithStats(lwant[a:b], x[a:b], s.s)
		}
		if len(cuts) == 2 {
			one := make([]float32, n)
			fallback.Softmax(one, x)
			compareBits(t, "fallback.SoftmaxWithStats, one chunk, against Softmax "+what, x, one, want)
			fallback.LogSoftmax(one, x)
			compareBits(t, "fallback.LogSoftmaxWithStats, one chunk, against LogSoftmax "+what, x, one, lwant)
			compareScalar(t, "LogSumExp of one chunk's statistics, against LogSumExp "+what, fallback.LogSumExp(x), lse)
		}
		checkSoftmaxRow(t, "fallback.SoftmaxWithStats "+what, x, want)
		checkLogSoftmaxRow(t, "fallback.LogSoftmaxWithStats "+what, x, lwant)
		for _, im := range Implementations() {
			for _, k := range []struct {
				name string
				f    func(dst, src []float32, s Stats)
				want []float32
			}{
				{"SoftmaxWithStats", im.SoftmaxWithStats, want},
				{"LogSoftmaxWithStats", im.LogSoftmaxWithStats, lwant},
			} {
				c.runElementwise(t, im.Name()+" "+k.name+" "+what, x, k.want, func(dst, src []float32) {
					for i := 1; i < len(cuts); i++ {
						a, b := cuts[i-1], cuts[i]
						k.f(dst[a:b], src[a:b], s)
					}
				})
			}
			if t.Failed() {
				return
			}
		}
	})
}

// fuzzStatsModes names the statistics FuzzWithStats normalizes with (the
// mode, mod 4).
var fuzzStatsModes = [4]string{
	"the input's bits: any, valid or not",
	"StatsOf a prefix of src, t0 % (n+1) elements",
	"StatsOf a prefix merged with the input's bits",
	"StatsOf other elements, t1 % 64 after src's",
}

// FuzzWithStats runs SoftmaxWithStats and LogSoftmaxWithStats with
// statistics that need not describe a row that src is part of, nor be
// any that StatsOf and Merge make. Every implementation must do what the
// fallback does: panic with the same "softmax:" message, before writing
// dst, or return the same bits. Stats' methods must not panic.
func FuzzWithStats(f *testing.F) {
	addFusedSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		c := decodeFused(data)
		x := c.row()
		n := len(x)
		var s Stats
		switch c.mode % 4 {
		case 0:
			s = Stats{c.stats}
		case 1:
			s = Stats{fallback.StatsOf(x[:c.t0%(n+1)])}
		case 2:
			s = Stats{fallback.StatsOf(x[:c.t0%(n+1)]).Merge(c.stats)}
		case 3:
			s = Stats{fallback.StatsOf(c.values(n + c.t1%64)[n:])}
		}
		what := fmt.Sprintf("(%v, statistics %q {%v %v} (%#08x %#016x))", c, fuzzStatsModes[c.mode%4], s.s.Max, s.s.Sum,
			math.Float32bits(s.s.Max), math.Float64bits(s.s.Sum))
		// Stats' methods take any statistics.
		_, _ = s.LogSumExp(), s.Max()
		_ = s.Merge(StatsOf(x[:min(n, 3)]))
		if b, err := s.MarshalBinary(); err != nil {
			t.Fatalf("%s: MarshalBinary: %v", what, err)
		} else if u := (Stats{}); u.UnmarshalBinary(b) == nil && !sameBits(u, s) {
			t.Fatalf("%s: UnmarshalBinary accepted %v as %v", what, s.s, u.s)
		}
		for _, k := range []struct {
			name string
			want func(dst, src []float32, s fallback.Stats)
			call func(im *Implementation, dst, src []float32, s Stats)
		}{
			{"SoftmaxWithStats", fallback.SoftmaxWithStats, (*Implementation).SoftmaxWithStats},
			{"LogSoftmaxWithStats", fallback.LogSoftmaxWithStats, (*Implementation).LogSoftmaxWithStats},
		} {
			want := make([]float32, n)
			wantPanic := catchPanic(func() { k.want(want, x, s.s) })
			if wantPanic != "" && !strings.HasPrefix(wantPanic, "softmax: ") {
				t.Fatalf("fallback.%s %s: panic %q, want a softmax: message", k.name, what, wantPanic)
			}
			for _, im := range Implementations() {
				w := fmt.Sprintf("%s %s %s", im.Name(), k.name, what)
				src := newSlot(x, n, c.off[0])
				dst := src
				if c.place != 1 {
					dst = newSlot(nil, n, c.off[1])
				}
				before := append([]float32(nil), dst.s...)
				got := catchPanic(func() { k.call(im, dst.s, src.s, s) })
				switch {
				case got != wantPanic:
					t.Fatalf("%s: panic %q, fallback %q", w, got, wantPanic)
				case got != "":
					compareBits(t, w+": dst written before the panic", x, before, dst.s)
				default:
					compareBits(t, w, x, want, dst.s)
				}
				dst.intact(t, w)
				if dst != src {
					compareBits(t, w+": src written", x, x, src.s)
				}
				if t.Failed() {
					return
				}
			}
		}
	})
}

// catchPanic runs f and returns its panic's message, or "" if it returns.
func catchPanic(f func()) (msg string) {
	defer func() {
		if e := recover(); e != nil {
			msg = fmt.Sprint(e)
			if msg == "" {
				msg = "(an empty panic)"
			}
		}
	}()
	f()
	return ""
}
