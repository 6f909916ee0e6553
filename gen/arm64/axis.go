package main

import "math"

// The axis kernels: SoftmaxAxis and LogSoftmaxAxis with inner > 1, bit for
// bit fallback.SoftmaxAxis and fallback.LogSoftmaxAxis (fallback/axis.go).
// The tensor is [outer, axis, inner], contiguous; a column is the axis
// elements at one (o, j), inner*4 bytes apart. The kernels vectorize
// across inner: a group is 8 columns j, ..., j+7 of a slab o (an [axis,
// inner] matrix), two registers, lane l holding column j+l; each lane runs
// the row algorithm on its column, with its own plan and sum. With inner
// = 1 the columns are rows, and package kernels calls SoftmaxRowsNEON and
// LogSoftmaxRowsNEON instead (the same bits).
//
//   - pass 1: m = max(x_k) per lane. FMAX returns a NaN when either
//     operand is one, so m is NaN exactly when the column holds a NaN.
//     Then, lane-wise, planMax: c = m where |m| > 208 (else 0), t_m =
//     fma(m - c, log2e, 1.5*2^23), and bits(t_m) - 127 for the scale
//     s = 2^(n - nm) (one UQSUB, as in softmax.go).
//   - pass 2: the terms u*s + s in float64, added to four registers of
//     two float64 lanes (lanes 0-1, 2-3, 4-5, 6-7) in the order k = 0, 1,
//     ..., axis-1, from +0: the fallback's one accumulator per column.
//   - pass 3: Softmax: y = (hi + fma(u, hi, fma(u, lo, lo))) * s with
//     each lane's 1/S split into float32 hi + lo, u recomputed from x (the
//     fallback's in-place route; its out-of-place route keeps u in dst,
//     with the same bits). LogSoftmax: y = float32(min((float64(x) -
//     float64(c)) - l, 0)), with l = float64(nm)*ln2 + log64(S) per lane;
//     log64 is the fallback's logarithm, its float64 operations repeated
//     in the same order on two lanes a register (the scalar version is in
//     logsoftmax.go).
//
// Special columns are decided per lane: a column whose max is NaN or +Inf,
// or whose S is NaN, gets the canonical NaN; a column of -Inf gets 0
// (Softmax) or -Inf (LogSoftmax). Their lanes compute garbage (c may be
// infinite) that a BIF replaces before the store; a column is "ok" where
// |m| < +Inf and S is not NaN.
//
// The whole tensor is one call: loops over the slabs, the groups of a
// slab, and the axis within a group. A slab's last w = inner%8 columns
// are a narrower group: each step loads and stores its w elements in at
// most three moves, by the bits of w (4 into the first register, 2 into
// the low half of the second, 1 into its lane 2), so no byte outside the
// slices is touched; the lanes not loaded compute garbage that is never
// stored.
//
// A narrow inner would leave most lanes idle, so with inner 2 to 4 whole
// slabs share a group while enough are left: 4 slabs of 2 columns (two a
// register, an 8-byte move each), or 2 slabs of 3 or 4 columns (one a
// register). The lanes are independent, so this changes no bits. Counted
// from the loops, Softmax then takes 18, 23 and 16 instructions per
// element for inner 2, 3 and 4, where groups of one slab take 68, 47 and
// 34 (and a group of 8 columns 15). The slabs left over, and inner 5 to
// 7, run the narrow groups.
//
// A group is 8 columns because of the registers: pass 2 holds the vector
// and three temporaries (8 registers), the four float64 sums, c, the
// scale's bias, the ok mask and the fill (8), and 4 constants, 24 of the
// 32; 16 columns would not fit. Pass 3 recomputes u where SoftmaxRowsNEON
// keeps it in dst: keeping it would take pass 3 from 56 to about 30
// instructions a step of 8 elements, for one more store and load of each,
// which on AVX-512 measured 0.8x the time on [1, 1000, 64] but 1.3x on
// [16, 21, 1024] (gen/amd64/axis.go).

