package main

// The Softmax kernel: SoftmaxRows, bit for bit fallback.SoftmaxRows
// (fallback/softmax.go and fallback/row.go). One call covers every row of a
// batch. Each row is read three times, as in the fallback:
//
//	pass 1  m = max(x). FMAX returns a NaN when either operand is one, so
//	        m is NaN exactly when the row holds a NaN, and the row is NaN;
//	        a +Inf m (and no NaN) gives a row of NaN, a -Inf m a row of
//	        zeros. c = m if |m| > 208, else 0; t_m = fma(m - c, log2e,
//	        1.5*2^23).
//	pass 2  per element: d = max(-320, x - c); t = fma(d, log2e, 1.5*2^23);
//	        nf = t - 1.5*2^23; r = fma(nf, -ln2Lo, fma(nf, -ln2Hi, d));
//	        q = fma(fma(fma(fma(c6, r, c5), r, c4), r, c3), r, c2);
//	        u = fma(r*r, q, r); s = 2^(n - nm), whose bits are
//	        max(bits(t) - bits(t_m) + 127, 0) << 23 (one UQSUB: bits(t)
//	        minus bits(t_m) - 127, saturated at 0, as unsigned). S is the
//	        sum of u*s + s in float64 in the fallback's lane order: per
//	        lane, a float64 partial over each block of 4 vectors (64
//	        elements), added to the lane's accumulator; then lanes i+8,
//	        i+4, i+2, i+1 folded into lane i. u is kept in dst, unless dst
//	        is src.
//	pass 3  a NaN S gives a row of NaN. 1/S is split into float32 hi + lo,
//	        and y = (hi + fma(u, hi, fma(u, lo, lo))) * s, with u loaded
//	        from dst, or recomputed when dst is src.
//
// Every NaN written is the canonical NaN 0x7fc00000. A row's last cols%16
// elements go through a buffer in the frame (copyTail), so that nothing
// outside the slices is read or written; in pass 2 the lanes past the row
// hold -Inf, whose d is -320 and s is 0, so they add +0 to partials that
// the fallback leaves alone, which changes no sum.
//
// Registers: V0-V15 hold a vector and its temporaries, V16-V23 the
// float64 block partials (two lanes each), V24-V30 the constants and the
// row's c and bias. The float64 lane accumulators live in the frame,
// touched once per block of 64 elements. Passes 1 and 2 are shared with
// LogSoftmaxRows and LogSumExp (logsoftmax.go), and all three passes with
// the fused kernels (fused.go), whose input z the passes compute where
// they load x (loadIn, scalarIn and loadTailIn).

// General registers of the row kernels.
const (
	rDst, rSrc, rRows, rCols = R(0), R(1), R(2), R(3)
	rP, rQ, rI               = R(4), R(5), R(6) // pointers into the row, and a count
	rInPlace                 = R(7)             // 1 if dst is src
	rTbl                     = R(8)             // the constant table
	rFrame                   = R(9)             // the frame's locals
	rTm                      = R(13)            // bits(t_m) of the row
)

// The frame of the row kernels: the float64 lane accumulators and two
// buffers for the last elements of a row.
const (
	accOff   = 0
	bufOff   = 128
	buf2Off  = 192
	rowFrame = 256
)

// part returns the register of the float64 block partial of lanes 2k and
// 2k+1.
func part(k int) V { return V(16 + k) }

// rowTables adds the row kernels' constants to t.
func rowTables(t *table) {
	expTable(t)
	t.splat("reduceLo", 0xc3a00000) // -320
	t.splat("negInf", negInfBits)
	t.splat("posInf", posInfBits)
	t.splat("nan", nanBits)
}

