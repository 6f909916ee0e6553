//go:build !purego

package kernels

import (
	"math"
	"testing"

	"github.com/go-softmax/softmax/internal/asm"
)

// TestCoveredAsm checks the assembly coverage checks of SoftmaxWithStats,
// which decide whether the Go code looks for the panic message: an
// element above max or a NaN at every position of rows of every length
// up to 70, and rows at max or of -Inf.
func TestCoveredAsm(t *testing.T) {
	for _, k := range []struct {
		im *Implementation
		f  func([]float32, float32) bool
	}{{avx512, asm.CoveredAVX512}, {avx2, asm.CoveredAVX2}} {
		if !k.im.supported() {
			continue
		}
		for n := 1; n <= 70; n++ {
			for pos := 0; pos < n; pos++ {
				x := make([]float32, n)
				for i := range x {
					x[i] = -1
				}
				if !k.f(x, -1) || k.f(x, -2) {
					t.Fatalf("%s n=%d: row of -1", k.im, n)
				}
				x[pos] = 5
				if k.f(x, 4.9) || !k.f(x, 5) {
					t.Fatalf("%s n=%d: 5 at %d", k.im, n, pos)
				}
				x[pos] = float32(math.NaN())
				if k.f(x, 100) {
					t.Fatalf("%s n=%d: NaN at %d", k.im, n, pos)
				}
				x[pos] = float32(math.Inf(-1))
				if !k.f(x, -1) || k.f(x, float32(math.Inf(-1))) != (n == 1) {
					t.Fatalf("%s n=%d: -Inf at %d", k.im, n, pos)
				}
			}
		}
	}
}
