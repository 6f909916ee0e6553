package main

import (
	"slices"

	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// The short-row Softmax kernel: SoftmaxShortRowsAVX512 runs the rows of a
// batch of at most 16 columns eight at a time, bit for bit
// fallback.SoftmaxRows, with each row in one zmm register from its load
// to its store.
//
// Why: SoftmaxRowsAVX512 runs one row at a time, and a short row is a
// chain of some 130 cycles of dependent operations (the max and its
// reduction tree, the float64 sum and its halving reduction, the
// division, the split of 1/S) wrapped in about 150 instructions of loop
// control, of which the CPU keeps about three rows in flight: 1.57 ns per
// element at 10 columns. Here the eight rows of a group go through each
// step side by side, so that their chains overlap, and the horizontal
// steps are shared:
//
//   - the maxima of the eight rows are folded together, by swapping
//     halves of pairs of rows (VSHUFF32X4), then quarters, then pairs of
//     lanes (VUNPCKLPD, VUNPCKHPD) and neighbours: 7 shuffles and 8 maxes
//     give every row's max, where one tree per row takes 32 of each;
//   - one check covers the group: every max finite with |max| <= 208
//     (then c = 0, and x - c is x), and later every S not NaN (a NaN in a
//     row with a finite max). A group that fails it is left to
//     SoftmaxRowsAVX512 (the kernel returns, and the caller runs that
//     group there before calling this kernel again for the rest); so are
//     the last rows%8 rows. Nothing of a group is stored before both
//     checks have passed;
//   - the float64 sums reduce as the fallback's lanes do (lane i += lane
//     i+8, then i+4, i+2, i+1), for two rows at a time in the first steps
//     and eight in the last: shuffles move the lanes to add into place, and
//     the additions are the fallback's, pair by pair;
//   - 1/S for the eight rows is one VDIVPD, and its hi + lo split is done
//     on the eight at once; each row's hi and lo are then broadcast from a
//     copy on the stack, which costs loads rather than shuffles.
//
// Lanes past the end of a row are loaded as -Inf, which leaves the max
// alone and reduces to -320, so that their s is 0 (n - nm < -126 for every
// |max| <= 208) and their u finite: they add +0 to the sums. They are
// never stored.
//
// The group's rows are read before any of them is written, so dst may be
// src.
//
// Measured on Zen 5 (ns per element, batches of 2^18 elements of N(0, 4),
// the thread's CPU time, the least of many runs, against
// SoftmaxRowsAVX512 in the same run): the group alone gave 0.72 against
// 1.48 at 10 columns and 0.46 against 0.85 at 16; running pass 3 a group
// late (see pass3 below) brought that to 0.58 and 0.39, and 0.57 in place
// at 10 columns (2.12 before). What bounds it now is mostly the vector
// pipes: a group is about 350 instructions, some 450 slots of Zen 5's
// four 512-bit pipes once each VCVTPS2PD counts twice (the float64 terms
// take 6 conversions a row), against about 160 cycles a group measured.

// The scaled forms: ScaledSoftmaxShortRowsAVX512 and the medium kernel's
// run ScaledSoftmaxRows's rows z (fused.go) in the same groups, bit for
// bit fallback.ScaledSoftmaxRows, with a mask of one row per row, one row
// for every row (Bcast: in a register in the short kernel) or none
// (NoMask). z is computed where the unscaled kernels load x (groupIn
// below), and the checks are made on z: a row that z makes special (a
// fully masked row, a NaN or infinite scale) leaves its group to
// ScaledSoftmaxRowsAVX512. Measured as above, against SoftmaxRows on the
// same rows, scale 1/8: 1.0-1.15x at 10 columns with a mask per row (2.9x
// through ScaledSoftmaxRowsAVX512), 1.01x with one mask row, 1.0-1.03x
// without; from 17 to 48 columns, out of place, 1.14-1.17x (1.4-1.7x).
//
// CausalSoftmaxShortRowsAVX512 runs CausalSoftmaxRows's rows of at most
// 16 columns the same way: row r's z = scale*x is computed in its first
// k lanes only (inCausal, with the mask of those lanes), and its other
// lanes stay -Inf, whose s is 0: they are stored as the +0 that the
// fallback writes there. A row of k = 0 is fully masked, which leaves
// its group to CausalSoftmaxRowsAVX512. Full rows: 1.11x SoftmaxRows at
// 10 columns, 1.14x at 16 (3.0x and 2.7x through CausalSoftmaxRowsAVX512).
// CausalSoftmaxMediumRowsAVX512 is its form for 17 to 48 columns, out of
// place: each pass compares the lanes' indices in the row (a vector that
// steps by 16) with each row's k, kept in the frame, for the mask of the
// lanes to compute z in. Full rows: 1.11-1.27x SoftmaxRows from 17 to 48
// columns (1.35-1.45x through CausalSoftmaxRowsAVX512).

// shortGroup is the number of rows the short kernel runs at once: eight
// rows make one float64 zmm of sums for the single division, and their
// u and s (16 registers) fit in the 32 zmm registers with what the passes
// need.
const shortGroup = 8

// The VCMPPS predicates "less or equal" and "greater or equal", ordered
// and quiet: false where either operand is NaN.
const (
	cmpLEOQ = 0x12
	cmpGEOQ = 0x1d
)

func generateShort(g *gen) {
	c := g.constTable("shortconst", slices.Concat(softmaxConsts, []constant{
		{"largeMax", largeMaxBits},
		{"negLargeMax", largeMaxBits | 0x80000000},
	}))
	shortAVX512(g, c, inX)
	mediumAVX512(g, c, inX)
	for _, in := range []groupIn{inMaskRows, inMaskBcast, inScaled} {
		shortAVX512(g, c, in)
		mediumAVX512(g, c, in)
	}
	shortAVX512(g, c, inCausal)
	lanes := g.StaticGlobal("causallanes")
	g.DataAttributes(rodata)
	for i := range 32 {
		g.AppendDatum(U32(min(i, 16))) // 0 to 15, then 16 sixteens
	}
	causalLanesAt = lanes
	mediumAVX512(g, c, inCausal)
}

// causalLanesAt is the table of the causal medium kernel: the lane
// indices 0 to 15, then 16 in every lane.
var causalLanesAt Mem

// groupIn is the input of a group kernel: the rows x of src for
// SoftmaxRows, or for ScaledSoftmaxRows the rows z of fallback/fused.go,
// scale*x without a mask, or fma(scale, x, m) with m the row's row of the
// mask (one row per row) or its one row (the same for every row). z is
// computed as the rows are loaded, under the mask of a row's lanes: the
// lanes past the row keep the -Inf they are loaded as, where scale*(-Inf)
// would be NaN for a zero or NaN scale.
type groupIn int

const (
	inX groupIn = iota
	inMaskRows
	inMaskBcast
	inScaled
	inCausal // CausalSoftmaxRows: z = scale*x in a row's first k lanes, -Inf after
)

// name returns the name of the group kernel of the given kind ("Short"
// or "Medium") for this input.
func (in groupIn) name(kind string) string { return in.opName("Softmax", kind) }

// opName returns the name of the group kernel of the operation op
// ("Softmax" or "LogSoftmax") and the given kind for this input.
func (in groupIn) opName(op, kind string) string {
	switch in {
	case inMaskRows:
		return "Scaled" + op + kind + "RowsAVX512"
	case inMaskBcast:
		return "Scaled" + op + kind + "RowsBcastAVX512"
	case inScaled:
		return "Scaled" + op + kind + "RowsNoMaskAVX512"
	case inCausal:
		return "Causal" + op + kind + "RowsAVX512"
	}
	return op + kind + "RowsAVX512"
}

// signature returns the Go signature of a group kernel for this input.
func (in groupIn) signature() string {
	switch in {
	case inMaskRows, inMaskBcast:
		return "func(dst, src, mask []float32, scale float32, rows, cols int) int"
	case inScaled:
		return "func(dst, src []float32, scale float32, rows, cols int) int"
	case inCausal:
		return "func(dst, src []float32, scale float32, rows, cols, offset int) int"
	}
	return "func(dst, src []float32, rows, cols int) int"
}

// doc returns the documentation of a scaled group kernel whose unscaled
// form is plain.
func (in groupIn) doc(kind string) []string {
	name, plain := in.name(kind), inX.name(kind)
	switch in {
	case inMaskRows:
		return []string{name + " is " + plain + " for",
			"fallback.ScaledSoftmaxRows with a mask of one row per row: it runs",
			"the rows z = fma(scale, x, m), m the row of mask, with the same",
			"checks on z and the same result. The caller checks the arguments as",
			"for " + plain + ", and rows*cols elements in mask, which does not",
			"overlap dst."}
	case inMaskBcast:
		return []string{name + " is " + inMaskRows.name(kind),
			"with a mask of one row, cols elements, added to every row."}
	case inCausal:
		return []string{name + " is " + plain + " for",
			"fallback.CausalSoftmaxRows: row r of the batch is the softmax of",
			"z = scale*x over its first k = offset+r+1 elements (clamped to",
			"[0, cols]), its other elements 0. The caller checks the arguments as",
			"for " + plain + " and clamps offset to [-rows-1, cols]; it runs a",
			"group left with CausalSoftmaxRowsAVX512."}
	}
	return []string{name + " is " + inMaskRows.name(kind),
		"without a mask: z = scale*x."}
}

// shortSumPos and shortMaxPos are where row r's sum and max end up in the
// reduction trees below: the sums in float64 lane shortSumPos(r), the max
// in float32 lanes shortMaxPos(r) and the one after it.
func shortSumPos(r int) int { return 2*(r%4) + r/4 }
func shortMaxPos(r int) int { return 4*(r%4) + 2*(r/4) }

// groupArgs are the arguments and loop registers that the short and
// medium kernels share.
type groupArgs struct {
	dst, src, rows, cols, done reg.GPVirtual
	kmw                        reg.GPVirtual // the row's last lanes: cols%16, or all 16
	stride, stride3            reg.GPVirtual // one row's bytes, three rows'
}

// loadGroupArgs loads a kernel's dst, src, rows and cols, zeroes done, and
// computes kmw, stride and stride3.
func (g *gen) loadGroupArgs() groupArgs {
	a := groupArgs{dst: g.GP64(), src: g.GP64(), rows: g.GP64(), cols: g.GP64(), done: g.GP64()}
	g.Load(g.Param("dst").Base(), a.dst)
	g.Load(g.Param("src").Base(), a.src)
	g.Load(g.Param("rows"), a.rows)
	g.Load(g.Param("cols"), a.cols)
	g.XORQ(a.done, a.done)
	g.Comment("kmw selects a row's last lanes: the table's entry cols%16, or all 16.")
	a.kmw = g.GP32()
	tail, tbl, all := g.GP64(), g.GP64(), g.GP32()
	g.MOVQ(a.cols, tail)
	g.ANDQ(U32(15), tail)
	g.LEAQ(g.tailMask16(), tbl)
	g.MOVWLZX(Mem{Base: tbl, Index: tail, Scale: 2}, a.kmw)
	g.MOVL(U32(0xffff), all)
	g.TESTQ(tail, tail)
	g.CMOVLEQ(all, a.kmw)
	a.stride, a.stride3 = g.GP64(), g.GP64()
	g.MOVQ(a.cols, a.stride)
	g.SHLQ(U8(2), a.stride)                                           // 4*cols, a row's bytes
	g.LEAQ(Mem{Base: a.stride, Index: a.stride, Scale: 2}, a.stride3) // 3 rows
	return a
}

// groupZ is what a group kernel needs to compute z.
type groupZ struct {
	g     *gen
	in    groupIn
	scale reg.VecVirtual // scale in every lane
	mrow  reg.VecVirtual // inMaskBcast: the mask's row, zero past cols
	mask  reg.GPVirtual  // the mask's address, where mrow is not loaded
}

// groupZ emits the set-up of z for the input in of a kernel whose rows'
// lanes are selected by km: scale broadcast, and the mask's address, or
// its row loaded if km is not nil. For inX it emits nothing.
func (g *gen) groupZ(in groupIn, km reg.Register) *groupZ {
	z := &groupZ{g: g, in: in}
	if in == inX {
		return z
	}
	sc := g.XMM()
	z.scale = g.ZMM()
	g.Load(g.Param("scale"), sc)
	g.VBROADCASTSS(sc, z.scale)
	switch in {
	case inMaskRows:
		z.mask = g.GP64()
		g.Load(g.Param("mask").Base(), z.mask)
	case inMaskBcast:
		p := g.GP64()
		g.Load(g.Param("mask").Base(), p)
		if km == nil {
			z.mask = p
			break
		}
		z.mrow = g.ZMM()
		g.VMOVUPS_Z(Mem{Base: p}, km, z.mrow)
	}
	return z
}

// masked reports whether the kernel has a mask.
func (z *groupZ) masked() bool { return z.in == inMaskRows || z.in == inMaskBcast }

// mediumFrame returns the bytes the medium kernel's frame needs for the
// mask's addresses: none without a mask.
func (in groupIn) mediumFrame() int {
	switch in {
	case inMaskRows, inMaskBcast:
		return 16
	case inCausal:
		return 48
	}
	return 0
}

// apply emits the computation of z from the x in v, under the lanes of k:
// the other lanes of v are left as they are. m is the mask's vector, a
// memory operand, or nil for the loaded row mrow.
func (z *groupZ) apply(v reg.VecVirtual, k reg.Register, m Op) {
	g := z.g
	switch z.in {
	case inScaled, inCausal:
		g.VMULPS(z.scale, v, k, v) // z = scale*x
	case inMaskBcast, inMaskRows:
		if m == nil {
			m = z.mrow
		}
		g.VFMADD213PS(m, z.scale, k, v) // z = scale*x + m
	}
}

// causalLanes emits the mask of the first k lanes of row r of a causal
// group, k = clamp(next+r, 0, cols) with next and cols at the given
// addresses, and returns it.
func causalLanes(g *gen, next, cols Mem, r int) reg.Register {
	k, zero, t, tbl, w, all := g.GP64(), g.GP64(), g.GP64(), g.GP64(), g.GP32(), g.GP32()
	g.MOVQ(next, k)
	if r > 0 {
		g.ADDQ(U32(r), k)
	}
	g.XORQ(zero, zero)
	g.TESTQ(k, k)
	g.CMOVQLT(zero, k)
	g.CMPQ(k, cols)
	g.CMOVQGT(cols, k) // k <= cols <= 16
	g.MOVQ(k, t)
	g.ANDQ(U32(15), t)
	g.LEAQ(g.tailMask16(), tbl)
	g.MOVWLZX(Mem{Base: tbl, Index: t, Scale: 2}, w)
	g.MOVL(U32(0xffff), all)
	g.CMPQ(k, U32(16))
	g.CMOVLEQ(all, w)
	kr := g.K()
	g.KMOVW(w, kr)
	return kr
}

// foldMax returns the lanes of a and b folded by the VSHUFF32X4 patterns
// immLo and immHi, maxed: the max trees of the group kernels.
func (g *gen) foldMax(a, b reg.VecVirtual, immLo, immHi uint8) reg.VecVirtual {
	l, h := g.ZMM(), g.ZMM()
	g.VSHUFF32X4(U8(immLo), b, a, l)
	g.VSHUFF32X4(U8(immHi), b, a, h)
	g.VMAXPS(h, l, l)
	return l
}

// foldSum is foldMax for float64 sums (VSHUFF64X2, VADDPD).
func (g *gen) foldSum(a, b reg.VecVirtual, immLo, immHi uint8) reg.VecVirtual {
	l, h := g.ZMM(), g.ZMM()
	g.VSHUFF64X2(U8(immLo), b, a, l)
	g.VSHUFF64X2(U8(immHi), b, a, h)
	g.VADDPD(h, l, l)
	return l
}

// maxTree8 returns the maxima of the eight rows of a short group, x[r]
// holding row r: row r's max in lanes shortMaxPos(r) and +1. Rows r and
// r+1 are folded: their low halves (lanes 0-7) into one register, their
// high halves into another, and the max of the two holds each row's lanes
// i and i+8 in lane i of its half. The same with quarters of pairs of
// pairs, then pairs of lanes, then neighbours: every max only ever meets
// maxima of the same row.
func (g *gen) maxTree8(x []reg.VecVirtual) reg.VecVirtual {
	fold := g.foldMax
	var m2 [4]reg.VecVirtual
	for i := range m2 {
		m2[i] = fold(x[2*i], x[2*i+1], 0x44, 0xee) // [a0 a1 b0 b1], [a2 a3 b2 b3] (quarters)
	}
	m4 := [2]reg.VecVirtual{
		fold(m2[0], m2[1], 0x88, 0xdd), // rows 0-3, a quarter (4 lanes) each
		fold(m2[2], m2[3], 0x88, 0xdd), // rows 4-7
	}
	mv := g.ZMM()
	h := g.ZMM()
	g.VUNPCKLPD(m4[1], m4[0], mv) // per quarter: lanes 0,1 of row r, of row r+4
	g.VUNPCKHPD(m4[1], m4[0], h)  // lanes 2,3
	g.VMAXPS(h, mv, mv)
	g.VPERMILPS(U8(0xb1), mv, h) // swap neighbours
	g.VMAXPS(h, mv, mv)          // row r's max in lanes shortMaxPos(r), +1
	return mv
}

// sumTree8 returns the float64 sums of the eight rows of a short group
// from s2, each the sums of a pair of rows folded by foldSum (lane i +=
// i+4): lane i += i+2, i+1, shuffled side by side, row r's S in lane
// shortSumPos(r).
func (g *gen) sumTree8(s2 [4]reg.VecVirtual) reg.VecVirtual {
	fold64 := g.foldSum
	s4 := [2]reg.VecVirtual{
		fold64(s2[0], s2[1], 0x88, 0xdd), // lane i += i+2, rows 0-3
		fold64(s2[2], s2[3], 0x88, 0xdd), // rows 4-7
	}
	sum := g.ZMM()
	h := g.ZMM()
	g.VUNPCKLPD(s4[1], s4[0], sum)
	g.VUNPCKHPD(s4[1], s4[0], h)
	g.VADDPD(h, sum, sum) // lane 0 += lane 1: row r's S in lane shortSumPos(r)
	return sum
}

// maxTree4 returns the maxima of the four rows of a medium group, acc[r]
// holding row r's running max in every lane: row r's max in lanes 4r to
// 4r+3.
func (g *gen) maxTree4(acc []reg.VecVirtual) reg.VecVirtual {
	fold := g.foldMax
	mv := fold(fold(acc[0], acc[1], 0x44, 0xee), fold(acc[2], acc[3], 0x44, 0xee), 0x88, 0xdd)
	h := g.ZMM()
	g.VPERMILPS(U8(0x4e), mv, h) // swap pairs of lanes
	g.VMAXPS(h, mv, mv)
	g.VPERMILPS(U8(0xb1), mv, h) // swap neighbours
	g.VMAXPS(h, mv, mv)          // row r's max in lanes 4r to 4r+3
	return mv
}

// mediumSums holds the float64 sums of pass 2 of a medium group: for each
// row, the lane accumulators of lanes 0-7 and 8-15 (accLo, accHi) and the
// partials of the current block of 4 vectors (partLo, partHi), which pass
// 2 adds in the fallback's order.
type mediumSums struct {
	g                            *gen
	accLo, accHi, partLo, partHi []reg.VecVirtual
}

// newMediumSums allocates the registers of a medium group's sums and
// emits the zeroing of the accumulators.
func (g *gen) newMediumSums() *mediumSums {
	s := &mediumSums{g: g}
	s.accLo, s.accHi = make([]reg.VecVirtual, mediumGroup), make([]reg.VecVirtual, mediumGroup)
	s.partLo, s.partHi = make([]reg.VecVirtual, mediumGroup), make([]reg.VecVirtual, mediumGroup)
	for r := range s.accLo {
		s.accLo[r], s.accHi[r], s.partLo[r], s.partHi[r] = g.ZMM(), g.ZMM(), g.ZMM(), g.ZMM()
		g.VPXORQ(s.accLo[r], s.accLo[r], s.accLo[r])
		g.VPXORQ(s.accHi[r], s.accHi[r], s.accHi[r])
	}
	return s
}

// clearParts emits the zeroing of the partials, at a block's start.
func (s *mediumSums) clearParts() {
	for r := range s.partLo {
		s.g.VPXORQ(s.partLo[r], s.partLo[r], s.partLo[r])
		s.g.VPXORQ(s.partHi[r], s.partHi[r], s.partHi[r])
	}
}

// addParts emits acc += part, at a block's end; with last, the row's last
// block, also accLo += accHi (lane i += lane i+8).
func (s *mediumSums) addParts(last bool) {
	g := s.g
	for r := range s.accLo {
		g.VADDPD(s.partLo[r], s.accLo[r], s.accLo[r])
		g.VADDPD(s.partHi[r], s.accHi[r], s.accHi[r])
		if last {
			g.VADDPD(s.accHi[r], s.accLo[r], s.accLo[r]) // lane i += lane i+8
		}
	}
}

// sumTree4 returns the sums of the four rows from accLo, after
// addParts(true): lane i += lane i+4, i+2, i+1, row r's S in lanes 2r and
// 2r+1.
func (s *mediumSums) sumTree4() reg.VecVirtual {
	g := s.g
	fold64 := g.foldSum
	s4 := fold64(fold64(s.accLo[0], s.accLo[1], 0x44, 0xee), fold64(s.accLo[2], s.accLo[3], 0x44, 0xee), 0x88, 0xdd)
	sum := g.ZMM()
	h := g.ZMM()
	g.VPERMILPD(U8(0x55), s4, h) // swap the lanes of each pair
	g.VADDPD(h, s4, sum)         // row r's S in lanes 2r, 2r+1
	return sum
}

// vecMask16 emits k = the lanes of the vector of a group's rows at i
// remaining elements: all 16 while more than 16 remain, else kmw, the
// row's last lanes.
func (g *gen) vecMask16(k reg.Register, kmw, i reg.GPVirtual) {
	w, all := g.GP32(), g.GP32()
	g.MOVL(kmw, w)
	g.MOVL(U32(0xffff), all)
	g.CMPQ(i, U32(16))
	g.CMOVLGT(all, w) // more than one vector left: all lanes
	g.KMOVW(w, k)
}

// quadMask returns the mask's vector for the vector of row r (0 to 3) of
// a medium group at pm, rows stride bytes apart (stride3 = 3*stride): the
// row's own (inMaskRows), the one row (inMaskBcast), or nil without a
// mask.
func (z *groupZ) quadMask(pm, stride, stride3 reg.GPVirtual, r int) Op {
	switch z.in {
	case inMaskRows:
		return quadRow(pm, stride, stride3, r)
	case inMaskBcast:
		return Mem{Base: pm}
	}
	return nil
}

// nextMediumGroup emits the step from a medium group to the next, the
// current one having been stashed as pending: the mask's first row of the
// group to pendMask (and, for inMaskRows, maskCur on to the next group's),
// src and dst on by four rows, rows down by four, and the jump to top.
func (g *gen) nextMediumGroup(z *groupZ, maskCur, pendMask Mem, src, dst, stride, rows reg.GPVirtual, top string) {
	if z.masked() {
		t := g.GP64()
		g.MOVQ(maskCur, t)
		g.MOVQ(t, pendMask)
		if z.in == inMaskRows {
			g.LEAQ(Mem{Base: t, Index: stride, Scale: 4}, t)
			g.MOVQ(t, maskCur)
		}
	}
	g.LEAQ(Mem{Base: src, Index: stride, Scale: 4}, src)
	g.LEAQ(Mem{Base: dst, Index: stride, Scale: 4}, dst)
	g.SUBQ(U32(mediumGroup), rows)
	g.JMP(LabelRef(top))
}

// mediumY emits pass 3's y for row r of a medium group from its x and u:
// s recomputed from x (max(x, -320), reduceLo in every lane) with the
// row's bias, then y = (hi + fma(u, hi, fma(u, lo, lo))) * s in u, with
// the bias, hi and lo of the pending group at pend (as the medium kernels'
// frames hold them).
func (g *gen) mediumY(c *constTable, x, u, reduceLo reg.VecVirtual, pend Mem, r int) {
	g.VMAXPS(x, reduceLo, x)
	t := g.ZMM()
	g.VBROADCASTSS(c.scalar("magic"), t)
	g.VFMADD231PS_BCST(c.scalar("log2e"), x, t)
	g.scaleBias(c, t, pend.Offset(4*mediumMaxPos(r)))
	g.normalizeRow(u, t, pend.Offset(64+4*mediumSumPos(r)), pend.Offset(96+4*mediumSumPos(r)))
}

// stashMedium emits the copy of a medium group's biases, at frame, to its
// pending slot pend, and of its 1/S split into hi and lo (hilo, see
// splitInverse) after them.
func (g *gen) stashMedium(frame, pend Mem, hilo reg.VecVirtual) {
	b := g.ZMM()
	g.VMOVUPS(frame, b)
	g.VMOVUPS(b, pend)
	g.VMOVUPS(hilo, pend.Offset(64))
}

// mask4 returns a register holding the address of row 4 of the group's
// mask rows (inMaskRows), rows stride bytes apart; for the other inputs it
// emits nothing and returns nil.
func (z *groupZ) mask4(stride reg.GPVirtual) reg.GPVirtual {
	var m4 reg.GPVirtual
	if z.in == inMaskRows {
		m4 = z.g.GP64()
		z.g.LEAQ(Mem{Base: z.mask, Index: stride, Scale: 4}, m4)
	}
	return m4
}

// groupReturn emits the end of a group kernel: done, the rows it ran, as
// the result.
func (g *gen) groupReturn(done reg.GPVirtual) {
	g.Store(done, g.ReturnIndex(0))
	g.VZEROUPPER()
	g.RET()
}

// checkMaxima emits a jump to fail unless every lane of mv is finite and
// at most 208 in magnitude; else it stores the bias of each lane, 127 -
// bits(fma(max, log2e, magic)) (c = 0), to the 64 bytes at biases.
func (g *gen) checkMaxima(c *constTable, mv reg.VecVirtual, fail string, biases Mem) {
	g.Comment("The group's check: every max finite, |max| <= 208. Else the caller runs it.")
	lim, k1, k2 := g.ZMM(), g.K(), g.K()
	g.VBROADCASTSS(c.scalar("largeMax"), lim)
	g.VCMPPS(U8(cmpLEOQ), lim, mv, k1) // mv <= 208, false for NaN
	g.VBROADCASTSS(c.scalar("negLargeMax"), lim)
	g.VCMPPS(U8(cmpGEOQ), lim, mv, k2) // mv >= -208
	g.KANDW(k1, k2, k1)
	g.KORTESTW(k1, k1)
	g.JCC(LabelRef(fail)) // CF clear: not every lane passed
	g.Comment("bias = 127 - bits(fma(max, log2e, magic)), c = 0: to the frame.")
	tm, b := g.ZMM(), g.ZMM()
	g.VBROADCASTSS(c.scalar("magic"), tm)
	g.VFMADD231PS_BCST(c.scalar("log2e"), mv, tm)
	g.VPBROADCASTD(c.scalar("bias127"), b)
	g.VPSUBD(tm, b, b)
	g.VMOVUPS(b, biases)
}

// splitInverse emits a jump to fail if a lane of the float64 sums is NaN
// (a row with a NaN), and returns 1/S of every lane split into float32 hi
// (lanes 0-7) and lo (lanes 8-15), in one register.
func (g *gen) splitInverse(c *constTable, sum reg.VecVirtual, fail string) reg.VecVirtual {
	g.Comment("A NaN S: a row with a NaN. The caller runs the group.")
	kn := g.K()
	g.VCMPPD(U8(cmpUnord), sum, sum, kn)
	g.KORTESTW(kn, kn)
	g.JNZ(LabelRef(fail))
	g.Comment("1/S for every row at once, split into float32 hi + lo.")
	one, inv, hi64, lo, hi := g.ZMM(), g.ZMM(), g.ZMM(), g.ZMM(), g.ZMM()
	g.VBROADCASTSS(c.scalar("one"), one)
	g.VCVTPS2PD(one.AsY(), one)
	g.VDIVPD(sum, one, inv)
	g.VCVTPD2PS(inv, hi.AsY())
	g.VCVTPS2PD(hi.AsY(), hi64)
	g.VSUBPD(hi64, inv, inv)
	g.VCVTPD2PS(inv, lo.AsY())
	g.VINSERTF64X4(U8(1), lo.AsY(), hi, hi) // [hi x8, lo x8]
	return hi
}

// expU emits the exponential of pass 2 for d = max(x, -320) (c = 0): d
// holds u on exit; the returned register holds t. The constants are
// broadcast from memory, which leaves registers for the group's rows.
func (g *gen) expU(c *constTable, d reg.VecVirtual) reg.VecVirtual {
	t, nf := g.ZMM(), g.ZMM()
	g.VBROADCASTSS(c.scalar("magic"), t)
	g.VFMADD231PS_BCST(c.scalar("log2e"), d, t) // t = fma(d, log2e, magic)
	g.VSUBPS_BCST(c.scalar("magic"), t, nf)     // nf = t - magic, exact
	g.VFMADD231PS_BCST(c.scalar("negLn2Hi"), nf, d)
	g.VFMADD231PS_BCST(c.scalar("negLn2Lo"), nf, d) // d = r
	q := nf
	g.VBROADCASTSS(c.scalar("c6"), q)
	for _, ci := range []string{"c5", "c4", "c3", "c2"} {
		g.VFMADD213PS_BCST(c.scalar(ci), d, q) // q = r*q + ci
	}
	r2 := g.ZMM()
	g.VMULPS(d, d, r2)
	g.VFMADD231PS(q, r2, d) // d = r2*q + r = u
	return t
}

// scaleBias emits s = 2^(n - nm), or 0, from t in place, with the row's
// bias at b (a 32-bit memory operand, broadcast).
func (g *gen) scaleBias(c *constTable, t reg.VecVirtual, b Mem) {
	g.VPADDD_BCST(b, t, t)
	g.VPMAXSD_BCST(c.scalar("zero"), t, t)
	g.VPSLLD(U8(23), t, t) // s = 2^(n - nm), or 0
}

// terms returns u*s + s of the vector's lanes 0-7 and 8-15 in float64.
func (g *gen) terms(u, s reg.VecVirtual) (lo, hi reg.VecVirtual) {
	ul, uh, sl, sh := g.ZMM(), g.ZMM(), g.ZMM(), g.ZMM()
	y, y2 := g.YMM(), g.YMM()
	g.VCVTPS2PD(u.AsY(), ul)
	g.VEXTRACTF64X4(U8(1), u, y)
	g.VCVTPS2PD(y, uh)
	g.VCVTPS2PD(s.AsY(), sl)
	g.VEXTRACTF64X4(U8(1), s, y2)
	g.VCVTPS2PD(y2, sh)
	g.VFMADD213PD(sl, sl, ul) // u*s + s, lanes 0-7
	g.VFMADD213PD(sh, sh, uh) // lanes 8-15
	return ul, uh
}

// normalizeRow emits y = (hi + fma(u, hi, fma(u, lo, lo))) * s in u, with
// hi and lo broadcast from memory.
func (g *gen) normalizeRow(u reg.VecVirtual, s Op, hi, lo Mem) {
	hiv, w := g.ZMM(), g.ZMM()
	g.VBROADCASTSS(hi, hiv)
	g.VBROADCASTSS(lo, w)
	g.VFMADD213PS(w, u, w)   // w = u*lo + lo
	g.VFMADD132PS(hiv, w, u) // u = u*hi + w
	g.VADDPS(hiv, u, u)
	g.VMULPS(s, u, u)
}

func shortAVX512(g *gen, c *constTable, in groupIn) {
	doc := []string{
		"SoftmaxShortRowsAVX512 sets rows of cols elements of dst to the softmax",
		"of the same rows of src, with the bits of fallback.SoftmaxRows, eight",
		"rows at a time, from the first, for as long as eight rows remain whose",
		"maxima are finite, at most 208 in magnitude, and whose rows hold no",
		"NaN. It returns the number of rows done, a multiple of eight; the",
		"caller runs the next rows with SoftmaxRowsAVX512. The caller checks",
		"the arguments: rows*cols elements in each slice, 1 <= cols <= 16, and",
		"dst is src or does not overlap it. It requires AVX-512F.",
	}
	if in != inX {
		doc = in.doc("Short")
	}
	g.function(in.name("Short"), in.signature(),
		[]string{"AVX", "AVX512F", "CMOV", "FMA3", "SSE", "SSE2"}, doc...)
	a := g.loadGroupArgs()
	dst, src, rows, done, stride, stride3 := a.dst, a.src, a.rows, a.done, a.stride, a.stride3
	km := g.K() // a row's cols lanes
	g.KMOVW(a.kmw, km)
	z := g.groupZ(in, km)

	negInf, reduceLo := g.ZMM(), g.ZMM()
	g.VBROADCASTSS(c.scalar("negInf"), negInf)
	g.VBROADCASTSS(c.scalar("reduceLo"), reduceLo)

	// The frame holds the current group's biases (16 int32 lanes, in the
	// order of the max tree), then the pending group's hi (8 float32) and
	// lo (8 float32) in the order of the sum tree, and its s (8 vectors);
	// its u are kept in its rows of dst (which, in place, are the rows of
	// src that passes 1 and 2 are done with), but for the last row's, kept
	// in the frame after the s. A frame of every u and s would exceed what
	// a NOSPLIT function may use. pdst is the pending group's dst, 0 when
	// no group is pending.
	//
	// The last row's u stays out of dst because, in place, the next
	// group's first row is loaded from the 64 bytes that the masked store
	// of that u spans when cols < 16, and such a load waits for the store
	// to retire: at 10 columns in place, 1.0 ns per element with that u in
	// dst.
	causalFrame := 0
	if in == inCausal {
		causalFrame = 16
	}
	frame := g.AllocLocal(128 + 64*shortGroup + 64 + causalFrame)
	lastU := frame.Offset(128 + 64*shortGroup)
	// The causal kernel keeps the first row's k of the current group,
	// before clamping (offset+1, then up by 8 a group), and cols.
	nextK, colsAt := frame.Offset(128+64*shortGroup+64), frame.Offset(128+64*shortGroup+72)
	if in == inCausal {
		o := g.GP64()
		g.Load(g.Param("offset"), o)
		g.INCQ(o)
		g.MOVQ(o, nextK)
		g.Load(g.Param("cols"), o)
		g.MOVQ(o, colsAt)
	}
	biasAt := func(r int) Mem { return frame.Offset(4 * shortMaxPos(r)) }
	hiAt := func(r int) Mem { return frame.Offset(64 + 4*shortSumPos(r)) }
	loAt := func(r int) Mem { return frame.Offset(96 + 4*shortSumPos(r)) }
	sAt := func(r int) Mem { return frame.Offset(128 + 64*r) }
	pdst := g.GP64()
	g.XORQ(pdst, pdst)

	g.Label("short_group")
	g.CMPQ(rows, U32(shortGroup))
	g.JB(LabelRef("short_drain"))

	// The rows' addresses: row r at p + (r%4)*stride, with p = base for
	// r < 4 and base + 4*stride after.
	src4, dst4 := g.GP64(), g.GP64()
	g.LEAQ(Mem{Base: src, Index: stride, Scale: 4}, src4)
	g.LEAQ(Mem{Base: dst, Index: stride, Scale: 4}, dst4)
	rowAt := func(base, base4 reg.GPVirtual, r int) Mem { return groupRow(base, base4, stride, stride3, r) }

	g.Comment("Pass 1: the eight rows, -Inf past cols, and their maxima.")
	x := make([]reg.VecVirtual, shortGroup)
	mask4 := z.mask4(stride)
	for r := range x {
		x[r] = g.ZMM()
		g.VMOVAPS(negInf, x[r])
		if in == inCausal {
			kr := causalLanes(g, nextK, colsAt, r)
			g.VMOVUPS(rowAt(src, src4, r), kr, x[r])
			z.apply(x[r], kr, nil)
			continue
		}
		g.VMOVUPS(rowAt(src, src4, r), km, x[r])
		var m Op
		if in == inMaskRows {
			m = rowAt(z.mask, mask4, r)
		}
		z.apply(x[r], km, m)
	}
	mv := g.maxTree8(x)

	g.checkMaxima(c, mv, "short_drain", frame)

	g.Comment("Pass 2: u and s of each row; its 16 float64 terms folded to 8 (lane i += lane i+8).")
	u := make([]reg.VecVirtual, shortGroup)
	sc := make([]reg.VecVirtual, shortGroup)
	var s2 [4]reg.VecVirtual
	fold64 := g.foldSum
	var prev reg.VecVirtual
	for r := range x {
		d := x[r]
		g.VMAXPS(d, reduceLo, d) // d = max(x, -320), NaN kept (c = 0)
		t := g.expU(c, d)
		u[r] = d
		g.scaleBias(c, t, biasAt(r))
		sc[r] = t
		ul, uh := g.terms(d, t)
		g.VADDPD(uh, ul, ul) // lane i += lane i+8
		// Each pair of rows is folded as soon as it is summed, which
		// keeps 4 registers of sums live rather than 8.
		if r%2 == 0 {
			prev = ul
			continue
		}
		s2[r/2] = fold64(prev, ul, 0x44, 0xee) // lane i += i+4, rows r-1, r
	}
	g.Comment("The sums of the eight rows: lane i += lane i+2, i+1, shuffled side by side.")
	sum := g.sumTree8(s2)
	hi := g.splitInverse(c, sum, "short_drain")

	// Pass 3 runs a group late: the pending group's, from the frame, after
	// passes 1 and 2 of the current one. It waits on the end of a long
	// chain (the group's max tree, bias, sums, reduction tree, division
	// and split), and the next group's passes, which do not depend on it,
	// are what the CPU runs meanwhile, as SoftmaxRowsAVX512 does with its
	// rows. This costs 16 stores and 16 loads a group (u through dst, s
	// through the frame), which the load and store units take beside the
	// vector pipes.
	pass3 := func() {
		pdst4 := g.GP64()
		g.LEAQ(Mem{Base: pdst, Index: stride, Scale: 4}, pdst4)
		// Every u is loaded before the first row is stored: a row's
		// masked load that follows a masked store to the 64 bytes it
		// spans (as the next row's do when cols < 16) waits for the store
		// to retire, and measured 1.38 ns per element at 10 columns
		// instead of 0.72.
		ys := make([]reg.VecVirtual, shortGroup)
		for r := range ys {
			ys[r] = g.ZMM()
			if r == shortGroup-1 {
				g.VMOVUPS(lastU, ys[r])
				continue
			}
			g.VMOVUPS_Z(rowAt(pdst, pdst4, r), km, ys[r]) // u
		}
		for r, y := range ys {
			g.normalizeRow(y, sAt(r), hiAt(r), loAt(r))
			g.VMOVUPS(y, km, rowAt(pdst, pdst4, r))
		}
		g.ADDQ(U32(shortGroup), done)
	}
	g.Comment("Pass 3 of the pending group: y = (hi + fma(u, hi, fma(u, lo, lo))) * s, under km.")
	g.TESTQ(pdst, pdst)
	g.JZ(LabelRef("short_stash"))
	pass3()
	g.Label("short_stash")
	g.Comment("This group is now pending: its hi, lo and s to the frame, its u to dst.")
	g.VMOVUPS(hi, frame.Offset(64))
	for r := range shortGroup {
		if r == shortGroup-1 {
			g.VMOVUPS(u[r], lastU)
		} else {
			g.VMOVUPS(u[r], km, rowAt(dst, dst4, r))
		}
		g.VMOVUPS(sc[r], sAt(r))
	}
	g.MOVQ(dst, pdst)
	if in == inMaskRows {
		g.LEAQ(Mem{Base: z.mask, Index: stride, Scale: 8}, z.mask)
	}
	g.LEAQ(Mem{Base: src4, Index: stride, Scale: 4}, src)
	g.LEAQ(Mem{Base: dst4, Index: stride, Scale: 4}, dst)
	if in == inCausal {
		g.ADDQ(U32(shortGroup), nextK)
	}
	g.SUBQ(U32(shortGroup), rows)
	g.JMP(LabelRef("short_group"))

	g.Label("short_drain")
	g.TESTQ(pdst, pdst)
	g.JZ(LabelRef("short_ret"))
	pass3()

	g.Label("short_ret")
	g.groupReturn(done)
}

// The medium-row Softmax kernel: SoftmaxMediumRowsAVX512 runs rows of 17
// to 128 columns four at a time, out of place, bit for bit
// fallback.SoftmaxRows. Its passes are SoftmaxRowsAVX512's, each a loop
// over the vectors of the rows with the four rows' work side by side in
// its body (one loop control for four rows), and the rows' horizontal
// steps are shared as in SoftmaxShortRowsAVX512: one max tree, one sum
// tree, one VDIVPD and one split for the four. Four rows, not eight: each
// row has a float64 block partial and a lane accumulator, 4 registers,
// besides the registers of its vector in flight.
//
// Pass 2 stores u in dst before the group's NaN check, so a group it
// leaves to SoftmaxRowsAVX512 has had dst written; that kernel rewrites
// it from src, which is why this one runs only out of place.
//
// Measured (ns per element, batches of 2^18 elements, against
// SoftmaxRowsAVX512): 0.97 against 1.24 at 17 columns, 0.69 against 0.88
// at 24, 0.51 against 0.63 at 32, 0.49 against 0.53 at 48, but 0.47
// against 0.40 at 64 and 0.52 against 0.43 at 100: on longer rows the
// software pipeline of SoftmaxRowsAVX512's pass 2 wins over running four
// rows side by side, whose vectors each go through the exponential's
// whole chain within an iteration. package kernels uses this kernel up to
// 32 columns for SoftmaxRows (softmaxMediumCols), since SoftmaxRowsAVX512
// runs a row's last block through that pipeline and pass 1 a row ahead.
const mediumGroup = 4

// mediumMaxPos and mediumSumPos are where row r's max (float32 lane) and
// 1/S (float32 lane, after the conversion) end up.
func mediumMaxPos(r int) int { return 4 * r }
func mediumSumPos(r int) int { return 2 * r }

func mediumAVX512(g *gen, c *constTable, in groupIn) {
	doc := []string{
		"SoftmaxMediumRowsAVX512 sets rows of cols elements of dst to the",
		"softmax of the same rows of src, with the bits of",
		"fallback.SoftmaxRows, four rows at a time, from the first, for as long",
		"as four rows remain whose maxima are finite, at most 208 in magnitude,",
		"and whose rows hold no NaN. It returns the number of rows done, a",
		"multiple of four; the caller runs the next rows with",
		"SoftmaxRowsAVX512, which rewrites the dst of a group this kernel left.",
		"The caller checks the arguments: rows*cols elements in each slice,",
		"16 < cols <= 128, and dst does not overlap src. It requires AVX-512F.",
	}
	if in != inX {
		doc = in.doc("Medium")
	}
	g.function(in.name("Medium"), in.signature(),
		[]string{"AVX", "AVX512F", "CMOV", "FMA3", "SSE", "SSE2"}, doc...)
	a := g.loadGroupArgs()
	dst, src, rows, cols, done := a.dst, a.src, a.rows, a.cols, a.done
	kmw, stride, stride3 := a.kmw, a.stride, a.stride3
	negInf, reduceLo := g.ZMM(), g.ZMM()
	g.VBROADCASTSS(c.scalar("negInf"), negInf)
	g.VBROADCASTSS(c.scalar("reduceLo"), reduceLo)
	// The frame holds the current group's biases (16 int32), then the
	// pending group's biases, its hi (8 float32) and lo (8), and its src
	// and dst (dst 0 when no group is pending).
	frame := g.AllocLocal(208 + in.mediumFrame())
	pend := frame.Offset(64)
	pendSrc, pendDst := frame.Offset(192), frame.Offset(200)
	g.MOVQ(U32(0), pendDst)
	// With a mask, the frame also holds the current group's first row of
	// the mask and the pending group's, and pm walks the group's mask
	// rows (or the one row) beside ps.
	z := g.groupZ(in, nil)
	maskCur, pendMask := frame.Offset(208), frame.Offset(216)
	// The causal kernel's frame holds the current group's four k (int32),
	// the pending group's, and the next group's first k before clamping.
	curK, pendK, nextK := frame.Offset(208), frame.Offset(224), frame.Offset(240)
	if in == inCausal {
		o := g.GP64()
		g.Load(g.Param("offset"), o)
		g.INCQ(o)
		g.MOVQ(o, nextK)
	}
	// lane holds, in a causal kernel's loops, the index in the row of each
	// lane of the vector at ps; rowLanes returns the mask of the lanes of
	// row r below its k, at ks.
	var lane reg.VecVirtual
	rowLanes := func(ks Mem, r int) reg.Register {
		kk := g.K()
		g.VPCMPD_BCST(U8(1), ks.Offset(4*r), lane, kk) // lane < k
		return kk
	}
	var pm reg.GPVirtual
	if z.masked() {
		g.MOVQ(z.mask, maskCur)
		pm = g.GP64()
	}
	ps, pd, i := g.GP64(), g.GP64(), g.GP64()
	rowAt := func(p reg.GPVirtual, r int) Mem { return quadRow(p, stride, stride3, r) }
	vecMask := func(k reg.Register) { g.vecMask16(k, kmw, i) }
	maskOf := func(r int) Op { return z.quadMask(pm, stride, stride3, r) }
	// loop emits a loop over the vectors of the group's rows: body(k)
	// for the vector at ps, pd under mask k.
	loop := func(name string, from, to, mfrom Op, body func(k reg.Register)) {
		g.MOVQ(from, ps)
		g.MOVQ(to, pd)
		if z.masked() {
			g.MOVQ(mfrom, pm)
		}
		g.MOVQ(cols, i)
		if in == inCausal {
			lane = g.ZMM()
			g.VMOVDQU32(causalLanesAt, lane)
		}
		g.Label(name)
		k := g.K()
		vecMask(k)
		body(k)
		g.ADDQ(U32(64), ps)
		g.ADDQ(U32(64), pd)
		if z.masked() {
			g.ADDQ(U32(64), pm)
		}
		if in == inCausal {
			g.VPADDD(causalLanesAt.Offset(64), lane, lane)
		}
		g.SUBQ(U32(16), i)
		g.JG(LabelRef(name))
	}

	g.Label("medium_group")
	g.CMPQ(rows, U32(mediumGroup))
	g.JB(LabelRef("medium_drain"))
	if in == inCausal {
		g.Comment("The four rows' k = clamp(offset+r+1, 0, cols).")
		for r := range mediumGroup {
			k, zero := g.GP64(), g.GP64()
			g.MOVQ(nextK, k)
			if r > 0 {
				g.ADDQ(U32(r), k)
			}
			g.XORQ(zero, zero)
			g.TESTQ(k, k)
			g.CMOVQLT(zero, k)
			g.CMPQ(k, cols)
			g.CMOVQGT(cols, k)
			g.MOVL(k.As32(), curK.Offset(4*r))
		}
	}

	g.Comment("Pass 1: the four rows' maxima.")
	acc := make([]reg.VecVirtual, mediumGroup)
	for r := range acc {
		acc[r] = g.ZMM()
		g.VMOVAPS(negInf, acc[r])
	}
	loop("medium_max", src, dst, maskCur, func(k reg.Register) {
		for r := range acc {
			x := g.ZMM()
			kx := k
			if in == inCausal {
				kx = rowLanes(curK, r)
			}
			g.VMOVUPS_Z(rowAt(ps, r), kx, x)
			z.apply(x, kx, maskOf(r))
			g.VMAXPS(x, acc[r], kx, acc[r]) // lanes past the row keep acc
		}
	})
	mv := g.maxTree4(acc)
	g.checkMaxima(c, mv, "medium_drain", frame)
	// scaleOf emits s = 2^(n - nm), or 0, from t in place, for row r. The
	// biases are broadcast from the frame, which keeps registers for the
	// partials.
	scaleOf := func(t reg.VecVirtual, r int) { g.scaleBias(c, t, frame.Offset(4*mediumMaxPos(r))) }

	g.Comment("Pass 2: u to dst; S in the fallback's lanes and blocks of 4 vectors.")
	sums := g.newMediumSums()
	nv := g.GP64()
	g.MOVQ(src, ps)
	g.MOVQ(dst, pd)
	if z.masked() {
		g.MOVQ(maskCur, pm)
	}
	g.MOVQ(cols, i)
	if in == inCausal {
		lane = g.ZMM()
		g.VMOVDQU32(causalLanesAt, lane)
	}
	g.Label("medium_block")
	sums.clearParts()
	g.MOVQ(U32(4), nv)
	g.Label("medium_vec")
	{
		k := g.K()
		vecMask(k)
		for r := range mediumGroup {
			d := g.ZMM()
			var kx reg.Register = k
			if in == inCausal {
				kx = rowLanes(curK, r) // -Inf past k too
			}
			g.VBROADCASTSS(c.scalar("negInf"), d)
			g.VMOVUPS(rowAt(ps, r), kx, d) // -Inf past the row: s = 0
			z.apply(d, kx, maskOf(r))
			g.VMAXPS(d, reduceLo, d)
			t := g.expU(c, d)
			g.VMOVUPS(d, k, rowAt(pd, r)) // u
			scaleOf(t, r)
			ul, uh := g.terms(d, t)
			g.VADDPD(ul, sums.partLo[r], sums.partLo[r])
			g.VADDPD(uh, sums.partHi[r], sums.partHi[r])
		}
		g.ADDQ(U32(64), ps)
		g.ADDQ(U32(64), pd)
		if z.masked() {
			g.ADDQ(U32(64), pm)
		}
		if in == inCausal {
			g.VPADDD(causalLanesAt.Offset(64), lane, lane)
		}
		g.SUBQ(U32(16), i)
		g.JLE(LabelRef("medium_lastblock"))
		g.DECQ(nv)
		g.JNZ(LabelRef("medium_vec"))
	}
	sums.addParts(false)
	g.JMP(LabelRef("medium_block"))
	g.Label("medium_lastblock")
	sums.addParts(true)
	g.Comment("The four sums: lane i += lane i+4, i+2, i+1, side by side.")
	sum := sums.sumTree4()
	hilo := g.splitInverse(c, sum, "medium_drain")

	// Pass 3 runs a group late, as SoftmaxShortRowsAVX512's does: the
	// pending group's after passes 1 and 2 of the current one, whose chain
	// through the trees and the division the CPU then overlaps with it.
	// Measured: 0.85 against 0.92 ns per element at 17 columns, 0.45
	// against 0.49 at 32, 0.44 against 0.46 at 48.
	pass3 := func(name string) {
		g.Comment("Pass 3: u from dst, s recomputed from src; y = (hi + fma(u, hi, fma(u, lo, lo))) * s.")
		loop(name, pendSrc, pendDst, pendMask, func(k reg.Register) {
			for r := range mediumGroup {
				x, u := g.ZMM(), g.ZMM()
				if in == inCausal {
					// -Inf past k, whose s is 0: y is stored there as +0.
					kx := rowLanes(pendK, r)
					g.VMOVAPS(negInf, x)
					g.VMOVUPS(rowAt(ps, r), kx, x)
					z.apply(x, kx, nil)
				} else {
					g.VMOVUPS_Z(rowAt(ps, r), k, x)
					z.apply(x, k, maskOf(r)) // lanes past the row not stored
				}
				g.VMOVUPS_Z(rowAt(pd, r), k, u)
				g.mediumY(c, x, u, reduceLo, pend, r)
				g.VMOVUPS(u, k, rowAt(pd, r))
			}
		})
		g.ADDQ(U32(mediumGroup), done)
	}
	g.CMPQ(pendDst, U32(0))
	g.JE(LabelRef("medium_stash"))
	pass3("medium_out")
	g.Label("medium_stash")
	g.Comment("This group is now pending: its biases, hi and lo, src and dst to the frame.")
	g.stashMedium(frame, pend, hilo)
	g.MOVQ(src, pendSrc)
	g.MOVQ(dst, pendDst)
	if in == inCausal {
		t := g.GP64()
		g.MOVQ(curK, t)
		g.MOVQ(t, pendK)
		g.MOVQ(curK.Offset(8), t)
		g.MOVQ(t, pendK.Offset(8))
		g.ADDQ(U32(mediumGroup), nextK)
	}
	g.nextMediumGroup(z, maskCur, pendMask, src, dst, stride, rows, "medium_group")

	g.Label("medium_drain")
	g.CMPQ(pendDst, U32(0))
	g.JE(LabelRef("medium_ret"))
	pass3("medium_outlast")

	g.Label("medium_ret")
	g.groupReturn(done)
}

// quadRow returns the address of row r (0 to 3) of four rows stride bytes
// apart from p; stride3 holds 3*stride.
func quadRow(p, stride, stride3 reg.GPVirtual, r int) Mem {
	switch r {
	case 0:
		return Mem{Base: p}
	case 1:
		return Mem{Base: p, Index: stride, Scale: 1}
	case 2:
		return Mem{Base: p, Index: stride, Scale: 2}
	}
	return Mem{Base: p, Index: stride3, Scale: 1}
}

// groupRow returns the address of row r (0 to 7) of a group of eight rows
// stride bytes apart from base, with base4 = base + 4*stride.
func groupRow(base, base4, stride, stride3 reg.GPVirtual, r int) Mem {
	if r >= 4 {
		return quadRow(base4, stride, stride3, r-4)
	}
	return quadRow(base, stride, stride3, r)
}
