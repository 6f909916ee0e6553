package golden

import (
	"bytes"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-softmax/softmax/internal/ref"
)

var update = flag.Bool("update", false, "rewrite testdata/golden from the reference")

// maxSize is the budget for the golden file.
const maxSize = 2 << 20

// encTol is the decoding precision the tests require, in float32 ULPs; the
// format gives 2^-16.
const encTol = 1e-4

// refErr returns how far a decoded reference got is from want, in float32
// ULPs at want, and whether it is acceptable: exact for 0, NaN and the
// infinities, below encTol for |want| >= 2^-126, and within 2^-165 (the
// format's absolute precision there, at a clamped tie) below that.
func refErr(got, want float64) (float64, bool) {
	switch {
	case math.IsNaN(want) || math.IsNaN(got):
		return 0, math.IsNaN(want) && math.IsNaN(got)
	case math.IsInf(want, 0) || want == 0:
		return 0, got == want
	case math.Abs(want) < ref.MinNormal32:
		return 0, math.Abs(got-want) <= 0x1p-165+0x1p-52*math.Abs(want)
	}
	e := math.Abs(got-want) / ref.ULP32(want)
	return e, e < encTol
}

// same reports whether two float64 values agree to a relative 1e-14, or
// are the same non-finite value. LSE and LogSum are stored as float64 bits,
// but Generate on another GOARCH may differ in the last bits (math.Exp and
// math.Log use assembly on some).
func same(a, b float64) bool {
	if a == b || (math.IsNaN(a) && math.IsNaN(b)) {
		return true
	}
	return math.Abs(a-b) <= 1e-14*math.Max(1, math.Abs(b))
}

// compare reports every difference between got and want beyond the
// encoding precision, and returns the largest decoding error seen.
func compare(t *testing.T, got, want []Row) ref.Stats {
	t.Helper()
	var st ref.Stats
	if len(got) != len(want) {
		t.Fatalf("%d rows, want %d", len(got), len(want))
	}
	for ri := range want {
		g, w := &got[ri], &want[ri]
		if g.Name != w.Name || len(g.X) != len(w.X) || len(g.Softmax) != len(w.X) {
			t.Errorf("row %d: %q with %d inputs and %d outputs, want %q with %d",
				ri, g.Name, len(g.X), len(g.Softmax), w.Name, len(w.X))
			continue
		}
		if !same(g.LSE, w.LSE) || !same(g.LogSum, w.LogSum) {
			t.Errorf("%s: LSE, LogSum = %v, %v, want %v, %v", w.Name, g.LSE, g.LogSum, w.LSE, w.LogSum)
		}
		bad := 0
		for i := range w.X {
			if math.Float32bits(g.X[i]) != math.Float32bits(w.X[i]) {
				if bad++; bad <= 3 {
					t.Errorf("%s: X[%d] = %v (%#x), want %v (%#x)", w.Name, i,
						g.X[i], math.Float32bits(g.X[i]), w.X[i], math.Float32bits(w.X[i]))
				}
				continue
			}
			e, ok := refErr(g.Softmax[i], w.Softmax[i])
			if !ok {
				if bad++; bad <= 3 {
					t.Errorf("%s: Softmax[%d] = %v, want %v (%g ULP)", w.Name, i, g.Softmax[i], w.Softmax[i], e)
				}
			}
			if math.Abs(w.Softmax[i]) >= ref.MinNormal32 {
				st.Add(e)
			}
		}
		if bad > 3 {
			t.Errorf("%s: %d differences in all", w.Name, bad)
		}
	}
	return st
}

// TestGolden pins the file to the reference: the file must decode to what
// Generate computes now. With -update it first rewrites the file.
func TestGolden(t *testing.T) {
	want := Generate()
	if *update {
		if err := Write(Path(), want); err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(Path())
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s: %d bytes", Path(), fi.Size())
	}
	got, err := Load()
	if err != nil {
		t.Fatalf("%v\n(regenerate with: go test ./internal/golden -update)", err)
	}
	st := compare(t, got, want)
	if t.Failed() {
		t.Log("the golden file and the reference disagree; if the reference changed on purpose, " +
			"regenerate with: go test ./internal/golden -update")
	}
	t.Logf("%d rows, %d elements >= 2^-126 checked; decoding error max %.3g, mean %.3g ULP",
		len(got), st.N, st.Max, st.Mean())
}

func TestFileSize(t *testing.T) {
	fi, err := os.Stat(Path())
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() >= maxSize {
		t.Errorf("%s is %d bytes, over the %d budget", Path(), fi.Size(), maxSize)
	}
	data, err := os.ReadFile(Path())
	if err != nil {
		t.Fatal(err)
	}
	// gzip header: magic, method 8, no flags (no name), mtime 0.
	if len(data) < 10 || !bytes.Equal(data[:8], []byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0}) {
		t.Errorf("gzip header % x: want no flags and mtime 0", data[:min(10, len(data))])
	}
}

