// Package check holds the argument checks shared by the kernels and the
// pure-Go fallback. Every check panics with a message that starts with
// "softmax:" and names the problem and the values involved. None of them
// allocates unless it panics.
package check

import (
	"fmt"
	"math"
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

// BackwardRows checks the arguments of a batched backward kernel: those
// of Backward, and cols > 0 dividing the length.
func BackwardRows(dx, y, dy []float32, cols int) {
	SameLen("dx", dx, "y", y)
	SameLen("dx", dx, "dy", dy)
	Rows("y", len(y), cols)
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

// Disjoint panics if a and b share any memory, even as the same slice.
// Empty slices overlap nothing.
func Disjoint(aName string, a []float32, bName string, b []float32) {
	if len(a) == 0 || len(b) == 0 {
		return
	}
	x := uintptr(unsafe.Pointer(unsafe.SliceData(a)))
	y := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	const size = unsafe.Sizeof(float32(0))
	if x < y+uintptr(len(b))*size && y < x+uintptr(len(a))*size {
		panic(fmt.Sprintf("softmax: %s overlaps %s (they may not share memory)", aName, bName))
	}
}

// Scaled checks the arguments of a scaled row kernel: dst, src and cols as
// RowsOf does, and a mask that is empty (no mask), one row of cols
// elements (for every row), or one element per element of src, and that
// shares no memory with dst.
func Scaled(dst, src, mask []float32, cols int) {
	RowsOf(dst, src, cols)
	if n := len(mask); n != 0 && n != cols && n != len(src) {
		panic(fmt.Sprintf("softmax: len(mask) %d is neither cols %d nor len(src) %d", n, cols, len(src)))
	}
	Disjoint("dst", dst, "mask", mask)
}

// Axis checks dst and src of a kernel over the middle axis of a contiguous
// [outer, axis, inner] tensor: no negative dimension, and outer*axis*inner
// == len(src), computed without overflow.
func Axis(dst, src []float32, outer, axis, inner int) {
	SameLen("dst", dst, "src", src)
	if outer < 0 || axis < 0 || inner < 0 {
		panic(fmt.Sprintf("softmax: shape [%d, %d, %d] (outer, axis, inner) has a negative dimension", outer, axis, inner))
	}
	n, ok := outer, true
	for _, d := range [2]int{axis, inner} {
		if d != 0 && n > math.MaxInt/d {
			ok = false
		}
		n *= d
	}
	if !ok && outer != 0 && axis != 0 && inner != 0 {
		panic(fmt.Sprintf("softmax: shape [%d, %d, %d] (outer, axis, inner) overflows int", outer, axis, inner))
	}
	if n != len(src) {
		panic(fmt.Sprintf("softmax: shape [%d, %d, %d] (outer, axis, inner) holds %d elements, len(src) is %d", outer, axis, inner, n, len(src)))
	}
	Overlap("dst", dst, "src", src)
}

// Covered panics unless the statistics a chunk is normalized with account
// for the chunk: srcMax (the chunk's maximum, NaNs skipped) must not be
// above statsMax, and the chunk must hold no NaN.
func Covered(srcMax float32, srcNaN bool, statsMax float32) {
	if srcNaN {
		panic("softmax: src holds NaN, which the statistics do not (they must be merged from chunks that include src)")
	}
	if srcMax > statsMax {
		panic(fmt.Sprintf("softmax: src holds %v, above the statistics' maximum %v (they must be merged from chunks that include src)", srcMax, statsMax))
	}
}