// General registers of the axis kernels.
const (
	axDst, axSrc, axOuter, axAxis = R(0), R(1), R(2), R(3) // the current slab's dst and src
	axStride, axSlab              = R(4), R(5)             // inner*4 and axis*inner*4 bytes
	axCs, axCd                    = R(6), R(7)             // the group's first elements
	axTbl                         = R(8)                   // the constant table
	axRem                         = R(9)                   // the slab's columns from cs on
	axP, axQ, axI                 = R(10), R(11), R(12)    // pointers down the columns, a count
	axLp, axSp                    = R(14), R(15)           // the narrow and packed groups' load and store pointers
)

// pair is a group's 8 lanes, two registers; each2 emits f for both.
type pair [2]V

func pairAt(first V) pair { return pair{first, first + 1} }

func each2(f func(j int)) {
	f(0)
	f(1)
}

// groupMode is how a group's lanes map to the tensor.
type groupMode int

const (
	axFull   groupMode = iota // 8 columns of a slab
	axNarrow                  // the slab's last axRem (1..7) columns
	axPack2                   // inner = 2: 4 slabs, 2 columns each
	axPack3                   // inner = 3: 2 slabs, 3 columns each (lanes 3 and 7 idle)
	axPack4                   // inner = 4: 2 slabs, 4 columns each
)

// slabs is the number of slabs of a packed group.
func (m groupMode) slabs() int {
	if m == axPack2 {
		return 4
	}
	return 2
}

// suffix is the suffix of the group's labels.
func (m groupMode) suffix() string {
	return [...]string{"", "_narrow", "_p2", "_p3", "_p4"}[m]
}

// Vector registers of the axis kernels. V0-V15 hold the group's vector and
// temporaries.
var (
	axX, axT, axA, axB = pairAt(0), pairAt(2), pairAt(4), pairAt(6)
	axAcc              = [4]V{16, 17, 18, 19}   // S, lanes 0-1, 2-3, 4-5, 6-7; pass 1's m in V16-V17
	axOK, axFill       = pairAt(20), pairAt(22) // all ones in the ok lanes; the others' value
	axCv, axBias       = pairAt(28), pairAt(30) // c and bits(t_m) - 127 per lane
)

// The constants of the exponential, and the lower clamp -320.
const axMagic, axK, axC, axReduceLo = V(24), V(25), V(26), V(27)

// splat64 adds an entry holding the 64 bits b in both of its lanes.
func splat64(t *table, name string, b uint64) {
	t.add(name, 16, uint32(b), uint32(b>>32), uint32(b), uint32(b>>32))
}

// axisTables adds the axis kernels' constants to t.
func axisTables(t *table) {
	expTable(t)
	t.splat("reduceLo", 0xc3a00000) // -320
	t.splat("negInf", negInfBits)
	t.splat("posInf", posInfBits)
	t.splat("nan", nanBits)
	t.splat("largeMax", largeMaxBits)
	t.splat("bias127", 127)
	splat64(t, "one64", math.Float64bits(1))
	splat64(t, "sqrt2", math.Float64bits(math.Sqrt2))
	splat64(t, "ln2", math.Float64bits(math.Ln2))
	splat64(t, "mant", 1<<52-1)
	splat64(t, "bit52", 1<<52)
	splat64(t, "int1023", 1023)
	for k, c := range logC {
		splat64(t, logCName(k), math.Float64bits(c))
	}
}

// axisSignature is the kernels' Go signature.
const axisSignature = "func(dst, src []float32, outer, axis, inner int)"

// axisK emits one axis kernel.
type axisK struct {
	*file
	t      *table
	prefix string
	log    bool // LogSoftmax, else Softmax
}

func (k *axisK) l(name string) string { return k.prefix + "_" + name }

