//go:build !unix

package kernels

import "testing"

// Without mmap the rows are ordinary slices: the guard-page tests skip.

func endAtGuard(t testing.TB, n int) []float32 {
	t.Skip("no guard pages on this platform")
	return nil
}

func startAfterGuard(t testing.TB, n int) []float32 {
	t.Skip("no guard pages on this platform")
	return nil
}
