// Package ref is the float64 reference for the softmax kernels: the values
// that every kernel is measured against (see the special values and the
// accuracy bounds in the documentation of package kernels, and the
// Accuracy section of the README).
//
// Inputs are float32 rows, as the kernels take them; outputs are float64.
// Every function works in float64: the maximum, exp(x - max) with math.Exp,
// sums with Neumaier's compensated summation, then the division. The result
// is within a few float64 ulps of the exact value, which is a few 1e-9 ULPs
// of a float32 result: far below the error of any float32 kernel.
//
// The special rows follow the special values of package kernels:
//
//	input row            Softmax      LogSoftmax   LogSumExp
//	empty                no-op        no-op        -Inf
//	some -inf            those 0      those -Inf   finite
//	all -inf             all 0        all -Inf     -Inf
//	any NaN              all NaN      all NaN      NaN
//	any +inf (no NaN)    all NaN      all NaN      +Inf
//
// The functions allocate nothing, but speed is not a goal: they are for
// tests and reports.
//
// Errors are measured in ULPs of the float32 result (ULP32, ULPErr) and
// collected with Stats.
package ref

import (
	"fmt"
	"math"
)

// MinNormal32 is the smallest normal float32, 2^-126. Kernel outputs below
// it may be flushed to zero (Softmax flushes an element whose term is below
// 2^-126 or so of the row's largest, as package kernels documents, and its
// output is then below 2^-126), so error checks usually skip reference
// values smaller than this.
const MinNormal32 = 0x1p-126

// ksum is a Neumaier (improved Kahan-Babuska) compensated sum: s + c holds
// the sum of the added terms with an error of about one float64 rounding of
// the result, independent of the number of terms.
type ksum struct{ s, c float64 }

func (k *ksum) add(v float64) {
	t := k.s + v
	if math.Abs(k.s) >= math.Abs(v) {
		k.c += (k.s - t) + v
	} else {
		k.c += (v - t) + k.s
	}
	k.s = t
}

// value returns the compensated sum. Once the plain sum is infinite or NaN,
// the compensation is meaningless (inf - inf), so the plain sum is returned.
func (k *ksum) value() float64 {
	if math.IsInf(k.s, 0) || math.IsNaN(k.s) {
		return k.s
	}
	return k.s + k.c
}

// float is the element type of the reference's inputs: float32 rows, as
// the kernels take them, or float64 values that hold float32 ones (the z of
// the scaled kernels).
type float interface{ ~float32 | ~float64 }

// A row of the unexported functions below is the n elements
// x[at + k*stride], k = 0..n-1: a row when stride is 1, a column of a
// tensor otherwise.

// scan returns the maximum of the row in float64, NaN if any element is
// NaN, and -Inf for an empty row. A +inf element makes it +Inf (unless
// there is a NaN).
func scan[T float](x []T, at, n, stride int) float64 {
	m := math.Inf(-1)
	for k := 0; k < n; k++ {
		f := float64(x[at+k*stride])
		if f != f {
			return math.NaN()
		}
		if f > m {
			m = f
		}
	}
	return m
}

func checkLen(what string, a, b int) {
	if a != b {
		panic(fmt.Sprintf("ref: len(%s) %d != len(x) %d", what, a, b))
	}
}

// fill sets the row of dst to v.
func fill(dst []float64, at, n, stride int, v float64) {
	for k := 0; k < n; k++ {
		dst[at+k*stride] = v
	}
}

// Softmax sets dst[i] = exp(x[i] - max) / sum_j exp(x[j] - max), computed in
// float64 with a compensated sum. It panics if len(dst) != len(x).
//
// An empty row is a no-op; -inf elements give 0; a row of only -inf gives
// all 0; any NaN, or any +inf, gives all NaN.
func Softmax(dst []float64, x []float32) {
	checkLen("dst", len(dst), len(x))
	softmax(dst, x, 0, len(x), 1)
}

