package main

import (
	"math"
	"math/rand/v2"
	"slices"

	"github.com/go-softmax/softmax/internal/ref"
	"github.com/go-softmax/softmax/kernels"
)

// The fused kernels' benchmarks, on the batches of suite.go:
//
//	ScaledSoftmax     ScaledSoftmaxRows with scale 1/8 and one mask row per
//	                  row (an attention mask: N(0, 1/4) biases, 1 in 8 -Inf)
//	CausalSoftmax     CausalSoftmaxRows, scale 1/8: square causal blocks of
//	                  cols rows where the batch has that many rows, else the
//	                  last rows of a KV cache (offset = cols - rows)
//	SoftmaxAxis       SoftmaxAxis over [outer, cols, inner] with inner =
//	                  min(64, rows): the softmax over channels of NCHW data
//	SoftmaxWithStats  each row in 4 chunks: StatsOf of each, merged, then
//	                  SoftmaxWithStats of each
//
// Beside the implementations and the naive Go loop, impl=NAME+loop is
// what a user of the unfused kernels writes: a Go loop applying scale and
// mask (or the causal mask) into a buffer, then SoftmaxRows; for
// SoftmaxAxis, a transpose to rows, SoftmaxRows, and a transpose back.

// fusedNames are the fused kernels measured, in report order.
var fusedNames = []string{"ScaledSoftmax", "CausalSoftmax", "SoftmaxAxis", "SoftmaxWithStats"}

// benchScale is the scale of the scaled and causal benchmarks, 1/sqrt(64).
const benchScale = float32(0.125)

// fusedBatch holds what the fused kernels need beyond a batch.
type fusedBatch struct {
	mask []float32 // one mask row per row
	tmp  []float32 // scratch for the unfused versions
	axis [3]int    // the [outer, axis, inner] shape of SoftmaxAxis
}

// prepare adds to b what kernel name needs beyond the batch.
func prepare(name string, b *batch) {
	if b.fused == nil && slices.Contains(fusedNames, name) {
		b.fused = newFusedBatch(b)
	}
}

func newFusedBatch(b *batch) *fusedBatch {
	rng := rand.New(rand.NewPCG(2, uint64(b.cols)))
	n := len(b.x)
	f := &fusedBatch{mask: make([]float32, n), tmp: make([]float32, n)}
	for i := range f.mask {
		f.mask[i] = float32(0.5 * rng.NormFloat64())
		if rng.IntN(8) == 0 {
			f.mask[i] = float32(math.Inf(-1))
		}
	}
	copy(f.tmp, b.x)
	rows := b.rows()
	inner := max(1, min(64, rows))
	f.axis = [3]int{rows / inner, b.cols, inner}
	return f
}

// elems returns the number of elements kernel name processes in batch b.
func elems(name string, b *batch) int {
	if name == "SoftmaxAxis" {
		s := b.fused.axis
		return s[0] * s[1] * s[2]
	}
	return len(b.x)
}

// causalK returns the number of elements row r of the causal benchmark
// keeps; causalBlock, the rows of one CausalSoftmaxRows call, and its
// offset.
func (b *batch) causalK(r int) int {
	block, offset := b.causalBlock()
	return min(b.cols, offset+r%block+1)
}

func (b *batch) causalBlock() (rows, offset int) {
	if b.rows() >= b.cols {
		return b.cols, 0
	}
	return b.rows(), b.cols - b.rows()
}

// fusedFuncs adapts the fused kernels of an implementation.
func fusedFuncs(im *kernels.Implementation) map[string]func(b *batch) {
	return map[string]func(b *batch){
		"ScaledSoftmax": func(b *batch) { im.ScaledSoftmaxRows(b.out, b.x, b.fused.mask, benchScale, b.cols) },
		"CausalSoftmax": func(b *batch) {
			block, offset := b.causalBlock()
			step := block * b.cols
			for i := 0; i < len(b.x); i += step {
				e := min(i+step, len(b.x)) // the last block may be short
				im.CausalSoftmaxRows(b.out[i:e], b.x[i:e], benchScale, b.cols, offset)
			}
		},
		"SoftmaxAxis": func(b *batch) {
			s := b.fused.axis
			n := s[0] * s[1] * s[2]
			im.SoftmaxAxis(b.out[:n], b.x[:n], s[0], s[1], s[2])
		},
		"SoftmaxWithStats": func(b *batch) {
			for r := 0; r < b.rows(); r++ {
				x, y := b.row(b.x, r), b.row(b.out, r)
				var s kernels.Stats
				for c := 0; c < 4; c++ {
					s = s.Merge(im.StatsOf(x[c*len(x)/4 : (c+1)*len(x)/4]))
				}
				for c := 0; c < 4; c++ {
					a, e := c*len(x)/4, (c+1)*len(x)/4
					im.SoftmaxWithStats(y[a:e], x[a:e], s)
				}
			}
		},
	}
}

