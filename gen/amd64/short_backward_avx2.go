package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// The short-row backward kernels for AVX2: SoftmaxBackwardShortRowsAVX2
// and LogSoftmaxBackwardShortRowsAVX2 run the rows of a batch of at most
// 16 columns eight at a time, bit for bit fallback.SoftmaxBackwardRows
// and fallback.LogSoftmaxBackwardRows, as the AVX-512 ones do
// (short_backward.go). The batched AVX2 kernels (backward.go) run such a
// row one at a time, through their tail: the row copied to the stack,
// masked loads and stores, and a horizontal reduction of its own.
//
// Pass 1 is SoftmaxShortRowsAVX2's sum tree (short_avx2.go): a row is one
// ymm register of float32 lanes when cols <= 8, two when 8 < cols <= 16,
// loaded from the row's start; its lanes past cols (the next row's, or
// past the group) are cleared with the mask of its first cols lanes
// (tailMask8), so they add +0 as in the fallback; its float64 terms are
// folded in its own registers (lane i += lane i+8, i+4), then by pairs of
// rows (i+2) and fours (i+1), which leaves the eight sums in two
// registers, row r's in float64 lane short256SumPos(r). The fallback adds
// each term to +0 and never has a -0 sum; the tree here adds the terms
// themselves, so a row of -0s would sum to -0: one addition of +0 to the
// sums makes it +0, and changes no other sum.
//
// Pass 2 runs over the group's 8*cols elements as they lie in memory:
// cols ymm vectors, two at a time, each loaded, computed and stored whole,
// as the batched kernels' pass 2 is over one row (dx = float32(float64(dy)
// - float64(exp(y))*sum), or float32(float64(y) * (float64(dy) - dot))).
// Every lane needs its row's sum. The eight sums go to the frame in row
// order; a quarter of 4 lanes spans at most two rows r0, r0+1 when cols
// >= 2, so VBROADCASTF128 loads their two sums into both 128-bit halves
// and VPERMILPD, under a control from a table (sumCtl256, which holds
// r0's offset as well), picks each lane's; with cols = 1 a quarter's sums
// are those of four rows in order, a load from the frame. So a vector
// costs two VPERMILPDs where a row of the one-row layout broadcast its
// sum once, but the exponential runs on cols vectors where it would run
// on 8 or 16 rows of one or two vectors, and the stores are whole vectors
// of exactly the group's elements, without masks.
//
// Pass 1's loads reach 16 elements past the start of the group's last
// row; the caller runs the kernel only on groups for which that stays
// within len(y) and len(dy), and a last group for which it would not
// through a buffer with room after it. Every load of a group's pass 2
// reads the elements its store then writes, before it, so dx may be y or
// dy.
//
// Measured on Zen 5 (ns per element, batches of 2^18 elements, the
// thread's CPU time, the lower quartile of 150 runs, against
// SoftmaxRowsAVX2 in the same run, two runs):
// LogSoftmaxBackwardRows 0.89-0.94 (0.80x-0.81x) against 2.38-2.54
// (2.07x-2.20x) through LogSoftmaxBackwardRowsAVX2 alone at 10 columns,
// 0.90-0.92 (0.93x-0.96x) against 2.77-2.85 (2.95x-3.06x) at 8, 1.22
// (0.46x-0.48x) against 7.3-7.7 (2.81x) at 3, 0.84-0.89 (1.08x-1.10x)
// against 1.45-1.56 (1.84x-1.99x) at 15, 0.85-0.86 (1.17x-1.18x) against
// 0.88-0.89 (1.23x-1.24x) at 16; SoftmaxBackwardRows 0.51-0.54
// (0.46x-0.47x) against 1.56-1.79 (1.36x-1.55x) at 10, 0.51-0.53 against
// 1.79-1.85 at 8, 0.41-0.43 against 0.51 at 16. Before pass 2 ran two
// vectors at a time (LogSoftmaxBackwardRows): 1.06 against 0.94 at 10
// columns, 1.04-1.05 against 0.92-0.94 at 8; at 16 columns the kernel
// was behind the batched one (0.90-0.99 against 0.83-0.92), and is ahead
// since (0.82-0.85 against 0.87-0.90). Before the sums were picked by
// VPERMILPD, where two VPERMPS and a VBLENDVPS a quarter picked them from
// the registers of sums: 1.02 against 0.95 at 10 columns
// (LogSoftmaxBackwardRows), 0.58 against 0.49 (SoftmaxBackwardRows),
// 0.95 against 0.90 and 0.48 against 0.39 at 15.