// TestCorpus checks the corpus's shape and the special rows' references.
func TestCorpus(t *testing.T) {
	rows, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]*Row{}
	total := 0
	for i := range rows {
		r := &rows[i]
		if byName[r.Name] != nil {
			t.Errorf("duplicate row %q", r.Name)
		}
		byName[r.Name] = r
		total += len(r.X)
	}
	lens := map[string]int{"long/128256": 128256, "long/32000": 32000, "tail/1031/std16": 1031,
		"offset/+1e30": 257, "underflow/max50": 513, "range/88": 513, "spread/80": 1031,
		"sem/two": 2, "sem/len1-finite": 1, "sem/one-nan": 37}
	for n := 1; n <= 300; n++ {
		lens[fmt.Sprintf("len/%d", n)] = n
	}
	for name, n := range lens {
		if r := byName[name]; r == nil || len(r.X) != n {
			t.Errorf("row %q missing or not %d long", name, n)
		}
	}
	t.Logf("%d rows, %d elements", len(rows), total)

	all := func(name string, f func(v float64) bool, lse float64) {
		r := byName[name]
		if r == nil {
			t.Errorf("no row %q", name)
			return
		}
		for i, v := range r.Softmax {
			if !f(v) {
				t.Errorf("%s: Softmax[%d] = %v", name, i, v)
				break
			}
		}
		if !same(r.LSE, lse) {
			t.Errorf("%s: LSE = %v, want %v", name, r.LSE, lse)
		}
	}
	isNaN := math.IsNaN
	all("sem/one-nan", isNaN, math.NaN())
	all("sem/one-posinf", isNaN, math.Inf(1))
	all("sem/posinf-neginf", isNaN, math.Inf(1))
	all("sem/all-neginf", func(v float64) bool { return v == 0 }, math.Inf(-1))
	all("sem/len1-neginf", func(v float64) bool { return v == 0 }, math.Inf(-1))
	all("sem/len1-finite", func(v float64) bool { return v == 1 }, 1.25)
	near := func(w float64) func(float64) bool {
		return func(v float64) bool { _, ok := refErr(v, w); return ok }
	}
	all("sem/all-equal", near(1.0/37), 3.5+math.Log(37))
	all("offset/+1e30", near(1.0/257), float64(float32(1e30)))

	r := byName["sem/some-neginf"]
	for i, v := range r.Softmax {
		if (i%3 == 0) != (v == 0) {
			t.Errorf("sem/some-neginf: Softmax[%d] = %v for x = %v", i, v, r.X[i])
		}
	}
	// The underflow rows must put outputs on both sides of 2^-126.
	for _, name := range []string{"underflow/max0", "underflow/max50"} {
		below, near := 0, 0
		for _, v := range byName[name].Softmax {
			if v < ref.MinNormal32 {
				below++
			}
			if v >= 0x1p-130 && v < 0x1p-122 {
				near++
			}
		}
		if below < 50 || near < 20 {
			t.Errorf("%s: %d outputs below 2^-126, %d within 2^-130..2^-122", name, below, near)
		}
	}
}

// TestRowMethods checks Row.LogSoftmax and Row.CrossEntropy against ref.
func TestRowMethods(t *testing.T) {
	rows, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		want := make([]float64, len(r.X))
		ref.LogSoftmax(want, r.X)
		got := r.LogSoftmax()
		for i := range want {
			if !same(got[i], want[i]) {
				t.Errorf("%s: LogSoftmax[%d] = %v, want %v", r.Name, i, got[i], want[i])
				break
			}
		}
		for _, tg := range []int{0, len(r.X) / 2, len(r.X) - 1} {
			if g, w := r.CrossEntropy(tg), ref.CrossEntropy(nil, r.X, tg); !same(g, w) {
				t.Errorf("%s: CrossEntropy(%d) = %v, want %v", r.Name, tg, g, w)
			}
		}
	}
	// At +1e30, x - LSE loses everything; the methods must not.
	for _, r := range rows {
		if r.Name == "offset/+1e30" {
			if v := r.LogSoftmax()[0]; math.Abs(v+math.Log(257)) > 1e-15 {
				t.Errorf("%s: LogSoftmax[0] = %v, want -ln 257", r.Name, v)
			}
		}
	}
}

// TestPredictor checks the codec's predictor, an independent float64
// softmax, against the reference: a cross-check of ref.Softmax, and a
// measure of how well the file compresses.
func TestPredictor(t *testing.T) {
	rows := Generate()
	var st ref.Stats
	off := 0
	for _, r := range rows {
		p64 := predict64(r.X)
		p := predict(r.X)
		for i, w := range r.Softmax {
			b, _, err := split(w)
			if err != nil {
				t.Fatal(err)
			}
			if d := int32(b - p[i]); d != 0 {
				off++
				if d < -1 || d > 1 {
					t.Errorf("%s[%d]: prediction %#x, reference %#x (%v)", r.Name, i, p[i], b, w)
				}
			}
			if math.IsNaN(w) != math.IsNaN(p64[i]) || (w == 0) != (p64[i] == 0) {
				t.Errorf("%s[%d]: prediction %v, reference %v", r.Name, i, p64[i], w)
			}
			if w >= ref.MinNormal32 {
				st.Add(math.Abs(p64[i]-w) / ref.ULP32(w))
			}
		}
	}
	if st.Max > 1e-6 {
		t.Errorf("predictor and ref.Softmax differ by up to %g float32 ULPs, want < 1e-6", st.Max)
	}
	t.Logf("predictor vs reference: max %.2g, mean %.2g ULP; float32 bits differ at %d elements", st.Max, st.Mean(), off)
}

