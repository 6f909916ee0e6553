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
		softmaxRows:          rowsKernel(asm.SoftmaxRowsNEON),
		exp:                  asm.ExpNEON,
		logSoftmaxRows:       rowsKernel(asm.LogSoftmaxRowsNEON),
		logSumExp:            asm.LogSumExpNEON,
		softmaxBackward:      asm.SoftmaxBackwardNEON,
		logSoftmaxBackward:   asm.LogSoftmaxBackwardNEON,
		crossEntropy:         crossEntropyKernel(asm.CrossEntropyRowsNEON),
		crossEntropyRows:     crossEntropyRowsKernel(asm.CrossEntropyRowsNEON),
		scaledSoftmaxRows:    scaledRowsKernel(asm.ScaledSoftmaxRowsNEON, asm.ScaledSoftmaxRowsNoMaskNEON),
		scaledLogSoftmaxRows: scaledRowsKernel(asm.ScaledLogSoftmaxRowsNEON, asm.ScaledLogSoftmaxRowsNoMaskNEON),
		causalSoftmaxRows:    causalKernel(asm.CausalSoftmaxRowsNEON),
		statsOf:              statsKernel(asm.StatsOfNEON),
		softmaxWithStats:     withStatsKernel(asm.CoveredNEON, asm.SoftmaxWithStatsNEON, 0, generic.k.softmaxWithStats),
		logSoftmaxWithStats:  withStatsKernel(asm.CoveredNEON, asm.LogSoftmaxWithStatsNEON, float32(math.Inf(-1)), generic.k.logSoftmaxWithStats),
		softmaxAxis:          asm.SoftmaxAxisNEON,
		logSoftmaxAxis:       asm.LogSoftmaxAxisNEON,

		// A Go loop over the one-row NEON kernels.
		softmaxBackwardRows:    backwardRowsLoop(asm.SoftmaxBackwardNEON),
		logSoftmaxBackwardRows: backwardRowsLoop(asm.LogSoftmaxBackwardNEON),
	}),
}
