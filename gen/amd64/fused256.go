package main

import (
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// scaledLongAVX2 emits ScaledSoftmaxLongRowsAVX2, scaledLongAVX512's
// kernel on SoftmaxRowsAVX2's passes: each row's passes one after the
// other, z computed from x and the mask in every pass (no z in dst), u
// kept in dst by pass 2, and every row's passes 1 and 2 fused into one
// read of x and the mask on the guess that c = 0 (sm256.fused, the
// checks of sm512.fused), passes 1 and 2 after it where the guess fails.
// Pass 3 keeps its constants in registers (regOut).
//
// Thread CPU time, the lower quartile of 200 alternating runs of 1 MiB
// batches (2 rows at 128256 columns), x N(0, 4), scale 1/8, mask N(0,
// 1/4) with 1 in 8 -Inf, against SoftmaxRowsAVX2 in the same run, at
// 8192, 16384, 32000, 65536 and 128256 columns: one mask row per row
// 1.11, 1.10, 1.12, 1.13 and 1.17x against 1.17, 1.20, 1.20, 1.19 and
// 1.24x for ScaledSoftmaxRowsAVX2 (ns per element 0.635, 0.630, 0.652,
// 0.666 and 0.681 against 0.668, 0.683, 0.700, 0.704 and 0.727); one mask
// row for every row 1.10, 1.09, 1.10, 1.13 and 1.16x against 1.16, 1.17,
// 1.19, 1.18 and 1.25x. The passes one after the other without the fused
// pass measured 1.16-1.18x at 8192 to 32000 columns and 1.23x at 128256
// (ScaledSoftmaxRowsAVX2 1.18-1.26x and 1.23x in the same runs): the
// order alone gains little on AVX2. Scale in a register in pass 3
// (scaleInReg, the mask the FMA's memory operand) took 1.15-1.18x to
// 1.12-1.16x at 8192 to 128256 columns. The prefetch of the next row's
// x and mask in the fused pass, for rows of at most prefetchCols (as
// sm512.prefetch), measured 1.11-1.14x against 1.09-1.12x without it at
// 8192 to 32000 columns, in the same runs.
func scaledLongAVX2(g *gen, c *constTable) {
	g.function("ScaledSoftmaxLongRowsAVX2", scaledSignature(true),
		[]string{"AVX", "AVX2", "CMOV", "FMA3", "SSE", "SSE2"},
		"ScaledSoftmaxLongRowsAVX2 is ScaledSoftmaxLongRowsAVX512 for AVX2 and FMA3.")
	s := newSM256(g, c, "sl256")
	f := g.AllocLocal(48)
	s.z = scaleIn256(g, f)
	s.z.moff = g.GP64()
	s.hooks = maskRows(g, f.Offset(32), s.z.moff, s.rowSrc)
	s.z.step = f.Offset(40)
	s.zeroC, s.tailPipe, s.regOut = true, true, true
	s.keepU, s.fuse = true, true
	// Pass 3 of a row of more than prefetchCols elements, every row that
	// package kernels sends here, runs from the row's end to its start
	// (sm256.back, loop3.back, which gives what it measured), as
	// ScaledSoftmaxLongRowsAVX512's does: it starts on the blocks of x,
	// mask and u that the fused pass left in L2 last. minW and noPfLong
	// have nothing to add here: the fused pass checks on w already (see
	// spanUpdate), and no pass prefetches.
	s.back = true
	s.rowsKernel(func(zero reg.VecVirtual) { g.VXORPS(zero, zero, zero) }, s.softmaxOut(s.label("next")), nil)
}

// foldInt256 folds the 8 int32 lanes of a with op (VPMAXSD or VPMINUD)
// into a new 32-bit general register.
func foldInt256(g *gen, a reg.VecVirtual, op func(ops ...Op)) reg.GPVirtual {
	x, x2 := g.XMM(), g.XMM()
	g.VEXTRACTI128(U8(1), a, x)
	op(x, a.AsX(), x)
	g.VPSHUFD(U8(0x4e), x, x2)
	op(x2, x, x)
	g.VPSHUFD(U8(0xb1), x, x2)
	op(x2, x, x)
	r := g.GP32()
	g.VMOVD(x, r)
	return r
}

// fold256 folds the 8 lanes of a into the low lane of a new xmm register
// with op (VMAXPS or VMINPS), as maxOf does.
func fold256(g *gen, a reg.VecVirtual, op func(ops ...Op)) reg.VecVirtual {
	x, x2 := g.XMM(), g.XMM()
	g.VEXTRACTF128(U8(1), a, x)
	op(x, a.AsX(), x)
	g.VPERMILPS(U8(0x4e), x, x2)
	op(x2, x, x)
	g.VPERMILPS(U8(0xb1), x, x2)
	op(x2, x, x)
	return x
}

// spanUpdate emits, for the fused pass, what sm512's stage A does with
// span, on the integers w = t + bias - 1 = 126 + n - G of stage B's t
// for the reduced vector, whose halves are ts (w is the exponent field of
// s' less 1): the signed max of w, 126 + nm - G, into the 8 lanes at
// span, and its unsigned min into those at span+32, which leaves out
// every w below 0, those of the terms whose s' is 0 (see fused). bias - 1
// is at span+64. Both halves are folded into one vector first, so that
// each vector costs one update of each, in the frame for want of
// registers in pass 2's pipeline: 0.57-0.59 ns per element against
// 0.58-0.61 with an update for each half, and 0.56-0.58 with no min at
// all (the max alone), at 8192 to 128256 columns.
func (s *sm256) spanUpdate(ts []reg.VecVirtual) {
	g, f := s.g, *s.span
	w := make([]reg.VecVirtual, len(ts))
	for h, t := range ts {
		w[h] = g.YMM()
		g.VPADDD(f.Offset(64), t, w[h])
	}
	x := g.YMM()
	if len(w) == 2 {
		g.VPMAXSD(w[1], w[0], x)
		g.VPMINUD(w[1], w[0], w[0])
	} else {
		g.VMOVDQA(w[0], x)
	}
	g.VPMAXSD(f, x, x)
	g.VMOVDQU(x, f)
	g.VPMINUD(f.Offset(32), w[0], w[0])
	g.VMOVDQU(w[0], f.Offset(32))
}

// fused is sm512.fused for AVX2: the fused pass of a row at src into the
// lane accumulators at acc, with its c (0) and bias at cv and biasv; it
// jumps to done on success, and to fail where the row needs passes 1 and
// 2.
//
// Its checks are sm512's, on the integers of spanUpdate rather than on
// the max and min of z, which cost more here (a compare, a blend and a
// min for each half, in the frame). With G the n of the first vector's
// max, s'_i = 2^(n_i - G) as before, and w_i = 126 + n_i - G:
//
//   - nm = max(w) - 126 + G is the n of the row's max m (n is monotonic
//     in z), and |nm| <= 299 makes |m| < 208, so that the canonical c is
//     0 and the canonical bias 127 - bits(t_m), t_m's bits magic's plus
//     nm;
//   - the unsigned min of w leaves out the terms whose s' is 0 (w < 0);
//     max(w) - min(w) <= 126 makes n_i - nm >= -126 for every term whose
//     s' is not 0, so that its s_i = s'_i * 2^(G - nm) is not 0 either,
//     and a term whose s' is 0 has n_i - G <= -127, so that its s_i,
//     2^(n_i - nm) with nm >= G, is 0 too. G's own term (w = 126) keeps
//     nm - G <= 126: no s' overflows.
//
// sm512's other checks follow: the elements at or below reduceLo and the
// lanes past the row (n = nLo) whose s' is not 0 enter the min, and then
// fail the check on it, as nm - nLo >= 163; those whose s' is 0 are left
// out as sm512's min leaves them out. A NaN makes S' NaN, and the row is
// filled with NaN, unless a check fails first and passes 1 and 2 run.
func (s *sm256) fused(fail, done string) {
	g, c := s.g, s.c
	g.Comment("The fused pass of a long row: passes 1 and 2 in one, on the guess that c = 0.")
	g.Label(s.label("fused"))
	fr := g.AllocLocal(96 + 8) // the span's max and min, bias - 1, then G's bits
	ngm := fr.Offset(96)
	g.Comment("G: the n of the max of z over the row's first vector (-Inf past the row).")
	a := g.YMM()
	full, first := s.label("fusedfull"), s.label("fusedfirst")
	g.CMPQ(s.cols, U32(16))
	g.JAE(LabelRef(full))
	{
		m := s.masks()
		x := s.loadX(Mem{Base: s.src}, m)
		ni := g.YMM()
		g.VMOVUPS(c.ymm("negInf"), ni)
		for h := range x {
			g.VBLENDVPS(m[h], x[h], ni, x[h])
		}
		g.VMAXPS(x[1], x[0], a)
	}
	g.JMP(LabelRef(first))
	g.Label(full)
	{
		x := s.loadX(Mem{Base: s.src}, nil)
		g.VMAXPS(x[1], x[0], a)
	}
	g.Label(first)
	ax := fold256(g, a, g.VMAXPS)
	g.VMAXSS(c.scalar("reduceLo"), ax, ax)
	tg := g.XMM()
	g.VMOVSS(c.scalar("magic"), tg)
	g.VFMADD231SS(c.scalar("log2e"), ax, tg)
	{
		w := g.GP32()
		g.VMOVD(tg, w)
		g.MOVL(w, ngm)
		b, bias := g.YMM(), g.YMM()
		g.VPBROADCASTD(tg, b)
		g.VMOVDQU(c.ymm("bias127"), bias)
		g.VPSUBD(b, bias, bias)
		g.VMOVDQU(bias, s.biasv) // bias = 127 - bits(t_G)
		ones := g.YMM()
		g.VPCMPEQD(ones, ones, ones)
		g.VPADDD(ones, bias, bias)
		g.VMOVDQU(bias, fr.Offset(64)) // bias - 1
		z := g.YMM()
		g.VXORPS(z, z, z)
		g.VMOVUPS(z, s.cv)
		ni := g.YMM()
		g.VMOVUPS(c.ymm("negInf"), ni) // as an int32, below every w
		g.VMOVDQU(ni, fr)
		g.VMOVDQU(ones, fr.Offset(32)) // the greatest uint32
	}
	name := s.name
	s.name, s.noSub, s.span = name+"f", true, &fr
	s.pass2Into()
	s.name, s.noSub, s.span = name, false, nil

	g.Comment("The checks of the guess (see sm512.fused and spanUpdate).")
	mx, mn := g.YMM(), g.YMM()
	g.VMOVDQU(fr, mx)
	g.VMOVDQU(fr.Offset(32), mn)
	wmax := foldInt256(g, mx, g.VPMAXSD)
	wmin := foldInt256(g, mn, g.VPMINUD)
	nm, w := g.GP32(), g.GP32()
	g.MOVL(wmax, w)
	g.SUBL(wmin, w)
	g.CMPL(w, U32(126))
	g.JG(LabelRef(fail)) // nmin - nm < -126, for the least n of a term not 0
	g.Comment("nm = wmax - 126 + G, |nm| <= 299: then |m| < 208, and c = 0.")
	g.MOVL(ngm, nm)
	g.SUBL(U32(softmaxMagicBits+126), nm)
	g.ADDL(wmax, nm) // nm
	g.LEAL(Mem{Base: nm, Disp: 299}, w)
	g.CMPL(w, U32(2*299))
	g.JA(LabelRef(fail)) // nm + 299 outside [0, 598]
	g.Comment("The guess holds: S's accumulators times 2^(G - nm), and the row's bias.")
	e := g.GP64()
	g.MOVL(U32(1023+126), e.As32())
	g.SUBL(wmax, e.As32()) // 1023 + G - nm, in [897, 1023]
	g.SHLQ(U8(52), e)
	fx := g.XMM()
	g.VMOVQ(e, fx)
	fv := g.YMM()
	g.VBROADCASTSD(fx, fv)
	for j := 0; j < 4; j++ {
		y := g.YMM()
		g.VMULPD(s.acc.Offset(32*j), fv, y)
		g.VMOVUPD(y, s.acc.Offset(32*j))
	}
	g.Comment("bias = 127 - bits(t_m), t_m's bits magic's plus nm.")
	g.ADDL(U32(softmaxMagicBits-127), nm)
	g.NEGL(nm)
	bx, b := g.XMM(), g.YMM()
	g.VMOVD(nm, bx)
	g.VPBROADCASTD(bx, b)
	g.VMOVDQU(b, s.biasv)
	g.JMP(LabelRef(done))
}