func generateAxis(f *file) {
	t := f.newTable("axisconst")
	axisTables(t)
	t.end()
	f.function("SoftmaxAxisNEON", axisSignature, 0, 72,
		"SoftmaxAxisNEON applies Softmax along the middle axis of the contiguous",
		"[outer, axis, inner] tensor src, with the bits of fallback.SoftmaxAxis",
		"for inner > 1. The caller checks the arguments: outer*axis*inner",
		"elements in each slice, and dst is src or does not overlap it. It",
		"requires ASIMD (NEON).",
	)
	(&axisK{file: f, t: t, prefix: "ax"}).kernel()
	f.function("LogSoftmaxAxisNEON", axisSignature, 0, 72,
		"LogSoftmaxAxisNEON applies LogSoftmax along the middle axis of the contiguous",
		"[outer, axis, inner] tensor src, with the bits of fallback.LogSoftmaxAxis",
		"for inner > 1. The caller checks the arguments: outer*axis*inner",
		"elements in each slice, and dst is src or does not overlap it. It",
		"requires ASIMD (NEON).",
	)
	(&axisK{file: f, t: t, prefix: "lax", log: true}).kernel()
}

// kernel emits the body of the function: the loops over the slabs and
// their groups.
func (k *axisK) kernel() {
	k.loadArg(axDst, "dst_base+0")
	k.loadArg(axSrc, "src_base+24")
	k.loadArg(axOuter, "outer+48")
	k.loadArg(axAxis, "axis+56")
	k.loadArg(axStride, "inner+64")
	k.lslI(axStride, axStride, 2)
	k.mulR(axSlab, axStride, axAxis)
	k.cbz(axSlab, k.l("ret"))
	k.cbz(axOuter, k.l("ret"))
	k.addr(axTbl, k.t.sym)
	for _, e := range []struct {
		name string
		v    V
	}{{"magic", axMagic}, {"k", axK}, {"c", axC}, {"reduceLo", axReduceLo}} {
		k.t.load(e.v, axTbl, e.name)
	}
	k.lsrI(axRem, axStride, 2)
	k.cmpI(axRem, 2)
	k.bcond(LO, k.l("slab"))
	k.cmpI(axRem, 4)
	k.bcond(HI, k.l("slab"))
	k.comment("inner 2 to 4: whole slabs a group while there are enough.")
	k.cmpI(axRem, 3)
	k.bcond(LO, k.l("pk2"))
	k.bcond(EQ, k.l("pk3"))
	for _, m := range []groupMode{axPack4, axPack2, axPack3} {
		k.packed(m)
	}
	k.label(k.l("rest"))
	k.cbz(axOuter, k.l("ret"))
	k.label(k.l("slab"))
	k.movR(axCs, axSrc)
	k.movR(axCd, axDst)
	k.lsrI(axRem, axStride, 2)
	k.label(k.l("group"))
	k.cmpI(axRem, 8)
	k.bcond(LO, k.l("narrow"))
	k.group(axFull)
	k.addI(axCs, axCs, 32)
	k.addI(axCd, axCd, 32)
	k.subI(axRem, axRem, 8)
	k.cbnz(axRem, k.l("group"))
	k.b(k.l("next"))
	k.label(k.l("narrow"))
	k.comment("The slab's last inner%8 columns.")
	k.group(axNarrow)
	k.label(k.l("next"))
	k.addR(axSrc, axSrc, axSlab)
	k.addR(axDst, axDst, axSlab)
	k.subI(axOuter, axOuter, 1)
	k.cbnz(axOuter, k.l("slab"))
	k.label(k.l("ret"))
	k.ret()
}

// packed emits the loop over the groups of whole slabs of a tensor whose
// inner is m's, while at least m.slabs() slabs are left; it then jumps to
// the label rest.
func (k *axisK) packed(m groupMode) {
	loop := k.l("pk" + m.suffix()[2:])
	k.label(loop)
	k.cmpI(axOuter, m.slabs())
	k.bcond(LO, k.l("rest"))
	k.movR(axCs, axSrc)
	k.movR(axCd, axDst)
	k.group(m)
	for range m.slabs() {
		k.addR(axSrc, axSrc, axSlab)
		k.addR(axDst, axDst, axSlab)
	}
	k.subI(axOuter, axOuter, m.slabs())
	k.b(loop)
}

