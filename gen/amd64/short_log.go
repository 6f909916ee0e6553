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

// The scaled forms: ScaledLogSoftmaxShortRowsAVX512 and its Bcast and
// NoMask forms run ScaledLogSoftmaxRows's rows z (fused.go) in the same
// groups, bit for bit fallback.ScaledLogSoftmaxRows, with z computed
// where the rows are loaded through SoftmaxShortRowsAVX512's hook
// (groupZ), in pass 1 and again in pass 3, and the checks made on z. The
// pending group's first row of the mask waits in the frame with its src.
// Measured as above, against SoftmaxRows on the same rows, scale 1/8:
// 1.38x at 10 columns with a mask per row (5.6x through
// ScaledLogSoftmaxRowsAVX512), 1.17x with one mask row, 1.12x without;
// 1.44x, 1.10x and 1.09x at 16. The medium kernel's scaled forms walk the
// mask rows beside the rows in each pass, as SoftmaxMediumRowsAVX512's
// do; with a mask per row, whose rows each pass reads again, they
// measured 1.26 against 1.92 ns per element through the row kernel at 24
// columns, 1.10 against 1.51 at 32, 0.78 against 1.41 at 48, 0.86 against
// 1.01 at 100 (ScaledSoftmaxRows: 1.04, 0.70, 0.71, 0.69), and 1.0-1.2x
// SoftmaxRows with one mask row or none.

func generateShortLog(g *gen) {
	c := g.constTable("shortlogconst", slices.Concat(softmaxConsts, []constant{
		{"largeMax", largeMaxBits},
		{"negLargeMax", largeMaxBits | 0x80000000},
	}))
	t := &ceTables{g.log64Table(), g.log64VecTable()}
	shortLogAVX512(g, c, t, inX)
	mediumLogAVX512(g, c, t, inX)
	for _, in := range []groupIn{inMaskRows, inMaskBcast, inScaled} {
		shortLogAVX512(g, c, t, in)
		mediumLogAVX512(g, c, t, in)
	}
}

// logName returns the name of the LogSoftmax group kernel of the given
// kind ("Short" or "Medium") for the input in.
func logName(in groupIn, kind string) string { return in.opName("LogSoftmax", kind) }

// logDoc returns the documentation of a scaled LogSoftmax group kernel.
func logDoc(in groupIn, kind string) []string {
	name, plain := logName(in, kind), logName(inX, kind)
	switch in {
	case inMaskRows:
		return []string{name + " is " + plain + " for",
			"fallback.ScaledLogSoftmaxRows with a mask of one row per row: it runs",
			"the rows z = fma(scale, x, m), m the row of mask, with the same",
			"checks on z and the same result; the caller runs the rows it leaves",
			"with ScaledLogSoftmaxRowsAVX512. The caller checks the arguments as",
			"for " + plain + ", and rows*cols elements in mask, which does not",
			"overlap dst."}
	case inMaskBcast:
		return []string{name + " is " + logName(inMaskRows, kind),
			"with a mask of one row, cols elements, added to every row."}
	}
	return []string{name + " is " + logName(inMaskRows, kind),
		"without a mask: z = scale*x; the caller runs the rows it leaves with",
		"ScaledLogSoftmaxRowsNoMaskAVX512."}
}

