package kernels

import (
	"encoding/binary"
	"errors"
	"math"

	"github.com/go-softmax/softmax/fallback"
	"github.com/go-softmax/softmax/internal/check"
)

// ScaledSoftmaxRows sets each row of cols elements of dst to Softmax(z),
// where z = scale*src + mask for that row: the scale and additive mask of
// attention, softmax(q·kᵀ/sqrt(d) + mask), fused into the kernel. With
// scale = 1/T it is a softmax at temperature T. The name follows gonum's
// floats.AddScaled and ScaleTo: the scale is always applied, the mask is
// optional.
//
// mask is nil (no mask), one row of cols elements added to every row
// (broadcast), or len(src) elements, one mask row per row. A -Inf in the
// mask masks that element: its output is 0, and a row masked entirely is
// all 0 (see the special values in the package documentation, which apply
// to z).
//
// z is rounded once to float32: z = fma(scale, x, mask) with a mask,
// z = scale*x without one (the same as a mask of -0). The row is then
// normalized exactly as SoftmaxRows normalizes a row holding z, so the
// accuracy is Softmax's with respect to z, and with scale = 1 and no mask
// the result is SoftmaxRows' bit for bit. A z beyond the float32 range is
// ±Inf, with the usual meaning (+Inf makes the row NaN), as is inf - inf =
// NaN from the mask.
//
// dst may be src; mask may be src, but may not share any memory with dst.
// It panics if the lengths or cols do not match as above.
func ScaledSoftmaxRows(dst, src, mask []float32, scale float32, cols int) {
	active.ScaledSoftmaxRows(dst, src, mask, scale, cols)
}

// ScaledLogSoftmaxRows sets each row of cols elements of dst to
// LogSoftmax(z), z = scale*src + mask for that row, with the mask, the
// rounding of z, the arguments and the panics of ScaledSoftmaxRows. With
// scale = 1 and no mask it returns LogSoftmaxRows' bits.
func ScaledLogSoftmaxRows(dst, src, mask []float32, scale float32, cols int) {
	active.ScaledLogSoftmaxRows(dst, src, mask, scale, cols)
}

// CausalSoftmaxRows applies a causal mask without a mask array: row r of
// the [rows, cols] score matrix src keeps its first k = offset+r+1
// elements (clamped to [0, cols]), and dst gets the softmax of scale*src
// over those, and 0 for the others. The others are not read: a NaN there
// changes nothing. For a block of queries that are the last rows of a
// sequence of cols keys (a KV cache), offset = cols - rows; offset = 0 is
// the square causal mask. A row with k = 0 (offset < -r) is all 0, as a
// fully masked row is.
//
// Each row equals ScaledSoftmaxRows with no mask applied to its first k
// elements, bit for bit. dst may be src. It panics if len(dst) != len(src),
// cols <= 0, or cols does not divide len(src); any offset is allowed.
func CausalSoftmaxRows(dst, src []float32, scale float32, cols, offset int) {
	active.CausalSoftmaxRows(dst, src, scale, cols, offset)
}

// SoftmaxAxis applies Softmax along the middle axis of a contiguous
// tensor of shape [outer, axis, inner]: for every o and j, over the
// elements src[(o*axis + k)*inner + j], k = 0..axis-1. For NCHW
// activations and a softmax over channels, that is [N, C, H*W]; for the
// last axis of any tensor, inner = 1, which is SoftmaxRows with
// cols = axis (same bits, same speed).
//
// With inner > 1 the vector kernels run across inner, one column per lane,
// and each column's sum is taken in float64 in axis order, where the row
// kernels split it over 16 lanes: a column's outputs may then differ in
// their last bit from Softmax of the column copied out as a row, in rare
// ties (the float64 sums differ in their last bits). Both are
// within Softmax's accuracy bounds, and every implementation gives the
// same bits. Zero dimensions are allowed. dst may be src. It panics if
// len(dst) != len(src), a dimension is negative, or outer*axis*inner !=
// len(src).
func SoftmaxAxis(dst, src []float32, outer, axis, inner int) {
	active.SoftmaxAxis(dst, src, outer, axis, inner)
}

// LogSoftmaxAxis applies LogSoftmax along the middle axis of a contiguous
// [outer, axis, inner] tensor, as SoftmaxAxis does Softmax. With inner > 1
// it may differ in the last bit from LogSoftmax of each column, for the
// same reason. dst may be src. It panics if len(dst) != len(src), a
// dimension is negative, or outer*axis*inner != len(src).
func LogSoftmaxAxis(dst, src []float32, outer, axis, inner int) {
	active.LogSoftmaxAxis(dst, src, outer, axis, inner)
}

