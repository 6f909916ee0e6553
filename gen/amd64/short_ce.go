package main

import (
	"slices"

	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// The short-row CrossEntropy kernel: CrossEntropyShortRowsAVX512 runs the
// rows of a batch of at most 16 columns eight at a time, bit for bit
// fallback.CrossEntropyRows: each row's loss, added to a running float64
// total in row order, and unless the gradient is nil, softmax(x) -
// onehot(t) in the gradient's row.
//
// Why: CrossEntropyRowsAVX512 runs one row at a time through
// SoftmaxRowsAVX512's passes (crossentropy.go), whose short rows are a
// long chain of dependent steps wrapped in loop control; at 10 columns it
// took 2.01 ns per element. Here a group is SoftmaxShortRowsAVX512's
// (short.go), with its shared max and sum trees, its single VDIVPD and
// its pass 3 run a group late, and:
//
//   - each row's x_t is read in pass 1, before anything is stored (the
//     gradient may be the logits), into the frame in the order of the
//     sum tree (row r's S is in float64 lane shortSumPos(r));
//   - once the group has passed both checks (every max finite with
//     |max| <= 208, so c = 0, and every S not NaN), its loss inputs go to
//     the frame: S, float64(nm)*ln2 (nm from the biases, whose row r is
//     in float32 lane 2*shortSumPos(r), the even lanes that VPMOVQD
//     takes) and float64(x_t) - 0;
//   - the losses of a group are computed a group late, as pass 3 is: after
//     passes 1 and 2 of the next group, in one zmm register of float64s
//     with lossBatch's log64 and its order of operations,
//
//     loss = max((float64(nm)*ln2 + log64(S)) - (float64(x_t) - 0), 0)
//
//     and added to the total one by one in row order. A finite row whose
//     x_t is -Inf gets +Inf, as in the fallback. The log64 chain (some 40
//     dependent operations with a division) then overlaps with the next
//     group's passes: at 10 columns, 0.84 ns per element against 1.01
//     with the losses computed in their own group's iteration;
//   - pass 3 subtracts 1 at lane t of each row's y before it is stored,
//     under the mask of bit t, which is the fallback's grad[t] -= 1 in
//     float32. The targets of the pending group are read again there;
//   - the pending group's s are kept as one byte a lane, the biased
//     exponent of s (0 to 127; VPMOVDB packs it, VPMOVZXBD and a shift by
//     23 unpack it), which leaves room in the frame for the loss inputs
//     within what a NOSPLIT function may have.
//
// CrossEntropyShortRowsNoGradAVX512 is the form without a gradient: no
// pass 3, and a group is done once its losses are added. The two forms
// are two functions: in one, the register allocator found no registers
// for both loops.
//
// A group that fails a check, and the last rows%8 rows, are left to the
// caller, which runs them through CrossEntropyRowsAVX512 one row at a
// time (a row's total from +0 is its loss) and adds each loss to the
// total, then calls this kernel again with the total for the rest.
//
// The frame is aligned to 64 bytes (ceFrame), so that its zmm loads and
// stores never span two cache lines.
//
// Measured on Zen 5 (ns per element, batches of 2^18 elements of N(0, 4),
// the thread's CPU time, the least of many runs, against
// CrossEntropyRowsAVX512 alone): 0.81 against 1.99 at 10 columns, 0.66
// against 1.44 without a gradient, 0.82 against 4.4 in place; at 16,
// 0.50 against 1.14 (0.40 against 0.89 without a gradient).
// SoftmaxRows takes 0.60 and 0.37 on the same rows.

// shortCESignature is the Go signature of the short kernel: total is the
// running total of the rows before, and the kernel returns the number of
// rows done and the total after them.
const shortCESignature = "func(dst, src []float32, targets []int32, rows, cols int, total float64) (int, float64)"

func generateShortCE(g *gen) {
	c := g.constTable("shortceconst", slices.Concat(softmaxConsts, []constant{
		{"largeMax", largeMaxBits},
		{"negLargeMax", largeMaxBits | 0x80000000},
	}))
	t := &ceTables{g.log64Table(), g.log64VecTable()}
	shortCEAVX512(g, c, t, true)
	shortCEAVX512(g, c, t, false)
	lanes := g.StaticGlobal("celanes")
	g.DataAttributes(rodata)
	for i := range 32 {
		g.AppendDatum(U32(min(i, 16))) // 0 to 15, then 16 sixteens
	}
	ceLanesAt = lanes
	mediumCEAVX512(g, c, t, true)
	mediumCEAVX512(g, c, t, false)
}

// shortCEAVX512 emits CrossEntropyShortRowsAVX512, or without a gradient
// CrossEntropyShortRowsNoGradAVX512.
func shortCEAVX512(g *gen, c *constTable, t *ceTables, grad bool) {
	if !grad {
		g.function("CrossEntropyShortRowsNoGradAVX512", shortCESignature,
			[]string{"AVX", "AVX512F", "CMOV", "FMA3", "SSE", "SSE2"},
			"CrossEntropyShortRowsNoGradAVX512 is CrossEntropyShortRowsAVX512 with",
			"a nil gradient: dst is not used.",
		)
	} else {
		g.function("CrossEntropyShortRowsAVX512", shortCESignature,
			[]string{"AVX", "AVX512F", "CMOV", "FMA3", "SSE", "SSE2"},
			"CrossEntropyShortRowsAVX512 is CrossEntropyRowsAVX512 for rows of at",
			"most 16 columns, eight rows at a time, from the first, for as long as",
			"eight rows remain whose maxima are finite, at most 208 in magnitude,",
			"and whose rows hold no NaN. It adds the rows' losses to total in row",
			"order and returns the number of rows done, a multiple of eight, and",
			"the total; the caller runs the next rows with CrossEntropyRowsAVX512.",
			"The caller checks the arguments: rows*cols elements in src, and in dst",
			"unless it is nil, 1 <= cols <= 16, 0 <= targets[r] < cols for each of",
			"the rows, and dst is src or does not overlap it. It requires AVX-512F.",
		)
	}
	a := g.loadGroupArgs()
	dst, src, rows, done, stride, stride3 := a.dst, a.src, a.rows, a.done, a.stride, a.stride3
	km := g.K() // a row's cols lanes
	g.KMOVW(a.kmw, km)
	tg, total := g.ceArgs() // the group's targets, the running total

	// The frame holds the current group's biases (16 int32 lanes, in the
	// order of the max tree), the pending group's hi and lo (8 float32s
	// each, in the order of the sum tree), its s as 16 bytes a row (the
	// biased exponent of s, 0 to 127, which VPMOVDB packs and VPMOVZXBD
	// and a shift unpack: the 64 bytes of a row's s would make the frame
	// larger than a NOSPLIT function may have), its last row's u (see
	// SoftmaxShortRowsAVX512), the current group's x_t (8 float32s in the
	// order of the sum tree), the pending group's targets, and the
	// pending group's loss inputs, 8 float64s each in the order of the
	// sum tree: S (then the losses), float64(nm)*ln2, and float64(x_t) - 0.
	frame := ceFrame(g, 128+16*shortGroup+64+32+8+4*64)
	lastU := frame.Offset(128 + 16*shortGroup)
	xtAt := lastU.Offset(64)
	ptgAt := xtAt.Offset(32)
	sumP := ptgAt.Offset(8)
	nmP, dP := sumP.Offset(64), sumP.Offset(128)
	sumAt := sumP.Offset(192) // the current group's S
	biasAt := func(r int) Mem { return frame.Offset(4 * shortMaxPos(r)) }
	hiAt := func(r int) Mem { return frame.Offset(64 + 4*shortSumPos(r)) }
	loAt := func(r int) Mem { return frame.Offset(96 + 4*shortSumPos(r)) }
	eAt := func(r int) Mem { return frame.Offset(128 + 16*r) }

	l := &ceGroupLoss{g: g, c: c, t: t, total: total, bias: frame, xt: xtAt,
		sum: sumAt, sumP: sumP, nmP: nmP, dP: dP}
	for r := range shortGroup {
		l.rows = append(l.rows, shortSumPos(r))
	}

	// body emits the loop over the groups, with a gradient or without; p
	// prefixes its labels.
	body := func(grad bool, p string) {
		// pdst is the pending group's dst, 0 when no group is pending;
		// without a gradient, 1 when one is.
		pdst := g.GP64()
		g.XORQ(pdst, pdst)
		reduceLo := g.ZMM()
		g.VBROADCASTSS(c.scalar("reduceLo"), reduceLo)
		g.Label(p + "_group")
		g.CMPQ(rows, U32(shortGroup))
		g.JB(LabelRef(p + "_drain"))

		src4, dst4 := g.GP64(), g.GP64()
		g.LEAQ(Mem{Base: src, Index: stride, Scale: 4}, src4)
		if grad {
			g.LEAQ(Mem{Base: dst, Index: stride, Scale: 4}, dst4)
		}
		rowAt := func(base, base4 reg.GPVirtual, r int) Mem { return groupRow(base, base4, stride, stride3, r) }

		g.Comment("Pass 1: each row's x_t to the frame; the eight rows, -Inf past cols, and their maxima.")
		for r := range shortGroup {
			ti, pr, xv := g.GP64(), g.GP64(), g.GP32()
			g.MOVLQSX(Mem{Base: tg, Disp: 4 * r}, ti)
			g.LEAQ(rowAt(src, src4, r), pr)
			g.MOVL(Mem{Base: pr, Index: ti, Scale: 4}, xv)
			g.MOVL(xv, xtAt.Offset(4*shortSumPos(r)))
		}
		x := make([]reg.VecVirtual, shortGroup)
		for r := range x {
			x[r] = g.ZMM()
			g.VBROADCASTSS(c.scalar("negInf"), x[r])
			g.VMOVUPS(rowAt(src, src4, r), km, x[r])
		}
		mv := g.maxTree8(x)
		g.checkMaxima(c, mv, p+"_drain", frame)

		g.Comment("Pass 2: u and s of each row; its 16 float64 terms folded to 8 (lane i += lane i+8).")
		u := make([]reg.VecVirtual, shortGroup)
		sc := make([]reg.VecVirtual, shortGroup)
		var s2 [4]reg.VecVirtual
		fold64 := g.foldSum
		var prev reg.VecVirtual
		for r := range x {
			d := x[r]
			g.VMAXPS(d, reduceLo, d) // d = max(x, -320), NaN kept (c = 0)
			tt := g.expU(c, d)
			u[r] = d
			g.VPADDD_BCST(biasAt(r), tt, tt)
			g.VPMAXSD_BCST(c.scalar("zero"), tt, tt) // s's biased exponent, 0 to 127
			sc[r] = tt
			sv := g.ZMM()
			g.VPSLLD(U8(23), tt, sv) // s = 2^(n - nm), or 0
			ul, uh := g.terms(d, sv)
			g.VADDPD(uh, ul, ul)
			if r%2 == 0 {
				prev = ul
				continue
			}
			s2[r/2] = fold64(prev, ul, 0x44, 0xee)
		}
		g.Comment("The sums of the eight rows: lane i += lane i+2, i+1, shuffled side by side.")
		sum := g.sumTree8(s2)
		g.VMOVUPD(sum, sumAt)
		var hi reg.VecVirtual
		if grad {
			hi = g.splitInverse(c, sum, p+"_drain")
		} else {
			g.Comment("A NaN S: a row with a NaN. The caller runs the group.")
			kn := g.K()
			g.VCMPPD(U8(cmpUnord), sum, sum, kn)
			g.KORTESTW(kn, kn)
			g.JNZ(LabelRef(p + "_drain"))
		}

		// lossesAndInputs emits the pending group's losses (if one is
		// pending) and the stores of this group's loss inputs.
		lossesAndInputs := func() {
			g.Comment("The pending group's losses, then this group's loss inputs to the frame.")
			g.TESTQ(pdst, pdst)
			g.JZ(LabelRef(p + "_inputs"))
			l.losses()
			if !grad {
				g.ADDQ(U32(shortGroup), done)
			}
			g.Label(p + "_inputs")
			l.inputs()
		}
		if !grad {
			lossesAndInputs()
			g.MOVQ(U32(1), pdst)
			g.LEAQ(Mem{Base: src4, Index: stride, Scale: 4}, src)
			g.ADDQ(U32(4*shortGroup), tg)
			g.SUBQ(U32(shortGroup), rows)
			g.JMP(LabelRef(p + "_group"))
			g.Label(p + "_drain")
			g.TESTQ(pdst, pdst)
			g.JZ(LabelRef("ce_ret"))
			l.losses()
			g.ADDQ(U32(shortGroup), done)
			g.JMP(LabelRef("ce_ret"))
			return
		}

		// pass3 is SoftmaxShortRowsAVX512's, with y[t] - 1 at each row's
		// target t.
		pass3 := func() {
			pdst4, ptg := g.GP64(), g.GP64()
			g.LEAQ(Mem{Base: pdst, Index: stride, Scale: 4}, pdst4)
			g.MOVQ(ptgAt, ptg)
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
				sv := g.ZMM()
				g.VPMOVZXBD(eAt(r), sv)
				g.VPSLLD(U8(23), sv, sv) // s
				g.normalizeRow(y, sv, hiAt(r), loAt(r))
				ti, w := g.GP32(), g.GP32()
				g.MOVL(Mem{Base: ptg, Disp: 4 * r}, ti)
				g.XORL(w, w)
				g.BTSL(ti, w)
				kt := g.K()
				g.KMOVW(w, kt)
				g.VSUBPS_BCST(c.scalar("one"), y, kt, y) // y[t] - 1
				g.VMOVUPS(y, km, rowAt(pdst, pdst4, r))
			}
			g.ADDQ(U32(shortGroup), done)
		}
		g.Comment("Pass 3 of the pending group: y = (hi + fma(u, hi, fma(u, lo, lo))) * s, y[t] - 1, under km.")
		g.TESTQ(pdst, pdst)
		g.JZ(LabelRef(p + "_stash"))
		pass3()
		g.Label(p + "_stash")
		g.Comment("This group is now pending: its hi, lo, s and targets to the frame, its u to dst.")
		g.VMOVUPS(hi, frame.Offset(64))
		for r := range shortGroup {
			if r == shortGroup-1 {
				g.VMOVUPS(u[r], lastU)
			} else {
				g.VMOVUPS(u[r], km, rowAt(dst, dst4, r))
			}
			g.VPMOVDB(sc[r], eAt(r))
		}
		g.MOVQ(tg, ptgAt)
		lossesAndInputs()
		g.MOVQ(dst, pdst)
		g.LEAQ(Mem{Base: src4, Index: stride, Scale: 4}, src)
		g.LEAQ(Mem{Base: dst4, Index: stride, Scale: 4}, dst)
		g.ADDQ(U32(4*shortGroup), tg)
		g.SUBQ(U32(shortGroup), rows)
		g.JMP(LabelRef(p + "_group"))

		g.Label(p + "_drain")
		g.TESTQ(pdst, pdst)
		g.JZ(LabelRef("ce_ret"))
		l.losses()
		pass3()
		g.JMP(LabelRef("ce_ret"))
	}
	body(grad, "ce")

	g.Label("ce_ret")
	g.groupReturn(done)
}

