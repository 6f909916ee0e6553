//go:build !purego

package kernels

import (
	"github.com/go-softmax/softmax/internal/asm"
	"github.com/klauspost/cpuid/v2"
)

// archImplementations returns the amd64 SIMD implementations, best first.
// Kernels without an assembly version yet run the fallback's code.
func archImplementations() []*Implementation { return []*Implementation{avx512, avx2} }

// features lists, for each SIMD implementation, the instruction-set
// extensions its kernels use, as the generators declare them (the
// "Requires:" line above each function in internal/asm/*_amd64.s; a test
// checks the two agree). cpuid reports the AVX and AVX-512 features only
// when the OS also saves the registers they use.
var features = map[string][]cpuid.FeatureID{
	// AVX512VL is not used on purpose (the generators keep xmm and ymm
	// operands to VEX encodings); it is required all the same, as a guard
	// against an EVEX-only register slipping into an xmm or ymm
	// instruction. Every AVX-512 CPU but the Xeon Phi has it.
	"avx512": {cpuid.CMOV, cpuid.SSE, cpuid.SSE2, cpuid.AVX, cpuid.FMA3, cpuid.AVX512F, cpuid.AVX512VL},
	"avx2":   {cpuid.CMOV, cpuid.SSE, cpuid.SSE2, cpuid.AVX, cpuid.AVX2, cpuid.FMA3},
}

// avx512 runs 16 lanes in one zmm register.
var avx512 = &Implementation{
	name:      "avx512",
	supported: func() bool { return cpuid.CPU.Supports(features["avx512"]...) },
	k: withFallback(kernelSet{
		softmaxRows:        rowsKernel(asm.SoftmaxRowsAVX512),
		exp:                asm.ExpAVX512,
		logSoftmaxRows:     rowsKernel(asm.LogSoftmaxRowsAVX512),
		logSumExp:          asm.LogSumExpAVX512,
		softmaxBackward:    asm.SoftmaxBackwardAVX512,
		logSoftmaxBackward: asm.LogSoftmaxBackwardAVX512,
	}),
}

// avx2 runs 16 lanes in two ymm registers.
var avx2 = &Implementation{
	name:      "avx2",
	supported: func() bool { return cpuid.CPU.Supports(features["avx2"]...) },
	k: withFallback(kernelSet{
		softmaxRows:        rowsKernel(asm.SoftmaxRowsAVX2),
		exp:                asm.ExpAVX2,
		logSoftmaxRows:     rowsKernel(asm.LogSoftmaxRowsAVX2),
		logSumExp:          asm.LogSumExpAVX2,
		softmaxBackward:    asm.SoftmaxBackwardAVX2,
		logSoftmaxBackward: asm.LogSoftmaxBackwardAVX2,
	}),
}
