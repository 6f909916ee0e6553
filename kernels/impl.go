package kernels

import (
	"fmt"
	"os"
	"strings"

	"github.com/go-softmax/softmax/fallback"
	"github.com/go-softmax/softmax/internal/check"
)

// kernelSet is what an implementation provides. The checks are done before
// any of these is called: lengths match, cols > 0 divides the length,
// targets are in range, and dst is either exactly a source or disjoint.
// The fused kernels are called with len(src) > 0; a mask is empty, one row
// or one per row, and disjoint from dst; the axis kernels are called with
// inner > 1 (inner = 1 goes to the row kernels); the kernels that take
// Stats check themselves that the statistics cover src (check.Covered),
// before writing dst, since that takes a pass over src.
type kernelSet struct {
	softmaxRows        func(dst, src []float32, cols int)
	logSoftmaxRows     func(dst, src []float32, cols int)
	logSumExp          func(src []float32) float32
	softmaxBackward    func(dx, y, dy []float32)
	logSoftmaxBackward func(dx, y, dy []float32)
	crossEntropy       func(grad, logits []float32, target int) float32
	crossEntropyRows   func(grad, logits []float32, targets []int32, cols int) float32
	exp                func(dst, src []float32)

	scaledSoftmaxRows    func(dst, src, mask []float32, scale float32, cols int)
	scaledLogSoftmaxRows func(dst, src, mask []float32, scale float32, cols int)
	causalSoftmaxRows    func(dst, src []float32, scale float32, cols, offset int)
	softmaxAxis          func(dst, src []float32, outer, axis, inner int)
	logSoftmaxAxis       func(dst, src []float32, outer, axis, inner int)
	statsOf              func(src []float32) fallback.Stats
	softmaxWithStats     func(dst, src []float32, s fallback.Stats)
	logSoftmaxWithStats  func(dst, src []float32, s fallback.Stats)

	// The batched backward kernels are called with len(dx) > 0.
	softmaxBackwardRows    func(dx, y, dy []float32, cols int)
	logSoftmaxBackwardRows func(dx, y, dy []float32, cols int)
}

// An Implementation is one complete set of kernels: "generic" (pure Go,
// every platform), and where the CPU and build allow, SIMD ones such as
// "avx512", "avx2" or "neon". Every implementation returns the same bits for
// the same input. Its methods are the package-level functions of the same
// names, bound to this implementation; they check their arguments the same
// way and are safe for concurrent use. Default, Lookup and Implementations
// return the only usable values: a zero Implementation, or a nil one (what
// Lookup returns for a name this CPU and build cannot run), has no
// kernels, and its kernel methods fail with a nil dereference.
type Implementation struct {
	name      string
	supported func() bool
	k         kernelSet
}

// registry lists every implementation compiled in, best first: the SIMD
// ones of this architecture (none under the purego build tag), then
// generic.
var registry = append(archImplementations(), generic)

// active is the implementation the package-level functions use.
var active = choose(os.Getenv("SOFTMAX_IMPL"))

// EnvVar names the environment variable that forces an implementation.
const EnvVar = "SOFTMAX_IMPL"

// choose returns the named implementation, or the best supported one when
// name is empty. An unknown or unsupported name panics with a message that
// lists the names this CPU can run.
func choose(name string) *Implementation {
	avail := Implementations()
	if name == "" {
		return avail[0]
	}
	for _, im := range avail {
		if im.name == name {
			return im
		}
	}
	names := make([]string, len(avail))
	for i, im := range avail {
		names[i] = im.name
	}
	why := "unknown implementation"
	switch name {
	case "avx512", "avx2", "neon":
		why = "implementation not in this build (only on its architecture, and not under the purego build tag)"
	}
	for _, im := range registry {
		if im.name == name {
			why = "implementation not supported by this CPU"
		}
	}
	panic(fmt.Sprintf("softmax: %s=%q: %s; this CPU runs: %s",
		EnvVar, name, why, strings.Join(names, ", ")))
}

// Implementations returns the implementations this CPU and build can run,
// best first, in a new slice on each call. The last one is always
// "generic".
func Implementations() []*Implementation {
	var out []*Implementation
	for _, im := range registry {
		if im.supported() {
			out = append(out, im)
		}
	}
	return out
}

