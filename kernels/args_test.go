package kernels

import (
	"errors"
	"os"
	"os/exec"
	"runtime"
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

func TestBadArguments(t *testing.T) {
	forEachImpl(t, func(t *testing.T, im *Implementation) {
		buf := make([]float32, 64)
		for i := range buf {
			buf[i] = float32(i)
		}
		a, b := buf[:10], buf[20:32]
		dst := make([]float32, 12)
		for i := range dst {
			dst[i] = 42
		}
		tg := []int32{0, 1}

		expectPanic(t, "Softmax lengths", "len(dst) 12 != len(src) 10", dst, func() { im.Softmax(dst, a) })
		expectPanic(t, "LogSoftmax lengths", "len(dst) 12 != len(src) 10", dst, func() { im.LogSoftmax(dst, a) })
		expectPanic(t, "Exp lengths", "len(dst) 12 != len(src) 10", dst, func() { im.Exp(dst, a) })
		expectPanic(t, "Exp nil", "len(dst) 0 != len(src) 10", nil, func() { im.Exp(nil, a) })
		expectPanic(t, "SoftmaxRows lengths", "len(dst) 12 != len(src) 10", dst, func() { im.SoftmaxRows(dst, a, 5) })
		expectPanic(t, "SoftmaxRows cols 0", "cols 0 must be positive", dst, func() { im.SoftmaxRows(dst, b, 0) })
		expectPanic(t, "SoftmaxRows cols -3", "cols -3 must be positive", dst, func() { im.SoftmaxRows(dst, b, -3) })
		expectPanic(t, "SoftmaxRows multiple", "len(src) 12 is not a multiple of cols 5", dst, func() { im.SoftmaxRows(dst, b, 5) })
		expectPanic(t, "LogSoftmaxRows multiple", "len(src) 12 is not a multiple of cols 7", dst, func() { im.LogSoftmaxRows(dst, b, 7) })
		expectPanic(t, "LogSoftmaxRows cols 0", "cols 0 must be positive", dst, func() { im.LogSoftmaxRows(dst, b, 0) })

		expectPanic(t, "SoftmaxBackward dy", "len(dx) 12 != len(dy) 10", dst, func() { im.SoftmaxBackward(dst, b, a) })
		expectPanic(t, "SoftmaxBackward y", "len(dx) 12 != len(y) 10", dst, func() { im.SoftmaxBackward(dst, a, b) })
		expectPanic(t, "LogSoftmaxBackward", "len(dx) 12 != len(dy) 10", dst, func() { im.LogSoftmaxBackward(dst, b, a) })

		expectPanic(t, "CrossEntropy target", "target 10 out of range [0, 10)", nil, func() { im.CrossEntropy(nil, a, 10) })
		expectPanic(t, "CrossEntropy negative target", "target -1 out of range [0, 10)", nil, func() { im.CrossEntropy(nil, a, -1) })
		expectPanic(t, "CrossEntropy grad", "len(grad) 12 != len(logits) 10", dst, func() { im.CrossEntropy(dst, a, 1) })
		expectPanic(t, "CrossEntropyRows targets", "len(targets) 2 != rows 3", dst, func() { im.CrossEntropyRows(dst, b, tg, 4) })
		expectPanic(t, "CrossEntropyRows target", "target 7 out of range [0, 6)", dst, func() { im.CrossEntropyRows(dst, b, []int32{0, 7}, 6) })
		expectPanic(t, "CrossEntropyRows cols", "cols 0 must be positive", dst, func() { im.CrossEntropyRows(dst, b, tg, 0) })

		// Partial overlaps; exact aliasing is fine.
		over := buf[25:37]
		expectPanic(t, "Softmax overlap", "dst partially overlaps src", over, func() { im.Softmax(over, b) })
		expectPanic(t, "SoftmaxRows overlap", "dst partially overlaps src", over, func() { im.SoftmaxRows(over, b, 4) })
		expectPanic(t, "LogSoftmax overlap", "dst partially overlaps src", over, func() { im.LogSoftmax(over, b) })
		expectPanic(t, "Exp overlap", "dst partially overlaps src", over, func() { im.Exp(over, b) })
		expectPanic(t, "backward overlap", "dx partially overlaps dy", over, func() { im.SoftmaxBackward(over, dst, b) })
		expectPanic(t, "CrossEntropy overlap", "grad partially overlaps logits", over, func() { im.CrossEntropy(over, b, 0) })
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
			{"SoftmaxBackward dx=y", func(d, s []float32) { im.SoftmaxBackward(d, d, s) }},
			{"SoftmaxBackward dx=dy", func(d, s []float32) { im.SoftmaxBackward(d, s, d) }},
			{"LogSoftmaxBackward dx=y", func(d, s []float32) { im.LogSoftmaxBackward(d, d, s) }},
			{"LogSoftmaxBackward dx=dy", func(d, s []float32) { im.LogSoftmaxBackward(d, s, d) }},
		} {
			// Out of place, with a copy of x standing in for the aliased
			// operand, then in place.
			want := append([]float32(nil), x...)
			k.f(want, append([]float32(nil), x...))
			got := append([]float32(nil), x...)
			k.f(got, got)
			if !strings.HasPrefix(k.name, "SoftmaxBackward") && !strings.HasPrefix(k.name, "LogSoftmaxBackward") {
				if i, ok := bitsEqual(got, want); !ok {
					t.Errorf("%s in place differs at %d: %v, want %v", k.name, i, got, want)
				}
			}
		}
		// Backward in place against out of place.
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

func TestAllocs(t *testing.T) {
	x := normalRow(newRand(), 1000, 4, 0)
	y := make([]float32, len(x))
	g := make([]float32, len(x))
	tg := []int32{3, 1, 4, 1, 5, 9, 2, 6, 5, 3}
	forEachImpl(t, func(t *testing.T, im *Implementation) {
		for _, k := range []struct {
			name string
			f    func()
		}{
			{"Softmax", func() { im.Softmax(y, x) }},
			{"SoftmaxRows", func() { im.SoftmaxRows(y, x, 100) }},
			{"LogSoftmax", func() { im.LogSoftmax(y, x) }},
			{"LogSoftmaxRows", func() { im.LogSoftmaxRows(y, x, 10) }},
			{"LogSumExp", func() { im.LogSumExp(x) }},
			{"SoftmaxBackward", func() { im.SoftmaxBackward(g, y, x) }},
			{"LogSoftmaxBackward", func() { im.LogSoftmaxBackward(g, y, x) }},
			{"CrossEntropy", func() { im.CrossEntropy(g, x, 7) }},
			{"CrossEntropy nil", func() { im.CrossEntropy(nil, x, 7) }},
			{"CrossEntropyRows", func() { im.CrossEntropyRows(g, x, tg, 100) }},
			{"Exp", func() { im.Exp(y, x) }},
			{"Softmax in place", func() { im.Softmax(y, y) }},
		} {
			if n := testing.AllocsPerRun(20, k.f); n != 0 {
				t.Errorf("%s: %v allocations per call", k.name, n)
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
}
