//go:build !purego

package kernels

import (
	"math"
	"testing"

	"github.com/go-softmax/softmax/internal/asm"
)

// TestCoveredAsm checks the assembly coverage check of SoftmaxWithStats,
// which decides whether the Go code looks for the panic message: an
// element above max or a NaN at every position of rows of every length
// up to 70, rows at max or of -Inf, and a NaN max, above nothing.
func TestCoveredAsm(t *testing.T) {
	f := asm.CoveredNEON
	nan := float32(math.NaN())
	if !f(nil, -1) || !f(nil, nan) {
		t.Fatal("empty row")
	}
	for n := 1; n <= 70; n++ {
		for pos := 0; pos < n; pos++ {
			x := make([]float32, n)
			for i := range x {
				x[i] = -1
			}
			if !f(x, -1) || f(x, -2) || !f(x, nan) {
				t.Fatalf("n=%d: row of -1", n)
			}
			x[pos] = 5
			if f(x, 4.9) || !f(x, 5) {
				t.Fatalf("n=%d: 5 at %d", n, pos)
			}
			x[pos] = nan
			if f(x, 100) || f(x, nan) {
				t.Fatalf("n=%d: NaN at %d", n, pos)
			}
			x[pos] = float32(math.Inf(-1))
			if !f(x, -1) || f(x, float32(math.Inf(-1))) != (n == 1) {
				t.Fatalf("n=%d: -Inf at %d", n, pos)
			}
		}
	}
}
