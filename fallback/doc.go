// Package fallback is the pure-Go implementation of every softmax kernel,
// and the definition of their results: every other implementation (AVX-512,
// AVX2, NEON) returns exactly the bits this package returns. Use package
// kernels, which picks the fastest implementation for the CPU; this package
// is importable for those who want the portable code alone.
//
// The functions check their arguments as package kernels documents, and
// follow its semantics for empty rows, -Inf, +Inf and NaN. None allocates.
//
// # The algorithm
//
// A row is read three times.
//
// Pass 1 takes the maximum m (NaNs are skipped) and decides the row's kind:
// a +Inf or NaN makes it all NaN, a row of -Inf is fully masked. For a
// finite m it picks an offset c: 0 when |m| <= 208, m otherwise. Every
// element is reduced as d = x - c, clamped below at -320: with c = 0 that
// is x itself, and with c = m the subtraction is exact (Sterbenz) for every
// element whose output is not rounded to zero. No rounded x - max is ever
// formed, which is where float32 softmaxes lose 20 ULP and more.
//
// Pass 2 writes exp(d) = (1 + u) * 2^n with n = round(d*log2e), a two-step
// Cody-Waite reduction r = d - n*ln2 whose first step is exact, and
// u = r + r^2*q(r) with q a degree-4 polynomial fitted by Sollya (so exp is
// of degree 6). Each term is scaled by 2^(n - nm), an exact power of two,
// where nm = round((m - c)*log2e): terms are at most about 1.42 and the row
// sum S cannot overflow. A term whose n - nm is below -126 is flushed to
// zero, and so is its output: that is where exp(x - m) < 2^(-126.5 + e),
// e = nm - (m - c)*log2e being the rounding of nm, within ±1/2, so below
// a threshold between 2^-127 and 2^-126. The other outputs may be
// subnormal. S is summed in float64 from exact float64 terms in a fixed
// lane order: 16 lanes, per-lane block partials of 4 vectors, then a
// halving reduction. Out of place, u is kept in dst for pass 3.
//
// Pass 3 writes y = (1 + u) * (1/S) * 2^(n - nm): 1/S is split into float32
// hi + lo parts, (1 + u)*(hi + lo) takes two FMAs and an add, and the power
// of two is applied exactly. In place, u is recomputed instead; the bits are
// the same.
//
// LogSoftmax writes (x - c) - (nm*ln2 + ln S) in float64, rounded once,
// and 0 where that is above 0 (as it can be, by 2^-26 or so, for the
// largest element: l carries the rounding of S and of ln); the
// CrossEntropy loss is its negation, and likewise never below 0.
// LogSumExp returns c + nm*ln2 + ln S, with a logarithm of this package's
// own (log64) so that every path can repeat it. The backward kernels form
// their dot products and sums in float64 from exact products, in the same
// lane order, and compute each output in float64.
//
// # Fused kernels
//
// The scaled kernels run the algorithm above on z = fma(scale, x, mask),
// rounded once to float32 (fused.go). The axis kernels run it lane-wise
// across the inner dimension, each lane its own row with its own plan and
// a float64 sum in axis order (axis.go). The chunk statistics are a row's
// maximum and its sum S in the frame that maximum determines, which merge
// by rescaling the smaller frame, and normalize a chunk with pass 3 of the
// whole row (stats.go).
//
// # Fused multiply-adds
//
// Every step that the SIMD paths compute with a fused multiply-add is
// computed here with fma32, an exact float32 FMA built from float64
// arithmetic (tested against math/big), or, where the step is provably
// exact or its rounding provably equals a simpler one, with plain float64
// arithmetic that gives the same bits. No step is left to the compiler's
// choice: Go may fuse x*y + z on some platforms, so every product whose
// rounding matters is explicitly converted.
package fallback
