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
// cols ymm vectors, each loaded, computed and stored whole, as the
// batched kernels' pass 2 is over one row (dx = float32(float64(dy) -
// float64(exp(y))*sum), or float32(float64(y) * (float64(dy) - dot))).
// Every lane needs its row's sum: a table (sumIndex256) gives, for each
// quarter of 4 lanes, the indices of its rows' sums in the two registers
// of sums, as the float32 lanes of a VPERMPS from each, and in its sign
// bits which of the two to take, with VBLENDVPS. A vector costs two
// VPERMPS and a VBLENDVPS a quarter where a row of the one-row layout
// broadcast its sum once; but the exponential runs on cols vectors where
// it would run on 8 or 16 rows of one or two vectors, and the stores are
// whole vectors of exactly the group's elements, without masks or the
// frame.
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
// SoftmaxRowsAVX2 in the same run): LogSoftmaxBackwardRows 1.02 (1.01x)
// against 1.68 (1.65x) through LogSoftmaxBackwardRowsAVX2 alone at 10
// columns, 0.99 (1.26x) against 2.14 (2.73x) at 8, 1.21 (0.58x) against
// 5.89 (2.84x) at 3, 0.97 (1.41x) against 1.13 (1.64x) at 15;
// SoftmaxBackwardRows 0.59 (0.58x) against 1.03 (1.01x) at 10, 0.55
// against 1.24 at 8, 0.93 against 3.76 at 3. Pass 2 costs about the same
// per element at every cols, so at 16 columns, where the batched kernels
// have no tail, they are ahead (0.83 against 1.06, 0.43 against 0.54),
// and the caller runs those rows there (kernels/backward_amd64.go).

func generateShortBackwardAVX2(g *gen) {
	c := g.constTable("shortbackward256const", expConsts)
	for _, bk := range []backwardKernel{softmaxBackward, logSoftmaxBackward} {
		shortBackwardAVX2(g, c, bk)
	}
}