// load loads the group's lanes at p into x, as m places them.
func (k *axisK) load(x pair, p R, m groupMode) {
	switch m {
	case axFull:
		k.ld1(S4, x[0], 2, p, false)
		return
	case axPack4:
		k.ldrQ(x[0], p, 0)
		k.addR(axLp, p, axSlab)
		k.ldrQ(x[1], axLp, 0)
		return
	case axPack3:
		k.movR(axLp, p)
		k.ldrDPost(x[0], axLp)
		k.ld1Lane(x[0], 2, axLp)
		k.addR(axLp, p, axSlab)
		k.ldrDPost(x[1], axLp)
		k.ld1Lane(x[1], 2, axLp)
		return
	case axPack2:
		k.ldrD(x[0], p, 0)
		k.addR(axLp, p, axSlab)
		k.ld1LaneD(x[0], 1, axLp)
		k.addR(axLp, axLp, axSlab)
		k.ldrD(x[1], axLp, 0)
		k.addR(axLp, axLp, axSlab)
		k.ld1LaneD(x[1], 1, axLp)
		return
	}
	l := k.uniqueLabel(k.l("ld"))
	k.movR(axLp, p)
	k.tbz(2, axRem, l+"_2")
	k.ldrQPost(x[0], axLp)
	k.label(l + "_2")
	k.tbz(1, axRem, l+"_1")
	k.ldrDPost(x[1], axLp)
	k.label(l + "_1")
	k.tbz(0, axRem, l+"_0")
	k.ld1Lane(x[1], 2, axLp)
	k.label(l + "_0")
}

// store stores the group's lanes of y at q, as load loads them.
func (k *axisK) store(y pair, q R, m groupMode) {
	switch m {
	case axFull:
		k.st1(S4, y[0], 2, q, false)
		return
	case axPack4:
		k.st1(S4, y[0], 1, q, false)
		k.addR(axSp, q, axSlab)
		k.st1(S4, y[1], 1, axSp, false)
		return
	case axPack3:
		k.movR(axSp, q)
		k.strDPost(y[0], axSp)
		k.st1Lane(y[0], 2, axSp)
		k.addR(axSp, q, axSlab)
		k.strDPost(y[1], axSp)
		k.st1Lane(y[1], 2, axSp)
		return
	case axPack2:
		k.st1LaneD(y[0], 0, q)
		k.addR(axSp, q, axSlab)
		k.st1LaneD(y[0], 1, axSp)
		k.addR(axSp, axSp, axSlab)
		k.st1LaneD(y[1], 0, axSp)
		k.addR(axSp, axSp, axSlab)
		k.st1LaneD(y[1], 1, axSp)
		return
	}
	l := k.uniqueLabel(k.l("st"))
	k.movR(axSp, q)
	k.tbz(2, axRem, l+"_2")
	k.strQPost(y[0], axSp)
	k.label(l + "_2")
	k.tbz(1, axRem, l+"_1")
	k.strDPost(y[1], axSp)
	k.label(l + "_1")
	k.tbz(0, axRem, l+"_0")
	k.st1Lane(y[1], 2, axSp)
	k.label(l + "_0")
}

// axisLoop emits a loop of axis steps over the group: body with axP at
// the step's elements in src, and with out axQ at those in dst.
func (k *axisK) axisLoop(name string, out bool, body func()) {
	k.movR(axP, axCs)
	if out {
		k.movR(axQ, axCd)
	}
	k.movR(axI, axAxis)
	k.label(name)
	body()
	k.addR(axP, axP, axStride)
	if out {
		k.addR(axQ, axQ, axStride)
	}
	k.subI(axI, axI, 1)
	k.cbnz(axI, name)
}

// reduce emits d = max(-320, x - c) in place, per lane; NaN stays NaN.
func (k *axisK) reduce(x pair) {
	each2(func(j int) { k.fsub(S4, x[j], x[j], axCv[j]) })
	each2(func(j int) { k.fmax(S4, x[j], x[j], axReduceLo) })
}

