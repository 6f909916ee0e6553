package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// The backward kernels: SoftmaxBackward and LogSoftmaxBackward, bit for bit
// fallback.SoftmaxBackward and fallback.LogSoftmaxBackward
// (fallback/backward.go). Each reads its row twice:
//
//	pass 1  a float64 sum in the canonical lane order (fallback's dot64):
//	        dot = sum of float64(y_i)*float64(dy_i) for SoftmaxBackward,
//	        sum = sum of float64(dy_i) for LogSoftmaxBackward. Per lane, a
//	        float64 partial over each block of 4 vectors (64 elements), in
//	        element order, added to the lane's accumulator; then lanes i+8,
//	        i+4, i+2, i+1 folded into lane i.
//	pass 2  SoftmaxBackward:    dx = float32(float64(y) * (float64(dy) - dot))
//	        LogSoftmaxBackward: dx = float32(float64(dy) - float64(e)*sum),
//	                            e = exp(y), the Exp kernel's exponential
//	                            (exp512, exp256 in exp.go)
//	        each operation rounded in float64, then once more to float32,
//	        as the Go code does; a NaN dx is the canonical NaN 0x7fc00000.
//
// The product of two float32s is exact in float64, so the fused
// multiply-add of pass 1 is the fallback's multiply and add. Lanes past
// the end of the row are loaded as zeros in pass 1 and add a +0 term,
// where the fallback adds nothing: that changes no partial, since a
// partial starts at +0 and a round-to-nearest sum is -0 only if both its
// terms are, so no partial or accumulator is ever -0. Pass 2 loads y and
// dy of a vector before it stores dx there, so dx may be y or dy.
//
// Tails (the last n%16 elements): AVX-512 loads and stores them under
// opmasks, converting straight from memory. AVX2 copies y's and dy's into
// buffers on the stack, zeros after them (VMASKMOVPS, or copyTail where
// the 64 bytes cross a page), runs the vector code on the buffers, and
// stores dx with VMASKMOVPS. Neither reads or writes outside the slices.
//
// The batched kernels (SoftmaxBackwardRows, LogSoftmaxBackwardRows) run
// the same body in a loop over the rows, in one call: pass 2 leaves the
// pointers at the row's tail, which they then step over. Constants are
// loaded once, and so are AVX-512's tail masks, the same for every row.
// The one-row kernels keep their own entry points, without the loop.
//
// AVX2's LogSoftmaxBackward runs pass 2 of a row of 32 elements or more
// through a software pipeline, in a faster form for a row whose y are
// all in [-87, 87] (but the tail's) and whose sum is finite, which pass 1
// checks: see pipeline2 and fastRow. AVX-512's has the same fast form
// (see backwardAVX512), whose rows of 64 elements or more go through a
// pipeline of their own (bw512.pipeline2, bwPipeVectors); its other rows
// keep the loop of 4 vectors.

// backwardKernel describes one of the two kernels.
type backwardKernel struct {
	name   string // SoftmaxBackward or LogSoftmaxBackward
	prefix string // of its labels
	log    bool   // LogSoftmaxBackward
}

var (
	softmaxBackward    = backwardKernel{"SoftmaxBackward", "sb", false}
	logSoftmaxBackward = backwardKernel{"LogSoftmaxBackward", "lsb", true}
)

func generateBackward(g *gen) {
	// The exponential's constants (exp512 and exp256 read them by name);
	// "nan" is the only other one the kernels need.
	c := g.constTable("backwardconst", append(expConsts[:len(expConsts):len(expConsts)],
		constant{"fixNaN", fixNaNTable},
		constant{"fastHi", fastYBound}, constant{"fastLo", fastYBound | 1<<31}))
	for _, rows := range []bool{false, true} {
		for _, bk := range []backwardKernel{softmaxBackward, logSoftmaxBackward} {
			backwardAVX512(g, c, bk, rows, false)
		}

		for _, bk := range []backwardKernel{softmaxBackward, logSoftmaxBackward} {
			backwardAVX2(g, c, bk, rows, false)
		}
	}
	for _, bk := range []backwardKernel{softmaxBackward, logSoftmaxBackward} {
		shortBackwardAVX512(g, c, bk) // short_backward.go
	}
	for _, bk := range []backwardKernel{softmaxBackward, logSoftmaxBackward} {
		backwardAVX2(g, c, bk, true, true)
	}
	for _, bk := range []backwardKernel{softmaxBackward, logSoftmaxBackward} {
		backwardAVX512(g, c, bk, true, true)
	}
}

// backwardRowsSignature is the signature of the batched kernels.
const backwardRowsSignature = "func(dx, y, dy []float32, rows, cols int)"

// backwardRowsDoc returns the documentation of a batched backward kernel.
func backwardRowsDoc(bk backwardKernel, fn, requires string) []string {
	return []string{
		fmt.Sprintf("%s applies %s to each of the rows rows", fn, bk.name),
		fmt.Sprintf("of cols elements, with the bits of fallback.%sRows. The caller", bk.name),
		"checks the arguments: rows*cols elements in each slice, rows and cols > 0;",
		"dx may be y or dy; any other overlap gives unspecified results.",
		"It requires " + requires + ".",
	}
}

// backwardFunction declares bk's kernel on one instruction set: the
// one-row kernel, the batched one if rows, or with long the long-row one,
// for which it appends "l" to bk.prefix, the prefix of its labels. sfx
// ends the kernel's name, requires names the instruction set in its doc,
// isa lists the extensions it may use (the batched and long-row kernels
// add PREFETCHT0 and SFENCE's), and the long-row kernel's doc says that it
// stores dx non-temporally where dx is vec-byte aligned and cols a
// multiple of a vector's vec/4 elements.
func (g *gen) backwardFunction(bk *backwardKernel, rows, long bool, sfx, requires string, isa []string, vec int) {
	if rows || long {
		isa = append(isa, "MMX+") // PREFETCHT0, SFENCE
	}
	switch {
	case long:
		fn := bk.name + "LongRows" + sfx
		g.function(fn, backwardRowsSignature, isa, append(backwardRowsDoc(*bk, fn, requires),
			"It is "+bk.name+"Rows"+sfx+" for rows too long for any cache: it writes",
			fmt.Sprintf("dx with non-temporal stores where dx is %d-byte aligned and cols a", vec),
			fmt.Sprintf("multiple of %d.", vec/4))...)
		bk.prefix += "l"
	case rows:
		fn := bk.name + "Rows" + sfx
		g.function(fn, backwardRowsSignature, isa, backwardRowsDoc(*bk, fn, requires)...)
	default:
		fn := bk.name + sfx
		g.function(fn, "func(dx, y, dy []float32)", isa, backwardDoc(*bk, fn, requires)...)
	}
}

// backwardRowsArgs loads the arguments of a backwardRowsSignature kernel:
// the three base pointers, rows and cols.
func (g *gen) backwardRowsArgs() (dx, y, dy, rows, cols reg.GPVirtual) {
	dx, y, dy, rows, cols = g.GP64(), g.GP64(), g.GP64(), g.GP64(), g.GP64()
	g.Load(g.Param("dx").Base(), dx)
	g.Load(g.Param("y").Base(), y)
	g.Load(g.Param("dy").Base(), dy)
	g.Load(g.Param("rows"), rows)
	g.Load(g.Param("cols"), cols)
	return dx, y, dy, rows, cols
}

// nextRow ends a row of a batched kernel: pass 2 leaves y, dy and dx at the
// row's tail of n elements (n is 0 without a tail), so they move on by n
// to the next row; then it loops back to the label top while rows remain.
func (g *gen) nextRow(dx, y, dy, n, rows reg.GPVirtual, top string) {
	for _, r := range []reg.GPVirtual{y, dy, dx} {
		g.LEAQ(Mem{Base: r, Index: n, Scale: 4}, r)
	}
	g.DECQ(rows)
	g.JNZ(LabelRef(top))
}

// backwardPass1 emits pass 1 of a backward kernel over the n elements at y
// and dy: its pointers p (and q, which a log kernel leaves out) set to dy
// (log) or y and dy, i to n, then pass1(p, q, i).
func (g *gen) backwardPass1(bk backwardKernel, y, dy, n reg.GPVirtual, pass1 func(p, q, i reg.GPVirtual)) {
	p, q, i := g.GP64(), g.GP64(), g.GP64()

	g.Comment("Pass 1: the float64 sum.")
	if bk.log {
		g.MOVQ(dy, p)
	} else {
		g.MOVQ(y, p)
		g.MOVQ(dy, q)
	}
	g.MOVQ(n, i)
	pass1(p, q, i)
}