// softmax is Softmax of a row of x, written to the same places of dst
// (which may hold x).
func softmax[T float](dst []float64, x []T, at, n, stride int) {
	if n == 0 {
		return
	}
	m := scan(x, at, n, stride)
	switch {
	case math.IsNaN(m) || math.IsInf(m, 1):
		fill(dst, at, n, stride, math.NaN())
		return
	case math.IsInf(m, -1):
		fill(dst, at, n, stride, 0)
		return
	}
	var s ksum
	for k := 0; k < n; k++ {
		i := at + k*stride
		e := math.Exp(float64(x[i]) - m)
		dst[i] = e
		s.add(e)
	}
	sum := s.value() // >= 1: the maximum contributes exp(0)
	for k := 0; k < n; k++ {
		dst[at+k*stride] /= sum
	}
}

// MaxLogSum returns the two parts of LogSumExp(x): the row maximum m and
// l = log(sum_i exp(x[i] - m)), so that LogSumExp(x) = m + l. Kept apart,
// they give LogSoftmax as (x[i] - m) - l, exact to float64 rounding even
// where m is so large (1e30) that m + l rounds l away.
//
// For an empty or all -inf row m is -Inf and l is 0; with any NaN both are
// NaN; with any +inf (and no NaN) m is +Inf and l is 0.
func MaxLogSum(x []float32) (m, l float64) { return maxLogSum(x, 0, len(x), 1) }

func maxLogSum[T float](x []T, at, n, stride int) (m, l float64) {
	m = scan(x, at, n, stride)
	switch {
	case math.IsNaN(m):
		return m, m
	case math.IsInf(m, 0):
		return m, 0
	}
	var s ksum
	for k := 0; k < n; k++ {
		s.add(math.Exp(float64(x[at+k*stride]) - m))
	}
	return m, math.Log(s.value())
}

// LogSumExp returns log(sum_i exp(x[i])) = max + log(sum_i exp(x[i] - max)),
// in float64 with a compensated sum.
//
// An empty or all -inf row gives -Inf; any NaN gives NaN; any +inf (and no
// NaN) gives +Inf.
func LogSumExp(x []float32) float64 {
	m, l := MaxLogSum(x)
	return m + l
}

// LogSoftmax sets dst[i] = x[i] - LogSumExp(x), computed as
// (x[i] - max) - log(sum_j exp(x[j] - max)) so that it stays accurate for
// rows offset by any finite amount. It panics if len(dst) != len(x).
//
// An empty row is a no-op; -inf elements give -Inf; a row of only -inf gives
// all -Inf; any NaN, or any +inf, gives all NaN.
func LogSoftmax(dst []float64, x []float32) {
	checkLen("dst", len(dst), len(x))
	logSoftmax(dst, x, 0, len(x), 1)
}

// logSoftmax is LogSoftmax of a row of x, written to the same places of
// dst (which may hold x).
func logSoftmax[T float](dst []float64, x []T, at, n, stride int) {
	if n == 0 {
		return
	}
	m, l := maxLogSum(x, at, n, stride)
	switch {
	case math.IsNaN(m) || math.IsInf(m, 1):
		fill(dst, at, n, stride, math.NaN())
		return
	case math.IsInf(m, -1):
		fill(dst, at, n, stride, math.Inf(-1))
		return
	}
	for k := 0; k < n; k++ {
		i := at + k*stride
		dst[i] = (float64(x[i]) - m) - l
	}
}

// SoftmaxBackward sets dst = y * (dy - <dy, y>), the gradient of the loss
// with respect to the softmax input, given the softmax output y and the
// gradient dy with respect to y. The products y[i]*dy[i] are exact in
// float64 and their sum is compensated. It panics if the lengths differ.
// NaN and infinities propagate as IEEE arithmetic makes them.
func SoftmaxBackward(dst []float64, y, dy []float32) {
	checkLen("dst", len(dst), len(y))
	checkLen("dy", len(dy), len(y))
	var s ksum
	for i, v := range y {
		s.add(float64(v) * float64(dy[i]))
	}
	dot := s.value()
	for i, v := range y {
		dst[i] = float64(v) * (float64(dy[i]) - dot)
	}
}