// rows emits the passes of the row kernels.
type rows struct {
	*file
	t     *table
	name  string // the prefix of the function's labels
	keepU bool   // pass 2 stores u in dst, unless dst is src
	z     *zin   // the fused kernels' input z (fused.go); nil for x
	args  func() // loads the arguments of rowsKernel; nil for func(dst, src []float32, rows, cols int)
	begin func() // emitted at the start of each row in rowsKernel, if not nil
	end   func() // emitted after each row in rowsKernel, before the next, if not nil
	rStep R      // the distance between rows, in elements: rCols unless set

	k                          expK
	reduceLo, cv, bias, negInf V // -320; the row's c and bits(t_m) - 127; -Inf
}

// newRows loads the constants from t and the frame's address.
func newRows(f *file, t *table, name string) *rows {
	s := &rows{file: f, t: t, name: name, k: expK{magic: 24, k: 25, c: 26},
		reduceLo: 27, cv: 28, bias: 29, negInf: 30, rStep: rCols}
	f.addr(rTbl, t.sym)
	for _, e := range []struct {
		name string
		v    V
	}{{"magic", s.k.magic}, {"k", s.k.k}, {"c", s.k.c}, {"reduceLo", s.reduceLo}, {"negInf", s.negInf}} {
		t.load(e.v, rTbl, e.name)
	}
	f.addSP(rFrame, 8)
	return s
}

func (s *rows) l(name string) string { return s.name + "_" + name }

// loadTail loads the row's last rI (1..15) elements at src into v, through
// the buffer at off in the frame: lanes past them hold what the buffer
// held. src is left alone.
func (s *rows) loadTail(v vec, src R, off int) {
	s.movR(R(12), src)
	s.addI(R(10), rFrame, off)
	s.copyTail(s.l("in"), R(10), R(12), rI, v[0], R(11))
	s.addI(R(10), rFrame, off)
	s.ld1(S4, v[0], 4, R(10), false)
}

// storeTail stores the first rI lanes of v at dst, through the buffer at
// off; tmp and tmp+1 are scratch. dst is advanced.
func (s *rows) storeTail(v vec, dst R, off int, tmp V) {
	s.addI(R(10), rFrame, off)
	s.st1(S4, v[0], 4, R(10), false)
	s.copyTail(s.l("out"), dst, R(10), rI, tmp, R(11))
}

// reduce emits d = max(-320, x - c) in place; a NaN stays NaN.
func (s *rows) reduce(x vec) {
	each(func(j int) { s.fsub(S4, x[j], x[j], s.cv) })
	each(func(j int) { s.fmax(S4, x[j], x[j], s.reduceLo) })
}

// roundT emits t = fma(d, log2e, 1.5*2^23).
func (s *rows) roundT(d, t vec) {
	each(func(j int) { s.mov(t[j], s.k.magic) })
	each(func(j int) { s.fmlaElem(t[j], d[j], s.k.k, 0) })
}

// expU emits the exponential of pass 2 for the reduced vector d: d holds
// u on exit, t holds t; a and b are scratch.
func (s *rows) expU(d, t, a, b vec) {
	s.expReduce(s.k, d, t, a, b)
	each(func(j int) { s.fmul(S4, a[j], d[j], d[j]) }) // r2 = r*r, rounded
	each(func(j int) { s.fmla(S4, d[j], a[j], b[j]) }) // u = r + r2*q
}

// scale turns t into s = 2^(n - nm) in place: max(bits(t) - (bits(t_m) -
// 127), 0) << 23, where bits(t) and bits(t_m) - 127 are positive int32s.
func (s *rows) scale(t vec) {
	each(func(j int) { s.uqsub(t[j], t[j], s.bias) })
	each(func(j int) { s.shl(t[j], t[j], 23) })
}

// pass1 emits the first pass over the row at rSrc of rCols elements: m,
// the row's kind, and for a finite m its c (cv), bits(t_m) (rTm) and
// bits(t_m) - 127 (bias). It jumps to onNaN if m is NaN, to onPosInf if
// m is +Inf, to onNegInf if m is -Inf, and falls through for a finite m.
func (s *rows) pass1(onNaN, onPosInf, onNegInf string) {
	m := s.rowMax()
	s.label(s.l("kind"))
	s.kind(m, V(21), onNaN, onPosInf, onNegInf)
}

