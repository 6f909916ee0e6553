package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// The short-row backward kernels: SoftmaxBackwardShortRowsAVX512 and
// LogSoftmaxBackwardShortRowsAVX512 run the rows of a batch of at most 16
// columns eight at a time, bit for bit fallback.SoftmaxBackwardRows and
// fallback.LogSoftmaxBackwardRows.
//
// A row of at most 16 elements is one vector, one block of pass 1 (see
// backward.go): its float64 lane sums are the terms themselves, so the
// row's sum is the fallback's reduction of 16 float64 lanes (lane i +=
// lane i+8, i+4, i+2, i+1). Where the batched kernel reduces each row on
// its own (7 dependent shuffles and additions, then a broadcast), the
// group shares the steps:
//
//   - lane i += lane i+8: one addition per row, of its two halves;
//   - lane i += lane i+4: rows r and r+1 side by side, their lanes 0-3 in
//     one register and 4-7 in another (two VSHUFF64X2), one addition;
//   - lane i += lane i+2: the same for two such pairs, by 128-bit blocks;
//   - lane i += lane i+1: VUNPCKLPD and VUNPCKHPD of the two registers of
//     four rows, one addition, which leaves the eight sums in one register,
//     in the order of rows 0, 4, 1, 5, 2, 6, 3, 7.
//
// The sums go to the frame, and pass 2 broadcasts each row's from there.
// Pass 2 is the batched kernel's (bw512.out), one row at a time under the
// row's mask. It runs a group late: the loop does pass 1 of group g+1,
// then pass 2 of group g, whose sums wait in the other half of the frame,
// so that the chain of one group (loads, sums, reduction, then pass 2)
// overlaps the next group's. Pass 1 reads a group before pass 2 stores
// any of it, and pass 2 reads a row before it stores it, so dx may be y
// or dy.
//
// The caller passes a multiple of 8 rows and 1 <= cols <= 16, and runs
// the last rows%8 rows through the batched kernel.
//
// Measured on Zen 5 (ns per element, batches of 2^18 elements, the
// thread's CPU time, the least of 40 interleaved runs, against the
// batched kernels in the same run): SoftmaxBackward 0.85 against 1.47 at
// 4 columns, 0.34 against 0.65 at 10, 0.22 against 0.30 at 16 (without
// running pass 2 a group late: 1.06, 0.42, 0.26); LogSoftmaxBackward 2.0
// against 2.3, 0.78 against 0.99, 0.49 against 0.50, the same either way:
// there the exponential of each row's vector, 16 lanes for at most 16
// elements, is most of the work.