// backwardLoops emits pass 2's loops over the whole vectors of n elements
// at y, dy and dx: blocks of unroll vectors while that many remain, then
// single ones; out(u) emits the u vectors at y, dy and dx, which then move
// on. label returns the function's label with the given suffix. It leaves
// n at the tail's 0..15 elements.
func (g *gen) backwardLoops(label func(string) string, y, dy, dx, n reg.GPVirtual, unroll int, out func(u int)) {
	loop := func(name string, u int) {
		g.Label(label(name))
		g.CMPQ(n, U32(16*u))
		g.JB(LabelRef(label(name + "_end")))
		out(u)
		for _, r := range []reg.GPVirtual{y, dy, dx} {
			g.ADDQ(U32(64*u), r)
		}
		g.SUBQ(U32(16*u), n)
		g.JMP(LabelRef(label(name)))
		g.Label(label(name + "_end"))
	}
	loop(fmt.Sprintf("loop%d", unroll), unroll)
	loop("loop1", 1)
}

// backwardEnd emits the end of a backward kernel at the label done: in a
// batched kernel (rows), the step to the next row (see nextRow), then the
// return.
func (g *gen) backwardEnd(done string, rows bool, dx, y, dy, n, nrows reg.GPVirtual, top string) {
	g.Label(done)
	if rows {
		g.nextRow(dx, y, dy, n, nrows, top)
	}
	g.VZEROUPPER()
	g.RET()
}

// pass1Next emits the step of pass 1's pointers by bytes: p, and q but in
// a log kernel, which reads dy alone; and of its count n of elements left.
func (g *gen) pass1Next(bk backwardKernel, p, q, n reg.GPVirtual, bytes int) {
	g.ADDQ(U32(bytes), p)
	if !bk.log {
		g.ADDQ(U32(bytes), q)
	}
	g.SUBQ(U32(bytes/4), n)
}

// pass1At returns the operand of pass 1's second input at r+disp, or the
// zero Mem in a log kernel, which has no second operand.
func (bk backwardKernel) pass1At(r reg.GPVirtual, disp int) Mem {
	if bk.log {
		return Mem{} // no second operand
	}
	return Mem{Base: r, Disp: disp}
}

// backwardDoc returns the documentation of a backward kernel.
func backwardDoc(bk backwardKernel, fn, requires string) []string {
	what := "dx = y * (dy - <y, dy>)"
	if bk.log {
		what = "dx = dy - exp(y) * sum(dy)"
	}
	return []string{
		fmt.Sprintf("%s sets %s over the first", fn, what),
		fmt.Sprintf("min(len(dx), len(y), len(dy)) elements, with the bits of fallback.%s.", bk.name),
		"dx may be y or dy; any other overlap gives unspecified results.",
		"It requires " + requires + ".",
	}
}

// backwardArgs loads the arguments of a func(dx, y, dy []float32): the
// three base pointers and n, the least of the three lengths. The callers
// check that the lengths are equal; the minimum keeps a wrong call from
// reading or writing out of bounds.
func (g *gen) backwardArgs() (dx, y, dy, n reg.GPVirtual) {
	dx, y, dy, n = g.GP64(), g.GP64(), g.GP64(), g.GP64()
	g.Load(g.Param("dx").Base(), dx)
	g.Load(g.Param("y").Base(), y)
	g.Load(g.Param("dy").Base(), dy)
	g.Load(g.Param("dx").Len(), n)
	for _, p := range []string{"y", "dy"} {
		m := g.GP64()
		g.Load(g.Param(p).Len(), m)
		g.CMPQ(m, n)
		g.CMOVQLT(m, n) // n = min(n, m)
	}
	return dx, y, dy, n
}

// bw512 is the AVX-512 backward generator. A vector is one zmm register of
// 16 float32 lanes, or two of 8 float64 lanes: lanes 0-7 and 8-15.
type bw512 struct {
	g  *gen
	c  *constTable
	bk backwardKernel
	k  map[string]reg.VecVirtual // the exponential's constants (expRegs512)
	s  reg.VecVirtual            // dot or sum, float64 in every lane

	// km selects the row's last n%16 lanes: km[0] in a vector of 16
	// float32 lanes, or in its low half of 8, km[1] in its high half.
	km []reg.Register

	// LogSoftmaxBackward: y's pointer in pass 1, and the unsigned and
	// signed maxima of the bits of y over the row's whole vectors (see
	// fastRow).
	yp         reg.GPVirtual
	maxU, maxS reg.VecVirtual
	pf         reg.GPVirtual // the rows kernel's prefetch distance in bytes, or nil
	fast       bool          // out emits a fast row's pass 2 (see fastRow)

	// nt, sfx, fastSlot and pfSelf are bw256's nt, sfx, fast and pfSelf,
	// for the long-row kernels (see backwardAVX512).
	nt       bool
	sfx      string
	fastSlot Mem
	pfSelf   int
}

// newBw512 returns the AVX-512 backward generator of bk, with the
// constants it keeps in registers loaded: the exponential's (expRegs512)
// for a log kernel, else the canonical NaN alone.
func newBw512(g *gen, c *constTable, bk backwardKernel) *bw512 {
	b := &bw512{g: g, c: c, bk: bk}
	if bk.log {
		b.k = expRegs512(g, c)
	} else {
		b.k = map[string]reg.VecVirtual{"nan": g.ZMM()}
		g.VBROADCASTSS(c.scalar("nan"), b.k["nan"])
	}
	return b
}

// label returns the function's label with the given suffix.
func (b *bw512) label(s string) string { return b.bk.prefix + "512_" + s + b.sfx }

// tailMasks sets b.km for a row of n elements.
func (b *bw512) tailMasks(n reg.GPVirtual) {
	g := b.g
	tail, tbl := g.GP64(), g.GP64()
	g.MOVQ(n, tail)
	g.ANDQ(U32(15), tail)
	g.LEAQ(g.tailMask16(), tbl)
	b.km = []reg.Register{g.K(), g.K()}
	g.KMOVW(Mem{Base: tbl, Index: tail, Scale: 2}, b.km[0])
	g.KSHIFTRW(U8(8), b.km[0], b.km[1])
}

// cvt returns the float64s of half h (0 or 1) of the vector at p; in the
// row's tail, those of the lanes in the row and +0 in the others, which
// are not read (an EVEX load does not fault on masked-off elements).
func (b *bw512) cvt(p Mem, h int, tail bool) reg.VecVirtual {
	d := b.g.ZMM()
	if tail {
		b.g.VCVTPS2PD_Z(p.Offset(32*h), b.km[h], d)
	} else {
		b.g.VCVTPS2PD(p.Offset(32*h), d)
	}
	return d
}

// addTerms adds the terms of pass 1 for the vector at p (and q, for the
// dot product) to the block partials part[0] (lanes 0-7) and part[1] (lanes
// 8-15): p*q for the dot product, p alone for the sum. In the tail, the
// lanes past the row add +0.
func (b *bw512) addTerms(p, q Mem, tail bool, part []reg.VecVirtual) {
	g := b.g
	for h := range part {
		if b.bk.log {
			g.VADDPD(b.cvt(p, h, tail), part[h], part[h])
		} else {
			g.VFMADD231PD(b.cvt(p, h, tail), b.cvt(q, h, tail), part[h]) // part += p*q, exact product
		}
	}
}

