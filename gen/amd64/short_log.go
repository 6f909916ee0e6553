package main

import (
	"slices"

	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// The short-row LogSoftmax kernel: LogSoftmaxShortRowsAVX512 runs the rows
// of a batch of at most 16 columns eight at a time, bit for bit
// fallback.LogSoftmaxRows, with each row in one zmm register from its load
// to its store. It is SoftmaxShortRowsAVX512 (short.go) up to the sums:
// the same loads (-Inf past cols), max tree, group check (every max
// finite, |max| <= 208, so c = 0, then every S not NaN), exponentials and
// sum trees. Then, for the eight rows at once in one float64 zmm,
//
//	l = float64(nm)*ln2 + log64(S)
//
// with log64 the fallback's logarithm in vector form (lossBatch.log64,
// crossentropy.go) and nm = -bias - (0x4b400000 - 127) from the biases
// that the check leaves in the frame; and for each row, as
// LogSoftmaxRowsAVX512's pass 3 with c = +0 (x - c is x, -0 included),
//
//	y = float32(min(float64(x) - l, 0))
//
// where the VMINPD keeps a -0 (and would keep a NaN: a group with one has
// left the kernel). x stays in its register from the load: pass 2 works
// on a copy. A group that fails a check is left to LogSoftmaxRowsAVX512,
// as are the last rows%8 rows; nothing of a group is stored before both
// checks have passed, and its rows are all read before any is written, so
// dst may be src.
//
// Measured on Zen 5 (ns per element, batches of 2^18 elements of N(0, 4),
// the thread's CPU time, the least of many runs): 1.25 against 2.9
// through LogSoftmaxRowsAVX512 at 10 columns, 0.75 against 1.8 at 16.

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

	// The frame holds the group's biases (16 int32 lanes, in the order of
	// the max tree), then its l (8 float64, in the order of the sum tree).
	frame := g.AllocLocal(128)
	biasAt := func(r int) Mem { return frame.Offset(4 * shortMaxPos(r)) }
	lAt := func(r int) Mem { return frame.Offset(64 + 8*shortSumPos(r)) }

	g.Label("shortlog_group")
	g.CMPQ(rows, U32(shortGroup))
	g.JB(LabelRef("shortlog_ret"))

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
	g.checkMaxima(c, mv, "shortlog_ret", frame)

	g.Comment("Pass 2: the sums, on copies of the rows: d = max(x, -320), its 16 float64 terms folded to 8.")
	var s2 [4]reg.VecVirtual
	fold64 := g.foldSum
	var prev reg.VecVirtual
	for r := range x {
		d := g.ZMM()
		g.VMAXPS(x[r], reduceLo, d) // d = max(x, -320) (c = 0)
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
		g.JNZ(LabelRef("shortlog_ret"))
	}

	g.Comment("l = float64(nm)*ln2 + log64(S) for the eight rows, nm = -bias - (0x4b400000 - 127).")
	lb := &lossBatch{g: g, t: t, wide: true}
	ln := lb.log64(sum)
	{
		b, y := g.ZMM(), g.YMM()
		g.VMOVDQU32(frame, b)
		g.VPMOVQD(b, y) // lanes 2j, the bias of sum lane j
		nm := g.ZMM()
		g.VCVTDQ2PD(y, nm)
		g.VSUBPD(nm, lb.bcast(t.vec.nmBase()), nm) // nm, exact
		g.VMULPD(lb.bcast(t.ln2()), nm, nm)
		g.VADDPD(ln, nm, nm)
		g.VMOVUPD(nm, frame.Offset(64))
	}

	g.Comment("Pass 3: y = float32(min(float64(x) - l, 0)), under km.")
	zero := g.ZMM()
	g.VPSUBQ(zero, zero, zero) // a zeroing idiom avo knows, in AVX-512F
	for r := range x {
		lo, hi, yh := g.ZMM(), g.ZMM(), g.YMM()
		g.VCVTPS2PD(x[r].AsY(), lo)
		g.VEXTRACTF64X4(U8(1), x[r], yh)
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
		g.VMOVUPS(y, km, rowAt(dst, dst4, r))
	}
	g.ADDQ(U32(shortGroup), done)
	g.LEAQ(Mem{Base: src4, Index: stride, Scale: 4}, src)
	g.LEAQ(Mem{Base: dst4, Index: stride, Scale: 4}, dst)
	g.SUBQ(U32(shortGroup), rows)
	g.JMP(LabelRef("shortlog_group"))

	g.Label("shortlog_ret")
	g.Store(done, g.ReturnIndex(0))
	g.VZEROUPPER()
	g.RET()
}
