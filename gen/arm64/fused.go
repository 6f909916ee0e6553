package main

import "fmt"

// The fused kernels: ScaledSoftmaxRows and ScaledLogSoftmaxRows, bit for
// bit fallback.ScaledSoftmaxRows and fallback.ScaledLogSoftmaxRows
// (fallback/fused.go). The fallback runs the row algorithm on
// z = fma(scale, x, mask), rounded once (scale*x, one multiply, without a
// mask); these kernels are SoftmaxRows's (softmax.go) and
// LogSoftmaxRows's (logsoftmax.go) with every load of x replaced by the
// computation of z (zin below): in pass 1, pass 2 and pass 3. z is never
// stored; Softmax's pass 2 keeps u in dst as for SoftmaxRows, and pass 3
// recomputes z from src and the mask. FMLA and FMUL round once, as the
// fallback's fma32 and float32 product do.
//
// The mask is one row for every row, or one row per row; there is one
// kernel with a mask and one without. The mask has a pointer of its own,
// rMaskP, which each pass sets to the row's mask (rMaskRow) where it sets
// rP to the row of src, and advances as it advances rP; the next row's
// mask is rMaskRow plus rMaskStep bytes, 0 for one row for every row.
//
// Lanes past the end of a row: SoftmaxRows's pass 2 loads them as -Inf,
// through a buffer in the frame; z computed from -Inf (or from zeros) may
// be NaN, for a zero or NaN scale. So the last 1..15 elements of z are
// computed one at a time (scalarIn) into the buffer, over the -Inf of pass
// 2, and the lanes past the row keep what the buffer held. Pass 1 reads
// the last elements one at a time anyway, and pass 3 does not store the
// lanes past the row.
//
// The file also holds the other kernels of fallback/fused.go and
// fallback/stats.go that run on the same passes, each described above its
// generator: CausalSoftmaxRows, StatsOf, Covered, and SoftmaxWithStats and
// LogSoftmaxWithStats.

// Registers of the fused kernels, besides the row kernels'.
const (
	scaleReg  = V(31) // scale in every lane
	rMaskRow  = R(19) // the row's mask
	rMaskP    = R(20) // the pass's pointer into the row's mask
	rMaskStep = R(21) // bytes from one row's mask to the next's
)

// zin tells the passes that their input is z, and whether it has a mask.
type zin struct{ mask bool }

// masked reports whether z has a mask; false for x.
func (z *zin) masked() bool { return z != nil && z.mask }

// nextRow emits the step of the mask to the next row's.
func (z *zin) nextRow(s *rows) {
	if z.masked() {
		s.addR(rMaskRow, rMaskRow, rMaskStep)
	}
}

// startIn emits the start of a pass's input at rP: the mask pointer set
// to the row's mask.
func (s *rows) startIn() {
	if s.z.masked() {
		s.movR(rMaskP, rMaskRow)
	}
}

// loadIn loads the kernel's input, x or z, of the 16 lanes at rP into x,
// advancing rP (and rMaskP); tmp is scratch.
func (s *rows) loadIn(x, tmp vec) {
	switch {
	case s.z == nil:
		s.ld1(S4, x[0], 4, rP, true)
	case !s.z.mask:
		s.ld1(S4, x[0], 4, rP, true)
		each(func(j int) { s.fmul(S4, x[j], x[j], scaleReg) })
	default:
		s.ld1(S4, x[0], 4, rMaskP, true)
		s.ld1(S4, tmp[0], 4, rP, true)
		each(func(j int) { s.fmla(S4, x[j], tmp[j], scaleReg) }) // z = mask + x*scale
	}
}

// scalarIn loads the kernel's input of the element at p (and the mask's
// at mp) into the low lane of d, advancing p (and mp); tmp is scratch.
// The other lanes are unspecified.
func (s *rows) scalarIn(d, tmp V, p, mp R) {
	switch {
	case s.z == nil:
		s.ldrSPost(d, p)
	case !s.z.mask:
		s.ldrSPost(d, p)
		s.fmul(S4, d, d, scaleReg)
	default:
		s.ldrSPost(tmp, p)
		s.ldrSPost(d, mp)
		s.fmla(S4, d, tmp, scaleReg)
	}
}