// pass1 emits pass 1 over the n elements at p (and q), and leaves its
// result in b.s, broadcast; a log kernel also leaves in maxU and maxS the
// maxima of the bits of y, at b.yp, over the row's whole vectors (see
// fastRow).
func (b *bw512) pass1(p, q, n reg.GPVirtual) {
	g := b.g
	zero := func() []reg.VecVirtual {
		v := []reg.VecVirtual{g.ZMM(), g.ZMM()}
		for _, x := range v {
			g.VPXORQ(x, x, x)
		}
		return v
	}
	track := b.bk.log
	next := func(bytes int) {
		g.pass1Next(b.bk, p, q, n, bytes)
		if track {
			g.ADDQ(U32(bytes), b.yp)
		}
	}
	yBits := func(vectors int) {
		for j := 0; j < vectors && track; j++ {
			y := Mem{Base: b.yp, Disp: 64 * j}
			g.VPMAXUD(y, b.maxU, b.maxU)
			g.VPMAXSD(y, b.maxS, b.maxS)
		}
	}
	at := b.bk.pass1At
	acc := zero()
	if track {
		b.maxU, b.maxS = g.ZMM(), g.ZMM()
		// +0, which passes both tests, from a register already set: avo
		// takes VPXORQ x, x, x as reading x, which would then be live
		// across the whole row loop.
		for _, x := range []reg.VecVirtual{b.maxU, b.maxS} {
			g.VPXORQ(b.k["one"], b.k["one"], x)
		}
	}
	g.Label(b.label("sum64"))
	g.CMPQ(n, U32(64))
	g.JB(LabelRef(b.label("sumtail")))
	part := zero()
	for j := 0; j < 4; j++ {
		b.addTerms(Mem{Base: p, Disp: 64 * j}, at(q, 64*j), false, part)
	}
	for d := 0; b.pfSelf != 0 && d < 256; d += 64 {
		g.PREFETCHT0(Mem{Base: p, Disp: b.pfSelf + d})
		if b.bk.log {
			g.PREFETCHT0(Mem{Base: b.yp, Disp: b.pfSelf + d})
		} else {
			g.PREFETCHT0(Mem{Base: q, Disp: b.pfSelf + d})
		}
	}
	yBits(4)
	for h := range acc {
		g.VADDPD(part[h], acc[h], acc[h])
	}
	next(256)
	g.JMP(LabelRef(b.label("sum64")))

	g.Label(b.label("sumtail"))
	g.Comment("The last block: 0..3 whole vectors, then 0..15 lanes.")
	g.TESTQ(n, n)
	g.JZ(LabelRef(b.label("sumred")))
	part = zero()
	g.Label(b.label("sum16"))
	g.CMPQ(n, U32(16))
	g.JB(LabelRef(b.label("sumlast")))
	b.addTerms(Mem{Base: p}, at(q, 0), false, part)
	yBits(1)
	next(64)
	g.JMP(LabelRef(b.label("sum16")))
	g.Label(b.label("sumlast"))
	g.TESTQ(n, n)
	g.JZ(LabelRef(b.label("sumblock")))
	b.addTerms(Mem{Base: p}, at(q, 0), true, part)
	g.Label(b.label("sumblock"))
	for h := range acc {
		g.VADDPD(part[h], acc[h], acc[h])
	}

	g.Label(b.label("sumred"))
	g.VADDPD(acc[1], acc[0], acc[0]) // lane i += lane i+8
	// The folds stay in zmm registers, every one fully written: in the
	// batched kernels the allocator may give them Z16-Z31, which
	// VEXTRACTF128 (VEX only) cannot name.
	y := g.ZMM()
	g.VSHUFF64X2(U8(0xee), acc[0], acc[0], y) // lanes 4-7 to 0-3
	g.VADDPD(y, acc[0], y)                    // lane i += lane i+4
	x := g.XMM()
	g.VEXTRACTF32X4(U8(1), y, x)
	g.VADDPD(x, y.AsX(), x) // lane i += lane i+2
	x2 := g.XMM()
	g.VPERMILPD(U8(1), x, x2)
	g.VADDSD(x2, x, x) // lane 0 += lane 1
	b.s = g.ZMM()
	g.VBROADCASTSD(x, b.s)
}

// out emits pass 2 for u vectors: y at p, dy at q, dx at d; in the row's
// tail (then u is 1), only the lanes in the row.
func (b *bw512) out(p, q, d Mem, u int, tail bool) {
	fast := b.fast && !tail
	g := b.g
	// dx in float64, lanes 0-7 and 8-15, for each of the u vectors.
	res := make([][]reg.VecVirtual, u)
	if b.bk.log {
		x := make([]reg.VecVirtual, u)
		for i := range x {
			x[i] = g.ZMM()
			if tail {
				g.VMOVUPS_Z(p.Offset(64*i), b.km[0], x[i])
			} else {
				g.VMOVUPS(p.Offset(64*i), x[i])
			}
		}
		// A NaN e makes dx NaN, which the rounding below makes the
		// canonical NaN: the exponential's own step for it would be 2
		// operations a vector for nothing. Measured without it (ns per
		// element, thread CPU time, the least of 15 runs, batches of 1
		// MiB): 0.45 against 0.50 at 100 columns, 0.36 against 0.41 at
		// 1024, 0.37 against 0.42 at 4096.
		if fast {
			g.Comment("e = exp(y), the Exp kernel's, without its clamps (see fastRow).")
			expFast512(g, b.k, x)
		} else {
			g.Comment("e = exp(y), the Exp kernel's, but for a NaN's bits.")
			expAnyNaN512(g, b.k, x)
		}
		b.logDx(x, q, tail, res)
	} else {
		g.Comment("dx = y * (dy - dot) in float64.")
		for i := range res {
			for h := 0; h < 2; h++ {
				dy := b.cvt(q.Offset(64*i), h, tail)
				g.VSUBPD(b.s, dy, dy)
				g.VMULPD(b.cvt(p.Offset(64*i), h, tail), dy, dy)
				res[i] = append(res[i], dy)
			}
		}
	}
	b.store(res, d, tail, fast)
}

// logDx emits LogSoftmaxBackward's dx = dy - e*sum in float64 for the
// vectors e, dy's at q, into res: for each vector, its halves.
func (b *bw512) logDx(e []reg.VecVirtual, q Mem, tail bool, res [][]reg.VecVirtual) {
	g := b.g
	g.Comment("dx = dy - e*sum in float64.")
	for i := range e {
		hi := g.YMM()
		g.VEXTRACTF64X4(U8(1), e[i], hi)
		for h, eh := range []reg.Register{e[i].AsY(), hi} {
			e := g.ZMM()
			g.VCVTPS2PD(eh, e)
			g.VMULPD(b.s, e, e)
			dy := b.cvt(q.Offset(64*i), h, tail)
			g.VSUBPD(e, dy, dy)
			res[i] = append(res[i], dy)
		}
	}
}

// store rounds the halves of dx in res to float32 and stores them at d,
// masked in the tail; NaN lanes get the canonical NaN, but in a fast row,
// which has none (see fastRow).
func (b *bw512) store(res [][]reg.VecVirtual, d Mem, tail, fast bool) {
	g := b.g
	g.Comment("Round to float32; NaN lanes get the canonical NaN.")
	for i, r := range res {
		// The float32s go to the low halves of the float64 registers,
		// which are thus fully defined for avo's liveness analysis.
		v, hi := r[0], r[1].AsY()
		g.VCVTPD2PS(v, v.AsY())
		g.VCVTPD2PS(r[1], hi)
		g.VINSERTF64X4(U8(1), hi, v, v)
		// One VFIXUPIMMPS where a compare and a masked move were: into
		// a copy of the canonical NaN, v's lanes but its NaNs (see
		// fixNaNTable). Measured (ns per element, thread CPU time, lower
		// quartile of 200 runs, LogSoftmaxBackwardRows, medians of 4
		// runs): 0.43 against 0.46 at 100 columns (1.34x against 1.42x
		// SoftmaxRowsAVX512), 0.37 against 0.38 at 1024 (1.51x against
		// 1.53x), 0.37 against 0.39 at 4096 (1.36x against 1.40x).
		o := v
		if !fast { // a fast row has no NaN (see fastRow)
			o = g.ZMM()
			g.VMOVAPS(b.k["nan"], o)
			g.VFIXUPIMMPS_BCST(U8(0), b.c.scalar("fixNaN"), v, o)
		}
		switch {
		case tail:
			g.VMOVUPS(o, b.km[0], d.Offset(64*i))
		case b.nt:
			g.VMOVNTPS(o, d.Offset(64*i))
		default:
			g.VMOVUPS(o, d.Offset(64*i))
		}
	}
}

// bwPipeVectors is the number of vectors in a step of the pipeline of
// LogSoftmaxBackward's AVX-512 fast rows (see bw512.pipeline2): one
// step's stages A, B and C on 2 vectors each, against the loop of 4
// vectors before it (ns per element, LogSoftmaxBackwardRowsAVX512, thread
// CPU time, the lower quartile of 160 runs alternating with it and with
// SoftmaxRowsAVX512, batches of 1 MiB, y a log-softmax of N(0, 4) logits,
// dy N(0, 1), Zen 5, two runs, out of place / dx = dy / dx = y): 0.268-
// 0.271 / 0.281-0.282 / 0.277-0.281 against 0.285-0.290 / 0.300-0.301 /
// 0.292-0.295 at 1024 columns (1.18 / 1.22-1.24 / 1.22-1.24x
// SoftmaxRowsAVX512's time against 1.25-1.26 / 1.30-1.32 / 1.28-1.31x),
// 0.268-0.282 against 0.283-0.298 at 4096 (1.08-1.12x against
// 1.14-1.20x), 0.292-0.313 against 0.315-0.324 at 300, 0.336-0.342
// against 0.367-0.373 at 100 out of place (the same in place), 0.29-0.30
// against 0.31-0.32 at 32000, 0.30-0.32 against 0.32-0.34 at 128256.
// Steps of 1 vector were slower than the loop (0.30-0.32 at 1024 and
// 4096); steps of 3 do not fit avo's allocation of the 32 registers.
const bwPipeVectors = 2