// LogSoftmaxBackward sets dst = dy - exp(y) * sum(dy), the gradient of the
// loss with respect to the log-softmax input, given the log-softmax output y
// and the gradient dy with respect to y. The sum is compensated. It panics
// if the lengths differ. NaN and infinities propagate as IEEE arithmetic
// makes them.
func LogSoftmaxBackward(dst []float64, y, dy []float32) {
	checkLen("dst", len(dst), len(y))
	checkLen("dy", len(dy), len(y))
	var s ksum
	for _, v := range dy {
		s.add(float64(v))
	}
	sum := s.value()
	for i, v := range y {
		dst[i] = float64(dy[i]) - math.Exp(float64(v))*sum
	}
}

// CrossEntropy returns the loss -log(softmax(logits)[target]) =
// LogSumExp(logits) - logits[target] and, if grad is not nil, sets
// grad = softmax(logits) - onehot(target). It panics if target is out of
// range or if grad is not nil and len(grad) != len(logits).
//
// The loss is NaN if the row holds a NaN or a +inf (its log-softmax is all
// NaN); otherwise it is +Inf if logits[target] is -inf, which includes a
// fully masked row (whose gradient is then -onehot(target)).
func CrossEntropy(grad []float64, logits []float32, target int) float64 {
	if target < 0 || target >= len(logits) {
		panic(fmt.Sprintf("ref: target %d out of range [0, %d)", target, len(logits)))
	}
	if grad != nil {
		checkLen("grad", len(grad), len(logits))
		Softmax(grad, logits)
		grad[target]--
	}
	m, l := MaxLogSum(logits)
	xt := float64(logits[target])
	switch {
	case math.IsNaN(m) || math.IsInf(m, 1):
		return math.NaN()
	case math.IsInf(xt, -1):
		return math.Inf(1)
	}
	return l - (xt - m)
}

// Exp returns exp(x) in float64: the reference for a float32 exp.
func Exp(x float32) float64 { return math.Exp(float64(x)) }

// ULP32 returns the spacing of float32 values at v: 2^(floor(log2|v|) - 23)
// for |v| >= 2^-126, and 2^-149 (the subnormal spacing) below that. It is
// +Inf for an infinite v and NaN for NaN. Only the exponent of v matters, so
// v need not be a float32 value; for v beyond the float32 range the same
// formula applies.
func ULP32(v float64) float64 {
	a := math.Abs(v)
	switch {
	case math.IsNaN(v):
		return v
	case math.IsInf(v, 0):
		return math.Inf(1)
	case a < MinNormal32:
		return 0x1p-149
	}
	_, e := math.Frexp(a) // a = f * 2^e with f in [0.5, 1): floor(log2 a) = e-1
	return math.Ldexp(1, e-1-23)
}

// ULPErr returns |got - want| / ULP32(want), the error of a float32 result
// in float32 ULPs at the reference value. It is 0 if both are NaN or both
// are the same infinity, and +Inf if only one of them is NaN or infinite
// (or they are opposite infinities).
//
// Below 2^-126 the unit is 2^-149, so a result flushed to zero there shows
// a large error; callers that allow the flush skip such references (see
// MinNormal32).
func ULPErr(got float32, want float64) float64 {
	g := float64(got)
	gn, wn := math.IsNaN(g), math.IsNaN(want)
	if gn || wn {
		if gn && wn {
			return 0
		}
		return math.Inf(1)
	}
	if math.IsInf(g, 0) || math.IsInf(want, 0) {
		if g == want {
			return 0
		}
		return math.Inf(1)
	}
	return math.Abs(g-want) / ULP32(want)
}

// Stats accumulates ULP errors: their maximum, their sum and their count.
// The zero value is empty and ready to use.
type Stats struct {
	Max, Sum float64
	N        int
}

// Add records one error, in ULPs.
func (s *Stats) Add(ulp float64) {
	if ulp > s.Max || math.IsNaN(ulp) {
		s.Max = ulp
	}
	s.Sum += ulp
	s.N++
}

// Mean returns the mean error, or 0 if nothing was added.
func (s *Stats) Mean() float64 {
	if s.N == 0 {
		return 0
	}
	return s.Sum / float64(s.N)
}