// rowMax emits the max of pass 1 over the row at rSrc of rCols elements,
// NaN if the row holds one, -Inf for an empty row, and returns its
// register, V20. It ends with a branch to the label s.l("kind"), which
// follows it.
func (s *rows) rowMax() V {
	x := func(j int) V { return V(j) }
	acc := func(j int) V { return V(16 + j) }
	m := V(20)
	s.comment("Pass 1: m = max(x), NaN if the row holds one.")
	s.movR(rP, rSrc)
	s.startIn()
	s.movR(rI, rCols)
	each(func(j int) { s.mov(acc(j), s.negInf) })
	if !s.z.masked() { // with a mask, 16 lanes at a time: z needs scratch registers
		s.label(s.l("max64"))
		s.cmpI(rI, 64)
		s.bcond(LO, s.l("max16"))
		for b := 0; b < 4; b++ {
			s.ld1(S4, x(4*b), 4, rP, true)
		}
		for b := 0; b < 4 && s.z != nil; b++ {
			each(func(j int) { s.fmul(S4, x(4*b+j), x(4*b+j), scaleReg) })
		}
		each(func(j int) { s.fmax(S4, x(j), x(j), x(j+4)) })
		each(func(j int) { s.fmax(S4, x(j+8), x(j+8), x(j+12)) })
		each(func(j int) { s.fmax(S4, x(j), x(j), x(j+8)) })
		each(func(j int) { s.fmax(S4, acc(j), acc(j), x(j)) })
		s.subI(rI, rI, 64)
		s.b(s.l("max64"))
	}
	s.label(s.l("max16"))
	s.cmpI(rI, 16)
	s.bcond(LO, s.l("maxred"))
	s.loadIn(vecAt(x(0)), vecAt(x(4)))
	each(func(j int) { s.fmax(S4, acc(j), acc(j), x(j)) })
	s.subI(rI, rI, 16)
	s.b(s.l("max16"))
	s.label(s.l("maxred"))
	s.fmax(S4, acc(0), acc(0), acc(1))
	s.fmax(S4, acc(2), acc(2), acc(3))
	s.fmax(S4, acc(0), acc(0), acc(2))
	s.fmaxv(m, acc(0))
	s.label(s.l("maxtail"))
	s.cbz(rI, s.l("kind"))
	s.scalarIn(x(0), x(1), rP, rMaskP)
	s.fmaxS(m, m, x(0))
	s.subI(rI, rI, 1)
	s.b(s.l("maxtail"))
	return m
}

// kind emits the branches on the kind of the row of max m: to onNaN if m
// is NaN, to onPosInf if m is +Inf, to onNegInf if m is -Inf; for a
// finite m it falls through with its c (cv), bits(t_m) (rTm) and
// bits(t_m) - 127 (bias). tm is scratch.
func (s *rows) kind(m, tm V, onNaN, onPosInf, onNegInf string) {
	s.comment("The row's kind, from the bits of m: NaN, ±Inf, or finite.")
	bits, abs, lim := R(10), R(11), R(12)
	s.fmovToW(bits, m)
	s.andWI(abs, bits, 0x7fffffff)
	s.movW(lim, posInfBits)
	s.cmpW(abs, lim)
	s.bcond(HI, onNaN)
	s.bcond(EQ, s.l("inf"))
	s.comment("c = m if |m| > 208, else 0; t_m = fma(m - c, log2e, 1.5*2^23).")
	s.movW(lim, largeMaxBits)
	s.cmpW(abs, lim)
	s.bcond(HI, s.l("large"))
	s.zero(s.cv)
	s.fmaddS(tm, m, s.k.k, s.k.magic)
	s.fmovToW(rTm, tm)
	s.b(s.l("params"))
	s.label(s.l("inf"))
	s.tbnz(31, bits, onNegInf)
	s.b(onPosInf)
	s.label(s.l("large"))
	s.dupElem(S4, s.cv, m, 0)
	s.fmovToW(rTm, s.k.magic) // m - c = 0: t_m = 1.5*2^23
	s.label(s.l("params"))
	s.subWI(R(11), rTm, 127)
	s.dupW(s.bias, R(11))
}