// pipeline2 emits bw256.pipeline2 for a fast row on AVX-512, pu vectors a
// step, in the same three stages (A: y, the reduction to r and nf; B: the
// polynomial and e = p * 2^nf by VSCALEFPS; C: logDx and store): over the
// whole vectors of the n elements at y, dy and dx, at least 2*pu, it
// leaves the pointers past the last step's vectors and n at the 0..16*pu-1
// elements left, which the fast loops and the tail then take.
func (b *bw512) pipeline2(y, dy, dx, n reg.GPVirtual, pu int) {
	g, k := b.g, b.k
	vs := func() []reg.VecVirtual {
		v := make([]reg.VecVirtual, pu)
		for i := range v {
			v[i] = g.ZMM()
		}
		return v
	}
	r, t, e := vs(), vs(), vs()
	a := func() {
		for i := range r {
			g.VMOVUPS(Mem{Base: y, Disp: 64 * i}, r[i])
		}
		for i := range t {
			g.VMOVAPS(k["magic"], t[i])
		}
		for i := range t {
			g.VFMADD231PS(k["log2e"], r[i], t[i])
		}
		for i := range t {
			g.VSUBPS(k["magic"], t[i], t[i]) // nf
		}
		for i := range r {
			g.VFMADD231PS(k["negLn2Hi"], t[i], r[i])
		}
		for i := range r {
			g.VFMADD231PS(k["negLn2Lo"], t[i], r[i]) // r
		}
	}
	bb := func() {
		for i := range e {
			g.VMOVAPS(k["c6"], e[i])
		}
		for _, ci := range []string{"c5", "c4", "c3", "c2", "one", "one"} {
			for i := range e {
				g.VFMADD213PS(k[ci], r[i], e[i])
			}
		}
		for i := range e {
			g.VSCALEFPS(t[i], e[i], e[i])
		}
	}
	cc := func(j int) {
		res := make([][]reg.VecVirtual, pu)
		b.logDx(e, Mem{Base: dy, Disp: 64 * pu * j}, false, res)
		b.store(res, Mem{Base: dx, Disp: 64 * pu * j}, false, true)
	}
	next := func() {
		for v := 0; v < pu && b.pf != nil; v++ {
			g.PREFETCHT0(Mem{Base: y, Index: b.pf, Scale: 1, Disp: 64 * v})
			g.PREFETCHT0(Mem{Base: dy, Index: b.pf, Scale: 1, Disp: 64 * v})
		}
		for _, p := range []reg.GPVirtual{y, dy, dx} {
			g.ADDQ(U32(64*pu), p)
		}
		g.SUBQ(U32(16*pu), n)
	}
	g.Comment("Pipeline prologue: step 0 through stages A and B, step 1 through A.")
	a()
	next()
	bb()
	a()
	next()
	g.Label(b.label("pipe"))
	g.CMPQ(n, U32(16*pu))
	g.JB(LabelRef(b.label("drain")))
	g.Comment("One step: C of step j-2, B of j-1, A of j.")
	cc(-2)
	bb()
	a()
	next()
	g.JMP(LabelRef(b.label("pipe")))
	g.Label(b.label("drain"))
	g.Comment("Pipeline epilogue: the last two steps through stages B and C.")
	cc(-2)
	bb()
	cc(-1)
}

// fastRow emits bw256.fastRow's test for AVX-512, over the maxima that
// pass 1 leaves in maxU and maxS: every y of the row's whole vectors in
// [-87, 87] and sum finite, or a jump to the label general.
func (b *bw512) fastRow(general string) {
	g, c := b.g, b.c
	g.Comment("A fast row: y's whole vectors in [-87, 87], sum finite.")
	ku, ks := g.K(), g.K()
	g.VPCMPUD_BCST(U8(6), c.scalar("fastLo"), b.maxU, ku) // u > bits(-87)
	g.VPCMPD_BCST(U8(6), c.scalar("fastHi"), b.maxS, ks)  // s > bits(87)
	g.KORTESTW(ku, ks)
	g.JNZ(LabelRef(general))
	z := g.XMM()
	g.VSUBSD(b.s.AsX(), b.s.AsX(), z) // 0, or NaN for a NaN or infinite sum
	g.VUCOMISD(z, z)
	g.JP(LabelRef(general))
}

// fixNaNTable is VFIXUPIMMPS's table that keeps the destination (0) for
// a QNaN or SNaN source (tokens 0 and 1) and takes the source as it is (1)
// for every other class (tokens 2-7: zero, +1, -inf, +inf, negative,
// positive); Go leaves MXCSR.DAZ clear, so subnormals pass unchanged.
const fixNaNTable = 0x11111100

// backwardAVX512 emits the one-row kernel, or the batched one if rows: the
// same body in a loop over the rows, with the tail masks set once. With
// long (and rows), it emits SoftmaxBackwardLongRowsAVX512 or
// LogSoftmaxBackwardLongRowsAVX512: backwardAVX2's long-row kernels on
// AVX-512 (pass 1 prefetching y and dy pfLong256 bytes ahead, no
// prefetch of the next row, pass 2 in chunks from the row's end
// (backChunks), and non-temporal stores where dx is 64-byte aligned and
// cols a multiple of 16). Package kernels sends them the batches that it
// sends LogSoftmaxLongRowsAVX512. Their speed has not been measured: no
// AVX-512 machine was at hand when they were written.
func backwardAVX512(g *gen, c *constTable, bk backwardKernel, rows, long bool) {
	g.backwardFunction(&bk, rows, long, "AVX512", "AVX-512F", []string{"AVX", "AVX512F", "CMOV"}, 64)
	b := newBw512(g, c, bk)
	if long {
		b.pfSelf = pfLong256
	}
	var dx, y, dy, n, nrows, cols reg.GPVirtual
	if rows {
		dx, y, dy, nrows, cols = g.backwardRowsArgs()
		b.tailMasks(cols)
		if !long {
			b.pf = g.bwPrefetchBytes(cols)
		}
		n = g.GP64()
		g.Label(b.label("row"))
		g.MOVQ(cols, n)
	} else {
		dx, y, dy, n = g.backwardArgs()
		b.tailMasks(n)
	}
	if bk.log {
		b.yp = g.GP64()
		g.MOVQ(y, b.yp)
	}
	g.backwardPass1(bk, y, dy, n, b.pass1)

	done := b.label("done")
	if long {
		g.longBackward(bwLong{b.label, b.fastRow, &b.fastSlot, &b.nt, &b.sfx, b.pass2, 64}, bk.log, dx, y, dy, cols, nrows)
		return
	}
	b.pass2(y, dy, dx, n, done)
	g.backwardEnd(done, rows, dx, y, dy, n, nrows, b.label("row"))
}

// pass2 emits pass 2 of the row at y, dy and dx, of n elements, which
// leaves the three pointers at the row's tail and n at its length, or
// jumps to done where the row has no tail (bw256.pass2 on AVX-512).
func (b *bw512) pass2(y, dy, dx, n reg.GPVirtual, done string) {
	g, bk := b.g, b.bk
	g.Comment("Pass 2: dx.")
	// Exp's unrolling: 13 constants and 3 registers per vector in the
	// exponential. Without it, 4 vectors of 6 float64 halves fit as well.
	//
	// LogSoftmaxBackward's fast rows (see bw256.fastRow, here
	// bw512.fastRow) skip the exponential's clamps and the NaN fix, 4
	// operations a vector (VSCALEFPS scales in one either way), for 2 in
	// pass 1 that track the bits of y. In the batched kernels pass 2 also
	// prefetches the next row's y and dy at the same offset, in rows of
	// up to bwPrefetchCols elements, as the AVX2 ones do. Measured on
	// LogSoftmaxBackwardRowsAVX512 against the kernel without either (ns
	// per element, thread CPU time, the lower quartile of 160 runs
	// alternating with it and with SoftmaxRowsAVX512, batches of 1 MiB, y a
	// log-softmax of N(0, 4) logits, dy N(0, 1), Zen 5; out of place / dx
	// = dy / dx = y): 0.311 / 0.319 / 0.315 against 0.364 / 0.377 / 0.369
	// at 1024 columns (1.19 / 1.07 / 1.02x SoftmaxRowsAVX512's time against
	// 1.39 / 1.27 / 1.20x), 0.294 / 0.293 / 0.291 against 0.357 / 0.403 /
	// 0.361 at 4096 (1.01 / 0.91 / 0.95x against 1.22 / 1.24 / 1.18x),
	// 0.330-0.344 against 0.378-0.385 at 300, 0.374 / 0.483 / 0.432
	// against 0.419 / 0.503 / 0.460 at 100, 0.319 against 0.357 at 32000,
	// 0.332-0.342 against 0.364-0.371 at 128256, 0.80 / 1.36 / 1.54
	// against 0.82 / 1.40 / 1.65 at 17. Either alone pays less: the fast
	// form alone was slower in place at 1024 and 4096 (0.38-0.40), where
	// pass 1's reads of y then come late; the prefetch alone gained
	// nothing out of place. On SoftmaxBackwardRowsAVX512 the prefetch
	// alone: 0.196 / 0.194 against 0.291 / 0.287 at 4096 in place (dx =
	// dy / dx = y), 0.244 / 0.240 against 0.268 / 0.265 at 1024, out of
	// place and at 17-300 and 32000-128256 the same within 0.01.
	const unroll = 4
	loops := func(fast bool, suffix string) {
		label := func(s string) string { return b.label(s + suffix) }
		g.backwardLoops(label, y, dy, dx, n, unroll, func(u int) {
			b.fast = fast
			b.out(Mem{Base: y}, Mem{Base: dy}, Mem{Base: dx}, u, false)
			b.fast = false
			for v := 0; v < u && b.pf != nil; v++ {
				g.PREFETCHT0(Mem{Base: y, Index: b.pf, Scale: 1, Disp: 64 * v})
				g.PREFETCHT0(Mem{Base: dy, Index: b.pf, Scale: 1, Disp: 64 * v})
			}
		})
	}
	if bk.log {
		if b.fastSlot.Base != nil {
			g.CMPQ(b.fastSlot, U32(0))
			g.JE(LabelRef(b.label("general")))
		} else {
			b.fastRow(b.label("general"))
		}
		g.CMPQ(n, U32(2*16*bwPipeVectors))
		g.JB(LabelRef(b.label("nopipe")))
		b.pipeline2(y, dy, dx, n, bwPipeVectors)
		g.Label(b.label("nopipe"))
		loops(true, "_fast")
		g.JMP(LabelRef(b.label("tail")))
		g.Label(b.label("general"))
	}
	loops(false, "")
	g.Label(b.label("tail"))
	g.Comment("Tail: the last 0..15 elements, masked.")
	g.TESTQ(n, n)
	g.JZ(LabelRef(done))
	b.out(Mem{Base: y}, Mem{Base: dy}, Mem{Base: dx}, 1, true)
}