// sumIndex256 returns the address of the table of the short backward
// kernels' pass 2: for each cols 1..16, at (cols-1)*256 bytes, 16 bytes
// for each of the group's cols vectors, 8 for each quarter. Byte 2k+b of
// a quarter (b 0 or 1) is for the quarter's lane k, of row r of the
// group: the float32 lane 2*(p%4)+b of the float64 lane p =
// short256SumPos(r), plus 0x80 (negative, once VPMOVSXBD has widened it)
// if p >= 4, in the second register of sums.
func (g *gen) sumIndex256() Mem {
	return g.table("sumindex256", func() {
		for cols := 1; cols <= 16; cols++ {
			for v := 0; v < 16; v++ {
				for e := 8 * v; e < 8*v+8; e++ {
					p := 0
					if v < cols {
						p = short256SumPos(e / cols)
					}
					for b := 0; b < 2; b++ {
						x := 2*(p%4) + b
						if p >= 4 {
							x |= 0x80
						}
						g.AppendDatum(U8(x))
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
	// tbl: this cols' part of sumIndex256; end: 16 bytes a vector of the group.
	tbl, end := g.GP64(), g.GP64()
	g.MOVQ(cols, end)
	g.SHLQ(U8(8), end)
	g.LEAQ(g.sumIndex256(), tbl)
	g.LEAQ(Mem{Base: tbl, Index: end, Scale: 1, Disp: -256}, tbl)
	g.SHRQ(U8(4), end)
	var lo, hi reg.VecVirtual
	if bk.log {
		lo, hi = g.YMM(), g.YMM()
		g.VMOVUPS(c.ymm("lo"), lo)
		g.VMOVUPS(c.ymm("hi"), hi)
	}
	label := func(s string) string { return bk.prefix + "s256_" + s }

	g.CMPQ(cols, U32(8))
	g.JA(LabelRef(label("two")))
	for _, halves := range []int{1, 2} {
		name := label(fmt.Sprint(halves))
		if halves == 2 {
			g.Label(label("two"))
		}
		mk := g.YMM()
		g.VMOVUPS(Mem{Base: mtab, Disp: 32 * (halves - 1)}, mk)
		g.Label(name + "_group")
		sums := shortBackwardSums256(g, bk, halves, y, dy, stride, stride3, mk)

		g.Comment("Pass 2: the group's cols vectors, each lane with its row's sum.")
		j := g.GP64() // 16 bytes a vector: the table's; y, dy and dx at 2*j
		g.XORQ(j, j)
		g.Label(name + "_vec")
		at := func(p reg.GPVirtual, disp int) Mem { return Mem{Base: p, Index: j, Scale: 2, Disp: disp} }
		s := make([]reg.VecVirtual, 2) // the sums of quarters 0 and 1
		for h := range s {
			idx, a, b := g.YMM(), g.YMM(), g.YMM()
			g.VPMOVSXBD(Mem{Base: tbl, Index: j, Scale: 1, Disp: 8 * h}, idx)
			g.VPERMPS(sums[0], idx, a)
			g.VPERMPS(sums[1], idx, b)
			g.VBLENDVPS(idx, b, a, a) // b where the index is negative
			s[h] = a
		}
		res := make([]reg.VecVirtual, 2) // dx in float64, by quarters
		if bk.log {
			x := g.YMM()
			g.VMOVUPS(at(y, 0), x)
			g.Comment("e = exp(y), the Exp kernel's, but for a NaN's bits.")
			expAnyNaN256(g, c, lo, hi, []reg.VecVirtual{x})
			g.Comment("dx = dy - e*sum in float64.")
			xh := g.XMM()
			g.VEXTRACTF128(U8(1), x, xh)
			for h, eq := range []Op{x.AsX(), xh} {
				e := g.YMM()
				g.VCVTPS2PD(eq, e)
				g.VMULPD(s[h], e, e)
				d := g.YMM()
				g.VCVTPS2PD(at(dy, 16*h), d)
				g.VSUBPD(e, d, d)
				res[h] = d
			}
		} else {
			g.Comment("dx = y * (dy - dot) in float64.")
			for h := range res {
				d, yv := g.YMM(), g.YMM()
				g.VCVTPS2PD(at(dy, 16*h), d)
				g.VSUBPD(s[h], d, d)
				g.VCVTPS2PD(at(y, 16*h), yv)
				g.VMULPD(yv, d, d)
				res[h] = d
			}
		}
		g.Comment("Round to float32; NaN lanes get the canonical NaN.")
		v, vh := res[0], res[1].AsX()
		g.VCVTPD2PSY(v, v.AsX())
		g.VCVTPD2PSY(res[1], vh)
		g.VINSERTF128(U8(1), vh, v, v)
		m := g.YMM()
		g.VCMPPS(U8(cmpUnord), v, v, m)
		g.VBLENDVPS(m, c.ymm("nan"), v, v)
		g.VMOVUPS(v, at(dx, 0))
		g.ADDQ(U32(16), j)
		g.CMPQ(j, end)
		g.JB(LabelRef(name + "_vec"))

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
	var s2 [4]reg.VecVirtual
	var prev reg.VecVirtual
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
		if halves == 2 {
			g.VADDPD(terms[2], terms[0], terms[0]) // lane i += lane i+8
			g.VADDPD(terms[3], terms[1], terms[1])
		}
		g.VADDPD(terms[1], terms[0], terms[0]) // lane i += lane i+4
		if r%2 == 0 {
			prev = terms[0]
			continue
		}
		l, h := g.YMM(), g.YMM()
		g.VPERM2F128(U8(0x20), terms[0], prev, l) // [a0 a1, b0 b1]
		g.VPERM2F128(U8(0x31), terms[0], prev, h) // [a2 a3, b2 b3]
		g.VADDPD(h, l, l)                         // lane i += lane i+2
		s2[r/2] = l
	}
	g.Comment("The sums of the eight rows: lane 0 += lane 1, four rows side by side; +0 for a -0.")
	var sums [2]reg.VecVirtual
	zero := g.YMM()
	g.VXORPD(zero, zero, zero)
	for i := range sums {
		l, h := g.YMM(), g.YMM()
		g.VUNPCKLPD(s2[2*i+1], s2[2*i], l)
		g.VUNPCKHPD(s2[2*i+1], s2[2*i], h)
		g.VADDPD(h, l, l)
		g.VADDPD(zero, l, l)
		sums[i] = l
	}
	return sums
}