// expU emits the row kernels' exponential (expReduce, then u = fma(r*r,
// q, r)) for the reduced d: d holds u on exit, t holds t; a and b are
// scratch.
func (k *axisK) expU(d, t, a, b pair) {
	each2(func(j int) { k.mov(t[j], axMagic) })
	each2(func(j int) { k.fmlaElem(t[j], d[j], axK, 0) })  // t = magic + d*log2e
	each2(func(j int) { k.fsub(S4, a[j], t[j], axMagic) }) // nf
	each2(func(j int) { k.fmlaElem(d[j], a[j], axK, 1) })  // d - nf*ln2Hi, exact
	each2(func(j int) { k.fmlaElem(d[j], a[j], axK, 2) })  // r
	each2(func(j int) { k.dupElem(S4, a[j], axC, 0) })
	each2(func(j int) { k.fmlaElem(a[j], d[j], axK, 3) }) // c5 + r*c6
	for i, acc := range []pair{b, a, b} {
		src := a
		if i == 1 {
			src = b
		}
		each2(func(j int) { k.dupElem(S4, acc[j], axC, i+1) })
		each2(func(j int) { k.fmla(S4, acc[j], src[j], d[j]) }) // c + q*r
	}
	each2(func(j int) { k.fmul(S4, a[j], d[j], d[j]) }) // r2 = r*r, rounded
	each2(func(j int) { k.fmla(S4, d[j], a[j], b[j]) }) // u = r + r2*q
}

// scale turns t into s = 2^(n - nm) in place, per lane.
func (k *axisK) scale(t pair) {
	each2(func(j int) { k.uqsub(t[j], t[j], axBias[j]) })
	each2(func(j int) { k.shl(t[j], t[j], 23) })
}

// group emits the three passes over a group of columns at axCs and
// axCd, as m places them in the lanes.
func (k *axisK) group(m groupMode) {
	name := func(n string) string { return k.l(n + m.suffix()) }
	x, t, a, b := axX, axT, axA, axB
	mx := pairAt(16)

	k.comment("Pass 1: m = max(x) per lane, NaN if the column holds one.")
	k.t.load(mx[0], axTbl, "negInf")
	k.mov(mx[1], mx[0])
	k.axisLoop(name("max"), false, func() {
		k.load(x, axP, m)
		each2(func(j int) { k.fmax(S4, mx[j], mx[j], x[j]) })
	})

	k.comment("The special lanes: ok where m is finite; the fill is a masked column's value where m is -Inf, NaN elsewhere.")
	inf, masked := V(8), pairAt(10)
	k.t.load(inf, axTbl, "posInf")
	each2(func(j int) { k.facgt(S4, axOK[j], inf, mx[j]) })
	k.t.load(inf, axTbl, "negInf")
	each2(func(j int) { k.fcmeq(S4, masked[j], mx[j], inf) })
	each2(func(j int) {
		if k.log {
			k.mov(axFill[j], inf)
		} else {
			k.zero(axFill[j])
		}
	})
	cst := V(9)
	k.t.load(cst, axTbl, "nan")
	each2(func(j int) { k.bif(axFill[j], cst, masked[j]) })

	k.comment("The plan: c = m where |m| > 208, else 0; t_m = fma(m - c, log2e, 1.5*2^23).")
	d, tm, nm := pairAt(10), pairAt(12), pairAt(14)
	k.t.load(cst, axTbl, "largeMax")
	each2(func(j int) { k.facgt(S4, axCv[j], mx[j], cst) })
	each2(func(j int) { k.and(axCv[j], axCv[j], mx[j]) })
	each2(func(j int) { k.fsub(S4, d[j], mx[j], axCv[j]) })
	each2(func(j int) { k.mov(tm[j], axMagic) })
	each2(func(j int) { k.fmlaElem(tm[j], d[j], axK, 0) })
	k.t.load(cst, axTbl, "bias127")
	each2(func(j int) { k.sub(S4, axBias[j], tm[j], cst) }) // bits(t_m) - 127
	if k.log {
		each2(func(j int) { k.fsub(S4, nm[j], tm[j], axMagic) }) // nm as a float32, exact
	}

	k.comment("Pass 2: S = sum of u*s + s in float64 per lane, in axis order.")
	for _, v := range axAcc {
		k.zero(v)
	}
	k.axisLoop(name("sum"), false, func() {
		k.load(x, axP, m)
		k.reduce(x)
		k.expU(x, t, a, b)
		k.scale(t)
		each2(func(j int) { k.fcvtl(a[j], x[j]) })
		each2(func(j int) { k.fcvtl2(x[j], x[j]) })
		each2(func(j int) { k.fcvtl(b[j], t[j]) })
		each2(func(j int) { k.fcvtl2(t[j], t[j]) })
		each2(func(j int) { k.fmla(D2, b[j], a[j], b[j]) })
		each2(func(j int) { k.fmla(D2, t[j], x[j], t[j]) })
		each2(func(j int) {
			k.fadd(D2, axAcc[2*j], axAcc[2*j], b[j])
			k.fadd(D2, axAcc[2*j+1], axAcc[2*j+1], t[j])
		})
	})

	k.comment("A NaN S makes its lane NaN.")
	s32 := V(8)
	each2(func(j int) {
		k.fcvtn(s32, axAcc[2*j])
		k.fcvtn2(s32, axAcc[2*j+1])
		k.fcmeq(S4, s32, s32, s32)
		k.and(axOK[j], axOK[j], s32)
	})

	if k.log {
		k.logOut(name, m, nm)
	} else {
		k.softmaxOut(name, m)
	}
}

