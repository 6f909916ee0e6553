package fallback

import "unsafe"

// Constants describing an fma32 intermediate s, a float64, relative to the
// float32 format it is finally rounded to.
const (
	// fmaDroppedMask selects the 52-23 = 29 low fraction bits of a float64
	// that the conversion to float32 discards when the value lies in the
	// float32 normal range.
	fmaDroppedMask = 1<<(52-23) - 1

	// fmaMidpoint is the discarded-bits pattern of a float64 lying exactly
	// halfway between two adjacent float32 values in that range.
	fmaMidpoint = 1 << (52 - 23 - 1)

	// fmaMinNormalShl1 is the float64 encoding of 2^-126, the smallest
	// normal float32, shifted left by one to drop the sign bit:
	// bits<<1 < fmaMinNormalShl1 exactly when |s| < 2^-126.
	fmaMinNormalShl1 = (1023 - 126) << 53
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
// a second time. Double rounding can only go wrong when s lies exactly on a
// float32 rounding midpoint while x does not: the midpoints are themselves
// float64 values and rounding is monotonic, so in every other case x and s
// lie on the same side of every midpoint.
//
// For |s| >= 2^-126 (this includes the overflow range, ±Inf and NaN), s is a
// float32 midpoint exactly when the 29 fraction bits dropped by the
// conversion equal 1<<28; checking that is the fast path. Below 2^-126 the
// float32 rounding position depends on the exponent of s, so every such
// result takes the slow path.
//
// The slow path recovers the rounding error e = x - s exactly with Knuth's
// TwoSum, which is error-free in round-to-nearest arithmetic as long as
// nothing overflows (|x| < 2^257 here) and also under gradual underflow. It
// then replaces s by x rounded to odd at float64 precision: the truncation of
// x towards zero with its last bit forced to 1 when x is inexact. Rounding a
// round-to-odd value of at least p+2 bits to nearest at p bits equals
// rounding x directly, and float32 has at most 24 bits (fewer for subnormal
// results) against float64's 53.
//
// # Floating-point contraction
//
// The Go specification lets a compiler fuse x*y+z into a single rounding
// unless an explicit conversion rounds x*y. The only product here, p, is
// wrapped in float64(...), so no fused instruction can be formed from it on
// any architecture; TwoSum uses additions only, and the product e*s feeds
// just a sign test. (Fusing would in fact be harmless too, since p is exact,
// but the conversion makes the intent explicit.)
//
// # Cost
//
// fma32 stays within the compiler's inlining budget and must remain so: the
// common case is two float64 operations, one conversion back to float32 and
// a well-predicted branch on the bit pattern of s. The slow path is written
// inline rather than as a separate non-inlined function because the call
// alone would cost 57 of the 80 budget units and make fma32 itself
// non-inlinable; for the same reason the float64 bit casts use unsafe
// directly (identical to math.Float64bits/Float64frombits, but cheaper in
// inlining budget). Check with:
//
//	go build -gcflags=-m ./fallback 2>&1 | grep fma32
func fma32(a, b, c float32) float32 {
	p := float64(float64(a) * float64(b)) // exact
	s := float64(p + float64(c))          // x rounded to nearest float64
	bits := *(*uint64)(unsafe.Pointer(&s))
	if bits&fmaDroppedMask == fmaMidpoint || bits<<1 < fmaMinNormalShl1 {
		// Slow path: s is a float32 midpoint or the result is below the
		// float32 normal range. (Inf never gets here and NaN stays NaN.)
		// TwoSum with bb = s-p, written out so the function stays within
		// the inlining budget; the compiler computes s-p once.
		if e := (p - (s - (s - p))) + (float64(c) - (s - p)); e != 0 {
			// Round x to odd. e != 0 implies |e|, |s| >= 2^-298, so the
			// sign test e*s cannot underflow.
			if e*s < 0 {
				bits-- // |s| > |x|: step towards zero to truncate x
			}
			bits |= 1 // sticky bit: x is inexact
			return float32(*(*float64)(unsafe.Pointer(&bits)))
		}
	}
	return float32(s)
}
