package main

import (
	"math"
	"math/rand/v2"

	"github.com/go-softmax/softmax/internal/ref"
	"github.com/go-softmax/softmax/kernels"
)

// batchElems is the size of every benchmark input: about 1 MiB of float32s,
// split into rows of the shape's length.
const batchElems = 1 << 18

// shapes are the row lengths measured, from ten classes to a 128k
// vocabulary. The out-of-cache shape, 8 rows of 4,194,304, is benchmarked
// only in the benchmarks (see bench_test.go), not in the report.
var shapes = []int{10, 100, 1024, 4096, 32000, 128256}

// batch is one input batch and its output buffers.
type batch struct {
	cols    int
	x       []float32 // logits, N(0, 4)
	y       []float32 // Softmax(x): the input of SoftmaxBackward
	ly      []float32 // LogSoftmax(x): the input of LogSoftmaxBackward
	dy      []float32 // an upstream gradient, N(0, 1)
	out     []float32
	targets []int32
	fused   *fusedBatch // the fused kernels' inputs, made by prepare (fused.go)
}

func newBatch(rows, cols int, seed uint64) *batch {
	rng := rand.New(rand.NewPCG(seed, uint64(cols)))
	n := rows * cols
	b := &batch{
		cols:    cols,
		x:       make([]float32, n),
		y:       make([]float32, n),
		ly:      make([]float32, n),
		dy:      make([]float32, n),
		out:     make([]float32, n),
		targets: make([]int32, rows),
	}
	for i := range b.x {
		b.x[i] = float32(4 * rng.NormFloat64())
		b.dy[i] = float32(rng.NormFloat64())
	}
	for i := range b.targets {
		b.targets[i] = int32(rng.IntN(cols))
	}
	kernels.SoftmaxRows(b.y, b.x, cols)
	kernels.LogSoftmaxRows(b.ly, b.x, cols)
	// Touch the output, so that no measurement pays for first-touch page
	// faults (which cost more than the kernels on a 128 MiB output).
	copy(b.out, b.x)
	return b
}

func (b *batch) rows() int { return len(b.x) / b.cols }

// rowsOf splits a batch buffer into its rows.
func (b *batch) row(v []float32, r int) []float32 { return v[r*b.cols : (r+1)*b.cols] }

// impl is one set of kernels to measure: an implementation of package
// kernels, or the naive Go loops.
type impl struct {
	name string
	k    kernelFuncs
}

// kernelFuncs holds one function per measured kernel, each running over a
// whole batch; nil where an impl has no version of the kernel.
type kernelFuncs struct {
	softmax, logSoftmax, logSumExp, exp, softmaxBackward, logSoftmaxBackward, crossEntropy func(b *batch)
	fused                                                                                  map[string]func(b *batch) // by name, fusedNames
}

func (k *kernelFuncs) get(name string) func(b *batch) {
	switch name {
	case "Softmax":
		return k.softmax
	case "LogSoftmax":
		return k.logSoftmax
	case "LogSumExp":
		return k.logSumExp
	case "Exp":
		return k.exp
	case "SoftmaxBackward":
		return k.softmaxBackward
	case "LogSoftmaxBackward":
		return k.logSoftmaxBackward
	case "CrossEntropy":
		return k.crossEntropy
	}
	return k.fused[name]
}

// kernelNames are the kernels measured, in report order.
var kernelNames = append([]string{"Softmax", "LogSoftmax", "LogSumExp", "CrossEntropy", "SoftmaxBackward", "LogSoftmaxBackward", "Exp"}, fusedNames...)

// sink keeps the compiler from discarding scalar results.
var sink float32

// fromImplementation adapts an implementation of package kernels; the
// row kernels use their batched forms.
func fromImplementation(im *kernels.Implementation) impl {
	return impl{name: im.Name(), k: kernelFuncs{
		softmax:    func(b *batch) { im.SoftmaxRows(b.out, b.x, b.cols) },
		logSoftmax: func(b *batch) { im.LogSoftmaxRows(b.out, b.x, b.cols) },
		logSumExp: func(b *batch) {
			for r := 0; r < b.rows(); r++ {
				b.out[r] = im.LogSumExp(b.row(b.x, r))
			}
		},
		exp:                func(b *batch) { im.Exp(b.out, b.x) },
		softmaxBackward:    func(b *batch) { im.SoftmaxBackwardRows(b.out, b.y, b.dy, b.cols) },
		logSoftmaxBackward: func(b *batch) { im.LogSoftmaxBackwardRows(b.out, b.ly, b.dy, b.cols) },
		crossEntropy:       func(b *batch) { sink = im.CrossEntropyRows(b.out, b.x, b.targets, b.cols) },
		fused:              fusedFuncs(im),
	}}
}

