package kernels

import (
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
)

// expectPanic calls f and checks that it panics with a message that starts
// with "softmax:" and contains want, and that dst is left untouched.
func expectPanic(t *testing.T, name, want string, dst []float32, f func()) {
	t.Helper()
	before := append([]float32(nil), dst...)
	defer func() {
		t.Helper()
		r := recover()
		msg, _ := r.(string)
		if r == nil {
			t.Errorf("%s: no panic", name)
			return
		}
		if !strings.HasPrefix(msg, "softmax: ") || !strings.Contains(msg, want) {
			t.Errorf("%s: panic %q, want a softmax: message containing %q", name, r, want)
		}
		if i, ok := bitsEqual(dst, before); !ok {
			t.Errorf("%s: dst[%d] written before the panic", name, i)
		}
	}()
	f()
}

// badCall is an invalid call of one kernel. call makes it on k with slices
// of mem, 64 elements that hold a sentinel; want is what the panic message
// must contain.
type badCall struct {
	name, want string
	call       func(k api, mem []float32)
}

// badCalls lists invalid calls of every kernel: lengths that differ, nil
// slices against non-empty ones, bad cols, targets out of range (in the
// first row, in a later one, and in the last), a wrong number of targets,
// and destinations that partially overlap a source, shifted by one
// element either way, or by all but one.
func badCalls() []badCall {
	var cs []badCall
	add := func(name, want string, call func(k api, m []float32)) {
		cs = append(cs, badCall{name, want, call})
	}
	for _, e := range []struct {
		name string
		f    func(k api) func(dst, src []float32)
	}{
		{"Softmax", func(k api) func(dst, src []float32) { return k.Softmax }},
		{"LogSoftmax", func(k api) func(dst, src []float32) { return k.LogSoftmax }},
		{"Exp", func(k api) func(dst, src []float32) { return k.Exp }},
	} {
		add(e.name+" lengths", "len(dst) 12 != len(src) 10", func(k api, m []float32) { e.f(k)(m[:12], m[32:42]) })
		add(e.name+" lengths", "len(dst) 10 != len(src) 12", func(k api, m []float32) { e.f(k)(m[32:42], m[:12]) })
		add(e.name+" nil dst", "len(dst) 0 != len(src) 10", func(k api, m []float32) { e.f(k)(nil, m[32:42]) })
		add(e.name+" nil src", "len(dst) 12 != len(src) 0", func(k api, m []float32) { e.f(k)(m[:12], nil) })
		add(e.name+" same start", "len(dst) 8 != len(src) 12", func(k api, m []float32) { e.f(k)(m[:8], m[:12]) })
		for _, o := range [][2]int{{1, 0}, {0, 1}, {11, 0}, {0, 11}} {
			add(fmt.Sprintf("%s overlap dst +%d src +%d", e.name, o[0], o[1]), "dst partially overlaps src",
				func(k api, m []float32) { e.f(k)(m[o[0]:o[0]+12], m[o[1]:o[1]+12]) })
		}
	}
	for _, e := range []struct {
		name string
		f    func(k api) func(dst, src []float32, cols int)
	}{
		{"SoftmaxRows", func(k api) func(dst, src []float32, cols int) { return k.SoftmaxRows }},
		{"LogSoftmaxRows", func(k api) func(dst, src []float32, cols int) { return k.LogSoftmaxRows }},
	} {
		add(e.name+" lengths", "len(dst) 12 != len(src) 10", func(k api, m []float32) { e.f(k)(m[:12], m[32:42], 2) })
		add(e.name+" nil dst", "len(dst) 0 != len(src) 12", func(k api, m []float32) { e.f(k)(nil, m[:12], 3) })
		add(e.name+" nil src", "len(dst) 12 != len(src) 0", func(k api, m []float32) { e.f(k)(m[:12], nil, 3) })
		for _, cols := range []int{0, -1, -12, math.MinInt} {
			add(fmt.Sprintf("%s cols %d", e.name, cols), fmt.Sprintf("cols %d must be positive", cols),
				func(k api, m []float32) { e.f(k)(m[16:28], m[:12], cols) })
		}
		add(e.name+" empty, cols 0", "cols 0 must be positive", func(k api, m []float32) { e.f(k)(nil, nil, 0) })
		add(e.name+" multiple", "len(src) 12 is not a multiple of cols 5", func(k api, m []float32) { e.f(k)(m[16:28], m[:12], 5) })
		add(e.name+" cols > len", "len(src) 12 is not a multiple of cols 13", func(k api, m []float32) { e.f(k)(m[16:28], m[:12], 13) })
		for _, o := range [][2]int{{1, 0}, {0, 1}, {11, 0}, {0, 11}} {
			add(fmt.Sprintf("%s overlap dst +%d src +%d", e.name, o[0], o[1]), "dst partially overlaps src",
				func(k api, m []float32) { e.f(k)(m[o[0]:o[0]+12], m[o[1]:o[1]+12], 4) })
		}
	}
	for _, e := range []struct {
		name string
		f    func(k api) func(dx, y, dy []float32)
	}{
		{"SoftmaxBackward", func(k api) func(dx, y, dy []float32) { return k.SoftmaxBackward }},
		{"LogSoftmaxBackward", func(k api) func(dx, y, dy []float32) { return k.LogSoftmaxBackward }},
	} {
		add(e.name+" y", "len(dx) 12 != len(y) 10", func(k api, m []float32) { e.f(k)(m[:12], m[32:42], m[16:28]) })
		add(e.name+" dy", "len(dx) 12 != len(dy) 10", func(k api, m []float32) { e.f(k)(m[:12], m[16:28], m[32:42]) })
		add(e.name+" nil dx", "len(dx) 0 != len(y) 12", func(k api, m []float32) { e.f(k)(nil, m[:12], m[16:28]) })
		add(e.name+" nil y", "len(dx) 12 != len(y) 0", func(k api, m []float32) { e.f(k)(m[:12], nil, m[16:28]) })
		add(e.name+" nil dy", "len(dx) 12 != len(dy) 0", func(k api, m []float32) { e.f(k)(m[:12], m[16:28], nil) })
		for _, o := range []int{1, -1, 11, -11} {
			add(fmt.Sprintf("%s overlap dx y %+d", e.name, o), "dx partially overlaps y",
				func(k api, m []float32) { e.f(k)(m[20:32], m[20+o:32+o], m[40:52]) })
			add(fmt.Sprintf("%s overlap dx dy %+d", e.name, o), "dx partially overlaps dy",
				func(k api, m []float32) { e.f(k)(m[20:32], m[40:52], m[20+o:32+o]) })
			add(fmt.Sprintf("%s dx = y, overlap dy %+d", e.name, o), "dx partially overlaps dy",
				func(k api, m []float32) { e.f(k)(m[20:32], m[20:32], m[20+o:32+o]) })
			add(fmt.Sprintf("%s dx = dy, overlap y %+d", e.name, o), "dx partially overlaps y",
				func(k api, m []float32) { e.f(k)(m[20:32], m[20+o:32+o], m[20:32]) })
		}
	}

	for _, e := range []struct {
		name string
		f    func(k api) func(dx, y, dy []float32, cols int)
	}{
		{"SoftmaxBackwardRows", func(k api) func(dx, y, dy []float32, cols int) { return k.SoftmaxBackwardRows }},
		{"LogSoftmaxBackwardRows", func(k api) func(dx, y, dy []float32, cols int) { return k.LogSoftmaxBackwardRows }},
	} {
		add(e.name+" y", "len(dx) 12 != len(y) 10", func(k api, m []float32) { e.f(k)(m[:12], m[32:42], m[16:28], 2) })
		add(e.name+" dy", "len(dx) 12 != len(dy) 10", func(k api, m []float32) { e.f(k)(m[:12], m[16:28], m[32:42], 2) })
		add(e.name+" nil dx", "len(dx) 0 != len(y) 12", func(k api, m []float32) { e.f(k)(nil, m[:12], m[16:28], 3) })
		add(e.name+" nil y", "len(dx) 12 != len(y) 0", func(k api, m []float32) { e.f(k)(m[:12], nil, m[16:28], 3) })
		add(e.name+" nil dy", "len(dx) 12 != len(dy) 0", func(k api, m []float32) { e.f(k)(m[:12], m[16:28], nil, 3) })
		for _, cols := range []int{0, -1, -12, math.MinInt} {
			add(fmt.Sprintf("%s cols %d", e.name, cols), fmt.Sprintf("cols %d must be positive", cols),
				func(k api, m []float32) { e.f(k)(m[:12], m[16:28], m[32:44], cols) })
		}
		add(e.name+" empty, cols 0", "cols 0 must be positive", func(k api, m []float32) { e.f(k)(nil, nil, nil, 0) })
		add(e.name+" multiple", "len(y) 12 is not a multiple of cols 5", func(k api, m []float32) { e.f(k)(m[:12], m[16:28], m[32:44], 5) })
		add(e.name+" cols > len", "len(y) 12 is not a multiple of cols 13", func(k api, m []float32) { e.f(k)(m[:12], m[16:28], m[32:44], 13) })
		for _, o := range []int{1, -1, 11, -11} {
			add(fmt.Sprintf("%s overlap dx y %+d", e.name, o), "dx partially overlaps y",
				func(k api, m []float32) { e.f(k)(m[20:32], m[20+o:32+o], m[40:52], 4) })
			add(fmt.Sprintf("%s overlap dx dy %+d", e.name, o), "dx partially overlaps dy",
				func(k api, m []float32) { e.f(k)(m[20:32], m[40:52], m[20+o:32+o], 4) })
			add(fmt.Sprintf("%s dx = y, overlap dy %+d", e.name, o), "dx partially overlaps dy",
				func(k api, m []float32) { e.f(k)(m[20:32], m[20:32], m[20+o:32+o], 4) })
			add(fmt.Sprintf("%s dx = dy, overlap y %+d", e.name, o), "dx partially overlaps y",
				func(k api, m []float32) { e.f(k)(m[20:32], m[20+o:32+o], m[20:32], 4) })
		}
	}

	// CrossEntropy.
	for _, tg := range []int{10, 11, -1, math.MaxInt, math.MinInt} {
		want := fmt.Sprintf("target %d out of range [0, 10)", tg)
		add(fmt.Sprintf("CrossEntropy target %d", tg), want, func(k api, m []float32) { k.CrossEntropy(m[:10], m[32:42], tg) })
		add(fmt.Sprintf("CrossEntropy nil grad, target %d", tg), want, func(k api, m []float32) { k.CrossEntropy(nil, m[32:42], tg) })
		add(fmt.Sprintf("CrossEntropy in place, target %d", tg), want, func(k api, m []float32) { k.CrossEntropy(m[32:42], m[32:42], tg) })
	}
	add("CrossEntropy nil logits", "target 0 out of range [0, 0)", func(k api, m []float32) { k.CrossEntropy(nil, nil, 0) })
	add("CrossEntropy grad", "len(grad) 12 != len(logits) 10", func(k api, m []float32) { k.CrossEntropy(m[:12], m[32:42], 1) })
	add("CrossEntropy empty grad", "len(grad) 0 != len(logits) 10", func(k api, m []float32) { k.CrossEntropy(m[:0], m[32:42], 1) })
	for _, o := range []int{1, -1, 11, -11} {
		add(fmt.Sprintf("CrossEntropy overlap %+d", o), "grad partially overlaps logits",
			func(k api, m []float32) { k.CrossEntropy(m[20:32], m[20+o:32+o], 0) })
	}

	// CrossEntropyRows: 3 rows of 4 in m[0:12], grad in m[16:28].
	for _, cols := range []int{0, -3} {
		add(fmt.Sprintf("CrossEntropyRows cols %d", cols), fmt.Sprintf("cols %d must be positive", cols),
			func(k api, m []float32) { k.CrossEntropyRows(m[16:28], m[:12], []int32{0, 0, 0}, cols) })
	}
	add("CrossEntropyRows multiple", "len(logits) 12 is not a multiple of cols 5",
		func(k api, m []float32) { k.CrossEntropyRows(m[16:28], m[:12], []int32{0, 0}, 5) })
	for _, tgs := range [][]int32{{0, 1}, {0, 1, 2, 3}, nil} {
		add(fmt.Sprintf("CrossEntropyRows %d targets", len(tgs)), fmt.Sprintf("len(targets) %d != rows 3", len(tgs)),
			func(k api, m []float32) { k.CrossEntropyRows(m[16:28], m[:12], tgs, 4) })
	}
	add("CrossEntropyRows nil logits", "len(targets) 1 != rows 0", func(k api, m []float32) { k.CrossEntropyRows(nil, nil, []int32{0}, 4) })
	for _, c := range []struct {
		tgs  []int32
		want string
	}{
		{[]int32{4, 0, 0}, "targets[0] 4 out of range [0, 4)"},
		{[]int32{0, -1, 0}, "targets[1] -1 out of range [0, 4)"},
		{[]int32{3, 2, 4}, "targets[2] 4 out of range [0, 4)"},
		{[]int32{0, 1, math.MinInt32}, "targets[2] -2147483648 out of range [0, 4)"},
		{[]int32{0, 1, math.MaxInt32}, "targets[2] 2147483647 out of range [0, 4)"},
	} {
		name := fmt.Sprintf("CrossEntropyRows targets %v", c.tgs)
		add(name, c.want, func(k api, m []float32) { k.CrossEntropyRows(m[16:28], m[:12], c.tgs, 4) })
		add(name+", nil grad", c.want, func(k api, m []float32) { k.CrossEntropyRows(nil, m[:12], c.tgs, 4) })
		add(name+", in place", c.want, func(k api, m []float32) { k.CrossEntropyRows(m[:12], m[:12], c.tgs, 4) })
	}
	add("CrossEntropyRows grad", "len(grad) 10 != len(logits) 12",
		func(k api, m []float32) { k.CrossEntropyRows(m[16:26], m[:12], []int32{0, 0, 0}, 4) })
	add("CrossEntropyRows empty grad", "len(grad) 0 != len(logits) 12",
		func(k api, m []float32) { k.CrossEntropyRows(m[16:16], m[:12], []int32{0, 0, 0}, 4) })
	for _, o := range []int{1, -1, 11} {
		add(fmt.Sprintf("CrossEntropyRows overlap %+d", o), "grad partially overlaps logits",
			func(k api, m []float32) { k.CrossEntropyRows(m[20:32], m[20+o:32+o], []int32{0, 0, 0}, 4) })
	}
	return cs
}

