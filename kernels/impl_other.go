package kernels

// archImplementations returns the SIMD implementations of this build, best
// first. There are none yet: every platform runs the generic kernels.
func archImplementations() []*Implementation { return nil }