// loadTailIn loads the kernel's input of the row's last rI (1..15)
// elements at rP into v, through the buffer at off in the frame: lanes
// past them hold what the buffer held. rP and rMaskP are left alone.
func (s *rows) loadTailIn(v vec, off int) {
	if s.z == nil {
		s.loadTail(v, rP, off)
		return
	}
	buf, n, p, mp, w := R(10), R(11), R(12), R(14), R(15)
	loop := s.uniqueLabel(s.l("zin"))
	s.addI(buf, rFrame, off)
	s.movR(n, rI)
	s.movR(p, rP)
	if s.z.mask {
		s.movR(mp, rMaskP)
	}
	s.label(loop)
	s.scalarIn(v[0], v[1], p, mp)
	s.fmovToW(w, v[0])
	s.strWPost(w, buf)
	s.subI(n, n, 1)
	s.cbnz(n, loop)
	s.addI(buf, rFrame, off)
	s.ld1(S4, v[0], 4, buf, false)
}

// scaledKind tells the fused kernels apart: Softmax or LogSoftmax, with a
// mask or without one.
type scaledKind struct{ log, masked bool }

// name returns the kernel's name.
func (k scaledKind) name() string {
	n := "ScaledSoftmaxRows"
	if k.log {
		n = "ScaledLogSoftmaxRows"
	}
	if !k.masked {
		n += "NoMask"
	}
	return n + "NEON"
}

// doc returns the kernel's documentation.
func (k scaledKind) doc() []string {
	name := k.name()
	switch {
	case !k.masked:
		return []string{name + " is " + scaledKind{k.log, true}.name() + " without a mask: z = scale*x."}
	case k.log:
		return []string{name + " is ScaledSoftmaxRowsNEON for LogSoftmax,",
			"with the bits of fallback.ScaledLogSoftmaxRows."}
	}
	return []string{name + " sets each of the rows rows of cols elements of dst to the",
		"softmax of z = fma(scale, x, m) for the same row x of src, and m the",
		"row of mask, with the bits of fallback.ScaledSoftmaxRows: mask holds",
		"one row, added to every row, or rows rows. The caller checks the",
		"arguments: rows*cols elements in dst and src, cols > 0, dst is src",
		"or does not overlap it, and mask does not overlap dst. It requires",
		"ASIMD (NEON).",
	}
}

// loadScale emits the load of the float32 argument at name(FP) into every
// lane of scaleReg.
func (s *rows) loadScale(name string) {
	s.pseudo(fmt.Sprintf("FMOVS %s(FP), %s", name, scaleReg.f()))
	s.dupElem(S4, scaleReg, scaleReg, 0)
}

func generateFused(f *file) {
	t := f.newTable("fusedconst")
	rowTables(t)
	logTables(t)
	t.end()
	for _, log := range []bool{false, true} {
		for _, masked := range []bool{true, false} {
			scaled(f, t, scaledKind{log, masked})
		}
	}
	causal(f, t)
	statsOf(f, t)
	covered(f, t)
	withStats(f, t, false)
	withStats(f, t, true)
}

func scaled(f *file, t *table, k scaledKind) {
	sig, args := "func(dst, src []float32, scale float32, rows, cols int)", 72
	if k.masked {
		sig, args = "func(dst, src, mask []float32, scale float32, rows, cols int)", 96
	}
	f.function(k.name(), sig, rowFrame, args, k.doc()...)
	prefix := map[scaledKind]string{{false, true}: "ss", {false, false}: "ssn", {true, true}: "sls", {true, false}: "slsn"}[k]
	s := newRows(f, t, prefix)
	s.z = &zin{mask: k.masked}
	s.args = func() {
		s.loadArg(rDst, "dst_base+0")
		s.loadArg(rSrc, "src_base+24")
		if !k.masked {
			s.loadScale("scale+48")
			s.loadArg(rRows, "rows+56")
			s.loadArg(rCols, "cols+64")
			return
		}
		s.loadScale("scale+72")
		s.loadArg(rRows, "rows+80")
		s.loadArg(rCols, "cols+88")
		s.comment("The mask's step per row: 0 for one row for every row, else 4*cols.")
		s.loadArg(rMaskRow, "mask_base+48")
		s.loadArg(R(10), "mask_len+56")
		s.lslI(rMaskStep, rCols, 2)
		s.eorR(R(11), R(11), R(11))
		s.cmpR(R(10), rCols)
		s.csel(EQ, rMaskStep, R(11), rMaskStep)
	}
	if k.log {
		s.logRows()
		return
	}
	s.keepU = true
	s.rowsKernel(func(v V) { s.zero(v) }, func(sum V) {
		s.recip(sum)
		s.softmaxPass3(s.l("next"))
	})
}