// Lookup returns the named implementation if this CPU can run it.
func Lookup(name string) (*Implementation, bool) {
	for _, im := range Implementations() {
		if im.name == name {
			return im, true
		}
	}
	return nil, false
}

// Impl returns the name of the implementation the package-level functions
// use: the best one for this CPU, or the one named by $SOFTMAX_IMPL.
func Impl() string { return active.name }

// Default returns the implementation the package-level functions use.
func Default() *Implementation { return active }

// Name returns the implementation's name, e.g. "generic" or "avx512".
func (im *Implementation) Name() string { return im.name }

// String returns the implementation's name.
func (im *Implementation) String() string { return im.name }

// Softmax is the package-level Softmax on this implementation.
func (im *Implementation) Softmax(dst, src []float32) {
	check.Elementwise(dst, src)
	if len(src) > 0 {
		im.k.softmaxRows(dst, src, len(src))
	}
}

// SoftmaxRows is the package-level SoftmaxRows on this implementation.
func (im *Implementation) SoftmaxRows(dst, src []float32, cols int) {
	check.RowsOf(dst, src, cols)
	if len(src) > 0 {
		im.k.softmaxRows(dst, src, cols)
	}
}

// LogSoftmax is the package-level LogSoftmax on this implementation.
func (im *Implementation) LogSoftmax(dst, src []float32) {
	check.Elementwise(dst, src)
	if len(src) > 0 {
		im.k.logSoftmaxRows(dst, src, len(src))
	}
}

// LogSoftmaxRows is the package-level LogSoftmaxRows on this implementation.
func (im *Implementation) LogSoftmaxRows(dst, src []float32, cols int) {
	check.RowsOf(dst, src, cols)
	if len(src) > 0 {
		im.k.logSoftmaxRows(dst, src, cols)
	}
}

// LogSumExp is the package-level LogSumExp on this implementation.
func (im *Implementation) LogSumExp(src []float32) float32 {
	return im.k.logSumExp(src)
}

// SoftmaxBackward is the package-level SoftmaxBackward on this implementation.
func (im *Implementation) SoftmaxBackward(dx, y, dy []float32) {
	check.Backward(dx, y, dy)
	im.k.softmaxBackward(dx, y, dy)
}

// LogSoftmaxBackward is the package-level LogSoftmaxBackward on this
// implementation.
func (im *Implementation) LogSoftmaxBackward(dx, y, dy []float32) {
	check.Backward(dx, y, dy)
	im.k.logSoftmaxBackward(dx, y, dy)
}

// SoftmaxBackwardRows is the package-level SoftmaxBackwardRows on this
// implementation.
func (im *Implementation) SoftmaxBackwardRows(dx, y, dy []float32, cols int) {
	check.BackwardRows(dx, y, dy, cols)
	if len(dx) > 0 {
		im.k.softmaxBackwardRows(dx, y, dy, cols)
	}
}

// LogSoftmaxBackwardRows is the package-level LogSoftmaxBackwardRows on
// this implementation.
func (im *Implementation) LogSoftmaxBackwardRows(dx, y, dy []float32, cols int) {
	check.BackwardRows(dx, y, dy, cols)
	if len(dx) > 0 {
		im.k.logSoftmaxBackwardRows(dx, y, dy, cols)
	}
}

// CrossEntropy is the package-level CrossEntropy on this implementation.
func (im *Implementation) CrossEntropy(grad, logits []float32, target int) float32 {
	check.CrossEntropy(grad, logits, target)
	return im.k.crossEntropy(grad, logits, target)
}

// CrossEntropyRows is the package-level CrossEntropyRows on this
// implementation.
func (im *Implementation) CrossEntropyRows(grad, logits []float32, targets []int32, cols int) float32 {
	if check.CrossEntropyRows(grad, logits, targets, cols) == 0 {
		return 0
	}
	return im.k.crossEntropyRows(grad, logits, targets, cols)
}

// Exp is the package-level Exp on this implementation.
func (im *Implementation) Exp(dst, src []float32) {
	check.Elementwise(dst, src)
	im.k.exp(dst, src)
}
