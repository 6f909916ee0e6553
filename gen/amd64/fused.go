package main

import (
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// The fused kernels: ScaledSoftmaxRows and ScaledLogSoftmaxRows, bit for
// bit fallback.ScaledSoftmaxRows and fallback.ScaledLogSoftmaxRows
// (fallback/fused.go). The fallback runs the row algorithm on
// z = fma(scale, x, mask), rounded once (scale*x, one multiply, without a
// mask); these kernels are SoftmaxRows's (softmax.go) and
// LogSoftmaxRows's (logsoftmax.go) with every load of x replaced by the
// computation of z (zin below): in pass 1, pass 2, pass 3 and the NaN
// scan of a row of -Inf. z is never stored, but by
// ScaledSoftmaxRowsAVX2 and ScaledLogSoftmaxRowsAVX2 (below); Softmax's pass 2 keeps u in dst as for
// SoftmaxRows, and pass 3 recomputes z from src and the mask, but in
// the ScaledSoftmaxRows row kernels (ScaledSoftmaxRowsAVX512,
// ScaledSoftmaxRowsAVX2 and their NoMask forms) on rows of at most sCols
// elements (sCols256 on AVX2) out of place, whose pass 3 loads s as
// SoftmaxRowsAVX512's does (keepS), and computes no z; in place, rows of
// fewer than sCols/2 (up to sCols256/2) elements keep u in the frame
// too, and on AVX2 rows of up to sCols256 keep s there and u in dst.
//
// ScaledSoftmaxRowsAVX2 and its NoMask form (and CausalSoftmaxRowsAVX2,
// and ScaledLogSoftmaxRowsAVX2 and its NoMask form, whose late pass 3
// reads z there too: see scaledAVX2) store z in dst in pass 1
// (sm256.zDst; ScaledSoftmaxRowsAVX2 and its NoMask form out of place,
// from 64 columns, in pass 2 of the row before, see sm256.nextMax);
// pass 2 and the NaN scan then run SoftmaxRowsAVX2's code
// on dst as if it held the row, pass 2 storing u over z. Out of place,
// pass 3 recomputes z from src and the mask (for ScaledSoftmaxRowsAVX2
// on rows of more than sCols256 elements: up to sCols256 it loads the s
// that pass 2 kept, keepS); in place, pass 1 stores z
// over x, and pass 3 recomputes u from z, as SoftmaxRowsAVX2 does in
// place (for ScaledSoftmaxRowsAVX2 on rows of more than sCols256
// elements: up to sCols256/2, pass 2 keeps u and s in the frame, and
// above that s in the frame and u over z in dst, and pass 3 loads
// both). Pass 2's pipeline uses all 16 ymm registers, so z computed there
// costs a load of scale and one of the mask besides the FMA, in the pass
// that bounds the kernel; the store in pass 1 costs less. Pass 1 and
// pass 3 have registers to spare: they keep scale in one and take the
// mask as the FMA's memory operand. Thread CPU time against
// SoftmaxRowsAVX2, the least of 8 alternating runs of 1 MiB batches,
// scale 1/8, one mask row per row, at 100, 1024, 4096, 32000 and 128256
// columns: 1.16, 1.15, 1.17, 1.19 and 1.25x; with z computed in every
// pass instead, 1.23, 1.23, 1.24, 1.21 and 1.28x. One mask row for every
// row: 1.15, 1.07, 1.11, 1.18 and 1.24x; no mask: 1.11, 1.08, 1.08, 1.09
// and 1.12x. The rest is mostly the mask's traffic: in batches of 16384
// elements, which stay in L2, it measured 1.04-1.13x at 100 to 4096
// columns. Software prefetch (in pass 1, 512 to 2048 bytes ahead, or of
// the next row during pass 3), and pass 3 at once and backwards for long
// rows, measured no better.
//
// The mask is one row for every row, or one row per row; there is one
// kernel with a mask and one without, each for AVX-512 and AVX2. The mask's
// address is kept as its offset from src's (moff, reset at the start of
// each row), so that every loop addresses it from the same pointer p as x.
//
// Lanes past the end of a row: where SoftmaxRows loads them as zeros, z is
// computed from those zeros, scale*0 + 0, which is NaN for an infinite or
// NaN scale. The passes that read such lanes do not let them through:
// pass 1 takes the max under the row's mask, pass 2 replaces them by c as
// before, pass 3 does not store them, and the NaN scan ignores them.
//
// Where the unfused kernel runs pass 3 a row late (SoftmaxRowsAVX512,
// SoftmaxRowsAVX2, and LogSoftmaxRows), the pending row's mask offset is
// kept in the frame with its other parameters; for
// ScaledSoftmaxRowsAVX512 that measured 0.9x the time of running pass 3
// at once, at 100 columns. For ScaledSoftmaxRowsAVX2, SoftmaxRowsAVX2's
// late pass 3, with its constants in registers, took the kernel from
// 1.48x to 1.19x SoftmaxRowsAVX2's time at 100 columns, and from 1.54x to
// 1.21x at 1024 (z still computed in every pass).
//
// On AVX-512 the scaled and causal row kernels run with all of
// SoftmaxRowsAVX512's flags (sm512: tailPipe, halfTail, zeroC, ahead),
// the z computation in place of every load of x; pass 1 a row ahead
// takes the next row's mask offset, or its k, from the peek hook. Pass 2
// of a row of at most prefetchCols elements prefetches the next row's x
// and mask (sm512.prefetch). Thread CPU time, the lower quartile of 60
// alternating runs of 1 MiB batches, scale 1/8, against
// SoftmaxRowsAVX512 in the same run, at 100, 1024, 4096, 32000 and
// 128256 columns: one mask row per row 1.18, 1.20, 1.20, 1.29 and 1.40x
// (1.10-1.12x at 100 to 4096 columns in batches of 16384 elements,
// which stay in L2, before the prefetch: the rest is the mask's
// traffic, a second input as large as x); one mask row for every row
// 1.13, 1.06, 1.05, 1.19 and 1.34x; no mask 1.09, 1.00, 0.94, 0.97 and
// 1.04x; CausalSoftmaxRows with full rows 1.11, 1.01, 0.95, 0.97x (and
// 1.05x at 128256 before the prefetch, which it does not run there).
// Those figures predate keepS and nextMax, which SoftmaxRowsAVX512 and
// the scaled row kernels (causal: keepS alone) now run: the figures
// against today's SoftmaxRowsAVX512 are in the comments of scaledAVX512
// and causalAVX512.
//
// Rows of a mask kernel of at least 8192 columns go, on AVX-512, through
// ScaledSoftmaxLongRowsAVX512 (see scaledLongAVX512), which runs each
// row's passes one after the other: 1.09, 1.18, 1.24 and 1.46x
// SoftmaxRowsAVX512's time at 16384, 32000, 65536 and 128256 columns
// against 1.19, 1.28, 1.34 and 1.49x for ScaledSoftmaxRowsAVX512, one
// mask row per row; one mask row for every row 1.04, 1.09, 1.16 and
// 1.40x against 1.09, 1.19, 1.28 and 1.40x. With its passes 1 and 2
// fused on the checked guess of SoftmaxRowsAVX512's long rows (sm512.fuse,
// see sm512.fused) it measured 0.98, 0.99, 1.00 and 1.11x with one mask
// row per row, 0.97, 0.93, 0.95 and 1.08x with one for every row (see
// scaledLongAVX512). Against today's SoftmaxRowsAVX512 (keepS, nextMax)
// it measured 1.14-1.21x at 8192 to 128256 columns, and with the check
// on w, no prefetch of its own blocks and the backward pass 3 of rows
// above prefetchCols (sm512.minW, noPfLong, back) 1.04-1.18x: the
// figures are in scaledLongAVX512.
//
// On AVX2, rows of a mask kernel of at least 65536 columns (8192 before
// ScaledSoftmaxRowsAVX2's nextMax: scaledLongColsAVX2 in package kernels
// has the figures) go through ScaledSoftmaxLongRowsAVX2 (see
// scaledLongAVX2 in fused256.go), the same kernel on SoftmaxRowsAVX2's
// passes, its fused pass checking the guess on the terms' exponents:
// 1.10-1.13x SoftmaxRowsAVX2's time at 8192 to 65536 columns and
// 1.16-1.17x at 128256, against 1.17-1.20x and 1.24x.
//
// The AVX2 numbers above predate the row flags: ScaledSoftmaxRowsAVX2 and
// CausalSoftmaxRowsAVX2 now run SoftmaxRowsAVX2's ahead, zeroC and
// tailPipe, pass 1 a row ahead storing the next row's z in its dst (see
// scaledAVX2 and causalAVX2 for their measurements).
//
// On AVX-512, package kernels runs ScaledSoftmaxRows on rows of at most
// 48 columns through the group kernels of short.go, and on AVX2 on rows of
// at most 16 columns through those of short_avx2.go, which compute z as
// these do, and the groups they leave through these kernels.
//
// The file also holds the other kernels of fallback/fused.go and
// fallback/stats.go that run on the same passes, each described above its
// generator: CausalSoftmaxRows, StatsOf, and SoftmaxWithStats and
// LogSoftmaxWithStats with their coverage check.

// zin is what the passes need to compute z.
type zin struct {
	scale Op            // scale in every lane: a zmm register, or 32 bytes of the frame (a ymm register under scaleInReg)
	moff  reg.GPVirtual // the mask's address minus src's in the current row; nil without a mask
	rows  *causalLate   // the causal kernel's row length, kept for its late pass 3
	step  Mem           // with moff on AVX-512, the mask's step per row (see maskRows)
}

// causalLate is what CausalSoftmaxRowsAVX512's late pass 3 keeps of a
// row besides what SoftmaxRowsAVX512 keeps: its length k (s.cols, with the
// mask of its last k%16 lanes, s.km). zeros emits the zeros after the
// current row's first k elements, which are stored at once, before the
// row's late pass 3 (which, in place, reads only the first k).
type causalLate struct {
	s     *sm512
	zeros func()
	s256  *sm256 // for CausalSoftmaxRowsAVX2 in place of s: k is s256.cols
}

// maskAt returns the address of the mask's elements that go with the x at
// p, an address without an index.
func (z *zin) maskAt(p Mem) Mem {
	p.Index, p.Scale = z.moff, 1
	return p
}

func (s *sm512) zIn() *zin { return s.z }
func (s *sm256) zIn() *zin { return s.z }

// loadIn loads the kernel's input at p into v: x, zero-masked under mask
// if not nil, or z. Under mask, lanes of z past the row are unspecified.
func (s *sm512) loadIn(p Mem, mask reg.Register, v reg.VecVirtual) {
	g := s.g
	if mask == nil {
		g.VMOVUPS(p, v)
	} else {
		g.VMOVUPS_Z(p, mask, v)
	}
	switch {
	case s.z == nil:
	case s.z.moff == nil:
		g.VMULPS(s.z.scale, v, v)
	case mask == nil:
		g.VFMADD213PS(s.z.maskAt(p), s.z.scale, v) // v = scale*x + mask
	default:
		mv := g.ZMM()
		g.VMOVUPS_Z(s.z.maskAt(p), mask, mv)
		g.VFMADD213PS(mv, s.z.scale, v)
	}
}

// loadX is load for the kernel's input: n vectors loaded with loadIn.
func (s *sm512) loadX(p Mem, n int, mask reg.Register) []reg.VecVirtual {
	if s.z == nil {
		return s.load(p, n, mask)
	}
	v := make([]reg.VecVirtual, n)
	for i := range v {
		v[i] = s.g.ZMM()
		s.loadIn(p.Offset(64*i), mask, v[i])
	}
	return v
}

// in returns the kernel's input at p, a whole vector, as an operand: p
// itself for x, or a register holding z.
func (s *sm512) in(p Mem) Op {
	if s.z == nil {
		return p
	}
	v := s.g.ZMM()
	s.loadIn(p, nil, v)
	return v
}

// scaleInReg emits the load of scale into a ymm register, from which the
// code emitted until the returned function is called takes it, with the
// mask as the memory operand of its FMA: in a pass with registers to
// spare, that is two loads fewer per 16 lanes.
func (s *sm256) scaleInReg() func() {
	if s.z == nil {
		return func() {}
	}
	f, ok := s.z.scale.(Mem)
	if !ok {
		return func() {}
	}
	y := s.g.YMM()
	s.g.VMOVUPS(f, y)
	s.z.scale = y
	return func() { s.z.scale = f }
}

// scaleReg returns the register that holds scale, or nil if the kernel
// takes it from its frame.
func (z *zin) scaleReg() reg.VecVirtual {
	y, _ := z.scale.(reg.VecVirtual)
	return y
}

// inReg returns the kernel's input at p, 8 lanes, in a new register.
func (s *sm256) inReg(p Mem) reg.VecVirtual {
	g := s.g
	v := g.YMM()
	switch {
	case s.z == nil:
		g.VMOVUPS(p, v)
	case s.z.moff == nil:
		g.VMOVUPS(p, v)
		g.VMULPS(s.z.scale, v, v)
	case s.z.scaleReg() != nil:
		g.VMOVUPS(p, v)
		g.VFMADD213PS(s.z.maskAt(p), s.z.scaleReg(), v) // v = scale*x + mask
	default:
		x := g.YMM()
		g.VMOVUPS(s.z.maskAt(p), v)
		g.VMOVUPS(p, x)
		g.VFMADD231PS(s.z.scale, x, v) // v = x*scale + mask
	}
	return v
}

// in is inReg as an operand: p itself for x.
func (s *sm256) in(p Mem) Op {
	if s.z == nil {
		return p
	}
	return s.inReg(p)
}

// loadX is load for the kernel's input: x, or z. With masks m, lanes of z
// past the row are unspecified.
func (s *sm256) loadX(p Mem, m []reg.VecVirtual) []reg.VecVirtual {
	g := s.g
	x := s.load(p, m)
	switch {
	case s.z == nil:
		return x
	case s.z.moff == nil:
		for _, v := range x {
			g.VMULPS(s.z.scale, v, v)
		}
		return x
	case m == nil && s.z.scaleReg() != nil:
		for h, v := range x {
			g.VFMADD213PS(s.z.maskAt(p.Offset(32*h)), s.z.scaleReg(), v) // v = scale*x + mask
		}
		return x
	}
	// load's copy through the stack indexes its own address: the mask's
	// gets a register of its own.
	mp := g.GP64()
	g.LEAQ(s.z.maskAt(p), mp)
	mv := s.load(Mem{Base: mp}, m)
	for h, v := range x {
		g.VFMADD231PS(s.z.scale, v, mv[h]) // mask = x*scale + mask
	}
	return mv
}

// frameSize returns the bytes SoftmaxRows's late pass 3 needs in its
// frame for the mask offsets of the current and the pending row: none
// without a mask.
func (z *zin) frameSize() int {
	if z == nil || (z.moff == nil && z.rows == nil) {
		return 0
	}
	return 16
}

// save emits the store of the current row's mask offset at f, if any;
// for the causal kernel, the zeros after the row's first k elements and
// the store of k.
func (z *zin) save(g *gen, f Mem) {
	switch {
	case z == nil:
	case z.moff != nil:
		g.MOVQ(z.moff, f)
	case z.rows != nil && z.rows.s256 != nil:
		z.rows.zeros()
		g.MOVQ(z.rows.s256.cols, f)
	case z.rows != nil:
		z.rows.zeros()
		g.MOVQ(z.rows.s.cols, f)
	}
}

// pend emits the copy of the mask offset saved at f to the pending row's
// slot, f+8, through the register w.
func (z *zin) pend(g *gen, f Mem, w reg.GPVirtual) {
	if z.frameSize() > 0 {
		g.MOVQ(f, w)
		g.MOVQ(w, f.Offset(8))
	}
}

// restore emits the load of the pending row's mask offset from f into
// moff, which pass 3 of that row then uses; for the causal kernel, of its
// k into s.cols, and of the mask of its last k%16 lanes into s.km.
func (z *zin) restore(g *gen, f Mem) {
	switch {
	case z == nil:
	case z.moff != nil:
		g.MOVQ(f, z.moff)
	case z.rows != nil && z.rows.s256 != nil:
		z.rows.s256.loadCols(f)
	case z.rows != nil:
		s := z.rows.s
		g.MOVQ(f, s.cols)
		tail, tbl := g.GP64(), g.GP64()
		g.MOVQ(s.cols, tail)
		g.ANDQ(U32(15), tail)
		g.LEAQ(g.tailMask16(), tbl)
		g.KMOVW(Mem{Base: tbl, Index: tail, Scale: 2}, s.km)
	}
}

// scaleIn512 emits the load of the parameter scale into every lane of a
// zmm register, and returns the zin of a kernel without a mask.
func scaleIn512(g *gen) *zin {
	sc, zs := g.XMM(), g.ZMM()
	g.Load(g.Param("scale"), sc)
	g.VBROADCASTSS(sc, zs)
	return &zin{scale: zs}
}

// scaleIn256 is scaleIn512 for AVX2: scale goes to the 32 bytes of the
// frame at f.
func scaleIn256(g *gen, f Mem) *zin {
	sc, y := g.XMM(), g.YMM()
	g.Load(g.Param("scale"), sc)
	g.VBROADCASTSS(sc, y)
	g.VMOVUPS(y, f)
	return &zin{scale: f}
}

// scaledSignature is the Go signature of the kernels with a mask and
// without one.
func scaledSignature(masked bool) string {
	if masked {
		return "func(dst, src, mask []float32, scale float32, rows, cols int)"
	}
	return "func(dst, src []float32, scale float32, rows, cols int)"
}

func generateFused(g *gen) {
	c := g.constTable("fusedconst", softmaxConsts)
	t := g.log64Table()
	vt := g.log64VecTable() // l of eight rows at once (logSoftmaxRows8)
	for _, log := range []bool{false, true} {
		for _, masked := range []bool{true, false} {
			k := scaledKind{log, masked}
			scaledAVX512(g, c, t, vt, k)
			scaledAVX2(g, c, t, vt, k)
		}
	}
	scaledLongAVX512(g, c)
	scaledLongAVX2(g, c)
	causalAVX512(g, c)
	causalAVX2(g, c)
	statsOf(g, c, "AVX512", func() statsRow { return newSM512(g, c, "st512") })
	statsOf(g, c, "AVX2", func() statsRow { return newSM256(g, c, "st256") })
	coveredAVX512(g, c)
	coveredAVX2(g, c)
	withStatsAVX512(g, c)
	withStatsAVX2(g, c)
	logWithStatsAVX512(g, c, t)
	logWithStatsAVX2(g, c, t)
}

// maskRows emits the set-up of a kernel with a mask: the mask's address
// and its step per row (0 for one row for every row, 4*cols for one row
// per row) in the 16 bytes of the frame at f, and returns the row hook
// that sets moff to the mask's offset from src and steps the mask on.
func maskRows(g *gen, f Mem, moff reg.GPVirtual, src func() reg.GPVirtual) rowHooks {
	mp, n, step, zero := g.GP64(), g.GP64(), g.GP64(), g.GP64()
	g.Load(g.Param("mask").Base(), mp)
	g.MOVQ(mp, f)
	g.Load(g.Param("mask").Len(), n)
	g.Load(g.Param("cols"), step)
	g.SHLQ(U8(2), n)
	g.SHLQ(U8(2), step) // 4*cols
	g.XORQ(zero, zero)
	g.CMPQ(n, step)
	g.CMOVQEQ(zero, step)
	g.MOVQ(step, f.Offset(8))
	return rowHooks{begin: func() {
		g.MOVQ(f, moff)
		g.SUBQ(src(), moff)
		t := g.GP64()
		g.MOVQ(f.Offset(8), t)
		g.ADDQ(t, f)
	}}
}

// peekMask returns the peek hook of a kernel with a mask whose rows
// maskRows steps at f: z.moff set to the offset of the next row's mask
// (the one at f once begin has run for the current row, or the first
// before the loop) from the row at src, in a register of its own.
func (z *zin) peekMask(g *gen, f Mem) func(src reg.GPVirtual) func() {
	return func(src reg.GPVirtual) func() {
		cur, next := z.moff, g.GP64()
		g.MOVQ(f, next)
		g.SUBQ(src, next)
		z.moff = next
		return func() { z.moff = cur }
	}
}

// scaledKind tells the fused kernels apart: Softmax or LogSoftmax, with a
// mask or without one.
type scaledKind struct{ log, masked bool }

// name returns the kernel's name for the instruction set isa.
func (k scaledKind) name(isa string) string {
	n := "ScaledSoftmaxRows"
	if k.log {
		n = "ScaledLogSoftmaxRows"
	}
	if !k.masked {
		n += "NoMask"
	}
	return n + isa
}

// doc returns the AVX-512 kernel's documentation.
func (k scaledKind) doc() []string {
	name := k.name("AVX512")
	switch {
	case !k.masked:
		return []string{name + " is " + scaledKind{k.log, true}.name("AVX512") + " without a mask: z = scale*x."}
	case k.log:
		return []string{name + " is ScaledSoftmaxRowsAVX512 for LogSoftmax,",
			"with the bits of fallback.ScaledLogSoftmaxRows."}
	}
	return []string{name + " sets each of the rows rows of cols elements of dst to the",
		"softmax of z = fma(scale, x, m) for the same row x of src, and m the",
		"row of mask, with the bits of fallback.ScaledSoftmaxRows: mask holds",
		"one row, added to every row, or rows rows. The caller checks the",
		"arguments: rows*cols elements in dst and src, cols > 0, dst is src",
		"or does not overlap it, and mask does not overlap dst. It requires",
		"AVX-512F."}
}

func scaledAVX512(g *gen, c *constTable, t *log64Table, vt *log64VecTable, k scaledKind) {
	g.function(k.name("AVX512"), scaledSignature(k.masked),
		[]string{"AVX", "AVX512F", "CMOV", "FMA3", "MMX+", "SSE", "SSE2"}, k.doc()...) // MMX+: PREFETCHT0
	s := newSM512(g, c, "ss512")
	s.z = scaleIn512(g)
	if k.masked {
		s.z.moff = g.GP64()
		f := g.AllocLocal(16)
		s.hooks = maskRows(g, f, s.z.moff, s.rowSrc)
		s.z.step = f.Offset(8)
		s.hooks.peek = s.z.peekMask(g, f)
	}
	if k.log {
		// l for eight rows at once, their pass 3 eight finite rows late,
		// each slot with its row's mask offset (logSoftmaxRows8), for rows
		// of up to batchCols elements, as LogSoftmaxRowsAVX512. Measured
		// (ns per element, thread CPU time, the lower quartile of 101
		// runs, 1 MiB batches of N(0, 4), scale 1/8, the kernel before
		// and after in one program, through package kernels, whose
		// medium kernel then took rows of up to 128 columns out of place;
		// the ratio to LogSoftmaxRowsAVX512's time in the same run), one
		// mask row per row, one for every row, no mask: at 200 columns
		// 1.46x, 1.31x, 1.27x against 1.72x, 1.63x, 1.56x; at 300 1.52x,
		// 1.32x, 1.28x against 1.77x, 1.63x, 1.56x; in place at 100 1.46x,
		// 1.41x, 1.36x against 1.96x, 1.94x, 1.86x.
		//
		// Then LogSoftmaxRowsAVX512's flags (the last block through the
		// pipeline, its half lanes, the copy for c = 0, the max a row
		// ahead, the next row's mask offset from peek, and the next row's
		// max in pass 2) and the scaled kernel's prefetch of the next
		// row; package kernels leaves rows of more than logMediumCols to
		// this kernel, in place or not. Measured as above, 201 runs,
		// against the kernel before this change (one log a row, no flags),
		// the same three masks, out of place: 1.13x, 1.12x, 1.02x against
		// 1.28x, 1.18x, 1.18x at 50 columns; 1.20x, 1.16x, 1.10x against
		// 1.46x, 1.32x, 1.27x at 100; 1.20x, 1.13x, 1.08x against 1.83x,
		// 1.71x, 1.68x at 200; 1.18x, 1.10x, 1.07x against 1.78x, 1.66x,
		// 1.59x at 300 (0.371 against 0.559 ns per element, one mask row
		// per row); 1.12x, 1.07x, 1.06x against 1.45x, 1.29x, 1.27x at
		// 1024; 1.14x, 1.07x, 1.06x against 1.46x, 1.32x, 1.29x at 4096;
		// in place 1.15x, 1.09x, 1.02x against 2.28x, 2.17x, 2.13x at 50,
		// 1.17x, 1.10x, 1.07x against 1.81x, 1.69x, 1.62x at 300, 1.10x,
		// 1.05x, 1.04x against 1.31x, 1.16x, 1.01x at 1024, but 1.25x,
		// 1.24x, 1.05x against 1.21x, 1.19x, 1.18x at 4096 (0.466
		// against 0.449 ns per element, one mask row per row), where
		// without nextMax it measured 1.11x, 1.09x, 1.08x, but 1.37x,
		// 1.20x, 1.15x out of place and 1.35x at 300 with a mask row per
		// row; the prefetch took 4096 in place from 1.28x, 1.23-1.25x
		// and out of place from 1.17-1.18x, 1.09-1.12x, 1.06x.
		s.tailPipe, s.halfTail, s.zeroC, s.ahead = true, true, true, true
		s.nextMax, s.prefetch = true, true
		// nmAlias (see below): in place with a mask row per row, the new
		// kernel against the old (as there), 0.75-0.79x at 1024 columns,
		// 0.71x at 4096 (from 1.11x SoftmaxRowsAVX512's time to 0.79x),
		// 0.77x at 8192, 0.82x at 16384; no mask 0.76x at 1024, 0.79x at
		// 4096; 1.00x at 512, 1000 and 3072, out of place 1.00x. That is
		// the regression of nextMax in place at 4096 columns above: at
		// 3072 and 5120 nextMax still measured 0.98x and 0.93x the time
		// of the kernel without it.
		s.nmAlias = true
		g.Attributes(0) // not NOSPLIT: with a mask, the frame's 792 bytes
		logSoftmax512(g, s, c, t, logSoftmaxRows8(vt))
		return
	}
	// SoftmaxRowsAVX512's last block through the pipeline, its half
	// lanes, and the copy of passes 2 and 3 for c = 0 (see sm512), z in
	// place of x. Thread CPU time, the least of 30 alternating runs of
	// 1 MiB batches, scale 1/8, against the kernel without them: one mask
	// row per row 0.45 against 0.49 ns per element at 100 columns, 0.34
	// against 0.36 at 1024 and 4096; one mask row for every row 0.43
	// against 0.47 at 100, 0.30-0.31 against 0.32-0.33 at 1024 and 4096.
	// Then pass 1 a row ahead, the next row's mask offset from peek (the
	// lower quartile of 60 alternating runs, against the kernel with the
	// flags above): one mask row per row 0.38 against 0.46 at 100
	// columns, 0.38 against 0.44 at 64, 0.39 against 0.40 at 1024; no
	// mask 0.36 against 0.40 at 100, 0.30 against 0.32 at 1024.
	//
	// Storing z in dst in pass 1, for pass 2 to read as x (as
	// ScaledSoftmaxRowsAVX2 does), measured, on top of all that, 0.37
	// against 0.39 at 100 columns but 0.41 against 0.38 at 1024, 0.40
	// against 0.37 at 4096 and 0.41 against 0.39 at 32000 (one mask row
	// per row, the lower quartile of 60 alternating runs): pass 2 here
	// has the registers to take the mask as the FMA's memory operand, and
	// the store costs pass 1 more than that FMA costs pass 2.
	//
	// The prefetch of the next row in pass 2, against the kernel without
	// it (the lower quartile of 60 alternating runs): one mask row per
	// row 0.29-0.33 against 0.33-0.37 ns per element at 1024 columns,
	// 0.32-0.36 against 0.37-0.38 at 4096, 0.38-0.42 against 0.41-0.44
	// at 32000; one mask row for every row 0.35-0.39 against 0.40-0.42
	// at 32000; no mask 0.27-0.28 against 0.31 at 4096. At 128256
	// columns it measured 0.48 against 0.47, one mask row per row: the
	// next row's 500 KiB, and its mask's, evict the current row's before
	// pass 3, so longer rows than prefetchCols do not run it.
	//
	// Then SoftmaxRowsAVX512's keepS (pass 3 loads s from the frame, and
	// computes no z, on rows of at most sCols elements) and nextMax (pass
	// 2 computes the next row's z, its mask row's included, at the offset
	// of the current row's, and takes its max). Thread CPU time against
	// SoftmaxRowsAVX512 in the same run, the lower quartile of 200
	// alternating runs of 1 MiB batches, scale 1/8, at 100, 1024, 4096,
	// and 32000 columns (above 8192 with a mask package kernels runs the
	// long kernel, scaledLongAVX512): one mask row per row 1.19-1.22,
	// 1.11-1.23, 1.15-1.16x against 1.27-1.29, 1.26-1.27, 1.28x before;
	// one mask row for every row 1.13-1.15, 1.08, 1.10-1.11x against 1.20,
	// 1.23-1.25, 1.19x; no mask 1.06-1.08, 1.05-1.07, 1.07-1.08, 1.06-1.08x
	// against 1.15, 1.19, 1.08, 1.10x. Without the prefetch (which
	// nextMax's loads of the next row could make redundant) it measured
	// the same within the noise (1.21-1.23, 1.11-1.23, 1.15-1.17x, one
	// mask row per row), so the prefetch stays.
	s.tailPipe, s.halfTail, s.zeroC, s.ahead = true, true, true, true
	s.prefetch = true
	s.keepS, s.nextMax = true, true
	// Then zNext: out of place, pass 2 stores the next row's z, which
	// nextMax computes, in the next row's dst (pass 1 a row's whose max
	// it finds), and loads the row's own z from its dst rather than
	// computing it again from x and the mask: one FMA a vector fewer
	// (VMULPS without a mask), and the row's x and mask not read a
	// second time, in the pass that bounds the kernel, for a store. The
	// last vector of a row of cols%16 > 0 is not stored and computes z
	// again: a masked store that a masked load reads soon after is not
	// forwarded, and storing it measured 1.13x at 100 columns and 1.2-1.37x
	// at 90-120 with the mask, 1.2x without. Thread CPU time, the lower
	// quartile of 150 alternating runs of 1 MiB batches, scale 1/8, x
	// N(0, 4), mask N(0, 1/4) with 1 in 8 -Inf, against the kernel before
	// and SoftmaxRowsAVX512 in the same run, at 64, 100, 200, 1024, 2048
	// and 4096 columns: one mask row per row 0.96, 0.98, 0.95, 0.95,
	// 0.91 and 0.88x the time before (1.09, 1.20, 1.16, 1.13, 1.13 and
	// 1.10x SoftmaxRowsAVX512's, against 1.13, 1.22, 1.23, 1.18, 1.25 and
	// 1.24x); one mask row for every row 0.97, 1.01, 0.98, 0.98, 0.96 and
	// 0.98x; no mask 0.98, 1.04, 0.99, 0.99, 0.96 and 0.98x (0.97x at
	// 8192, where package kernels runs the long kernel with a mask). In
	// the program that alternates six kernels (data from L3), one mask
	// row per row, 1.05-1.13x SoftmaxRowsAVX512's time at 1024 columns
	// and 1.08-1.12x at 4096, against 1.10-1.15x and 1.20-1.27x before.
	// In place (unchanged code but for a compare a row) the same within
	// the noise.
	s.zNext = true
	// Then nmAlias: in place on rows of a power of 2 elements, 1024 or
	// more, pass 2 runs without nextMax and the next row's max is found
	// after it, as before nextMax. Measured as zNext above, in place, the
	// new kernel against the old: one mask row per row 0.72-0.77x at 1024
	// columns, 0.70x at 2048, 0.75x at 4096; no mask 0.70-0.74x, 0.72x,
	// 0.82x, 0.85x at 8192 and 0.90x at 16384; 0.98-1.00x at 512 and
	// 1000, and 0.98-1.01x at 3072 (not a power of 2), which took 1.03-1.05x
	// without nextMax.
	s.nmAlias = true
	g.Attributes(0) // not NOSPLIT: the frame holds two rows' s (see sCols)
	s.softmaxRows()
}

// scaledLongAVX512 emits ScaledSoftmaxLongRowsAVX512: SoftmaxRowsAVX512's
// passes with z in place of x, as ScaledSoftmaxRowsAVX512, but each row's
// three passes one after the other, without pass 1 a row ahead or pass 3
// a row late, and with the prefetch of the next row's x and mask in pass
// 2 for rows of at most prefetchCols (sm512.prefetch). Between a row's
// pass 2 and its pass 3, ScaledSoftmaxRowsAVX512 runs the row before's
// pass 3, reads the next row's x and mask twice and the row after's
// once, and writes the next row's u: from some 10000 columns on that
// evicts the row's own x, mask and u from L2 before its pass 3 reads
// them. Here the row's three
// arrays stay in L2 up to about 65536 columns (768 KiB), and with the
// prefetch the next row's pass 1 finds its x and mask there too, up to
// 32768. Thread CPU time, the lower quartile of 60 alternating runs of
// 1 MiB batches, scale 1/8, one mask row per row, against
// ScaledSoftmaxRowsAVX512 (ns per element): 0.297 against 0.297 at 4096
// columns, 0.328 against 0.324 at 8192, 0.327 against 0.357 at 16384,
// 0.358 against 0.387 at 32000, 0.397 against 0.428 at 65536 and 0.455
// against 0.463 at 128256; SoftmaxRowsAVX512 0.27-0.31 in the same runs.
// At 512 columns it measured 0.354 against 0.326, at 1024 0.322 against
// 0.327: short rows gain more from the row ahead and the late pass 3.
// The prefetch of the next row up to 65536 columns measured 0.413
// against 0.386 without it at 65536, and the same below.
//
// At 128256 columns a row's x, mask and u, 1.5 MiB, outgrow the 1 MiB L2
// whichever way the passes run. Passes 1 and 2 alone (the kernel with
// pass 3 left out) measured 0.278, 0.293 and 0.303 ns per element at
// 4096, 32000 and 128256 columns, against 0.211, 0.212 and 0.226 for
// SoftmaxRowsAVX512's passes 1 and 2 alike: the mask's traffic, which
// pass 1 has no arithmetic to hide behind; pass 3 then took 0.066, 0.093
// and 0.161, its x, mask and u coming from L3 at 128256. Nothing tried
// brought the kernel below 1.4x SoftmaxRowsAVX512's time there (lower quartiles of 20 to 40
// alternating runs, ns per element, against this kernel in the same run,
// at 4096, 32000 and 128256 columns):
//   - z stored in dst by pass 1, passes 2 and 3 then running on dst as
//     SoftmaxRowsAVX512 in place does, u recomputed in pass 3: 0.449, 0.432 and 0.449 against 0.332, 0.320
//     and 0.429. Pass 1 then moves x, mask and dst with no arithmetic to
//     hide it behind, and the recomputation costs pass 3 more than the
//     traffic it saves.
//   - z stored in dst by pass 1, u stored over it by pass 2, and z
//     recomputed from x and the mask in pass 3 (ScaledSoftmaxRowsAVX2's
//     route): 0.365, 0.347 and 0.443.
//   - pass 1 and pass 3 from the row's end to its start, so that each
//     starts on what the pass before it left in L2: 0.357, 0.353 and
//     0.439 against 0.344, 0.343 and 0.445; with z in dst as above,
//     0.368, 0.395 and 0.433 against 0.336, 0.337 and 0.428.
//   - prefetch of x, the mask and dst 1, 4 or 16 KiB ahead in every pass:
//     0.355-0.404, 0.370-0.416 and 0.445-0.536 against 0.351, 0.373 and
//     0.449.
//   - with z in dst, a non-temporal prefetch of x and the mask 1 or 4 KiB
//     ahead in pass 1: 0.404 and 0.392, 0.434 and 0.410, 0.480 and 0.498
//     against 0.385, 0.407 and 0.491 without it.
//   - nothing stored in pass 2, u recomputed from x and the mask in pass
//     3: 0.449, 0.448 and 0.490 against 0.358, 0.361 and 0.449.
//   - the prefetch of the next row's x and mask in pass 3, on rows too
//     long for the one in pass 2: 0.412 against 0.365 at 65536 columns,
//     0.489 against 0.451 at 128256. In place of the one in pass 2, up to
//     32768 or 65536 columns: 0.417-0.419 against 0.319 at 16384, 0.420
//     against 0.351 at 32000.
//
// Every row's passes 1 and 2 now run as SoftmaxRowsAVX512's fused pass
// of a long row (sm512.fuse, see fused in softmax.go): one read of x and
// the mask on the guess that c = 0, u kept in dst as pass 2 keeps it,
// passes 1 and 2 after it where the guess fails. Thread CPU time, the
// lower quartile of 40 alternating runs of 1 MiB batches, scale 1/8, x
// N(0, 9), mask N(0, 1/4) with 1 in 8 -Inf, against SoftmaxRowsAVX512
// in the same run, at 16384, 32000, 65536 and 128256 columns: one mask
// row per row 0.98, 0.99, 1.00 and 1.11x against 1.07, 1.11, 1.24 and
// 1.38x for the passes one after the other (ns per element 0.273,
// 0.288, 0.300 and 0.341 against 0.300, 0.322, 0.371 and 0.423); one
// mask row for every row 0.97, 0.93, 0.95 and 1.08x against 1.05, 1.03,
// 1.21 and 1.34x.
func scaledLongAVX512(g *gen, c *constTable) {
	g.function("ScaledSoftmaxLongRowsAVX512", scaledSignature(true),
		[]string{"AVX", "AVX512F", "CMOV", "FMA3", "MMX+", "SSE", "SSE2"}, // MMX+: PREFETCHT0
		"ScaledSoftmaxLongRowsAVX512 is ScaledSoftmaxRowsAVX512 for long rows: it runs",
		"each row's passes one after the other. It requires AVX-512F.")
	s := newSM512(g, c, "sl512")
	s.z = scaleIn512(g)
	s.z.moff = g.GP64()
	f := g.AllocLocal(16)
	s.hooks = maskRows(g, f, s.z.moff, s.rowSrc)
	s.z.step = f.Offset(8)
	s.tailPipe, s.halfTail, s.zeroC, s.prefetch = true, true, true, true
	s.keepU, s.fuse = true, true
	// Then the fused pass's check on flushed terms on w = n - G + 127
	// (sm512.minW), no prefetch in the fused pass of a row longer than
	// prefetchCols (sm512.noPfLong), and pass 3 of such a row from its
	// end to its start (sm512.back). Thread CPU time, the lower quartile
	// of 60 runs, each the second of two calls in a row, 1 MiB batches
	// (2 rows at 128256 columns), scale 1/8, x N(0, 9), mask N(0, 1/4)
	// with 1 in 8 -Inf, against SoftmaxRowsAVX512 in the same run, at
	// 8192, 32000, 65536 and 128256 columns: one mask row per row 1.12,
	// 1.07, 1.03 and 1.15x against 1.15, 1.10, 1.12 and 1.19x without the
	// three; one mask row for every row 1.09, 1.03, 1.02 and 1.11x against
	// 1.12, 1.07, 1.07 and 1.16x. With every call's data evicted to memory
	// first: 1.19 against 1.21x at 128256 (one mask row per row), 1.13
	// against 1.17x (one for every row).
	s.minW, s.noPfLong, s.back = true, true, true
	s.rowsKernel(func(zero reg.VecVirtual) { g.VPXORD(zero, zero, zero) }, s.softmaxOut(s.label("next")), nil)
}

func scaledAVX2(g *gen, c *constTable, t *log64Table, vt *log64VecTable, k scaledKind) {
	g.function(k.name("AVX2"), scaledSignature(k.masked),
		[]string{"AVX", "AVX2", "CMOV", "FMA3", "MMX+", "SSE", "SSE2"}, // MMX+: PREFETCHT0
		k.name("AVX2")+" is "+k.name("AVX512")+" for AVX2 and FMA3.",
	)
	s := newSM256(g, c, "ss256")
	f := g.AllocLocal(48)
	s.z = scaleIn256(g, f)
	if k.masked {
		s.z.moff = g.GP64()
		s.hooks = maskRows(g, f.Offset(32), s.z.moff, s.rowSrc)
		s.z.step = f.Offset(40)
		if !k.log {
			s.hooks.peek = s.z.peekMask(g, f.Offset(32))
		}
	}
	if k.log {
		// LogSoftmaxRowsAVX2's flags and its batches of eight rows' l
		// (logSoftmaxRows8, each slot with its row's mask offset), with
		// pass 1 a row ahead (the next row's mask offset from peek), and
		// z stored in dst by pass 1 (zDst), where pass 2, the NaN scan and
		// the late pass 3 read it as LogSoftmaxRowsAVX2 reads x in place
		// (see logSoftmax256), and the prefetch of the next row's x and
		// mask in pass 2, as ScaledSoftmaxRowsAVX2 runs them. Thread CPU
		// time, the lower quartile of 150 alternating runs of 1 MiB
		// batches of N(0, 4), scale 1/8, a mask of N(0, 1/4) with one
		// element in 8 -Inf, against LogSoftmaxRowsAVX2 in the same run,
		// at 50, 100, 200, 300, 1024, 4096, 32000 and 128256 columns, out
		// of place: one mask row per row 1.07, 1.04-1.05, 1.05-1.08,
		// 1.06-1.08, 1.05-1.07, 1.04-1.09, 1.14 and 1.16x, against 2.00,
		// 1.76-1.85, 1.55-1.61, 1.47-1.49, 1.39-1.43, 1.35, 1.35-1.37 and
		// 1.37-1.42x before (no flags, one l a row, z computed in every
		// pass); one mask row for every row 1.04, 1.02, 1.08, 1.03, 1.04,
		// 1.03, 1.14 and 1.14x against 2.13, 1.72, 1.57, 1.40, 1.32,
		// 1.31, 1.33 and 1.35x; no mask 1.03, 1.01, 1.06, 1.02, 1.03,
		// 1.01, 1.08 and 1.08x against 1.87, 1.69, 1.52, 1.36, 1.30,
		// 1.27, 1.26 and 1.27x. In place, one mask row per row, 1.05-1.09x
		// from 50 to 300 columns, 0.82-0.84x at 1024 (LogSoftmaxRowsAVX2
		// in place is slow there), 0.91x at 4096, 1.04-1.05x at 32000 and
		// 1.08-1.09x at 128256, against 1.28-2.23x. Without zDst (z
		// computed from x and the mask in every pass, as before) it
		// measured 1.19-1.29x, one mask row per row, out of place and in
		// place; without the prefetch 1.06-1.11x from 50 to 1024 columns
		// and 1.16-1.17x at 4096 and 32000 out of place; without logOut
		// 1.08-1.20x.
		if k.masked {
			s.hooks.peek = s.z.peekMask(g, f.Offset(32))
		}
		s.ahead, s.zeroC, s.tailPipe, s.logOut = true, true, true, true
		s.zDst, s.prefetch = true, true
		// Then LogSoftmaxRowsAVX2's overTail (see logSoftmaxAVX2): the
		// late pass 3 runs a row's last cols%16 lanes as the whole vector
		// of z in dst that ends at the row's end, first, its y in buf,
		// out of place and in place alike, since pass 3 reads z in dst
		// either way; the same code for each kind of mask. Measured as
		// there, scale 1/8, one mask row per row of N(0, 1/4) with one
		// element in 8 -1e30, N = 60: 0.967 against 1.002 at 100 columns
		// (0.97x, 45 runs), 0.800 against 0.830 at 300 (0.97x, 40 runs);
		// in place 0.960 against 0.994 at 100 (0.95x, 44 runs), 0.788
		// against 0.819 at 300 (0.97x, 39 runs).
		s.overTail = true
		s.mNext = g.AllocLocal(8)
		tb := *t
		tb.blend = true // for rows longer than batchCols, as LogSoftmaxRowsAVX2
		g.Attributes(0) // not NOSPLIT: with a mask, the frame's 1112 bytes
		logSoftmax256(g, s, c, &tb, logSoftmaxRows8(vt))
		return
	}
	// SoftmaxRowsAVX2's flags, on the z that pass 1 stores in dst: pass
	// 1 a row ahead (the next row's mask offset from peek, its z stored
	// in its dst), the copy of passes 2 and 3 for c = 0, and the last
	// block through the pipeline. Thread CPU time, the lower quartile of
	// 40 alternating runs of 1 MiB batches, scale 1/8, against
	// SoftmaxRowsAVX2 in the same run, at 100, 1024, 4096, 32000 and
	// 128256 columns: one mask row per row 1.11, 1.21, 1.21, 1.23 and
	// 1.22x, against 1.48, 1.26, 1.25, 1.26 and 1.28x without them; one
	// mask row for every row 1.05, 1.09, 1.14, 1.21 and 1.20x, against
	// 1.40, 1.15, 1.18, 1.24 and 1.27x; no mask 1.04, 1.08, 1.09, 1.11
	// and 1.10x, against 1.37, 1.15, 1.13, 1.16 and 1.16x. In place, one
	// mask row per row, 1.03, 1.00 and 1.04x at 100, 1024 and 32000
	// columns, against 1.22, 1.13 and 1.11x.
	s.zDst = true
	s.ahead, s.zeroC, s.tailPipe = true, true, true
	// The prefetch of the next row's x and mask in pass 2 (sm256.prefetch,
	// as sm512's), on top of that, the same measure: one mask row per row
	// 1.09, 1.14, 1.18 and 1.22x at 1024, 4096, 32000 and 128256 columns
	// against 1.31, 1.22, 1.22 and 1.20x without it in the same run (1.05
	// against 1.21x at 1024 in another); one mask row for every row 1.07,
	// 1.06, 1.19 and 1.17x against 1.12, 1.12, 1.18 and 1.18x; no mask
	// 1.05, 1.02, 1.08 and 1.07x against 1.12, 1.07, 1.09 and 1.08x.
	s.prefetch = true
	// Then SoftmaxRowsAVX2's keepS, on rows of at most sCols elements out
	// of place: pass 2 keeps s in the frame beside the u it stores over z
	// in dst, and pass 3 loads both and computes no z, where it otherwise
	// recomputes z from x and the mask and s from z. Thread CPU time, the
	// lower quartile of 200 alternating runs of 1 MiB batches, scale 1/8,
	// against SoftmaxRowsAVX2 in the same run, at 100, 200 and 1024
	// columns: one mask row per row 1.10-1.12, 1.10 and 1.07x against
	// 1.20-1.25, 1.26 and 1.20-1.25x without it (0.645 against 0.708 ns
	// per element at 100, 0.515 against 0.604 at 1024); one mask row for
	// every row 1.05-1.07, 1.05 and 1.04-1.05x against 1.16-1.21, 1.19
	// and 1.17-1.19x; no mask 0.99-1.06, 1.03-1.04 and 1.01-1.03x against
	// 1.11-1.16, 1.14-1.16 and 1.13-1.14x. Unchanged at 4096, where s is
	// not kept: 1.10-1.13, 1.07-1.11 and 1.04-1.05x. With s kept up to
	// sCols256 (4096) rather than sCols, as SoftmaxRowsAVX2 keeps it (the
	// same measure; SoftmaxRowsAVX2 got faster there too): one mask row
	// per row 1.13x against 1.25x at 2048 columns (0.588 against 0.649 ns
	// per element), 1.16x against 1.27x at 4096 (0.613 against 0.673);
	// one mask row for every row 1.10x against 1.21x, 1.14x against
	// 1.26x; no mask 1.07x against 1.17x, 1.09x against 1.19x.
	s.keepS = true
	// Then SoftmaxRowsAVX2's nextMax, out of place on rows of 64 columns
	// or more: pass 2 computes the next row's z, stores it in that row's
	// dst and takes its max, where pass 1 a row ahead did (see
	// sm256.nextMax, with the figures): one mask row per row 0.87x the
	// time at 8192 columns, 0.90x at 4096, 0.97x at 1024 and 300 (1.04,
	// 1.04, 1.05 and 1.07x SoftmaxRowsAVX2's time against 1.20, 1.16, 1.08
	// and 1.10x).
	s.nextMax = true
	// Then SoftmaxRowsAVX2's overTail (see sm256.overTail): the late
	// pass 3 runs a row's last cols%16 lanes as the whole vector that
	// ends at the row's end, first, before any store of the row. Where
	// its out reads u from dst (out of place, and in place from 4097 to
	// 8192 columns, where the frame keeps s alone), that vector's u is
	// copied to buf first (overCopy); out of place z comes from x and
	// the mask at the same offset. In place, u and s from the frame (up
	// to 4096 columns) or z from dst (above 8192) need no copy
	// (overTail). The same code for a mask of one row for every row (a
	// mask step of 0) and for the form without a mask. Figures in
	// sm256.overTail.
	s.overTail = true
	g.Attributes(0) // not NOSPLIT: the frame holds two rows' s (see sCols256)
	s.softmaxRows()
}

// The causal kernels, CausalSoftmaxRows: row r of the batch is the
// ScaledSoftmaxRows row without a mask of its first k = offset+r+1
// elements (clamped to [0, cols]), followed by cols-k zeros. They are the
// kernels without a mask whose row length is k: a row hook sets k, and
// the mask of its last k%16 lanes, at the start of each row, so that every
// pass reads and writes only the first k elements; a row of k = 0 runs
// them over nothing. After a filled row the special hook zeros the rest. The
// caller clamps offset to [-rows-1, cols], which changes no k and keeps
// offset+r+1 from overflowing.
//
// On AVX-512, pass 1 runs a row ahead and pass 3 a row late, as
// SoftmaxRowsAVX512's do (see causalAVX512). For pass 3 the
// row's k is kept with the pending row's other parameters (causalLate),
// and the zeros after its first k elements are stored before that. With
// full rows (thread CPU time, against the same kernel running pass 3 at
// once): 0.88x the time at 100 columns, 0.95-1.0x at 1024, the same
// within the noise at 10 and 30. On AVX2 too (see causalAVX2), the late
// pass 3 with k kept in the frame (causalLate.s256), with the other flags
// of SoftmaxRowsAVX2 and z stored in dst in pass 1, as the scaled kernels
// run them. On AVX-512, package kernels runs rows of at
// most 48 columns through the causal group kernels of short.go, and the
// groups they leave through CausalSoftmaxRowsAVX512; on AVX2, rows of at
// most 16 columns through CausalSoftmaxShortRowsAVX2 (short_avx2.go), and
// the groups it leaves through CausalSoftmaxRowsAVX2.

// causalRows is what the causal kernels need of sm512 and sm256.
type causalRows interface {
	rowPasses
	setHooks(h rowHooks)
	softmaxOut(after string) func(sum reg.VecVirtual)
}

// causalHooksZeros emits the set-up of a causal kernel (the next row's
// offset+r+1, in the frame) and returns its row hooks (zero64 stores 16
// zeros at an address), and also returns a function that emits
// the zeros after the current row's first k elements, falling through at
// the end. Unless skipEmpty, a row of k = 0 runs the passes over its 0
// elements (a row of -Inf, filled with nothing), and the hooks peek at
// the next row's k, for pass 1 ahead (sm512.ahead).
func causalHooksZeros(g *gen, s causalRows, zero64 func(m Mem), skipEmpty bool) (rowHooks, func()) {
	next := g.AllocLocal(8)
	o := g.GP64()
	g.Load(g.Param("offset"), o)
	g.INCQ(o)
	g.MOVQ(o, next)
	var cols, k reg.GPVirtual
	// clamp emits k = clamp(the value at next, 0, cols) into new registers.
	clamp := func() (cols, k reg.GPVirtual) {
		cols, k = g.GP64(), g.GP64()
		g.Load(g.Param("cols"), cols)
		zero := g.GP64()
		g.XORQ(zero, zero)
		g.MOVQ(next, k)
		g.TESTQ(k, k)
		g.CMOVQLT(zero, k)
		g.CMPQ(k, cols)
		g.CMOVQGT(cols, k)
		return cols, k
	}
	// zeros emits the zeros after the row's first k elements, with labels
	// prefixed by name, ending with a jump to done.
	zeros := func(name, done string) {
		q, i := g.GP64(), g.GP64()
		g.LEAQ(Mem{Base: s.rowDst(), Index: k, Scale: 4}, q)
		g.MOVQ(cols, i)
		g.SUBQ(k, i)
		each16(g, s.label(name), q, i, zero64)
		g.Label(s.label(name + "1"))
		g.TESTQ(i, i)
		g.JZ(LabelRef(done))
		g.MOVL(U32(0), Mem{Base: q})
		g.ADDQ(U32(4), q)
		g.DECQ(i)
		g.JMP(LabelRef(s.label(name + "1")))
	}
	var peek func(src reg.GPVirtual) func()
	if s2, ok := s.(*sm256); ok && !skipEmpty {
		peek = func(reg.GPVirtual) func() {
			g.Comment("The next row's k, for its pass 1.")
			_, kn := clamp()
			cur, tailN, mtab := s2.cols, s2.tailN, s2.mtab
			s2.setCols(kn)
			return func() { s2.cols, s2.tailN, s2.mtab = cur, tailN, mtab }
		}
	} else if !skipEmpty {
		s := s.(*sm512)
		peek = func(reg.GPVirtual) func() {
			g.Comment("The next row's k, for its pass 1.")
			_, kn := clamp()
			cur, km := s.cols, s.km
			s.cols, s.km = kn, g.K()
			tail, tbl := g.GP64(), g.GP64()
			g.MOVQ(kn, tail)
			g.ANDQ(U32(15), tail)
			g.LEAQ(g.tailMask16(), tbl)
			g.KMOVW(Mem{Base: tbl, Index: tail, Scale: 2}, s.km)
			return func() { s.cols, s.km = cur, km }
		}
	}
	return rowHooks{
			begin: func() {
				g.Comment("k = clamp(offset+r+1, 0, cols), this row's length.")
				cols, k = clamp()
				g.INCQ(next)
				if skipEmpty {
					g.TESTQ(k, k)
					g.JZ(LabelRef(s.label("filled")))
				}
				s.setCols(k)
			},
			peek: peek,
			special: func(reg.VecVirtual) {
				g.Comment("Zeros after the row's first k elements.")
				zeros("zero", s.label("next"))
			},
		}, func() {
			g.Comment("Zeros after the row's first k elements, before its late pass 3.")
			zeros("zerofin", s.label("zeroed"))
			g.Label(s.label("zeroed"))
		}
}

// causalSignature is the causal kernels' Go signature.
const causalSignature = "func(dst, src []float32, scale float32, rows, cols, offset int)"

func causalAVX512(g *gen, c *constTable) {
	g.function("CausalSoftmaxRowsAVX512", causalSignature,
		[]string{"AVX", "AVX512F", "CMOV", "FMA3", "MMX+", "SSE", "SSE2"},
		"CausalSoftmaxRowsAVX512 sets row r of the rows rows of cols elements",
		"of dst to the softmax of scale*x over the first k elements of row r",
		"of src, k = offset+r+1 clamped to [0, cols], and its other elements",
		"to 0, with the bits of fallback.CausalSoftmaxRows. The caller checks",
		"the arguments (rows*cols elements in each slice, cols > 0, dst is",
		"src or does not overlap it) and clamps offset to [-rows-1, cols].",
		"It requires AVX-512F.",
	)
	s := newSM512(g, c, "cs512")
	s.z = scaleIn512(g)
	z := g.ZMM()
	g.VPXORD(z, z, z)
	var zeros func()
	s.hooks, zeros = causalHooksZeros(g, s, func(m Mem) { g.VMOVUPS(z, m) }, false)
	s.z.rows = &causalLate{s: s, zeros: zeros}
	// SoftmaxRowsAVX512's last block through the pipeline, its half
	// lanes, and the copy of passes 2 and 3 for c = 0, as the scaled
	// kernels (the row's kl set with its k): full rows, thread CPU time,
	// the least of 30 alternating runs of 1 MiB batches, against the
	// kernel without them, 0.42 against 0.45 ns per element at 100
	// columns, 0.30 against 0.31 at 1024 and 4096. Pass 1 a row ahead,
	// the next row's k from peek (a row of k = 0 runs its passes over
	// nothing, so that none skips the next row's max; after the late pass
	// 3, which loads the pending row's k, the row's own k is loaded back
	// for the fill of a NaN S): the lower quartile of 60 alternating
	// runs, 0.36 against 0.42 ns per element at 100 columns, 0.36 against
	// 0.40 at 64, 0.31 against 0.33 at 1024, the same at 4096 and 32000.
	s.tailPipe, s.halfTail, s.zeroC, s.ahead, s.prefetch = true, true, true, true, true
	// Then SoftmaxRowsAVX512's keepS (pass 3 loads s from the frame, and
	// computes no z, on rows of at most sCols elements; the late pass 3
	// restores the row's k first). Thread CPU time against
	// SoftmaxRowsAVX512 in the same run, the lower quartile of 300
	// alternating runs of 1 MiB batches, scale 1/8, full rows: 1.145-1.15x
	// against 1.20x at 100 columns, 1.15-1.16x against 1.24x at 256,
	// 1.12x against 1.22x at 1024, and 1.10x at 4096 as before (offset 0:
	// 1.14x against 1.19x at 100, 1.10-1.11x against 1.18x at 256). Its
	// nextMax would need the next row's k, one more than this row's.
	s.keepS = true
	g.Attributes(0) // not NOSPLIT: the frame holds two rows' s (see sCols256)
	s.softmaxRows()
}

func causalAVX2(g *gen, c *constTable) {
	g.function("CausalSoftmaxRowsAVX2", causalSignature,
		[]string{"AVX", "AVX2", "CMOV", "FMA3", "SSE", "SSE2"},
		"CausalSoftmaxRowsAVX2 is CausalSoftmaxRowsAVX512 for AVX2 and FMA3.",
	)
	s := newSM256(g, c, "cs256")
	s.z = scaleIn256(g, g.AllocLocal(32))
	var zeros func()
	s.hooks, zeros = causalHooksZeros(g, s, func(m Mem) {
		z := g.YMM()
		g.VXORPS(z, z, z)
		g.VMOVUPS(z, m)
		g.VMOVUPS(z, m.Offset(32))
	}, false)
	s.z.rows = &causalLate{zeros: zeros, s256: s}
	// SoftmaxRowsAVX2's passes with its flags, as
	// ScaledSoftmaxRowsNoMaskAVX2 runs them (z stored in dst in pass 1,
	// pass 1 a row ahead with the next row's k from peek, pass 3 a row
	// late with its constants in registers, zeroC, tailPipe), the row's k
	// kept for the late pass 3 as on AVX-512. Square causal blocks
	// (offset 0, cols rows) where the 1 MiB batch has that many rows, else
	// its rows as the last of a KV cache (offset cols-rows): thread CPU
	// time, the lower quartile of 40 alternating runs, scale 1/8, against
	// SoftmaxRowsAVX2 in the same run, at 100, 1024, 4096, 32000 and
	// 128256 columns, 0.71, 1.02, 1.08, 1.10 and 1.11x, against 1.05,
	// 1.38, 1.48, 1.50 and 1.51x with pass 3 at once and none of the
	// flags; in place 0.60, 1.01 and 1.01x at 100, 1024 and 32000,
	// against 0.74, 1.02 and 1.18x.
	s.zDst = true
	s.ahead, s.zeroC, s.tailPipe = true, true, true
	s.softmaxRows()
}

// loadCols emits the load of a row length from f into cols, and of the
// address of the masks of its last lanes into mtab, in the registers
// that hold them.
func (s *sm256) loadCols(f Mem) {
	s.g.MOVQ(f, s.cols)
	s.setTail()
}

// statsRow is what StatsOf needs of sm512 and sm256.
type statsRow interface {
	rowPasses
	rowMax() reg.Register
}

func (s *sm512) rowMax() reg.Register { return s.m }
func (s *sm256) rowMax() reg.Register { return s.m }

// statsOf emits StatsOf, passes 1 and 2 of a single row, with its
// function header: it returns the row's max and S for a finite max (S
// NaN if the row holds a NaN), (+Inf, +Inf) for a +Inf max without a NaN,
// (-Inf, 0) for an empty row or one of -Inf, and a NaN S for a row with a
// NaN. The caller turns a NaN S into the canonical NaN statistics, and
// gives a max of zero the sign of the row's first zero, as
// fallback.StatsOf's max has (VMAXPS keeps the sign of the zero in its
// second operand, and the lanes see the zeros in another order).
//
// newRow makes the passes' generator, which emits code: it runs after the
// function header.
func statsOf(g *gen, c *constTable, isa string, newRow func() statsRow) {
	name := "StatsOf" + isa
	doc := []string{name + " returns the max and S of passes 1 and 2 of the row",
		"algorithm over src, from which package kernels builds",
		"fallback.StatsOf's statistics. It requires AVX-512F."}
	features := []string{"AVX", "AVX512F", "CMOV", "FMA3", "SSE", "SSE2"}
	if isa == "AVX2" {
		doc = []string{name + " is StatsOfAVX512 for AVX2 and FMA3."}
		features = []string{"AVX", "AVX2", "CMOV", "FMA3", "SSE", "SSE2"}
	}
	g.function(name, "func(src []float32) (max float32, sum float64)", features, doc...)
	s := newRow()
	src, n := g.GP64(), g.GP64()
	g.Load(g.Param("src").Base(), src)
	g.Load(g.Param("src").Len(), n)
	m, sum := g.XMM(), g.XMM()
	g.TESTQ(n, n)
	g.JZ(LabelRef(s.label("neginf")))
	s.setSrc(src)
	s.setCols(n)
	nan := s.label("nan")
	s.pass1(nan, s.label("posinf"), s.label("masked"))
	g.VMOVAPS(s.rowMax(), m)
	g.VMOVAPD(s.pass2(), sum)
	g.JMP(LabelRef(s.label("ret")))

	g.Comment("+Inf max: (+Inf, +Inf), or NaN if the row also holds a NaN.")
	g.Label(s.label("posinf"))
	s.scanNaN(nan)
	g.VMOVSS(c.scalar("posInf"), m)
	g.VCVTSS2SD(m, m, sum)
	g.JMP(LabelRef(s.label("ret")))

	g.Comment("-Inf max: (-Inf, 0), or NaN if the row also holds a NaN; empty: (-Inf, 0).")
	g.Label(s.label("masked"))
	s.scanNaN(nan)
	g.Label(s.label("neginf"))
	g.VMOVSS(c.scalar("negInf"), m)
	g.VXORPD(sum, sum, sum)
	g.JMP(LabelRef(s.label("ret")))

	g.Label(nan)
	g.VMOVSS(c.scalar("nan"), m)
	g.VCVTSS2SD(m, m, sum)
	g.Label(s.label("ret"))
	for i, v := range []struct {
		x   reg.VecVirtual
		mov func(x reg.VecVirtual, m Mem)
	}{{m, func(x reg.VecVirtual, m Mem) { g.VMOVSS(x, m) }}, {sum, func(x reg.VecVirtual, m Mem) { g.VMOVSD(x, m) }}} {
		ret, err := g.ReturnIndex(i).Resolve()
		if err != nil {
			panic(err)
		}
		v.mov(v.x, ret.Addr) // not Store's MOVSS, which cannot reach X16-X31
	}
	g.VZEROUPPER()
	g.RET()
}

// The kernels of SoftmaxWithStats and LogSoftmaxWithStats
// (fallback/stats.go; LogSoftmax's below): Covered, the check
// that the statistics cover the chunk, which package kernels runs before
// anything is written, and pass 3 of the row algorithm for a finite
// maximum and sum, with u recomputed (the in-place pass 3 of
// SoftmaxRows): c and bias from the maximum as pass 1 sets them, 1/S from
// the sum. The special statistics (NaN, +Inf, a sum of 0) are filled in
// Go.

// cmpNotGE is the VCMPPS predicate NGE_UQ: true where the first source
// (in Go's order, the second operand) is not greater than or equal to the
// second (the first operand), or either is NaN. With max first, it is
// true for an element x > max or NaN.
const cmpNotGE = 0x19

// each16 emits a loop that runs whole(p) while n >= 16, stepping p by 16
// elements and n by 16: name labels the loop.
func each16(g *gen, name string, p, n reg.GPVirtual, whole func(p Mem)) {
	g.Label(name + "16")
	g.CMPQ(n, U32(16))
	g.JB(LabelRef(name + "rest"))
	whole(Mem{Base: p})
	g.ADDQ(U32(64), p)
	g.SUBQ(U32(16), n)
	g.JMP(LabelRef(name + "16"))
	g.Label(name + "rest")
}

// coveredLoop emits the body of a Covered kernel: the parameter max into
// m, then set(), then whole(p) for each whole vector of src at p, and
// tail(p) for the last len(src)%16 elements; then test(), which sets ZF
// if no element was flagged, and the return of ZF.
func coveredLoop(g *gen, s rowPasses, m reg.VecVirtual, set func(), whole, tail func(p Mem), test func()) {
	src, n, p := g.GP64(), g.GP64(), g.GP64()
	g.Load(g.Param("src").Base(), src)
	g.Load(g.Param("src").Len(), n)
	s.setCols(n)
	g.Load(g.Param("max"), m)
	set()
	g.MOVQ(src, p)
	each16(g, s.label("cover"), p, n, whole)
	g.TESTQ(n, n)
	g.JZ(LabelRef(s.label("done")))
	tail(Mem{Base: p})
	g.Label(s.label("done"))
	ok := g.GP8()
	test()
	g.SETEQ(ok)
	g.Store(ok, g.ReturnIndex(0))
	g.VZEROUPPER()
	g.RET()
}

func coveredAVX512(g *gen, c *constTable) {
	g.function("CoveredAVX512", "func(src []float32, max float32) bool",
		[]string{"AVX", "AVX512F", "CMOV", "FMA3", "SSE", "SSE2"},
		"CoveredAVX512 reports whether src holds no NaN and no element above max.",
		"It requires AVX-512F.",
	)
	s := newSM512(g, c, "cov512")
	m, mv := g.XMM(), g.ZMM()
	acc, k := g.K(), g.K()
	g.KXORW(acc, acc, acc)
	coveredLoop(g, s, m, func() { g.VBROADCASTSS(m, mv) }, func(p Mem) {
		g.VCMPPS(U8(cmpNotGE), p, mv, k) // x > max, or NaN
		g.KORW(k, acc, acc)
	}, func(p Mem) {
		x := g.ZMM()
		g.VMOVUPS_Z(p, s.km, x)
		g.VCMPPS(U8(cmpNotGE), x, mv, s.km, k)
		g.KORW(k, acc, acc)
	}, func() { g.KORTESTW(acc, acc) })
}

func coveredAVX2(g *gen, c *constTable) {
	g.function("CoveredAVX2", "func(src []float32, max float32) bool",
		[]string{"AVX", "AVX2", "CMOV", "FMA3", "SSE", "SSE2"},
		"CoveredAVX2 is CoveredAVX512 for AVX2.",
	)
	s := newSM256(g, c, "cov256")
	m, mv := g.XMM(), g.YMM()
	acc := g.YMM()
	g.VXORPS(acc, acc, acc)
	coveredLoop(g, s, m, func() { g.VBROADCASTSS(m, mv) }, func(p Mem) {
		for h := 0; h < 2; h++ {
			x := g.YMM()
			g.VCMPPS(U8(cmpNotGE), p.Offset(32*h), mv, x) // x > max, or NaN
			g.VORPS(x, acc, acc)
		}
	}, func(p Mem) {
		msk := s.masks()
		for h, x := range s.load(p, msk) {
			g.VCMPPS(U8(cmpNotGE), x, mv, x)
			g.VANDPS(msk[h], x, x) // lanes past the row are zeros
			g.VORPS(x, acc, acc)
		}
	}, func() { g.VTESTPS(acc, acc) })
}

// withStatsSignature is the Go signature of the SoftmaxWithStats kernels.
const withStatsSignature = "func(dst, src []float32, max float32, sum float64)"

// withStatsRow is what the SoftmaxWithStats kernels need of sm512 and
// sm256: their pass 3, and setting the row.
type withStatsRow interface {
	rowPasses
	softmaxOut(after string) func(sum reg.VecVirtual)
	setRow(dst reg.GPVirtual)
	paramsOf(m reg.VecVirtual)
}

// setRow sets the row's dst, not nil, and makes pass 3 recompute u: dst
// serves as the nonzero inPlace.
func (s *sm512) setRow(dst reg.GPVirtual) { s.dst, s.inPlace = dst, dst }
func (s *sm256) setRow(dst reg.GPVirtual) { s.dst, s.inPlace = dst, dst }

func (s *sm512) paramsOf(m reg.VecVirtual) {
	a := s.g.ZMM()
	s.g.VBROADCASTSS(m, a)
	s.params(m, a)
}

func (s *sm256) paramsOf(m reg.VecVirtual) { s.params(m) }

// softmaxWithStats emits the body of a SoftmaxWithStats kernel: pass 3
// over src into dst for the finite max and sum of the statistics.
func softmaxWithStats(g *gen, s withStatsRow) {
	dst, src, n := g.GP64(), g.GP64(), g.GP64()
	g.Load(g.Param("dst").Base(), dst)
	g.Load(g.Param("src").Base(), src)
	g.Load(g.Param("src").Len(), n)
	s.setSrc(src)
	s.setCols(n)
	s.setRow(dst) // dst is not nil: inPlace nonzero
	m, sum := g.XMM(), g.XMM()
	g.Load(g.Param("max"), m)
	s.paramsOf(m)
	g.Load(g.Param("sum"), sum)
	s.softmaxOut(s.label("ret"))(sum)
	g.Label(s.label("ret"))
	g.VZEROUPPER()
	g.RET()
}

func withStatsAVX512(g *gen, c *constTable) {
	g.function("SoftmaxWithStatsAVX512", withStatsSignature,
		[]string{"AVX", "AVX512F", "CMOV", "FMA3", "SSE", "SSE2"},
		"SoftmaxWithStatsAVX512 sets dst to pass 3 of the row algorithm over",
		"src for a row of the finite maximum max and sum S, with the bits of",
		"fallback.SoftmaxWithStats for statistics that cover src, with",
		"a finite Max and a finite Sum above 0. The caller checks the",
		"arguments: len(dst) = len(src) > 0, dst is src or does not overlap",
		"it. It requires AVX-512F.",
	)
	softmaxWithStats(g, newSM512(g, c, "ws512"))
}

func withStatsAVX2(g *gen, c *constTable) {
	g.function("SoftmaxWithStatsAVX2", withStatsSignature,
		[]string{"AVX", "AVX2", "CMOV", "FMA3", "SSE", "SSE2"},
		"SoftmaxWithStatsAVX2 is SoftmaxWithStatsAVX512 for AVX2 and FMA3.",
	)
	softmaxWithStats(g, newSM256(g, c, "ws256"))
}

// logWithStats is a logRowsFunc: the body of a LogSoftmaxWithStats kernel,
// LogSoftmaxRows's pass 3 over src into dst for the finite max and sum of
// the statistics, with l and c as its rows get them.
func logWithStats(g *gen, s rowPasses, t *log64Table, lv, cv64 reg.VecVirtual,
	_ func(v reg.VecVirtual), pass3 func(name string, src, dst Op, after string)) {
	dst, src, n := g.GP64(), g.GP64(), g.GP64()
	g.Load(g.Param("dst").Base(), dst)
	g.Load(g.Param("src").Base(), src)
	g.Load(g.Param("src").Len(), n)
	s.setSrc(src)
	s.setCols(n)
	m, sum := g.XMM(), g.XMM()
	g.Load(g.Param("max"), m)
	s.(withStatsRow).paramsOf(m)
	g.Load(g.Param("sum"), sum)
	g.Comment("l = float64(nm)*ln2 + log64(S).")
	l := g.logSum(t, s.bias(), sum)
	g.VBROADCASTSD(l, lv)
	g.VBROADCASTSD(s.c64(), cv64)
	pass3("out", src, dst, s.label("ret"))
	g.Label(s.label("ret"))
	g.VZEROUPPER()
	g.RET()
}

func logWithStatsAVX512(g *gen, c *constTable, t *log64Table) {
	g.function("LogSoftmaxWithStatsAVX512", withStatsSignature,
		[]string{"AVX", "AVX512F", "CMOV", "FMA3", "SSE", "SSE2"},
		"LogSoftmaxWithStatsAVX512 is SoftmaxWithStatsAVX512 for LogSoftmax,",
		"with the bits of fallback.LogSoftmaxWithStats.",
	)
	logSoftmax512(g, newSM512(g, c, "lws512"), c, t, logWithStats)
}

func logWithStatsAVX2(g *gen, c *constTable, t *log64Table) {
	g.function("LogSoftmaxWithStatsAVX2", withStatsSignature,
		[]string{"AVX", "AVX2", "CMOV", "FMA3", "SSE", "SSE2"},
		"LogSoftmaxWithStatsAVX2 is LogSoftmaxWithStatsAVX512 for AVX2 and FMA3.",
	)
	logSoftmax256(g, newSM256(g, c, "lws256"), c, t, logWithStats)
}