// The causal kernel, CausalSoftmaxRows: row r of the batch is the
// ScaledSoftmaxRows row without a mask of its first k = offset+r+1
// elements (clamped to [0, cols]), followed by cols-k zeros. It is the
// kernel without a mask whose row length rCols is k, set at the start of
// each row, while the rows are rStep = cols elements apart; a row of k = 0
// skips the passes. After the row, the rest of it is zeroed. The caller
// clamps offset to [-rows-1, cols], which changes no k and keeps
// offset+r+1 from overflowing.

// Registers of the causal kernel.
const (
	rFull = R(22) // cols, the rows' length
	rNext = R(23) // the next row's offset+r+1
)

func causal(f *file, t *table) {
	f.function("CausalSoftmaxRowsNEON", "func(dst, src []float32, scale float32, rows, cols, offset int)", rowFrame, 80,
		"CausalSoftmaxRowsNEON sets row r of the rows rows of cols elements",
		"of dst to the softmax of scale*x over the first k elements of row r",
		"of src, k = offset+r+1 clamped to [0, cols], and its other elements",
		"to 0, with the bits of fallback.CausalSoftmaxRows. The caller checks",
		"the arguments (rows*cols elements in each slice, cols > 0, dst is",
		"src or does not overlap it) and clamps offset to [-rows-1, cols].",
		"It requires ASIMD (NEON).",
	)
	s := newRows(f, t, "cs")
	s.z = &zin{}
	s.keepU = true
	s.rStep = rFull
	s.args = func() {
		s.loadArg(rDst, "dst_base+0")
		s.loadArg(rSrc, "src_base+24")
		s.loadScale("scale+48")
		s.loadArg(rRows, "rows+56")
		s.loadArg(rFull, "cols+64")
		s.loadArg(rNext, "offset+72")
		s.addI(rNext, rNext, 1)
	}
	s.begin = func() {
		s.comment("k = clamp(offset+r+1, 0, cols), this row's length.")
		zero := R(10)
		s.movR(rCols, rNext)
		s.addI(rNext, rNext, 1)
		s.eorR(zero, zero, zero)
		s.cmpI(rCols, 0)
		s.csel(GT, rCols, rCols, zero)
		s.minLen(rCols, rFull)
		s.cbz(rCols, s.l("zeros"))
	}
	s.end = func() {
		s.label(s.l("zeros"))
		s.comment("Zeros after the row's first k elements.")
		s.zero(0)
		s.fill(0, s.l("step"), func() {
			s.lslI(R(10), rCols, 2)
			s.addR(rQ, rDst, R(10))
			s.subR(rI, rFull, rCols)
		})
		s.label(s.l("step"))
	}
	s.rowsKernel(func(v V) { s.zero(v) }, func(sum V) {
		s.recip(sum)
		s.softmaxPass3(s.l("next"))
	})
}

// statsOf emits StatsOf, passes 1 and 2 of a single row: it returns the
// row's max and S for a finite max, (+Inf, +Inf) for a +Inf max, (-Inf, 0)
// for an empty row or one of -Inf, and (NaN, NaN) for a row with a NaN
// (pass 1's max is NaN exactly then). Package kernels gives a max of zero
// the sign of the row's first zero, as fallback.StatsOf's max has (FMAX
// keeps the sign of one of two zeros, and the lanes see the zeros in
// another order).
func statsOf(f *file, t *table) {
	f.function("StatsOfNEON", "func(src []float32) (max float32, sum float64)", rowFrame, 40,
		"StatsOfNEON returns the max and S of passes 1 and 2 of the row",
		"algorithm over src, from which package kernels builds",
		"fallback.StatsOf's statistics. It requires ASIMD (NEON).",
	)
	s := newRows(f, t, "st")
	s.loadArg(rSrc, "src_base+0")
	s.loadArg(rCols, "src_len+8")
	s.cbz(rCols, s.l("neginf"))
	s.pass1(s.l("nan"), s.l("posinf"), s.l("neginf"))
	s.storeRetS(20, "max+24") // pass 1's m, which pass 2 overwrites
	sum := s.pass2()
	s.storeRetD(sum, "sum+32")
	s.ret()
	m, sm := V(0), V(1)
	for _, e := range []struct{ label, max string }{{"posinf", "posInf"}, {"neginf", "negInf"}, {"nan", "nan"}} {
		s.label(s.l(e.label))
		s.t.load(m, rTbl, e.max)
		s.storeRetS(m, "max+24")
		if e.label == "neginf" {
			s.zero(sm)
		} else {
			s.fcvtSD(sm, m)
		}
		s.storeRetD(sm, "sum+32")
		s.ret()
	}
}