// The medium-row CrossEntropy kernel: CrossEntropyMediumRowsAVX512 runs
// rows of 17 to 48 columns four at a time, out of place, as
// SoftmaxMediumRowsAVX512 does (short.go), and
// CrossEntropyMediumRowsNoGradAVX512 without a gradient. The losses are
// the short kernel's, a group late: row r's S, nm and x_t are in float64
// lanes 2r and 2r+1 (the max tree leaves row r's bias in float32 lanes 4r
// to 4r+3), and lanes 0, 2, 4 and 6 are added to the total. Pass 3
// subtracts 1 where the index of a lane in its row (a vector that steps
// by 16) equals the row's target.
//
// Pass 2 stores u in dst before the group's NaN check, so a group this
// kernel leaves has had its gradient written; CrossEntropyRowsAVX512
// rewrites it.
//
// Its frame is aligned as the short kernel's is (ceFrame); the register
// that takes is cols's, read from the arguments where a loop starts.
//
// Measured as the short kernel (against CrossEntropyRowsAVX512, out of
// place): 1.09 against 1.44 at 17 columns, 0.76 against 1.00 at 24, 0.55
// against 0.72 at 32, 0.52 against 0.62 at 48; without a gradient 0.79
// against 1.08, 0.57 against 0.76, 0.41 against 0.58, 0.37 against 0.47.
// SoftmaxRows takes 0.88, 0.62, 0.43 and 0.41 on the same rows.

