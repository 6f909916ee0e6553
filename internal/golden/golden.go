// Package golden holds the golden corpus: float32 input rows and their
// float64 reference outputs (from package ref), stored in
// testdata/golden/softmax.bin.gz at the root of the module.
//
// Tests in any package of the module call Load and measure a kernel against
// the rows it returns. The file is written only by
//
//	go test ./internal/golden -update
//
// which calls Generate and Write; the normal test run checks that the file
// decodes to what Generate produces, which pins both the reference code and
// the file.
//
// # Corpus
//
// Every row's inputs come from its own math/rand/v2 PCG, seeded with a fixed
// constant and the FNV-1a hash of the row's name, so rows do not depend on
// each other or on their order. Generate returns, in this order:
//
//	len/L                 L = 1..300, normal(0, s) with s = [1, 4, 16][L%3]
//	long/L                L = 1000, 4096, 32000, 128256; normal(0, 4)
//	tail/1031/stdS        S = 1, 4, 16; normal(0, S)
//	offset/O              O = +1e4, -1e4, +1e30, -1e30; float32(normal(0, 4) + O), 257 long
//	                      (at 1e30 the float32 spacing, 2^76, makes every element equal)
//	sem/...               the special rows (package kernels, Special values), 37 long unless named:
//	                      some-neginf (every third -inf), all-neginf, one-nan,
//	                      one-posinf, posinf-neginf, all-equal (3.5), one-dominant
//	                      (one 100, the others normal(0, 1)), two (2 long),
//	                      len1-neginf, len1-finite
//	underflow/max0        uniform in [-110, 0] with one element 0, 513 long, so
//	                      that many outputs lie near 2^-126 and below
//	underflow/max50       the same shifted by +50: uniform in [-60, 50], one 50
//	range/88              uniform in [-88, 88], 513 long
//	spread/80             uniform in [-80, 80], 1031 long
//
// # File format
//
// The file is gzip (compress/gzip, BestCompression, no name, no modification
// time, so that rewriting it gives the same bytes). Decompressed, all
// integers little-endian:
//
//	magic   "SMXGOLD1"
//	nrows   uvarint
//	nrows times:
//	  name    uvarint length, then the bytes
//	  n       uvarint, the row length
//	  LSE     8 bytes, float64 bits
//	  LogSum  8 bytes, float64 bits
//	  x       4 planes of n bytes each: bits 31-24 of every math.Float32bits(x[i]),
//	          then bits 23-16, 15-8, 7-0 (byte planes compress better than words)
//	  delta   n zigzag uvarints: int32(b - p) for every element, where b is
//	          math.Float32bits(float32(Softmax[i])) (a NaN as 0x7fc00000) and p
//	          the same bits of the element's predicted value (below)
//	  resid   2 planes of n bytes: the high, then the low bytes of an int16
//	          k for every element
//
// Element i's reference is then decoded as f + k * ULP32(f) / 65536, where f
// is the float32 with bits p + delta (wrapping) and ULP32(f) is the float32
// spacing at f (2^-149 for |f| < 2^-126); a NaN f gives NaN and an infinite
// f that infinity. k is (ref - f) / (ULP32(f) / 65536) rounded to the
// nearest integer and clamped to the int16 range (only an exact tie reaches
// the clamp). For |ref| >= 2^-126 the decoded value is within 2^-17 ULP32(f)
// of it, so at most 2^-16 float32 ULPs at the reference (the larger bound
// where f is a power of two above the reference, or at a clamped tie): far
// below the 1e-4 ULP the tests need. 0, NaN and the infinities decode exactly. Below 2^-126 the
// absolute precision is 2^-166 (2^-165 at a clamped tie), and references
// below 2^-166 decode as 0.
//
// The prediction p is float32(e[i] / sum(e)), e[i] = exp(x[i] - max), in
// float64 with an exp made of basic IEEE operations (Cody-Waite reduction,
// a degree-13 Taylor polynomial, math.Ldexp) and a compensated sum; rows with
// a NaN or +inf predict NaN, fully masked rows 0. It never calls math.Exp,
// whose last bit may differ between GOARCHes, and every product is rounded
// by an explicit conversion so that no FMA can fuse it: decoding gives the
// same bits everywhere. The prediction is almost always exact, so the delta
// plane is nearly all zero bytes, and an element costs about 5.5 bytes
// after gzip instead of 10; that keeps the file under 2 MB. The prediction
// only removes redundancy: the file still holds each reference to 2^-16
// ULP by itself, whatever the predicted value.
package golden

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"

	"github.com/go-softmax/softmax/internal/ref"
)