// sumVector emits pass 2 for the 16 lanes at rP (advanced), or for the
// row's last rI lanes if tail: u, stored at rQ (advanced) with keepU unless
// dst is src, and the terms u*s + s added to the block partials.
func (s *rows) sumVector(tail bool) {
	x, t, a, b := vecAt(0), vecAt(4), vecAt(8), vecAt(12)
	if tail {
		s.comment("The row's last 1..15 lanes, -Inf after them.")
		each(func(j int) { s.mov(x[j], s.negInf) })
		s.addI(R(10), rFrame, bufOff)
		s.st1(S4, x[0], 4, R(10), false)
		s.loadTailIn(x, bufOff)
	} else {
		s.loadIn(x, t)
	}
	s.reduce(x)
	s.expU(x, t, a, b)
	if s.keepU {
		skip := s.uniqueLabel(s.l("nostore"))
		s.cbnz(rInPlace, skip)
		if tail {
			s.storeTail(x, rQ, bufOff, a[0])
		} else {
			s.st1(S4, x[0], 4, rQ, true)
		}
		s.label(skip)
	}
	s.scale(t)
	s.comment("u*s + s in float64, exact, added to the partials in lane order.")
	each(func(j int) { s.fcvtl(a[j], x[j]) })
	each(func(j int) { s.fcvtl2(x[j], x[j]) })
	each(func(j int) { s.fcvtl(b[j], t[j]) })
	each(func(j int) { s.fcvtl2(t[j], t[j]) })
	each(func(j int) { s.fmla(D2, b[j], a[j], b[j]) })
	each(func(j int) { s.fmla(D2, t[j], x[j], t[j]) })
	each(func(j int) {
		s.fadd(D2, part(2*j), part(2*j), b[j])
		s.fadd(D2, part(2*j+1), part(2*j+1), t[j])
	})
}

// accumulators emits f(first) with the eight float64 lane accumulators of
// the frame loaded in V0-V7, and stores them back if store.
func (s *rows) accumulators(store bool, f func()) {
	p := R(10)
	s.movR(p, rFrame)
	s.ld1(D2, 0, 4, p, true)
	s.ld1(D2, 4, 4, p, false)
	f()
	if store {
		s.movR(p, rFrame)
		s.st1(D2, 0, 4, p, true)
		s.st1(D2, 4, 4, p, false)
	}
}

// flush adds the block partials to the accumulators.
func (s *rows) flush() {
	s.accumulators(true, func() {
		for k := 0; k < 8; k++ {
			s.fadd(D2, V(k), V(k), part(k))
		}
	})
}

// zeroParts clears the block partials.
func (s *rows) zeroParts() {
	for k := 0; k < 8; k++ {
		s.zero(part(k))
	}
}

// pass2 emits the second pass over the row of a finite max and returns
// the register whose low float64 lane holds S: NaN exactly when the row
// holds a NaN. With keepU it stores u in dst, unless dst is src.
func (s *rows) pass2() V {
	if s.keepU {
		s.comment("Pass 2: S, and u kept in dst unless dst is src.")
	} else {
		s.comment("Pass 2: S.")
	}
	each(func(j int) { s.zero(V(j)) })
	s.movR(R(10), rFrame)
	s.st1(D2, 0, 4, R(10), true)
	s.st1(D2, 0, 4, R(10), false)
	s.movR(rP, rSrc)
	s.startIn()
	if s.keepU {
		s.movR(rQ, rDst)
	}
	s.movR(rI, rCols)
	s.blockSum(s.l("sum"), rI, s.zeroParts, s.flush, s.sumVector)

	s.comment("S: lane i += lane i+8, i+4, i+2, i+1.")
	s.accumulators(false, func() {
		each(func(j int) { s.fadd(D2, V(j), V(j), V(j+4)) })
		s.fadd(D2, 0, 0, 2)
		s.fadd(D2, 1, 1, 3)
		s.fadd(D2, 0, 0, 1)
		s.faddp(0, 0)
	})
	return 0
}