// TestBadArguments makes every call of badCalls on every implementation,
// the package-level functions and package fallback, and checks that each
// panics with a "softmax:" message that names the problem, before writing
// anything: every slice the call gets is part of one buffer, which must
// keep its sentinels.
func TestBadArguments(t *testing.T) {
	sentinel := math.Float32frombits(0x7fa5a5a5)
	forEachAPI(t, func(t *testing.T, k api) {
		for _, c := range badCalls() {
			m := make([]float32, 64)
			for i := range m {
				m[i] = sentinel
			}
			expectPanic(t, c.name, c.want, m, func() { c.call(k, m) })
		}
	})
}

func TestBadArgumentsSameStart(t *testing.T) {
	// Same start, different lengths: a partial overlap.
	buf := make([]float32, 16)
	expectPanic(t, "Softmax prefix", "len(dst) 8 != len(src) 16", buf[:8], func() { Softmax(buf[:8], buf) })
	expectPanic(t, "SoftmaxBackward prefix", "dx partially overlaps y", buf[:8], func() { SoftmaxBackward(buf[:8], buf[4:12], buf[8:16]) })
}

func TestAliasing(t *testing.T) {
	forEachImpl(t, func(t *testing.T, im *Implementation) {
		x := []float32{0.5, -1, 3, 2, ninf, 7}
		for _, k := range []struct {
			name string
			f    func(dst, src []float32)
		}{
			{"Softmax", im.Softmax},
			{"LogSoftmax", im.LogSoftmax},
			{"Exp", im.Exp},
			{"SoftmaxRows", func(d, s []float32) { im.SoftmaxRows(d, s, 3) }},
			{"LogSoftmaxRows", func(d, s []float32) { im.LogSoftmaxRows(d, s, 2) }},
			{"CrossEntropy", func(d, s []float32) { im.CrossEntropy(d, s, 2) }},
		} {
			// Out of place, then in place.
			want := make([]float32, len(x))
			k.f(want, x)
			got := append([]float32(nil), x...)
			k.f(got, got)
			if i, ok := bitsEqual(got, want); !ok {
				t.Errorf("%s in place differs at %d: %v, want %v", k.name, i, got, want)
			}
		}
		// Backward in place (dx = y, dx = dy) against out of place.
		y := []float32{0.1, 0.2, 0.7}
		dy := []float32{1, -2, 0.5}
		want := make([]float32, 3)
		im.SoftmaxBackward(want, y, dy)
		got := append([]float32(nil), y...)
		im.SoftmaxBackward(got, got, dy)
		if i, ok := bitsEqual(got, want); !ok {
			t.Errorf("SoftmaxBackward dx=y differs at %d", i)
		}
		got = append([]float32(nil), dy...)
		im.SoftmaxBackward(got, y, got)
		if i, ok := bitsEqual(got, want); !ok {
			t.Errorf("SoftmaxBackward dx=dy differs at %d", i)
		}
		ly := []float32{-2.3, -1.6, -0.36}
		im.LogSoftmaxBackward(want, ly, dy)
		got = append([]float32(nil), ly...)
		im.LogSoftmaxBackward(got, got, dy)
		if i, ok := bitsEqual(got, want); !ok {
			t.Errorf("LogSoftmaxBackward dx=y differs at %d", i)
		}
		got = append([]float32(nil), dy...)
		im.LogSoftmaxBackward(got, ly, got)
		if i, ok := bitsEqual(got, want); !ok {
			t.Errorf("LogSoftmaxBackward dx=dy differs at %d", i)
		}
	})
}