// FileName is the golden file's name inside testdata/golden.
const FileName = "softmax.bin.gz"

const magic = "SMXGOLD1"

// seed is the first PCG seed of every row; the second is the hash of its name.
const seed = 0x5f7_2024_0001

// canonicalNaN is the float32 NaN that the file uses for every NaN.
const canonicalNaN = 0x7fc00000

// A Row is one corpus row: its inputs and their float64 references.
type Row struct {
	Name string
	X    []float32
	// Softmax is ref.Softmax(X).
	Softmax []float64
	// LSE is ref.LogSumExp(X).
	LSE float64
	// LogSum is the second part of ref.MaxLogSum(X): log(sum exp(x - max)),
	// so that LSE = max + LogSum. The LogSoftmax reference is
	// (x[i] - max) - LogSum, which, unlike x[i] - LSE, stays exact where
	// max is so large (the 1e30 rows) that adding LogSum to it rounds it
	// away. Use the LogSoftmax and CrossEntropy methods.
	LogSum float64
}

// Max returns the largest element of r.X, as float64 (-Inf for an empty
// row; NaN handling is left to the callers, which check LSE first).
func (r *Row) Max() float64 {
	m := math.Inf(-1)
	for _, v := range r.X {
		m = math.Max(m, float64(v))
	}
	return m
}

// LogSoftmax returns the float64 LogSoftmax reference of the row, with the
// semantics of ref.LogSoftmax: all NaN if the row holds a NaN or a +inf,
// all -Inf if it is fully masked, else (x[i] - max) - LogSum.
func (r *Row) LogSoftmax() []float64 {
	out := make([]float64, len(r.X))
	var v float64
	switch {
	case math.IsNaN(r.LSE) || math.IsInf(r.LSE, 1):
		v = math.NaN()
	case math.IsInf(r.LSE, -1):
		v = math.Inf(-1)
	default:
		m := r.Max()
		for i, x := range r.X {
			out[i] = (float64(x) - m) - r.LogSum
		}
		return out
	}
	for i := range out {
		out[i] = v
	}
	return out
}

// CrossEntropy returns the float64 reference of the cross-entropy loss for
// the given target, with the semantics of ref.CrossEntropy: NaN if the row
// holds a NaN or a +inf, +Inf if X[target] is -inf, else
// LogSum - (X[target] - max). The gradient's reference is Softmax minus
// one at target.
func (r *Row) CrossEntropy(target int) float64 {
	xt := float64(r.X[target])
	switch {
	case math.IsNaN(r.LSE) || math.IsInf(r.LSE, 1):
		return math.NaN()
	case math.IsInf(xt, -1):
		return math.Inf(1)
	}
	return r.LogSum - (xt - r.Max())
}

// Path returns the golden file's path: testdata/golden/softmax.bin.gz at
// the module root, found from this source file's location (or, in a binary
// built with -trimpath, from the working directory upwards).
func Path() string {
	if _, file, _, ok := runtime.Caller(0); ok {
		p := filepath.Join(filepath.Dir(file), "..", "..", "testdata", "golden", FileName)
		if _, err := os.Stat(filepath.Dir(p)); err == nil {
			return p
		}
	}
	dir, err := os.Getwd()
	if err == nil {
		for {
			p := filepath.Join(dir, "testdata", "golden", FileName)
			if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
				return p
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				break
			}
			dir = parent
		}
	}
	return filepath.Join("testdata", "golden", FileName)
}

// Load reads and decodes the golden file (see Path). Every call returns
// fresh slices, which the caller may modify.
func Load() ([]Row, error) { return read(Path()) }

func read(path string) ([]Row, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("golden: %s: %w", path, err)
	}
	data, err := io.ReadAll(zr)
	if err != nil {
		return nil, fmt.Errorf("golden: %s: %w", path, err)
	}
	rows, err := decode(data)
	if err != nil {
		return nil, fmt.Errorf("golden: %s: %w", path, err)
	}
	return rows, nil
}

