//go:build purego || !amd64

package kernels

// archImplementations returns the SIMD implementations of this build, best
// first: none under the purego build tag, nor yet on architectures other
// than amd64, where every kernel runs the generic code.
func archImplementations() []*Implementation { return nil }
