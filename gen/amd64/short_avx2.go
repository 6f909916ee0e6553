package main

import (
	"fmt"
	"slices"
	"strings"

	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// The short-row Softmax kernel for AVX2: SoftmaxShortRowsAVX2 runs the rows
// of a batch of at most 16 columns eight at a time, bit for bit
// fallback.SoftmaxRows, as SoftmaxShortRowsAVX512 does (short.go) with
// ymm registers: a row is one ymm register (lanes 0-7) when cols <= 8,
// two (lanes 0-7 and 8-15) when 8 < cols <= 16, and the kernel has one
// loop for each.
//
// Why: SoftmaxRowsAVX2 runs one row at a time, and a short row is a long
// chain of dependent operations (the max and its reduction, the float64
// sum and its reduction, the division, the split of 1/S) wrapped in loop
// control for vectors the row does not have. Here the eight rows of a
// group go through each step side by side, and the horizontal steps are
// shared:
//
//   - the rows' maxima are folded together, 128-bit halves of pairs of
//     rows (VPERM2F128), then pairs of lanes and neighbours (VSHUFPS):
//     14 shuffles and 7 maxes give the eight maxima in one register;
//   - one check covers the group: every max finite with |max| <= 208
//     (then c = 0, and x - c is x), and later every S not NaN (a NaN in a
//     row with a finite max). A group that fails it is left to
//     SoftmaxRowsAVX2; nothing of a group is stored before both checks
//     have passed;
//   - each row's float64 terms are folded as the fallback's lanes are
//     (lane i += lane i+8, then i+4) in its own registers, and the last
//     two steps (i+2, i+1) are shared by pairs of rows (VPERM2F128, then
//     VUNPCKLPD and VUNPCKHPD): two registers hold the eight sums;
//   - 1/S of the eight rows is two VDIVPDs, and its hi + lo split is done
//     on four rows at once; each row's hi, lo and bias are then broadcast
//     from the frame.
//
// Lanes past the end of a row are read from the next row (or past the
// group), and replaced by -Inf for the max and by -320 for pass 2, which
// makes their s 0 (n - nm < -126 for every |max| <= 208) and their u
// finite: they add +0 to the sums. Pass 3 computes garbage in them, which
// is never stored to dst.
//
// Pass 2 keeps each row's u and s in the frame, and pass 3 reads both
// back, where it reloaded x (and recomputed z) to recompute s before
// (10% of SoftmaxShortRowsAVX2's time at 10 columns, 13% of
// ScaledSoftmaxShortRowsAVX2's). The frame, over 1 KiB, is then more
// than a NOSPLIT function may have: these kernels check the stack on
// entry as Go functions do. Pass 3 writes its rows, 64 bytes each (32
// when cols <= 8), to the same frame at 4*cols bytes apart, in row order:
// each row's lanes past cols land on the next row's place, which that
// row's store then overwrites, and never on a u not yet loaded. The
// group's 8*cols elements, cols ymm vectors, are then copied to dst in
// whole vectors. So dst is written by whole unmasked stores of exactly
// the group's elements, after every load of the group from src: dst may
// be src.
//
// The loads of a group reach 16 elements past the start of its last row;
// the kernel runs a group only if they stay within len(src). The caller
// runs a last group whose loads would not through a buffer with room
// after it.
//
// Measured on Zen 5 (ns per element, batches of 2^18 elements of N(0, 4),
// the thread's CPU time, the least of interleaved runs): 1.08 against
// 2.31 with SoftmaxRowsAVX2 alone at 10 columns, 0.69 at 16 (avx512 0.60
// and 0.40), before pass 3 read s from the frame; 0.98 and 0.61 since
// (the lower quartile of interleaved runs). A group of 9 to 16 columns
// is about 680 vector instructions, 510 of them arithmetic (780 and 590
// before), against about 360 in
// SoftmaxShortRowsAVX512's: each row is two ymm registers where it is one
// zmm, and without opmasks or broadcast operands.

// The scaled forms: ScaledSoftmaxShortRowsAVX2 (a mask of one row per
// row), ScaledSoftmaxShortRowsBcastAVX2 (one mask row for every row,
// copied to the frame with zeros after it) and
// ScaledSoftmaxShortRowsNoMaskAVX2 run ScaledSoftmaxRows's rows z
// (fused.go) in the same groups, bit for bit fallback.ScaledSoftmaxRows.
// z = fma(scale, x, m), or scale*x, is computed in pass 1 (zAt below),
// in every lane, and kept in the frame where pass 2 then keeps s: pass 2
// reads it back, where it loaded x and the mask again and computed z
// (7% of ScaledSoftmaxShortRowsAVX2's time at 10 and at 16 columns; the
// causal kernel does the same). The lanes past a row are blended to
// -Inf (pass 1) or -320 (pass 2), or not stored (pass 3), as x's are, so
// that a 0, infinite or NaN scale leaves them alone. The checks are made
// on z: a group with a row that z makes special (fully masked, or a NaN
// or infinite scale) is left to ScaledSoftmaxRowsAVX2. A mask per row is
// read as far past the group as src, within len(mask).
//
// Measured as above (the lower quartile of 300 interleaved runs), scale
// 1/8, a mask of N(0, 1/4) with one element in 8 -Inf: 1.11 ns per
// element at 10 columns with a mask per row, 1.04 with one mask row and
// 1.04 without, SoftmaxRows 1.03 (1.46, 1.43, 1.33 and 1.16 before pass
// 1 kept z and pass 2 kept s in the frame; 2.59, 2.46 and 2.32 through
// ScaledSoftmaxRowsAVX2 alone); at 16 columns 0.66, 0.64 and 0.63,
// SoftmaxRows 0.62 (0.85, 0.84, 0.78 and 0.68). Against SoftmaxRows, the
// median of each run's ratio: 1.09x, 1.04x and 1.04x at 10 and at 12
// columns, 1.07x, 1.03x and 1.03x at 16 (1.18x, 1.17x and 1.11x at 10
// columns before).

// CausalSoftmaxShortRowsAVX2 runs CausalSoftmaxRows's rows of at most 16
// columns in the same groups, bit for bit fallback.CausalSoftmaxRows:
// z = scale*x is computed in every lane, as the scaled forms do, and
// each row's lanes past its first k (clamp(offset+r+1, 0, cols)) are
// blended to -Inf (pass 1) or -320 (pass 2) under the mask of its first
// k lanes, in both halves, read from tailMask8 at an address computed
// once a group per row (causalMask) and kept in the frame. Those lanes'
// s, kept for pass 3, is then 0, and they are stored as the +0 that the
// fallback writes there. A row of k = 0 has a max of -Inf, which
// leaves its group to CausalSoftmaxRowsAVX2. Measured as in
// kernels/impl_amd64.go's causalSoftmaxRowsAVX2 (thread CPU time, scale
// 1/8, offset 0): 1.29x SoftmaxRowsAVX2 on square blocks of 10 rows,
// 1.24x of 16 rows, 1.31x on 1000 rows of 10 columns in one call
// (1.91x, 1.91x and 1.74x before, through the scaled short kernel on
// rewritten rows or CausalSoftmaxRowsAVX2).

// shortAVX2Group is the number of rows the kernel runs at once: eight rows
// make two float64 ymm of sums for two divisions, and their maxima one
// float32 ymm.
const shortAVX2Group = 8

// short256MaxPos and short256SumPos are where row r's max (a float32 lane
// of one ymm) and S (a float64 lane of two ymm, numbered 0-7) end up in the
// reduction trees below.
func short256MaxPos(r int) int { return 4*(r%2) + r/2 }
func short256SumPos(r int) int { return 4*(r/4) + []int{0, 2, 1, 3}[r%4] }

func generateShortAVX2(g *gen) {
	c := g.constTable("short256const", short256Consts())
	for _, in := range []groupIn{inX, inMaskRows, inMaskBcast, inScaled, inCausal} {
		shortRowsAVX2(g, c, short256{in: in, name: in.name256(), doc: in.doc256(), out: softmaxOut256, keepS: true})
	}
}

// short256Consts are the constants of the AVX2 short kernels.
func short256Consts() []constant {
	return slices.Concat(softmaxConsts, []constant{
		{"largeMax", largeMaxBits},
		{"negLargeMax", largeMaxBits | 0x80000000},
	})
}

// name256 is groupIn's name for the AVX2 short kernels.
func (in groupIn) name256() string { return avx2Name(in.name("Short")) }

// avx2Name returns the name of the AVX2 form of the AVX-512 kernel name.
func avx2Name(name string) string { return strings.TrimSuffix(name, "AVX512") + "AVX2" }

// doc256 returns the documentation of an AVX2 short kernel.
func (in groupIn) doc256() []string {
	name, plain := in.name256(), inX.name256()
	switch in {
	case inMaskRows:
		return []string{name + " is " + plain + " for",
			"fallback.ScaledSoftmaxRows with a mask of one row per row: it runs",
			"the rows z = fma(scale, x, m), m the row of mask, with the same",
			"checks on z and the same result; its loads of mask reach as far",
			"as those of src, and stay within len(mask). The caller checks the",
			"arguments as for " + plain + ", and rows*cols elements in mask,",
			"which does not overlap dst."}
	case inMaskBcast:
		return []string{name + " is " + inMaskRows.name256(),
			"with a mask of one row, cols elements, added to every row; it",
			"reads only those."}
	case inScaled:
		return []string{name + " is " + inMaskRows.name256(),
			"without a mask: z = scale*x."}
	case inCausal:
		return []string{name + " is " + plain + " for",
			"fallback.CausalSoftmaxRows: row r of the batch is the softmax of",
			"z = scale*x over its first k = offset+r+1 elements (clamped to",
			"[0, cols]), its other elements 0. The caller checks the arguments as",
			"for " + plain + " and clamps offset to [-rows-1, cols]; it runs a",
			"group left with CausalSoftmaxRowsAVX2."}
	}
	return []string{plain + " sets rows of cols elements of dst to the softmax",
		"of the same rows of src, with the bits of fallback.SoftmaxRows, eight",
		"rows at a time, from the first, for as long as eight rows remain whose",
		"maxima are finite, at most 208 in magnitude, whose rows hold no NaN,",
		"and whose loads, which reach 16 elements past the start of the last",
		"row, stay within len(src). It returns the number of rows done, a",
		"multiple of eight; the caller runs the next rows with",
		"SoftmaxRowsAVX2. The caller checks the arguments: rows*cols elements",
		"in each slice, 1 <= cols <= 16, and dst is src or does not overlap",
		"it. It requires AVX2 and FMA3."}
}

// A short256 is one AVX2 short kernel: its name, documentation and
// input, and out, what it does with a group whose checks have passed,
// given its sums (see group256.sums): the group's rows of y to the
// frame, row r at 4*cols*r bytes from its start; or late, an out that
// runs a group late; and ce, for the CrossEntropy kernels, their
// targets, total and frame slots (see ceOut256).
type short256 struct {
	in   groupIn
	name string
	doc  []string
	out  func(q *group256, sums [2]reg.VecVirtual)
	late lateOut
	ce   *ceOut256
	// keepS: pass 2 keeps each row's s in the frame as well (sAt), and
	// softmaxOut256's pass 3 reads it there.
	keepS bool
}

// z256 is what an AVX2 short kernel needs to compute z: scale in the
// frame, and the mask's row (inMaskBcast, in the frame, zero past cols)
// or its group's first row (inMaskRows).
type z256 struct {
	in          groupIn
	scale, mrow Mem
	mask, mask4 reg.GPVirtual // mask4: the group's fifth row of the mask
	// inCausal: the first row's k of the current group, before clamping
	// (offset+1, then up by 8 a group), and the addresses of the masks
	// of the eight rows' first k lanes (8 pointers into tailMask8).
	nextK, kmasks Mem
}

func shortRowsAVX2(g *gen, c *constTable, k short256) {
	in := k.in
	sig := in.signature()
	if k.ce != nil {
		sig = shortCESignature
	}
	g.function(k.name, sig, []string{"AVX", "AVX2", "CMOV", "FMA3", "SSE", "SSE2"}, k.doc...)
	dst, src, rows, cols, done := g.GP64(), g.GP64(), g.GP64(), g.GP64(), g.GP64()
	g.Load(g.Param("dst").Base(), dst)
	g.Load(g.Param("src").Base(), src)
	g.Load(g.Param("rows"), rows)
	g.Load(g.Param("cols"), cols)
	g.XORQ(done, done)
	if k.ce != nil {
		k.ce.tg, k.ce.total = g.ceArgs()
	}
	avail := g.GP64() // elements of src (and mask) from the group's first row on
	g.Load(g.Param("src").Len(), avail)
	if in == inMaskRows {
		n := g.GP64()
		g.Load(g.Param("mask").Len(), n)
		g.CMPQ(n, avail)
		g.CMOVQLT(n, avail)
	}
	need := g.GP64() // 7*cols + 16: what a group's loads reach
	g.LEAQ(Mem{Base: cols, Index: cols, Scale: 2}, need)
	g.LEAQ(Mem{Base: cols, Index: need, Scale: 2, Disp: 16}, need)
	stride, stride3 := g.GP64(), g.GP64()
	g.MOVQ(cols, stride)
	g.SHLQ(U8(2), stride)                                       // 4*cols, a row's bytes
	g.LEAQ(Mem{Base: stride, Index: stride, Scale: 2}, stride3) // 3 rows
	// mtab: the VMASKMOVPS-style masks of a row's first cols lanes, the
	// low half at mtab and the high half at mtab+32 (see tailMask8).
	// The causal kernel's mtab is the masks of no lanes, from which row r's
	// of its first k lanes are 4*k bytes back.
	mtab, off := g.GP64(), g.GP64()
	g.MOVQ(U32(16), off)
	if in != inCausal {
		g.SUBQ(cols, off)
	}
	g.LEAQ(g.tailMask8(), mtab)
	g.LEAQ(Mem{Base: mtab, Index: off, Scale: 4}, mtab)

	// The frame: each row's u (64 bytes; then the rows of y, 4*cols bytes
	// apart), the biases (8 int32, in the order of the max tree), and 64
	// bytes for out: hi and lo (8 float32 each, in the order of the sum
	// tree) in SoftmaxShortRowsAVX2; then what the kernel's form needs,
	// and last each row's s (64 bytes) with keepS.
	fsize := 64*shortAVX2Group + 96
	if in != inX {
		fsize += 32 // scale
	}
	if in == inMaskBcast {
		fsize += 64 // the mask's row
	}
	causalAt := fsize
	if in == inCausal {
		fsize += 72 // the rows' masks, then nextK
	}
	// CrossEntropy's l, then the losses (8 float64, in the order of the
	// sum tree).
	ceAt := fsize
	if k.ce != nil {
		fsize += 64
	}
	// A late out's pending group: its biases, and whether there is one.
	pendAt := fsize
	if k.late != nil {
		fsize += 40
	}
	sAt := 0
	if k.keepS {
		sAt = fsize
		fsize += 64 * shortAVX2Group
		// More than a NOSPLIT function may have (about 800 bytes): the
		// kernel checks the stack on entry.
		g.Attributes(0)
	}
	frame := g.AllocLocal(fsize)
	pendBias, pendFlag := frame.Offset(pendAt), frame.Offset(pendAt+32)
	if k.late != nil {
		g.MOVQ(U32(0), pendFlag)
	}
	if k.ce != nil {
		k.ce.at = frame.Offset(ceAt)
	}
	z := &z256{in: in}
	if in != inX {
		z.scale = scaleIn256(g, frame.Offset(608)).scale.(Mem)
	}
	switch in {
	case inCausal:
		z.kmasks, z.nextK = frame.Offset(causalAt), frame.Offset(causalAt+64)
		o := g.GP64()
		g.Load(g.Param("offset"), o)
		g.INCQ(o)
		g.MOVQ(o, z.nextK)
	case inMaskRows:
		z.mask = g.GP64()
		g.Load(g.Param("mask").Base(), z.mask)
	case inMaskBcast:
		// The mask's cols elements, zeros after them, copied to the
		// frame by moves that read none past them (VMASKMOVPS would
		// not either, but it faults on a page its lanes leave out under
		// some emulators).
		p := g.GP64()
		g.Load(g.Param("mask").Base(), p)
		z.mrow = frame.Offset(640)
		zero := g.YMM()
		g.VXORPS(zero, zero, zero)
		g.VMOVUPS(zero, z.mrow)
		g.VMOVUPS(zero, z.mrow.Offset(32))
		g.CMPQ(cols, U32(16))
		g.JB(LabelRef("s256_mtail"))
		for h := range 2 {
			v := g.YMM()
			g.VMOVUPS(Mem{Base: p, Disp: 32 * h}, v)
			g.VMOVUPS(v, z.mrow.Offset(32*h))
		}
		g.JMP(LabelRef("s256_mdone"))
		g.Label("s256_mtail")
		g.copyTail("s256_mcopy", z.mrow, Mem{Base: p}, cols)
		g.Label("s256_mdone")
	}

	g.CMPQ(cols, U32(8))
	g.JA(LabelRef("s256_two"))
	for _, halves := range []int{1, 2} {
		name := fmt.Sprintf("s256_%d", halves)
		if halves == 2 {
			g.Label("s256_two")
		}
		// exit is where the loop leaves: with a late out, through its
		// pending group's out.
		exit := "s256_ret"
		if k.late != nil {
			exit = name + "_drain"
		}
		regs := groupRegs{dst: dst, src: src, stride: stride, stride3: stride3, mtab: mtab, cols: cols}
		g.Label(name + "_group")
		if k.late != nil {
			skip := name + "_prepared"
			g.CMPQ(pendFlag, U32(0))
			g.JE(LabelRef(skip))
			k.late.prepare(g, frame, pendBias)
			g.Label(skip)
		}
		g.CMPQ(rows, U32(shortAVX2Group))
		g.JB(LabelRef(exit))
		g.CMPQ(avail, need)
		g.JB(LabelRef(exit))
		q := newGroup256(g, c, halves, regs, z, frame)
		q.fail = exit
		q.sOff = sAt
		q.maxima()
		sums := q.sums()
		if k.late == nil {
			k.out(q, sums)
			if k.ce == nil || k.ce.grad {
				g.Comment("The group's rows, cols vectors, from the frame to dst.")
				copyRows256(g, name+"_copy", frame, dst, cols)
			}
		} else {
			stash := name + "_stash"
			g.CMPQ(pendFlag, U32(0))
			g.JE(LabelRef(stash))
			runLateOut(k.late, name+"_out", q, halves, regs, done)
			g.Label(stash)
			g.Comment("This group is now pending: its S and biases to the frame.")
			for i, sum := range sums {
				g.VMOVUPD(sum, frame.Offset(544+32*i))
			}
			b := g.YMM()
			g.VMOVDQU(frame.Offset(512), b)
			g.VMOVDQU(b, pendBias)
			g.MOVQ(U32(1), pendFlag)
		}
		g.LEAQ(Mem{Base: src, Index: stride, Scale: 8}, src)
		g.LEAQ(Mem{Base: dst, Index: stride, Scale: 8}, dst)
		if in == inMaskRows {
			g.LEAQ(Mem{Base: z.mask, Index: stride, Scale: 8}, z.mask)
		}
		if in == inCausal {
			g.ADDQ(U32(shortAVX2Group), z.nextK)
		}
		if k.ce != nil {
			g.ADDQ(U32(4*shortAVX2Group), k.ce.tg)
		}
		if k.late == nil {
			g.ADDQ(U32(shortAVX2Group), done)
		}
		g.SUBQ(U32(shortAVX2Group), rows)
		{
			n := g.GP64()
			g.LEAQ(Mem{Base: cols, Index: cols, Scale: 1}, n)
			g.SHLQ(U8(2), n) // 8*cols
			g.SUBQ(n, avail)
		}
		g.JMP(LabelRef(name + "_group"))
		if k.late != nil {
			g.Label(exit)
			g.CMPQ(pendFlag, U32(0))
			g.JE(LabelRef("s256_ret"))
			runLateOut(k.late, name+"_last", q, halves, regs, done)
			g.JMP(LabelRef("s256_ret"))
		}
	}

	g.Label("s256_ret")
	g.groupReturn(done)
}

// copyRows256 emits the copy of a group's rows, 8*cols elements, cols ymm
// vectors, from the frame to dst.
func copyRows256(g *gen, label string, frame Mem, dst, cols reg.GPVirtual) {
	i, p := g.GP64(), g.GP64()
	g.MOVQ(cols, i)
	g.XORQ(p, p)
	g.Label(label)
	y := g.YMM()
	g.VMOVUPS(frame.Idx(p, 1), y)
	g.VMOVUPS(y, Mem{Base: dst, Index: p, Scale: 1})
	g.ADDQ(U32(32), p)
	g.DECQ(i)
	g.JNZ(LabelRef(label))
}

// A lateOut is the out of a short kernel that runs it a group late
// (LogSoftmaxShortRowsAVX2's): the group whose checks have passed is
// left pending, its sums in the frame at 544 and its biases at pendBias,
// while the next group runs its passes 1 and 2. prepare, emitted at the
// start of that group, computes from them what out needs, in the frame;
// out then writes the pending group q's rows of y to the frame, as
// short256.out does.
type lateOut interface {
	prepare(g *gen, frame, pendBias Mem)
	out(q *group256)
}

// runLateOut emits out for the pending group, the eight rows before those
// of cur, a group with halves ymm registers per row, then its copy to dst,
// and counts its rows done. src, dst (and the mask) are moved back to the
// pending group's rows for it, and forward again after it: the kernel has
// no registers to spare for the pending group's own.
func runLateOut(l lateOut, label string, cur *group256, halves int, regs groupRegs, done reg.GPVirtual) {
	g := cur.g
	g.Comment("Out of the pending group, the eight rows before this group's.")
	move := func(sub bool) {
		n := g.GP64()
		g.MOVQ(regs.stride, n)
		g.SHLQ(U8(3), n) // 8 rows' bytes
		ptrs := []reg.GPVirtual{regs.src, regs.dst}
		if cur.z.in == inMaskRows {
			ptrs = append(ptrs, cur.z.mask)
		}
		for _, p := range ptrs {
			if sub {
				g.SUBQ(n, p)
			} else {
				g.ADDQ(n, p)
			}
		}
	}
	move(true)
	l.out(newGroup256(g, cur.c, halves, regs, cur.z, cur.frame))
	copyRows256(g, label+"_copy", cur.frame, regs.dst, regs.cols)
	move(false)
	g.ADDQ(U32(shortAVX2Group), done)
}

// groupRegs are the registers a group of SoftmaxShortRowsAVX2 works from.
type groupRegs struct {
	dst, src        reg.GPVirtual
	stride, stride3 reg.GPVirtual // one row's bytes, three rows'
	mtab            reg.GPVirtual // the masks of a row's first cols lanes
	cols            reg.GPVirtual
}

// group256 emits the passes of one group of rows of halves ymm registers
// each, from src; it jumps to fail (s256_ret unless set) if the group
// fails a check.
type group256 struct {
	g        *gen
	c        *constTable
	halves   int
	a        groupRegs
	z        *z256
	frame    Mem
	src4     reg.GPVirtual // the group's fifth row
	last     int           // the half that holds the row's last lanes
	lastMask Mem           // its lanes within the row
	fail     string        // where a group that fails a check goes
	sOff     int           // where the rows' s are in the frame; 0: not kept
	zKept    bool          // pass 1 has left the rows' z there (see maxima)
	scaleReg Op            // scale in a register for zAt; nil: from the frame
	mrowReg  []Op          // inMaskBcast: the mask's row in registers for zAt
}

// newGroup256 emits the group's row addresses.
func newGroup256(g *gen, c *constTable, halves int, a groupRegs, z *z256, frame Mem) *group256 {
	q := &group256{g: g, c: c, halves: halves, a: a, z: z, frame: frame, src4: g.GP64(), fail: "s256_ret"}
	g.LEAQ(Mem{Base: a.src, Index: a.stride, Scale: 4}, q.src4)
	if z.in == inMaskRows {
		z.mask4 = g.GP64()
		g.LEAQ(Mem{Base: z.mask, Index: a.stride, Scale: 4}, z.mask4)
	}
	q.last = halves - 1
	q.lastMask = Mem{Base: a.mtab, Disp: 32 * q.last}
	return q
}

// The frame: row r's u, then its y (uAt), its bias (biasAt), and hi and lo
// of SoftmaxShortRowsAVX2 (hiAt, loAt).
func (q *group256) uAt(r, h int) Mem { return q.frame.Offset(64*r + 32*h) }
func (q *group256) biasAt(r int) Mem { return q.frame.Offset(512 + 4*short256MaxPos(r)) }
func (q *group256) hiAt(r int) Mem   { return q.frame.Offset(544 + 4*short256SumPos(r)) }
func (q *group256) loAt(r int) Mem   { return q.frame.Offset(576 + 4*short256SumPos(r)) }

// sAt is half h of row r's s in the frame, when kept (sOff != 0).
func (q *group256) sAt(r, h int) Mem { return q.frame.Offset(q.sOff + 64*r + 32*h) }

// rowAt returns half h of row r of the group at base, base4 four rows on.
func (q *group256) rowAt(base, base4 reg.GPVirtual, r, h int) Mem {
	m := groupRow(base, base4, q.a.stride, q.a.stride3, r)
	m.Disp += 32 * h
	return m
}

// zAt returns half h of row r's input: x itself, a memory operand, or z
// in a new register, computed in every lane (those past cols are never
// let through: the passes blend them away or do not store them), or,
// once pass 1 has kept it (zKept), z in the frame.
func (q *group256) zAt(r, h int) Op {
	g, z := q.g, q.z
	p := q.rowAt(q.a.src, q.src4, r, h)
	if z.in == inX {
		return p
	}
	if q.zKept {
		return q.sAt(r, h)
	}
	var sc Op = z.scale
	if q.scaleReg != nil {
		sc = q.scaleReg
	}
	v := g.YMM()
	if z.in == inScaled || z.in == inCausal {
		g.VMOVUPS(p, v)
		g.VMULPS(sc, v, v) // z = x*scale
		return v
	}
	var m Op = z.mrow.Offset(32 * h)
	if z.in == inMaskRows {
		m = q.rowAt(z.mask, z.mask4, r, h)
	}
	if q.mrowReg != nil {
		m = q.mrowReg[h]
	}
	if q.scaleReg != nil {
		g.VMOVUPS(p, v)
		g.VFMADD213PS(m, sc, v) // z = x*scale + m
		return v
	}
	x := g.YMM()
	g.VMOVUPS(p, x)
	g.VMOVUPS(m, v)
	g.VFMADD231PS(sc, x, v) // z = x*scale + m
	return v
}

// maxima emits pass 1 and the group's first check, and leaves the rows'
// biases in the frame.
func (q *group256) maxima() {
	g, c, halves, last, lastMask := q.g, q.c, q.halves, q.last, q.lastMask
	// With a place for s, z goes there for pass 2 (which then stores s
	// over it): a load where it loaded x (and the mask) and computed z.
	keep := q.sOff != 0 && q.z.in != inX
	zAt := func(r, h int) Op {
		v := q.zAt(r, h)
		if keep {
			g.VMOVUPS(v, q.sAt(r, h))
		}
		return v
	}
	if keep {
		// Pass 1 is then the only one to compute z, and does so with
		// scale, and the mask's row of inMaskBcast, in registers: z is
		// a load of x and an FMA with at most one memory operand.
		// Measured (ns per element, thread CPU time, against scale
		// from the frame): 1.058 against 1.149 with a mask per row at
		// 10 columns, 0.662 against 0.693 at 16; with one mask row,
		// 1.203 against 1.253 at 10 columns for the mask's row in
		// registers as well, the same at 16.
		sc := g.YMM()
		g.VMOVUPS(q.z.scale, sc)
		q.scaleReg = sc
		if q.z.in == inMaskBcast {
			for h := range halves {
				m := g.YMM()
				g.VMOVUPS(q.z.mrow.Offset(32*h), m)
				q.mrowReg = append(q.mrowReg, m)
			}
		}
	}
	defer func() { q.zKept, q.scaleReg, q.mrowReg = keep, nil, nil }()
	g.Comment("Pass 1: the eight rows' maxima, -Inf past cols.")
	mx := make([]reg.VecVirtual, shortAVX2Group)
	for r := range mx {
		if q.z.in == inCausal {
			q.causalMask(r)
			for h := range halves {
				mk, ni, v := q.kMask(r, h), g.YMM(), g.YMM()
				g.VMOVUPS(c.ymm("negInf"), ni)
				g.VBLENDVPS(mk, zAt(r, h), ni, v)
				if h == 0 {
					mx[r] = v
				} else {
					g.VMAXPS(v, mx[r], mx[r])
				}
			}
			continue
		}
		mk, ni := g.YMM(), g.YMM()
		g.VMOVUPS(lastMask, mk)
		g.VMOVUPS(c.ymm("negInf"), ni)
		mx[r] = g.YMM()
		g.VBLENDVPS(mk, zAt(r, last), ni, mx[r])
		if halves == 2 {
			g.VMAXPS(zAt(r, 0), mx[r], mx[r])
		}
	}
	// Rows r and r+1: their low 128-bit halves into one register, their
	// high halves into another, and the max of the two holds each row's
	// lanes i and i+4 in lane i of its half. Then pairs of lanes and
	// neighbours, as short.go's tree does: every max only ever meets
	// maxima of the same row.
	var m2 [4]reg.VecVirtual
	for i := range m2 {
		l, h := g.YMM(), g.YMM()
		g.VPERM2F128(U8(0x20), mx[2*i+1], mx[2*i], l) // [a0-3, b0-3]
		g.VPERM2F128(U8(0x31), mx[2*i+1], mx[2*i], h) // [a4-7, b4-7]
		g.VMAXPS(h, l, l)
		m2[i] = l
	}
	var m4 [2]reg.VecVirtual
	for i := range m4 {
		l, h := g.YMM(), g.YMM()
		g.VSHUFPS(U8(0x44), m2[2*i+1], m2[2*i], l) // lanes 0, 1 of each
		g.VSHUFPS(U8(0xee), m2[2*i+1], m2[2*i], h) // lanes 2, 3
		g.VMAXPS(h, l, l)
		m4[i] = l
	}
	mv := g.YMM()
	{
		h := g.YMM()
		g.VSHUFPS(U8(0x88), m4[1], m4[0], mv) // even lanes
		g.VSHUFPS(U8(0xdd), m4[1], m4[0], h)  // odd lanes
		g.VMAXPS(h, mv, mv)                   // row r's max in lane short256MaxPos(r)
	}

	g.Comment("The group's check: every max finite, |max| <= 208. Else the caller runs it.")
	{
		k1, k2 := g.YMM(), g.YMM()
		g.VCMPPS(U8(cmpLEOQ), c.ymm("largeMax"), mv, k1) // false for NaN
		g.VCMPPS(U8(cmpGEOQ), c.ymm("negLargeMax"), mv, k2)
		g.VANDPS(k2, k1, k1)
		bits := g.GP32()
		g.VMOVMSKPS(k1, bits)
		g.CMPL(bits, U32(0xff))
		g.JNE(LabelRef(q.fail))
	}
	g.Comment("bias = 127 - bits(fma(max, log2e, magic)), c = 0: to the frame.")
	{
		tm, b := g.YMM(), g.YMM()
		g.VMOVUPS(c.ymm("magic"), tm)
		g.VFMADD231PS(c.ymm("log2e"), mv, tm)
		g.VMOVDQU(c.ymm("bias127"), b)
		g.VPSUBD(tm, b, b)
		g.VMOVDQU(b, q.frame.Offset(512))
	}
}

// loadD loads row r's d = max(x, -320), -320 past cols when blend.
func (q *group256) loadD(r int, blend bool) []reg.VecVirtual {
	g, c, last, lastMask, zAt := q.g, q.c, q.last, q.lastMask, q.zAt
	d := make([]reg.VecVirtual, q.halves)
	lo := g.YMM()
	g.VMOVUPS(c.ymm("reduceLo"), lo)
	for h := range d {
		d[h] = g.YMM()
		g.VMAXPS(zAt(r, h), lo, d[h]) // NaN kept
	}
	if q.z.in == inCausal {
		// Every half: pass 3 stores the lanes past k, as +0 (s = 0).
		for h := range d {
			g.VBLENDVPS(q.kMask(r, h), d[h], lo, d[h])
		}
		return d
	}
	if blend {
		mk := g.YMM()
		g.VMOVUPS(lastMask, mk)
		g.VBLENDVPS(mk, d[last], lo, d[last])
	}
	return d
}

// causalMask emits the address of the mask of row r's first k lanes, k =
// clamp(nextK+r, 0, cols), to the frame: mtab (the masks of no lanes)
// less 4*k bytes.
func (q *group256) causalMask(r int) {
	g := q.g
	k, zero := g.GP64(), g.GP64()
	g.MOVQ(q.z.nextK, k)
	if r > 0 {
		g.ADDQ(U32(r), k)
	}
	g.XORQ(zero, zero)
	g.TESTQ(k, k)
	g.CMOVQLT(zero, k)
	g.CMPQ(k, q.a.cols)
	g.CMOVQGT(q.a.cols, k) // 0 <= k <= cols
	g.NEGQ(k)
	g.LEAQ(Mem{Base: q.a.mtab, Index: k, Scale: 4}, k)
	g.MOVQ(k, q.z.kmasks.Offset(8*r))
}

// kMask returns the mask of the lanes of half h of row r of a causal
// group within its first k, from the address causalMask left.
func (q *group256) kMask(r, h int) reg.VecVirtual {
	g := q.g
	p, mk := g.GP64(), g.YMM()
	g.MOVQ(q.z.kmasks.Offset(8*r), p)
	g.VMOVUPS(Mem{Base: p, Disp: 32 * h}, mk)
	return mk
}

// scale emits s = 2^(n - nm), or 0, from t in place, for the row's bias b.
func (q *group256) scale(ts []reg.VecVirtual, b reg.VecVirtual) {
	g, c := q.g, q.c
	for _, t := range ts {
		g.VPADDD(b, t, t)
	}
	for _, t := range ts {
		g.VPMAXSD(c.ymm("zero"), t, t)
	}
	for _, t := range ts {
		g.VPSLLD(U8(23), t, t)
	}
}

// sums emits pass 2, each row's u to the frame, and the group's second
// check, and returns the rows' S, row r's in float64 lane
// short256SumPos(r) of the two registers.
func (q *group256) sums() [2]reg.VecVirtual {
	g, c, halves, uAt, biasAt, loadD, scale := q.g, q.c, q.halves, q.uAt, q.biasAt, q.loadD, q.scale
	exp := &sm256{g: g, c: c}

	g.Comment("Pass 2: u of each row to the frame; its float64 terms folded to 4 lanes (i += i+8, i+4).")
	f := rowFold256{g: g, halves: halves}
	for r := range shortAVX2Group {
		d := loadD(r, true)
		t := exp.expU(d)
		for h := range d {
			g.VMOVUPS(d[h], uAt(r, h))
		}
		b := g.YMM()
		g.VPBROADCASTD(biasAt(r), b)
		scale(t, b)
		if q.sOff != 0 {
			for h := range t {
				g.VMOVUPS(t[h], q.sAt(r, h))
			}
		}
		// The terms u*s + s of lanes 0-3, 4-7 (and 8-11, 12-15).
		terms := make([]reg.VecVirtual, 0, 2*halves)
		for h := range d {
			for q := range 2 {
				ud, sd := g.YMM(), g.YMM()
				sx := t[h].AsX()
				if q == 1 {
					sx = g.XMM()
					g.VEXTRACTF128(U8(1), t[h], sx)
				}
				// u's upper lanes from the frame: a load, not a
				// VEXTRACTF128.
				if q == 1 {
					g.VCVTPS2PD(uAt(r, h).Offset(16), ud)
				} else {
					g.VCVTPS2PD(d[h].AsX(), ud)
				}
				g.VCVTPS2PD(sx, sd)
				g.VFMADD213PD(sd, sd, ud) // u*s + s
				terms = append(terms, ud)
			}
		}
		f.add(r, terms)
	}
	g.Comment("The sums of the eight rows: lane 0 += lane 1, four rows side by side.")
	sums := f.sums(false)
	g.Comment("A NaN S: a row with a NaN. The caller runs the group.")
	{
		n0, n1 := g.YMM(), g.YMM()
		g.VCMPPD(U8(cmpUnord), sums[0], sums[0], n0)
		g.VCMPPD(U8(cmpUnord), sums[1], sums[1], n1)
		g.VORPD(n1, n0, n0)
		g.VTESTPD(n0, n0)
		g.JNZ(LabelRef(q.fail))
	}
	return sums
}

// rowFold256 sums the float64 terms of a group's eight rows in the
// order the fallback sums a row of up to 16 elements: add takes row r's
// terms of lanes 0-3, 4-7 (and 8-11, 12-15) in registers, folds them to
// 4 lanes (i += i+8, i += i+4) and, each pair of rows as soon as both
// are in, to 2 (i += i+2, rows r-1 and r side by side); sums folds the
// pairs to row r's S in lane short256SumPos(r) - 4*i of register i.
type rowFold256 struct {
	g      *gen
	halves int
	prev   reg.VecVirtual
	s2     [4]reg.VecVirtual
}

func (f *rowFold256) add(r int, terms []reg.VecVirtual) {
	g := f.g
	if f.halves == 2 {
		g.VADDPD(terms[2], terms[0], terms[0]) // lane i += lane i+8
		g.VADDPD(terms[3], terms[1], terms[1])
	}
	g.VADDPD(terms[1], terms[0], terms[0]) // lane i += lane i+4
	if r%2 == 0 {
		f.prev = terms[0]
		return
	}
	l, h := g.YMM(), g.YMM()
	g.VPERM2F128(U8(0x20), terms[0], f.prev, l) // [a0 a1, b0 b1]
	g.VPERM2F128(U8(0x31), terms[0], f.prev, h) // [a2 a3, b2 b3]
	g.VADDPD(h, l, l)                           // lane i += lane i+2
	f.s2[r/2] = l
}

// sums emits lane 0 += lane 1 of the pairs, four rows side by side, and
// with plusZero a +0 added to each sum, which makes a -0 sum +0 (the
// fallback adds a row's terms to +0).
func (f *rowFold256) sums(plusZero bool) [2]reg.VecVirtual {
	g := f.g
	var sums [2]reg.VecVirtual
	var zero reg.VecVirtual
	if plusZero {
		zero = g.YMM()
		g.VXORPD(zero, zero, zero)
	}
	for i := range sums {
		l, h := g.YMM(), g.YMM()
		g.VUNPCKLPD(f.s2[2*i+1], f.s2[2*i], l)
		g.VUNPCKHPD(f.s2[2*i+1], f.s2[2*i], h)
		g.VADDPD(h, l, l)
		if plusZero {
			g.VADDPD(zero, l, l)
		}
		sums[i] = l
	}
	return sums
}

// softmaxOut256 is SoftmaxShortRowsAVX2's out: 1/S split into hi + lo, then
// pass 3.
func softmaxOut256(q *group256, sums [2]reg.VecVirtual) {
	g, c, halves, frame, a := q.g, q.c, q.halves, q.frame, q.a
	stride, loadD, scale, hiAt, loAt, uAt := a.stride, q.loadD, q.scale, q.hiAt, q.loAt, q.uAt
	g.Comment("1/S for every row, split into float32 hi + lo, to the frame.")
	for i, sum := range sums {
		one, inv, hi64 := g.YMM(), g.YMM(), g.YMM()
		hi, lo := g.XMM(), g.XMM()
		g.VCVTPS2PD(c.ymm("one"), one)
		g.VDIVPD(sum, one, inv)
		g.VCVTPD2PSY(inv, hi)
		g.VCVTPS2PD(hi, hi64)
		g.VSUBPD(hi64, inv, inv)
		g.VCVTPD2PSY(inv, lo)
		g.VMOVUPS(hi, frame.Offset(544+16*i))
		g.VMOVUPS(lo, frame.Offset(576+16*i))
	}

	if q.sOff != 0 {
		g.Comment("Pass 3: s from the frame; y = (hi + fma(u, hi, fma(u, lo, lo))) * s, row r to the frame at 4*cols*r.")
	} else {
		g.Comment("Pass 3: s recomputed from x; y = (hi + fma(u, hi, fma(u, lo, lo))) * s, row r to the frame at 4*cols*r.")
	}
	fb := g.GP64()
	g.LEAQ(frame, fb)
	fb4 := g.GP64()
	g.LEAQ(Mem{Base: fb, Index: stride, Scale: 4}, fb4)
	for r := range shortAVX2Group {
		ts := make([]Op, halves)
		if q.sOff != 0 {
			for h := range ts {
				ts[h] = q.sAt(r, h)
			}
		} else {
			d := loadD(r, false) // lanes past cols are never stored
			tv := make([]reg.VecVirtual, halves)
			for h := range d {
				tv[h] = g.YMM()
				g.VMOVUPS(c.ymm("magic"), tv[h])
				g.VFMADD231PS(c.ymm("log2e"), d[h], tv[h])
			}
			b := g.YMM()
			g.VPBROADCASTD(q.biasAt(r), b)
			scale(tv, b)
			for h, t := range tv {
				ts[h] = t
			}
		}
		hiv, lov := g.YMM(), g.YMM()
		g.VBROADCASTSS(hiAt(r), hiv)
		g.VBROADCASTSS(loAt(r), lov)
		us := make([]reg.VecVirtual, halves)
		for h := range us {
			us[h] = g.YMM()
			g.VMOVUPS(uAt(r, h), us[h])
		}
		for h, u := range us {
			w := g.YMM()
			g.VMOVAPS(lov, w)
			g.VFMADD213PS(lov, u, w) // w = u*lo + lo
			g.VFMADD132PS(hiv, w, u) // u = u*hi + w
			g.VADDPS(hiv, u, u)
			g.VMULPS(ts[h], u, u)
		}
		for h, u := range us {
			g.VMOVUPS(u, q.rowAt(fb, fb4, r, h))
		}
	}
}