// Stats are the statistics of a chunk of a row that its softmax needs:
// the chunk's maximum and its sum of exponentials. Chunks can be reduced
// separately (blocks of keys in attention, a vocabulary split across
// workers), their statistics merged in any order, and each chunk then
// normalized with the merged statistics:
//
//	s := kernels.StatsOf(row[:k]).Merge(kernels.StatsOf(row[k:]))
//	kernels.SoftmaxWithStats(out[:k], row[:k], s)
//	kernels.SoftmaxWithStats(out[k:], row[k:], s)
//
// The result is within Softmax's accuracy bounds for any chunking; it is
// Softmax's result bit for bit with one chunk, and otherwise may differ
// from it in the last bit of a few outputs, since chunk sums are taken
// and merged in another order (see Merge). Every implementation gives the
// same bits for the same chunks merged in the same order.
//
// The zero Stats is the statistics of an empty chunk, which Merge leaves
// out: it is a starting value for a running merge. Stats are values, safe
// to copy and to share between goroutines; MarshalBinary and
// UnmarshalBinary carry them exactly between processes.
type Stats struct{ s fallback.Stats }

// StatsOf returns the statistics of the chunk src, which may be empty.
func StatsOf(src []float32) Stats { return active.StatsOf(src) }

// Merge returns the statistics of the two chunks together. It is
// commutative, bit for bit, and associative up to float64 rounding:
// different groupings of the same chunks may differ in the last bits of
// the float64 sum, rarely visible in a float32 output. A chunk holding
// NaN makes the merge NaN; one holding +Inf (and no NaN) makes it +Inf.
func (s Stats) Merge(t Stats) Stats { return Stats{s.s.Merge(t.s)} }

// LogSumExp returns ln(sum_i exp(x_i)) over the chunks s describes, with
// LogSumExp's special values: -Inf when empty or fully masked, +Inf with
// a +Inf and no NaN, NaN with a NaN. For one chunk it is LogSumExp's
// result bit for bit.
func (s Stats) LogSumExp() float32 { return s.s.LogSumExp() }

// Max returns the largest element of the chunks s describes: -Inf when
// they are empty or fully masked, NaN when they hold a NaN.
func (s Stats) Max() float32 {
	switch {
	case s.s.Sum == 0:
		return float32(math.Inf(-1))
	case s.s.Sum != s.s.Sum:
		return float32(math.NaN())
	}
	return s.s.Max
}

// statsLen is the size of Stats' binary encoding.
const statsLen = 12

// MarshalBinary encodes s in 12 bytes: the maximum's float32 bits and the
// sum's float64 bits, little-endian. UnmarshalBinary restores s exactly.
func (s Stats) MarshalBinary() ([]byte, error) {
	b := make([]byte, statsLen)
	binary.LittleEndian.PutUint32(b, math.Float32bits(s.s.Max))
	binary.LittleEndian.PutUint64(b[4:], math.Float64bits(s.s.Sum))
	return b, nil
}

// statsMinSum is the least finite positive sum UnmarshalBinary accepts.
// The sum of any statistics that StatsOf and Merge make, but the empty
// ones' (0), holds the term of their largest element: 1 for a maximum
// beyond ±208, else exp(r) for the r, within about ±ln(2)/2, that the
// exponential reduces it to (n being rounded from float32 products, r can
// pass -ln(2)/2 by 3e-6): 0.70710 or more.
const statsMinSum = 0.707

// UnmarshalBinary decodes what MarshalBinary encoded. It returns an error,
// and leaves s unchanged, if data is not 12 bytes, or if it holds a
// negative sum (-0 included), a sum of +Inf with a maximum other than
// +Inf, a finite positive sum with an infinite or NaN maximum, or a finite
// positive sum below 0.707, which StatsOf and Merge never make (their
// finite non-zero sums are 0.70710 or more). It does not check every
// relation between a sum and its maximum: statistics that no chunks have,
// but that it accepts, give unspecified results.
func (s *Stats) UnmarshalBinary(data []byte) error {
	if len(data) != statsLen {
		return errors.New("softmax: Stats encoding is not 12 bytes")
	}
	m := math.Float32frombits(binary.LittleEndian.Uint32(data))
	sum := math.Float64frombits(binary.LittleEndian.Uint64(data[4:]))
	finite := !math.IsInf(float64(m), 0) && m == m
	switch {
	case sum == 0 && !math.Signbit(sum), sum != sum:
	case math.IsInf(sum, 1) && math.IsInf(float64(m), 1):
	case sum >= statsMinSum && !math.IsInf(sum, 1) && finite:
	default:
		return errors.New("softmax: invalid Stats encoding")
	}
	s.s = fallback.Stats{Max: m, Sum: sum}
	return nil
}