// TestAllocs checks that no kernel allocates, on every implementation, the
// package-level functions and package fallback: out of place and in
// place, with and without grad, at lengths that leave a tail or none and
// with empty rows, through every argument check's accepting path.
func TestAllocs(t *testing.T) {
	forEachAPI(t, func(t *testing.T, k api) {
		for _, n := range []int{0, 1, 17, 1000} {
			x := normalRow(newRand(), n, 4, 0)
			y := make([]float32, n)
			g := make([]float32, n)
			cols := max(1, n/10)
			tg := make([]int32, n/cols)
			for i := range tg {
				tg[i] = int32(i % cols)
			}
			for _, c := range []struct {
				name string
				f    func()
			}{
				{"Softmax", func() { k.Softmax(y, x) }},
				{"Softmax in place", func() { k.Softmax(y, y) }},
				{"SoftmaxRows", func() { k.SoftmaxRows(y, x, cols) }},
				{"SoftmaxRows in place", func() { k.SoftmaxRows(y, y, cols) }},
				{"LogSoftmax", func() { k.LogSoftmax(y, x) }},
				{"LogSoftmax in place", func() { k.LogSoftmax(y, y) }},
				{"LogSoftmaxRows", func() { k.LogSoftmaxRows(y, x, cols) }},
				{"LogSoftmaxRows in place", func() { k.LogSoftmaxRows(y, y, cols) }},
				{"LogSumExp", func() { k.LogSumExp(x) }},
				{"Exp", func() { k.Exp(y, x) }},
				{"Exp in place", func() { k.Exp(y, y) }},
				{"SoftmaxBackward", func() { k.SoftmaxBackward(g, y, x) }},
				{"SoftmaxBackward dx = y", func() { k.SoftmaxBackward(y, y, x) }},
				{"SoftmaxBackward dx = dy", func() { k.SoftmaxBackward(g, y, g) }},
				{"LogSoftmaxBackward", func() { k.LogSoftmaxBackward(g, y, x) }},
				{"LogSoftmaxBackward dx = y", func() { k.LogSoftmaxBackward(y, y, x) }},
				{"LogSoftmaxBackward dx = dy", func() { k.LogSoftmaxBackward(g, y, g) }},
				{"SoftmaxBackwardRows", func() { k.SoftmaxBackwardRows(g, y, x, cols) }},
				{"SoftmaxBackwardRows dx = y", func() { k.SoftmaxBackwardRows(y, y, x, cols) }},
				{"SoftmaxBackwardRows dx = dy", func() { k.SoftmaxBackwardRows(g, y, g, cols) }},
				{"LogSoftmaxBackwardRows", func() { k.LogSoftmaxBackwardRows(g, y, x, cols) }},
				{"LogSoftmaxBackwardRows dx = y", func() { k.LogSoftmaxBackwardRows(y, y, x, cols) }},
				{"LogSoftmaxBackwardRows dx = dy", func() { k.LogSoftmaxBackwardRows(g, y, g, cols) }},
				{"CrossEntropy", func() {
					if n > 0 {
						k.CrossEntropy(g, x, n-1)
					}
				}},
				{"CrossEntropy nil grad", func() {
					if n > 0 {
						k.CrossEntropy(nil, x, 0)
					}
				}},
				{"CrossEntropy in place", func() {
					if n > 0 {
						k.CrossEntropy(y, y, n/2)
					}
				}},
				{"CrossEntropyRows", func() { k.CrossEntropyRows(g, x, tg, cols) }},
				{"CrossEntropyRows nil grad", func() { k.CrossEntropyRows(nil, x, tg, cols) }},
				{"CrossEntropyRows in place", func() { k.CrossEntropyRows(y, y, tg, cols) }},
			} {
				if a := testing.AllocsPerRun(10, c.f); a != 0 {
					t.Errorf("%s, n=%d: %v allocations per call", c.name, n, a)
				}
			}
		}
	})
}