func shortBackwardAVX512(g *gen, c *constTable, bk backwardKernel) {
	fn := bk.name + "ShortRowsAVX512"
	g.function(fn, backwardRowsSignature, []string{"AVX", "AVX512F", "CMOV"},
		fmt.Sprintf("%s applies %s to each of the rows rows", fn, bk.name),
		fmt.Sprintf("of cols elements, with the bits of fallback.%sRows. The caller", bk.name),
		"checks the arguments: rows*cols elements in each slice, rows a positive",
		"multiple of 8 and 1 <= cols <= 16; dx may be y or dy; any other overlap",
		"gives unspecified results. It requires AVX-512F.",
	)
	b := newBw512(g, c, bk)
	sums := g.AllocLocal(128) // two groups' eight sums
	dx, y, dy, rows, cols := g.backwardRowsArgs()

	g.Comment("The mask of a row's lanes: 2*m+1, m the mask of cols-1 lanes.")
	t, tbl := g.GP64(), g.GP64()
	g.MOVQ(cols, t)
	g.DECQ(t)
	g.LEAQ(g.tailMask16(), tbl)
	g.MOVWQZX(Mem{Base: tbl, Index: t, Scale: 2}, t)
	g.LEAQ(Mem{Base: t, Index: t, Scale: 1, Disp: 1}, t)
	b.km = []reg.Register{g.K(), g.K()}
	g.KMOVW(t.As32(), b.km[0])
	g.KSHIFTRW(U8(8), b.km[0], b.km[1])
	stride := g.GP64()
	g.MOVQ(cols, stride)
	g.SHLQ(U8(2), stride) // bytes per row

	// wr and rd are the offsets in sums that pass 1 writes and pass 2
	// reads: 0 and 64 in turn.
	wr, rd := g.GP64(), g.GP64()
	g.XORQ(wr, wr)
	p, q := g.GP64(), g.GP64() // pass 1's pointers, a group ahead of pass 2's
	if bk.log {
		g.MOVQ(dy, p)
	} else {
		g.MOVQ(y, p)
		g.MOVQ(dy, q)
	}
	slot := func(off reg.GPVirtual, disp int) Mem {
		m := sums.Offset(disp)
		m.Index, m.Scale = off, 1
		return m
	}

	pass1 := func() {
		g.Comment("Pass 1: each row's float64 terms, lanes 0-7 plus lanes 8-15.")
		row := func() reg.VecVirtual {
			part := []reg.VecVirtual{g.ZMM(), g.ZMM()}
			for _, v := range part {
				g.VPSUBQ(v, v, v) // a zeroing idiom avo knows: no live-in
			}
			b.addTerms(Mem{Base: p}, Mem{Base: q}, true, part)
			g.VADDPD(part[1], part[0], part[0]) // lane i += lane i+8
			g.ADDQ(stride, p)
			if !bk.log {
				g.ADDQ(stride, q)
			}
			return part[0]
		}
		// Each step as soon as its operands are there, which keeps few
		// registers live beside the exponential's constants.
		pair := func() reg.VecVirtual {
			r, s := row(), row()
			g.Comment("Lane i += lane i+4, two rows a register: lanes 0-3 of r, r+1.")
			lo, hi := g.ZMM(), g.ZMM()
			g.VSHUFF64X2(U8(0x44), s, r, lo) // lanes 0-3 of r, then of s
			g.VSHUFF64X2(U8(0xee), s, r, hi) // lanes 4-7 of r, then of s
			g.VADDPD(hi, lo, lo)
			return lo
		}
		quad := func() reg.VecVirtual {
			a, d := pair(), pair()
			g.Comment("Lane i += lane i+2, four rows a register: lanes 0-1 of each.")
			lo, hi := g.ZMM(), g.ZMM()
			g.VSHUFF64X2(U8(0x88), d, a, lo) // blocks 0, 2 of a, then of d
			g.VSHUFF64X2(U8(0xdd), d, a, hi) // blocks 1, 3 of a, then of d
			g.VADDPD(hi, lo, lo)
			return lo
		}
		quads := []reg.VecVirtual{quad(), quad()} // rows 0-3, 4-7
		g.Comment("Lane 0 += lane 1: the sums of rows 0, 4, 1, 5, 2, 6, 3, 7.")
		l, h := g.ZMM(), g.ZMM()
		g.VUNPCKLPD(quads[1], quads[0], l)
		g.VUNPCKHPD(quads[1], quads[0], h)
		g.VADDPD(h, l, l)
		g.VMOVUPD(l, slot(wr, 0))
		g.MOVQ(wr, rd)
		g.XORQ(U32(64), wr)
	}
	pass2 := func(from reg.GPVirtual) {
		g.Comment("Pass 2: dx, a row at a time.")
		for r := 0; r < shortGroup; r++ {
			at := 2 * r
			if r >= shortGroup/2 {
				at = 2*(r-shortGroup/2) + 1
			}
			b.s = g.ZMM()
			g.VBROADCASTSD(slot(from, 8*at), b.s)
			b.out(Mem{Base: y}, Mem{Base: dy}, Mem{Base: dx}, 1, true)
			for _, ptr := range []reg.GPVirtual{y, dy, dx} {
				g.ADDQ(stride, ptr)
			}
		}
	}

	pass1()
	g.Label("group")
	g.SUBQ(U32(shortGroup), rows)
	g.JZ(LabelRef("last"))
	g.Comment("Pass 1 of the next group, then pass 2 of this one: their chains")
	g.Comment("overlap.")
	prev := g.GP64()
	g.MOVQ(rd, prev)
	pass1()
	pass2(prev)
	g.JMP(LabelRef("group"))
	g.Label("last")
	pass2(rd)
	g.VZEROUPPER()
	g.RET()
}
