//go:build !purego && (amd64 || arm64)

package kernels

import (
	"math"

	"github.com/go-softmax/softmax/fallback"
	"github.com/go-softmax/softmax/internal/check"
)

// withFallback returns k with the kernels it lacks (those without an
// assembly version yet) taken from the generic implementation.
func withFallback(k kernelSet) kernelSet {
	g := generic.k
	if k.softmaxRows == nil {
		k.softmaxRows = g.softmaxRows
	}
	if k.logSoftmaxRows == nil {
		k.logSoftmaxRows = g.logSoftmaxRows
	}
	if k.logSumExp == nil {
		k.logSumExp = g.logSumExp
	}
	if k.softmaxBackward == nil {
		k.softmaxBackward = g.softmaxBackward
	}
	if k.logSoftmaxBackward == nil {
		k.logSoftmaxBackward = g.logSoftmaxBackward
	}
	if k.softmaxBackwardRows == nil {
		k.softmaxBackwardRows = g.softmaxBackwardRows
	}
	if k.logSoftmaxBackwardRows == nil {
		k.logSoftmaxBackwardRows = g.logSoftmaxBackwardRows
	}
	if k.crossEntropy == nil {
		k.crossEntropy = g.crossEntropy
	}
	if k.crossEntropyRows == nil {
		k.crossEntropyRows = g.crossEntropyRows
	}
	if k.exp == nil {
		k.exp = g.exp
	}
	if k.scaledSoftmaxRows == nil {
		k.scaledSoftmaxRows = g.scaledSoftmaxRows
	}
	if k.scaledLogSoftmaxRows == nil {
		k.scaledLogSoftmaxRows = g.scaledLogSoftmaxRows
	}
	if k.causalSoftmaxRows == nil {
		k.causalSoftmaxRows = g.causalSoftmaxRows
	}
	if k.softmaxAxis == nil {
		k.softmaxAxis = g.softmaxAxis
	}
	if k.logSoftmaxAxis == nil {
		k.logSoftmaxAxis = g.logSoftmaxAxis
	}
	if k.statsOf == nil {
		k.statsOf = g.statsOf
	}
	if k.softmaxWithStats == nil {
		k.softmaxWithStats = g.softmaxWithStats
	}
	if k.logSoftmaxWithStats == nil {
		k.logSoftmaxWithStats = g.logSoftmaxWithStats
	}
	return k
}

// rowsKernel adapts an assembly row kernel, which takes the number of rows,
// to the kernel set's form.
func rowsKernel(f func(dst, src []float32, rows, cols int)) func(dst, src []float32, cols int) {
	return func(dst, src []float32, cols int) { f(dst, src, len(src)/cols, cols) }
}

// ceRowsFunc is an assembly cross-entropy kernel: it returns the sum of the
// rows' losses in float64, added in row order, and fills grad unless it is
// nil.
type ceRowsFunc func(grad, logits []float32, targets []int32, rows, cols int) float64

// crossEntropyRowsKernel adapts an assembly cross-entropy kernel to the
// kernel set's form: the mean loss, divided and rounded as
// fallback.CrossEntropyRows does.
func crossEntropyRowsKernel(f ceRowsFunc) func(grad, logits []float32, targets []int32, cols int) float32 {
	return func(grad, logits []float32, targets []int32, cols int) float32 {
		rows := len(logits) / cols
		return roundLoss(f(grad, logits, targets, rows, cols) / float64(rows))
	}
}

// crossEntropyKernel runs an assembly cross-entropy kernel on one row. A
// target beyond the int32 range (a row of 2^31 logits or more) goes to the
// generic code, which gives the same bits.
func crossEntropyKernel(f ceRowsFunc) func(grad, logits []float32, target int) float32 {
	return func(grad, logits []float32, target int) float32 {
		if target > math.MaxInt32 {
			return generic.k.crossEntropy(grad, logits, target)
		}
		t := [1]int32{int32(target)}
		return roundLoss(f(grad, logits, t[:], 1, len(logits)))
	}
}