// unfused is impl=NAME+loop: the unfused kernels of im with the Go loops
// a user would write around them.
func unfused(im *kernels.Implementation) impl {
	return impl{name: im.Name() + "+loop", k: kernelFuncs{fused: map[string]func(b *batch){
		"ScaledSoftmax": func(b *batch) {
			z := b.fused.tmp
			for i, v := range b.x {
				z[i] = benchScale*v + b.fused.mask[i]
			}
			im.SoftmaxRows(b.out, z, b.cols)
		},
		"CausalSoftmax": func(b *batch) {
			ninf := float32(math.Inf(-1))
			for r := 0; r < b.rows(); r++ {
				x, z := b.row(b.x, r), b.row(b.fused.tmp, r)
				k := b.causalK(r)
				for i, v := range x[:k] {
					z[i] = benchScale * v
				}
				for i := range z[k:] {
					z[k+i] = ninf
				}
			}
			im.SoftmaxRows(b.out, b.fused.tmp, b.cols)
		},
		"SoftmaxAxis": func(b *batch) {
			s := b.fused.axis
			n := s[0] * s[1] * s[2]
			transpose(b.out[:n], b.x[:n], s[0], s[1], s[2])
			im.SoftmaxRows(b.fused.tmp[:n], b.out[:n], s[1])
			transpose(b.out[:n], b.fused.tmp[:n], s[0], s[2], s[1])
		},
	}}}
}

// transpose sets dst, an [outer, inner, axis] tensor, to src, an
// [outer, axis, inner] one, with its two last axes swapped.
func transpose(dst, src []float32, outer, axis, inner int) {
	for o := 0; o < outer; o++ {
		s, d := src[o*axis*inner:(o+1)*axis*inner], dst[o*axis*inner:(o+1)*axis*inner]
		for k := 0; k < axis; k++ {
			for j, v := range s[k*inner : (k+1)*inner] {
				d[j*axis+k] = v
			}
		}
	}
}

// naiveFused are the naive Go loops of the fused kernels: float64
// math.Exp, as naiveSoftmax. They round z = scale*x + mask to float32, as
// the kernels are defined to (with a float64 multiply-add, which rounds
// twice in rare cases), so that their errors measure the same thing.
var naiveFused = map[string]func(b *batch){
	"ScaledSoftmax": func(b *batch) {
		for r := 0; r < b.rows(); r++ {
			x, m, y := b.row(b.x, r), b.row(b.fused.mask, r), b.row(b.out, r)
			z := func(i int) float64 {
				return float64(float32(float64(benchScale)*float64(x[i]) + float64(m[i])))
			}
			mx := math.Inf(-1)
			for i := range x {
				mx = math.Max(mx, z(i))
			}
			var sum float64
			for i := range x {
				e := math.Exp(z(i) - mx)
				y[i] = float32(e)
				sum += e
			}
			for i := range y {
				y[i] = float32(float64(y[i]) / sum)
			}
		}
	},
	"CausalSoftmax": func(b *batch) {
		for r := 0; r < b.rows(); r++ {
			x, y := b.row(b.x, r), b.row(b.out, r)
			k := b.causalK(r)
			mx := math.Inf(-1)
			for _, v := range x[:k] {
				mx = math.Max(mx, float64(benchScale*v))
			}
			var sum float64
			for i, v := range x[:k] {
				e := math.Exp(float64(benchScale*v) - mx)
				y[i] = float32(e)
				sum += e
			}
			for i := range y[:k] {
				y[i] = float32(float64(y[i]) / sum)
			}
			clear(y[k:])
		}
	},
	"SoftmaxAxis": func(b *batch) {
		s := b.fused.axis
		outer, axis, inner := s[0], s[1], s[2]
		for o := 0; o < outer; o++ {
			x, y := b.x[o*axis*inner:(o+1)*axis*inner], b.out[o*axis*inner:(o+1)*axis*inner]
			for j := 0; j < inner; j++ {
				mx := math.Inf(-1)
				for k := j; k < len(x); k += inner {
					mx = math.Max(mx, float64(x[k]))
				}
				var sum float64
				for k := j; k < len(x); k += inner {
					e := math.Exp(float64(x[k]) - mx)
					y[k] = float32(e)
					sum += e
				}
				for k := j; k < len(x); k += inner {
					y[k] = float32(float64(y[k]) / sum)
				}
			}
		}
	},
	"SoftmaxWithStats": func(b *batch) {
		for r := 0; r < b.rows(); r++ {
			naiveSoftmax(b.row(b.out, r), b.row(b.x, r))
		}
	},
}

// fusedErrStats measures the output of fused kernel name, just run on b,
// against the float64 reference, in ULPs.
func fusedErrStats(name string, b *batch) ref.Stats {
	var st ref.Stats
	add := func(got []float32, want []float64) {
		for i, w := range want {
			if math.Abs(w) >= ref.MinNormal32 {
				st.Add(ref.ULPErr(got[i], w))
			}
		}
	}
	w := make([]float64, b.cols)
	switch name {
	case "SoftmaxAxis":
		s := b.fused.axis
		n := s[0] * s[1] * s[2]
		wa := make([]float64, n)
		ref.SoftmaxAxis(wa, b.x[:n], s[0], s[1], s[2])
		add(b.out[:n], wa)
		return st
	}
	for r := 0; r < b.rows(); r++ {
		x := b.row(b.x, r)
		switch name {
		case "ScaledSoftmax":
			ref.ScaledSoftmax(w, x, b.row(b.fused.mask, r), benchScale)
		case "CausalSoftmax":
			ref.CausalSoftmax(w, x, benchScale, b.causalK(r))
		case "SoftmaxWithStats":
			ref.Softmax(w, x)
		}
		add(b.row(b.out, r), w)
	}
	return st
}