func generateShortBackwardAVX2(g *gen) {
	c := g.constTable("shortbackward256const", expConsts)
	for _, bk := range []backwardKernel{softmaxBackward, logSoftmaxBackward} {
		shortBackwardAVX2(g, c, bk)
	}
}

// sumCtl256 returns the address of the table of the short backward
// kernels' pass 2 for rows of 2 to 16 columns: for each cols, at
// (cols-1)*1024 bytes, 64 bytes for each of the group's cols vectors, 32
// for each quarter. The quarter's first row is r0 (the group's eight
// sums are in the frame in row order), and its lanes are of rows r0 and
// r0+1 (a quarter spans at most two rows when cols >= 2); quadword k is
// VPERMILPD's control for lane k, 2 for row r0+1 and 0 for r0, plus
// 8*r0 << 8, the offset of r0's sum, which the kernel reads from byte 1 of
// the first quadword (VPERMILPD reads bit 1 alone). The part of cols 1,
// which the kernels do not read, is zeros.
func (g *gen) sumCtl256() Mem {
	return g.table("sumctl256", func() {
		for cols := 1; cols <= 16; cols++ {
			for v := 0; v < 16; v++ {
				for q := 8 * v; q < 8*v+8; q += 4 {
					r0 := q / cols
					for e := q; e < q+4; e++ {
						var x uint64
						if cols >= 2 && v < cols {
							x = uint64(8*r0) << 8
							if r := e / cols; r == r0+1 {
								x |= 2
							} else if r != r0 {
								panic("a quarter of three rows")
							}
						}
						g.AppendDatum(U64(x))
					}
				}
			}
		}
	})
}