// ceGroupLoss emits the loss steps of a group kernel: the stores of the
// current group's loss inputs to the pending slots, and the pending
// group's losses, added to the total at the lanes rows, in row order.
type ceGroupLoss struct {
	g     *gen
	c     *constTable
	t     *ceTables
	total Mem   // the running total, float64
	bias  Mem   // the current group's biases, 16 int32s in the max tree's order
	xt    Mem   // the current group's x_t, 8 float32s in the sum's lanes
	sum   Mem   // the current group's S, 8 float64s
	sumP  Mem   // the pending group's S, then its losses
	nmP   Mem   // the pending group's float64(nm)*ln2
	dP    Mem   // the pending group's float64(x_t) - 0
	rows  []int // the float64 lane of each row's loss, in row order
}

// inputs emits the stores of the current group's loss inputs to the
// pending slots: S, float64(nm)*ln2 (nm from the float32 lanes 2j of the
// biases, which VPMOVQD takes, for float64 lane j), float64(x_t) - 0.
func (l *ceGroupLoss) inputs() {
	g, t := l.g, l.t
	b := &lossBatch{g: g, c: l.c, t: t, wide: true}
	sum := g.ZMM()
	g.VMOVUPD(l.sum, sum)
	g.VMOVUPD(sum, l.sumP)
	bv, by, nm := g.ZMM(), g.YMM(), g.ZMM()
	g.VMOVDQU32(l.bias, bv)
	g.VPMOVQD(bv, by)
	g.VCVTDQ2PD(by, nm)
	g.VSUBPD(nm, b.bcast(t.vec.nmBase()), nm) // nm = -bias - (0x4b400000 - 127)
	g.VMULPD(b.bcast(t.ln2()), nm, nm)
	g.VMOVUPD(nm, l.nmP)
	d, zero := g.ZMM(), g.ZMM()
	g.VCVTPS2PD(l.xt, d)
	g.VPXORQ(zero, zero, zero)
	g.VSUBPD(zero, d, d) // x_t - c, c = 0
	g.VMOVUPD(d, l.dP)
}