// roundLoss rounds a loss to float32, a NaN to the canonical NaN, as the
// fallback does.
func roundLoss(v float64) float32 {
	if v != v {
		return math.Float32frombits(0x7fc00000)
	}
	return float32(v)
}

// scaledRowsKernel adapts a pair of assembly scaled kernels, with a mask
// and without one, to the kernel set's form.
func scaledRowsKernel(masked func(dst, src, mask []float32, scale float32, rows, cols int),
	plain func(dst, src []float32, scale float32, rows, cols int)) func(dst, src, mask []float32, scale float32, cols int) {
	return func(dst, src, mask []float32, scale float32, cols int) {
		if len(mask) == 0 {
			plain(dst, src, scale, len(src)/cols, cols)
			return
		}
		masked(dst, src, mask, scale, len(src)/cols, cols)
	}
}

// causalKernel adapts an assembly causal kernel to the kernel set's form.
// It clamps offset to [-rows-1, cols], which leaves every row's length
// offset+r+1, clamped to [0, cols], as it is, and keeps the kernel's
// offset+r+1 from overflowing.
func causalKernel(f func(dst, src []float32, scale float32, rows, cols, offset int)) func(dst, src []float32, scale float32, cols, offset int) {
	return func(dst, src []float32, scale float32, cols, offset int) {
		rows := len(src) / cols
		f(dst, src, scale, rows, cols, min(max(offset, -rows-1), cols))
	}
}

// statsKernel adapts an assembly StatsOf kernel, which returns the max
// and sum of passes 1 and 2, to the kernel set's form: a NaN sum gives the
// NaN statistics, and a max of zero the sign of the first zero of src, as
// fallback.StatsOf's max (the first element above all before it) has; the
// kernel's lanes meet the zeros in another order.
func statsKernel(f func(src []float32) (float32, float64)) func(src []float32) fallback.Stats {
	return func(src []float32) fallback.Stats {
		m, s := f(src)
		switch {
		case s != s:
			return fallback.Stats{Max: math.Float32frombits(0x7fc00000), Sum: math.NaN()}
		case m == 0:
			for _, v := range src {
				if v == 0 {
					m = v
					break
				}
			}
		}
		return fallback.Stats{Max: m, Sum: s}
	}
}

// withStatsKernel adapts a pair of assembly kernels, the coverage check
// and pass 3 for finite statistics, to SoftmaxWithStats or
// LogSoftmaxWithStats: the special statistics fill dst here, as the
// fallback does (masked is the value of a fully masked row), and
// statistics that do not cover src panic with its message, before dst is
// written. Statistics that StatsOf and Merge do not make (an infinite or
// NaN max with a finite sum) go to the generic kernel gen.
func withStatsKernel(covered func(src []float32, max float32) bool,
	out func(dst, src []float32, max float32, sum float64),
	masked float32, gen func(dst, src []float32, s fallback.Stats)) func(dst, src []float32, s fallback.Stats) {
	return func(dst, src []float32, s fallback.Stats) {
		if s.Sum != s.Sum || math.IsInf(s.Sum, 1) {
			nan := math.Float32frombits(0x7fc00000)
			for i := range dst {
				dst[i] = nan
			}
			return
		}
		m := s.Max
		if s.Sum == 0 {
			m = float32(math.Inf(-1))
		}
		if !covered(src, m) {
			// The maximum as the fallback takes it, for the same
			// message: the first element above all before it (the
			// builtin max would prefer +0 to an earlier -0).
			srcMax, srcNaN := float32(math.Inf(-1)), false
			for _, v := range src {
				if v > srcMax {
					srcMax = v
				}
				srcNaN = srcNaN || v != v
			}
			check.Covered(srcMax, srcNaN, m)
		}
		switch {
		case s.Sum == 0:
			for i := range dst {
				dst[i] = masked
			}
		case math.IsInf(float64(m), 0) || m != m:
			gen(dst, src, s)
		default:
			out(dst, src, m, s.Sum)
		}
	}
}