// covered emits Covered, the check of SoftmaxWithStats and
// LogSoftmaxWithStats that the statistics cover the chunk src: pass 1's
// max of src, NaN if src holds one, compared with the statistics' max.
// The two are compared in float64, exactly: src is covered if its max
// is not NaN and not above max (a NaN max is above nothing).
func covered(f *file, t *table) {
	f.function("CoveredNEON", "func(src []float32, max float32) bool", rowFrame, 33,
		"CoveredNEON reports whether src holds no NaN and no element above max.",
		"It requires ASIMD (NEON).",
	)
	s := newRows(f, t, "cov")
	s.loadArg(rSrc, "src_base+0")
	s.loadArg(rCols, "src_len+8")
	m := s.rowMax()
	s.label(s.l("kind"))
	mx, ok := V(21), R(10)
	s.pseudo(fmt.Sprintf("FMOVS max+24(FP), %s", mx.f()))
	s.fcvtSD(m, m)
	s.fcvtSD(mx, mx)
	s.eorR(ok, ok, ok)
	s.fcmpD(m, m)
	s.bcond(VS, s.l("ret")) // src holds a NaN
	s.fcmpD(m, mx)
	s.cset(GT, ok) // an element above max; false if max is NaN
	s.eorI(ok, ok, 1)
	s.label(s.l("ret"))
	s.pseudo(fmt.Sprintf("MOVB %s, ret+32(FP)", ok.g()))
	s.ret()
}

// withStats emits SoftmaxWithStats, or LogSoftmaxWithStats if log: pass 3
// of SoftmaxRows (u recomputed, as in place) or LogSoftmaxRows over src
// into dst, for a row of the finite maximum max and sum S, with c,
// bits(t_m) and 1/S or l computed from them as the rows compute them from
// pass 1's max and pass 2's sum. The special statistics (NaN, +Inf, a sum
// of 0) are filled in Go.
func withStats(f *file, t *table, log bool) {
	name, prefix := "SoftmaxWithStatsNEON", "ws"
	doc := []string{name + " sets dst to pass 3 of the row algorithm over",
		"src for a row of the finite maximum max and sum S, with the bits of",
		"fallback.SoftmaxWithStats for statistics that cover src, with",
		"a finite Max and a finite Sum above 0. The caller checks the",
		"arguments: len(dst) = len(src) > 0, dst is src or does not overlap",
		"it. It requires ASIMD (NEON).",
	}
	if log {
		name, prefix = "LogSoftmaxWithStatsNEON", "lws"
		doc = []string{name + " is SoftmaxWithStatsNEON for LogSoftmax,",
			"with the bits of fallback.LogSoftmaxWithStats."}
	}
	f.function(name, "func(dst, src []float32, max float32, sum float64)", rowFrame, 64, doc...)
	s := newRows(f, t, prefix)
	m, sum := V(20), V(22)
	s.loadArg(rDst, "dst_base+0")
	s.loadArg(rSrc, "src_base+24")
	s.loadArg(rCols, "src_len+32")
	s.pseudo(fmt.Sprintf("FMOVS max+48(FP), %s", m.f()))
	s.pseudo(fmt.Sprintf("FMOVD sum+56(FP), %s", sum.f()))
	ret := s.l("ret")
	s.kind(m, V(21), ret, ret, ret) // max is finite
	if log {
		s.comment("l = float64(nm)*ln2 + log64(S).")
		l := s.logSum(sum)
		s.dupElem(D2, lReg, l, 0)
		s.fcvtSD(c64Reg, s.cv)
		s.dupElem(D2, c64Reg, c64Reg, 0)
		s.comment("Pass 3: y = float32(min((float64(x) - float64(c)) - l, 0)).")
		s.pass3("out", ret, s.logOut)
	} else {
		s.movR(rInPlace, rDst) // not zero: pass 3 recomputes u
		s.recip(sum)
		s.softmaxPass3(ret)
	}
	s.label(ret)
	s.ret()
}
