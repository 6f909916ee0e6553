//go:build unix

package kernels

import (
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Guard pages: memory that faults when touched, placed right after or
// right before a row, so that a kernel reading or writing one element out
// of bounds crashes the test instead of passing unnoticed. Use with
// catchFault, which turns the crash into a test failure.

// endAtGuard returns n float32 zeros whose last element ends exactly where
// an inaccessible (PROT_NONE) page begins: the element after the slice
// faults. The memory is unmapped when the test ends.
func endAtGuard(t testing.TB, n int) []float32 {
	data := guardedPages(t, n)
	return unsafe.Slice((*float32)(unsafe.Pointer(unsafe.SliceData(data[len(data)-4*n:]))), n)
}

// startAfterGuard returns n float32 zeros whose first element starts
// exactly where an inaccessible page ends: the element before the slice
// faults. The memory is unmapped when the test ends.
func startAfterGuard(t testing.TB, n int) []float32 {
	data := guardedPages(t, n)
	return unsafe.Slice((*float32)(unsafe.Pointer(unsafe.SliceData(data))), n)
}

// guardedPages maps whole pages holding at least n float32s, with a
// PROT_NONE page on each side, and returns the accessible pages.
func guardedPages(t testing.TB, n int) []byte {
	t.Helper()
	ps := unix.Getpagesize()
	pages := max(1, (4*n+ps-1)/ps)
	mem, err := unix.Mmap(-1, 0, (pages+2)*ps, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_ANON|unix.MAP_PRIVATE)
	if err != nil {
		t.Fatalf("mmap: %v", err)
	}
	t.Cleanup(func() {
		if err := unix.Munmap(mem); err != nil {
			t.Errorf("munmap: %v", err)
		}
	})
	for _, g := range [][]byte{mem[:ps], mem[(pages+1)*ps:]} {
		if err := unix.Mprotect(g, unix.PROT_NONE); err != nil {
			t.Fatalf("mprotect: %v", err)
		}
	}
	return mem[ps : (pages+1)*ps]
}
