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
//     |max| <= 208, so c = 0, and every S not NaN), the eight losses are
//     computed in one zmm register of float64s with lossBatch's log64 and
//     its order of operations:
//
//     loss = max((float64(nm)*ln2 + log64(S)) - (float64(x_t) - 0), 0)
//
//     with nm from the group's biases, whose row r is in float32 lane
//     2*shortSumPos(r) (VPMOVQD takes the even lanes); they are added to
//     the total one by one in row order. A finite row whose x_t is -Inf
//     gets +Inf, as in the fallback;
//   - pass 3 subtracts 1 at lane t of each row's y before it is stored,
//     under the mask of bit t, which is the fallback's grad[t] -= 1 in
//     float32. The targets of the pending group are read again there.
//
// A group that fails a check, and the last rows%8 rows, are left to the
// caller, which runs them through CrossEntropyRowsAVX512 one row at a
// time (a row's total from +0 is its loss) and adds each loss to the
// total, then calls this kernel again with the total for the rest.
//
// Without a gradient there is no pass 3: a group is done once its losses
// are added.
//
// Measured on Zen 5 (ns per element, batches of 2^18 elements of N(0, 4),
// the thread's CPU time, the least of many runs): see
// kernels/impl_amd64.go, crossEntropyRowsAVX512.

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
	shortCEAVX512(g, c, t)
}

func shortCEAVX512(g *gen, c *constTable, t *ceTables) {
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
	a := g.loadGroupArgs()
	dst, src, rows, done, stride, stride3 := a.dst, a.src, a.rows, a.done, a.stride, a.stride3
	km := g.K() // a row's cols lanes
	g.KMOVW(a.kmw, km)
	tg := g.GP64() // the group's targets
	g.Load(g.Param("targets").Base(), tg)
	res, err := g.ReturnIndex(1).Resolve()
	if err != nil {
		panic(err)
	}
	total := res.Addr // the running total, kept in the result's slot
	{
		x := g.XMM()
		g.Load(g.Param("total"), x)
		g.VMOVSD(x, total)
	}

	negInf, reduceLo := g.ZMM(), g.ZMM()
	g.VBROADCASTSS(c.scalar("negInf"), negInf)
	g.VBROADCASTSS(c.scalar("reduceLo"), reduceLo)

	// The frame is SoftmaxShortRowsAVX512's: the current group's biases
	// (then its losses, 8 float64s in the order of the sum tree), the
	// pending group's hi and lo, its s, and its last row's u; then the
	// current group's x_t (8 float32s in the order of the sum tree), and
	// the pending group's targets.
	frame := g.AllocLocal(128 + 64*shortGroup + 64 + 32 + 8)
	lastU := frame.Offset(128 + 64*shortGroup)
	xtAt := frame.Offset(128 + 64*shortGroup + 64)
	ptgAt := frame.Offset(128 + 64*shortGroup + 96)
	biasAt := func(r int) Mem { return frame.Offset(4 * shortMaxPos(r)) }
	hiAt := func(r int) Mem { return frame.Offset(64 + 4*shortSumPos(r)) }
	loAt := func(r int) Mem { return frame.Offset(96 + 4*shortSumPos(r)) }
	sAt := func(r int) Mem { return frame.Offset(128 + 64*r) }

	// body emits the loop over the groups, with a gradient or without; p
	// prefixes its labels.
	body := func(grad bool, p string) {
		var pdst reg.GPVirtual
		if grad {
			pdst = g.GP64()
			g.XORQ(pdst, pdst)
		}
		g.Label(p + "_group")
		g.CMPQ(rows, U32(shortGroup))
		g.JB(LabelRef(p + "_drain"))

		src4, dst4 := g.GP64(), g.GP64()
		g.LEAQ(Mem{Base: src, Index: stride, Scale: 4}, src4)
		if grad {
			g.LEAQ(Mem{Base: dst, Index: stride, Scale: 4}, dst4)
		}
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
			g.scaleBias(c, tt, biasAt(r))
			sc[r] = tt
			ul, uh := g.terms(d, tt)
			g.VADDPD(uh, ul, ul)
			if r%2 == 0 {
				prev = ul
				continue
			}
			s2[r/2] = fold64(prev, ul, 0x44, 0xee)
		}
		g.Comment("The sums of the eight rows: lane i += lane i+2, i+1, shuffled side by side.")
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

		g.Comment("The eight losses, max((nm*ln2 + log64(S)) - (x_t - 0), 0), added to the total in row order.")
		{
			b := &lossBatch{g: g, c: c, t: t, wide: true}
			l := b.log64(sum)
			bv, by, nm := g.ZMM(), g.YMM(), g.ZMM()
			g.VMOVDQU32(frame, bv)
			g.VPMOVQD(bv, by) // the even lanes: row r's bias in lane shortSumPos(r)
			g.VCVTDQ2PD(by, nm)
			g.VSUBPD(nm, b.bcast(t.vec.nmBase()), nm)
			g.VMULPD(b.bcast(t.ln2()), nm, nm)
			g.VADDPD(l, nm, nm) // l
			d, zero := g.ZMM(), g.ZMM()
			g.VCVTPS2PD(xtAt, d)
			g.VPXORQ(zero, zero, zero)
			g.VSUBPD(zero, d, d) // x_t - c, c = 0
			g.VSUBPD(d, nm, nm)
			g.VMAXPD(nm, zero, nm) // never below 0, NaN kept
			g.VMOVUPD(nm, frame)   // over the biases, which pass 2 is done with
			tot := g.XMM()
			g.VMOVSD(total, tot)
			for r := range shortGroup {
				g.VADDSD(frame.Offset(8*shortSumPos(r)), tot, tot)
			}
			g.VMOVSD(tot, total)
		}
		if !grad {
			g.ADDQ(U32(shortGroup), done)
			g.LEAQ(Mem{Base: src4, Index: stride, Scale: 4}, src)
			g.ADDQ(U32(4*shortGroup), tg)
			g.SUBQ(U32(shortGroup), rows)
			g.JMP(LabelRef(p + "_group"))
			g.Label(p + "_drain")
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
				g.normalizeRow(y, sAt(r), hiAt(r), loAt(r))
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
			g.VMOVUPS(sc[r], sAt(r))
		}
		g.MOVQ(tg, ptgAt)
		g.MOVQ(dst, pdst)
		g.LEAQ(Mem{Base: src4, Index: stride, Scale: 4}, src)
		g.LEAQ(Mem{Base: dst4, Index: stride, Scale: 4}, dst)
		g.ADDQ(U32(4*shortGroup), tg)
		g.SUBQ(U32(shortGroup), rows)
		g.JMP(LabelRef(p + "_group"))

		g.Label(p + "_drain")
		g.TESTQ(pdst, pdst)
		g.JZ(LabelRef("ce_ret"))
		pass3()
		g.JMP(LabelRef("ce_ret"))
	}
	g.TESTQ(dst, dst)
	g.JZ(LabelRef("ce_nograd"))
	body(true, "ce_grad")
	g.Label("ce_nograd")
	body(false, "ce_loss")

	g.Label("ce_ret")
	g.Store(done, g.ReturnIndex(0))
	g.VZEROUPPER()
	g.RET()
}
