// Package kernels computes softmax and its relatives over float32 rows,
// with the fastest implementation this CPU runs and the same bits on every
// one of them.
//
// # Usage
//
//	kernels.Softmax(probs, logits)          // one row; probs may be logits
//	kernels.SoftmaxRows(out, in, cols)      // a batch of contiguous rows
//	kernels.LogSoftmax(dst, src)            // and LogSoftmaxRows
//	lse := kernels.LogSumExp(src)
//	kernels.SoftmaxBackward(dx, y, dy)      // and LogSoftmaxBackward
//	kernels.SoftmaxBackwardRows(dx, y, dy, cols) // a batch; and LogSoftmaxBackwardRows
//	loss := kernels.CrossEntropy(grad, logits, target)
//	kernels.Exp(dst, src)
//
// Fused forms for inference and training:
//
//	kernels.ScaledSoftmaxRows(p, scores, mask, scale, cols)  // softmax(scale*x + mask); and ScaledLogSoftmaxRows
//	kernels.CausalSoftmaxRows(p, scores, scale, cols, offset) // causal attention without a mask array
//	kernels.SoftmaxAxis(dst, src, outer, axis, inner)         // along an axis of a tensor; and LogSoftmaxAxis
//	s := kernels.StatsOf(chunk1).Merge(kernels.StatsOf(chunk2))
//	kernels.SoftmaxWithStats(dst1, chunk1, s)                 // a row in chunks; and LogSoftmaxWithStats
//
// Destinations come first. A destination may be exactly one of its
// sources (in place); any other overlap panics. The mask of
// ScaledSoftmaxRows and ScaledLogSoftmaxRows may be src, but may not share
// any memory with dst. No kernel allocates (a panic's message aside);
// Implementations and Lookup build a new slice on each call, and
// Stats.MarshalBinary returns a new one.
//
// # Arguments
//
// Bad arguments panic with a message that starts with "softmax:" and names
// the problem and the values: lengths that differ, cols <= 0, a length that
// is not a multiple of cols, a target out of range, a partial overlap, a
// mask of the wrong length or sharing memory with dst, a shape that does
// not match the length, statistics that cannot include the chunk they
// normalize.
//
// # Special values
//
//	input row                  Softmax                LogSoftmax   LogSumExp
//	empty                      no-op                  no-op        -Inf
//	finite, any magnitude      correct, no overflow   correct      correct
//	some -Inf                  those 0                those -Inf   finite
//	all -Inf (fully masked)    all 0                  all -Inf     -Inf
//	any NaN                    all NaN                all NaN      NaN
//	any +Inf (no NaN)          all NaN                all NaN      +Inf
//
// Every NaN a kernel writes is the quiet NaN with bits 0x7fc00000. Softmax
// flushes to zero the output of an element whose term is below 2^-126 or
// so of the row's largest: exactly, where n_i - n_max < -126 for
// n = round((x - c)*log2(e)), c being the row's offset, 0 or its maximum
// (see package fallback), so where exp(x_i - max) is below a threshold
// between 2^-127 and 2^-126; the same on every implementation. The other
// outputs may be subnormal: Softmax of [0, -87.5] is [1, 9.98e-39].
// LogSoftmax of a finite row gives -Inf where x_i - max overflows the
// float32 range, as for -3e38 in [3e38, -3e38].
//
// # Accuracy
//
// Errors are measured against a float64 reference, in ULPs of the float32
// result, over outputs >= 2^-126; the tests enforce these bounds on every
// implementation, on a golden corpus and on random rows of every length:
//
//	Softmax, SoftmaxRows        max 2.0 ULP, mean 0.45 ULP, any length and magnitude
//	Exp                         max 1.5 ULP over every float32 with a normal result
//	LogSumExp, LogSoftmax,      |y - ref| <= 2 * 2^-24 * max(1, |ref|)
//	CrossEntropy loss
//	SoftmaxBackward             |dx - ref| <= 4 * 2^-24 * y_i * (|dy_i| + |<dy,y>|)
//	LogSoftmaxBackward          |dx - ref| <= 4 * 2^-24 * (|dy_i| + exp(y_i) * |sum(dy)|)
//	CrossEntropy gradient       as Softmax, and 4 * 2^-24 absolute at the target
//
// The backward kernels' sums are float64, which rounds at 2^-53 of the
// terms' magnitudes: for a dy whose terms cancel to far less (±1e30 and
// 1 in one row), read |<dy,y>| as sum_i |y_i*dy_i| and |sum(dy)| as
// sum_i |dy_i|.
//
// The fused kernels have the bounds of the kernels they fuse: Softmax's
// for ScaledSoftmaxRows (with respect to z = scale*x + mask rounded to
// float32, which defines them), CausalSoftmaxRows, SoftmaxAxis and
// SoftmaxWithStats (for any chunking, against the softmax of the whole
// row), LogSoftmax's for their log forms, LogSumExp's for Stats.LogSumExp.
//
// The measured figures are in the README. The method (no rounded x - max,
// a degree-6 exponential, row sums in float64 in a fixed lane order) is
// described in package fallback, which defines the bits.
//
// # Implementations
//
// At init the package picks the best implementation this CPU supports (see
// Implementations); Impl reports its name. Setting the environment variable
// SOFTMAX_IMPL to a name forces that implementation; a name that is unknown
// or that this CPU cannot run makes the program panic at init with the list
// of names it can run. The purego build tag leaves out all assembly.
package kernels

