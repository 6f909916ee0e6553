// Package check holds the argument checks shared by the kernels and the
// pure-Go fallback. Every check panics with a message that starts with
// "softmax:" and names the problem and the values involved. None of them
// allocates unless it panics.
package check

import (
	"fmt"
	"unsafe"
)

// SameLen panics unless len(dst) == len(src).
func SameLen(dstName string, dst []float32, srcName string, src []float32) {
	if len(dst) != len(src) {
		panic(fmt.Sprintf("softmax: len(%s) %d != len(%s) %d", dstName, len(dst), srcName, len(src)))
	}
}

// Rows panics unless cols > 0 and n is a multiple of cols, and returns the
// number of rows.
func Rows(name string, n, cols int) int {
	if cols <= 0 {
		panic(fmt.Sprintf("softmax: cols %d must be positive", cols))
	}
	if n%cols != 0 {
		panic(fmt.Sprintf("softmax: len(%s) %d is not a multiple of cols %d", name, n, cols))
	}
	return n / cols
}

// Target panics unless 0 <= target < cols.
func Target(target, cols int) {
	if target < 0 || target >= cols {
		panic(fmt.Sprintf("softmax: target %d out of range [0, %d)", target, cols))
	}
}

// Overlap panics if dst and src share memory without being the same slice
// (same start and same length). Empty slices overlap nothing.
func Overlap(dstName string, dst []float32, srcName string, src []float32) {
	if len(dst) == 0 || len(src) == 0 {
		return
	}
	d := uintptr(unsafe.Pointer(unsafe.SliceData(dst)))
	s := uintptr(unsafe.Pointer(unsafe.SliceData(src)))
	if d == s && len(dst) == len(src) {
		return
	}
	const size = unsafe.Sizeof(float32(0))
	if d < s+uintptr(len(src))*size && s < d+uintptr(len(dst))*size {
		panic(fmt.Sprintf("softmax: %s partially overlaps %s (only %s == %s exactly is allowed)", dstName, srcName, dstName, srcName))
	}
}

// Targets panics unless there is one target per row.
func Targets(n, rows int) {
	if n != rows {
		panic(fmt.Sprintf("softmax: len(targets) %d != rows %d", n, rows))
	}
}

// The argument checks of each kernel, shared by package kernels and package
// fallback.

// Elementwise checks dst and src of a one-row kernel.
func Elementwise(dst, src []float32) {
	SameLen("dst", dst, "src", src)
	Overlap("dst", dst, "src", src)
}

// RowsOf checks dst, src and cols of a batched row kernel.
func RowsOf(dst, src []float32, cols int) {
	SameLen("dst", dst, "src", src)
	Rows("src", len(src), cols)
	Overlap("dst", dst, "src", src)
}

// Backward checks the arguments of a backward kernel: dx may be exactly y
// or dy.
func Backward(dx, y, dy []float32) {
	SameLen("dx", dx, "y", y)
	SameLen("dx", dx, "dy", dy)
	Overlap("dx", dx, "y", y)
	Overlap("dx", dx, "dy", dy)
}

// CrossEntropy checks the arguments of a one-row cross-entropy; grad may be
// nil.
func CrossEntropy(grad, logits []float32, target int) {
	Target(target, len(logits))
	if grad != nil {
		SameLen("grad", grad, "logits", logits)
		Overlap("grad", grad, "logits", logits)
	}
}

// CrossEntropyRows checks the arguments of a batched cross-entropy and
// returns the number of rows; grad may be nil. Every target is checked
// before the caller computes any row, so that a bad one leaves grad as it
// was.
func CrossEntropyRows(grad, logits []float32, targets []int32, cols int) int {
	rows := Rows("logits", len(logits), cols)
	Targets(len(targets), rows)
	if grad != nil {
		SameLen("grad", grad, "logits", logits)
		Overlap("grad", grad, "logits", logits)
	}
	for r, t := range targets {
		if t < 0 || int(t) >= cols {
			panic(fmt.Sprintf("softmax: targets[%d] %d out of range [0, %d)", r, t, cols))
		}
	}
	return rows
}
