package main

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/go-softmax/softmax/kernels"
)

// The benchmarks are named Benchmark<Kernel>/impl=<name>/cols=<n>, so that
//
//	go test -bench . -count 10 ./bench | benchstat -col /impl -
//
// compares the implementations side by side. impl=naive is the plain Go loop
// (float64 math.Exp); impl=copy is copy(dst, src) over the same bytes, the
// floor any kernel that reads and writes every element has to pay. Inputs
// are about 1 MiB per batch, plus one out-of-cache shape of 8 rows of
// 4,194,304 elements (128 MiB in, 128 MiB out). The row kernels of package
// kernels run as one call of their batched form per batch (SoftmaxRows,
// SoftmaxBackwardRows and so on; see batchedForm in main.go).

func BenchmarkSoftmax(b *testing.B)            { benchKernel(b, "Softmax") }
func BenchmarkLogSoftmax(b *testing.B)         { benchKernel(b, "LogSoftmax") }
func BenchmarkLogSumExp(b *testing.B)          { benchKernel(b, "LogSumExp") }
func BenchmarkCrossEntropy(b *testing.B)       { benchKernel(b, "CrossEntropy") }
func BenchmarkSoftmaxBackward(b *testing.B)    { benchKernel(b, "SoftmaxBackward") }
func BenchmarkLogSoftmaxBackward(b *testing.B) { benchKernel(b, "LogSoftmaxBackward") }
func BenchmarkExp(b *testing.B)                { benchKernel(b, "Exp") }

// The fused kernels (see fused.go), with impl=NAME+loop, the unfused
// kernel NAME and a Go loop, beside the naive loop.
func BenchmarkScaledSoftmax(b *testing.B)    { benchKernel(b, "ScaledSoftmax") }
func BenchmarkCausalSoftmax(b *testing.B)    { benchKernel(b, "CausalSoftmax") }
func BenchmarkSoftmaxAxis(b *testing.B)      { benchKernel(b, "SoftmaxAxis") }
func BenchmarkSoftmaxWithStats(b *testing.B) { benchKernel(b, "SoftmaxWithStats") }

// outOfCache is the shape that does not fit any cache.
const outOfCacheRows, outOfCacheCols = 8, 1 << 22

func benchKernel(b *testing.B, name string) {
	impls := []impl{}
	for _, im := range kernels.Implementations() {
		impls = append(impls, fromImplementation(im), unfused(im))
	}
	impls = append(impls, naive, copyImpl)
	type shape struct{ rows, cols int }
	var all []shape
	for _, c := range shapes {
		all = append(all, shape{max(1, batchElems/c), c})
	}
	all = append(all, shape{outOfCacheRows, outOfCacheCols})
	for _, im := range impls {
		for _, sh := range all {
			f := im.k.get(name)
			if f == nil {
				continue
			}
			b.Run(fmt.Sprintf("impl=%s/cols=%d", im.name, sh.cols), func(b *testing.B) {
				bt := newBatch(sh.rows, sh.cols, 1)
				prepare(name, bt)
				n := elems(name, bt)
				b.SetBytes(int64(4 * n))
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					f(bt)
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/elem")
			})
		}
	}
}

// copyImpl copies the input to the output for every kernel.
var copyImpl = func() impl {
	f := func(b *batch) { copy(b.out, b.x) }
	fused := map[string]func(b *batch){}
	for _, name := range fusedNames {
		fused[name] = f
	}
	return impl{name: "copy", k: kernelFuncs{f, f, f, f, f, f, f, fused}}
}()

// TestReport runs the report on a small budget, so that go test ./...
// covers the program that go run ./bench runs.
func TestReport(t *testing.T) {
	var sb stringsBuilder
	report(&sb, []string{"Softmax", "Exp", "ScaledSoftmax", "SoftmaxAxis", "LogSoftmaxBackward"}, []impl{fromImplementation(kernels.Default()), unfused(kernels.Default()), naive}, 0)
	if !sb.contains("Softmax") || !sb.contains("128256") || !sb.contains("+loop") || !sb.contains("SoftmaxAxis") ||
		!sb.contains("one LogSoftmaxBackwardRows call per batch") {
		t.Errorf("report lacks its rows:\n%s", sb.String())
	}
}

// TestThreadClock checks that -clock thread measures: the thread's CPU
// time advances over a busy loop, and measure reports a positive time per
// call with it.
func TestThreadClock(t *testing.T) {
	if !threadClockAvailable {
		t.Skip("no thread clock on this OS")
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	saved := timer
	defer func() { timer = saved }()
	timer = threadTimer
	x := make([]float32, 4096)
	t0 := threadNow()
	ns := measure(func() { kernels.Exp(x, x) }, 5*time.Millisecond)
	if used := threadNow() - t0; used < int64(time.Millisecond) {
		t.Errorf("the thread clock advanced %d ns over measurements of 5 ms", used)
	}
	if !(ns > 0) {
		t.Errorf("measure with the thread clock: %v ns per call", ns)
	}
}