func shortBackwardAVX2(g *gen, c *constTable, bk backwardKernel) {
	fn := bk.name + "ShortRowsAVX2"
	g.function(fn, backwardRowsSignature, []string{"AVX", "AVX2", "FMA3"},
		fmt.Sprintf("%s applies %s to each of the rows rows", fn, bk.name),
		fmt.Sprintf("of cols elements, with the bits of fallback.%sRows. The caller", bk.name),
		"checks the arguments: rows*cols elements in each slice, rows a positive",
		"multiple of 8, 1 <= cols <= 16, and (rows-1)*cols+16 <= len(y), len(dy):",
		"the kernel reads up to 16 elements from the start of the last row. dx may",
		"be y or dy; any other overlap gives unspecified results. It requires",
		"AVX2 and FMA3.",
	)
	dx, y, dy, rows, cols := g.backwardRowsArgs()
	stride, stride3 := g.GP64(), g.GP64()
	g.MOVQ(cols, stride)
	g.SHLQ(U8(2), stride)                                       // 4*cols, a row's bytes
	g.LEAQ(Mem{Base: stride, Index: stride, Scale: 2}, stride3) // 3 rows
	// mtab: the masks of a row's first cols lanes, the low half at mtab and
	// the high half at mtab+32 (see tailMask8).
	mtab, off := g.GP64(), g.GP64()
	g.MOVQ(U32(16), off)
	g.SUBQ(cols, off)
	g.LEAQ(g.tailMask8(), mtab)
	g.LEAQ(Mem{Base: mtab, Index: off, Scale: 4}, mtab)
	// tbl: this cols' part of sumCtl256; end: 16 bytes a vector of the group.
	tbl, end := g.GP64(), g.GP64()
	g.MOVQ(cols, end)
	g.SHLQ(U8(10), end)
	g.LEAQ(g.sumCtl256(), tbl)
	g.LEAQ(Mem{Base: tbl, Index: end, Scale: 1, Disp: -1024}, tbl)
	g.SHRQ(U8(6), end)
	// The group's eight sums in row order, and 16 bytes that a quarter of
	// the last row loads after them.
	frame := g.AllocLocal(80)
	var lo, hi reg.VecVirtual
	if bk.log {
		lo, hi = g.YMM(), g.YMM()
		g.VMOVUPS(c.ymm("lo"), lo)
		g.VMOVUPS(c.ymm("hi"), hi)
	}
	label := func(s string) string { return bk.prefix + "s256_" + s }

	// Three loops: cols 1 (each quarter four rows, whose sums are a
	// quarter of the frame), 2..8 (one ymm register a row), 9..16 (two).
	g.CMPQ(cols, U32(8))
	g.JA(LabelRef(label("2")))
	g.CMPQ(cols, U32(1))
	g.JA(LabelRef(label("1")))
	for _, lp := range []struct {
		name   string
		halves int
		one    bool // cols 1
	}{{label("one"), 1, true}, {label("1"), 1, false}, {label("2"), 2, false}} {
		name, halves := lp.name, lp.halves
		g.Label(name)
		mk := g.YMM()
		g.VMOVUPS(Mem{Base: mtab, Disp: 32 * (halves - 1)}, mk)
		g.Label(name + "_group")
		sums := shortBackwardSums256(g, bk, halves, y, dy, stride, stride3, mk)
		g.Comment("The sums to the frame in row order.")
		for i, sum := range sums {
			g.VPERMPD(U8(0xd8), sum, sum) // rows 4i, 4i+2, 4i+1, 4i+3 to 4i..4i+3
			g.VMOVUPD(sum, frame.Offset(32*i))
		}

		g.Comment("Pass 2: the group's cols vectors, each lane with its row's sum.")
		j := g.GP64() // 16 bytes a vector: y, dy and dx at 2*j, the table at 4*j
		g.XORQ(j, j)
		// vecs emits u vectors at j.
		vecs := func(u int) {
			at := func(p reg.GPVirtual, k, disp int) Mem {
				return Mem{Base: p, Index: j, Scale: 2, Disp: 32*k + disp}
			}
			// s[2k+h]: the sums of quarter h of vector k.
			s := make([]reg.VecVirtual, 2*u)
			for i := range s {
				s[i] = g.YMM()
				k, h := i/2, i%2
				if lp.one {
					g.VMOVUPD(frame.Offset(32*h), s[i]) // rows 4h..4h+3
					continue
				}
				ctl, off := Mem{Base: tbl, Index: j, Scale: 4, Disp: 64*k + 32*h}, g.GP64()
				g.MOVBQZX(ctl.Offset(1), off)
				m := frame
				m.Index, m.Scale = off, 1
				g.VBROADCASTF128(m, s[i]) // the sums of rows r0, r0+1, twice
				g.VPERMILPD(ctl, s[i], s[i])
			}
			res := make([]reg.VecVirtual, 2*u) // dx in float64, by quarters
			if bk.log {
				x := make([]reg.VecVirtual, u)
				for k := range x {
					x[k] = g.YMM()
					g.VMOVUPS(at(y, k, 0), x[k])
				}
				g.Comment("e = exp(y), the Exp kernel's, but for a NaN's bits.")
				expAnyNaN256(g, c, lo, hi, x)
				g.Comment("dx = dy - e*sum in float64.")
				for k := range x {
					xh := g.XMM()
					g.VEXTRACTF128(U8(1), x[k], xh)
					for h, eq := range []Op{x[k].AsX(), xh} {
						e := g.YMM()
						g.VCVTPS2PD(eq, e)
						g.VMULPD(s[2*k+h], e, e)
						d := g.YMM()
						g.VCVTPS2PD(at(dy, k, 16*h), d)
						g.VSUBPD(e, d, d)
						res[2*k+h] = d
					}
				}
			} else {
				g.Comment("dx = y * (dy - dot) in float64.")
				for i := range res {
					k, h := i/2, i%2
					d, yv := g.YMM(), g.YMM()
					g.VCVTPS2PD(at(dy, k, 16*h), d)
					g.VSUBPD(s[i], d, d)
					g.VCVTPS2PD(at(y, k, 16*h), yv)
					g.VMULPD(yv, d, d)
					res[i] = d
				}
			}
			g.Comment("Round to float32; NaN lanes get the canonical NaN.")
			for k := range u {
				v, vh := res[2*k], res[2*k+1].AsX()
				g.VCVTPD2PSY(v, v.AsX())
				g.VCVTPD2PSY(res[2*k+1], vh)
				g.VINSERTF128(U8(1), vh, v, v)
				m := g.YMM()
				g.VCMPPS(U8(cmpUnord), v, v, m)
				g.VBLENDVPS(m, c.ymm("nan"), v, v)
				g.VMOVUPS(v, at(dx, k, 0))
			}
		}
		g.Comment("Two vectors at a time, then the last one.")
		g.Label(name + "_vec2")
		t := g.GP64()
		g.LEAQ(Mem{Base: j, Disp: 32}, t)
		g.CMPQ(t, end)
		g.JA(LabelRef(name + "_vec1"))
		vecs(2)
		g.ADDQ(U32(32), j)
		g.JMP(LabelRef(name + "_vec2"))
		g.Label(name + "_vec1")
		g.CMPQ(j, end)
		g.JAE(LabelRef(name + "_next"))
		vecs(1)
		g.Label(name + "_next")

		for _, p := range []reg.GPVirtual{y, dy, dx} {
			g.LEAQ(Mem{Base: p, Index: stride, Scale: 8}, p)
		}
		g.SUBQ(U32(shortAVX2Group), rows)
		g.JNZ(LabelRef(name + "_group"))
		if halves == 1 {
			g.JMP(LabelRef(label("ret")))
		}
	}
	g.Label(label("ret"))
	g.VZEROUPPER()
	g.RET()
}

