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
	"avx512": {cpuid.CMOV, cpuid.SSE, cpuid.SSE2, cpuid.AVX, cpuid.FMA3, cpuid.AVX512F},
	"avx2":   {cpuid.CMOV, cpuid.SSE, cpuid.SSE2, cpuid.AVX, cpuid.AVX2, cpuid.FMA3},
}

// avx512 runs 16 lanes in one zmm register.
var avx512 = &Implementation{
	name:      "avx512",
	supported: func() bool { return cpuid.CPU.Supports(features["avx512"]...) },
	k:         simdKernels(asm.ExpAVX512, asm.SoftmaxRowsAVX512),
}

// avx2 runs 16 lanes in two ymm registers.
var avx2 = &Implementation{
	name:      "avx2",
	supported: func() bool { return cpuid.CPU.Supports(features["avx2"]...) },
	k:         simdKernels(asm.ExpAVX2, asm.SoftmaxRowsAVX2),
}

// simdKernels returns the kernel set of a SIMD implementation: the
// fallback's kernels, with the assembly ones it has so far put in.
func simdKernels(exp func(dst, src []float32), softmaxRows func(dst, src []float32, rows, cols int)) kernelSet {
	k := generic.k
	k.exp = exp
	k.softmaxRows = func(dst, src []float32, cols int) {
		softmaxRows(dst, src, len(src)/cols, cols)
	}
	return k
}
