package main

import (
	"fmt"
	"slices"

	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// The axis kernels: SoftmaxAxis and LogSoftmaxAxis with inner > 1, bit for
// bit fallback.SoftmaxAxis and fallback.LogSoftmaxAxis (fallback/axis.go).
// The tensor is [outer, axis, inner], contiguous; a column is the axis
// elements at one (o, j), inner*4 bytes apart. The kernels vectorize
// across inner: lane l of a vector is column j+l, for groups of 16
// columns j = 0, 16, ... of each slab o (an [axis, inner] matrix); the
// last group of a slab, inner%16 columns wide, is read and written under
// an opmask, so no byte outside the slices is touched. Each lane runs the
// row algorithm on its column, with its own plan and sum:
//
//   - pass 1: m = max(x_k), NaN skipped as rowMax does (VMAXPS with the
//     running max as the source it returns on a NaN), and a mask of the
//     lanes that saw a NaN. Then, lane-wise, planMax: c = m where
//     |m| > largeMax (else 0), t_m = fma(m - c, log2e, 1.5*2^23), bias =
//     127 - bits(t_m).
//   - pass 2: the terms u*s + s in float64, added to two zmm accumulators
//     (lanes 0-7 and 8-15) in the order k = 0, 1, ..., axis-1, from +0:
//     the fallback's one accumulator per column, with sm512's exponential
//     and conversions (softmax.go).
//   - pass 3: Softmax: y = (1 + u) * (hi + lo) * s with each lane's 1/S
//     split into hi + lo, u recomputed from x (the fallback's in-place
//     route; its out-of-place route keeps u in dst, with the same bits).
//     Keeping u in dst, as SoftmaxRows does, measured mixed on AVX-512:
//     about 0.8x the time on [1, 1000, 64], but 1.3x on [16, 21, 1024]
//     and 1.8x with inner = 2, where each step stores and reloads the
//     same few lanes under a mask. The packed groups, which store whole
//     steps without a mask, keep it (see packed512).
//     LogSoftmax: y = float32((float64(x) - float64(c)) - l), with l =
//     float64(nm)*ln2 + log64(S) per lane, the vector log64 of
//     lossBatch (crossentropy.go).
//
// Special columns are decided per lane, with opmasks, and filled in pass
// 3 by masked moves over the computed vector: a column whose max is +Inf,
// that holds a NaN, or whose S is NaN gets the canonical NaN; a column of
// -Inf (with no NaN) gets 0 (Softmax) or -Inf (LogSoftmax). Their lanes
// compute garbage (c may be infinite) that is never stored.
//
// The whole tensor is one call: loops over the slabs, the groups of a
// slab, and the axis within a group. A small inner would leave most
// lanes idle (inner = 2 fills 2 of 16): the AVX-512 kernels pack several
// axis steps of a slab into a vector for inner 2 to 8 (see packed512),
// or for short slabs gather several slabs to a group (see gatherInner);
// the AVX2 kernels pack inner 2 to 4 (see packed256). Both run some wider
// slabs, one step a vector, the packed way too.

// axisConsts are the kernels' float32 constants: softmaxConsts (sm512's
// helpers take theirs from the same table) and the two of the plan.
var axisConsts = slices.Concat(softmaxConsts, []constant{
	{"absMask", 0x7fffffff},
	{"largeMax", largeMaxBits},
})

// cmpEQOQ is the VCMPPS predicate "equal, ordered, quiet".
const cmpEQOQ = 0x00

func generateAxis(g *gen) {
	c := g.constTable("axisconst", axisConsts)
	t := &ceTables{g.log64Table(), g.log64VecTable()}
	axisAVX512(g, c, t, false)
	axisAVX512(g, c, t, true)
	axisAVX2(g, c, t, false)
	axisAVX2(g, c, t, true)
}

// axisSignature is the kernels' Go signature.
const axisSignature = "func(dst, src []float32, outer, axis, inner int)"

// axisArgs holds a kernel's arguments and the loop registers around a
// group of 16 columns.
type axisArgs struct {
	dst, src     reg.GPVirtual // the current slab
	outer, axis  reg.GPVirtual
	stride, slab reg.GPVirtual // inner*4 and axis*inner*4 bytes
	cs, cd       reg.GPVirtual // the current group's first elements
	rem          reg.GPVirtual // the columns of the slab from cs on
	width        int           // the columns of a group: 16, or 8 for AVX2
}

// loadAxisArgs loads the arguments and emits a jump to done for an empty
// tensor.
func loadAxisArgs(g *gen, done string, width int) *axisArgs {
	a := &axisArgs{width: width}
	for _, r := range []*reg.GPVirtual{&a.dst, &a.src, &a.outer, &a.axis, &a.stride, &a.slab, &a.cs, &a.cd, &a.rem} {
		*r = g.GP64()
	}
	g.Load(g.Param("dst").Base(), a.dst)
	g.Load(g.Param("src").Base(), a.src)
	g.Load(g.Param("outer"), a.outer)
	g.Load(g.Param("axis"), a.axis)
	g.Load(g.Param("inner"), a.stride)
	g.SHLQ(U8(2), a.stride)
	g.MOVQ(a.stride, a.slab)
	g.IMULQ(a.axis, a.slab)
	g.TESTQ(a.slab, a.slab)
	g.JZ(LabelRef(done))
	g.TESTQ(a.outer, a.outer)
	g.JZ(LabelRef(done))
	return a
}

// loops emits the loops over the slabs and their groups of columns around
// group, which is emitted once; group runs over the columns at cs and cd
// (each advancing by the stride) under its lanes' mask.
func (a *axisArgs) loops(g *gen, name string, setMask func(rem reg.GPVirtual), group func()) {
	g.Label(name + "_slab")
	g.MOVQ(a.src, a.cs)
	g.MOVQ(a.dst, a.cd)
	g.MOVQ(a.stride, a.rem)
	g.SHRQ(U8(2), a.rem) // inner
	g.Label(name + "_group")
	setMask(a.rem)
	group()
	g.ADDQ(U32(4*a.width), a.cs)
	g.ADDQ(U32(4*a.width), a.cd)
	g.SUBQ(U32(a.width), a.rem)
	g.JG(LabelRef(name + "_group"))
	g.ADDQ(a.slab, a.src)
	g.ADDQ(a.slab, a.dst)
	g.DECQ(a.outer)
	g.JNZ(LabelRef(name + "_slab"))
}

// axisLoop emits a loop of axis steps over the group, with p at cs and q
// at cd, each advancing by the stride.
func (a *axisArgs) axisLoop(g *gen, label string, p, q, i reg.GPVirtual, body func(p, q Mem)) {
	g.MOVQ(a.cs, p)
	if q != nil {
		g.MOVQ(a.cd, q)
	}
	g.MOVQ(a.axis, i)
	g.Label(label)
	body(Mem{Base: p}, Mem{Base: q})
	g.ADDQ(a.stride, p)
	if q != nil {
		g.ADDQ(a.stride, q)
	}
	g.DECQ(i)
	g.JNZ(LabelRef(label))
}

// packedLoop emits the loop over the steps of a packed group (see
// packed512), with p from cs and q (if not nil) from cd: vectors of n
// elements while width are left, so that a vector's whole load stays in
// the slab, then the rest, fewer than width, as one last vector. whole
// is called with true and false around the emission of the first
// vectors' body, and last with the count of the last vector's elements,
// before its body.
func (a *axisArgs) packedLoop(g *gen, label string, p, q, i reg.GPVirtual, width, n int,
	whole func(on bool), last func(i reg.GPVirtual), body func(p, q Mem, tail bool)) {
	g.MOVQ(a.cs, p)
	if q != nil {
		g.MOVQ(a.cd, q)
	}
	g.MOVQ(a.slab, i)
	g.SHRQ(U8(2), i) // the elements left
	g.CMPQ(i, U32(width))
	g.JB(LabelRef(label + "_last"))
	g.Label(label)
	whole(true)
	body(Mem{Base: p}, Mem{Base: q}, false)
	whole(false)
	g.ADDQ(U32(4*n), p)
	if q != nil {
		g.ADDQ(U32(4*n), q)
	}
	g.SUBQ(U32(n), i)
	g.CMPQ(i, U32(width))
	g.JAE(LabelRef(label))
	g.Label(label + "_last")
	g.TESTQ(i, i)
	g.JZ(LabelRef(label + "_end"))
	last(i)
	body(Mem{Base: p}, Mem{Base: q}, true)
	g.Label(label + "_end")
}

// outOfPlace emits f under a check that skips it where dst is src.
func (a *axisArgs) outOfPlace(g *gen, label string, f func()) {
	skip := uniqueLabel(label + "_inplace")
	g.CMPQ(a.cs, a.cd)
	g.JE(LabelRef(skip))
	f()
	g.Label(skip)
}

// byPlace emits out, run where dst is not src, and in, run where it is.
func (a *axisArgs) byPlace(g *gen, label string, out, in func()) {
	g.CMPQ(a.cs, a.cd)
	g.JE(LabelRef(label + "_inplace"))
	out()
	g.JMP(LabelRef(label + "_placed"))
	g.Label(label + "_inplace")
	in()
	g.Label(label + "_placed")
}

// axisKernel returns the name of an axis kernel for the given form and
// instruction set, the fallback form it repeats (Softmax, LogSoftmax),
// and the prefix of its labels.
func axisKernel(log bool, isa string) (name, form, label string) {
	form, label = "Softmax", "ax"
	if log {
		form, label = "LogSoftmax", "lax"
	}
	return form + "Axis" + isa, form, label + isa
}

func axisAVX512(g *gen, c *constTable, t *ceTables, log bool) {
	name, doc, label := axisKernel(log, "AVX512")
	g.function(name, axisSignature,
		[]string{"AVX", "AVX512F", "CMOV", "FMA3", "SSE", "SSE2"},
		name+" applies "+doc+" along the middle axis of the contiguous",
		"[outer, axis, inner] tensor src, with the bits of fallback."+doc+"Axis",
		"for inner > 1. The caller checks the arguments: outer*axis*inner",
		"elements in each slice, and dst is src or does not overlap it. It",
		"requires AVX-512F.",
	)
	done := label + "_done"
	a := loadAxisArgs(g, done, 16)
	s := newSM512(g, c, label)
	bcast := func(n string) reg.VecVirtual {
		v := g.ZMM()
		g.VBROADCASTSS(c.scalar(n), v)
		return v
	}
	negInf, posInf, nan := bcast("negInf"), bcast("posInf"), bcast("nan")
	km := g.K() // the group's lanes
	contiguous := laneIO{
		label: label,
		load: func(p Mem) reg.VecVirtual {
			x := g.ZMM()
			g.VMOVUPS_Z(p, km, x)
			return x
		},
		store: func(v reg.VecVirtual, q Mem) { g.VMOVUPS(v, km, q) },
	}

	group := func(io laneIO, steps stepLoop, pk *packed512) {
		g.Comment("Pass 1: each lane's max, NaN skipped, and its NaNs.")
		mx := g.ZMM()
		g.VMOVAPS(negInf, mx)
		kn := g.K()
		g.KXORW(kn, kn, kn)
		steps(io.label+"_max", s.p, nil, func(p, _ Mem, tail bool) {
			x := io.load(p)
			if tail {
				g.VMAXPS(mx, x, km, mx) // the lanes past the tail keep -Inf
			} else {
				g.VMAXPS(mx, x, mx) // Intel's src2 is mx: a NaN x leaves it
			}
			kt := g.K()
			g.VCMPPS(U8(cmpUnord), x, x, kt)
			g.KORW(kt, kn, kn)
		})
		if pk != nil && pk.per > 1 {
			pk.fold(mx, kn)
		}

		g.Comment("The plan: c = m where |m| > largeMax, else 0; bias = 127 - bits(t_m).")
		absm := g.ZMM()
		g.VPANDD_BCST(c.scalar("absMask"), mx, absm)
		kl := g.K()
		g.VCMPPS_BCST(U8(cmpGTOQ), c.scalar("largeMax"), absm, kl) // |m| > largeMax
		g.VPXORD(s.cv, s.cv, s.cv)
		g.VMOVAPS(mx, kl, s.cv)
		d := g.ZMM()
		g.VSUBPS(s.cv, mx, d)
		tm := s.roundT([]reg.VecVirtual{d})[0]
		g.VPBROADCASTD(c.scalar("bias127"), s.biasv)
		g.VPSUBD(tm, s.biasv, s.biasv)
		var nm reg.VecVirtual
		if log {
			nm = g.ZMM()
			g.VPSUBD(s.k["magic"], tm, nm) // nm = bits(t_m) - bits(1.5*2^23)
		}
		g.Comment("Special lanes: NaN where m is +Inf or a NaN was seen; masked where m is -Inf and none was.")
		knan, kmasked, kt := g.K(), g.K(), g.K()
		g.VCMPPS(U8(cmpEQOQ), posInf, mx, kt)
		g.KORW(kt, kn, knan)
		g.VCMPPS(U8(cmpEQOQ), negInf, mx, kt)
		g.KNOTW(kn, kn)
		g.KANDW(kn, kt, kmasked)

		g.Comment("Pass 2: S = sum of u*s + s in float64, lanes 0-7 and 8-15, in axis order.")
		accLo, accHi := g.ZMM(), g.ZMM()
		g.VPXORQ(accLo, accLo, accLo)
		g.VPXORQ(accHi, accHi, accHi)
		var keep *axisArgs // where not nil, u is kept in dst unless dst is src
		var q reg.GPVirtual
		if pk != nil && !log {
			keep, q = a, s.q
		}
		steps(io.label+"_sum", s.p, q, func(p, q Mem, tail bool) {
			xs, ts := terms512(s, io, p)
			if keep != nil {
				a.outOfPlace(g, io.label, func() { io.store(xs[0], q) })
			}
			if pk == nil || pk.per == 1 { // one step a vector: lanes are columns
				s.addTerms(xs, ts, accLo, accHi)
			} else {
				pk.addSteps(xs[0], ts[0], accLo, tail)
			}
		})
		if pk != nil && pk.per > 1 {
			pk.spread(accLo, accHi)
		}
		g.Comment("A NaN S makes its lane NaN.")
		ka, kb := g.K(), g.K()
		g.VCMPPD(U8(cmpUnord), accLo, accLo, ka)
		g.VCMPPD(U8(cmpUnord), accHi, accHi, kb)
		g.KUNPCKBW(ka, kb, kt) // lanes 0-7 from ka, 8-15 from kb
		g.KORW(kt, knan, knan)

		// The masked lanes' S is NaN too (their c is -Inf), hence the
		// order: NaN first, then the masked lanes, which saw no NaN.
		fill := func(y reg.VecVirtual, masked reg.VecVirtual) {
			g.VMOVAPS(nan, knan, y)
			g.VMOVAPS(masked, kmasked, y)
		}
		if log {
			logAxis512(g, t, s, steps, io, nm, accLo, accHi, func(y reg.VecVirtual) { fill(y, negInf) })
		} else {
			softmaxAxis512(g, t, s, steps, io, keep, accLo, accHi, func(y reg.VecVirtual) { fill(y, s.zero) })
		}
	}
	// axisSteps runs a group's steps one column vector at a time.
	axisSteps := func(label string, p, q reg.GPVirtual, body func(p, q Mem, tail bool)) {
		a.axisLoop(g, label, p, q, s.i, func(p, q Mem) { body(p, q, false) })
	}
	// setMask sets km to the first min(n, 16) lanes.
	setMask := func(n reg.GPVirtual) {
		full := uniqueLabel(label + "_full")
		bits := g.GP32()
		g.MOVL(U32(0xffff), bits)
		g.CMPQ(n, U32(16))
		g.JAE(LabelRef(full))
		tbl := g.GP64()
		g.LEAQ(g.tailMask16(), tbl)
		g.MOVWLZX(Mem{Base: tbl, Index: n, Scale: 2}, bits)
		g.Label(full)
		g.KMOVW(bits, km)
	}

	g.Comment("Gather short slabs of at most 4 columns where a group's lanes would hold 8 columns or more.")
	g.CMPQ(a.stride, U32(4*gatherInner))
	g.JA(LabelRef(label + "_pack"))
	maxSlab := gatherMaxSlab
	if log {
		maxSlab = gatherMaxSlabLog
	}
	g.CMPQ(a.slab, U32(4*maxSlab))
	g.JAE(LabelRef(label + "_pack"))
	cols := g.GP64()
	g.MOVQ(a.outer, cols)
	g.IMULQ(a.stride, cols)
	g.CMPQ(cols, U32(4*gatherMinCols))
	g.JAE(LabelRef(label + "_gather"))
	g.Label(label + "_pack")
	inners := packedInners(log)
	for _, inner := range inners {
		g.CMPQ(a.stride, U32(4*inner))
		g.JE(LabelRef(fmt.Sprintf("%s_p%d", label, inner)))
	}
	g.Label(label + "_wide")
	a.loops(g, label, func(rem reg.GPVirtual) {
		g.Comment("The group's mask: 16 lanes, or the slab's last inner%16.")
		setMask(rem)
	}, func() { group(contiguous, axisSteps, nil) })
	g.JMP(LabelRef(done))

	g.Label(label + "_gather")
	gatherSlabs(g, a, label, setMask, km, func(io laneIO) { group(io, axisSteps, nil) })
	g.JMP(LabelRef(done))

	for _, inner := range inners {
		pk := &packed512{g: g, s: s, a: a, km: km, inner: inner, per: 16 / inner}
		if pk.per > 1 {
			pk.pat = g.packTable().Offset(192 * (inner - 2))
		}
		io := pk.io(contiguous)
		io.label = fmt.Sprintf("%s_p%d", label, inner)
		g.Label(io.label)
		g.Label(io.label + "_slab")
		g.MOVQ(a.src, a.cs)
		g.MOVQ(a.dst, a.cd)
		group(io, func(label string, p, q reg.GPVirtual, body func(p, q Mem, tail bool)) {
			pk.steps(label, p, q, s.i, body)
		}, pk)
		g.ADDQ(a.slab, a.src)
		g.ADDQ(a.slab, a.dst)
		g.DECQ(a.outer)
		g.JNZ(LabelRef(io.label + "_slab"))
		if inner != inners[len(inners)-1] {
			g.JMP(LabelRef(done))
		}
	}
	g.Label(done)
	g.VZEROUPPER()
	g.RET()
}

// A narrow tensor, inner <= gatherInner, would leave most lanes of a
// group of columns idle, so the AVX-512 kernels take such a tensor
// per = 16/inner whole slabs a group instead: lane l is column l%inner
// of slab l/inner, and the group's elements at step k are gathered
// (VGATHERDPS) and pass 3's results scattered (VSCATTERDPS) with the
// indices (l/inner)*axis*inner + l%inner from the group's first element.
// The lanes are independent, so this changes no bits. The indices are
// int32s, far from overflowing: the path is taken only for slabs below
// gatherMaxSlabLog elements.
//
// Gathers and scatters are slow (on Zen 5 the gathered kernel ran at
// about 1.9 ns per element whatever inner), so the path pays only where
// few lanes would be used: measured on [n, 64, inner], 2.0 against 4.3
// ns per element at inner = 2, 1.9 against 2.1 at 4, but 2.4 against 1.4
// at 6 and 1.8 against 1.0 at 8. A gather costs about the same whatever
// its mask, so the path is taken only when the tensor has columns for at
// least gatherMinCols lanes (outer*inner >= 8): [1, 32000, 2], with 2
// lanes a gather, took 15 ns per element gathered and 4.2 without.
//
// Packing a slab's steps (packed512) beats gathering except on the
// shortest slabs, where a group's fixed work (folding pass 1, the plan,
// 1/S) is spread over few elements. Measured on [n, axis, inner] of 64k
// elements, ns per element gathered against packed: inner 2, axis 2, 4,
// 8, 16: 1.95 against 7.8, 1.78 against 4.5, 1.79 against 1.96, 1.73
// against 1.34; inner 3, axis 4, 8: 1.93 against 2.12, 1.84 against 1.44;
// inner 4, axis 2, 4: 1.92 against 3.14, 1.76 against 1.40. So slabs
// below gatherMaxSlab = 16 elements are gathered, longer ones packed.
// LogSoftmax's fixed work is larger (log64 of the sums, per group), and
// its crossing later: gathered against packed, inner 2, axis 8, 16, 24,
// 32: 2.0 against 3.1, 1.61-1.70 against 1.82-1.87, 1.59-1.73 against
// 1.45-1.49, 1.5-2.3 against 1.3; inner 3, axis 8, 11, 12, 16: 2.2-2.5
// against 2.6-2.7, 1.77-1.84 against 2.09-2.14, 1.81-2.12 against
// 1.93-1.99, 1.76-1.86 against 1.72-1.74; inner 4, axis 4, 8, 12: 2.2-2.5
// against 2.7-2.8, 1.78-1.90 against 1.60-1.91, 1.70-1.87 against
// 1.27-1.36. So its slabs below gatherMaxSlabLog = 48 elements are
// gathered.
const (
	gatherInner      = 4
	gatherMinCols    = 8
	gatherMaxSlab    = 16
	gatherMaxSlabLog = 48
)

// gatherSlabs emits the loop over the groups of whole slabs of a narrow
// tensor, with group(io) the group's passes; setMask sets km to the
// first n lanes.
func gatherSlabs(g *gen, a *axisArgs, label string, setMask func(n reg.GPVirtual), km reg.Register, group func(io laneIO)) {
	frame := g.AllocLocal(64 + 16)
	idx, perSlabs, groupBytes := frame, frame.Offset(64), frame.Offset(72)
	g.Comment("per = 16/inner slabs a group, of per*axis*inner*4 bytes.")
	inner, per, n := g.GP64(), g.GP64(), g.GP64()
	g.MOVQ(a.stride, inner)
	g.SHRQ(U8(2), inner)
	g.XORQ(per, per)
	g.MOVQ(inner, n)
	g.Label(label + "_per")
	g.CMPQ(n, U32(16))
	g.JA(LabelRef(label + "_perdone"))
	g.INCQ(per)
	g.ADDQ(inner, n)
	g.JMP(LabelRef(label + "_per"))
	g.Label(label + "_perdone")
	g.MOVQ(per, perSlabs)
	g.MOVQ(a.slab, n)
	g.IMULQ(per, n)
	g.MOVQ(n, groupBytes)
	g.Comment("The lanes' indices, in elements: v = (l/inner)*axis*inner + l%inner.")
	v, j, jump := g.GP64(), g.GP64(), g.GP64()
	g.XORQ(v, v)
	g.XORQ(j, j)
	g.MOVQ(a.slab, jump)
	g.SHRQ(U8(2), jump)
	g.SUBQ(inner, jump) // from the end of a slab's columns to the next slab's
	for l := range 16 {
		next := uniqueLabel(label + "_idx")
		g.MOVL(v.As32(), idx.Offset(4*l))
		g.INCQ(v)
		g.INCQ(j)
		g.CMPQ(j, inner)
		g.JNE(LabelRef(next))
		g.XORQ(j, j)
		g.ADDQ(jump, v)
		g.Label(next)
	}
	idxv := g.ZMM()
	g.VMOVDQU32(idx, idxv)
	gathered := laneIO{
		label: label + "g",
		load: func(p Mem) reg.VecVirtual {
			k, x := g.K(), g.ZMM()
			g.KMOVW(km, k) // the gather clears its mask
			g.VPXORD(x, x, x)
			g.VGATHERDPS(Mem{Base: p.Base, Index: idxv, Scale: 4}, k, x)
			return x
		},
		store: func(x reg.VecVirtual, q Mem) {
			k := g.K()
			g.KMOVW(km, k)
			g.VSCATTERDPS(x, k, Mem{Base: q.Base, Index: idxv, Scale: 4})
		},
	}
	g.MOVQ(a.outer, a.rem) // slabs left
	g.Label(label + "_gslab")
	g.Comment("The group's mask: per*inner lanes, or inner for each slab left.")
	lanes := g.GP64()
	g.MOVQ(perSlabs, lanes)
	g.CMPQ(a.rem, lanes)
	g.CMOVQLT(a.rem, lanes)
	g.IMULQ(a.stride, lanes)
	g.SHRQ(U8(2), lanes)
	setMask(lanes)
	g.MOVQ(a.src, a.cs)
	g.MOVQ(a.dst, a.cd)
	group(gathered)
	g.ADDQ(groupBytes, a.src)
	g.ADDQ(groupBytes, a.dst)
	g.SUBQ(perSlabs, a.rem)
	g.JG(LabelRef(label + "_gslab"))
}

// laneIO is how an AVX-512 axis kernel reads and writes the lanes of a
// group of columns.
type laneIO struct {
	label string                        // the prefix of the group's labels
	load  func(p Mem) reg.VecVirtual    // the group's lanes at p, zeros in the others
	store func(v reg.VecVirtual, q Mem) // the group's lanes of v at q
}

// terms512 loads the group's lanes at p and returns their u and s (as
// one-vector slices), the exponential of passes 2 and 3.
func terms512(s *sm512, io laneIO, p Mem) (us, ss []reg.VecVirtual) {
	us = []reg.VecVirtual{io.load(p)}
	s.reduce(us)
	ss = s.expU(us)
	s.scale(ss, nil)
	return us, ss
}

// softmaxAxis512 emits pass 3 of SoftmaxAxisAVX512 for the group: 1/S per
// lane, split, and the outputs, filled by fill in the special lanes.
func softmaxAxis512(g *gen, t *ceTables, s *sm512, steps stepLoop, io laneIO, keep *axisArgs,
	accLo, accHi reg.VecVirtual, fill func(y reg.VecVirtual)) {
	g.Comment("1/S per lane as float32 hi + lo.")
	one := g.ZMM()
	g.VBROADCASTSD(t.one(), one)
	var hi, lo [2]reg.VecVirtual
	for i, acc := range []reg.VecVirtual{accLo, accHi} {
		inv := g.ZMM()
		g.VDIVPD(acc, one, inv)
		hi[i], lo[i] = g.YMM(), g.YMM()
		g.VCVTPD2PS(inv, hi[i])
		hi64 := g.ZMM()
		g.VCVTPS2PD(hi[i], hi64)
		g.VSUBPD(hi64, inv, inv)
		g.VCVTPD2PS(inv, lo[i])
	}
	hiv, lov := joinY(g, hi), joinY(g, lo)
	recompute := func() {
		g.Comment("Pass 3: y = (1 + u) * (hi + lo) * s, u recomputed.")
		steps(io.label+"_out", s.p, s.q, func(p, q Mem, _ bool) {
			xs, ts := terms512(s, io, p)
			s.normalize(xs, ts, hiv, lov)
			fill(xs[0])
			io.store(xs[0], q)
		})
	}
	if keep == nil {
		recompute()
		return
	}
	keep.byPlace(g, io.label+"_out", func() {
		g.Comment("Pass 3: y = (1 + u) * (hi + lo) * s, u from dst.")
		steps(io.label+"_outk", s.p, s.q, func(p, q Mem, _ bool) {
			xs := []reg.VecVirtual{io.load(p)}
			s.reduce(xs)
			ts := s.roundT(xs)
			s.scale(ts, nil)
			us := []reg.VecVirtual{io.load(q)}
			s.normalize(us, ts, hiv, lov)
			fill(us[0])
			io.store(us[0], q)
		})
	}, recompute)
}

// logAxis512 emits pass 3 of LogSoftmaxAxisAVX512 for the group: l =
// float64(nm)*ln2 + log64(S) per lane, and the outputs, filled by fill in
// the special lanes.
func logAxis512(g *gen, t *ceTables, s *sm512, steps stepLoop, io laneIO,
	nm, accLo, accHi reg.VecVirtual, fill func(y reg.VecVirtual)) {
	g.Comment("l = float64(nm)*ln2 + log64(S) and float64(c), lanes 0-7 and 8-15.")
	lb := &lossBatch{g: g, t: t, wide: true}
	ln2 := lb.bcast(t.ln2())
	var l, c64 [2]reg.VecVirtual
	for i, acc := range []reg.VecVirtual{accLo, accHi} {
		nmh, ch := halfY(g, nm, i), halfY(g, s.cv, i)
		l[i], c64[i] = g.ZMM(), g.ZMM()
		g.VCVTDQ2PD(nmh, l[i])
		g.VMULPD(ln2, l[i], l[i])
		g.VADDPD(lb.log64(acc), l[i], l[i])
		g.VCVTPS2PD(ch, c64[i])
	}
	g.Comment("Pass 3: y = float32(min((float64(x) - float64(c)) - l, 0)).")
	zero := g.ZMM()
	g.VPSUBQ(zero, zero, zero) // a zeroing idiom avo knows, in AVX-512F
	steps(io.label+"_out", s.p, s.q, func(p, q Mem, _ bool) {
		x := io.load(p)
		var h [2]reg.VecVirtual
		for i := range h {
			x64 := g.ZMM()
			g.VCVTPS2PD(halfY(g, x, i), x64)
			g.VSUBPD(c64[i], x64, x64)
			g.VSUBPD(l[i], x64, x64)
			g.VMINPD(x64, zero, x64) // never above 0, -0 and NaN kept (fallback.logProb)
			h[i] = g.YMM()
			g.VCVTPD2PS(x64, h[i])
		}
		y := joinY(g, h)
		fill(y)
		io.store(y, q)
	})
}

// halfY returns lanes 0-7 (i = 0) or 8-15 (i = 1) of the zmm v as a ymm
// register, extracting the upper half into a new one.
func halfY(g *gen, v reg.VecVirtual, i int) reg.Register {
	if i == 0 {
		return v.AsY()
	}
	y := g.YMM()
	g.VEXTRACTF64X4(U8(1), v, y)
	return y
}

// joinY returns a new zmm register holding h[0] in lanes 0-7 and h[1] in
// lanes 8-15.
func joinY(g *gen, h [2]reg.VecVirtual) reg.VecVirtual {
	z := g.ZMM()
	g.VINSERTF64X4(U8(1), h[1], h[0].AsZ(), z)
	return z
}

// The AVX2 kernels take 8 columns a group, one ymm register: each lane's
// result depends on its column alone, so the width of a group changes no
// bits, and with 16 ymm registers one vector per step leaves the
// registers for the exponential. A group's per-lane values (c, bias, the
// special lanes, 1/S or l) live in the frame, where sm256's helpers take
// c and bias from. The slab's last inner%8 columns are read with
// VMASKMOVPS, or through the stack where the 32 bytes read would cross a
// page (see elementwise256 in lib.go), and written with VMASKMOVPS.
// Slabs of 2 to 4 columns pack several axis steps a vector, and slabs of
// 5 to 8 run one step a vector the same way (packed256).

// ax256 is the state of an AVX2 axis kernel.
type ax256 struct {
	*sm256
	a    *axisArgs
	mptr reg.GPVirtual // the VMASKMOVPS mask of the last group's lanes

	nan, masked Mem    // the special lanes, -1 where they are, 8 int32s
	hi, lo      Mem    // Softmax: 1/S split, 8 float32s
	nm          Mem    // LogSoftmax: nm, 8 int32s
	l, c64      [2]Mem // LogSoftmax: l and float64(c), lanes 0-3 and 4-7

	// stepLanes, if not 0, makes the stores of whole vectors write that
	// many lanes alone, for the packed groups (below 8 with inner 3, 5, 6
	// and 7).
	stepLanes int
}

// load returns the group's 8 lanes at p; a tail group's other lanes are 0.
func (x *ax256) load(p Mem, tail bool) reg.VecVirtual {
	g := x.g
	v := g.YMM()
	if !tail {
		g.VMOVUPS(p, v)
		return v
	}
	viaStack, loaded := uniqueLabel(x.label("tailcopy")), uniqueLabel(x.label("tailloaded"))
	page := g.GP64()
	g.LEAQ(p, page)
	g.ANDQ(U32(4095), page)
	g.CMPQ(page, U32(4096-32))
	g.JA(LabelRef(viaStack))
	m := g.YMM()
	g.VMOVDQU(Mem{Base: x.mptr}, m)
	g.VMASKMOVPS(p, m, v)
	g.JMP(LabelRef(loaded))
	g.Label(viaStack)
	g.VXORPS(v, v, v)
	g.VMOVUPS(v, x.buf)
	g.copyTail(uniqueLabel(x.label("copy")), x.buf, p, x.a.rem)
	g.VMOVUPS(x.buf, v)
	g.Label(loaded)
	return v
}

// terms is terms512 for AVX2.
func (x *ax256) terms(p Mem, tail bool) (us, ss []reg.VecVirtual) {
	us = []reg.VecVirtual{x.load(p, tail)}
	x.reduce(us)
	ss = x.expU(us)
	x.scale(ss, nil)
	return us, ss
}

// setTail points mptr at the VMASKMOVPS mask of the first n < 8 lanes:
// lane 16 - n of tailmask8.
func (x *ax256) setTail(n reg.GPVirtual) {
	g := x.g
	off := g.GP64()
	g.MOVQ(U32(16), off)
	g.SUBQ(n, off)
	g.LEAQ(g.tailMask8(), x.mptr)
	g.LEAQ(Mem{Base: x.mptr, Index: off, Scale: 4}, x.mptr)
}

// store stores the group's lanes of v at q.
func (x *ax256) store(v reg.VecVirtual, q Mem, tail bool) {
	g := x.g
	if !tail {
		if n := x.stepLanes; n != 0 && n < 8 {
			// Moves of 4, 2 and 1 lanes by the bits of n, 5 to 7.
			h := v.AsX()
			g.VMOVUPS(h, q)
			if n > 4 {
				h = g.XMM()
				g.VEXTRACTF128(U8(1), v, h)
			}
			at := 4
			if n&2 != 0 {
				g.VMOVQ(h, q.Offset(4*at))
				at += 2
			}
			if n&1 != 0 {
				g.VEXTRACTPS(U8(at%4), h, q.Offset(4*at))
			}
			return
		}
		g.VMOVUPS(v, q)
		return
	}
	m := g.YMM()
	g.VMOVDQU(Mem{Base: x.mptr}, m)
	g.VMASKMOVPS(v, m, q)
}

// fill writes the canonical NaN and masked (a constant's name) into the
// special lanes of y.
func (x *ax256) fill(y reg.VecVirtual, masked string) {
	g := x.g
	for _, f := range []struct {
		lanes Mem
		value string
	}{{x.nan, "nan"}, {x.masked, masked}} { // NaN first: see axisAVX512
		m := g.YMM()
		g.VMOVDQU(f.lanes, m)
		g.VBLENDVPS(m, x.c.ymm(f.value), y, y)
	}
}

func axisAVX2(g *gen, c *constTable, t *ceTables, log bool) {
	name, form, label := axisKernel(log, "AVX2")
	g.function(name, axisSignature,
		[]string{"AVX", "AVX2", "CMOV", "FMA3", "SSE", "SSE2"},
		name+" is "+form+"AxisAVX512 for AVX2 and FMA3.",
	)
	done := label + "_done"
	a := loadAxisArgs(g, done, 8)
	x := &ax256{sm256: newSM256(g, c, label), a: a, mptr: g.GP64()}
	frame := g.AllocLocal(32 * 8)
	x.nan, x.masked = frame, frame.Offset(32)
	x.hi, x.lo, x.nm = frame.Offset(64), frame.Offset(96), frame.Offset(64)
	x.l = [2]Mem{frame.Offset(128), frame.Offset(160)}
	x.c64 = [2]Mem{frame.Offset(192), frame.Offset(224)}

	// columns runs a group's steps one column vector at a time, tail
	// where the group is the slab's last inner%8 columns.
	columns := func(tail bool) stepLoop {
		return func(label string, p, q reg.GPVirtual, body func(p, q Mem, tail bool)) {
			a.axisLoop(g, label, p, q, x.i, func(p, q Mem) { body(p, q, tail) })
		}
	}
	for _, inner := range packedInners256 {
		g.CMPQ(a.stride, U32(4*inner))
		g.JE(LabelRef(fmt.Sprintf("%s_p%d", label, inner)))
	}
	a.loops(g, label, func(rem reg.GPVirtual) {}, func() {
		g.CMPQ(a.rem, U32(8))
		g.JB(LabelRef(label + "_tail"))
		x.group(t, log, "", columns(false), nil)
		g.JMP(LabelRef(label + "_next"))
		g.Label(label + "_tail")
		g.Comment("The slab's last inner%8 columns.")
		x.setTail(a.rem)
		x.group(t, log, "_tail", columns(true), nil)
		g.Label(label + "_next")
	})
	for _, inner := range packedInners256 {
		g.JMP(LabelRef(done))
		suffix := fmt.Sprintf("_p%d", inner)
		g.Label(label + suffix)
		pk := newPacked256(x, inner)
		g.Label(label + suffix + "_slab")
		g.MOVQ(a.src, a.cs)
		g.MOVQ(a.dst, a.cd)
		x.group(t, log, suffix, pk.steps, pk)
		g.ADDQ(a.slab, a.src)
		g.ADDQ(a.slab, a.dst)
		g.DECQ(a.outer)
		g.JNZ(LabelRef(label + suffix + "_slab"))
	}
	g.Label(done)
	g.VZEROUPPER()
	g.RET()
}

// group emits the three passes over a group of 8 columns, or of the
// slab's last inner%8 if tail.
func (x *ax256) group(t *ceTables, log bool, suffix string, steps stepLoop, pk *packed256) {
	g, c := x.g, x.c
	label := func(n string) string { return x.label(n + suffix) }
	g.Comment("Pass 1: each lane's max, NaN skipped, and its NaNs.")
	mx, nan := g.YMM(), g.YMM()
	g.VMOVUPS(c.ymm("negInf"), mx)
	g.VXORPS(nan, nan, nan)
	steps(label("max"), x.p, nil, func(p, _ Mem, tail bool) {
		v := x.load(p, tail)
		if pk != nil && tail {
			pk.pad(v) // -Inf past the tail, which leaves the max alone
		}
		g.VMAXPS(mx, v, mx) // Intel's src2 is mx: a NaN v leaves it
		g.VCMPPS(U8(cmpUnord), v, v, v)
		g.VORPS(v, nan, nan)
	})
	if pk != nil {
		pk.fold(mx, nan)
	}
	g.Comment("The plan: c = m where |m| > largeMax, else 0; bias = 127 - bits(t_m).")
	cv := g.YMM()
	g.VANDPS(c.ymm("absMask"), mx, cv)
	g.VCMPPS(U8(cmpGTOQ), c.ymm("largeMax"), cv, cv) // |m| > largeMax
	g.VANDPS(mx, cv, cv)
	g.VMOVUPS(cv, x.cv)
	tm := g.YMM()
	g.VSUBPS(cv, mx, tm)
	tm = x.roundT([]reg.VecVirtual{tm})[0]
	bias := g.YMM()
	g.VMOVDQU(c.ymm("bias127"), bias)
	g.VPSUBD(tm, bias, bias)
	g.VMOVDQU(bias, x.biasv)
	if log {
		g.VPSUBD(c.ymm("magic"), tm, tm) // nm = bits(t_m) - bits(1.5*2^23)
		g.VMOVDQU(tm, x.nm)
	}
	g.Comment("Special lanes: NaN where m is +Inf or a NaN was seen; masked where m is -Inf and none was.")
	eq := g.YMM()
	g.VCMPPS(U8(cmpEQOQ), c.ymm("negInf"), mx, eq)
	g.VANDNPS(eq, nan, eq) // -Inf and no NaN
	g.VMOVUPS(eq, x.masked)
	g.VCMPPS(U8(cmpEQOQ), c.ymm("posInf"), mx, mx)
	g.VORPS(mx, nan, nan)

	g.Comment("Pass 2: S = sum of u*s + s in float64, lanes 0-3 and 4-7, in axis order.")
	acc := [2]reg.VecVirtual{g.YMM(), g.YMM()}
	for _, v := range acc {
		g.VXORPD(v, v, v)
	}
	keep := pk != nil && !log // u kept in dst unless dst is src
	var q reg.GPVirtual
	if keep {
		q = x.q
	}
	steps(label("sum"), x.p, q, func(p, q Mem, tail bool) {
		v, ts := x.terms(p, tail)
		if keep {
			x.a.outOfPlace(g, label("sum"), func() { x.store(v[0], q, tail) })
		}
		if pk != nil && pk.n > pk.inner { // several steps a vector (one: columns)
			pk.addSteps(v[0], ts[0], acc[0], tail)
			return
		}
		for h := range acc {
			g.VADDPD(terms256(g, v[0], ts[0], h), acc[h], acc[h])
		}
	})
	if pk != nil {
		pk.spread(acc)
	}
	g.Comment("A NaN S makes its lane NaN.")
	s32 := x.join(func(h int, dst reg.VecVirtual) { g.VCVTPD2PSY(acc[h], dst) })
	g.VCMPPS(U8(cmpUnord), s32, s32, s32)
	g.VORPS(s32, nan, nan)
	g.VMOVUPS(nan, x.nan)

	if log {
		x.logOut(t, acc, label, steps)
	} else {
		x.softmaxOut(t, acc, label, steps, keep)
	}
}

// join returns a new ymm register whose lanes 0-3 and 4-7 half(0, X) and
// half(1, X) set in the xmm register X they are given.
func (x *ax256) join(half func(h int, dst reg.VecVirtual)) reg.VecVirtual {
	g := x.g
	lo, hi := g.XMM(), g.XMM()
	half(0, lo)
	half(1, hi)
	y := g.YMM()
	g.VINSERTF128(U8(1), hi, lo.AsY(), y)
	return y
}

// softmaxOut emits pass 3 of SoftmaxAxisAVX2: 1/S split, then the
// outputs.
func (x *ax256) softmaxOut(t *ceTables, acc [2]reg.VecVirtual, label func(string) string, steps stepLoop, keep bool) {
	g := x.g
	g.Comment("1/S per lane as float32 hi + lo.")
	one := g.YMM()
	g.VBROADCASTSD(t.one(), one)
	var inv [2]reg.VecVirtual
	for h := range acc {
		inv[h] = g.YMM()
		g.VDIVPD(acc[h], one, inv[h])
	}
	hi := x.join(func(h int, dst reg.VecVirtual) { g.VCVTPD2PSY(inv[h], dst) })
	g.VMOVUPS(hi, x.hi)
	lo := x.join(func(h int, dst reg.VecVirtual) {
		hi64 := g.YMM()
		g.VCVTPS2PD(x.hi.Offset(16*h), hi64)
		g.VSUBPD(hi64, inv[h], hi64)
		g.VCVTPD2PSY(hi64, dst)
	})
	g.VMOVUPS(lo, x.lo)
	recompute := func() {
		g.Comment("Pass 3: y = (1 + u) * (hi + lo) * s, u recomputed.")
		steps(label("out"), x.p, x.q, func(p, q Mem, tail bool) {
			v, ts := x.terms(p, tail)
			x.normalize(v, ts, x.hi, x.lo)
			x.fill(v[0], "zero")
			x.store(v[0], q, tail)
		})
	}
	if !keep {
		recompute()
		return
	}
	x.a.byPlace(g, label("out"), func() {
		g.Comment("Pass 3: y = (1 + u) * (hi + lo) * s, u from dst.")
		steps(label("outk"), x.p, x.q, func(p, q Mem, tail bool) {
			v := []reg.VecVirtual{x.load(p, tail)}
			x.reduce(v)
			ts := x.roundT(v)
			x.scale(ts, nil)
			u := []reg.VecVirtual{x.load(q, tail)}
			x.normalize(u, ts, x.hi, x.lo)
			x.fill(u[0], "zero")
			x.store(u[0], q, tail)
		})
	}, recompute)
}

// logOut emits pass 3 of LogSoftmaxAxisAVX2: l = float64(nm)*ln2 +
// log64(S), then the outputs.
func (x *ax256) logOut(t *ceTables, acc [2]reg.VecVirtual, label func(string) string, steps stepLoop) {
	g := x.g
	g.Comment("l = float64(nm)*ln2 + log64(S) and float64(c), lanes 0-3 and 4-7.")
	lb := &lossBatch{g: g, t: t}
	for h := range acc {
		l := g.YMM()
		g.VCVTDQ2PD(x.nm.Offset(16*h), l)
		g.VMULPD(lb.bcast(t.ln2()), l, l)
		g.VADDPD(lb.log64(acc[h]), l, l)
		g.VMOVUPD(l, x.l[h])
		g.VCVTPS2PD(x.cv.Offset(16*h), l)
		g.VMOVUPD(l, x.c64[h])
	}
	g.Comment("Pass 3: y = float32(min((float64(x) - float64(c)) - l, 0)).")
	steps(label("out"), x.p, x.q, func(p, q Mem, tail bool) {
		v := x.load(p, tail)
		y := x.join(func(h int, dst reg.VecVirtual) {
			v64 := g.YMM()
			if h == 0 {
				g.VCVTPS2PD(v.AsX(), v64)
			} else {
				vh := g.XMM()
				g.VEXTRACTF128(U8(1), v, vh)
				g.VCVTPS2PD(vh, v64)
			}
			g.VSUBPD(x.c64[h], v64, v64)
			g.VSUBPD(x.l[h], v64, v64)
			zero := g.YMM()
			g.VXORPD(zero, zero, zero)
			g.VMINPD(v64, zero, v64) // never above 0, -0 and NaN kept (fallback.logProb)
			g.VCVTPD2PSY(v64, dst)
		})
		x.fill(y, "negInf")
		x.store(y, q, tail)
	})
}

// stepLoop emits a loop over a group's axis steps: body runs on each
// vector of the group, with p from cs and q (if not nil) from cd; tail
// is set where body is emitted for the group's last vector, which is read
// and written under a mask of its lanes.
type stepLoop func(label string, p, q reg.GPVirtual, body func(p, q Mem, tail bool))

// A slab of few columns, with few slabs, would leave most lanes of a
// group idle, and gathering it costs more than its lanes save (see
// gatherSlabs). But a slab's rows are contiguous: per = 16/inner axis
// steps fill a vector with one load, lane l holding column l%inner at
// step k + l/inner, and pass 1 and 3 run lane-wise as before. The sum
// of pass 2 is one serial chain per column, k = 0, 1, ..., so each
// vector's terms, in float64, are added step after step: the columns of
// step k + i are lanes i*inner to i*inner+inner-1, moved to lanes 0 to
// inner-1 with one VALIGNQ and added to one accumulator, its first inner
// lanes the columns' sums. The chain is then one add per step, per*inner
// elements a step, where a group of columns takes one per step whatever
// inner.
//
// The slab's last steps, fewer than 16 elements, are a vector loaded and
// stored under a mask; their pass 1 leaves the other lanes' max alone,
// and pass 2 zeroes their terms, which adds +0 to each sum: the sums are
// never -0, so that changes no bits.
//
// After pass 1, the lanes of each column are folded to its max and NaNs
// in every lane (rotations by inner lanes, then VPERMPS with the pattern
// l%inner), so that the plan and pass 3 run on pattern vectors; after
// pass 2 the sums are spread to lanes 0-7 and 8-15 the same way.
//
// Every inner from 2 to 8 gains, as measured on Zen 5 (thread CPU time,
// ns per element, one-slab groups against packed, before u was kept as
// below): [1, 128256, 2] 4.7
// against 0.83, [1, 50000, 3] 3.2 against 0.83, [1, 65536, 4] 2.4
// against 0.69, [1, 40000, 5..7] 1.85, 1.52 and 1.35 against 0.77-0.80,
// [1, 32000, 8] 1.11 against 0.65, and with more slabs [512, 64, 2]
// (gathered) 1.82 against 0.84, [128, 64, 8] 1.02 against 0.54. Inner 2
// stays slower than the rest: its chain is 8 dependent adds a vector.
//
// Softmax out of place keeps u in dst as SoftmaxRows does, so that pass
// 3 recomputes only s: measured 0.78 against 0.59 ns per element on [1,
// 128256, 2], 0.58 against 0.44 on [1, 65536, 4], 0.55 against 0.42 on
// [1, 32000, 8], 0.57 against 0.43 on [128, 64, 8]; 0.71 against 0.60 on
// [1, 50000, 3], 0.65 against 0.55, 0.73 against 0.59 and 0.66 against
// 0.56 on [1, 40000, 5..7]. That needs the vectors of whole steps (all
// but a slab's last) loaded without a mask, 16 lanes while 16 elements
// are left, and their per*inner lanes stored in moves of 8, 4, 2 and 1
// lanes (storeSteps): with inner 3 or 6, storing under a mask, keeping u
// took 1.24 against 0.68 and 1.44 against 0.77. Without keeping u, the
// masks cost nothing measurable.
//
// For the same reason Softmax takes inner 9 to 15 packed, one step a
// vector: the group is then a group of columns (no folds, the sums in
// lanes 0-7 and 8-15), with whole loads, stores by storeSteps and u
// kept. Groups of columns against packed, ns per element: [1, 32000, 9]
// 0.97-1.17 against 0.82-0.89, [1, 32000, 12] 0.73-0.90 against 0.59-0.61,
// [1, 32000, 15] 0.62-0.72 against 0.54-0.55, [64, 64, 12] 0.72-0.81
// against 0.57, [16, 256, 10] 0.85-0.95 against 0.65-0.67. LogSoftmax,
// which keeps nothing, measured mixed ([1000, 2, 12] 1.88 against 2.11,
// [16, 256, 10] 0.75 against 0.80), and does not.

// packedInners returns the inner sizes that the AVX-512 kernels take
// packed: 2 to 8, and for Softmax 9 to 15 too, one step a vector, where
// keeping u pays (above).
func packedInners(log bool) []int {
	if log {
		return []int{2, 3, 4, 5, 6, 7, 8}
	}
	return []int{2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}
}

// packed512 emits the packed group of an AVX-512 axis kernel for one
// inner.
type packed512 struct {
	g          *gen
	s          *sm512
	a          *axisArgs
	km         reg.Register // the lanes of the current vector
	inner, per int          // the columns, and the steps a vector
	pat        Mem          // 16 int32 l%inner, 8 int64 l%inner, 8 int64 (8+l)%inner
	full       bool         // while a vector of whole steps is emitted
}

// io returns the packed group's laneIO: masked's, but with plain moves
// for the vectors of whole steps.
func (pk *packed512) io(masked laneIO) laneIO {
	g := pk.g
	return laneIO{
		label: masked.label,
		load: func(p Mem) reg.VecVirtual {
			if !pk.full {
				return masked.load(p)
			}
			x := g.ZMM()
			g.VMOVUPS(p, x)
			return x
		},
		store: func(v reg.VecVirtual, q Mem) {
			if !pk.full {
				masked.store(v, q)
				return
			}
			pk.storeSteps(v, q)
		},
	}
}

// storeSteps stores the first per*inner lanes of v at q, in moves of 8,
// 4, 2 and 1 lanes by the bits of their count, each an AVX-512F form.
func (pk *packed512) storeSteps(v reg.VecVirtual, q Mem) {
	g := pk.g
	n := pk.per * pk.inner
	if n == 16 {
		g.VMOVUPS(v, q)
		return
	}
	if n&8 != 0 {
		g.VEXTRACTF64X4(U8(0), v, q)
	}
	at := n &^ 7         // the next lane
	var x reg.VecVirtual // its 128-bit block, where n&3 != 0
	if n&4 != 0 {
		g.VEXTRACTF32X4(U8(at/4), v, q.Offset(4*at))
		at += 4
	}
	if n&3 != 0 {
		x = g.XMM()
		g.VEXTRACTF32X4(U8(at/4), v, x)
	}
	if n&2 != 0 {
		g.VMOVQ(x, q.Offset(4*at))
		at += 2
	}
	if n&1 != 0 {
		g.VEXTRACTPS(U8(at%4), x, q.Offset(4*at))
	}
}

// packTable returns the address of the patterns of packed512, 192 bytes
// an inner from 2 to 8.
func (g *gen) packTable() Mem {
	return g.table("axispattern", func() {
		for inner := 2; inner <= 8; inner++ {
			for l := range 16 {
				g.AppendDatum(U32(l % inner))
			}
			for l := range 16 {
				g.AppendDatum(U64(l % inner))
			}
		}
	})
}

// steps is the packed group's stepLoop (see packedLoop), with km set
// for the last vector.
func (pk *packed512) steps(label string, p, q, i reg.GPVirtual, body func(p, q Mem, tail bool)) {
	g := pk.g
	pk.a.packedLoop(g, label, p, q, i, 16, pk.per*pk.inner, func(on bool) { pk.full = on }, func(i reg.GPVirtual) {
		tbl, bits := g.GP64(), g.GP32()
		g.LEAQ(g.tailMask16(), tbl)
		g.MOVWLZX(Mem{Base: tbl, Index: i, Scale: 2}, bits)
		g.KMOVW(bits, pk.km)
	}, body)
}

// fold sets every lane of mx to its column's max, and kn to the lanes of
// the columns that saw a NaN.
func (pk *packed512) fold(mx reg.VecVirtual, kn reg.Register) {
	g := pk.g
	g.Comment("Fold the steps: each column's max and NaNs, in all of its lanes.")
	nv := g.ZMM()
	g.VPTERNLOGD_Z(U8(0xff), nv, nv, kn, nv) // -1 where a NaN was seen
	m, o := g.ZMM(), g.ZMM()
	g.VMOVAPS(mx, m)
	g.VMOVDQA32(nv, o)
	for i := 1; i < pk.per; i++ {
		r, ro := g.ZMM(), g.ZMM()
		g.VALIGND(U8(i*pk.inner), mx, mx, r) // r_l = mx_(l + i*inner)
		g.VMAXPS(r, m, m)                    // no lane of mx is NaN
		g.VALIGND(U8(i*pk.inner), nv, nv, ro)
		g.VPORD(ro, o, o)
	}
	idx := g.ZMM()
	g.VMOVDQU32(pk.pat, idx)
	g.VPERMPS(m, idx, mx)
	g.VPERMD(o, idx, o)
	g.VPTESTMD(o, o, kn)
}

// addSteps adds the terms u*s + s of one vector to the sums in the first
// inner lanes of acc, step after step; a tail vector's lanes past km add
// +0.
func (pk *packed512) addSteps(u, sc, acc reg.VecVirtual, tail bool) {
	g := pk.g
	if tail {
		g.VMOVAPS_Z(u, pk.km, u)
		g.VMOVAPS_Z(sc, pk.km, sc)
	}
	var t [2]reg.VecVirtual
	t[0], t[1] = pk.s.terms64(u, sc)
	for i := range pk.per {
		b := i * pk.inner
		var v reg.VecVirtual
		switch {
		case b == 0:
			v = t[0]
		case b == 8:
			v = t[1]
		case b < 8:
			v = g.ZMM()
			g.VALIGNQ(U8(b), t[0], t[1], v) // lanes b.. of t[1]:t[0]
		default:
			v = g.ZMM()
			g.VALIGNQ(U8(b-8), t[1], t[1], v)
		}
		g.VADDPD(v, acc, acc)
	}
}

// spread sets lo and hi to the sums in the first inner lanes of lo, in
// the pattern of lanes 0-7 and 8-15.
func (pk *packed512) spread(lo, hi reg.VecVirtual) {
	g := pk.g
	idx := g.ZMM()
	g.VMOVDQU64(pk.pat.Offset(128), idx)
	g.VPERMPD(lo, idx, hi)
	g.VMOVDQU64(pk.pat.Offset(64), idx)
	g.VPERMPD(lo, idx, lo) // hi first: lo is its source
}

// The AVX2 kernels pack a slab's steps as packed512 does, 8/inner steps
// a vector, for inner 2, 3 and 4 (and 5 to 8, below). For 2 and 4 the
// folds are butterflies (a swap of the 64-bit pairs within each 128-bit
// half, then of the halves), which leave each column's max and NaNs in
// all of its lanes; pass 2 adds each step's columns, an xmm (inner 2) or
// ymm (4) of float64 terms, to one accumulator of that width. Inner 3 uses lanes 0-5
// (two steps): its fold and its second step's terms move lanes 3-5 to
// 0-2 with VPERMPS, and the fold ends with a VPERMPS to the pattern
// l%3. A slab's last vector, of fewer steps, is read as a group of the
// last columns is (ax256.load), its other lanes set to -Inf for pass 1
// and its terms to +0 in pass 2.
//
// Inner 3's whole vectors load 8 lanes (while 8 elements are left) and
// store 6, as an xmm and a 64-bit move: a 32-byte store with lanes 6-7
// read back first (VBLENDPS from memory) took 3.0 ns per element on [1,
// 50000, 3], against 1.45 with the two stores, as each load then spans
// the previous store and its forwarding fails.
//
// Measured on Zen 5 (thread CPU time, ns per element, groups of columns
// against packed): [1, 128256, 2] 5.8 against 1.22, [64, 64, 2] 5.5
// against 1.33, [16384, 2, 2] 7.4 against 6.2; [1, 50000, 3] 3.6 against
// 1.45, [341, 64, 3] 4.1 against 1.6, [10922, 2, 3] 4.5 against 4.4
// (noisy); [1, 65536, 4] 2.7 against 1.11, [256, 64, 4] 2.7 against 1.21,
// [8192, 2, 4] 3.5 against 2.4.
//
// Inner 5 to 8 take one step a vector, but the packed route too, for its
// whole loads and for keeping u (below): their group is a group of
// columns without folds, whose steps but the slab's last are loaded
// without a mask or a page check, and stored (inner 5 to 7) in moves of
// 4, 2 and 1 lanes. Groups of columns against packed, ns per element:
// Softmax [1, 40000, 5..7] 2.06 against 1.65, 1.69 against 1.35, 1.46
// against 1.20; [1, 32000, 8] 1.11 against 0.98, [128, 64, 8] 1.10
// against 0.96, [4096, 2, 8] 1.55 against 1.42; LogSoftmax [1, 40000,
// 5..7] 1.94 against 1.49, 1.54 against 1.20, 1.33 against 1.09, but
// [6553, 2, 5] 5.5 against 5.9 and [4681, 2, 7] 3.3 against 3.5.
//
// As on AVX-512, Softmax out of place keeps u in dst: 1.41 against 1.23
// ns per element on [1, 128256, 2], 1.24 against 1.07 on [1, 65536, 4],
// 1.31 against 1.11 on [256, 64, 4].
var packedInners256 = []int{2, 3, 4, 5, 6, 7, 8}

// packed256 emits the packed group of an AVX2 axis kernel for one inner.
type packed256 struct {
	x     *ax256
	inner int
	n     int            // the lanes of a vector's steps: 8/inner*inner
	rot   reg.VecVirtual // inner 3: the VPERMPS indices of lanes 3, 4, ... to 0, 1, ...
}

// newPacked256 returns the packed group for inner; for inner 3 it loads
// the rotation.
func newPacked256(x *ax256, inner int) *packed256 {
	pk := &packed256{x: x, inner: inner, n: 8 / inner * inner}
	if inner == 3 {
		pk.rot = x.g.YMM()
		x.g.VMOVDQU(x.g.rot3Table(), pk.rot)
	}
	return pk
}

// rot3Table returns the address of 8 int32 indices l+3 mod 8, then 8 l%3.
func (g *gen) rot3Table() Mem {
	return g.table("axisrot3", func() {
		for l := range 8 {
			g.AppendDatum(U32((l + 3) % 8))
		}
		for l := range 8 {
			g.AppendDatum(U32(l % 3))
		}
	})
}

// steps is the packed group's stepLoop (see packedLoop), with the mask
// pointer and a.rem set for the last vector.
func (pk *packed256) steps(label string, p, q reg.GPVirtual, body func(p, q Mem, tail bool)) {
	x := pk.x
	x.a.packedLoop(x.g, label, p, q, x.i, 8, pk.n, func(on bool) {
		x.stepLanes = 0
		if on {
			x.stepLanes = pk.n
		}
	}, func(i reg.GPVirtual) {
		x.g.MOVQ(i, x.a.rem)
		x.setTail(i)
	}, body)
}

// tailLanes returns the lanes of the last vector, -1 each.
func (pk *packed256) tailLanes() reg.VecVirtual {
	g := pk.x.g
	m := g.YMM()
	g.VMOVDQU(Mem{Base: pk.x.mptr}, m)
	return m
}

// pad sets the lanes of v past the last vector's to -Inf.
func (pk *packed256) pad(v reg.VecVirtual) {
	g := pk.x.g
	ninf := g.YMM()
	g.VMOVUPS(pk.x.c.ymm("negInf"), ninf)
	g.VBLENDVPS(pk.tailLanes(), v, ninf, v)
}

// fold sets every lane of mx and nan to its column's max and NaNs.
func (pk *packed256) fold(mx, nan reg.VecVirtual) {
	g := pk.x.g
	if pk.n == pk.inner {
		return // one step a vector
	}
	g.Comment("Fold the steps: each column's max and NaNs, in all of its lanes.")
	if pk.inner == 3 {
		pat := g.YMM()
		g.VMOVDQU(g.rot3Table().Offset(32), pat)
		for _, v := range []reg.VecVirtual{mx, nan} {
			r := g.YMM()
			g.VPERMPS(v, pk.rot, r)
			if v == mx {
				g.VMAXPS(r, v, v)
			} else {
				g.VORPS(r, v, v)
			}
			g.VPERMPS(v, pat, v)
		}
		return
	}
	for d := pk.inner; d < 8; d *= 2 {
		for _, v := range []reg.VecVirtual{mx, nan} {
			r := g.YMM()
			if d == 4 {
				g.VPERM2F128(U8(1), v, v, r) // the halves swapped
			} else {
				g.VPERMILPS(U8(0x4e), v, r) // the 64-bit pairs of each half swapped
			}
			if v == mx {
				g.VMAXPS(r, v, v) // no lane of mx is NaN
			} else {
				g.VORPS(r, v, v)
			}
		}
	}
}

// addSteps adds the terms u*s + s of one vector to the sums in the first
// inner lanes of acc, step after step; a tail vector's other lanes add
// +0.
func (pk *packed256) addSteps(u, sc, acc reg.VecVirtual, tail bool) {
	g := pk.x.g
	if tail {
		m := pk.tailLanes()
		g.VANDPS(m, u, u)
		g.VANDPS(m, sc, sc)
	}
	if pk.inner == 3 {
		g.VADDPD(terms256(g, u, sc, 0), acc, acc)
		ur, sr := g.YMM(), g.YMM()
		g.VPERMPS(u, pk.rot, ur)
		g.VPERMPS(sc, pk.rot, sr)
		g.VADDPD(terms256(g, ur, sr, 0), acc, acc)
		return
	}
	for h := range 2 {
		t := terms256(g, u, sc, h)
		if pk.inner == 4 {
			g.VADDPD(t, acc, acc)
			continue
		}
		hi := g.XMM()
		g.VEXTRACTF128(U8(1), t, hi)
		g.VADDPD(t.AsX(), acc.AsX(), acc.AsX())
		g.VADDPD(hi, acc.AsX(), acc.AsX())
	}
}

// spread sets both accumulators to the sums in the first inner lanes of
// acc[0], in the pattern of the lanes; with inner 8 they are already.
func (pk *packed256) spread(acc [2]reg.VecVirtual) {
	g := pk.x.g
	switch pk.inner {
	case 2:
		g.VINSERTF128(U8(1), acc[0].AsX(), acc[0], acc[0])
	case 3:
		g.VPERMPD(U8(0x49), acc[0], acc[1]) // columns 1, 2, 0, 1
		g.VPERMPD(U8(0x24), acc[0], acc[0]) // 0, 1, 2, 0
		return
	case 5, 6, 7, 8:
		return
	}
	g.VMOVAPD(acc[0], acc[1])
}
