package fallback

import "math"

// fmaTieMask selects the 28 low fraction bits of a float64. Every float32
// rounding boundary (a midpoint between adjacent float32 values, including
// the overflow threshold 2^128-2^103 and the odd multiples of 2^-150 between
// subnormals) has at most 25 significant bits and is a normal float64, so
// these bits are zero in its encoding.
const fmaTieMask = 1<<28 - 1

// fmaNudgeUp and fmaNudgeDown scale a float64 s away from or towards zero by
// a relative 2^-40, which is between 2^12 and 2^13 ulps of s: far more than
// the float64 rounding error of s, and far less than the 2^27 ulps that
// separate s from the next float64 whose fmaTieMask bits are zero.
const (
	fmaNudgeUp   = 1 + 0x1p-40
	fmaNudgeDown = 1 - 0x1p-40
)

// fma32 returns a*b+c computed exactly and rounded once to float32 (round to
// nearest, ties to even). The result is bit-identical to a hardware float32
// fused multiply-add (x86 VFMADD231PS, ARM FMLA) on every GOARCH and GOAMD64
// level, including subnormal results, overflow and special values: a NaN
// operand, Inf*0 or Inf-Inf gives NaN, overflow gives ±Inf, and an exact zero
// result is -0 only when a*b and c are both zeros of negative sign.
//
// # Method
//
// The product of two float32 significands has at most 48 bits and its
// exponent is well inside the float64 range, so p = float64(a)*float64(b) is
// exact for all finite inputs. s = p + float64(c) is then the correctly
// rounded float64 value of the exact result x = a*b+c, and float32(s) rounds
// a second time. That double rounding can only go wrong when s is itself a
// float32 rounding boundary while x is not (x then lies within half a
// float64 ulp of the boundary, and float64 rounding has erased the side it
// lies on). In every other case s and x lie strictly between the same two
// boundaries, because the boundaries are float64 values and rounding is
// monotonic, so float32(s) is the correctly rounded result.
//
// Fast path: every boundary has the 28 low fraction bits of its float64
// encoding clear (see fmaTieMask), in the normal and subnormal float32 range
// alike. If any of them is set, s is not a boundary and float32(s) is
// returned directly, at the cost of one AND and one compare.
//
// Slow path, taken when those bits are clear: s may be a boundary. Besides
// the boundaries this catches results that are exact in float32 (as in a
// Cody-Waite reduction step), ±0, ±Inf and NaN; for those the slow path is
// a few float64 operations that end in float32(s) unchanged. Knuth's TwoSum
// recovers the rounding error e = x - s exactly; it is error-free in
// round-to-nearest arithmetic as long as nothing overflows (|x| < 2^257
// here), including under gradual underflow. If e != 0, s is scaled by
// 1 ± 2^-40, which moves it about 2^12 float64 ulps towards x: strictly onto
// the side of s that x lies on, and not far enough to reach another
// boundary, since the next float64 with the same clear bits is at least
// 2^27 ulps away. float32 of the moved s is then correct. (This achieves
// what a float64 round-to-odd step would, with plain float arithmetic and
// no bit manipulation.) For s = ±Inf, TwoSum gives NaN and the scaling
// leaves ±Inf unchanged; NaN stays NaN.
//
// # Floating-point contraction
//
// The Go specification allows a compiler to fuse x*y+z into one rounding
// unless an explicit conversion rounds the product. The product p and every
// addition are wrapped in float64(...) so that nothing can be fused on any
// architecture; for p it would be harmless (the product is exact), but
// TwoSum needs each operation rounded on its own. The remaining products,
// e*s and the nudges, are not added to anything, so there is nothing to fuse
// them with.
//
// # Cost
//
// fma32 is within the compiler's inlining budget and must stay there (check
// with `go build -gcflags=-m ./fallback 2>&1 | grep fma32`). The slow path is
// written inline: a call to a separate non-inlined function alone costs 57
// of the 80 budget units and would make fma32 itself too expensive to
// inline.
func fma32(a, b, c float32) float32 {
	return float32(fmaRound(float64(float64(a)*float64(b)), float64(c)))
}

// fma32c is fma32 on float32 values carried in float64s: a, b and c must
// hold float32 values, and the result does. Chains of FMAs, such as the
// exponential's polynomial, use it to skip the conversions between the two
// widths at every step.
func fma32c(a, b, c float64) float64 {
	return float64(float32(fmaRound(float64(a*b), c)))
}

// fmaRound returns s = p + c rounded to float64, moved if needed so that
// float32(s) is the correctly rounded float32 value of p + c. p must be the
// exact product of two float32 values and c a float32 value (see fma32).
func fmaRound(p, c float64) float64 {
	s := float64(p + c) // x rounded to nearest float64
	if math.Float64bits(s)&fmaTieMask == 0 {
		// s may be a float32 rounding boundary: move it towards x if x != s.
		bb := float64(s - p)
		e := float64(float64(p-float64(s-bb)) + float64(c-bb)) // TwoSum: x - s
		if e*s > 0 {
			s *= fmaNudgeUp // |x| > |s|
		} else if e != 0 {
			s *= fmaNudgeDown // |x| < |s|; also ±Inf, where e is NaN
		}
	}
	return s
}
