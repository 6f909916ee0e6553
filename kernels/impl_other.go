//go:build purego || !(amd64 || arm64)

package kernels

// archImplementations returns the SIMD implementations of this build, best
// first: none under the purego build tag, nor on architectures other than
// amd64 and arm64, where every kernel runs the generic code.
func archImplementations() []*Implementation { return nil }