// TestCodec round-trips references that no prediction matches: random and
// edge values, through Write and read.
func TestCodec(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	x := make([]float32, 64)
	for i := range x {
		x[i] = float32(r.NormFloat64())
	}
	edge := []float64{
		0, 1, -1, 0.5, 1 - 0x1p-30, 1 + 0x1p-24, 1 - 0x1p-25, 1 + 3*0x1p-25, 0.25 + 0x1p-50,
		ref.MinNormal32, ref.MinNormal32 * (1 - 0x1p-30), ref.MinNormal32 * (1 + 0x1p-30),
		0x1p-149, 0x1p-150, 0x1.8p-150, 0x1p-160, 1e-300, 5e-324, -3e-40,
		math.MaxFloat32, -math.MaxFloat32, 3e38, math.Inf(1), math.Inf(-1), math.NaN(),
		math.Pi, -math.E, 1.0 / 3, 1e-30, 123456.789,
	}
	var refs []float64
	refs = append(refs, edge...)
	for len(refs) < len(x) {
		// A random float32 scaled by (1 + tiny): sub-ULP parts of every size.
		f := float64(math.Float32frombits(r.Uint32()&0x7f7fffff)) * (1 + (r.Float64()-0.5)*0x1p-22)
		if r.IntN(2) == 0 {
			f = -f
		}
		refs = append(refs, f)
	}
	rows := []Row{
		{Name: "random", X: x, Softmax: refs[:len(x)], LSE: 1.5, LogSum: -0.25},
		{Name: "empty", X: []float32{}, Softmax: []float64{}, LSE: math.Inf(-1)},
		{Name: "specials", X: []float32{float32(math.NaN()), 1}, Softmax: []float64{0.5, 0.5}, LSE: math.NaN(), LogSum: math.NaN()},
		{Name: strings.Repeat("n", 300), X: x[:3], Softmax: []float64{1, 2, 3}},
	}
	path := filepath.Join(t.TempDir(), "sub", "g.gz")
	if err := Write(path, rows); err != nil {
		t.Fatal(err)
	}
	got, err := read(path)
	if err != nil {
		t.Fatal(err)
	}
	st := compare(t, got, rows)
	for i := range rows {
		if math.Float64bits(got[i].LSE) != math.Float64bits(rows[i].LSE) ||
			math.Float64bits(got[i].LogSum) != math.Float64bits(rows[i].LogSum) {
			t.Errorf("%s: LSE, LogSum not stored exactly", rows[i].Name)
		}
	}
	if st.Max > 0x1p-16 {
		t.Errorf("decoding error up to %g ULP, the format promises 2^-16", st.Max)
	}
	t.Logf("codec on random references: max %.3g ULP (2^-16 = %.3g), mean %.3g", st.Max, 0x1p-16, st.Mean())

	if err := Write(path, []Row{{Name: "big", X: []float32{0}, Softmax: []float64{1e39}}}); err == nil {
		t.Error("Write accepted a reference beyond the float32 range")
	}
	if err := Write(path, []Row{{Name: "short", X: []float32{0, 1}, Softmax: []float64{1}}}); err == nil {
		t.Error("Write accepted a row with len(Softmax) != len(X)")
	}
}

func TestDecodeErrors(t *testing.T) {
	data, err := encode(Generate()[:20])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := decode(data); err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{0, 5, 9, 100, len(data) / 2, len(data) - 1} {
		if _, err := decode(data[:n]); err == nil {
			t.Errorf("decode accepted %d of %d bytes", n, len(data))
		}
	}
	if _, err := decode(append(data[:len(data):len(data)], 0)); err == nil {
		t.Error("decode accepted a trailing byte")
	}
}

// TestDeterministic checks that Generate and Write are repeatable, so that
// -update twice gives byte-identical files.
func TestDeterministic(t *testing.T) {
	dir := t.TempDir()
	var files [2][]byte
	for i := range files {
		p := filepath.Join(dir, fmt.Sprint(i))
		if err := Write(p, Generate()); err != nil {
			t.Fatal(err)
		}
		var err error
		if files[i], err = os.ReadFile(p); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(files[0], files[1]) {
		t.Error("two Writes of Generate() differ")
	}
	committed, err := os.ReadFile(Path())
	if err == nil {
		// Not an error: the reference's last float64 bits, or compress/flate,
		// may differ on another GOARCH or Go release.
		t.Logf("a fresh file is byte-identical to %s: %v", FileName, bytes.Equal(committed, files[0]))
	}
}