// naive is what a Go user writes without this library: float64 math.Exp,
// max-subtract, a float64 sum, a divide.
var naive = impl{name: "naive", k: kernelFuncs{
	softmax: func(b *batch) {
		for r := 0; r < b.rows(); r++ {
			naiveSoftmax(b.row(b.out, r), b.row(b.x, r))
		}
	},
	logSoftmax: func(b *batch) {
		for r := 0; r < b.rows(); r++ {
			dst, src := b.row(b.out, r), b.row(b.x, r)
			l := naiveLogSumExp(src)
			for i, v := range src {
				dst[i] = float32(float64(v) - l)
			}
		}
	},
	logSumExp: func(b *batch) {
		for r := 0; r < b.rows(); r++ {
			b.out[r] = float32(naiveLogSumExp(b.row(b.x, r)))
		}
	},
	exp: func(b *batch) {
		for i, v := range b.x {
			b.out[i] = float32(math.Exp(float64(v)))
		}
	},
	softmaxBackward: func(b *batch) {
		for r := 0; r < b.rows(); r++ {
			dx, y, dy := b.row(b.out, r), b.row(b.y, r), b.row(b.dy, r)
			var dot float64
			for i := range y {
				dot += float64(y[i]) * float64(dy[i])
			}
			for i := range y {
				dx[i] = float32(float64(y[i]) * (float64(dy[i]) - dot))
			}
		}
	},
	logSoftmaxBackward: func(b *batch) {
		for r := 0; r < b.rows(); r++ {
			dx, y, dy := b.row(b.out, r), b.row(b.ly, r), b.row(b.dy, r)
			var sum float64
			for _, v := range dy {
				sum += float64(v)
			}
			for i := range y {
				dx[i] = float32(float64(dy[i]) - math.Exp(float64(y[i]))*sum)
			}
		}
	},
	crossEntropy: func(b *batch) {
		var total float64
		for r := 0; r < b.rows(); r++ {
			g, x := b.row(b.out, r), b.row(b.x, r)
			naiveSoftmax(g, x)
			t := b.targets[r]
			total -= math.Log(float64(g[t]))
			g[t]--
		}
		sink = float32(total / float64(b.rows()))
	},
	fused: naiveFused,
}}

func naiveSoftmax(dst, src []float32) {
	m := math.Inf(-1)
	for _, v := range src {
		m = math.Max(m, float64(v))
	}
	var sum float64
	for i, v := range src {
		e := math.Exp(float64(v) - m)
		dst[i] = float32(e)
		sum += e
	}
	for i := range dst {
		dst[i] = float32(float64(dst[i]) / sum)
	}
}

func naiveLogSumExp(src []float32) float64 {
	m := math.Inf(-1)
	for _, v := range src {
		m = math.Max(m, float64(v))
	}
	var sum float64
	for _, v := range src {
		sum += math.Exp(float64(v) - m)
	}
	return m + math.Log(sum)
}

// errStats measures the output of kernel name, just run on b, against the
// float64 reference, in the unit of that kernel's bound: ULPs for Softmax,
// CrossEntropy's gradient and Exp; 2^-24*max(1,|ref|) for LogSoftmax and
// LogSumExp; 2^-24 times the gradient's scale for the backward kernels.
func errStats(name string, b *batch) ref.Stats {
	var st ref.Stats
	w := make([]float64, b.cols)
	for r := 0; r < b.rows(); r++ {
		x, out := b.row(b.x, r), b.row(b.out, r)
		switch name {
		case "Softmax", "CrossEntropy":
			if name == "CrossEntropy" {
				ref.CrossEntropy(w, x, int(b.targets[r]))
			} else {
				ref.Softmax(w, x)
			}
			for i := range w {
				if math.Abs(w[i]) >= ref.MinNormal32 && (name == "Softmax" || i != int(b.targets[r])) {
					st.Add(ref.ULPErr(out[i], w[i]))
				}
			}
		case "LogSoftmax":
			ref.LogSoftmax(w, x)
			for i := range w {
				st.Add(ref.LogErr(out[i], w[i]))
			}
		case "LogSumExp":
			st.Add(ref.LogErr(b.out[r], ref.LogSumExp(x)))
		case "Exp":
			for i, v := range x {
				if w := ref.Exp(v); w >= ref.MinNormal32 {
					st.Add(ref.ULPErr(out[i], w))
				}
			}
		case "SoftmaxBackward":
			y, dy := b.row(b.y, r), b.row(b.dy, r)
			ref.SoftmaxBackward(w, y, dy)
			var dot float64
			for i := range y {
				dot += float64(y[i]) * float64(dy[i])
			}
			for i := range w {
				st.Add(ref.GradErr(out[i], w[i], float64(y[i])*(math.Abs(float64(dy[i]))+math.Abs(dot))))
			}
		default:
			return fusedErrStats(name, b)
		case "LogSoftmaxBackward":
			y, dy := b.row(b.ly, r), b.row(b.dy, r)
			ref.LogSoftmaxBackward(w, y, dy)
			var sum float64
			for _, v := range dy {
				sum += float64(v)
			}
			for i := range w {
				st.Add(ref.GradErr(out[i], w[i], math.Abs(float64(dy[i]))+math.Exp(float64(y[i]))*math.Abs(sum)))
			}
		}
	}
	return st
}