// bw256 is the AVX2 backward generator: a vector of 16 lanes is two ymm
// registers of 8 float32 lanes, or four of 4 float64 lanes (quarters: lanes
// 0-3, 4-7, 8-11, 12-15).
type bw256 struct {
	g  *gen
	c  *constTable
	bk backwardKernel

	lo, hi reg.VecVirtual // exp256's clamp bounds (LogSoftmaxBackward)
	s      reg.VecVirtual // dot or sum, float64 in every lane
	bufs   []Mem          // 64 bytes each in the frame: the tails of the inputs

	tailN reg.GPVirtual    // the lanes of the row's tail, 1..15
	masks []reg.VecVirtual // their VMASKMOVPS masks, lanes 0-7 and 8-15

	// LogSoftmaxBackward: y's pointer in pass 1, and the unsigned and
	// signed maxima of the bits of y over the row's whole vectors, by
	// 8-lane half (see fastRow).
	yp, rowN   reg.GPVirtual // rowN: the row's length
	pf         reg.GPVirtual // the rows kernel's row length in bytes (see pipeline2)
	maxU, maxS []reg.VecVirtual

	// nt makes store write whole vectors with VMOVNTPS (the long-row
	// kernels, see backwardAVX2); sfx suffixes the labels of the copy
	// of pass 2 that stores so. fast, in LogSoftmaxBackwardLongRowsAVX2,
	// is the frame slot where fastRow's verdict on the row waits for the
	// chunks of pass 2 (see backChunks): 1 for a fast row, 0 for others.
	nt   bool
	sfx  string
	fast Mem
	// pfSelf, in the long-row kernels, makes pass 1 prefetch the row's
	// own y and dy pfSelf bytes ahead of each block.
	pfSelf int
}

func (b *bw256) label(s string) string { return b.bk.prefix + "256_" + s + b.sfx }

// cvt returns the float64s of 4 float32s.
func (b *bw256) cvt(src Op) reg.VecVirtual {
	d := b.g.YMM()
	b.g.VCVTPS2PD(src, d)
	return d
}

// tailMasks loads the VMASKMOVPS masks of the first tailN lanes of a vector
// (see tailMask8) into b.masks.
func (b *bw256) tailMasks() {
	g := b.g
	tbl, off := g.GP64(), g.GP64()
	g.LEAQ(g.tailMask8(), tbl)
	g.MOVQ(U32(16), off)
	g.SUBQ(b.tailN, off) // the masks start at lane 16-n of the table
	b.masks = []reg.VecVirtual{g.YMM(), g.YMM()}
	g.VMOVDQU(Mem{Base: tbl, Index: off, Scale: 4}, b.masks[0])
	g.VMOVDQU(Mem{Base: tbl, Index: off, Scale: 4, Disp: 32}, b.masks[1])
}

// tailToBuf copies the row's last tailN elements at p to buf, zeros after
// them: with VMASKMOVPS, unless the 64 bytes at p cross a page boundary,
// when copyTail copies them, touching no other element: QEMU's VMASKMOVPS
// faults on masked-off lanes of an unmapped page (see elementwise256).
func (b *bw256) tailToBuf(p, buf Mem) {
	g := b.g
	viaStack, done := uniqueLabel(b.label("tailcopy")), uniqueLabel(b.label("tailloaded"))
	page := g.GP64()
	g.LEAQ(p, page)
	g.ANDQ(U32(4095), page)
	g.CMPQ(page, U32(4096-64))
	g.JA(LabelRef(viaStack))
	for h, m := range b.masks {
		v := g.YMM()
		g.VMASKMOVPS(p.Offset(32*h), m, v)
		g.VMOVUPS(v, buf.Offset(32*h))
	}
	g.JMP(LabelRef(done))
	g.Label(viaStack)
	z := g.YMM()
	g.VXORPS(z, z, z)
	g.VMOVUPS(z, buf)
	g.VMOVUPS(z, buf.Offset(32))
	g.copyTail(uniqueLabel(b.label("copy")), buf, p, b.tailN)
	g.Label(done)
}

// addTerms adds the terms of pass 1 for the vector at p (and q) to the
// block partials part[0..3], quarter by quarter.
func (b *bw256) addTerms(p, q Mem, part []reg.VecVirtual) {
	g := b.g
	for h := range part {
		t := b.cvt(p.Offset(16 * h))
		if b.bk.log {
			g.VADDPD(t, part[h], part[h])
		} else {
			g.VFMADD231PD(t, b.cvt(q.Offset(16*h)), part[h]) // part += p*q, exact product
		}
	}
}

// pass1 is bw512.pass1 for AVX2.
func (b *bw256) pass1(p, q, n reg.GPVirtual) {
	g := b.g
	zero := func() []reg.VecVirtual {
		v := []reg.VecVirtual{g.YMM(), g.YMM(), g.YMM(), g.YMM()}
		for _, x := range v {
			g.VXORPD(x, x, x)
		}
		return v
	}
	next := func(bytes int) {
		g.pass1Next(b.bk, p, q, n, bytes)
		if b.bk.log {
			g.ADDQ(U32(bytes), b.yp)
		}
	}
	at := b.bk.pass1At
	yBits := func(vectors int) {
		for j := 0; j < 2*vectors && b.bk.log; j++ {
			y := Mem{Base: b.yp, Disp: 32 * j}
			g.VPMAXUD(y, b.maxU[j%2], b.maxU[j%2])
			g.VPMAXSD(y, b.maxS[j%2], b.maxS[j%2])
		}
	}
	flush := func(acc, part []reg.VecVirtual) {
		for h := range acc {
			g.VADDPD(part[h], acc[h], acc[h])
		}
	}
	acc := zero()
	if b.bk.log {
		b.maxU, b.maxS = []reg.VecVirtual{g.YMM(), g.YMM()}, []reg.VecVirtual{g.YMM(), g.YMM()}
		for _, x := range append(b.maxU, b.maxS...) {
			g.VPXOR(x, x, x) // +0 passes both tests
		}
	}
	g.Label(b.label("sum64"))
	g.CMPQ(n, U32(64))
	g.JB(LabelRef(b.label("sumtail")))
	part := zero()
	for j := 0; j < 4; j++ {
		b.addTerms(Mem{Base: p, Disp: 64 * j}, at(q, 64*j), part)
	}
	for d := 0; b.pfSelf != 0 && d < 256; d += 64 {
		g.PREFETCHT0(Mem{Base: p, Disp: b.pfSelf + d})
		if b.bk.log {
			g.PREFETCHT0(Mem{Base: b.yp, Disp: b.pfSelf + d})
		} else {
			g.PREFETCHT0(Mem{Base: q, Disp: b.pfSelf + d})
		}
	}
	yBits(4)
	flush(acc, part)
	next(256)
	g.JMP(LabelRef(b.label("sum64")))

	g.Label(b.label("sumtail"))
	g.Comment("The last block: 0..3 whole vectors, then 0..15 lanes.")
	g.TESTQ(n, n)
	g.JZ(LabelRef(b.label("sumred")))
	part = zero()
	if b.bk.log {
		// A row of fewer than 32 elements has no pipeline, which alone
		// reads the bits of y.
		g.CMPQ(b.rowN, U32(32))
		g.JB(LabelRef(b.label("sum16short")))
	}
	g.Label(b.label("sum16"))
	g.CMPQ(n, U32(16))
	g.JB(LabelRef(b.label("sumlast")))
	b.addTerms(Mem{Base: p}, at(q, 0), part)
	yBits(1)
	next(64)
	g.JMP(LabelRef(b.label("sum16")))
	if b.bk.log {
		g.Label(b.label("sum16short"))
		g.CMPQ(n, U32(16))
		g.JB(LabelRef(b.label("sumlast")))
		b.addTerms(Mem{Base: p}, at(q, 0), part)
		next(64)
		g.JMP(LabelRef(b.label("sum16short")))
	}
	g.Label(b.label("sumlast"))
	g.TESTQ(n, n)
	g.JZ(LabelRef(b.label("sumblock")))
	g.Comment("The last 1..15 lanes, through the stack, zeros after them.")
	b.tailN = n
	b.tailMasks()
	b.tailToBuf(Mem{Base: p}, b.bufs[0])
	if !b.bk.log {
		b.tailToBuf(Mem{Base: q}, b.bufs[1])
	}
	b.addTerms(b.bufs[0], b.bufs[1], part)
	g.Label(b.label("sumblock"))
	flush(acc, part)

	g.Label(b.label("sumred"))
	g.VADDPD(acc[2], acc[0], acc[0]) // lanes 0-3 += 8-11
	g.VADDPD(acc[3], acc[1], acc[1]) // lanes 4-7 += 12-15
	g.VADDPD(acc[1], acc[0], acc[0]) // lanes 0-3 += 4-7
	x := g.XMM()
	g.VEXTRACTF128(U8(1), acc[0], x)
	g.VADDPD(x, acc[0].AsX(), x) // lanes 0-1 += 2-3
	x2 := g.XMM()
	g.VPERMILPD(U8(1), x, x2)
	g.VADDSD(x2, x, x) // lane 0 += lane 1
	b.s = g.YMM()
	g.VBROADCASTSD(x, b.s)
}