// softmaxOut emits pass 3 of SoftmaxAxisNEON: 1/S per lane split into
// float32 hi + lo, then the outputs.
func (k *axisK) softmaxOut(name func(string) string, m groupMode) {
	k.comment("1/S per lane as float32 hi + lo.")
	hi, lo, one, h64 := pairAt(8), pairAt(10), V(12), pairAt(12)
	k.t.load(one, axTbl, "one64")
	for _, v := range axAcc {
		k.fdiv(D2, v, one, v)
	}
	each2(func(j int) {
		k.fcvtn(hi[j], axAcc[2*j])
		k.fcvtn2(hi[j], axAcc[2*j+1])
		k.fcvtl(h64[0], hi[j])
		k.fcvtl2(h64[1], hi[j])
		k.fsub(D2, axAcc[2*j], axAcc[2*j], h64[0])
		k.fsub(D2, axAcc[2*j+1], axAcc[2*j+1], h64[1])
		k.fcvtn(lo[j], axAcc[2*j])
		k.fcvtn2(lo[j], axAcc[2*j+1])
	})
	k.comment("Pass 3: y = (hi + fma(u, hi, fma(u, lo, lo))) * s, u recomputed.")
	x, t, a, b := axX, axT, axA, axB
	k.axisLoop(name("out"), true, func() {
		k.load(x, axP, m)
		k.reduce(x)
		k.expU(x, t, a, b)
		k.scale(t)
		each2(func(j int) { k.mov(a[j], lo[j]) })
		each2(func(j int) { k.fmla(S4, a[j], x[j], lo[j]) }) // lo + u*lo
		each2(func(j int) { k.fmla(S4, a[j], x[j], hi[j]) }) // + u*hi
		each2(func(j int) { k.fadd(S4, x[j], a[j], hi[j]) })
		each2(func(j int) { k.fmul(S4, x[j], x[j], t[j]) })
		each2(func(j int) { k.bif(x[j], axFill[j], axOK[j]) })
		k.store(x, axQ, m)
	})
}

