// Command bench reports how fast and how accurate the softmax kernels are
// on this machine: for each kernel and row length, the time per element of
// every implementation this CPU runs and of the naive Go loop, the speedup
// over that loop, and the error against the float64 reference.
//
//	go run ./bench                      # every kernel, rows of 10 to 128256
//	go run ./bench -kernels Softmax -time 200ms
//	go run ./bench -clock thread          # the thread's CPU time (Linux)
//
// By default the time is wall-clock time, the median of 3 measurements.
// With -clock thread it is the CPU time of the measuring thread, the least
// of 5: on a machine shared with other work, that leaves out the time the
// thread waited for a CPU (not the slowdown from sharing caches and cores).
// Nor does it leave out a slow period of the machine itself. On a VM with
// 2 vCPUs of an AMD EPYC (Zen 3, AVX2), a scalar dependency chain ran at
// 0.65 or at 1.2-1.5 ns a step, in periods of a tenth of a second to
// several seconds, whatever the VM's other vCPU ran, and the avx2
// SoftmaxRows with it at 0.78 or 1.05-1.6 ns per element at 100 columns,
// 0.55 or 0.7-1.1 at 1024. A cell's measurements are taken one after the
// other, within about half a second, so two cells of one table can come
// from different periods: a difference between cells is real only if it
// holds over several runs, and the two things compared are best timed
// alternately in one program. Measured so, the bench's batches and its
// timing read the same as single calls on other buffers: 0.98-1.04x, the
// geometric mean of 10 alternations, for SoftmaxRows, LogSoftmaxRows and
// CrossEntropyRows at 10 and 100 columns.
//
// For statistics over repeated runs, use the benchmarks in this directory:
//
//	go test -bench . -count 10 ./bench | benchstat -col /impl -
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/go-softmax/softmax/kernels"
)

func main() {
	var (
		only    = flag.String("kernels", "", "comma-separated kernels to report (default all): "+strings.Join(kernelNames, ","))
		budget  = flag.Duration("time", 60*time.Millisecond, "time spent on each measurement; reported: the median of 3 with -clock wall, the least of 5 with -clock thread")
		noNaive = flag.Bool("nonaive", false, "skip the naive Go loop (the speedup column is then empty)")
		clock   = flag.String("clock", "wall", "what to time: wall (wall-clock time) or thread (the thread's CPU time, Linux only)")
	)
	flag.Parse()
	switch {
	case *clock == "thread" && threadClockAvailable:
		runtime.LockOSThread()
		timer = threadTimer
	case *clock != "wall":
		fmt.Fprintf(os.Stderr, "bench: -clock %q: want wall or thread (Linux only)\n", *clock)
		os.Exit(2)
	}
	names := kernelNames
	if *only != "" {
		names = strings.Split(*only, ",")
		for _, n := range names {
			if !slices.Contains(kernelNames, n) {
				fmt.Fprintf(os.Stderr, "bench: unknown kernel %q; known: %s\n", n, strings.Join(kernelNames, ", "))
				os.Exit(2)
			}
		}
	}
	var impls []impl
	for _, im := range kernels.Implementations() {
		impls = append(impls, fromImplementation(im), unfused(im))
	}
	if !*noNaive {
		impls = append(impls, naive)
	}
	report(os.Stdout, names, impls, *budget)
}