func shortLogAVX512(g *gen, c *constTable, t *ceTables, in groupIn) {
	doc := []string{
		"LogSoftmaxShortRowsAVX512 sets rows of cols elements of dst to the",
		"log-softmax of the same rows of src, with the bits of",
		"fallback.LogSoftmaxRows, eight rows at a time, from the first, for as",
		"long as eight rows remain whose maxima are finite, at most 208 in",
		"magnitude, and whose rows hold no NaN. It returns the number of rows",
		"done, a multiple of eight; the caller runs the next rows with",
		"LogSoftmaxRowsAVX512. The caller checks the arguments: rows*cols",
		"elements in each slice, 1 <= cols <= 16, and dst is src or does not",
		"overlap it. It requires AVX-512F.",
	}
	if in != inX {
		doc = logDoc(in, "Short")
	}
	sig := "func(dst, src []float32, rows, cols int) int"
	if in != inX {
		sig = in.signature()
	}
	g.function(logName(in, "Short"), sig,
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
	// order of the max tree), then the pending group's l, S and
	// float64(nm)*ln2 (8 float64 each, in the order of the sum tree). S
	// and nm*ln2 start as 1 and 0: log64 runs on them before the first
	// group is pending. The pending group's src follows, and with a mask
	// of one row per row, its first row of the mask.
	frame := g.AllocLocal(272)
	psrcAt, pmask := frame.Offset(256), frame.Offset(264)
	pdst := g.GP64() // the pending group's dst, 0 when none
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

	src4 := g.GP64()
	g.LEAQ(Mem{Base: src, Index: stride, Scale: 4}, src4)
	rowAt := func(base, base4 reg.GPVirtual, r int) Mem { return groupRow(base, base4, stride, stride3, r) }

	g.Comment("Pass 1: the eight rows, -Inf past cols, and their maxima.")
	x := make([]reg.VecVirtual, shortGroup)
	mask4 := z.mask4(stride)
	for r := range x {
		x[r] = g.ZMM()
		g.VMOVAPS(negInf, x[r])
		g.VMOVUPS(rowAt(src, src4, r), km, x[r])
		var m Op
		if in == inMaskRows {
			m = rowAt(z.mask, mask4, r)
		}
		z.apply(x[r], km, m) // z, in the row's lanes
	}
	mv := g.maxTree8(x)
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
	sum := g.sumTree8(s2)
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
		psrc, psrc4, pdst4 := g.GP64(), g.GP64(), g.GP64()
		g.MOVQ(psrcAt, psrc)
		g.LEAQ(Mem{Base: psrc, Index: stride, Scale: 4}, psrc4)
		g.LEAQ(Mem{Base: pdst, Index: stride, Scale: 4}, pdst4)
		var pm, pm4 reg.GPVirtual
		if in == inMaskRows {
			pm, pm4 = g.GP64(), g.GP64()
			g.MOVQ(pmask, pm)
			g.LEAQ(Mem{Base: pm, Index: stride, Scale: 4}, pm4)
		}
		xs := make([]reg.VecVirtual, shortGroup)
		for r := range xs {
			xs[r] = g.ZMM()
			g.VMOVUPS_Z(rowAt(psrc, psrc4, r), km, xs[r])
		}
		zero := g.ZMM()
		g.VPSUBQ(zero, zero, zero) // a zeroing idiom avo knows, in AVX-512F
		for r, x := range xs {
			var m Op
			if in == inMaskRows {
				m = rowAt(pm, pm4, r)
			}
			z.apply(x, km, m) // z again, in the row's lanes
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
	g.MOVQ(src, psrcAt)
	g.MOVQ(dst, pdst)
	if in == inMaskRows {
		g.MOVQ(z.mask, pmask)
		g.LEAQ(Mem{Base: z.mask, Index: stride, Scale: 8}, z.mask)
	}
	g.LEAQ(Mem{Base: src, Index: stride, Scale: 8}, src)
	g.LEAQ(Mem{Base: dst, Index: stride, Scale: 8}, dst)
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
	g.groupReturn(done)
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

// The medium-row LogSoftmax kernel: LogSoftmaxMediumRowsAVX512 runs rows
// of more than 16 columns four at a time, bit for bit
// fallback.LogSoftmaxRows. Its passes 1 and 2 are
// SoftmaxMediumRowsAVX512's (short.go), each a loop over the vectors of
// the rows with the four rows' work side by side in its body, with one max
// tree, one sum tree and one group check for the four, and nothing stored
// in pass 2; then l for the four rows in one float64 zmm (each row's in
// two lanes) and pass 3 as in LogSoftmaxShortRowsAVX512, a loop over the
// vectors of the rows, reloaded from src. Since no pass but the third
// writes dst, and a group's third pass comes after the next group's
// loads, dst may be src.
//
// l and pass 3 run a group late, as in the short kernel: the pending
// group's log64 is emitted whole at the start of the next group, whose
// passes 1 and 2 (loops that do not depend on it) the CPU runs beside its
// chain, and its pass 3 after them.
//
// Measured as LogSoftmaxShortRowsAVX512 (out of place, ns per element,
// against SoftmaxRows in the same run; LogSoftmaxRowsAVX512 alone before):
// 1.0 against 0.90 at 17 columns (1.6 before), 0.51 against 0.44 at 32
// (1.1), 0.47 against 0.42 at 48 (0.87), 0.46 against 0.38 at 64 (0.58),
// 0.48 against 0.41 at 100 (0.64), 0.42 against 0.31 at 128 (0.47), 0.47
// against 0.37 at 129 (0.56), 0.41 against 0.30 at 192 (0.41), 0.41
// against 0.30 at 256 (0.39). In place, 32, 64 and 128 columns measured
// 1.13, 1.18 and 0.80; package kernels ran it out of place up to 192
// columns, and in place up to 48. Since LogSoftmaxRowsAVX512 computes l
// eight rows at a time (logsoftmax.go), package kernels runs it up to 44
// columns, in place too (see logMediumCols there).
//
// When cols%16 is 1 to 8, the last vector of a row skips its lanes 8-15
// in passes 2 and 3 (as SoftmaxRowsAVX512's halfTail): their terms add +0
// to S and their results are not stored. Measured (out of place, ns per
// element, thread CPU time, the least of 31 runs, in one binary): 0.47
// against 0.49 at 100 columns, 0.50 against 0.55 at 40, 0.60 against 0.66
// at 24; 64, 128 and 192 unchanged.
func mediumLogAVX512(g *gen, c *constTable, t *ceTables, in groupIn) {
	doc := []string{
		"LogSoftmaxMediumRowsAVX512 sets rows of cols elements of dst to the",
		"log-softmax of the same rows of src, with the bits of",
		"fallback.LogSoftmaxRows, four rows at a time, from the first, for as",
		"long as four rows remain whose maxima are finite, at most 208 in",
		"magnitude, and whose rows hold no NaN. It returns the number of rows",
		"done, a multiple of four; the caller runs the next rows with",
		"LogSoftmaxRowsAVX512. The caller checks the arguments: rows*cols",
		"elements in each slice, cols > 16, and dst is src or does not",
		"overlap it. It requires AVX-512F.",
	}
	sig := "func(dst, src []float32, rows, cols int) int"
	if in != inX {
		doc, sig = logDoc(in, "Medium"), in.signature()
	}
	g.function(logName(in, "Medium"), sig,
		[]string{"AVX", "AVX512F", "CMOV", "FMA3", "SSE", "SSE2"}, doc...)
	a := g.loadGroupArgs()
	dst, src, rows, cols, done := a.dst, a.src, a.rows, a.cols, a.done
	kmw, stride, stride3 := a.kmw, a.stride, a.stride3
	negInf, reduceLo := g.ZMM(), g.ZMM()
	g.VBROADCASTSS(c.scalar("negInf"), negInf)
	g.VBROADCASTSS(c.scalar("reduceLo"), reduceLo)
	// The frame holds the current group's biases (16 int32), then the
	// pending group's l, S and nm*ln2 (8 float64 each: row r's in lanes
	// 2r and 2r+1), its src and dst (dst 0 when no group is pending). With
	// a mask, the frame also holds the current group's first row of the
	// mask and the pending group's, and pm walks the group's mask rows (or
	// the one row) beside ps.
	frame := g.AllocLocal(288)
	maskCur, pendMask := frame.Offset(272), frame.Offset(280)
	z := g.groupZ(in, nil)
	var pm reg.GPVirtual
	if z.masked() {
		g.MOVQ(z.mask, maskCur)
		pm = g.GP64()
	}

	lAt := func(r int) Mem { return frame.Offset(64 + 16*r) }
	pendS, pendNm := frame.Offset(128), frame.Offset(192)
	pendSrc, pendDst := frame.Offset(256), frame.Offset(264)
	g.MOVQ(U32(0), pendDst)
	{
		v := g.ZMM()
		g.VBROADCASTSD(t.one(), v)
		g.VMOVUPD(v, pendS)
		g.VPXORQ(v, v, v)
		g.VMOVUPD(v, pendNm)
	}
	ps, pd, i := g.GP64(), g.GP64(), g.GP64()
	rowAt := func(p reg.GPVirtual, r int) Mem { return quadRow(p, stride, stride3, r) }
	maskOf := func(r int) Op { return z.quadMask(pm, stride, stride3, r) }
	vecMask := func(k reg.Register) { g.vecMask16(k, kmw, i) }
	// loop emits a loop over the vectors of the group's rows at from (and
	// to): body(k) for the vector at ps (and pd) under mask k.
	loop := func(name string, from, to, mfrom Op, body func(k reg.Register)) {
		g.MOVQ(from, ps)
		if to != nil {
			g.MOVQ(to, pd)
		}
		if z.masked() {
			g.MOVQ(mfrom, pm)
		}
		g.MOVQ(cols, i)
		g.Label(name)
		k := g.K()
		vecMask(k)
		body(k)
		g.ADDQ(U32(64), ps)
		if to != nil {
			g.ADDQ(U32(64), pd)
		}
		if z.masked() {
			g.ADDQ(U32(64), pm)
		}
		g.SUBQ(U32(16), i)
		g.JG(LabelRef(name))
	}
	pendingL := func() {
		for _, step := range logSteps(g, t, pendS, pendNm, frame.Offset(64)) {
			step()
		}
	}
	pass3 := func(name string) {
		g.Comment("Pass 3 of the pending group: y = float32(min(float64(x) - l, 0)).")
		zero := g.ZMM()
		g.VPSUBQ(zero, zero, zero) // a zeroing idiom avo knows, in AVX-512F
		// body emits the vector at ps for the four rows under k; with half,
		// lanes 0-7 only: the last vector of a row whose cols%16 is 1 to 8,
		// whose lanes 8-15 are not stored.
		body := func(k reg.Register, half bool) {
			los, his := make([]reg.VecVirtual, mediumGroup), make([]reg.VecVirtual, mediumGroup)
			if in == inX {
				// Each half converted from memory, under k's low and high
				// 8 bits: no load and extraction apart. Measured (ns per
				// element, thread CPU time, the least of 15 runs, batches
				// of 1 MiB of N(0, 4)): 0.50 against 0.52 at 100 columns,
				// 0.46 against 0.49 at 150.
				kh := g.K()
				if !half {
					g.KSHIFTRW(U8(8), k, kh)
				}
				for r := range los {
					los[r] = g.ZMM()
					g.VCVTPS2PD_Z(rowAt(ps, r), k, los[r])
					if !half {
						his[r] = g.ZMM()
						g.VCVTPS2PD_Z(rowAt(ps, r).Offset(32), kh, his[r])
					}
				}
			} else {
				xs := make([]reg.VecVirtual, mediumGroup)
				for r := range xs {
					xs[r] = g.ZMM()
					g.VMOVUPS_Z(rowAt(ps, r), k, xs[r])
					z.apply(xs[r], k, maskOf(r)) // z again; lanes past the row not stored
				}
				for r, x := range xs {
					los[r] = g.ZMM()
					g.VCVTPS2PD(x.AsY(), los[r])
					if !half {
						his[r] = g.ZMM()
						yh := g.YMM()
						g.VEXTRACTF64X4(U8(1), x, yh)
						g.VCVTPS2PD(yh, his[r])
					}
				}
			}
			for r := range los {
				lo, hi := los[r], his[r]
				g.VSUBPD_BCST(lAt(r), lo, lo) // x - l (x - c is x)
				if !half {
					g.VSUBPD_BCST(lAt(r), hi, hi)
				}
				// min(float32(v), 0) is float32(min(v, 0)), since the
				// rounding is monotonic and keeps 0 and its sign: one
				// float32 min for the vector, not two float64 ones (about
				// 1% less time at 64, 128 and 192 columns: 0.443 against
				// 0.447 ns per element at 64).
				a := g.YMM()
				g.VCVTPD2PS(lo, a)
				y := a.AsZ()
				if !half {
					b := g.YMM()
					g.VCVTPD2PS(hi, b)
					y = g.ZMM()
					g.VINSERTF64X4(U8(1), b, a.AsZ(), y)
				}
				m := g.ZMM()
				g.VMINPS(y, zero, m)          // never above 0, -0 kept (see fallback.logProb)
				g.VMOVUPS(m, k, rowAt(pd, r)) // with half, lanes 8-15 not stored
			}
		}
		g.MOVQ(pendSrc, ps)
		g.MOVQ(pendDst, pd)
		if z.masked() {
			g.MOVQ(pendMask, pm)
		}
		g.MOVQ(cols, i)
		g.Label(name)
		k := g.K()
		vecMask(k)
		g.CMPQ(i, U32(8))
		g.JLE(LabelRef(name + "_half"))
		body(k, false)
		g.ADDQ(U32(64), ps)
		g.ADDQ(U32(64), pd)
		if z.masked() {
			g.ADDQ(U32(64), pm)
		}
		g.SUBQ(U32(16), i)
		g.JG(LabelRef(name))
		g.JMP(LabelRef(name + "_done"))
		g.Label(name + "_half") // the last vector, at most 8 elements
		body(k, true)
		g.Label(name + "_done")
		g.ADDQ(U32(mediumGroup), done)
	}

	g.Label("medlog_group")
	g.CMPQ(rows, U32(mediumGroup))
	g.JB(LabelRef("medlog_drain"))
	g.Comment("The pending group's l = float64(nm)*ln2 + log64(S), beside passes 1 and 2.")
	pendingL()

	g.Comment("Pass 1: the four rows' maxima.")
	acc := make([]reg.VecVirtual, mediumGroup)
	for r := range acc {
		acc[r] = g.ZMM()
		g.VMOVAPS(negInf, acc[r])
	}
	loop("medlog_max", src, nil, maskCur, func(k reg.Register) {
		for r := range acc {
			x := g.ZMM()
			g.VMOVUPS_Z(rowAt(ps, r), k, x)
			z.apply(x, k, maskOf(r))
			g.VMAXPS(x, acc[r], k, acc[r]) // lanes past the row keep acc
		}
	})
	mv := g.maxTree4(acc)
	g.checkMaxima(c, mv, "medlog_drain", frame)

	g.Comment("Pass 2: S in the fallback's lanes and blocks of 4 vectors.")
	sums := g.newMediumSums()
	partLo, partHi := sums.partLo, sums.partHi
	nv := g.GP64()
	g.MOVQ(src, ps)
	if z.masked() {
		g.MOVQ(maskCur, pm)
	}
	g.MOVQ(cols, i)
	g.Label("medlog_block")
	sums.clearParts()
	g.MOVQ(U32(4), nv)
	// vec2 emits pass 2 for the vector at ps under k; with half, the terms
	// of lanes 0-7 only: the last vector of a row whose cols%16 is 1 to 8,
	// whose lanes 8-15 would add +0 to partHi.
	vec2 := func(k reg.Register, half bool) {
		for r := range mediumGroup {
			d := g.ZMM()
			g.VBROADCASTSS(c.scalar("negInf"), d)
			g.VMOVUPS(rowAt(ps, r), k, d) // -Inf past the row: s = 0
			z.apply(d, k, maskOf(r))
			g.VMAXPS(d, reduceLo, d)
			t := g.expU(c, d)
			g.scaleBias(c, t, frame.Offset(4*mediumMaxPos(r)))
			if half {
				ul, sl := g.ZMM(), g.ZMM()
				g.VCVTPS2PD(d.AsY(), ul)
				g.VCVTPS2PD(t.AsY(), sl)
				g.VFMADD213PD(sl, sl, ul) // u*s + s, lanes 0-7
				g.VADDPD(ul, partLo[r], partLo[r])
				continue
			}
			ul, uh := g.terms(d, t)
			g.VADDPD(ul, partLo[r], partLo[r])
			g.VADDPD(uh, partHi[r], partHi[r])
		}
	}
	g.Label("medlog_vec")
	{
		k := g.K()
		vecMask(k)
		g.CMPQ(i, U32(8))
		g.JLE(LabelRef("medlog_vechalf"))
		vec2(k, false)
		g.ADDQ(U32(64), ps)
		if z.masked() {
			g.ADDQ(U32(64), pm)
		}
		g.SUBQ(U32(16), i)
		g.JLE(LabelRef("medlog_lastblock"))
		g.DECQ(nv)
		g.JNZ(LabelRef("medlog_vec"))
	}
	sums.addParts(false)
	g.JMP(LabelRef("medlog_block"))
	g.Label("medlog_vechalf") // the last vector, at most 8 elements
	{
		k := g.K()
		vecMask(k)
		vec2(k, true)
	}
	g.Label("medlog_lastblock")
	sums.addParts(true)
	sum := sums.sumTree4()
	g.Comment("The group's second check: no S is NaN. Else the caller runs it.")
	{
		k := g.K()
		g.VCMPPD(U8(3), sum, sum, k) // unordered: NaN
		g.KORTESTW(k, k)             // (the upper 8 bits are 0)
		g.JNZ(LabelRef("medlog_drain"))
	}

	g.CMPQ(pendDst, U32(0))
	g.JE(LabelRef("medlog_stash"))
	pass3("medlog_out")
	g.Label("medlog_stash")
	g.Comment("This group is now pending: its S, nm*ln2, src and dst to the frame, nm = -bias - (0x4b400000 - 127).")
	g.VMOVUPD(sum, pendS)
	{
		b, y, nm, base := g.ZMM(), g.YMM(), g.ZMM(), g.ZMM()
		g.VMOVDQU32(frame, b)
		g.VPMOVQD(b, y) // lanes 2j, row j/2's bias
		g.VCVTDQ2PD(y, nm)
		g.VBROADCASTSD(t.vec.nmBase(), base)
		g.VSUBPD(nm, base, nm) // nm, exact
		g.VMULPD_BCST(t.ln2(), nm, nm)
		g.VMOVUPD(nm, pendNm)
	}
	g.MOVQ(src, pendSrc)
	g.MOVQ(dst, pendDst)
	g.nextMediumGroup(z, maskCur, pendMask, src, dst, stride, rows, "medlog_group")

	g.Label("medlog_drain")
	g.CMPQ(pendDst, U32(0))
	g.JE(LabelRef("medlog_ret"))
	pendingL()
	pass3("medlog_outlast")

	g.Label("medlog_ret")
	g.groupReturn(done)
}