// Write encodes rows in the golden format and writes them to path,
// creating its directory if needed. Every reference must be NaN, infinite
// or within the float32 range. The same rows give the same bytes.
func Write(path string, rows []Row) error {
	data, err := encode(rows)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return err
	}
	// The zero Header: no name, no comment, modification time 0.
	if _, err := zw.Write(data); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, buf.Bytes(), 0o644)
}

func encode(rows []Row) ([]byte, error) {
	out := []byte(magic)
	out = binary.AppendUvarint(out, uint64(len(rows)))
	for _, r := range rows {
		n := len(r.X)
		if len(r.Softmax) != n {
			return nil, fmt.Errorf("golden: row %q: len(Softmax) %d != len(X) %d", r.Name, len(r.Softmax), n)
		}
		out = binary.AppendUvarint(out, uint64(len(r.Name)))
		out = append(out, r.Name...)
		out = binary.AppendUvarint(out, uint64(n))
		out = binary.LittleEndian.AppendUint64(out, math.Float64bits(r.LSE))
		out = binary.LittleEndian.AppendUint64(out, math.Float64bits(r.LogSum))
		for shift := 24; shift >= 0; shift -= 8 {
			for _, v := range r.X {
				out = append(out, byte(math.Float32bits(v)>>shift))
			}
		}
		pred := predict(r.X)
		resid := make([]int16, n)
		for i, v := range r.Softmax {
			b, k, err := split(v)
			if err != nil {
				return nil, fmt.Errorf("golden: row %q, element %d: %w", r.Name, i, err)
			}
			resid[i] = k
			d := int32(b - pred[i])
			out = binary.AppendUvarint(out, uint64(uint32(d<<1)^uint32(d>>31)))
		}
		for _, k := range resid {
			out = append(out, byte(uint16(k)>>8))
		}
		for _, k := range resid {
			out = append(out, byte(k))
		}
	}
	return out, nil
}

// split returns the float32 bits b of v and the residual k with
// v ~ float32(b) + k * ULP32(float32(b)) / 65536.
func split(v float64) (b uint32, k int16, err error) {
	if math.IsNaN(v) {
		return canonicalNaN, 0, nil
	}
	f := float32(v)
	if math.IsInf(float64(f), 0) && !math.IsInf(v, 0) {
		return 0, 0, fmt.Errorf("reference %g is beyond the float32 range", v)
	}
	if math.IsInf(v, 0) {
		return math.Float32bits(f), 0, nil
	}
	// v - float64(f) is exact: both are close (Sterbenz) or f is 0.
	q := math.Round((v - float64(f)) / residUnit(f))
	q = math.Max(-32768, math.Min(32767, q))
	return math.Float32bits(f), int16(q), nil
}

// join is the inverse of split, to within the residual's precision.
func join(b uint32, k int16) float64 {
	f := math.Float32frombits(b)
	switch {
	case f != f:
		return math.NaN()
	case math.IsInf(float64(f), 0):
		return float64(f)
	}
	return float64(f) + float64(k)*residUnit(f) // exact: 24 + 16 bits
}

// residUnit is the residual's unit at f: ULP32(f) / 65536, with ULP32 as in
// package ref, but kept here so that the file format cannot change with it.
func residUnit(f float32) float64 {
	a := math.Abs(float64(f))
	if a < 0x1p-126 {
		return 0x1p-149 / 65536
	}
	_, e := math.Frexp(a)
	return math.Ldexp(1, e-1-23-16)
}

type decoder struct {
	data []byte
	err  error
}

var errShort = errors.New("truncated data")

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.data)
	if n <= 0 {
		d.err = errShort
		return 0
	}
	d.data = d.data[n:]
	return v
}

func (d *decoder) bytes(n uint64) []byte {
	if d.err != nil {
		return nil
	}
	if uint64(len(d.data)) < n {
		d.err = errShort
		return nil
	}
	b := d.data[:n]
	d.data = d.data[n:]
	return b
}

func (d *decoder) float64() float64 {
	b := d.bytes(8)
	if b == nil {
		return 0
	}
	return math.Float64frombits(binary.LittleEndian.Uint64(b))
}