// out emits pass 2 for u vectors: y at p, dy at q, dx at d; with masks
// (then u is 1), the stores are masked.
func (b *bw256) out(p, q, d Mem, u int, masks []reg.VecVirtual) {
	g, c := b.g, b.c
	// dx in float64, by quarters, for each 8-lane half of the u vectors.
	res := make([][]reg.VecVirtual, 2*u)
	if b.bk.log {
		x := make([]reg.VecVirtual, 2*u)
		for j := range x {
			x[j] = g.YMM()
			g.VMOVUPS(p.Offset(32*j), x[j])
		}
		// As in bw512.out: a NaN e makes dx NaN, which the rounding
		// below makes the canonical NaN.
		g.Comment("e = exp(y), the Exp kernel's, but for a NaN's bits.")
		expAnyNaN256(g, c, b.lo, b.hi, x)
		b.logDx(x, q, res)
	} else {
		g.Comment("dx = y * (dy - dot) in float64.")
		for j := range res {
			for h := 0; h < 2; h++ {
				dy := b.cvt(q.Offset(32*j + 16*h))
				g.VSUBPD(b.s, dy, dy)
				g.VMULPD(b.cvt(p.Offset(32*j+16*h)), dy, dy)
				res[j] = append(res[j], dy)
			}
		}
	}
	b.store(res, d, masks, false)
}

// logDx emits LogSoftmaxBackward's dx = dy - e*sum in float64 for the
// 8-lane halves e of a vector, dy's at q, into res: for each half, its
// quarters.
func (b *bw256) logDx(e []reg.VecVirtual, q Mem, res [][]reg.VecVirtual) {
	g := b.g
	g.Comment("dx = dy - e*sum in float64.")
	for j := range e {
		hi := g.XMM()
		g.VEXTRACTF128(U8(1), e[j], hi)
		for h, eq := range []Op{e[j].AsX(), hi} {
			e := b.cvt(eq)
			g.VMULPD(b.s, e, e)
			dy := b.cvt(q.Offset(32*j + 16*h))
			g.VSUBPD(e, dy, dy)
			res[j] = append(res[j], dy)
		}
	}
}

// store rounds the quarters of dx in res to float32 and stores them at d,
// the halves masked with masks unless it is nil; NaN lanes get the
// canonical NaN, but in a fast row, which has none (see fastRow).
func (b *bw256) store(res [][]reg.VecVirtual, d Mem, masks []reg.VecVirtual, fast bool) {
	g, c := b.g, b.c
	g.Comment("Round to float32; NaN lanes get the canonical NaN.")
	for j, r := range res {
		// As in bw512.out, the float32s go to the low halves of the
		// float64 registers, so that avo sees every register fully
		// written before it is read.
		v, hi := r[0], r[1].AsX()
		g.VCVTPD2PSY(v, v.AsX())
		g.VCVTPD2PSY(r[1], hi)
		g.VINSERTF128(U8(1), hi, v, v)
		if !fast {
			m := g.YMM()
			g.VCMPPS(U8(cmpUnord), v, v, m)
			g.VBLENDVPS(m, c.ymm("nan"), v, v)
		}
		if masks == nil && b.nt {
			g.VMOVNTPS(v, d.Offset(32*j))
		} else if masks == nil {
			g.VMOVUPS(v, d.Offset(32*j))
		} else {
			g.VMASKMOVPS(v, masks[j], d.Offset(32*j))
		}
	}
}

// Pass 2 of LogSoftmaxBackward's AVX2 kernels is software-pipelined, as
// SoftmaxRowsAVX2's pass 2 is (see pipeA in softmax.go), over whole
// vectors (two ymm registers), in three stages:
//
//	A  load y; d = min(max(y, expLo), expHi); t; nf; r     (pipeA)
//	B  p (Horner), e = (p * 2^k1) * 2^k2                   (pipeB)
//	C  dx = dy - e*sum in float64, rounded to float32      (logDx, store)
//
// the steps of expAnyNaN256 (exp.go) cut in two, then out's. Step j runs
// C on vector j-2, B on vector j-1 and A on vector j, whose inputs were
// computed a step earlier; C first and A last, so that the registers
// carried from step to step are A's r and t and B's e alone. Rows of
// fewer than 32 elements, and the tail, keep the plain loop (out).
// Measured against that loop of two vectors at a time, which emitted each
// step for both before the next (LogSoftmaxBackwardRowsAVX2, ns per
// element, thread CPU time, the lower quartile of 80 runs alternating
// with the kernel before, batches of 1 MiB, Zen 5): 0.72-0.73 against
// 0.75-0.76 at 1024 columns, 0.69-0.70 against 0.77-0.78 at 4096.
//
// Most rows then take a faster pipeline (see fastRow): y's whole vectors
// in [-87, 87], where the exponential needs neither its clamps nor its
// two-step scaling (2 and 6 operations a half-vector), and the row holds
// no NaN to make canonical (2 more), for 2 operations a half-vector in
// pass 1 that track the bits of y. Measured as above, the lower quartile
// of 100 runs, y a log-softmax of N(0, 4) logits, dy N(0, 1), against the
// kernel before the pipeline, out of place / dx = dy / dx = y: 0.70 /
// 0.73 / 0.77 against 0.84 / 0.86 / 0.84 at 100 columns, 0.58 against
// 0.75 at 300 (all three), 0.54 / 0.53 / 0.57 against 0.75 / 0.73 / 0.73
// at 1024, 0.63 / 0.63 / 0.64 against 0.74 at 4096, 0.51 against 0.72
// at 32000 and 128256 (all three); 1.02x and 1.01x its time at 17 and 31
// columns, which have no pipeline, for the test of their length in pass 1.
//
// In the batched kernel each step of the pipeline also prefetches the
// next row's y and dy at the same offset (a row further), which pass 1
// of the next row reads first, in rows of up to bwPrefetchCols elements.
// Measured against the same kernel without (the lower quartile of 150
// runs, as above, out of place / dx = dy / dx = y): 0.54 / 0.53 / 0.53
// against 0.61 / 0.55 / 0.69 at 1024 columns, 0.53 against 0.64-0.65 at
// 4096 (all three), 0.69-0.76 against 0.70-0.77 at 100, 0.55-0.57
// against 0.57-0.59 at 300; the same at 32000 and 128256 (0.52-0.54),
// which prefetched then too.

// pipeA emits stage A for the vector at p: r and t into the registers
// given.
func (b *bw256) pipeA(p Mem, r, t []reg.VecVirtual, fast bool) {
	g, c := b.g, b.c
	for h := range r {
		g.VMOVUPS(p.Offset(32*h), r[h])
	}
	if !fast { // in a fast row d = y, which is inside the clamps
		for h := range r {
			g.VMAXPS(r[h], b.lo, r[h]) // NaN kept: r is the second source
		}
		for h := range r {
			g.VMINPS(r[h], b.hi, r[h])
		}
	}
	for h := range t {
		g.VMOVUPS(c.ymm("magic"), t[h])
	}
	for h := range t {
		g.VFMADD231PS(c.ymm("log2e"), r[h], t[h]) // t = fma(d, log2e, 1.5*2^23)
	}
	nf := []reg.VecVirtual{g.YMM(), g.YMM()}
	for h := range nf {
		g.VSUBPS(c.ymm("magic"), t[h], nf[h]) // nf = t - 1.5*2^23
	}
	for h := range r {
		g.VFMADD231PS(c.ymm("negLn2Hi"), nf[h], r[h])
	}
	for h := range r {
		g.VFMADD231PS(c.ymm("negLn2Lo"), nf[h], r[h]) // r
	}
}

