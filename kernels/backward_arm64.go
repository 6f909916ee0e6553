//go:build !purego

package kernels

// backwardRowsLoop adapts a one-row NEON backward kernel to the kernel
// set's batched form: a Go loop, one call per row. The NEON backward
// kernels (gen/arm64/backward.go) take one row; a loop over rows in the
// assembly, as the amd64 kernels have, would save the call per row.
func backwardRowsLoop(f func(dx, y, dy []float32)) func(dx, y, dy []float32, cols int) {
	return func(dx, y, dy []float32, cols int) {
		for r := 0; r < len(dx); r += cols {
			f(dx[r:r+cols], y[r:r+cols], dy[r:r+cols])
		}
	}
}