func decode(data []byte) ([]Row, error) {
	if !bytes.HasPrefix(data, []byte(magic)) {
		return nil, errors.New("not a golden file (bad magic)")
	}
	d := &decoder{data: data[len(magic):]}
	nrows := d.uvarint()
	if nrows > uint64(len(data)) {
		return nil, fmt.Errorf("bad row count %d", nrows)
	}
	rows := make([]Row, 0, nrows)
	for range nrows {
		var r Row
		r.Name = string(d.bytes(d.uvarint()))
		n := d.uvarint()
		if d.err == nil && n > uint64(len(d.data)) {
			return nil, fmt.Errorf("row %q: bad length %d", r.Name, n)
		}
		r.LSE = d.float64()
		r.LogSum = d.float64()
		planes := d.bytes(4 * n)
		if d.err != nil {
			break
		}
		r.X = make([]float32, n)
		for i := range r.X {
			r.X[i] = math.Float32frombits(uint32(planes[i])<<24 | uint32(planes[n+uint64(i)])<<16 |
				uint32(planes[2*n+uint64(i)])<<8 | uint32(planes[3*n+uint64(i)]))
		}
		pred := predict(r.X)
		bits := make([]uint32, n)
		for i := range bits {
			z := uint32(d.uvarint())
			bits[i] = pred[i] + (z>>1 ^ -(z & 1))
		}
		planes = d.bytes(2 * n)
		if d.err != nil {
			break
		}
		r.Softmax = make([]float64, n)
		for i := range r.Softmax {
			k := int16(uint16(planes[i])<<8 | uint16(planes[n+uint64(i)]))
			r.Softmax[i] = join(bits[i], k)
		}
		rows = append(rows, r)
	}
	if d.err != nil {
		return nil, fmt.Errorf("row %d: %w", len(rows), d.err)
	}
	if len(d.data) != 0 {
		return nil, fmt.Errorf("%d bytes after the last row", len(d.data))
	}
	return rows, nil
}

// predict returns the float32 bits of the predicted softmax of x (see the
// package comment), with every NaN as canonicalNaN.
func predict(x []float32) []uint32 {
	e := predict64(x)
	p := make([]uint32, len(x))
	for i, v := range e {
		if v != v {
			p[i] = canonicalNaN
		} else {
			p[i] = math.Float32bits(float32(v))
		}
	}
	return p
}

// predict64 is an independent float64 softmax: all NaN for a row with a
// NaN or +inf, all 0 for a fully masked row, else e[i] / sum(e) with
// e[i] = predExp(x[i] - max) and a compensated sum. Only IEEE basic
// operations, each rounded explicitly, and exact library functions are
// used, so the result has the same bits on every platform: the file format
// depends on it.
func predict64(x []float32) []float64 {
	e := make([]float64, len(x))
	m := math.Inf(-1)
	for _, v := range x {
		f := float64(v)
		if f != f || math.IsInf(f, 1) {
			for i := range e {
				e[i] = math.NaN()
			}
			return e
		}
		if f > m {
			m = f
		}
	}
	if math.IsInf(m, -1) {
		return e // fully masked: all 0
	}
	var s, c float64 // Neumaier sum of nonnegative terms
	for i, v := range x {
		e[i] = predExp(float64(v) - m)
		t := s + e[i]
		if s >= e[i] {
			c += (s - t) + e[i]
		} else {
			c += (e[i] - t) + s
		}
		s = t
	}
	s += c
	for i := range e {
		e[i] /= s
	}
	return e
}

// Constants of predExp: fdlibm's split of ln 2 (ln2Hi has 32 significant
// bits, so k*ln2Hi is exact for |k| < 2^21) and 1/j! for the Taylor series.
const (
	predLog2e = 1.44269504088896338700e+00
	predLn2Hi = 6.93147180369123816490e-01
	predLn2Lo = 1.90821492927058770002e-10
)

var predTaylor = [...]float64{
	1, 1, 1.0 / 2, 1.0 / 6, 1.0 / 24, 1.0 / 120, 1.0 / 720, 1.0 / 5040,
	1.0 / 40320, 1.0 / 362880, 1.0 / 3628800, 1.0 / 39916800,
	1.0 / 479001600, 1.0 / 6227020800,
}