func report(w io.Writer, names []string, impls []impl, budget time.Duration) {
	var avail []string
	for _, im := range kernels.Implementations() {
		avail = append(avail, im.Name())
	}
	fmt.Fprintf(w, "go-softmax: implementation in use %q (this CPU runs: %s)\n", kernels.Impl(), strings.Join(avail, ", "))
	fmt.Fprintf(w, "%s/%s, %s, GOMAXPROCS %d; one thread; inputs N(0, 4), about 1 MiB per batch; %s\n\n",
		runtime.GOOS, runtime.GOARCH, cpuName(), runtime.GOMAXPROCS(0), timer.what)
	for _, name := range names {
		how := ""
		if f, ok := batchedForm[name]; ok {
			how = fmt.Sprintf("; one %s call per batch", f)
		}
		fmt.Fprintf(w, "%s (error: %s%s)\n", name, errUnit(name), how)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "cols\timpl\tns/elem\tGB/s\tvs naive\tmax err\tmean err\t")
		for _, cols := range shapes {
			rows := max(1, batchElems/cols)
			b := newBatch(rows, cols, 1)
			prepare(name, b)
			var naiveNs float64
			type line struct {
				impl string
				ns   float64
				err  string
			}
			var lines []line
			for _, im := range impls {
				f := im.k.get(name)
				if f == nil {
					continue
				}
				ns := measure(func() { f(b) }, budget) / float64(elems(name, b))
				st := errStats(name, b)
				if im.name == "naive" {
					naiveNs = ns
				}
				lines = append(lines, line{im.name, ns, fmt.Sprintf("%.3f\t%.3f", st.Max, st.Mean())})
			}
			for _, l := range lines {
				speed := ""
				if naiveNs > 0 {
					speed = fmt.Sprintf("%.1fx", naiveNs/l.ns)
				}
				// Each kernel reads its input and writes its output once.
				gbs := 8 / l.ns
				fmt.Fprintf(tw, "%d\t%s\t%.3f\t%.1f\t%s\t%s\t\n", cols, l.impl, l.ns, gbs, speed, l.err)
			}
		}
		tw.Flush()
		fmt.Fprintln(w)
	}
}

// batchedForm names the batched function that times each row kernel of
// package kernels: one call for the whole batch, not one per row.
var batchedForm = map[string]string{
	"Softmax":            "SoftmaxRows",
	"LogSoftmax":         "LogSoftmaxRows",
	"CrossEntropy":       "CrossEntropyRows",
	"SoftmaxBackward":    "SoftmaxBackwardRows",
	"LogSoftmaxBackward": "LogSoftmaxBackwardRows",
}

func errUnit(name string) string {
	switch name {
	case "Softmax", "CrossEntropy", "Exp", "ScaledSoftmax", "CausalSoftmax", "SoftmaxAxis", "SoftmaxWithStats":
		return "ULP"
	case "LogSoftmax", "LogSumExp":
		return "2^-24 * max(1, |ref|)"
	}
	return "2^-24 * the gradient's scale"
}

// A timer is what measure reads: a clock in nanoseconds, and how many
// measurements it takes and which it reports.
type clockTimer struct {
	now   func() int64
	reps  int
	least bool // the least of reps, else the median
	what  string
}

var (
	wallTimer = clockTimer{
		now:  func() int64 { return time.Now().UnixNano() },
		reps: 3, what: "wall-clock time, median of 3",
	}
	threadTimer = clockTimer{
		now:  threadNow,
		reps: 5, least: true, what: "the thread's CPU time, least of 5",
	}
	timer = wallTimer
)

// measure returns the time of one call of f, measured as timer says, each
// measurement running f for about budget.
func measure(f func(), budget time.Duration) float64 {
	f() // warm up
	n := 1
	for {
		start := timer.now()
		for i := 0; i < n; i++ {
			f()
		}
		if d := time.Duration(timer.now() - start); d >= budget/10 {
			n = max(1, int(float64(n)*float64(budget)/float64(d)))
			break
		}
		n *= 4
	}
	var ts []float64
	for rep := 0; rep < timer.reps; rep++ {
		start := timer.now()
		for i := 0; i < n; i++ {
			f()
		}
		ts = append(ts, float64(timer.now()-start)/float64(n))
	}
	sort.Float64s(ts)
	if timer.least {
		return ts[0]
	}
	return ts[len(ts)/2]
}

// cpuName returns the CPU model from /proc/cpuinfo, where there is one.
func cpuName() string {
	data, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	for _, l := range strings.Split(string(data), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}
