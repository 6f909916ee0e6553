//go:build !purego

package kernels

import (
	"math"

	"github.com/go-softmax/softmax/internal/asm"
	"golang.org/x/sys/cpu"
)

// archImplementations returns the arm64 SIMD implementations, best first.
// Kernels without an assembly version yet run the fallback's code.
func archImplementations() []*Implementation { return []*Implementation{neon} }

// neon runs 16 lanes in four 128-bit NEON registers. Advanced SIMD and
// floating point are part of every arm64 CPU that Go runs on; they are
// checked all the same, as golang.org/x/sys/cpu reports them (on systems
// where it cannot read the CPU's registers, it reports both as present).
var neon = &Implementation{
	name:      "neon",
	supported: func() bool { return cpu.ARM64.HasASIMD && cpu.ARM64.HasFP },
	k: withFallback(kernelSet{
		softmaxRows:        rowsKernel(asm.SoftmaxRowsNEON),
		exp:                asm.ExpNEON,
		logSoftmaxRows:     rowsKernel(asm.LogSoftmaxRowsNEON),
		logSumExp:          asm.LogSumExpNEON,
		softmaxBackward:    asm.SoftmaxBackwardNEON,
		logSoftmaxBackward: asm.LogSoftmaxBackwardNEON,
		crossEntropy:       crossEntropyNEON,
		crossEntropyRows:   crossEntropyRowsNEON,
	}),
}

// crossEntropyNEON is CrossEntropy on the NEON kernel: one row. A target
// beyond the int32 range (a row of 2^31 logits or more) goes to the
// generic code, which gives the same bits.
func crossEntropyNEON(grad, logits []float32, target int) float32 {
	if target > math.MaxInt32 {
		return generic.k.crossEntropy(grad, logits, target)
	}
	t := [1]int32{int32(target)}
	return lossF32(asm.CrossEntropyRowsNEON(grad, logits, t[:], 1, len(logits)))
}

// crossEntropyRowsNEON is CrossEntropyRows on the NEON kernel, which
// returns the sum of the rows' losses: the mean is that sum divided by
// the number of rows (at least one), as in the fallback.
func crossEntropyRowsNEON(grad, logits []float32, targets []int32, cols int) float32 {
	rows := len(logits) / cols
	return lossF32(asm.CrossEntropyRowsNEON(grad, logits, targets, rows, cols) / float64(rows))
}

// lossF32 rounds a loss to float32, with the canonical NaN for any NaN.
func lossF32(v float64) float32 {
	if v != v {
		return math.Float32frombits(0x7fc00000)
	}
	return float32(v)
}
