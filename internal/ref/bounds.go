package ref

import "math"

// Error measures shared by the tests and the benchmark report. Each returns
// the error of one float32 result in the unit its bound is stated in, so
// that a bound is one number: Softmax and Exp in ULPs (SoftmaxErr, ULPErr),
// the log kernels in units of 2^-24 * max(1, |ref|) (LogErr), the backward
// kernels in units of 2^-24 times the scale of the gradient (ScaledErr).

// SoftmaxErr returns the ULP error of a softmax output, and ok = false when
// the output must not be measured but is wrong all the same: a reference
// below 2^-126 (which may be flushed to zero) that got more than 2^-126
// away. For a reference below 2^-126 that is within it, it returns 0, true.
func SoftmaxErr(got float32, want float64) (ulp float64, ok bool) {
	if math.Abs(want) < MinNormal32 && !math.IsNaN(want) {
		return 0, math.Abs(float64(got)-want) <= MinNormal32
	}
	return ULPErr(got, want), true
}

// LogErr returns |got - want| / (2^-24 * max(1, |want|)): the unit of the
// bounds of LogSumExp, LogSoftmax and the CrossEntropy loss. Equal
// infinities and two NaNs count as 0, any other non-finite pair as +Inf.
func LogErr(got float32, want float64) float64 {
	return ScaledErr(got, want, math.Max(1, math.Abs(want)))
}

// ScaledErr returns |got - want| / (2^-24 * scale), with the non-finite
// rules of LogErr. A zero scale with an exact result is 0.
func ScaledErr(got float32, want, scale float64) float64 {
	g := float64(got)
	switch {
	case math.IsNaN(g) || math.IsNaN(want):
		if math.IsNaN(g) && math.IsNaN(want) {
			return 0
		}
		return math.Inf(1)
	case math.IsInf(g, 0) || math.IsInf(want, 0):
		if g == want {
			return 0
		}
		return math.Inf(1)
	}
	d := math.Abs(g - want)
	if d == 0 {
		return 0
	}
	return d / (0x1p-24 * scale)
}

// GradErr is ScaledErr for the backward kernels and gradients, except that a
// result whose reference is below the float32 normal range only has to be
// within 2^-126 of it (it is then 0), as softmax outputs there do: such a
// result has fewer bits than its scale suggests.
func GradErr(got float32, want, scale float64) float64 {
	if math.Abs(want) < MinNormal32 && math.Abs(float64(got)-want) <= MinNormal32 {
		return 0
	}
	return ScaledErr(got, want, scale)
}