// TestDispatch checks that the package uses the implementation that
// SOFTMAX_EXPECT_IMPL names, when set (CI sets it for each CPU it emulates),
// or else the best one this CPU runs; and that SOFTMAX_IMPL forces one.
func TestDispatch(t *testing.T) {
	want := Implementations()[0].Name()
	if os.Getenv(EnvVar) != "" {
		want = os.Getenv(EnvVar)
	}
	if e := os.Getenv("SOFTMAX_EXPECT_IMPL"); e != "" {
		want = e
	}
	if Impl() != want {
		t.Errorf("Impl() = %q, want %q", Impl(), want)
	}
	if Default().Name() != Impl() {
		t.Errorf("Default().Name() = %q, Impl() = %q", Default().Name(), Impl())
	}
	last := Implementations()[len(Implementations())-1]
	if last.Name() != "generic" {
		t.Errorf("last implementation %q, want generic", last.Name())
	}
	if _, ok := Lookup("generic"); !ok {
		t.Error(`Lookup("generic") failed`)
	}
	if _, ok := Lookup("no-such"); ok {
		t.Error(`Lookup("no-such") succeeded`)
	}
}

// qemuArch maps GOARCH to the name of QEMU's user-mode emulator for it,
// qemu-NAME.
var qemuArch = map[string]string{
	"amd64": "x86_64", "arm64": "aarch64", "386": "i386", "riscv64": "riscv64",
	"ppc64le": "ppc64le", "s390x": "s390x", "loong64": "loongarch64",
}

