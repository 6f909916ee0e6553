package main

import (
	"slices"

	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// The short-row LogSoftmax kernel: LogSoftmaxShortRowsAVX512 runs the rows
// of a batch of at most 16 columns eight at a time, bit for bit
// fallback.LogSoftmaxRows, each row in one zmm register. It is
// SoftmaxShortRowsAVX512 (short.go) up to the sums: the same loads (-Inf
// past cols), max tree, group check (every max finite, |max| <= 208, so
// c = +0, then every S not NaN), exponentials and sum trees. Then, for the
// eight rows at once in one float64 zmm,
//
//	l = float64(nm)*ln2 + log64(S)
//
// with log64 the fallback's logarithm in vector form, lossBatch.log64's
// operations (crossentropy.go), and nm = -bias - (0x4b400000 - 127) from
// the biases that the check leaves in the frame; and for each row, as
// LogSoftmaxRowsAVX512's pass 3 with c = +0 (x - c is x, -0 included),
//
//	y = float32(min(float64(x) - l, 0))
//
// where the VMINPD keeps a -0 (and would keep a NaN: a group with one has
// left the kernel). A group that fails a check is left to
// LogSoftmaxRowsAVX512, as are the last rows%8 rows; nothing of a group
// is stored before both checks have passed.
//
// The group's l and pass 3 run a group late. l ends a chain of some 200
// cycles (the max tree, the exponentials, the sum tree, then log64's
// division and its Horner loop of 22 dependent operations), and computed
// where its sums are ready it left the CPU waiting on that chain: 1.25 ns
// per element at 10 columns, against 0.89 with pass 3 a group late, and
// 0.65 with log64 left out. So the pending group's S and nm*ln2 wait in
// the frame, and its log64 is spread over the next group's pass 2, a step
// of one or two instructions after each of its rows (logSteps), which
// gives the chain a pass's worth of independent work around it; pass 3
// of the pending group follows that pass. Its rows are reloaded from its
// src, which no store has reached yet (in place, a group's rows are
// written only by its pass 3, after the next group's loads), all eight
// before the first store: a masked load that follows a masked store to
// the 64 bytes it spans waits for the store to retire.
//
// Measured on Zen 5 (ns per element, batches of 2^18 elements of N(0, 4),
// the thread's CPU time, the least of many runs, against
// SoftmaxShortRowsAVX512 in the same run): 0.71 against 0.59 at 10
// columns (2.9 through LogSoftmaxRowsAVX512), 0.45 against 0.39 at 16
// (1.8), 0.92 against 0.78 at 8; 1.04-1.2x SoftmaxRows from 1 to 16
// columns.

func generateShortLog(g *gen) {
	c := g.constTable("shortlogconst", slices.Concat(softmaxConsts, []constant{
		{"largeMax", largeMaxBits},
		{"negLargeMax", largeMaxBits | 0x80000000},
	}))
	t := &ceTables{g.log64Table(), g.log64VecTable()}
	shortLogAVX512(g, c, t)
}

func shortLogAVX512(g *gen, c *constTable, t *ceTables) {
	g.function("LogSoftmaxShortRowsAVX512", "func(dst, src []float32, rows, cols int) int",
		[]string{"AVX", "AVX512F", "CMOV", "FMA3", "SSE", "SSE2"},
		"LogSoftmaxShortRowsAVX512 sets rows of cols elements of dst to the",
		"log-softmax of the same rows of src, with the bits of",
		"fallback.LogSoftmaxRows, eight rows at a time, from the first, for as",
		"long as eight rows remain whose maxima are finite, at most 208 in",
		"magnitude, and whose rows hold no NaN. It returns the number of rows",
		"done, a multiple of eight; the caller runs the next rows with",
		"LogSoftmaxRowsAVX512. The caller checks the arguments: rows*cols",
		"elements in each slice, 1 <= cols <= 16, and dst is src or does not",
		"overlap it. It requires AVX-512F.",
	)
	a := g.loadGroupArgs()
	dst, src, rows, done, stride, stride3 := a.dst, a.src, a.rows, a.done, a.stride, a.stride3
	km := g.K() // a row's cols lanes
	g.KMOVW(a.kmw, km)

	negInf, reduceLo := g.ZMM(), g.ZMM()
	g.VBROADCASTSS(c.scalar("negInf"), negInf)
	g.VBROADCASTSS(c.scalar("reduceLo"), reduceLo)

	// The frame holds the current group's biases (16 int32 lanes, in the
	// order of the max tree), then the pending group's l, S and
	// float64(nm)*ln2 (8 float64 each, in the order of the sum tree). S
	// and nm*ln2 start as 1 and 0: log64 runs on them before the first
	// group is pending.
	frame := g.AllocLocal(256)
	psrc, pdst := g.GP64(), g.GP64() // the pending group's rows; pdst 0 when none
	g.XORQ(pdst, pdst)
	biasAt := func(r int) Mem { return frame.Offset(4 * shortMaxPos(r)) }
	lAt := func(r int) Mem { return frame.Offset(64 + 8*shortSumPos(r)) }
	pendS, pendNm := frame.Offset(128), frame.Offset(192)
	{
		v := g.ZMM()
		g.VBROADCASTSD(t.one(), v)
		g.VMOVUPD(v, pendS)
		g.VPXORQ(v, v, v)
		g.VMOVUPD(v, pendNm)
	}

	g.Label("shortlog_group")
	g.CMPQ(rows, U32(shortGroup))
	g.JB(LabelRef("shortlog_drain"))

	src4, dst4 := g.GP64(), g.GP64()
	g.LEAQ(Mem{Base: src, Index: stride, Scale: 4}, src4)
	g.LEAQ(Mem{Base: dst, Index: stride, Scale: 4}, dst4)
	rowAt := func(base, base4 reg.GPVirtual, r int) Mem {
		b := base
		if r >= 4 {
			b = base4
		}
		switch r % 4 {
		case 0:
			return Mem{Base: b}
		case 1:
			return Mem{Base: b, Index: stride, Scale: 1}
		case 2:
			return Mem{Base: b, Index: stride, Scale: 2}
		}
		return Mem{Base: b, Index: stride3, Scale: 1}
	}

	g.Comment("Pass 1: the eight rows, -Inf past cols, and their maxima.")
	x := make([]reg.VecVirtual, shortGroup)
	for r := range x {
		x[r] = g.ZMM()
		g.VMOVAPS(negInf, x[r])
		g.VMOVUPS(rowAt(src, src4, r), km, x[r])
	}
	fold := g.foldMax
	var m2 [4]reg.VecVirtual
	for i := range m2 {
		m2[i] = fold(x[2*i], x[2*i+1], 0x44, 0xee)
	}
	m4 := [2]reg.VecVirtual{
		fold(m2[0], m2[1], 0x88, 0xdd),
		fold(m2[2], m2[3], 0x88, 0xdd),
	}
	mv := g.ZMM()
	{
		h := g.ZMM()
		g.VUNPCKLPD(m4[1], m4[0], mv)
		g.VUNPCKHPD(m4[1], m4[0], h)
		g.VMAXPS(h, mv, mv)
		g.VPERMILPS(U8(0xb1), mv, h)
		g.VMAXPS(h, mv, mv) // row r's max in lanes shortMaxPos(r), +1
	}
	g.checkMaxima(c, mv, "shortlog_drain", frame)

	g.Comment("Pass 2: u and s of each row, its 16 float64 terms folded to 8; the pending group's l.")
	var s2 [4]reg.VecVirtual
	fold64 := g.foldSum
	var prev reg.VecVirtual
	steps := logSteps(g, t, pendS, pendNm, frame.Offset(64))
	for r := range x {
		// The pending group's l, a share of its steps after each row.
		for _, step := range steps[len(steps)*r/shortGroup : len(steps)*(r+1)/shortGroup] {
			step()
		}
		d := x[r]
		g.VMAXPS(d, reduceLo, d) // d = max(x, -320), NaN kept (c = 0)
		t := g.expU(c, d)
		g.scaleBias(c, t, biasAt(r))
		ul, uh := g.terms(d, t)
		g.VADDPD(uh, ul, ul) // lane i += lane i+8
		if r%2 == 0 {
			prev = ul
			continue
		}
		s2[r/2] = fold64(prev, ul, 0x44, 0xee) // lane i += i+4, rows r-1, r
	}
	s4 := [2]reg.VecVirtual{
		fold64(s2[0], s2[1], 0x88, 0xdd),
		fold64(s2[2], s2[3], 0x88, 0xdd),
	}
	sum := g.ZMM()
	{
		h := g.ZMM()
		g.VUNPCKLPD(s4[1], s4[0], sum)
		g.VUNPCKHPD(s4[1], s4[0], h)
		g.VADDPD(h, sum, sum) // row r's S in lane shortSumPos(r)
	}
	g.Comment("The group's second check: no S is NaN. Else the caller runs it.")
	{
		k := g.K()
		g.VCMPPD(U8(3), sum, sum, k) // unordered: NaN
		g.KORTESTW(k, k)             // (the upper 8 bits are 0)
		g.JNZ(LabelRef("shortlog_drain"))
	}

	// Pass 3 of the pending group, with the l that its steps left in the
	// frame: its rows reloaded, all eight before the first store.
	pass3 := func() {
		psrc4, pdst4 := g.GP64(), g.GP64()
		g.LEAQ(Mem{Base: psrc, Index: stride, Scale: 4}, psrc4)
		g.LEAQ(Mem{Base: pdst, Index: stride, Scale: 4}, pdst4)
		xs := make([]reg.VecVirtual, shortGroup)
		for r := range xs {
			xs[r] = g.ZMM()
			g.VMOVUPS_Z(rowAt(psrc, psrc4, r), km, xs[r])
		}
		zero := g.ZMM()
		g.VPSUBQ(zero, zero, zero) // a zeroing idiom avo knows, in AVX-512F
		for r, x := range xs {
			lo, hi, yh := g.ZMM(), g.ZMM(), g.YMM()
			g.VCVTPS2PD(x.AsY(), lo)
			g.VEXTRACTF64X4(U8(1), x, yh)
			g.VCVTPS2PD(yh, hi)
			g.VSUBPD_BCST(lAt(r), lo, lo) // x - l (x - c is x)
			g.VSUBPD_BCST(lAt(r), hi, hi)
			g.VMINPD(lo, zero, lo) // never above 0, -0 kept (see fallback.logProb)
			g.VMINPD(hi, zero, hi)
			a, b := g.YMM(), g.YMM()
			g.VCVTPD2PS(lo, a)
			g.VCVTPD2PS(hi, b)
			y := g.ZMM()
			g.VINSERTF64X4(U8(1), b, a.AsZ(), y)
			g.VMOVUPS(y, km, rowAt(pdst, pdst4, r))
		}
		g.ADDQ(U32(shortGroup), done)
	}
	g.Comment("Pass 3 of the pending group: y = float32(min(float64(x) - l, 0)), under km.")
	g.TESTQ(pdst, pdst)
	g.JZ(LabelRef("shortlog_stash"))
	pass3()
	g.Label("shortlog_stash")
	g.Comment("This group is now pending: its S and float64(nm)*ln2 to the frame, nm = -bias - (0x4b400000 - 127).")
	g.VMOVUPD(sum, pendS)
	{
		b, y, nm, base := g.ZMM(), g.YMM(), g.ZMM(), g.ZMM()
		g.VMOVDQU32(frame, b)
		g.VPMOVQD(b, y) // lanes 2j, the bias of sum lane j
		g.VCVTDQ2PD(y, nm)
		g.VBROADCASTSD(t.vec.nmBase(), base)
		g.VSUBPD(nm, base, nm) // nm, exact
		g.VMULPD_BCST(t.ln2(), nm, nm)
		g.VMOVUPD(nm, pendNm)
	}
	g.MOVQ(src, psrc)
	g.MOVQ(dst, pdst)
	g.MOVQ(src4, src)
	g.MOVQ(dst4, dst)
	g.LEAQ(Mem{Base: src, Index: stride, Scale: 4}, src)
	g.LEAQ(Mem{Base: dst, Index: stride, Scale: 4}, dst)
	g.SUBQ(U32(shortGroup), rows)
	g.JMP(LabelRef("shortlog_group"))

	g.Label("shortlog_drain")
	g.TESTQ(pdst, pdst)
	g.JZ(LabelRef("shortlog_ret"))
	for _, step := range logSteps(g, t, pendS, pendNm, frame.Offset(64)) {
		step()
	}
	pass3()

	g.Label("shortlog_ret")
	g.Store(done, g.ReturnIndex(0))
	g.VZEROUPPER()
	g.RET()
}

// logSteps returns the steps that compute l = nm*ln2 + log64(S) for the
// eight float64 lanes of S at s, with nm*ln2 at nm, and store it at l:
// lossBatch.log64's operations (crossentropy.go), each step one or two
// instructions, for the short kernel to spread among the work of its
// next group.
func logSteps(g *gen, t *ceTables, s, nm, l Mem) []func() {
	sv, e, f, k := g.ZMM(), g.ZMM(), g.ZMM(), g.K()
	num, den, z, w, p := g.ZMM(), g.ZMM(), g.ZMM(), g.ZMM(), g.ZMM()
	steps := []func(){
		func() { g.VMOVUPD(s, sv) },
		func() { g.VPSRLQ(U8(52), sv, e) }, // e + 1023 (s > 0)
		func() {
			g.VPANDQ_BCST(t.vec.mant(), sv, f)
			g.VPORQ_BCST(t.one(), f, f) // f in [1, 2)
		},
		func() { g.VCMPPD_BCST(U8(cmpGTOQ), t.sqrt2(), f, k) },
		func() {
			g.VPXORQ_BCST(t.vec.bit52(), f, k, f) // f > sqrt2: f *= 0.5
			g.VPADDQ_BCST(t.vec.int1(), e, k, e)  // and e++
		},
		func() {
			g.VSUBPD_BCST(t.one(), f, num) // f - 1
			g.VADDPD_BCST(t.one(), f, den) // f + 1
		},
		func() { g.VDIVPD(den, num, z) }, // z = (f-1)/(f+1)
		func() {
			g.VMULPD(z, z, w)
			g.VBROADCASTSD(t.c(0), p)
		},
	}
	for i := 1; i < len(logC); i++ {
		steps = append(steps, func() {
			g.VMULPD(w, p, p)           // p*w
			g.VADDPD_BCST(t.c(i), p, p) // + logC[i]
		})
	}
	steps = append(steps,
		func() {
			g.VMULPD(z, p, p) // r = z*p
			g.VADDPD(p, p, p) // r + r
		},
		func() {
			g.VPADDQ_BCST(t.vec.magicE(), e, e)
			g.VSUBPD_BCST(t.vec.magic(), e, e) // float64(e), exact
		},
		func() {
			g.VMULPD_BCST(t.ln2(), e, e)
			g.VADDPD(p, e, e) // e*ln2 + (r + r)
		},
		func() {
			g.VADDPD(nm, e, e) // l = nm*ln2 + log64(S)
			g.VMOVUPD(e, l)
		},
	)
	return steps
}