// predExp returns exp(d) for d <= 0 (or -inf) to about 1e-15 relative, with
// bit-reproducible operations: k = round(d / ln 2), r = d - k ln 2 in two
// steps, exp(r) by its Taylor polynomial of degree 13 (|r| <= 0.35 makes the
// truncation error below 1e-17), scaled by 2^k.
func predExp(d float64) float64 {
	if d < -746 { // exp(-746) is below half the smallest float64; also -inf
		return 0
	}
	k := math.Floor(float64(d*predLog2e) + 0.5)
	r := d - float64(k*predLn2Hi)
	r -= float64(k * predLn2Lo)
	q := predTaylor[len(predTaylor)-1]
	for j := len(predTaylor) - 2; j >= 0; j-- {
		q = float64(q*r) + predTaylor[j]
	}
	return math.Ldexp(q, int(k))
}

// Generate builds the corpus in memory, with every reference computed by
// package ref. It is deterministic.
func Generate() []Row {
	var rows []Row
	add := func(name string, n int, f func(r *rand.Rand, i int) float32) {
		h := fnv.New64a()
		h.Write([]byte(name))
		r := rand.New(rand.NewPCG(seed, h.Sum64()))
		x := make([]float32, n)
		for i := range x {
			x[i] = f(r, i)
		}
		rows = append(rows, newRow(name, x))
	}
	normal := func(std float64) func(*rand.Rand, int) float32 {
		return func(r *rand.Rand, _ int) float32 { return float32(std * r.NormFloat64()) }
	}
	// uniform in [lo, hi); the product is rounded before the add so that no
	// FMA can change the value.
	uniform := func(lo, hi float64) func(*rand.Rand, int) float32 {
		return func(r *rand.Rand, _ int) float32 { return float32(float64((hi-lo)*r.Float64()) + lo) }
	}
	stds := [3]float64{1, 4, 16}
	for n := 1; n <= 300; n++ {
		add(fmt.Sprintf("len/%d", n), n, normal(stds[n%3]))
	}
	for _, n := range []int{1000, 4096, 32000, 128256} {
		add(fmt.Sprintf("long/%d", n), n, normal(4))
	}
	for _, s := range stds {
		add(fmt.Sprintf("tail/1031/std%g", s), 1031, normal(s))
	}
	for _, o := range []struct {
		name string
		v    float64
	}{{"+1e4", 1e4}, {"-1e4", -1e4}, {"+1e30", 1e30}, {"-1e30", -1e30}} {
		add("offset/"+o.name, 257, func(r *rand.Rand, _ int) float32 { return float32(float64(4*r.NormFloat64()) + o.v) })
	}

	ninf := float32(math.Inf(-1))
	pinf := float32(math.Inf(1))
	nan := math.Float32frombits(canonicalNaN)
	std1 := normal(1)
	sem := func(name string, n int, f func(r *rand.Rand, i int) float32) { add("sem/"+name, n, f) }
	sem("some-neginf", 37, func(r *rand.Rand, i int) float32 {
		if i%3 == 0 {
			return ninf
		}
		return std1(r, i)
	})
	sem("all-neginf", 37, func(*rand.Rand, int) float32 { return ninf })
	at := func(j int, v float32) func(*rand.Rand, int) float32 {
		return func(r *rand.Rand, i int) float32 {
			if i == j {
				return v
			}
			return std1(r, i)
		}
	}
	sem("one-nan", 37, at(17, nan))
	sem("one-posinf", 37, at(5, pinf))
	sem("posinf-neginf", 37, func(r *rand.Rand, i int) float32 {
		switch i {
		case 5:
			return pinf
		case 30:
			return ninf
		}
		return std1(r, i)
	})
	sem("all-equal", 37, func(*rand.Rand, int) float32 { return 3.5 })
	sem("one-dominant", 37, at(11, 100))
	sem("two", 2, std1)
	sem("len1-neginf", 1, func(*rand.Rand, int) float32 { return ninf })
	sem("len1-finite", 1, func(*rand.Rand, int) float32 { return 1.25 })

	for _, top := range []float64{0, 50} {
		rest := uniform(top-110, top)
		add(fmt.Sprintf("underflow/max%g", top), 513, func(r *rand.Rand, i int) float32 {
			if i == 256 {
				return float32(top)
			}
			return rest(r, i)
		})
	}
	add("range/88", 513, uniform(-88, 88))
	add("spread/80", 1031, uniform(-80, 80))
	return rows
}

func newRow(name string, x []float32) Row {
	r := Row{Name: name, X: x, Softmax: make([]float64, len(x))}
	ref.Softmax(r.Softmax, x)
	m, l := ref.MaxLogSum(x)
	r.LSE, r.LogSum = m+l, l
	return r
}