// pipeB emits stage B: from A's r and t, e = exp(y) into e, NaN lanes
// NaN but not necessarily the canonical NaN (see expAnyNaN256). It
// overwrites r and t.
func (b *bw256) pipeB(r, t, e []reg.VecVirtual, fast bool) {
	g, c := b.g, b.c
	for h := range e {
		g.VMOVUPS(c.ymm("c6"), e[h]) // q, computed in e's register
	}
	for _, ci := range []string{"c5", "c4", "c3", "c2", "one", "one"} {
		for h := range e {
			g.VFMADD213PS(c.ymm(ci), r[h], e[h]) // q = fma(q, r, ci); then p
		}
	}
	if fast {
		// 2^n is a normal float32 (see fastRow): y = p * 2^n, rounded
		// once, as the two products below round it. bits(t) is
		// bits(1.5*2^23) + n, whose low 9 bits are 0, so bits(t)<<23 is
		// n<<23 and bits(2^n) = (n+127)<<23 is that plus bits(1).
		for h := range t {
			g.VPSLLD(U8(23), t[h], t[h])
		}
		for h := range t {
			g.VPADDD(c.ymm("one"), t[h], t[h])
		}
		for h := range e {
			g.VMULPS(t[h], e[h], e[h])
		}
		return
	}
	for h := range t {
		g.VPSUBD(c.ymm("magic"), t[h], t[h]) // n
	}
	for h := range t {
		g.VPSRAD(U8(1), t[h], r[h]) // k1
	}
	for h := range t {
		g.VPSUBD(r[h], t[h], t[h]) // k2
	}
	for h := range r {
		g.VPADDD(c.ymm("bias"), r[h], r[h])
	}
	for h := range r {
		g.VPSLLD(U8(23), r[h], r[h])
	}
	for h := range e {
		g.VMULPS(r[h], e[h], e[h])
	}
	for h := range t {
		g.VPADDD(c.ymm("bias"), t[h], t[h])
	}
	for h := range t {
		g.VPSLLD(U8(23), t[h], t[h])
	}
	for h := range e {
		g.VMULPS(t[h], e[h], e[h])
	}
}

// pipeline2 emits the pipelined part of pass 2 over the whole vectors of
// the n elements at y, dy and dx, at least two: it leaves the pointers
// past them and n at the tail's 0..15 elements. fast emits the fast row's
// pipeline (see fastRow); its labels carry the given suffix.
func (b *bw256) pipeline2(y, dy, dx, n reg.GPVirtual, fast bool, suffix string) {
	g := b.g
	r, t, e := []reg.VecVirtual{g.YMM(), g.YMM()}, []reg.VecVirtual{g.YMM(), g.YMM()}, []reg.VecVirtual{g.YMM(), g.YMM()}
	a := func() { b.pipeA(Mem{Base: y}, r, t, fast) }
	bb := func() { b.pipeB(r, t, e, fast) }
	cc := func(j int) {
		res := make([][]reg.VecVirtual, 2)
		b.logDx(e, Mem{Base: dy, Disp: 64 * j}, res)
		b.store(res, Mem{Base: dx, Disp: 64 * j}, nil, fast)
	}
	next := func() {
		if b.pf != nil {
			g.PREFETCHT0(Mem{Base: y, Index: b.pf, Scale: 1})
			g.PREFETCHT0(Mem{Base: dy, Index: b.pf, Scale: 1})
		}
		for _, p := range []reg.GPVirtual{y, dy, dx} {
			g.ADDQ(U32(64), p)
		}
		g.SUBQ(U32(16), n)
	}
	g.Comment("Pipeline prologue: vector 0 through stages A and B, vector 1 through A.")
	a()
	next()
	bb()
	a()
	next()
	g.Label(b.label("pipe" + suffix))
	g.CMPQ(n, U32(16))
	g.JB(LabelRef(b.label("drain" + suffix)))
	g.Comment("One step: C of vector j-2, B of j-1, A of j.")
	cc(-2)
	bb()
	a()
	next()
	g.JMP(LabelRef(b.label("pipe" + suffix)))
	g.Label(b.label("drain" + suffix))
	g.Comment("Pipeline epilogue: the last two vectors through stages B and C.")
	cc(-2)
	bb()
	cc(-1)
}

// bwPrefetchBytes emits the distance, in a new register, at which pass 2
// of the batched kernels prefetches the next row's y and dy: 4*cols, or
// 0 for rows longer than bwPrefetchCols, which prefetch their own lines.
func (g *gen) bwPrefetchBytes(cols reg.GPVirtual) reg.GPVirtual {
	pf := g.GP64()
	g.MOVQ(cols, pf)
	g.SHLQ(U8(2), pf)
	zero := g.GP64()
	g.XORQ(zero, zero)
	g.CMPQ(cols, U32(bwPrefetchCols))
	g.CMOVQHI(zero, pf)
	return pf
}

// bwPrefetchCols is the longest row whose pass 2 in the batched kernels
// (AVX2's, and AVX-512's with the same distance: see backwardAVX512)
// prefetches the next row's y and dy, a row further at the same
// offset: longer rows take 0 for that distance, which prefetches lines
// the loop is loading anyway. SoftmaxBackwardRowsAVX2 prefetches in its
// loop of two vectors (see pipeline2 for LogSoftmaxBackwardRowsAVX2).
// Measured on SoftmaxBackwardRowsAVX2 against the kernel without (ns per
// element, thread CPU time, the lower quartile of 150 runs alternating
// with it, batches of 1 MiB, out of place / dx = dy / dx = y): 0.27 /
// 0.28 / 0.28 against 0.27 / 0.30 / 0.40 at 1024 columns, 0.28 / 0.29 /
// 0.27 against 0.36 / 0.41 / 0.39 at 4096, 0.29-0.34 against 0.39-0.41
// at 8192, 0.28-0.31 against 0.37-0.39 at 16384; 1.01-1.11x its time at
// 32000 and 128256 when those prefetched too, the same without.
const bwPrefetchCols = 16384

// fastYBound is the bound on |y| of a fast row, the bits of 87: then
// d = y, n = round(y*log2e) is in [-126, 126], 2^n a normal float32.
const fastYBound = 0x42ae0000

// fastRow emits the test of a row of LogSoftmaxBackward for the fast
// pipeline, which has neither the exponential's clamps nor its two-step
// scaling, and no NaN to make canonical: every y of the row's whole
// vectors in [-87, 87] (so no NaN), and sum finite (so no NaN or Inf in
// dy, and none in dx but through y). Over the bits of y, as integers:
// the signed maximum is at most bits(87) when every y >= +0 is at most
// 87 and no NaN or +Inf has the sign bit clear; the unsigned maximum is
// at most bits(-87) when every y with the sign bit set is at least -87
// (the rest are below 2^31). It jumps to the label general otherwise.
func (b *bw256) fastRow(general string) {
	g, c := b.g, b.c
	g.Comment("A fast row: y's whole vectors in [-87, 87], sum finite.")
	u, sg := b.maxU[0], b.maxS[0]
	g.VPMAXUD(b.maxU[1], u, u)
	g.VPMAXSD(b.maxS[1], sg, sg)
	g.VPMAXUD(c.ymm("fastLo"), u, u)
	g.VPCMPEQD(c.ymm("fastLo"), u, u)   // all ones where u <= bits(-87)
	g.VPCMPGTD(c.ymm("fastHi"), sg, sg) // all ones where sg > bits(87)
	g.VPANDN(u, sg, u)                  // all ones where both pass
	ok := g.GP32()
	g.VMOVMSKPS(u, ok)
	g.CMPL(ok, U8(0xff))
	g.JNE(LabelRef(general))
	z := g.XMM()
	g.VSUBSD(b.s.AsX(), b.s.AsX(), z) // 0, or NaN for a NaN or infinite sum
	g.VUCOMISD(z, z)
	g.JP(LabelRef(general))
}

