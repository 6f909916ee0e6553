package kernels

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"math"
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
	negZero := float32(math.Copysign(0, -1))
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