// logOut emits pass 3 of LogSoftmaxAxisNEON: l = float64(nm)*ln2 +
// log64(S) per lane, with nm (as float32s) in the pair nm, then the
// outputs.
func (k *axisK) logOut(name func(string) string, m groupMode, nm pair) {
	k.comment("l = float64(nm)*ln2 + log64(S) per lane, lanes 0-3 then 4-7.")
	l := [4]V{8, 9, 10, 11}
	n64, cst := pairAt(12), V(0)
	for h := range 2 {
		out := pair{l[2*h], l[2*h+1]}
		k.log64(pair{axAcc[2*h], axAcc[2*h+1]}, out)
		k.fcvtl(n64[0], nm[h])
		k.fcvtl2(n64[1], nm[h])
		k.t.load(cst, axTbl, "ln2")
		each2(func(j int) { k.fmul(D2, n64[j], n64[j], cst) })
		each2(func(j int) { k.fadd(D2, out[j], n64[j], out[j]) })
	}
	c64 := [4]V{12, 13, 14, 15}
	each2(func(j int) {
		k.fcvtl(c64[2*j], axCv[j])
		k.fcvtl2(c64[2*j+1], axCv[j])
	})
	k.comment("Pass 3: y = float32(min((float64(x) - float64(c)) - l, 0)).")
	x, y, zero := axX, [4]V{2, 3, 4, 5}, V(6)
	k.zero(zero)
	k.axisLoop(name("out"), true, func() {
		k.load(x, axP, m)
		each2(func(j int) {
			k.fcvtl(y[2*j], x[j])
			k.fcvtl2(y[2*j+1], x[j])
		})
		for i := range y {
			k.fsub(D2, y[i], y[i], c64[i])
		}
		for i := range y {
			k.fsub(D2, y[i], y[i], l[i])
		}
		for i := range y {
			k.fmin(D2, y[i], y[i], zero) // never above 0, -0 kept (fallback.logProb)
		}
		each2(func(j int) {
			k.fcvtn(x[j], y[2*j])
			k.fcvtn2(x[j], y[2*j+1])
		})
		each2(func(j int) { k.bif(x[j], axFill[j], axOK[j]) })
		k.store(x, axQ, m)
	})
}

// log64 emits fallback.log64 on the four float64 lanes of in (which it
// overwrites), into out: every operation the fallback's, in its order, on
// two lanes a register (see rows.log64 in logsoftmax.go for the scalar
// version; here the halving of f and e++ are selected with a mask). It
// uses V0-V7 and V12-V13.
func (k *axisK) log64(in, out pair) {
	e, gt, z, w := pairAt(0), pairAt(2), pairAt(4), pairAt(6)
	c, one := V(12), V(13)
	f := in
	each2(func(j int) { k.ushrD(e[j], in[j], 52) })
	k.t.load(c, axTbl, "int1023")
	each2(func(j int) { k.sub(D2, e[j], e[j], c) }) // e = (bits >> 52) - 1023
	k.t.load(c, axTbl, "mant")
	each2(func(j int) { k.and(f[j], in[j], c) })
	k.t.load(one, axTbl, "one64")
	each2(func(j int) { k.orr(f[j], f[j], one) }) // f in [1, 2)
	k.t.load(c, axTbl, "sqrt2")
	each2(func(j int) { k.fcmgt(D2, gt[j], f[j], c) })
	each2(func(j int) { k.sub(D2, e[j], e[j], gt[j]) }) // e++ where f > sqrt2
	k.t.load(c, axTbl, "bit52")
	each2(func(j int) { k.and(gt[j], gt[j], c) })
	each2(func(j int) { k.eor(f[j], f[j], gt[j]) }) // and f *= 0.5
	each2(func(j int) { k.fsub(D2, z[j], f[j], one) })
	each2(func(j int) { k.fadd(D2, w[j], f[j], one) })
	each2(func(j int) { k.fdiv(D2, z[j], z[j], w[j]) }) // z = (f-1)/(f+1)
	each2(func(j int) { k.fmul(D2, w[j], z[j], z[j]) })
	k.t.load(out[0], axTbl, logCName(0))
	k.mov(out[1], out[0])
	for i := 1; i < len(logC); i++ {
		each2(func(j int) { k.fmul(D2, out[j], out[j], w[j]) })
		k.t.load(c, axTbl, logCName(i))
		each2(func(j int) { k.fadd(D2, out[j], out[j], c) })
	}
	each2(func(j int) { k.fmul(D2, out[j], z[j], out[j]) }) // r = z*p
	each2(func(j int) { k.fadd(D2, out[j], out[j], out[j]) })
	each2(func(j int) { k.scvtf(D2, e[j], e[j]) })
	k.t.load(c, axTbl, "ln2")
	each2(func(j int) { k.fmul(D2, e[j], e[j], c) })
	each2(func(j int) { k.fadd(D2, out[j], e[j], out[j]) }) // e*ln2 + (r + r)
}