// pass3 emits a last pass over the row: out(tail) for each 16 lanes at rP
// of src and rQ of dst, which it advances, then for the row's last rI
// lanes with tail set. It ends with a jump to the label after.
func (s *rows) pass3(name, after string, out func(tail bool)) {
	s.movR(rP, rSrc)
	s.startIn()
	s.movR(rQ, rDst)
	s.movR(rI, rCols)
	s.vectors(s.l(name), rI, after, out)
}

// rowsKernel emits the body of a func(dst, src []float32, rows, cols int)
// kernel: for each row, passes 1 and 2, then out(S) for a row whose max is
// finite and whose S is not NaN; out must end with a jump to the label
// s.l("next"). A row whose max is NaN or +Inf, or whose S is NaN, is
// filled with the canonical NaN; a row whose max is -Inf with masked(v)'s
// vector.
func (s *rows) rowsKernel(masked func(v V), out func(sum V)) {
	if s.args != nil {
		s.args()
	} else {
		s.loadArg(rDst, "dst_base+0")
		s.loadArg(rSrc, "src_base+24")
		s.loadArg(rRows, "rows+48")
		s.loadArg(rCols, "cols+56")
	}
	s.cbz(rRows, s.l("ret"))
	if s.keepU {
		s.cmpR(rDst, rSrc)
		s.cset(EQ, rInPlace)
	}
	nanrow := s.l("nanrow")
	s.label(s.l("row"))
	if s.begin != nil {
		s.begin()
	}
	s.pass1(nanrow, nanrow, s.l("masked"))
	sum := s.pass2()
	s.fcmpD(sum, sum)
	s.bcond(VS, nanrow)
	out(sum)

	s.comment("A row of -Inf, or of NaN.")
	fill := V(0)
	s.label(s.l("masked"))
	masked(fill)
	s.b(s.l("fill"))
	s.label(nanrow)
	s.t.load(fill, rTbl, "nan")
	s.label(s.l("fill"))
	s.fillRow(fill, s.l("next"))

	s.label(s.l("next"))
	if s.end != nil {
		s.end()
	}
	s.nextRow()
	s.label(s.l("ret"))
	s.ret()
}

// fillRow writes the value in every lane of v over the row at rDst, and
// jumps to after.
func (s *rows) fillRow(v V, after string) {
	s.fill(v, after, func() {
		s.movR(rQ, rDst)
		s.movR(rI, rCols)
	})
}

// fill writes the value in every lane of v over the rI elements at rQ,
// which set sets, and jumps to after.
func (s *rows) fill(v V, after string, set func()) {
	fill := vecAt(v)
	for j := 1; j < 4; j++ {
		s.mov(fill[j], fill[0])
	}
	set()
	s.vectors(s.uniqueLabel(s.l("fill")), rI, after, func(tail bool) {
		if tail {
			s.storeTail(fill, rQ, bufOff, fill[0]+4)
		} else {
			s.st1(S4, fill[0], 4, rQ, true)
		}
	})
}

// nextRow advances rSrc and rDst by a row and loops to the label
// s.l("row") while rRows, which it counts down, is not zero.
func (s *rows) nextRow() {
	s.lslI(R(10), s.rStep, 2)
	s.addR(rSrc, rSrc, R(10))
	s.addR(rDst, rDst, R(10))
	s.z.nextRow(s)
	s.subI(rRows, rRows, 1)
	s.cbnz(rRows, s.l("row"))
}

// normalize emits y = (hi + fma(u, hi, fma(u, lo, lo))) * s for the
// vectors u and s, with hi and lo in every lane of their registers: u
// holds y on exit; w is scratch.
func (s *rows) normalize(u, sc, w vec, hi, lo V) {
	each(func(j int) { s.mov(w[j], lo) })
	each(func(j int) { s.fmla(S4, w[j], u[j], lo) }) // w = lo + u*lo
	each(func(j int) { s.fmla(S4, w[j], u[j], hi) }) // w += u*hi
	each(func(j int) { s.fadd(S4, u[j], w[j], hi) }) // y = hi + w
	each(func(j int) { s.fmul(S4, u[j], u[j], sc[j]) })
}