// SoftmaxWithStats sets dst to the part of a row's softmax that falls on
// the chunk src of the row, given s, the statistics of the whole row
// (merged from those of its chunks, src among them). A row holding NaN or
// +Inf makes dst all NaN; a fully masked row makes it all 0. With
// s = StatsOf(src) it is Softmax, bit for bit. dst may be src. It panics
// if len(dst) != len(src), or if s cannot include src: src holds an
// element above s's maximum, or a NaN that s does not.
func SoftmaxWithStats(dst, src []float32, s Stats) { active.SoftmaxWithStats(dst, src, s) }

// LogSoftmaxWithStats is SoftmaxWithStats for LogSoftmax: dst[i] =
// src[i] - LogSumExp of the row, computed as LogSoftmax does. With
// s = StatsOf(src) it is LogSoftmax, bit for bit. dst may be src. It
// panics as SoftmaxWithStats does: if len(dst) != len(src), or if s cannot
// include src.
func LogSoftmaxWithStats(dst, src []float32, s Stats) {
	active.LogSoftmaxWithStats(dst, src, s)
}

// ScaledSoftmaxRows is the package-level ScaledSoftmaxRows on this
// implementation.
func (im *Implementation) ScaledSoftmaxRows(dst, src, mask []float32, scale float32, cols int) {
	check.Scaled(dst, src, mask, cols)
	if len(src) > 0 {
		im.k.scaledSoftmaxRows(dst, src, mask, scale, cols)
	}
}

// ScaledLogSoftmaxRows is the package-level ScaledLogSoftmaxRows on this
// implementation.
func (im *Implementation) ScaledLogSoftmaxRows(dst, src, mask []float32, scale float32, cols int) {
	check.Scaled(dst, src, mask, cols)
	if len(src) > 0 {
		im.k.scaledLogSoftmaxRows(dst, src, mask, scale, cols)
	}
}

// CausalSoftmaxRows is the package-level CausalSoftmaxRows on this
// implementation.
func (im *Implementation) CausalSoftmaxRows(dst, src []float32, scale float32, cols, offset int) {
	check.RowsOf(dst, src, cols)
	if len(src) > 0 {
		im.k.causalSoftmaxRows(dst, src, scale, cols, offset)
	}
}

// SoftmaxAxis is the package-level SoftmaxAxis on this implementation.
func (im *Implementation) SoftmaxAxis(dst, src []float32, outer, axis, inner int) {
	alongAxis(dst, src, outer, axis, inner, im.k.softmaxRows, im.k.softmaxAxis)
}

// LogSoftmaxAxis is the package-level LogSoftmaxAxis on this
// implementation.
func (im *Implementation) LogSoftmaxAxis(dst, src []float32, outer, axis, inner int) {
	alongAxis(dst, src, outer, axis, inner, im.k.logSoftmaxRows, im.k.logSoftmaxAxis)
}

// alongAxis checks the arguments of an axis kernel and runs it: the row
// kernel when inner is 1, the axis kernel otherwise.
func alongAxis(dst, src []float32, outer, axis, inner int, rows func(dst, src []float32, cols int), along func(dst, src []float32, outer, axis, inner int)) {
	check.Axis(dst, src, outer, axis, inner)
	switch {
	case len(src) == 0:
	case inner == 1:
		rows(dst, src, axis)
	default:
		along(dst, src, outer, axis, inner)
	}
}

// StatsOf is the package-level StatsOf on this implementation.
func (im *Implementation) StatsOf(src []float32) Stats { return Stats{im.k.statsOf(src)} }

// SoftmaxWithStats is the package-level SoftmaxWithStats on this
// implementation.
func (im *Implementation) SoftmaxWithStats(dst, src []float32, s Stats) {
	check.Elementwise(dst, src)
	if len(src) > 0 {
		im.k.softmaxWithStats(dst, src, s.s)
	}
}

// LogSoftmaxWithStats is the package-level LogSoftmaxWithStats on this
// implementation.
func (im *Implementation) LogSoftmaxWithStats(dst, src []float32, s Stats) {
	check.Elementwise(dst, src)
	if len(src) > 0 {
		im.k.logSoftmaxWithStats(dst, src, s.s)
	}
}
