// Command bench reports how fast and how accurate the softmax kernels are
// on this machine: for each kernel and row length, the time per element of
// every implementation this CPU runs and of the naive Go loop, the speedup
// over that loop, and the error against the float64 reference.
//
//	go run ./bench                      # every kernel, rows of 10 to 128256
//	go run ./bench -kernels Softmax -time 200ms
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
		budget  = flag.Duration("time", 60*time.Millisecond, "time spent on each measurement; the median of 3 is reported")
		noNaive = flag.Bool("nonaive", false, "skip the naive Go loop (the speedup column is then empty)")
	)
	flag.Parse()
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
	fmt.Fprintf(w, "%s/%s, %s, GOMAXPROCS %d; one thread; inputs N(0, 4), about 1 MiB per batch\n\n",
		runtime.GOOS, runtime.GOARCH, cpuName(), runtime.GOMAXPROCS(0))
	for _, name := range names {
		fmt.Fprintf(w, "%s (error: %s)\n", name, errUnit(name))
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

func errUnit(name string) string {
	switch name {
	case "Softmax", "CrossEntropy", "Exp", "ScaledSoftmax", "CausalSoftmax", "SoftmaxAxis", "SoftmaxWithStats":
		return "ULP"
	case "LogSoftmax", "LogSumExp":
		return "2^-24 * max(1, |ref|)"
	}
	return "2^-24 * the gradient's scale"
}

// measure returns the median time of f over three measurements of about
// budget each.
func measure(f func(), budget time.Duration) float64 {
	f() // warm up
	n := 1
	for {
		start := time.Now()
		for i := 0; i < n; i++ {
			f()
		}
		if d := time.Since(start); d >= budget/10 {
			n = max(1, int(float64(n)*float64(budget)/float64(d)))
			break
		}
		n *= 4
	}
	var ts []float64
	for rep := 0; rep < 3; rep++ {
		start := time.Now()
		for i := 0; i < n; i++ {
			f()
		}
		ts = append(ts, float64(time.Since(start).Nanoseconds())/float64(n))
	}
	sort.Float64s(ts)
	return ts[1]
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