// The registers of the row's 1/S, split into float32 hi + lo, in every
// lane, for pass 3.
const hiReg, loReg = V(16), V(17)

// recip emits 1/S as float32 hi + lo (fallback's recip) for the sum S in
// the low lane of sum, into hiReg and loReg.
func (s *rows) recip(sum V) {
	s.comment("1/S as float32 hi + lo.")
	inv, h, l := V(1), V(2), V(3)
	s.fmovDImm(inv, 1)
	s.fdivD(inv, inv, sum)
	s.fcvtDS(h, inv)
	s.fcvtSD(l, h)
	s.fsubD(l, inv, l)
	s.fcvtDS(l, l)
	s.dupElem(S4, hiReg, h, 0)
	s.dupElem(S4, loReg, l, 0)
}

// softmaxPass3 emits pass 3 of SoftmaxRows, y = (1 + u) * (hi + lo) * s,
// over the row at rSrc into rDst, with u read from dst, or recomputed if
// rInPlace is not zero; then a jump to after. recip must have run.
func (s *rows) softmaxPass3(after string) {
	hi, lo := hiReg, loReg
	// load loads x for pass 3.
	load := func(x, tmp vec, tail bool) {
		if tail {
			s.loadTailIn(x, bufOff)
		} else {
			s.loadIn(x, tmp)
		}
	}
	// store stores y at rQ.
	store := func(y vec, tail bool, tmp V) {
		if tail {
			s.storeTail(y, rQ, buf2Off, tmp)
		} else {
			s.st1(S4, y[0], 4, rQ, true)
		}
	}
	// outStored is pass 3 for a vector whose u pass 2 left in dst.
	outStored := func(tail bool) {
		x, t, u, w := vecAt(0), vecAt(4), vecAt(8), vecAt(12)
		load(x, t, tail)
		s.reduce(x)
		s.roundT(x, t)
		s.scale(t)
		if tail {
			s.loadTail(u, rQ, buf2Off)
		} else {
			s.ld1(S4, u[0], 4, rQ, false)
		}
		s.normalize(u, t, w, hi, lo)
		store(u, tail, w[0])
	}
	// outRecompute is pass 3 for a row computed in place: u is
	// recomputed from x.
	outRecompute := func(tail bool) {
		x, t, a, b := vecAt(0), vecAt(4), vecAt(8), vecAt(12)
		load(x, t, tail)
		s.reduce(x)
		s.expU(x, t, a, b)
		s.scale(t)
		s.normalize(x, t, a, hi, lo)
		store(x, tail, a[0])
	}
	s.comment("Pass 3: y = (1 + u) * (hi + lo) * s; u from dst, or recomputed in place.")
	s.cbnz(rInPlace, s.l("re"))
	s.pass3("out", after, outStored)
	s.label(s.l("re"))
	s.pass3("re", after, outRecompute)
}

func generateSoftmax(f *file) {
	t := f.newTable("softmaxconst")
	rowTables(t)
	t.end()
	f.function("SoftmaxRowsNEON", "func(dst, src []float32, rows, cols int)", rowFrame, 64,
		"SoftmaxRowsNEON sets each of the rows rows of cols elements of dst to",
		"the softmax of the same row of src, with the bits of",
		"fallback.SoftmaxRows. The caller checks the arguments: rows*cols",
		"elements in each slice, cols > 0, and dst is src or does not overlap",
		"it. It requires ASIMD (NEON).",
	)
	s := newRows(f, t, "sm")
	s.keepU = true
	s.rowsKernel(func(v V) { s.zero(v) }, func(sum V) {
		s.recip(sum)
		s.softmaxPass3(s.l("next"))
	})
}