// Softmax sets dst[i] = exp(src[i]) / sum_j exp(src[j]).
// dst may be src. It panics if len(dst) != len(src).
func Softmax(dst, src []float32) { active.Softmax(dst, src) }

// SoftmaxRows applies Softmax to each row of cols consecutive elements.
// It panics if len(dst) != len(src), cols <= 0, or cols does not divide
// len(src).
func SoftmaxRows(dst, src []float32, cols int) { active.SoftmaxRows(dst, src, cols) }

// LogSoftmax sets dst[i] = src[i] - ln(sum_j exp(src[j])). Each output is
// computed in float64 from src[i] and the row's log-sum-exp, itself held
// in float64 (not the float32 that LogSumExp returns), rounded once to
// float32, and clamped to at most 0 (the rounding of the sum can leave the
// largest element's output 2^-26 or so above 0). An element whose
// distance below the row's maximum overflows the float32 range gets -Inf,
// even in a finite row: [3e38, -3e38] gives [0, -Inf]. dst may be src. It
// panics if len(dst) != len(src).
func LogSoftmax(dst, src []float32) { active.LogSoftmax(dst, src) }

// LogSoftmaxRows applies LogSoftmax to each row of cols consecutive
// elements. It panics if len(dst) != len(src), cols <= 0, or cols does not
// divide len(src).
func LogSoftmaxRows(dst, src []float32, cols int) { active.LogSoftmaxRows(dst, src, cols) }

// LogSumExp returns ln(sum_i exp(src[i])) without overflow for any finite
// input: -Inf for an empty row.
func LogSumExp(src []float32) float32 { return active.LogSumExp(src) }

// SoftmaxBackward sets dx = y * (dy - <dy, y>): given y = Softmax(x) and
// the gradient dy of a loss with respect to y, dx is the gradient with
// respect to x. The dot product is exact-product float64; each dx[i] is
// computed in float64 and rounded once. dx may be y or dy. It panics if
// the lengths of dx, y and dy differ.
func SoftmaxBackward(dx, y, dy []float32) { active.SoftmaxBackward(dx, y, dy) }

// LogSoftmaxBackward sets dx = dy - exp(y) * sum(dy): given y =
// LogSoftmax(x) and the gradient dy with respect to y, dx is the gradient
// with respect to x. dx may be y or dy. It panics if the lengths of dx, y
// and dy differ.
func LogSoftmaxBackward(dx, y, dy []float32) { active.LogSoftmaxBackward(dx, y, dy) }

// SoftmaxBackwardRows applies SoftmaxBackward to each row of cols
// consecutive elements, every row with the bits SoftmaxBackward gives it,
// in one call for the batch. dx may be y or dy. It panics if the lengths
// of dx, y and dy differ, cols <= 0, or cols does not divide them.
func SoftmaxBackwardRows(dx, y, dy []float32, cols int) {
	active.SoftmaxBackwardRows(dx, y, dy, cols)
}

// LogSoftmaxBackwardRows applies LogSoftmaxBackward to each row of cols
// consecutive elements, every row with the bits LogSoftmaxBackward gives
// it, in one call for the batch. dx may be y or dy. It panics if the
// lengths of dx, y and dy differ, cols <= 0, or cols does not divide them.
func LogSoftmaxBackwardRows(dx, y, dy []float32, cols int) {
	active.LogSoftmaxBackwardRows(dx, y, dy, cols)
}

// CrossEntropy returns the loss -ln(Softmax(logits)[target]) and, when grad
// is not nil, sets grad = Softmax(logits) - onehot(target), in one call
// (the row is read three times, as Softmax reads it). grad may be logits.
// The loss is the negation of LogSoftmax's output at the target, computed
// in float64 and rounded once, and never below 0. It is +Inf when
// logits[target] is -Inf (so also for a fully masked row), or lies so far
// below the row's maximum that the distance overflows the float32 range
// (logits [3e38, -3e38], target 1); it is NaN when the row holds a NaN or
// +Inf, in which case grad is all NaN. It panics if target is not in
// [0, len(logits)), or if grad is not nil and len(grad) != len(logits).
func CrossEntropy(grad, logits []float32, target int) float32 {
	return active.CrossEntropy(grad, logits, target)
}

// CrossEntropyRows applies CrossEntropy to each row of cols logits, row r
// having class targets[r], and returns the mean loss (the row losses are
// summed in float64, in row order). grad may be nil. It returns 0 for an
// empty batch. It panics if cols <= 0, cols does not divide len(logits),
// len(targets) is not the number of rows, grad is not nil and
// len(grad) != len(logits), or a target is not in [0, cols); the targets
// are all checked before any row is computed, so that a bad one leaves
// grad as it was.
func CrossEntropyRows(grad, logits []float32, targets []int32, cols int) float32 {
	return active.CrossEntropyRows(grad, logits, targets, cols)
}

// Exp sets dst[i] = exp(src[i]). dst may be src. Results beyond the float32
// range are +Inf; results below the normal range are rounded as IEEE
// gradual underflow rounds them; NaN gives NaN. It panics if
// len(dst) != len(src).
func Exp(dst, src []float32) { active.Exp(dst, src) }
