//go:build !purego

package kernels

import (
	"os"
	"testing"
)

// TestNEONDefault checks that an arm64 build picks neon when the
// environment does not force an implementation: Advanced SIMD is part of
// every arm64 CPU, so any other choice is a dispatch bug.
func TestNEONDefault(t *testing.T) {
	if Implementations()[0].Name() != "neon" {
		t.Errorf("best implementation %q, want neon", Implementations()[0].Name())
	}
	if os.Getenv(EnvVar) == "" && Impl() != "neon" {
		t.Errorf("Impl() = %q, want neon", Impl())
	}
}