// shortBackwardSums256 emits pass 1 of a group of the short backward
// kernels, rows of halves ymm registers at y and dy, stride bytes apart
// (stride3: three rows'), the last register of each masked by mk, and
// returns the eight rows' sums, row r's in float64 lane short256SumPos(r)
// of the two registers.
func shortBackwardSums256(g *gen, bk backwardKernel, halves int, y, dy, stride, stride3 reg.GPVirtual, mk reg.VecVirtual) [2]reg.VecVirtual {
	g.Comment("Pass 1: each row's float64 terms, folded to 4 lanes (i += i+8, i+4).")
	y4, dy4 := g.GP64(), g.GP64()
	g.LEAQ(Mem{Base: dy, Index: stride, Scale: 4}, dy4)
	if !bk.log {
		g.LEAQ(Mem{Base: y, Index: stride, Scale: 4}, y4)
	}
	// quarters returns the float64s of the four quarters of half h of row
	// r at base (base4 four rows on), the last half masked.
	quarters := func(base, base4 reg.GPVirtual, r, h int) []reg.VecVirtual {
		p := groupRow(base, base4, stride, stride3, r)
		p.Disp += 32 * h
		q := []reg.VecVirtual{g.YMM(), g.YMM()}
		if h < halves-1 {
			g.VCVTPS2PD(p, q[0])
			g.VCVTPS2PD(p.Offset(16), q[1])
			return q
		}
		v, vh := g.YMM(), g.XMM()
		g.VANDPS(p, mk, v) // +0 past cols
		g.VEXTRACTF128(U8(1), v, vh)
		g.VCVTPS2PD(v.AsX(), q[0])
		g.VCVTPS2PD(vh, q[1])
		return q
	}
	f := rowFold256{g: g, halves: halves}
	for r := range shortAVX2Group {
		var terms []reg.VecVirtual // lanes 0-3, 4-7 (and 8-11, 12-15)
		for h := range halves {
			q := quarters(dy, dy4, r, h)
			if !bk.log {
				for k, yq := range quarters(y, y4, r, h) {
					g.VMULPD(yq, q[k], q[k]) // exact
				}
			}
			terms = append(terms, q...)
		}
		f.add(r, terms)
	}
	g.Comment("The sums of the eight rows: lane 0 += lane 1, four rows side by side; +0 for a -0.")
	return f.sums(true)
}