// losses emits the pending group's losses, max((nm*ln2 + log64(S)) -
// (x_t - 0), 0), added to the total in row order.
func (l *ceGroupLoss) losses() {
	g := l.g
	b := &lossBatch{g: g, c: l.c, t: l.t, wide: true}
	sv := g.ZMM()
	g.VMOVUPD(l.sumP, sv)
	v := b.log64(sv)
	g.VADDPD(l.nmP, v, v)
	g.VSUBPD(l.dP, v, v)
	zero := g.ZMM()
	g.VPXORQ(zero, zero, zero)
	g.VMAXPD(v, zero, v) // never below 0, NaN kept
	g.VMOVUPD(v, l.sumP)
	tot := g.XMM()
	g.VMOVSD(l.total, tot)
	for _, j := range l.rows {
		g.VADDSD(l.sumP.Offset(8*j), tot, tot)
	}
	g.VMOVSD(tot, l.total)
}

// ceLanesAt is the lane table of the medium kernel: 0 to 15, then 16 in
// every lane.
var ceLanesAt Mem

func mediumCEAVX512(g *gen, c *constTable, t *ceTables, grad bool) {
	if grad {
		g.function("CrossEntropyMediumRowsAVX512", shortCESignature,
			[]string{"AVX", "AVX512F", "CMOV", "FMA3", "SSE", "SSE2"},
			"CrossEntropyMediumRowsAVX512 is CrossEntropyShortRowsAVX512 for rows",
			"of 17 to 48 columns, four rows at a time: it returns the number of",
			"rows done, a multiple of four, and the total. The caller checks the",
			"arguments as for CrossEntropyShortRowsAVX512 but 16 < cols <= 48",
			"and dst does not overlap src; the caller runs the next rows with",
			"CrossEntropyRowsAVX512, which rewrites the dst of a group this",
			"kernel left.",
		)
	} else {
		g.function("CrossEntropyMediumRowsNoGradAVX512", shortCESignature,
			[]string{"AVX", "AVX512F", "CMOV", "FMA3", "SSE", "SSE2"},
			"CrossEntropyMediumRowsNoGradAVX512 is CrossEntropyMediumRowsAVX512",
			"with a nil gradient: dst is not used.",
		)
	}
	a := g.loadGroupArgs()
	dst, src, rows, done := a.dst, a.src, a.rows, a.done
	// cols is read from the arguments where a loop starts, which leaves
	// its register to the frame's address.
	colsArg, err := g.Param("cols").Resolve()
	if err != nil {
		panic(err)
	}
	cols := colsArg.Addr
	kmw, stride, stride3 := a.kmw, a.stride, a.stride3
	tg, total := g.ceArgs()
	negInf, reduceLo := g.ZMM(), g.ZMM()
	g.VBROADCASTSS(c.scalar("negInf"), negInf)
	g.VBROADCASTSS(c.scalar("reduceLo"), reduceLo)
	// The frame holds SoftmaxMediumRowsAVX512's (the current group's
	// biases, the pending group's biases, hi and lo, src and dst, dst 0
	// when no group is pending; without a gradient, 1 when one is), then
	// the current group's x_t, the pending group's targets, and the loss
	// slots of ceGroupLoss.
	frame := ceFrame(g, 208+32+16+4*64)
	pend := frame.Offset(64)
	pendSrc, pendDst := frame.Offset(192), frame.Offset(200)
	xtAt, ptgAt := frame.Offset(208), frame.Offset(240)
	l := &ceGroupLoss{g: g, c: c, t: t, total: total, bias: frame, xt: xtAt,
		sum: frame.Offset(256), sumP: frame.Offset(320), nmP: frame.Offset(384), dP: frame.Offset(448),
		rows: []int{0, 2, 4, 6}}
	g.MOVQ(U32(0), pendDst)

	ps, pd, i := g.GP64(), g.GP64(), g.GP64()
	rowAt := func(p reg.GPVirtual, r int) Mem { return quadRow(p, stride, stride3, r) }
	vecMask := func(k reg.Register) { g.vecMask16(k, kmw, i) }

	g.Label("medium_group")
	g.CMPQ(rows, U32(mediumGroup))
	g.JB(LabelRef("medium_drain"))

	g.Comment("Each row's x_t to the frame, in float32 lanes 2r and 2r+1.")
	for r := range mediumGroup {
		ti, pr, xv := g.GP64(), g.GP64(), g.GP32()
		g.MOVLQSX(Mem{Base: tg, Disp: 4 * r}, ti)
		g.LEAQ(rowAt(src, r), pr)
		g.MOVL(Mem{Base: pr, Index: ti, Scale: 4}, xv)
		g.MOVL(xv, xtAt.Offset(8*r))
		g.MOVL(xv, xtAt.Offset(8*r+4))
	}

	g.Comment("Pass 1: the four rows' maxima.")
	acc := make([]reg.VecVirtual, mediumGroup)
	for r := range acc {
		acc[r] = g.ZMM()
		g.VMOVAPS(negInf, acc[r])
	}
	g.MOVQ(src, ps)
	g.MOVQ(cols, i)
	g.Label("medium_max")
	{
		k := g.K()
		vecMask(k)
		for r := range acc {
			x := g.ZMM()
			g.VMOVUPS_Z(rowAt(ps, r), k, x)
			g.VMAXPS(x, acc[r], k, acc[r])
		}
		g.ADDQ(U32(64), ps)
		g.SUBQ(U32(16), i)
		g.JG(LabelRef("medium_max"))
	}
	mv := g.maxTree4(acc)
	g.checkMaxima(c, mv, "medium_drain", frame)

	g.Comment("Pass 2: u to dst; S in the fallback's lanes and blocks of 4 vectors.")
	sums := g.newMediumSums()
	partLo, partHi := sums.partLo, sums.partHi
	nv := g.GP64()
	g.MOVQ(src, ps)
	if grad {
		g.MOVQ(dst, pd)
	}
	g.MOVQ(cols, i)
	g.Label("medium_block")
	sums.clearParts()
	g.MOVQ(U32(4), nv)
	g.Label("medium_vec")
	{
		k := g.K()
		vecMask(k)
		for r := range mediumGroup {
			d := g.ZMM()
			g.VBROADCASTSS(c.scalar("negInf"), d)
			g.VMOVUPS(rowAt(ps, r), k, d)
			g.VMAXPS(d, reduceLo, d)
			tt := g.expU(c, d)
			if grad {
				g.VMOVUPS(d, k, rowAt(pd, r)) // u
			}
			g.scaleBias(c, tt, frame.Offset(4*mediumMaxPos(r)))
			ul, uh := g.terms(d, tt)
			g.VADDPD(ul, partLo[r], partLo[r])
			g.VADDPD(uh, partHi[r], partHi[r])
		}
		g.ADDQ(U32(64), ps)
		if grad {
			g.ADDQ(U32(64), pd)
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
	g.VMOVUPD(sum, l.sum)
	var hilo reg.VecVirtual
	if grad {
		hilo = g.splitInverse(c, sum, "medium_drain")
	} else {
		kn := g.K()
		g.VCMPPD(U8(cmpUnord), sum, sum, kn)
		g.KORTESTW(kn, kn)
		g.JNZ(LabelRef("medium_drain"))
	}

	lossesAndInputs := func() {
		g.Comment("The pending group's losses, then this group's loss inputs to the frame.")
		g.CMPQ(pendDst, U32(0))
		g.JE(LabelRef("medium_inputs"))
		l.losses()
		if !grad {
			g.ADDQ(U32(mediumGroup), done)
		}
		g.Label("medium_inputs")
		l.inputs()
	}
	if !grad {
		lossesAndInputs()
		g.MOVQ(U32(1), pendDst)
		g.LEAQ(Mem{Base: src, Index: stride, Scale: 4}, src)
		g.ADDQ(U32(4*mediumGroup), tg)
		g.SUBQ(U32(mediumGroup), rows)
		g.JMP(LabelRef("medium_group"))
		g.Label("medium_drain")
		g.CMPQ(pendDst, U32(0))
		g.JE(LabelRef("medium_ret"))
		l.losses()
		g.ADDQ(U32(mediumGroup), done)
		g.Label("medium_ret")
		g.groupReturn(done)
		return
	}

	pass3 := func(name string) {
		g.Comment("Pass 3: u from dst, s recomputed from src; y = (hi + fma(u, hi, fma(u, lo, lo))) * s, y[t] - 1.")
		g.MOVQ(pendSrc, ps)
		g.MOVQ(pendDst, pd)
		g.MOVQ(cols, i)
		lane := g.ZMM()
		g.VMOVDQU32(ceLanesAt, lane)
		g.Label(name)
		k := g.K()
		vecMask(k)
		for r := range mediumGroup {
			x, u := g.ZMM(), g.ZMM()
			g.VMOVUPS_Z(rowAt(ps, r), k, x)
			g.VMOVUPS_Z(rowAt(pd, r), k, u)
			g.mediumY(c, x, u, reduceLo, pend, r)
			kt := g.K()
			g.VPCMPEQD_BCST(ptgAt.Offset(4*r), lane, kt) // the lane of the target
			g.VSUBPS_BCST(c.scalar("one"), u, kt, u)     // y[t] - 1
			g.VMOVUPS(u, k, rowAt(pd, r))
		}
		g.ADDQ(U32(64), ps)
		g.ADDQ(U32(64), pd)
		g.VPADDD(ceLanesAt.Offset(64), lane, lane)
		g.SUBQ(U32(16), i)
		g.JG(LabelRef(name))
		g.ADDQ(U32(mediumGroup), done)
	}
	g.CMPQ(pendDst, U32(0))
	g.JE(LabelRef("medium_stash"))
	pass3("medium_out")
	g.Label("medium_stash")
	g.Comment("This group is now pending: its biases, hi and lo, src, dst and targets to the frame.")
	g.stashMedium(frame, pend, hilo)
	lossesAndInputs()
	g.MOVQ(src, pendSrc)
	g.MOVQ(dst, pendDst)
	for off := 0; off < 16; off += 8 {
		x := g.GP64()
		g.MOVQ(Mem{Base: tg, Disp: off}, x)
		g.MOVQ(x, ptgAt.Offset(off))
	}
	g.LEAQ(Mem{Base: src, Index: stride, Scale: 4}, src)
	g.LEAQ(Mem{Base: dst, Index: stride, Scale: 4}, dst)
	g.ADDQ(U32(4*mediumGroup), tg)
	g.SUBQ(U32(mediumGroup), rows)
	g.JMP(LabelRef("medium_group"))

	g.Label("medium_drain")
	g.CMPQ(pendDst, U32(0))
	g.JE(LabelRef("medium_ret"))
	l.losses()
	pass3("medium_outlast")

	g.Label("medium_ret")
	g.groupReturn(done)
}

// ceArgs emits the loads of a short or medium kernel's targets and total
// (see shortCESignature): it returns the targets' address, in a register,
// and the total's slot, the result's, to which the total is copied; the
// kernel keeps its running total there.
func (g *gen) ceArgs() (reg.GPVirtual, Mem) {
	tg := g.GP64()
	g.Load(g.Param("targets").Base(), tg)
	res, err := g.ReturnIndex(1).Resolve()
	if err != nil {
		panic(err)
	}
	x := g.XMM()
	g.Load(g.Param("total"), x)
	g.VMOVSD(x, res.Addr)
	return tg, res.Addr
}

// ceFrame allocates a frame of size bytes aligned to 64 bytes, and returns
// its address, in a register kept for it: the zmm loads and stores of the
// frame then never span two cache lines. With the frame where the stack
// put it, the short kernel measured 0.91 ns per element at 10 columns in
// one build, against 0.81 aligned.
func ceFrame(g *gen, size int) Mem {
	f := g.AllocLocal(size + 56) // the stack pointer is a multiple of 8
	p := g.GP64()
	g.LEAQ(f.Offset(56), p)
	g.ANDQ(I32(-64), p)
	return Mem{Base: p}
}