// backwardAVX2 emits the one-row kernel, or the batched one if rows: the
// same body in a loop over the rows. With long (and rows), it emits
// SoftmaxBackwardLongRowsAVX2 or LogSoftmaxBackwardLongRowsAVX2, the
// batched kernel for rows too long for any cache: no prefetch of the
// next row, and pass 2 emitted twice, with non-temporal stores (bw256.nt) for a row whose dx
// is 32-byte aligned and whose length is a multiple of 8, so that every
// whole vector's store is aligned, and with plain stores for the others;
// the tail is stored under masks either way, and an SFENCE ends the call.
// Pass 1 prefetches y and dy pfLong256 bytes ahead (pfSelf), and pass 2
// runs the row in chunks from its end to its start (backChunks). Package
// kernels sends them batches of rows of 1 MiB or more, 16 MiB or more in
// all (see backwardRowsAVX2 there, with the figures). The prefetch,
// measured as there at 8 x 4,194,304 in 3 runs alternating with the
// kernel without it: SoftmaxBackward 0.89-0.92x the row kernel's time
// against 0.95-0.99x, LogSoftmaxBackward 0.86-0.94x against 0.80-0.93x
// (the same within the noise).
func backwardAVX2(g *gen, c *constTable, bk backwardKernel, rows, long bool) {
	g.backwardFunction(&bk, rows, long, "AVX2", "AVX2 and FMA3", []string{"AVX", "AVX2", "CMOV", "FMA3"}, 32)
	b := &bw256{g: g, c: c, bk: bk}
	if long {
		b.pfSelf = pfLong256
	}
	frame := g.AllocLocal(128)
	b.bufs = []Mem{frame, frame.Offset(64)}
	if bk.log {
		b.lo, b.hi = g.YMM(), g.YMM()
		g.VMOVUPS(c.ymm("lo"), b.lo)
		g.VMOVUPS(c.ymm("hi"), b.hi)
	}
	var dx, y, dy, n, nrows, cols reg.GPVirtual
	if rows {
		dx, y, dy, nrows, cols = g.backwardRowsArgs()
		if !long {
			b.pf = g.bwPrefetchBytes(cols)
		}
		n = g.GP64()
		g.Label(b.label("row"))
		g.MOVQ(cols, n)
	} else {
		dx, y, dy, n = g.backwardArgs()
	}
	if bk.log {
		b.yp, b.rowN = g.GP64(), n
		g.MOVQ(y, b.yp)
	}
	g.backwardPass1(bk, y, dy, n, b.pass1)

	done := b.label("done")
	if long {
		g.longBackward(bwLong{b.label, b.fastRow, &b.fast, &b.nt, &b.sfx, b.pass2, 32}, bk.log, dx, y, dy, cols, nrows)
		return
	}
	b.pass2(y, dy, dx, n, done)
	g.backwardEnd(done, rows, dx, y, dy, n, nrows, b.label("row"))
}

// bwBackChunk is the length of the chunks in which the long-row kernels
// run pass 2 from the row's end to its start (see backChunks).
const bwBackChunk = 8192

// bwLong is what longBackward needs of bw512 and bw256: the kernel's
// labels, its fastRow test, its fast, nt and sfx fields, its pass 2, and
// the alignment in bytes of dx, and of cols*4, that its non-temporal
// stores need (the vector's width).
type bwLong struct {
	label   func(string) string
	fastRow func(general string)
	fast    *Mem
	nt      *bool
	sfx     *string
	pass2   func(y, dy, dx, n reg.GPVirtual, done string)
	align   int
}

// longBackward emits the rest of a long-row backward kernel (see
// backwardAVX2) after pass 1: in a log kernel, fastRow once for the row,
// its verdict in the frame at *fast (the maxima it folds would otherwise
// stay live through every chunk); pass 2 in chunks from the row's end
// (backChunks), emitted twice, with *nt set and labels suffixed "_nt"
// where dx and cols*4 are multiples of l.align, and as it is for the
// other rows; then the step to the next row, back to the label "row",
// and an SFENCE after the non-temporal stores before the return.
func (g *gen) longBackward(l bwLong, log bool, dx, y, dy, cols, nrows reg.GPVirtual) {
	done := l.label("done")
	if log {
		*l.fast = g.AllocLocal(8)
		g.MOVQ(U32(0), *l.fast)
		l.fastRow(l.label("slowrow"))
		g.MOVQ(U32(1), *l.fast)
		g.Label(l.label("slowrow"))
	}
	g.Comment(fmt.Sprintf("Pass 2 with non-temporal stores where dx is %d-byte aligned and cols a multiple of %d.", l.align, l.align/4))
	w := g.GP64()
	g.MOVQ(cols, w)
	g.SHLQ(U8(2), w)
	g.ORQ(dx, w)
	g.TESTQ(U32(l.align-1), w)
	g.JNZ(LabelRef(l.label("plain")))
	*l.nt, *l.sfx = true, "_nt"
	g.backChunks(l.label, y, dy, dx, cols, done, l.pass2)
	*l.nt, *l.sfx = false, ""
	g.Label(l.label("plain"))
	g.backChunks(l.label, y, dy, dx, cols, done, l.pass2)
	g.Label(done)
	for _, r := range []reg.GPVirtual{y, dy, dx} {
		g.LEAQ(Mem{Base: r, Index: cols, Scale: 4}, r)
	}
	g.DECQ(nrows)
	g.JNZ(LabelRef(l.label("row")))
	g.SFENCE()
	g.VZEROUPPER()
	g.RET()
}

// backChunks emits pass 2 of the row of cols elements at y, dy and dx in
// chunks of bwBackChunk elements, from the row's last chunk, which holds
// its tail, to its first, each chunk from its start to its end (pass2);
// then it jumps to done, with y, dy and dx unchanged. Pass 1 left the
// row's last chunks in the caches last. label is the kernel's.
func (g *gen) backChunks(label func(string) string, y, dy, dx, cols reg.GPVirtual, done string,
	pass2 func(y, dy, dx, n reg.GPVirtual, done string)) {
	k, c0 := g.GP64(), g.GP64()
	cy, cdy, cdx, cn := g.GP64(), g.GP64(), g.GP64(), g.GP64()
	g.MOVQ(cols, k) // the elements before the chunks still to run
	g.Label(label("chunk"))
	g.LEAQ(Mem{Base: k, Disp: -1}, c0)
	g.ANDQ(I32(-bwBackChunk), c0) // the start of the last chunk before k
	g.LEAQ(Mem{Base: y, Index: c0, Scale: 4}, cy)
	g.LEAQ(Mem{Base: dy, Index: c0, Scale: 4}, cdy)
	g.LEAQ(Mem{Base: dx, Index: c0, Scale: 4}, cdx)
	g.MOVQ(k, cn)
	g.SUBQ(c0, cn)
	g.MOVQ(c0, k)
	pass2(cy, cdy, cdx, cn, label("chunkdone"))
	g.Label(label("chunkdone"))
	g.TESTQ(k, k)
	g.JNZ(LabelRef(label("chunk")))
	g.JMP(LabelRef(done))
}

// pass2 emits pass 2 of the row at y, dy and dx, of n elements, which
// leaves the three pointers at the row's tail and n at its length, or
// jumps to done where the row has no tail.
func (b *bw256) pass2(y, dy, dx, n reg.GPVirtual, done string) {
	g, bk := b.g, b.bk
	g.Comment("Pass 2: dx.")
	// Exp's unrolling: the exponential holds 2 bounds and 3 registers per
	// half-vector, and s is live throughout. LogSoftmaxBackward's rows of
	// 32 elements or more go through the pipeline first (see pipeline2).
	const unroll = 2
	if bk.log {
		g.CMPQ(n, U32(32))
		g.JB(LabelRef(b.label("pipe_end")))
		if b.fast.Base != nil {
			g.CMPQ(b.fast, U32(0))
			g.JE(LabelRef(b.label("general")))
		} else {
			b.fastRow(b.label("general"))
		}
		b.pipeline2(y, dy, dx, n, true, "_fast")
		g.JMP(LabelRef(b.label("pipe_end")))
		g.Label(b.label("general"))
		b.pipeline2(y, dy, dx, n, false, "")
		g.Label(b.label("pipe_end"))
	}
	g.backwardLoops(b.label, y, dy, dx, n, unroll, func(u int) {
		b.out(Mem{Base: y}, Mem{Base: dy}, Mem{Base: dx}, u, nil)
		for v := 0; v < u && u == unroll && b.pf != nil && !bk.log; v++ {
			g.PREFETCHT0(Mem{Base: y, Index: b.pf, Scale: 1, Disp: 64 * v})
			g.PREFETCHT0(Mem{Base: dy, Index: b.pf, Scale: 1, Disp: 64 * v})
		}
	})
	g.Comment("Tail: the last 0..15 elements, through the stack, stored masked.")
	g.TESTQ(n, n)
	g.JZ(LabelRef(done))
	b.tailN = n
	b.tailMasks()
	b.tailToBuf(Mem{Base: y}, b.bufs[0])
	b.tailToBuf(Mem{Base: dy}, b.bufs[1])
	b.out(b.bufs[0], b.bufs[1], Mem{Base: dx}, 1, b.masks)
}