// TestForcedImpl runs this test binary again with SOFTMAX_IMPL set: to each
// implementation this CPU runs (the child reports it in use), and to an
// unknown name (the child panics at init, listing the names it can run).
func TestForcedImpl(t *testing.T) {
	if os.Getenv("SOFTMAX_CHILD") != "" {
		t.Skip("child process")
	}
	if testing.Short() {
		t.Skip("short mode")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Skip(err)
	}
	emu := "" // the emulator the binary needs, if any
	child := func(impl string) (string, error) {
		name, args := exe, []string{"-test.run=^TestDispatch$", "-test.v"}
		if emu != "" {
			name, args = emu, append([]string{exe}, args...)
		}
		cmd := exec.Command(name, args...)
		cmd.Env = append(os.Environ(), EnvVar+"="+impl, "SOFTMAX_CHILD=1", "SOFTMAX_EXPECT_IMPL="+impl)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if _, err := child("generic"); errors.Is(err, syscall.ENOEXEC) {
		// This binary runs under a user-mode emulator (go test -exec
		// qemu-aarch64) and the system cannot start it by itself: start
		// the child under the same emulator.
		name := "qemu-" + qemuArch[runtime.GOARCH]
		path, lookErr := exec.LookPath(name)
		if lookErr != nil {
			t.Skipf("cannot run the test binary (%v), and no %s: %v", err, name, lookErr)
		}
		emu = path
	}
	for _, im := range Implementations() {
		out, err := child(im.Name())
		if err != nil {
			t.Errorf("%s=%s: %v\n%s", EnvVar, im.Name(), err, out)
		}
	}
	out, err := child("no-such-impl")
	if err == nil || !strings.Contains(out, `softmax: SOFTMAX_IMPL="no-such-impl": unknown implementation; this CPU runs: `) || !strings.Contains(out, "generic") {
		t.Errorf("unknown implementation: err %v, output:\n%s", err, out)
	}
	// An implementation of another architecture, or left out by purego.
	for _, name := range []string{"avx512", "avx2", "neon"} {
		if slices.ContainsFunc(registry, func(im *Implementation) bool { return im.name == name }) {
			continue
		}
		out, err := child(name)
		if err == nil || !strings.Contains(out, fmt.Sprintf("softmax: SOFTMAX_IMPL=%q: implementation not in this build", name)) {
			t.Errorf("%s=%s: err %v, output:\n%s", EnvVar, name, err, out)
		}
		break
	}
}
