package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// The Softmax kernels: SoftmaxRows, bit for bit fallback.SoftmaxRows
// (fallback/softmax.go and fallback/row.go). One call covers every row of a
// batch, so that short rows pay no call per row. Each row is read three
// times, as in the fallback:
//
//	pass 1  m = max(x). A NaN or +Inf max gives a row of NaN; a -Inf max a
//	        row of zeros, or of NaN if the row holds one. c = m if
//	        |m| > 208, else 0; bias = 127 - bits(fma(m - c, log2e, 1.5*2^23)).
//	pass 2  per element: d = max(-320, x - c); t = fma(d, log2e, 1.5*2^23);
//	        nf = t - 1.5*2^23; r = fma(nf, -ln2Lo, fma(nf, -ln2Hi, d));
//	        q = fma(fma(fma(fma(c6, r, c5), r, c4), r, c3), r, c2);
//	        u = fma(r*r, q, r); s = 2^(n - nm), whose bits are
//	        max(bits(t) + bias, 0) << 23. S is the sum of u*s + s in
//	        float64 in the fallback's lane order: per lane, a float64
//	        partial over each block of 4 vectors, added to the lane's
//	        accumulator; then lanes i+8, i+4, i+2, i+1 folded into lane i.
//	        u is kept in dst, unless dst is src.
//	pass 3  a NaN S gives a row of NaN. 1/S is split into float32 hi + lo,
//	        and y = (hi + fma(u, hi, fma(u, lo, lo))) * s, with u loaded
//	        from dst, or recomputed when dst is src; s recomputed from x.
//	        SoftmaxRowsAVX512 loads s, and u in place, from where pass 2
//	        kept them (keepS).
//
// Every NaN written is the canonical NaN 0x7fc00000. Lanes past the end of
// a row are loaded as zeros and never stored; in pass 2 their s is zero, so
// they add +0 or -0 to partials that the fallback leaves alone, which
// changes no sum (S >= 1/sqrt2 cannot be zero).
//
// Passes 1 and 2 are the fallback's planRow and rowSum, which LogSoftmax,
// LogSumExp and CrossEntropy share; so do the generators: sm512 and sm256
// below emit them (pass1, pass2) and the loop over the rows of a batch
// (rowsKernel), and each kernel adds its own last pass. logsoftmax.go holds
// the LogSoftmaxRows and LogSumExp kernels.

// softmaxConsts are the kernels' constants; their values and meaning are
// those of fallback/exp.go and fallback/row.go.
var softmaxConsts = []constant{
	{"log2e", 0x3fb8aa3b},
	{"magic", 0x4b400000},    // roundMagic = 1.5*2^23, also roundMagicBits
	{"negLn2Hi", 0xbf317218}, // -ln2Hi
	{"negLn2Lo", 0x3102e308}, // -ln2Lo
	{"c6", 0x3ab4b71a},
	{"c5", 0x3c091fbc},
	{"c4", 0x3d2aad09},
	{"c3", 0x3e2aaa45},
	{"c2", 0x3efffffd},
	{"reduceLo", 0xc3a00000}, // -320
	{"negInf", 0xff800000},
	{"posInf", 0x7f800000},
	{"one", 0x3f800000},
	{"nan", 0x7fc00000},
	{"bias127", 127}, // int32
	{"zero", 0},
}

// largeMaxBits are the bits of the fallback's largeMax, 208.
const largeMaxBits = 0x43500000

// jumpIfLarge emits a jump to large if |m| > largeMax, for a float32 m
// that is not NaN in the low lane of an xmm register. It compares the
// bits of |m| as integers, which order as the numbers do: a branch on
// integer flags, which the CPU predicts, so that c and t_m need not wait
// for the compare.
func (g *gen) jumpIfLarge(m reg.Register, large string) {
	mb := g.GP32()
	g.VMOVD(m, mb)
	g.ANDL(U32(0x7fffffff), mb)
	g.CMPL(mb, U32(largeMaxBits))
	g.JHI(LabelRef(large))
}

func generateSoftmax(g *gen) {
	c := g.constTable("softmaxconst", softmaxConsts)
	softmaxAVX512(g, c)
	softmaxAVX2(g, c)
	softmaxLongAVX2(g, c)
}

// sm512 emits the row passes of the AVX-512 kernels: the constants it
// keeps in registers for the whole call, the registers of the current row,
// and the kernel's pointers.
//
// Registers: avo's allocator may give any virtual register one of X16-X31
// (Y16-Y31, Z16-Z31) when the lower ones are taken, and the assembler then
// encodes the instruction with EVEX. For a legacy SSE or VEX-only
// instruction (UCOMISS, VEXTRACTF128) that fails to assemble; for an
// xmm or ymm form of a packed instruction (VMAXPS Y, VANDPS X) it
// silently requires AVX512VL or AVX512DQ, which the kernels do not check.
// So the AVX-512 kernels use only zmm forms of packed instructions,
// scalar AVX forms (VADDSD, VUCOMISS, VMOVD, ...), and the conversions
// and extractions between zmm and ymm that AVX-512F has (VCVTPS2PD,
// VEXTRACTF64X4, ...); the horizontal reductions work on whole zmm
// registers.
type sm512 struct {
	g    *gen
	c    *constTable
	k    map[string]reg.VecVirtual
	name string // the prefix of the function's labels

	zero  reg.VecVirtual // integer zeros
	cv    reg.VecVirtual // the row's c, every lane
	biasv reg.VecVirtual // the row's bias, every lane (int32)

	// keepU makes pass 2 store u in dst, unless dst is src (inPlace is
	// nonzero; also when hooks.nilDst and dst is nil).
	keepU   bool
	inPlace reg.GPVirtual
	hooks   rowHooks     // what rowsKernel adds to its loop for the kernel
	z       *zin         // if not nil, the passes read z where they read x (fused.go)
	m       reg.Register // after pass 1, the row's max in the low lane (StatsOf)

	dst, src reg.GPVirtual // the current row (dst unused by LogSumExp)
	cols     reg.GPVirtual // the row's length
	km       reg.Register  // the mask of a row's last cols%16 lanes
	p, q, i  reg.GPVirtual // source and destination pointers, and a count

	// tailPipe runs the row's last block of cols%64 elements through the
	// pipeline of pass 2 (see pipeline2), its last vector under kl: the
	// row's last cols%16 lanes, or all 16; with z, the last vector is z
	// under kl, -Inf past the row.
	tailPipe bool
	kl       reg.Register

	// zeroC emits passes 2 and 3 twice, and runs the copy without the
	// subtraction of c when c is 0: for a row whose max is at most 208
	// in magnitude, the common case, x - c is x (-0 and NaN included).
	// noSub is set while reduce emits that copy. Pass 2 is bound by its
	// operations (see pipeA), and one fewer a vector measured (ns per
	// element, thread CPU time, the least of 300 runs, batches of 1 MiB)
	// 0.35 against 0.37 at 100 columns, 0.35 against 0.36 at 64, 0.29
	// against 0.31 at 128 and at 200, 0.50 against 0.52 at 50, 0.28-0.30
	// against 0.30-0.31 at 1024.
	zeroC, noSub bool

	// halfTail, with tailPipe, emits the row's last block twice more, for
	// a last vector of at most 8 elements (cols%16 in 1..8): stage C then
	// converts and adds only its lanes 0-7, whose terms are the only ones
	// not +0. Measured (ns per element, thread CPU time, the least of 300
	// runs, batches of 1 MiB): 0.35 against 0.36 at 100 columns, 0.38
	// against 0.39 at 72, 0.32 against 0.33 at 136, 0.30 against 0.31 at
	// 200.
	halfTail bool
	acc      [2]reg.VecVirtual // with ahead, S's lane accumulators for out

	// ahead runs pass 1 a row ahead (see rowsKernel), and SoftmaxRows's
	// pass 3 of the pending row before the current row's 1/S (see
	// softmaxRows). Of the row hooks it takes begin only with peek, and
	// special (the scaled and causal kernels, fused.go).
	ahead bool

	// prefetch makes pass 2 prefetch the next row's x, and with z its
	// mask, a block for each block it takes: the next row's pass 1 then
	// finds them in cache (fused.go). Rows of more than prefetchCols
	// elements prefetch their own blocks instead, which are there
	// already: the next row would evict the current one from L2 before
	// pass 3. pfBytes is the distance, 4*cols or 0.
	prefetch bool
	pfBytes  reg.GPVirtual

	// long, for SoftmaxRowsAVX512 alone, gives rows of at least longCols
	// elements, which no cache holds, their own pass 3 (see longRows).
	long bool
	// fuse, without ahead (ScaledSoftmaxLongRowsAVX512, fused.go), runs
	// every row's passes 1 and 2 as the fused pass of a long row (see
	// fused), u kept in dst as pass 2 keeps it, the row's passes 1 and 2
	// running after it where its guess fails.
	fuse bool
	// back runs pass 3 of a row of more than prefetchCols elements from
	// its end to its start (loop3.back, with the measurements), where
	// the pass before it left the row's last blocks in L2.
	back bool
	// minW, with fuse (ScaledSoftmaxLongRowsAVX512), has the fused pass
	// check its terms on w = n - G + 127, the unsigned min of which stage
	// B takes (one VPMINUD a vector), rather than on the min of the
	// elements above reduceLo (a compare and a masked min): see fused.
	// Lower quartile of 150 alternating runs, against SoftmaxRowsAVX512,
	// one mask row per row: 1.12 against 1.15x at 8192 columns, 1.14
	// against 1.18x at 65536, 1.15 against 1.18x at 128256; one for every
	// row 1.08 against 1.10x, 1.09 against 1.11x, 1.10 against 1.15x.
	minW bool
	// noPfLong, with fuse and prefetch: the fused pass of a row longer
	// than prefetchCols skips the prefetch of its own blocks, which
	// pfBytes = 0 makes of prefetchNext (a test and a branch a block).
	// Measured with minW (as back): 1.07 against 1.10x at 65536 columns,
	// 1.16x at 128256 either way.
	noPfLong bool
	// nt, while a pass 3 of longOut is emitted, makes store write whole
	// vectors with VMOVNTPS.
	nt bool
	// span, while the fused pass of a long row is emitted, holds the
	// running max and min of x, which stage A updates.
	span *[2]reg.VecVirtual

	// keepS, with keepU and ahead (SoftmaxRowsAVX512, and the scaled and
	// causal row kernels of fused.go, whose pass 3 then computes no z), makes pass 2 keep
	// s as well as u when dst is not src and the rows have at most sCols
	// elements: stage B stores it to one of two buffers in the frame, a
	// row's at the same offsets as its u in dst, and pass 3 loads it
	// there instead of recomputing it from x (see sCols). In place, for
	// rows of fewer than sCols/2 elements, pass 2 keeps u in the buffer too,
	// s sfInS bytes after it, and pass 3 recomputes neither. sf is the
	// frame's part for it; sDelta, during pass 2, where s goes relative
	// to u, or 0 where s is not kept (its stores are then skipped).
	keepS  bool
	sf     Mem
	sDelta reg.GPVirtual

	// nextMax, with ahead (SoftmaxRowsAVX512 and the scaled row kernels,
	// fused.go, where stage A computes the next row's z: its x, scaled,
	// plus its mask row at nextMoff), finds the next row's max
	// in pass 2 of the current row rather than in a loop after it: stage
	// A takes the max of the next row's vector at the offset of the one
	// it loads, into two accumulators (nm, m's register and another;
	// with the row's last vector under kl), so that the ahead max only
	// folds them (see pipeA). On the last row the next row is the row
	// itself (nextOff is 0). rows and bytes are rowsKernel's. Pass 2
	// is bound by its vector operations, and the max loop's own were a
	// second pass over the next row, its loads, branches and 3 more
	// maxes. Measured (ns per element, thread CPU time, the lower
	// quartile of 600-800 runs alternating with the kernel before, on top
	// of keepS, batches of 1 MiB): 0.312 against 0.316 at 100 columns,
	// 0.314 against 0.322 at 64, 0.258 against 0.261 at 128, 0.260
	// against 0.268 at 200, 0.255 against 0.269 at 300, 0.234 against
	// 0.259 at 1024, 0.259 against 0.296 at 4096, 0.263 against 0.298 at
	// 32000.
	nextMax     bool
	nm          []reg.VecVirtual
	nm1         reg.VecVirtual
	nextOff     reg.GPVirtual
	nextMoff    reg.GPVirtual // with a mask (fused.go), the next row's mask's offset from this row's x
	rows, bytes reg.GPVirtual
	mAhead      reg.VecVirtual

	// zNext, with nextMax and tailPipe (the scaled row kernels,
	// fused.go), stores in dst the z that pass 2 computes of the next
	// row, and the z that pass 1 computes of a row whose max it finds
	// (the first row, and the row after a row that pass 1 finds
	// special), when dst is not src: pass 2 then loads the row's z from
	// its dst, where it stores u, rather than computing it again from x
	// and the mask (see scaledAVX512). The last vector of a row of
	// cols%16 > 0 is neither stored nor loaded: pass 2 computes its z
	// from x and the mask, as before. zDst is set while the code for
	// that case is emitted: pass 1 stores z at q, and stage A loads z at
	// q and stores the next row's at q + nextOff.
	zNext, zDst bool
	// parts, if set, are the block partials of pipeline2 (lo and hi),
	// shared by the copies of pass 2 that zNext emits: avo takes the
	// register of a zeroing idiom (VPXORQ v, v, v) as read, so that
	// each copy's own would be live, in avo's eyes, from the function's
	// entry to its first zeroing, and too many vector registers would.
	parts [2]reg.VecVirtual

	// nmAlias, with nextMax (the scaled row kernels, fused.go), runs
	// pass 2 without nextMax, and the next row's max in the loop after
	// it (ahead), in place on rows of a power of 2 elements, nmAliasCols
	// or more: there pass 2's loads of the next row, a power of 2 of at
	// least 4 KiB from the row's, made the kernels 1.2-1.4x slower (see
	// scaledAVX512; not at 3072 columns, 12 KiB apart). nmSkip is the
	// frame's flag for it: -1 for those calls, 0 for the others.
	// Those figures may not be the kernel's: on AMD EPYC Zen 3 (AVX2),
	// SoftmaxRowsAVX2 in place read 1.14-1.19x its out-of-place time at
	// 1024-8192 columns, and 1.00-1.01x at 1000 and 3000, only where each
	// call's input was refilled by one copy of 1 MiB or more (a batch of
	// 2^18/cols rows is exactly 1 MiB at powers of 2): Go's copy stores
	// that size non-temporally, so the input came from DRAM. Refilled in
	// two halves, in place and out of place read the same (0.734 against
	// 0.737 at 1024, 0.702 against 0.722 at 8192), and nmAlias given to
	// SoftmaxRowsAVX2 measured 1.03-1.10x its time with cached input at
	// 512-8192 columns, 1.18-1.24x with input from DRAM at 1024-8192
	// (thread CPU time, the lower quartile of 200 calls, the median of
	// 10 alternating runs), so it stays sm512's. Re-measure these with
	// a cached copy on an AVX-512 machine.
	nmAlias bool
	nmSkip  Mem
}

// nmAliasCols is the shortest row of nmAlias.
const nmAliasCols = 1024

// longCols is the shortest row that the long-row passes of
// SoftmaxRowsAVX512 take (see longRows).
const longCols = 1 << 18

// inPlaceLong is the value of inPlace for a call whose rows are long
// (see longRows): nonzero, so that pass 2 keeps no u.
const inPlaceLong = 2

// pfNT is how far ahead of x pass 3 of a long row prefetches, in bytes.
// Measured (8 rows of 4,194,304 columns, as at longRows): 0.499-0.513
// against 0.507-0.526 ns per element without the prefetches; 4096 and
// 8192 measured the same as 2048 or worse. The fused pass gained nothing
// from prefetching its own blocks 2048 bytes ahead.
const pfNT = 2048

// prefetchCols is the longest row whose pass 2 prefetches the next one.
const prefetchCols = 32768

// newSM512 loads the constants and allocates the row's registers. name
// prefixes the labels of the function.
func newSM512(g *gen, c *constTable, name string) *sm512 {
	s := &sm512{g: g, c: c, k: map[string]reg.VecVirtual{}, name: name}
	for _, n := range []string{"log2e", "magic", "negLn2Hi", "negLn2Lo",
		"reduceLo"} {
		s.k[n] = g.ZMM()
		g.VBROADCASTSS(c.scalar(n), s.k[n])
	}
	s.zero = g.ZMM()
	g.VPXORD(s.zero, s.zero, s.zero)
	s.cv, s.biasv = g.ZMM(), g.ZMM()
	s.p, s.q, s.i = g.GP64(), g.GP64(), g.GP64()
	return s
}

// label returns the function's label for name.
func (s *sm512) label(name string) string { return s.name + "_" + name }

// setCols sets the row length and the mask of the row's last cols%16 lanes.
func (s *sm512) setCols(cols reg.GPVirtual) {
	g := s.g
	s.cols = cols
	km := g.K()
	tail, tbl := g.GP64(), g.GP64()
	g.MOVQ(cols, tail)
	g.ANDQ(U32(15), tail)
	g.LEAQ(g.tailMask16(), tbl)
	g.KMOVW(Mem{Base: tbl, Index: tail, Scale: 2}, km)
	s.km = km
	if s.tailPipe {
		w, all := g.GP32(), g.GP32()
		s.kl = g.K()
		g.KMOVW(km, w)
		g.MOVL(U32(0xffff), all)
		g.TESTQ(tail, tail)
		g.CMOVLEQ(all, w)
		g.KMOVW(w, s.kl)
	}
}

// The helpers below emit one step for each of a group of vectors before
// the next step, so that the vectors' chains of dependent operations
// overlap. The order in which values are added into the float64 partials is
// the lanes' element order all the same.

// reduce emits d = max(-320, x - c) in place, NaN kept (d is the second
// source of VMAXPS, which it returns when either source is NaN).
func (s *sm512) reduce(ds []reg.VecVirtual) {
	for _, d := range ds {
		if !s.noSub {
			s.g.VSUBPS(s.cv, d, d)
		}
	}
	for _, d := range ds {
		s.g.VMAXPS(d, s.k["reduceLo"], d)
	}
}

// roundT returns t = fma(d, log2e, 1.5*2^23) for each d.
func (s *sm512) roundT(ds []reg.VecVirtual) []reg.VecVirtual {
	ts := make([]reg.VecVirtual, len(ds))
	for i := range ds {
		ts[i] = s.g.ZMM()
		s.g.VMOVAPS(s.k["magic"], ts[i])
	}
	for i, d := range ds {
		s.g.VFMADD231PS(s.k["log2e"], d, ts[i])
	}
	return ts
}

// expU emits the exponential of pass 2 for reduced vectors d: each d holds
// u on exit; the returned registers hold t.
func (s *sm512) expU(ds []reg.VecVirtual) []reg.VecVirtual {
	g, k := s.g, s.k
	ts := s.roundT(ds)
	nf := make([]reg.VecVirtual, len(ds))
	for i := range ds {
		nf[i] = g.ZMM()
		g.VSUBPS(k["magic"], ts[i], nf[i]) // nf = t - magic, exact
	}
	for i, d := range ds {
		g.VFMADD231PS(k["negLn2Hi"], nf[i], d) // d = d - nf*ln2Hi, exact
	}
	for i, d := range ds {
		g.VFMADD231PS(k["negLn2Lo"], nf[i], d) // d = r
	}
	q := nf // nf is dead: its registers hold q
	for i := range ds {
		g.VBROADCASTSS(s.c.scalar("c6"), q[i])
	}
	for _, ci := range []string{"c5", "c4", "c3", "c2"} {
		for i, d := range ds {
			g.VFMADD213PS_BCST(s.c.scalar(ci), d, q[i]) // q = r*q + ci
		}
	}
	r2 := make([]reg.VecVirtual, len(ds))
	for i, d := range ds {
		r2[i] = g.ZMM()
		g.VMULPS(d, d, r2[i])
	}
	for i, d := range ds {
		g.VFMADD231PS(q[i], r2[i], d) // d = r2*q + r = u
	}
	return ts
}

// scale turns each t into s = 2^(n - nm) in place: max(bits(t) + bias,
// 0) << 23. With a mask, lanes outside it get s = 0.
func (s *sm512) scale(ts []reg.VecVirtual, mask reg.Register) {
	g := s.g
	for _, t := range ts {
		g.VPADDD(s.biasv, t, t)
	}
	for _, t := range ts {
		g.VPMAXSD(s.zero, t, t)
	}
	for _, t := range ts {
		if mask == nil {
			g.VPSLLD(U8(23), t, t)
		} else {
			g.VPSLLD_Z(U8(23), t, mask, t)
		}
	}
}

// addTerms adds u*s + s in float64 to the block partials of lanes 0-7
// (lo) and 8-15 (hi), vector after vector.
func (s *sm512) addTerms(us, ss []reg.VecVirtual, lo, hi reg.VecVirtual) {
	s.addTermsHalf(us, ss, lo, hi, false)
}

// addTermsHalf is addTerms, but for the last vector only lanes 0-7 if
// halfLast: its lanes 8-15, past the row, would add +0 to hi.
func (s *sm512) addTermsHalf(us, ss []reg.VecVirtual, lo, hi reg.VecVirtual, halfLast bool) {
	g := s.g
	for i, u := range us {
		if halfLast && i == len(us)-1 {
			ul, sl := g.ZMM(), g.ZMM()
			g.VCVTPS2PD(u.AsY(), ul)
			g.VCVTPS2PD(ss[i].AsY(), sl)
			g.VFMADD213PD(sl, sl, ul) // ul = sl*ul + sl
			g.VADDPD(ul, lo, lo)
			continue
		}
		ul, uh := s.terms64(u, ss[i])
		g.VADDPD(ul, lo, lo)
		g.VADDPD(uh, hi, hi)
	}
}

// terms64 returns u*s + s in float64, lanes 0-7 and 8-15, for the u and s
// of one vector.
func (s *sm512) terms64(u, sc reg.VecVirtual) (lo, hi reg.VecVirtual) {
	g := s.g
	half := func(v reg.VecVirtual) (l, h reg.VecVirtual) {
		l, h = g.ZMM(), g.ZMM()
		g.VCVTPS2PD(v.AsY(), l)
		y := g.YMM()
		g.VEXTRACTF64X4(U8(1), v, y)
		g.VCVTPS2PD(y, h)
		return l, h
	}
	ul, uh := half(u)
	sl, sh := half(sc)
	g.VFMADD213PD(sl, sl, ul) // ul = sl*ul + sl
	g.VFMADD213PD(sh, sh, uh)
	return ul, uh
}

// load returns n vectors loaded from p, p+64, ..., zero-masked if mask is
// not nil.
func (s *sm512) load(p Mem, n int, mask reg.Register) []reg.VecVirtual {
	v := make([]reg.VecVirtual, n)
	for i := range v {
		v[i] = s.g.ZMM()
		if mask == nil {
			s.g.VMOVUPS(p.Offset(64*i), v[i])
		} else {
			s.g.VMOVUPS_Z(p.Offset(64*i), mask, v[i])
		}
	}
	return v
}

// store stores the vectors at q, q+64, ..., under mask if not nil.
func (s *sm512) store(v []reg.VecVirtual, q Mem, mask reg.Register) {
	for i := range v {
		if mask == nil && s.nt {
			s.g.VMOVNTPS(v[i], q.Offset(64*i))
		} else if mask == nil {
			s.g.VMOVUPS(v[i], q.Offset(64*i))
		} else {
			s.g.VMOVUPS(v[i], mask, q.Offset(64*i))
		}
	}
}

// sumVectors emits pass 2 for n vectors at p (under mask, if not nil):
// with keepU, u is stored at q unless dst is src; u*s + s is added to the
// block partials lo and hi.
//
// Lanes past the row are loaded as c, so that their d is 0 and their u
// finite: their s is 0, and u*0 + 0 must not be NaN.
func (s *sm512) sumVectors(p, q Mem, n int, mask reg.Register, lo, hi reg.VecVirtual) {
	g := s.g
	var x []reg.VecVirtual
	if mask == nil {
		x = s.loadX(p, n, nil)
	} else if s.z != nil {
		x = s.loadX(p, n, mask)
		for i := range x {
			g.VBLENDMPS(x[i], s.cv, mask, x[i]) // c past the row
		}
	} else {
		x = make([]reg.VecVirtual, n)
		for i := range x {
			x[i] = g.ZMM()
			g.VMOVAPS(s.cv, x[i])
			g.VMOVUPS(p.Offset(64*i), mask, x[i]) // merge: c past the row
		}
	}
	s.reduce(x)
	t := s.expU(x)
	if s.keepU {
		skip := uniqueLabel(s.label("nostore"))
		g.TESTQ(s.inPlace, s.inPlace)
		g.JNZ(LabelRef(skip))
		s.store(x, q, mask)
		g.Label(skip)
	}
	s.scale(t, mask)
	s.addTerms(x, t, lo, hi)
}

// pass1 emits the first pass over the row at src: m = max(x), the row's
// kind, and for a finite m the row's c and bias (cv, biasv). It jumps to
// onNaN if m is NaN (the row holds a NaN), to onPosInf if m is +Inf (the
// row holds +Inf, and maybe a NaN too), to onNegInf if m is -Inf (every
// element is -Inf or NaN), and falls through for a finite m.
//
// The max skips NaNs only partly: VMAXPS x, acc returns x when x is NaN,
// and the next element's max replaces that NaN again. So a row with a NaN
// may get a NaN m or a finite m below its true max, but in both cases its
// result is NaN, as the fallback's: pass 2 turns every NaN element into a
// NaN term of S.
func (s *sm512) pass1(onNaN, onPosInf, onNegInf string) {
	a := s.g.ZMM()
	s.maxOf(s.src, "", a)
	s.rowKind(a, onNaN, onPosInf, onNegInf)
}

// maxOf emits the max of the row at src into every lane of a; name
// tells its labels from those of another rowMax in the function. With
// zNext, where dst is not src, it also stores the row's z in the row's
// dst (src's offset in dst), for the row's pass 2.
func (s *sm512) maxOf(src reg.GPVirtual, name string, a reg.VecVirtual) {
	if !s.zNext {
		s.maxLoop(src, name, a)
		return
	}
	g := s.g
	plain, done := s.label("maxplain"+name), s.label("maxdone"+name)
	g.CMPQ(s.dst, s.src)
	g.JE(LabelRef(plain))
	g.MOVQ(s.dst, s.q)
	g.SUBQ(s.src, s.q)
	g.ADDQ(src, s.q) // the row's dst
	s.zDst = true
	s.maxLoop(src, name+"z", a)
	s.zDst = false
	g.JMP(LabelRef(done))
	g.Label(plain)
	s.maxLoop(src, name, a)
	g.Label(done)
}

// maxLoop is maxOf, z stored at q with zDst.
func (s *sm512) maxLoop(src reg.GPVirtual, name string, a reg.VecVirtual) {
	g, c, p, i, km := s.g, s.c, s.p, s.i, s.km
	g.Comment("Pass 1: m = max(x).")
	acc := []reg.VecVirtual{a, g.ZMM(), g.ZMM(), g.ZMM()}
	for _, a := range acc {
		g.VBROADCASTSS(c.scalar("negInf"), a)
	}
	g.MOVQ(src, p)
	g.MOVQ(s.cols, i)
	label := func(l string) string { return s.label(l + name) }
	g.Label(label("max64"))
	g.CMPQ(i, U32(64))
	g.JB(LabelRef(label("max16")))
	// in is s.in, z also stored at q with zDst.
	in := func(disp int) Op {
		v := s.in(Mem{Base: p, Disp: disp})
		if s.zDst {
			g.VMOVUPS(v, Mem{Base: s.q, Disp: disp})
		}
		return v
	}
	step := func(n int) {
		g.ADDQ(U32(4*n), p)
		if s.zDst {
			g.ADDQ(U32(4*n), s.q)
		}
		g.SUBQ(U32(n), i)
	}
	for j, a := range acc {
		g.VMAXPS(in(64*j), a, a)
	}
	step(64)
	g.JMP(LabelRef(label("max64")))
	g.Label(label("max16"))
	g.CMPQ(i, U32(16))
	g.JB(LabelRef(label("maxtail")))
	g.VMAXPS(in(0), acc[0], acc[0])
	step(16)
	g.JMP(LabelRef(label("max16")))
	g.Label(label("maxtail"))
	g.TESTQ(i, i)
	g.JZ(LabelRef(label("maxred")))
	{
		x := g.ZMM()
		s.loadIn(Mem{Base: p}, km, x)
		g.VMAXPS(x, acc[1], km, acc[1]) // lanes past the row keep acc
	}
	g.Label(label("maxred"))
	g.VMAXPS(acc[1], acc[0], acc[0])
	g.VMAXPS(acc[3], acc[2], acc[2])
	g.VMAXPS(acc[2], acc[0], acc[0])
	// The 16 lanes folded into every lane by swapping halves, quarters,
	// pairs and neighbours (zmm operations: see the note on registers
	// above sm512). m in every lane is what c and t_m need below.
	x := g.ZMM()
	g.VSHUFF32X4(U8(0x4e), a, a, x)
	g.VMAXPS(x, a, a)
	g.VSHUFF32X4(U8(0xb1), a, a, x)
	g.VMAXPS(x, a, a)
	g.VPERMILPS(U8(0x4e), a, x)
	g.VMAXPS(x, a, a)
	g.VPERMILPS(U8(0xb1), a, x)
	g.VMAXPS(x, a, a)
}

// rowKind emits the checks of pass 1 on the row's max m, in every lane of
// a, and the row's c and bias for a finite m (see pass1).
func (s *sm512) rowKind(a reg.VecVirtual, onNaN, onPosInf, onNegInf string) {
	g, c := s.g, s.c
	m := a.AsX()
	s.m = m
	g.Comment("The row's kind: NaN, +Inf, -Inf or finite max.")
	g.VUCOMISS(m, m)
	g.JP(LabelRef(onNaN))
	g.VUCOMISS(c.scalar("posInf"), m)
	g.JE(LabelRef(onPosInf))
	g.VUCOMISS(c.scalar("negInf"), m)
	g.JE(LabelRef(onNegInf))

	s.params(m, a)
}

// params emits the row's c and bias (cv, biasv) for its finite max m, a
// float32 in the low lane of m and in every lane of a.
func (s *sm512) params(m reg.Register, a reg.VecVirtual) {
	g, c := s.g, s.c
	g.Comment("c = m if |m| > 208, else 0; bias = 127 - bits(fma(m - c, log2e, magic)).")
	large, params := s.label("large"), s.label("params")
	g.jumpIfLarge(m, large)
	tm := g.ZMM()
	g.VMOVAPS(s.zero, s.cv) // c = 0, m - c = m
	g.VMOVAPS(s.k["magic"], tm)
	g.VFMADD231PS(s.k["log2e"], a, tm)
	g.JMP(LabelRef(params))
	g.Label(large)
	g.VMOVAPS(a, s.cv)          // c = m, m - c = +0
	g.VMOVAPS(s.k["magic"], tm) // fma(+0, log2e, magic) = magic
	g.Label(params)
	b127 := g.ZMM()
	g.VPBROADCASTD(c.scalar("bias127"), b127)
	g.VPSUBD(tm, b127, s.biasv)
}

// Pass 2 of the AVX-512 kernels is software-pipelined over whole blocks.
// Its work per vector is a chain of about 20 dependent operations, some 50
// cycles from the load to the float64 add (the Horner steps of q alone
// are 4 FMAs of 4 cycles), while the vector's 29 operations take about 7
// cycles of Zen 5's four vector pipes. Emitted step by step for a group of
// vectors, one block after the other, the CPU's scheduler fills with
// operations that wait on those chains, and consecutive blocks overlap too
// little. So the work of a vector is cut into three stages, and the loop
// runs each stage on a different group of 2 vectors (half a block):
//
//	A  load x; d = max(x - c, -320); t; nf; r             (pipeA)
//	B  q (Horner), u = fma(r*r, q, r), kept in dst; s      (pipeB)
//	C  u and s to float64, u*s + s, added to the partials  (pipeC)
//
// Step j of the pipeline runs C on group j-2, B on group j-1 and A on
// group j; their inputs were computed a step earlier, so the operations
// of a step are ready as soon as they are issued, and the step costs its
// throughput rather than its latency. The loop body is two steps, a whole
// block, so that C adds both halves of block k-1 into the block partials
// and flushes them into the lane accumulators in the fallback's order.
// C runs first in a step and A last, so that each stage reads its input
// registers before the next stage overwrites them: A's outputs (r, t) and
// B's (u, s) are the only registers carried from step to step.
//
// Measured on Zen 5 (AVX-512, rows of 4096 in cache): LogSumExp, which is
// passes 1 and 2 alone, went from 12.9 to 11.0 cycles per vector, and
// SoftmaxRows from 0.33 to 0.27 ns per element. Emitting a block's 4
// vectors step by step instead, without the pipeline, gained about as
// much on some lengths and less on others. The Horner coefficients are
// broadcast from memory (a load, not an operation of the vector pipes),
// which leaves registers for the stages.
//
// The row's last block, if the row's length is not a multiple of 64,
// goes through the pipeline too with tailPipe, which SoftmaxRowsAVX512
// sets: its 1 to 4 vectors in groups of 2 and 1 or 2, the last vector
// loaded under a mask, -Inf past the row (whose s is then 0 for any row
// of a finite max). Done a vector at a time after the pipeline's
// epilogue, as the other kernels still do, its vectors waited on the
// whole chain of each. Measured (ns per element, thread CPU time, the
// least of 300 runs, batches of 1 MiB): 0.41 against 0.43 at 100
// columns, 0.55 against 0.66 at 50, 0.98 against 1.07 at 20, 0.36
// against 0.38 at 112, and the same at 64, 128, 200 and 1024.
//
// What bounds the pass now is the number of operations: Zen 5 runs every
// 512-bit operation, float or integer, on one of four pipes, and a
// VCVTPS2PD takes two of those slots. Building s in float64 from integer
// operations instead of converting it (VPERMD, shifts and a mask) took as
// many slots and measured the same, so the conversions stayed.

// pipeA emits stage A for the group at p: r and t into the registers of
// out.
func (s *sm512) pipeA(p Mem, r, t []reg.VecVirtual, km []reg.Register) {
	g, k := s.g, s.k
	nf := make([]reg.VecVirtual, len(r))
	for i := range r {
		nf[i] = g.ZMM()
		if s.zDst && km[i] == nil {
			// The row's z, which pass 1 or the row before's pass 2
			// stored in its dst (zNext); the last vector of a row of
			// cols%16 > 0 computes it again (see zNext).
			g.VMOVUPS(Mem{Base: s.q, Disp: p.Disp + 64*i}, r[i])
			continue
		}
		if km[i] == nil {
			s.loadIn(p.Offset(64*i), nil, r[i])
			continue
		}
		g.VBROADCASTSS(s.c.scalar("negInf"), r[i])
		if s.z != nil {
			z := g.ZMM()
			s.loadIn(p.Offset(64*i), km[i], z)
			g.VBLENDMPS(z, r[i], km[i], r[i]) // -Inf past the row: s = 0
			continue
		}
		g.VMOVUPS(p.Offset(64*i), km[i], r[i]) // -Inf past the row: s = 0
	}
	if s.nm != nil {
		for i := range r {
			a := s.nm[i%2]
			var next Op = Mem{Base: p.Base, Index: s.nextOff, Scale: 1, Disp: p.Disp + 64*i}
			if s.z != nil {
				// The next row's z: its x, and its mask at nextMoff.
				v := g.ZMM()
				if km[i] == nil {
					g.VMOVUPS(next, v)
				} else {
					g.VMOVUPS_Z(next, km[i], v)
				}
				if s.z.moff == nil {
					g.VMULPS(s.z.scale, v, v)
				} else {
					nmask := Mem{Base: p.Base, Index: s.nextMoff, Scale: 1, Disp: p.Disp + 64*i}
					if km[i] == nil {
						g.VFMADD213PS(nmask, s.z.scale, v)
					} else {
						g.VFMADD213PS(nmask, s.z.scale, km[i], v)
					}
				}
				next = v
				if s.zDst && km[i] == nil {
					// Kept in the next row's dst, for its pass 2 (on
					// the last row, nextOff is 0: its own z, again).
					g.VMOVUPS(v, Mem{Base: s.q, Index: s.nextOff, Scale: 1, Disp: p.Disp + 64*i})
				}
			}
			if km[i] == nil {
				g.VMAXPS(next, a, a)
			} else {
				g.VMAXPS(next, a, km[i], a) // lanes past the row keep a
			}
		}
	}
	if s.span != nil {
		for i := range r {
			g.VMAXPS(r[i], s.span[0], s.span[0])
			if s.minW {
				continue
			}
			if s.fuse {
				// The min of the elements above reduceLo alone (see fused).
				above := g.K()
				if km[i] == nil {
					g.VCMPPS(U8(0x1e), k["reduceLo"], r[i], above) // GT_OQ
				} else {
					g.VCMPPS(U8(0x1e), k["reduceLo"], r[i], km[i], above)
				}
				g.VMINPS(r[i], s.span[1], above, s.span[1])
				continue
			}
			if km[i] == nil {
				g.VMINPS(r[i], s.span[1], s.span[1])
			} else {
				g.VMINPS(r[i], s.span[1], km[i], s.span[1]) // the row's lanes alone
			}
		}
	}
	s.reduce(r)
	for i := range r {
		g.VMOVAPS(k["magic"], t[i])
	}
	for i := range r {
		g.VFMADD231PS(k["log2e"], r[i], t[i]) // t = fma(d, log2e, magic)
	}
	for i := range r {
		g.VSUBPS(k["magic"], t[i], nf[i]) // nf = t - magic, exact
	}
	for i := range r {
		g.VFMADD231PS(k["negLn2Hi"], nf[i], r[i]) // d - nf*ln2Hi, exact
	}
	for i := range r {
		g.VFMADD231PS(k["negLn2Lo"], nf[i], r[i]) // r
	}
}

// pipeB emits stage B: from A's r and t, u and s into u and sc; u is
// stored at q unless dst is src.
func (s *sm512) pipeB(q Mem, r, t, u, sc []reg.VecVirtual, km []reg.Register) {
	g := s.g
	for i := range u {
		g.VBROADCASTSS(s.c.scalar("c6"), u[i]) // q, computed in u's register
	}
	for _, ci := range []string{"c5", "c4", "c3", "c2"} {
		for i := range u {
			g.VFMADD213PS_BCST(s.c.scalar(ci), r[i], u[i]) // q = r*q + ci
		}
	}
	r2 := make([]reg.VecVirtual, len(r))
	for i := range r {
		r2[i] = g.ZMM()
		g.VMULPS(r[i], r[i], r2[i])
	}
	for i := range u {
		g.VFMADD213PS(r[i], r2[i], u[i]) // u = r2*q + r
	}
	for i := range t {
		g.VPADDD(s.biasv, t[i], sc[i])
	}
	if s.span != nil && s.minW {
		for i := range sc {
			g.VPMINUD(sc[i], s.span[1], s.span[1]) // w = n - G + 127, unsigned
		}
	}
	for i := range sc {
		g.VPMAXSD(s.zero, sc[i], sc[i])
	}
	for i := range sc {
		g.VPSLLD(U8(23), sc[i], sc[i]) // s = 2^(n - nm), or 0
	}
	if s.keepU {
		skip := uniqueLabel(s.label("nostore"))
		g.TESTQ(s.inPlace, s.inPlace)
		g.JNZ(LabelRef(skip))
		if s.keepS && s.sDelta != nil {
			kept := uniqueLabel(s.label("nokeep"))
			g.TESTQ(s.sDelta, s.sDelta)
			g.JZ(LabelRef(kept))
			sq := Mem{Base: q.Base, Index: s.sDelta, Scale: 1, Disp: q.Disp}
			for i := range sc {
				if km[i] == nil {
					g.VMOVUPS(sc[i], sq.Offset(64*i))
				} else {
					g.VMOVUPS(sc[i], km[i], sq.Offset(64*i))
				}
			}
			g.Label(kept)
		}
		for i := range u {
			if km[i] == nil {
				g.VMOVUPS(u[i], q.Offset(64*i))
			} else {
				g.VMOVUPS(u[i], km[i], q.Offset(64*i))
			}
		}
		g.Label(skip)
	}
}

// pipeC emits stage C: B's u and s added to the block partials lo, hi,
// the last vector's lanes 0-7 only if halfLast.
func (s *sm512) pipeC(u, sc []reg.VecVirtual, lo, hi reg.VecVirtual, halfLast bool) {
	s.addTermsHalf(u, sc, lo, hi, halfLast)
}

// pipeline2 emits the pipelined part of pass 2: the row's whole blocks,
// if it has any, added to the lane accumulators accLo and accHi. It
// leaves p, q and i at the rest of the row, as the plain loop would. With
// tailPipe, the row's last block of 1 to 63 elements goes through the
// pipeline too, and it jumps to the label sumred at its end.
func (s *sm512) pipeline2(accLo, accHi reg.VecVirtual) {
	g, p, q, i := s.g, s.p, s.q, s.i
	r, t := []reg.VecVirtual{g.ZMM(), g.ZMM()}, []reg.VecVirtual{g.ZMM(), g.ZMM()}
	u, sc := []reg.VecVirtual{g.ZMM(), g.ZMM()}, []reg.VecVirtual{g.ZMM(), g.ZMM()}
	lo, hi := g.ZMM(), g.ZMM()
	if s.parts[0] != nil {
		lo, hi = s.parts[0], s.parts[1]
	}
	// a and b emit stages A and B for the group at disp of len(km)
	// vectors, each under its mask in km (nil for a whole vector); c
	// emits stage C for n vectors.
	a := func(disp int, km []reg.Register) { s.pipeA(Mem{Base: p, Disp: disp}, r[:len(km)], t[:len(km)], km) }
	b := func(disp int, km []reg.Register) {
		n := len(km)
		s.pipeB(Mem{Base: q, Disp: disp}, r[:n], t[:n], u[:n], sc[:n], km)
	}
	// half is set while the code for a last block whose last vector has
	// at most 8 elements is emitted.
	half := false
	c := func(n int, last bool) { s.pipeC(u[:n], sc[:n], lo, hi, half && last) }
	clear := func() {
		g.VPXORQ(lo, lo, lo)
		g.VPXORQ(hi, hi, hi)
	}
	flush := func() {
		g.VADDPD(lo, accLo, accLo)
		g.VADDPD(hi, accHi, accHi)
	}
	next := func() {
		if s.pfBytes != nil {
			s.prefetchNext(p)
		}
		g.ADDQ(U32(256), p)
		if s.keepU {
			g.ADDQ(U32(256), q)
		}
		g.SUBQ(U32(64), i)
	}
	whole := []reg.Register{nil, nil}
	// prologue emits the first block's stages A and B, body a block's
	// after a whole block, drain the last block's B and C: blocks of
	// groups k0 and k1 (k1 empty for a block of 1 or 2 vectors).
	prologue := func(k0, k1 []reg.Register) {
		a(0, k0)
		b(0, k0)
		if len(k1) > 0 {
			a(128, k1)
		}
		next()
	}
	body := func(k0, k1 []reg.Register) {
		clear()
		c(2, false)
		b(-128, whole)
		a(0, k0)
		c(2, false)
		flush()
		b(0, k0)
		if len(k1) > 0 {
			a(128, k1)
		}
		next()
	}
	drain := func(k0, k1 []reg.Register) {
		clear()
		c(len(k0), len(k1) == 0)
		if len(k1) > 0 {
			b(-128, k1)
			c(len(k1), true)
		}
		flush()
	}
	g.CMPQ(i, U32(64))
	if s.tailPipe {
		g.JB(LabelRef(s.label("tailfirst")))
	} else {
		g.JB(LabelRef(s.label("sumtail")))
	}
	g.Comment("Pipeline prologue: the first block through stages A and B.")
	prologue(whole, whole)
	g.Label(s.label("sum64"))
	g.CMPQ(i, U32(64))
	g.JB(LabelRef(s.label("drain")))
	g.Comment("One block: stage C of the previous block, B and A a group behind each other.")
	body(whole, whole)
	g.JMP(LabelRef(s.label("sum64")))
	g.Label(s.label("drain"))
	if !s.tailPipe {
		g.Comment("Pipeline epilogue: the last block through stages B and C.")
		drain(whole, whole)
		return
	}
	// The row's last block of nv = ceil(i/16) vectors, the last under kl:
	// its groups, 1 or 2 vectors each.
	groups := func(nv int) (k0, k1 []reg.Register) {
		ks := make([]reg.Register, nv)
		ks[nv-1] = s.kl
		return ks[:min(nv, 2)], ks[min(nv, 2):]
	}
	// tails emits the code of the row's last block, by its number of
	// vectors and, with halfTail, whether its last vector has at most 8
	// elements (i%16 in 1..8).
	tails := func(name string, emit func(nv int)) {
		if !s.halfTail {
			s.lastBlock(name, s.label("sumred"), emit)
			return
		}
		w := g.GP64()
		g.LEAQ(Mem{Base: i, Disp: -1}, w)
		g.ANDQ(U32(15), w)
		g.CMPQ(w, U32(8))
		g.JAE(LabelRef(s.label(name + "whole")))
		half = true
		s.lastBlock(name+"half", s.label("sumred"), emit)
		half = false
		g.Label(s.label(name + "whole"))
		s.lastBlock(name, s.label("sumred"), emit)
	}
	g.TESTQ(i, i)
	g.JZ(LabelRef(s.label("drainwhole")))
	tails("tail", func(nv int) {
		k0, k1 := groups(nv)
		body(k0, k1)
		drain(k0, k1)
	})
	g.Label(s.label("tailfirst"))
	tails("first", func(nv int) {
		k0, k1 := groups(nv)
		prologue(k0, k1)
		drain(k0, k1)
	})
	g.Label(s.label("drainwhole"))
	g.Comment("Pipeline epilogue: the last block through stages B and C.")
	drain(whole, whole)
	g.JMP(LabelRef(s.label("sumred")))
}

// prefetchNext emits the prefetch of the block of the next row that
// goes with the one at p (pfBytes further), and of its mask's block: the
// mask's step per row further (0 for one mask row for every row).
func (s *sm512) prefetchNext(p reg.GPVirtual) {
	g := s.g
	if s.noPfLong && s.span != nil {
		skip := uniqueLabel(s.label("nopf"))
		g.TESTQ(s.pfBytes, s.pfBytes)
		g.JZ(LabelRef(skip))
		defer g.Label(skip)
	}
	pn := g.GP64()
	g.LEAQ(Mem{Base: p, Index: s.pfBytes, Scale: 1}, pn)
	for d := 0; d < 256; d += 64 {
		g.PREFETCHT0(Mem{Base: pn, Disp: d})
	}
	if s.z == nil || s.z.moff == nil {
		return
	}
	pm := g.GP64()
	g.MOVQ(s.z.step, pm)
	g.ADDQ(p, pm)
	for d := 0; d < 256; d += 64 {
		g.PREFETCHT0(Mem{Base: pm, Index: s.z.moff, Scale: 1, Disp: d})
	}
}

// lastBlock emits, for the i elements left in the row, 1 to 63, a jump
// to the code emit(nv) emits for the nv = ceil(i/16) vectors that hold
// them, the last under kl, and a jump to after at the end of each.
func (s *sm512) lastBlock(name, after string, emit func(nv int)) {
	g := s.g
	for nv := 1; nv <= 4; nv++ {
		next := s.label(fmt.Sprintf("%s%d", name, nv+1))
		if nv < 4 {
			g.CMPQ(s.i, U32(16*nv))
			g.JA(LabelRef(next))
		}
		g.Comment(fmt.Sprintf("The row's last %d vectors, the last under kl.", nv))
		emit(nv)
		g.JMP(LabelRef(after))
		if nv < 4 {
			g.Label(next)
		}
	}
}

// pass2 emits the second pass over the row of a finite max and returns S
// (in the low float64 of an xmm register): NaN exactly when the row holds a
// NaN. With keepU it stores u in dst, unless dst is src.
func (s *sm512) pass2() reg.VecVirtual {
	accLo, accHi := s.pass2Acc()
	return s.reduceSum(accLo, accHi)
}

// pass2Acc emits pass 2 up to S's float64 lane accumulators, which it
// returns: lanes 0-7 and 8-15.
func (s *sm512) pass2Acc() (accLo, accHi reg.VecVirtual) {
	g := s.g
	if s.keepU {
		g.Comment("Pass 2: S, and u kept in dst unless dst is src.")
	} else {
		g.Comment("Pass 2: S.")
	}
	accLo, accHi = g.ZMM(), g.ZMM()
	s.pass2AccInto(accLo, accHi)
	return accLo, accHi
}

// pass2AccInto is pass2Acc into the lane accumulators accLo and accHi.
func (s *sm512) pass2AccInto(accLo, accHi reg.VecVirtual) {
	if !s.zeroC {
		s.pass2Into(accLo, accHi)
	} else {
		s.ifZeroC("sum", func() { s.pass2Into(accLo, accHi) })
	}
}

// ifZeroC emits emit twice, after a branch on c: once with noSub and its
// labels renamed, for c = 0, and once as is; name names the labels of
// the branch.
func (s *sm512) ifZeroC(name string, emit func()) {
	ifZeroC(s.g, &s.name, &s.noSub, name, func(w reg.GPVirtual) { s.g.VMOVD(s.cv.AsX(), w) }, emit)
}

// ifZeroC emits emit twice, after a branch on the bits of c that cBits
// loads into w: once with *noSub set and the labels of prefix *name
// renamed, for c = 0, and once as is (see sm512.ifZeroC).
func ifZeroC(g *gen, prefix *string, noSub *bool, name string, cBits func(w reg.GPVirtual), emit func()) {
	label := func(l string) string { return *prefix + "_" + l }
	w := g.GP32()
	cBits(w) // c's bits: 0 unless |max| > 208
	g.TESTL(w, w)
	g.JNZ(LabelRef(label(name + "c")))
	p := *prefix
	*prefix, *noSub = p+"z", true
	emit()
	*prefix, *noSub = p, false
	g.JMP(LabelRef(label(name + "done")))
	g.Label(label(name + "c"))
	emit()
	g.Label(label(name + "done"))
}

// pass2Into emits pass 2 into the lane accumulators accLo and accHi.
func (s *sm512) pass2Into(accLo, accHi reg.VecVirtual) {
	g, p, q, i := s.g, s.p, s.q, s.i
	g.VPXORQ(accLo, accLo, accLo)
	g.VPXORQ(accHi, accHi, accHi)
	g.MOVQ(s.src, p)
	if s.keepU {
		g.MOVQ(s.dst, q)
	}
	if s.nextMax {
		s.nextOff = g.GP64()
		g.XORQ(s.nextOff, s.nextOff)
		g.CMPQ(s.rows, U32(1))
		g.CMOVQNE(s.bytes, s.nextOff)
		if s.z != nil && s.z.moff != nil {
			// The next row's mask, from this row's x: moff plus the
			// mask's step (0 or the row's bytes, as nextOff), or moff
			// on the last row.
			s.nextMoff = g.GP64()
			g.MOVQ(s.z.step, s.nextMoff)
			g.ANDQ(s.nextOff, s.nextMoff)
			g.ADDQ(s.z.moff, s.nextMoff)
		}
		s.nm = []reg.VecVirtual{s.mAhead, s.nm1}
		for _, a := range s.nm {
			g.VBROADCASTSS(s.c.scalar("negInf"), a)
		}
		defer func() { s.nm = nil }()
	}
	if s.keepS {
		s.sDelta = g.GP64()
		g.MOVQ(s.sf.Offset(sfCur), s.sDelta)
		g.SUBQ(s.dst, s.sDelta)
		g.ANDQ(s.sf.Offset(sfUse), s.sDelta)
		defer func() { s.sDelta = nil }()
		// In place, u goes to the buffer, and s after it.
		out := uniqueLabel(s.label("outplace"))
		g.CMPQ(s.sf.Offset(sfIn), U32(0))
		g.JE(LabelRef(out))
		g.MOVQ(s.sf.Offset(sfCur), q)
		g.MOVQ(U32(sfInS), s.sDelta)
		g.Label(out)
	}
	g.MOVQ(s.cols, i)
	if s.nmAlias {
		if !s.tailPipe || s.nm == nil {
			panic("nmAlias needs tailPipe and nextMax")
		}
		// In place at a stride of a multiple of 4 KiB: the pipeline
		// without the next row's max, with its own labels, whose end
		// jumps past the fold of that max below.
		full := s.label("sumnext")
		s.parts = [2]reg.VecVirtual{g.ZMM(), g.ZMM()}
		defer func() { s.parts = [2]reg.VecVirtual{} }()
		g.CMPQ(s.nmSkip, U32(0))
		g.JE(LabelRef(full))
		name, nm := s.name, s.nm
		s.name, s.nm = name+"a", nil
		s.pipeline2(accLo, accHi)
		g.Label(s.label("sumred"))
		s.name, s.nm = name, nm
		g.JMP(LabelRef(s.label("sumnonext")))
		g.Label(full)
		defer g.Label(s.label("sumnonext"))
	}
	if s.zNext {
		if !s.tailPipe || s.nm == nil {
			panic("zNext needs tailPipe and nextMax")
		}
		// Out of place, the row's z from dst, the next row's z to its
		// dst: the pipeline with its own labels, whose end jumps to
		// the one below.
		plain := s.label("sumplain")
		if s.parts[0] == nil {
			s.parts = [2]reg.VecVirtual{g.ZMM(), g.ZMM()}
			defer func() { s.parts = [2]reg.VecVirtual{} }()
		}
		g.CMPQ(s.dst, s.src)
		g.JE(LabelRef(plain))
		name := s.name
		s.name, s.zDst = name+"d", true
		s.pipeline2(accLo, accHi)
		g.Label(s.label("sumred"))
		s.name, s.zDst = name, false
		g.JMP(LabelRef(s.label("sumred")))
		g.Label(plain)
	}
	s.pipeline2(accLo, accHi)
	if !s.tailPipe {
		s.sumTail(accLo, accHi)
	}
	g.Label(s.label("sumred"))
	if s.nm != nil {
		g.Comment("Pass 1 of the next row, found in pass 2: m = max(x).")
		g.VMAXPS(s.nm[1], s.nm[0], s.nm[0])
		s.foldAll(s.nm[0], func(ops ...Op) { g.VMAXPS(ops...) })
	}
}

// reduceSum emits S, the lane accumulators of pass 2 added by halving,
// and returns it in the low float64 of an xmm register: NaN exactly when
// the row holds a NaN.
func (s *sm512) reduceSum(accLo, accHi reg.VecVirtual) reg.VecVirtual {
	g := s.g
	g.VADDPD(accHi, accLo, accLo) // lane i += lane i+8
	x := g.ZMM()
	g.VSHUFF64X2(U8(0xee), accLo, accLo, x)
	g.VADDPD(x, accLo, accLo) // lane i += lane i+4
	g.VSHUFF64X2(U8(0x01), accLo, accLo, x)
	g.VADDPD(x, accLo, accLo) // lane i += lane i+2
	g.VPERMILPD(U8(0x01), accLo, x)
	sum := g.XMM()
	g.VADDSD(x.AsX(), accLo.AsX(), sum) // lane 0 += lane 1
	return sum
}

// aheadSum emits, with ahead, S from the lane accumulators in s.acc and a
// jump to the label "nanrow" where S is NaN, and returns S: what out does
// with the nil sum that rowsKernel gives it (LogSoftmaxRowsAVX512).
func (s *sm512) aheadSum() reg.VecVirtual {
	sum := s.reduceSum(s.acc[0], s.acc[1])
	s.g.VUCOMISD(sum, sum)
	s.g.JP(LabelRef(s.label("nanrow")))
	return sum
}

// sumTail emits the end of pass 2 without tailPipe: the row's last block,
// 0..3 whole vectors then 0..15 lanes, a vector at a time.
func (s *sm512) sumTail(accLo, accHi reg.VecVirtual) {
	g, p, q, i := s.g, s.p, s.q, s.i
	next := func(n int) {
		g.ADDQ(U32(4*n), p)
		if s.keepU {
			g.ADDQ(U32(4*n), q)
		}
		g.SUBQ(U32(n), i)
	}
	g.Label(s.label("sumtail"))
	g.Comment("The row's last block: 0..3 whole vectors, then 0..15 lanes.")
	g.TESTQ(i, i)
	g.JZ(LabelRef(s.label("sumred")))
	{
		lo, hi := g.ZMM(), g.ZMM()
		g.VPXORQ(lo, lo, lo)
		g.VPXORQ(hi, hi, hi)
		g.Label(s.label("sum16"))
		g.CMPQ(i, U32(16))
		g.JB(LabelRef(s.label("sumlast")))
		s.sumVectors(Mem{Base: p}, Mem{Base: q}, 1, nil, lo, hi)
		next(16)
		g.JMP(LabelRef(s.label("sum16")))
		g.Label(s.label("sumlast"))
		g.TESTQ(i, i)
		g.JZ(LabelRef(s.label("sumblock")))
		s.sumVectors(Mem{Base: p}, Mem{Base: q}, 1, s.km, lo, hi)
		g.Label(s.label("sumblock"))
		g.VADDPD(lo, accLo, accLo)
		g.VADDPD(hi, accHi, accHi)
	}
}

// scanNaN emits a scan of the row at src that jumps to onNaN if it holds
// a NaN, and falls through if not. It may be emitted more than once.
func (s *sm512) scanNaN(onNaN string) {
	g, p, i := s.g, s.p, s.i
	name := uniqueLabel(s.label("scan"))
	g.MOVQ(s.src, p)
	g.MOVQ(s.cols, i)
	kn := g.K()
	x := g.ZMM()
	g.Label(name + "_16")
	g.CMPQ(i, U32(16))
	g.JB(LabelRef(name + "_tail"))
	s.loadIn(Mem{Base: p}, nil, x)
	g.VCMPPS(U8(cmpUnord), x, x, kn)
	g.KORTESTW(kn, kn)
	g.JNZ(LabelRef(onNaN))
	g.ADDQ(U32(64), p)
	g.SUBQ(U32(16), i)
	g.JMP(LabelRef(name + "_16"))
	g.Label(name + "_tail")
	g.TESTQ(i, i)
	g.JZ(LabelRef(name + "_done"))
	s.loadIn(Mem{Base: p}, s.km, x)
	if s.z != nil {
		g.VCMPPS(U8(cmpUnord), x, x, s.km, kn) // z past the row may be NaN
	} else {
		g.VCMPPS(U8(cmpUnord), x, x, kn)
	}
	g.KORTESTW(kn, kn)
	g.JNZ(LabelRef(onNaN))
	g.Label(name + "_done")
}

// pass3 emits a last pass over the row at src and dst (registers or
// memory holding the pointers): out(p, q, n, mask) for n vectors at p of
// src and q of dst (2 and 2 per block of 64 elements, then single vectors,
// then the row's last cols%16 lanes under mask), with back from the row's
// end for rows of more than prefetchCols elements (see loop3). It ends
// with a jump to the label after. name prefixes its labels.
func (s *sm512) pass3(name string, src, dst Op, after string, out func(p, q Mem, n int, mask reg.Register)) {
	s.loop3(out).pass3(s.back, name, src, dst, after, nil, nil)
}

// loop3 is pass 3's loops on out, whose mask is km or nil.
func (s *sm512) loop3(out func(p, q Mem, n int, mask reg.Register)) loop3 {
	return loop3{g: s.g, label: s.label, p: s.p, q: s.q, i: s.i, cols: s.cols, perOut: 2,
		out: func(p, q Mem, n int, masked bool) {
			var mask reg.Register
			if masked {
				mask = s.km
			}
			out(p, q, n, mask)
		}}
}

// rowHooks are what a kernel adds to the loop of rowsKernel, beyond dst
// and src (CrossEntropyRows adds its targets and loss); the zero value adds
// nothing. With nilDst, dst may be nil: then no row is stored to or
// filled, and special follows the fill's place all the same.
type rowHooks struct {
	begin func() // emitted at the start of each row
	// peek, with ahead, is emitted before pass 1 of the row at src that
	// follows the current one (or of the first row, before the loop): it
	// sets what that pass needs, and its result undoes it after the pass.
	peek    func(src reg.GPVirtual) (undo func())
	special func(fill reg.VecVirtual) // emitted after a row is filled with fill
	nilDst  bool
}

// peekOr returns the peek hook's emitter for the next row at src, or one
// that emits nothing without a peek hook.
func (h *rowHooks) peekOr(src reg.GPVirtual) func() {
	if h.peek == nil {
		return func() {}
	}
	return h.peek(src)
}

// fillStart emits, with nilDst, a jump past the fill of a row if dst is
// nil, and returns the label that the fill ends at.
func (h *rowHooks) fillStart(g *gen, dst reg.GPVirtual, label func(string) string) string {
	filled := label("next")
	if h.special != nil {
		filled = label("filled")
	}
	if h.nilDst {
		g.TESTQ(dst, dst)
		g.JZ(LabelRef(filled))
	}
	return filled
}

// advanceDst emits dst += bytes, except that with nilDst a nil dst stays
// nil.
func (h *rowHooks) advanceDst(g *gen, dst, bytes reg.GPVirtual) {
	if !h.nilDst {
		g.ADDQ(bytes, dst)
		return
	}
	d := g.GP64()
	g.LEAQ(Mem{Base: dst, Index: bytes, Scale: 1}, d)
	g.TESTQ(dst, dst)
	g.CMOVQNE(d, dst)
}

// fillEnd emits the end of a row's fill: the label filled, and special.
func (h *rowHooks) fillEnd(g *gen, filled string, fill reg.VecVirtual) {
	if h.special != nil {
		g.Label(filled)
		h.special(fill)
	}
}

// rowsKernel emits the body of a func(dst, src []float32, ..., rows, cols
// int) kernel: for each row, pass 1 and pass 2, then out(S) for a row whose
// max is finite and whose S is not NaN; out must end with a jump to the
// label "next". A row whose max is NaN or +Inf, or whose S is NaN, is
// filled with the canonical NaN; a row whose max is -Inf with masked(v)'s
// vector, unless it holds a NaN. finish, if not nil, is emitted after the
// last row, before the return. s.hooks add to the loop.
//
// With s.ahead (SoftmaxRowsAVX512, and the scaled and causal kernels,
// whose peek hook sets up the next row's pass 1), pass 1 runs a row
// ahead: the max of the next row is found right after pass 2 of the
// current one, before out, and the next row starts with its checks. The
// max's reduction tree (4 shuffles and 4 maxes after the 4 accumulators
// are combined) ends a chain that pass 2 waits on, through the bias; a
// row ahead, the CPU runs it beside out's work instead (see softmaxRows).
// A row that pass 1 finds special also finds the next row's max before
// its fill. Measured with SoftmaxRows's order of out (ns per element,
// thread CPU time, the least of 300 runs, batches of 1 MiB, against the
// loop without ahead): 0.39 against 0.43 at 100 columns, 0.38 against
// 0.42 at 64, 0.33 against 0.36 at 128, 0.34 against 0.37 at 200, 0.51
// against 0.56 at 50, 0.30 against 0.32 at 1024.
//
// With s.nextMax, pass 2 finds the next row's max instead (see nextMax).
//
// With s.ahead, out is called with a nil sum: S's lane accumulators are
// in s.acc, and out reduces them and checks S for NaN itself (with a
// jump to the label "nanrow"), where it needs S.
func (s *sm512) rowsKernel(masked func(v reg.VecVirtual), out func(sum reg.VecVirtual), finish func()) {
	g := s.g
	dst, src, rows, cols := g.GP64(), g.GP64(), g.GP64(), g.GP64()
	g.Load(g.Param("dst").Base(), dst)
	g.Load(g.Param("src").Base(), src)
	g.Load(g.Param("rows"), rows)
	g.Load(g.Param("cols"), cols)
	g.TESTQ(rows, rows)
	g.JZ(LabelRef(s.label("ret")))
	s.dst, s.src = dst, src
	s.setCols(cols)
	if s.keepU {
		s.inPlace = g.GP64()
		g.XORQ(s.inPlace, s.inPlace)
		g.CMPQ(dst, src)
		g.SETEQ(s.inPlace.As8())
		if s.hooks.nilDst {
			g.TESTQ(dst, dst)
			g.CMOVQEQ(src, s.inPlace) // no dst: nonzero, nothing stored
		}
		if s.long {
			s.setLong()
		}
		if s.keepS {
			s.setKeepS()
		}
	}

	// nanrow is where a row whose S is NaN goes, early where a row goes
	// that pass 1 finds special: the same label but with ahead, where
	// the next row's max is yet to be found on the way to the fill.
	nanrow, early := s.label("nanrow"), s.label("nanrow")
	var m reg.VecVirtual // with ahead, the max of the row, found a row early
	var bytes reg.GPVirtual
	ahead := func(name string) {}
	if s.ahead {
		if (s.hooks.begin != nil && s.hooks.peek == nil) || s.hooks.nilDst {
			panic("ahead runs no hooks but begin with peek, and special")
		}
		peek := s.hooks.peekOr
		early = s.label("nanearly")
		bytes = g.GP64()
		g.LEAQ(Mem{Base: cols, Index: cols, Scale: 1}, bytes) // 2*cols
		g.SHLQ(U8(1), bytes)                                  // 4*cols
		if s.prefetch {
			s.pfBytes = g.GP64()
			g.XORQ(s.pfBytes, s.pfBytes)
			g.CMPQ(cols, U32(prefetchCols))
			g.CMOVQLS(bytes, s.pfBytes)
		}
		m = g.ZMM()
		s.rows, s.bytes, s.mAhead = rows, bytes, m
		if s.nextMax {
			s.nm1 = g.ZMM()
		}
		if s.long {
			g.CMPQ(s.inPlace, U32(inPlaceLong))
			g.JE(LabelRef(s.label("firstlong")))
		}
		undo := peek(src)
		s.maxOf(src, "first", m)
		undo()
		if s.long {
			g.Label(s.label("firstlong"))
		}
		// ahead emits the max of the next row into m, if there is one
		// and the rows are not long: a long row finds its own max.
		ahead = func(name string) {
			if s.long {
				g.CMPQ(s.inPlace, U32(inPlaceLong))
				g.JE(LabelRef(s.label(name)))
			}
			g.CMPQ(rows, U32(1))
			g.JE(LabelRef(s.label(name)))
			if s.nextMax && name == "ahead" {
				if !s.nmAlias {
					g.Label(s.label(name)) // pass 2 found m (see pass2Into)
					return
				}
				g.CMPQ(s.nmSkip, U32(0))
				g.JE(LabelRef(s.label(name))) // pass 2 found m
			}
			next := g.GP64()
			g.LEAQ(Mem{Base: src, Index: bytes, Scale: 1}, next)
			undo := peek(next)
			s.maxOf(next, name, m)
			undo()
			g.Label(s.label(name))
		}
	}
	if s.nmAlias {
		// nextMax but in place on rows of a power of 2 elements, 1024
		// or more.
		s.nmSkip = g.AllocLocal(8)
		g.MOVQ(U32(0), s.nmSkip)
		set := s.label("nmset")
		g.CMPQ(dst, src)
		g.JNE(LabelRef(set))
		g.CMPQ(cols, U32(nmAliasCols))
		g.JB(LabelRef(set))
		w := g.GP64()
		g.LEAQ(Mem{Base: cols, Disp: -1}, w)
		g.TESTQ(w, cols)
		g.JNZ(LabelRef(set))
		g.MOVQ(I32(-1), s.nmSkip)
		g.Label(set)
	}
	if s.prefetch && !s.ahead {
		b := g.GP64()
		g.LEAQ(Mem{Base: cols, Index: cols, Scale: 1}, b) // 2*cols
		g.SHLQ(U8(1), b)                                  // 4*cols
		s.pfBytes = g.GP64()
		g.XORQ(s.pfBytes, s.pfBytes)
		g.CMPQ(cols, U32(prefetchCols))
		g.CMOVQLS(b, s.pfBytes)
	}
	g.Label(s.label("row"))
	if s.hooks.begin != nil {
		s.hooks.begin()
	}
	if s.long {
		g.CMPQ(s.inPlace, U32(inPlaceLong))
		g.JE(LabelRef(s.label("fused")))
		g.Label(s.label("rowkind"))
	}
	if s.fuse {
		g.JMP(LabelRef(s.label("fused")))
		g.Label(s.label("rowkind"))
	}
	if s.ahead {
		s.rowKind(m, early, early, s.label("masked"))
	} else {
		s.pass1(nanrow, nanrow, s.label("masked"))
	}
	if s.ahead {
		if s.long {
			s.acc[0], s.acc[1] = g.ZMM(), g.ZMM()
			s.pass2AccInto(s.acc[0], s.acc[1])
			g.Label(s.label("summed"))
		} else {
			s.acc[0], s.acc[1] = s.pass2Acc()
		}
		ahead("ahead")
		out(nil)
		if s.long {
			s.fused(m, s.label("rowkind"), s.label("summed"))
		}
	} else if s.fuse {
		s.acc[0], s.acc[1] = g.ZMM(), g.ZMM()
		g.Comment("Pass 2: S, and u kept in dst unless dst is src.")
		s.pass2AccInto(s.acc[0], s.acc[1])
		g.Label(s.label("summed"))
		sum := s.reduceSum(s.acc[0], s.acc[1])
		g.VUCOMISD(sum, sum)
		g.JP(LabelRef(nanrow))
		out(sum)
		s.fused(g.ZMM(), s.label("rowkind"), s.label("summed"))
	} else {
		sum := s.pass2()
		g.VUCOMISD(sum, sum)
		g.JP(LabelRef(nanrow))
		out(sum)
	}

	g.Comment("A row of -Inf, or of -Inf and NaN.")
	g.Label(s.label("masked"))
	s.scanNaN(early)
	fill := g.ZMM()
	masked(fill)
	if s.ahead {
		g.JMP(LabelRef(s.label("fillahead")))
		g.Label(early)
		g.VBROADCASTSS(s.c.scalar("nan"), fill)
		g.Label(s.label("fillahead"))
		ahead("aheadfill")
	}
	g.JMP(LabelRef(s.label("fill")))

	g.Label(nanrow)
	g.VBROADCASTSS(s.c.scalar("nan"), fill)
	g.Label(s.label("fill"))
	filled := s.hooks.fillStart(g, dst, s.label)
	g.MOVQ(dst, s.q)
	g.MOVQ(s.cols, s.i) // the row's length: cols but in causal kernels (fused.go)
	g.Label(s.label("fill16"))
	g.CMPQ(s.i, U32(16))
	g.JB(LabelRef(s.label("filltail")))
	g.VMOVUPS(fill, Mem{Base: s.q})
	g.ADDQ(U32(64), s.q)
	g.SUBQ(U32(16), s.i)
	g.JMP(LabelRef(s.label("fill16")))
	g.Label(s.label("filltail"))
	g.TESTQ(s.i, s.i)
	g.JZ(LabelRef(filled))
	g.VMOVUPS(fill, s.km, Mem{Base: s.q})
	s.hooks.fillEnd(g, filled, fill)

	g.Label(s.label("next"))
	if !s.ahead {
		bytes = g.GP64()
		g.LEAQ(Mem{Base: cols, Index: cols, Scale: 1}, bytes) // 2*cols
		g.SHLQ(U8(1), bytes)                                  // 4*cols
	}
	g.ADDQ(bytes, src)
	s.hooks.advanceDst(g, dst, bytes)
	g.DECQ(rows)
	g.JNZ(LabelRef(s.label("row")))

	if finish != nil {
		finish()
	}
	g.Label(s.label("ret"))
	g.VZEROUPPER()
	g.RET()
}

// normalize emits y = (hi + fma(u, hi, fma(u, lo, lo))) * s for each
// vector: u holds y on exit.
func (s *sm512) normalize(us, ss []reg.VecVirtual, hiv, lov reg.VecVirtual) {
	g := s.g
	w := make([]reg.VecVirtual, len(us))
	for i, u := range us {
		w[i] = g.ZMM()
		g.VMOVAPS(lov, w[i])
		g.VFMADD213PS(lov, u, w[i]) // w = u*lo + lo
	}
	for i, u := range us {
		g.VFMADD132PS(hiv, w[i], u) // u = u*hi + w
	}
	for _, u := range us {
		g.VADDPS(hiv, u, u) // y = (u*hi + w) + hi
	}
	for i, u := range us {
		g.VMULPS(ss[i], u, u) // y * s
	}
}

func softmaxAVX512(g *gen, c *constTable) {
	g.function("SoftmaxRowsAVX512", "func(dst, src []float32, rows, cols int)",
		[]string{"AVX", "AVX512F", "CMOV", "FMA3", "MMX+", "SSE", "SSE2"}, // MMX+: SFENCE
		"SoftmaxRowsAVX512 sets each of the rows rows of cols elements of dst to",
		"the softmax of the same row of src, with the bits of",
		"fallback.SoftmaxRows. The caller checks the arguments: rows*cols",
		"elements in each slice, cols > 0, and dst is src or does not overlap",
		"it. It requires AVX-512F.",
	)
	g.Attributes(0) // not NOSPLIT: the frame holds two rows' s (see sCols)
	s := newSM512(g, c, "sm512")
	s.tailPipe, s.halfTail, s.ahead, s.zeroC = true, true, true, true
	s.long, s.keepS, s.nextMax = true, true, true
	s.softmaxRows()
}

// sCols is the longest row whose s pass 2 of SoftmaxRowsAVX512 keeps
// (keepS): the frame holds two rows' s, the current row's and the
// pending row's, 2*4*sCols bytes, too many for a NOSPLIT function, so
// that SoftmaxRowsAVX512 is not one. Pass 3 then loads s rather than
// recomputing it from x: 5 operations fewer a vector (max, fma, add,
// max, shift), for a store in pass 2. Measured (ns per element, thread
// CPU time, the lower quartile of 600 runs alternating with the kernel
// before, batches of 1 MiB, N(0, 4) logits): 0.315 against 0.325 at 100
// columns, 0.326 against 0.339 at 64, 0.266 against 0.279 at 128, 0.266
// against 0.280 at 200, 0.264 against 0.280 at 300, 0.258 against 0.273
// at 1024; 0.298 against 0.296 at 4096 and 0.316 against 0.313 at 32000,
// where s is not kept (the branch around its stores). In place, with u
// kept as well (the lower quartile of 300 runs, on top of nextMax): 0.292
// against 0.390 at 100 columns, 0.313 against 0.389 at 64, 0.260 against
// 0.352 at 128, 0.236 against 0.337 at 300, 0.39 against 0.51 at 512;
// the same at 513 and 1024, where it kept neither.
//
// That was with sCols = 1024 (8 KiB of frame). It then became 4096 (32
// KiB), so that s was kept up to 4096 columns out of place and u and s
// up to 2048 in place. Measured against 1024 (the lower quartile of
// 300-500 runs alternating with the kernel before, the same batches):
// SoftmaxRowsAVX512 out of place 0.286 against 0.302-0.309 at 2048
// columns, 0.275-0.280 against 0.289-0.293 at 4096, 0.282 against 0.298
// at 1536, the same at 512, 1024 and 8192; in place 0.405 against 0.491
// at 1024, 0.277 against 0.361 at 1280, 0.276-0.288 against 0.354-0.362
// at 1536, 0.303 against 0.365 at 1792, the same at 4096 and 8192, and
// 0.429-0.554 against 0.426-0.537 at 2048, where the row's stride of
// 8 KiB slows both (u and s then fill the cache's sets that the rows
// use). ScaledSoftmaxRowsNoMaskAVX512 0.302 against 0.320 at 2048, 0.275
// against 0.288 at 4096, in place 0.514 against 0.562 at 1024;
// ScaledSoftmaxRowsAVX512, one mask row per row, 0.353 against 0.361 at
// 2048 and the same at 4096, in place 0.545 against 0.625 at 1024, 0.594
// against 0.648 at 2048; CausalSoftmaxRowsAVX512 0.320 against 0.334 at
// 2048, 0.289 against 0.303 at 4096, in place 0.341 against 0.433 at
// 1024, 0.355 against 0.441 at 2048.
//
// It is now 8192 (64 KiB of frame, as sCols256): s up to 8192 columns
// out of place, u and s below 4096 in place. Measured against 4096 (the
// same measure, 200-300 runs): SoftmaxRowsAVX512 0.261-0.266 against
// 0.274-0.280 at 8192 columns, 0.264 against 0.274 at 6144, the same at
// 4096 and 16384; in place 0.254 against 0.315 at 2560, 0.249 against
// 0.317 at 3072, 0.250 against 0.316 at 3584, the same at 6144 and 8192,
// and 0.527-0.564 against 0.484-0.499 at 4096, whose 16 KiB stride
// slows it as 2048's does: in place it keeps them below 4096 alone
// (0.503 against 0.499 at 4096 then, 0.269 against 0.343 at 4095).
// ScaledSoftmaxRowsNoMaskAVX512 0.264-0.267
// against 0.281-0.284 at 6144-8192, in place 0.285 against 0.362 at
// 3072; ScaledSoftmaxRowsAVX512, one mask row per row, the same out of
// place, in place 0.335 against 0.400 at 3072, 0.503 against 0.539 at
// 4096; CausalSoftmaxRowsAVX512 0.289-0.291 against 0.297-0.304 at
// 6144-8192, in place 0.311 against 0.377 at 3072, 0.296 against 0.368
// at 4096. The frame costs a goroutine's stack that calls these kernels
// 64 KiB more on its first call (the stack grows to 128 KiB to hold it,
// 64 KiB with 4096), which the gains of 5-20% at 2560-8192 columns
// outweigh for a kernel that runs batches of rows.
const sCols = 8192

// The frame of keepS (sm512.sf): the current row's buffer, the pending
// row's, the XOR of the two buffers' addresses, -1 where s is kept (dst
// is not src and cols <= sCols, or in place with cols < sCols/2) or 0,
// -1 where u is kept too (sfIn: in place, cols < sCols/2) or 0; the
// buffers, 64-byte aligned, from sfBufs on.
const (
	sfCur  = 0
	sfPend = 8
	sfSwap = 16
	sfUse  = 24
	sfIn   = 32
	sfBufs = 40
)

// sfInS is where s starts in a buffer in place (sfIn), u filling the
// bytes before it: rows of fewer than sCols/2 elements.
const sfInS = 2 * sCols

// keepSBufs emits the set-up of keepS's frame sf shared by both
// instruction sets: the current row's buffer (sfBufs rounded up to 64
// bytes), the XOR that swaps it with the pending row's (sfSwap), 4*cols
// bytes after it, and sfUse cleared.
func keepSBufs(g *gen, sf Mem, cols int) {
	b, w := g.GP64(), g.GP64()
	g.LEAQ(sf.Offset(sfBufs+63), b)
	g.ANDQ(I32(-64), b)
	g.MOVQ(b, sf.Offset(sfCur))
	g.LEAQ(Mem{Base: b, Disp: 4 * cols}, w)
	g.XORQ(b, w)
	g.MOVQ(w, sf.Offset(sfSwap))
	g.MOVQ(U32(0), sf.Offset(sfUse))
}

// setKeepS emits, at the start of SoftmaxRowsAVX512, the frame of keepS.
func (s *sm512) setKeepS() {
	g := s.g
	keepSBufs(g, s.sf, sCols)
	g.MOVQ(U32(0), s.sf.Offset(sfIn))
	done, in := s.label("keeps"), s.label("keepsin")
	g.TESTQ(s.inPlace, s.inPlace)
	g.JNZ(LabelRef(in))
	g.CMPQ(s.cols, U32(sCols))
	g.JA(LabelRef(done))
	g.MOVQ(I32(-1), s.sf.Offset(sfUse))
	g.JMP(LabelRef(done))
	g.Label(in)
	// In place (not long), pass 2 keeps u too, in the buffer: pass 3 then
	// neither recomputes u nor s. inPlace is then 0, so that pass 2
	// stores.
	g.CMPQ(s.inPlace, U32(1))
	g.JNE(LabelRef(done))
	// Below sCols/2: at sCols/2 itself (4096, rows 16 KiB apart, as u
	// and s and the two buffers are) it measured 1.07-1.12x the time of
	// recomputing (see sCols).
	g.CMPQ(s.cols, U32(sCols/2-1))
	g.JA(LabelRef(done))
	g.MOVQ(I32(-1), s.sf.Offset(sfUse))
	g.MOVQ(I32(-1), s.sf.Offset(sfIn))
	g.XORQ(s.inPlace, s.inPlace)
	g.Label(done)
}

// outKeptS returns SoftmaxRows's pass 3 body with keepS, for n vectors
// whose s pass 2 left at p in the frame and whose u it left at q.
func (s *sm512) outKeptS(hiv, lov reg.VecVirtual) func(p, q Mem, n int, mask reg.Register) {
	return func(p, q Mem, n int, mask reg.Register) {
		sc := s.load(p, n, mask)
		u := s.load(q, n, mask)
		s.normalize(u, sc, hiv, lov)
		s.store(u, q, mask)
	}
}

// outKeptIn is outKeptS in place (sfIn): u at p, s at p + sfInS.
func (s *sm512) outKeptIn(hiv, lov reg.VecVirtual) func(p, q Mem, n int, mask reg.Register) {
	return func(p, q Mem, n int, mask reg.Register) {
		u := s.load(p, n, mask)
		sc := s.load(p.Offset(sfInS), n, mask)
		s.normalize(u, sc, hiv, lov)
		s.store(u, q, mask)
	}
}

// softmaxRows emits the body of SoftmaxRowsAVX512, and of the scaled
// kernels (fused.go), which also keep the pending row's mask offset.
func (s *sm512) softmaxRows() {
	g := s.g
	s.keepU = true
	hiv, lov := g.ZMM(), g.ZMM() // the row's 1/S, split
	outStored, outRecompute := s.outPasses(hiv, lov)

	// Pass 3 of a finite row runs after passes 1 and 2 of the next finite
	// row (or after the last row), as LogSoftmaxRows's does (see pending in
	// logsoftmax.go): it waits on 1/S, the end of a chain of dependent
	// operations through the row's max, sum, reduction and division, and
	// the next row's passes, which do not depend on it, are what the CPU
	// runs meanwhile. It measured 0.85x the time at 100 columns and 0.5x
	// in place at 10, and the same as before on long rows, where the
	// division is amortized (within the noise of 5%, although the row is
	// then read back from L2 or L3 rather than L1). The pending row's hi,
	// lo, c and bias are kept in the frame at pend (16 bytes), then its
	// src and dst (dst 0 when no row is pending); cur holds the current
	// row's while the pending one runs.
	//
	// With ahead, the current row's 1/S is split after the pending row's
	// pass 3, not before, and its hi and lo go straight to pend: the
	// division and the split then run beside pass 3 and the next row's
	// passes rather than ahead of pass 3, and hi and lo are not read back
	// from cur as one 8-byte load of two 4-byte stores. Measured alone
	// (before pass 1 ran ahead): 0.39-0.40 against 0.40-0.41 ns per
	// element at 100 columns, 0.38-0.40 against 0.40-0.42 at 64; on top
	// of pass 1 ahead, 0.36-0.38 against 0.39-0.40 at 100 columns.
	//
	// The reduction of S's lanes and its NaN check come after the pending
	// row's pass 3 too, which marks no row pending before the check (a
	// row whose S is NaN is filled, and none is pending after it): the
	// reduction tree's 7 operations, a chain of some 20 cycles that ends
	// in a branch, then wait beside pass 3 rather than before it.
	// Measured on top of the rest: 0.35 against 0.36 ns per element at 64
	// and 100 columns, 0.30 against 0.31 at 128, and the same at 200.
	frame := g.AllocLocal(48 + s.z.frameSize())
	pend, cur := frame, frame.Offset(32)
	g.MOVQ(U32(0), pend.Offset(24))
	moffs := frame.Offset(48) // the current row's mask offset, then the pending one's
	var outKept, outKeptIn func(p, q Mem, n int, mask reg.Register)
	if s.keepS {
		if !s.ahead {
			panic("keepS needs ahead")
		}
		s.sf = g.AllocLocal(sfBufs + 2*4*sCols + 64)
		outKept, outKeptIn = s.outKeptS(hiv, lov), s.outKeptIn(hiv, lov)
	}
	late := func(name, after string) {
		g.CMPQ(pend.Offset(24), U32(0))
		g.JE(LabelRef(after))
		g.VBROADCASTSS(pend, hiv)
		g.VBROADCASTSS(pend.Offset(4), lov)
		s.z.restore(g, moffs.Offset(8)) // the causal kernel's k, which pass 3 with keepS needs too
		if s.keepS {
			kept := s.label(name + "all")
			g.CMPQ(s.sf.Offset(sfUse), U32(0))
			g.JE(LabelRef(kept))
			in := s.label(name + "in")
			g.CMPQ(s.sf.Offset(sfIn), U32(0))
			g.JNE(LabelRef(in))
			g.Comment("Pass 3: y = (1 + u) * (hi + lo) * s; u from dst, s from the frame.")
			s.pass3(name+"s", s.sf.Offset(sfPend), pend.Offset(24), after, outKept)
			g.Label(in)
			g.Comment("Pass 3 in place: u and s from the frame.")
			s.pass3(name+"i", s.sf.Offset(sfPend), pend.Offset(24), after, outKeptIn)
			g.Label(kept)
		}
		g.VBROADCASTSS(pend.Offset(8), s.cv)
		g.VPBROADCASTD(pend.Offset(12), s.biasv)
		g.Comment("Pass 3: y = (1 + u) * (hi + lo) * s; u from dst, or recomputed in place.")
		pass3 := func() {
			if s.long {
				g.CMPQ(s.inPlace, U32(inPlaceLong))
				g.JE(LabelRef(s.label(name + "nt")))
			}
			g.TESTQ(s.inPlace, s.inPlace)
			g.JNZ(LabelRef(s.label(name + "re")))
			s.pass3(name, pend.Offset(16), pend.Offset(24), after, outStored)
			g.Label(s.label(name + "re"))
			s.pass3(name+"re", pend.Offset(16), pend.Offset(24), after, outRecompute)
			if s.long {
				g.Label(s.label(name + "nt"))
				s.pass3NT(name+"nt", pend.Offset(16), pend.Offset(24), after, hiv, lov)
			}
		}
		if s.zeroC {
			s.ifZeroC(name, pass3)
		} else {
			pass3()
		}
		g.Label(after)
	}

	s.rowsKernel(func(zero reg.VecVirtual) { g.VPXORD(zero, zero, zero) }, func(sum reg.VecVirtual) {
		var hi, lo reg.VecVirtual
		if !s.ahead {
			hi, lo = s.invSplit(sum)
			g.Comment("Keep this row's hi, lo, c and bias; pass 3 runs a row late.")
			g.VMOVSS(hi, cur)
			g.VMOVSS(lo, cur.Offset(4))
		} else {
			g.Comment("Keep this row's c and bias; pass 3 runs a row late.")
		}
		g.VMOVSS(s.cv.AsX(), cur.Offset(8))
		g.VMOVD(s.biasv.AsX(), cur.Offset(12))
		s.z.save(g, moffs)
		late("out", s.label("prev"))
		w := g.GP64()
		if s.ahead && s.z != nil && s.z.rows != nil {
			s.z.restore(g, moffs) // this row's k, which a NaN S fills
		}
		if s.ahead {
			g.Comment("This row's S, NaN check and split 1/S, after the pending row's pass 3.")
			sum = s.reduceSum(s.acc[0], s.acc[1])
			g.MOVQ(U32(0), pend.Offset(24)) // the pending row is done
			g.VUCOMISD(sum, sum)
			g.JP(LabelRef(s.label("nanrow")))
			hi, lo = s.invSplit(sum)
			g.VMOVSS(hi, pend)
			g.VMOVSS(lo, pend.Offset(4))
		} else {
			g.MOVQ(cur, w)
			g.MOVQ(w, pend)
		}
		g.MOVQ(cur.Offset(8), w)
		g.MOVQ(w, pend.Offset(8))
		s.z.pend(g, moffs, w)
		g.MOVQ(s.src, pend.Offset(16))
		g.MOVQ(s.dst, pend.Offset(24))
		if s.keepS {
			g.Comment("This row's s buffer is the pending row's; the next row takes the other.")
			g.MOVQ(s.sf.Offset(sfCur), w)
			g.MOVQ(w, s.sf.Offset(sfPend))
			g.XORQ(s.sf.Offset(sfSwap), w)
			g.MOVQ(w, s.sf.Offset(sfCur))
		}
		g.JMP(LabelRef(s.label("next")))
	}, func() {
		g.Comment("Pass 3 of the last finite row.")
		late("last", s.label("flushed"))
	})
}

// longRows: a row of longCols elements or more (1 MiB) is read from
// memory by every pass, and SoftmaxRowsAVX512 gives such rows passes that
// save memory traffic (the bits are the same):
//
//   - Pass 2 keeps no u in dst, as in place (inPlace is inPlaceLong), and
//     pass 3 recomputes it from x: storing u cost a write of the row and
//     a read of dst for ownership, and reading it back another read.
//   - Pass 3 writes dst with non-temporal stores (VMOVNTPS), which go to
//     memory without reading the line first: a peel of 0 to 15 elements
//     up to a 64-byte boundary of dst and the row's last 0 to 15 elements
//     are stored as usual, under masks, and an SFENCE ends the pass.
//
//   - Passes 1 and 2 run as one fused pass that reads x once, on a guess
//     that it checks at the end, with passes 1 and 2 after it where the
//     guess fails (see fused).
//
// The long-row passes are chosen once per call, by cols, and need a dst
// aligned to 4 bytes, as Go allocates float32s. Measured (ns per element,
// thread CPU time, the least of 20 runs alternating with the previous
// kernel and copy, 8 rows of 4,194,304 columns, N(0, 3) logits): 0.55
// against 0.74, where copy(dst, src) took 0.25 (2.2x copy against 2.9x);
// pass 2 without u and pass 3 with non-temporal stores alone took 0.64
// against 0.69 (copy 0.25). A read pass alone (one load per cache line)
// takes 0.14-0.15 there, so the fused pass costs about 0.2 and pass 3,
// reading x and writing dst, about 0.3 against copy's 0.25: the
// exponential's operations do not all hide behind the memory traffic.
// At 262,144 columns (8 rows, in L3) the same as before: 0.35 against
// 0.36. Keeping u (stored by the fused pass, read back by pass 3 with
// its non-temporal stores) measured 0.66-0.72 against 0.52-0.56 for the
// recomputation (copy 0.23-0.25). SoftmaxRowsAVX2 runs long rows as
// others: with pass 2 keeping no u and pass 3 recomputing it with
// non-temporal stores, but without the fused pass, it measured 1.12
// against 0.82 ns per element (copy 0.26), its exponential costing more
// than the traffic saved. SoftmaxLongRowsAVX2 adds the fused pass and a
// prefetch, and runs large batches of long rows (see softmaxLongAVX2).

// setLong emits inPlace = inPlaceLong for rows of longCols elements or
// more and a dst aligned to 4 bytes.
func (s *sm512) setLong() {
	g := s.g
	short := s.label("notlong")
	g.CMPQ(s.cols, U32(longCols))
	g.JB(LabelRef(short))
	g.TESTQ(U32(3), s.dst)
	g.JNZ(LabelRef(short))
	g.MOVQ(U32(inPlaceLong), s.inPlace)
	g.Label(short)
}

// The fused pass of a long row: passes 1 and 2 in one read of x, on the
// guess that the row's c is 0 and that no term is flushed. A term of the
// row's S is (1 + u_i) * 2^(n_i - nm), formed in float64 as u_i*s_i + s_i
// with s_i = 2^(n_i - nm) a float32, which is 0 (flushed) when
// n_i - nm < -126; u_i and n_i depend on x_i - c alone. The fused pass
// takes c = 0 and scales the terms by s'_i = 2^(n_i - G) instead, for G
// the n of the row's first vector's max (which is at most the row's max),
// and tracks the row's max m and min. Its sum S' is the canonical S times
// 2^(nm - G), bit for bit, for a row without NaN, when:
//
//   - m is finite and |m| <= 208, so that the canonical c is 0 too and
//     u_i and n_i are the same;
//   - no term is flushed in either scaling: n_min - nm >= -126, for
//     n_min the n of the row's min. n is monotonic in x (so is the clamp
//     at -320), so n_min <= G <= nm, which makes n_min - G >= -126 too,
//     and nm - G <= 126: no s'_i overflows float32. A -Inf element,
//     clamped to -320, fails the check;
//   - the lanes past the row's end in its last vector, loaded as -Inf,
//     whose n is nLo = round(-320*log2e) = -462, get s' = 0 as they get
//     s = 0: nLo - G <= -127. Their terms would be below 2^-162 of S,
//     but they could still break a tie in a float64 rounding.
//
// Then every s'_i and s_i = s'_i * 2^(G - nm) are normal float32s, and
// every term, partial and accumulator lies between 2^-130 and 2^150 or
// is 0, far inside float64's normal range, where the rounding of an FMA
// or an add commutes with a scaling by a power of two: the accumulators
// times 2^(G - nm) are the canonical ones. A row with a NaN has a NaN S'
// (the NaN term), which stays NaN when scaled, and the row is filled
// with NaN as its canonical S makes it. Otherwise (an infinity, a -Inf
// element, |m| > 208, a row whose elements span more than about 87 in
// value, or a first vector below about -232) the row runs passes 1
// (with the fused pass's max, which, as pass 1's, skips NaNs only
// partly) and 2 as any row does. The checks on n_min and nLo guard
// against terms far below S's last bit, so that no test of random rows
// sees them fail; they keep the bits exact in the rare rounding ties.
//
// With fuse (ScaledSoftmaxLongRowsAVX512, on z), the min leaves out the
// elements at or below reduceLo (-320), of an attention mask's -Inf or
// -1e30: their n is nLo, like the lanes past the row, and by the check
// on G their terms are 0 in both scalings. Checked on the min of every
// element, every row with such an element would run passes 1 and 2 again.
//
// With minW as well, the check leaves out every element whose s' is 0:
// for w_i = n_i - G + 127 (the sum bits(t_i) + bias that stage B forms
// before its max with 0), s'_i is 0 for w_i <= 0 and 2^(w_i - 127), a
// normal float32, for w_i >= 1; s_i = 2^(w_i - 127 - (nm - G)) is 0 for
// w_i <= nm - G and normal above. So an element with w_i <= 0 has a term
// of 0 in both scalings, one with w_i > nm - G a normal s in both, and
// the guess needs no w_i in [1, nm - G]: the unsigned min of every w_i
// (a negative w_i is above 2^31 as unsigned; the lanes past the row are
// clamped, w = nLo - G + 127 <= 0 by the check on G) must be at least
// 1 + nm - G. A w_i of 0 fails the check though its terms match, and a
// NaN's bits give some w: a failed guess costs only the passes after it.
// Rows whose elements span more than about 87 in value, but whose low
// elements' terms are 0 either way, then keep the fused pass's result.

// nLo is round(-320*log2e): the n of an element clamped to reduceLo.
const nLo = -462

// fused emits the fused pass of a long row at src into s.acc, the row's
// max into every lane of m, and its c (0) and bias; it jumps to done on
// success, and to fail, with m set, where the row needs passes 1 and 2.
func (s *sm512) fused(m reg.VecVirtual, fail, done string) {
	g, c, k := s.g, s.c, s.k
	g.Comment("The fused pass of a long row: passes 1 and 2 in one, on the guess that c = 0.")
	g.Label(s.label("fused"))
	// G: the n of the first vector's max; biasv = 127 - bits(t_G).
	a := g.ZMM()
	if s.z == nil && !s.fuse {
		// SoftmaxRowsAVX512's long rows: 16 elements or more.
		g.VMOVUPS(Mem{Base: s.src}, a)
	} else {
		// z (or x: LogSoftmaxLongRowsAVX512, whose rows may be of any
		// length) of the first vector's elements in the row, -Inf past
		// it.
		kf, w, wm := g.K(), g.GP32(), g.GP32()
		g.MOVL(U32(0xffff), w)
		g.KMOVW(s.km, wm)
		g.CMPQ(s.cols, U32(16))
		g.CMOVLLT(wm, w)
		g.KMOVW(w, kf)
		z := g.ZMM()
		s.loadIn(Mem{Base: s.src}, kf, z)
		g.VBROADCASTSS(c.scalar("negInf"), a)
		g.VBLENDMPS(z, a, kf, a)
	}
	s.foldAll(a, g.VMAXPS)
	g.VMAXPS(k["reduceLo"], a, a)
	tg := g.ZMM()
	g.VMOVAPS(k["magic"], tg)
	g.VFMADD231PS(k["log2e"], a, tg)
	b127 := g.ZMM()
	g.VPBROADCASTD(c.scalar("bias127"), b127)
	g.VPSUBD(tg, b127, s.biasv)
	g.VMOVAPS(s.zero, s.cv)
	var ng reg.GPVirtual
	if s.fuse {
		// G's bits and 127 out of the vector registers, which the pass
		// with z needs.
		ng = g.GP32()
		g.VMOVD(tg.AsX(), ng)
	}
	span := [2]reg.VecVirtual{m, g.ZMM()}
	g.VBROADCASTSS(c.scalar("negInf"), span[0])
	if s.minW {
		g.VBROADCASTSS(c.scalar("nan"), span[1]) // above every w that counts
	} else {
		g.VBROADCASTSS(c.scalar("posInf"), span[1])
	}
	name, keepU := s.name, s.keepU
	s.name, s.noSub, s.keepU, s.span = name+"f", true, s.fuse && keepU, &span
	accLo, accHi := s.acc[0], s.acc[1]
	g.VPXORQ(accLo, accLo, accLo)
	g.VPXORQ(accHi, accHi, accHi)
	g.MOVQ(s.src, s.p)
	if s.keepU {
		g.MOVQ(s.dst, s.q)
	}
	g.MOVQ(s.cols, s.i)
	s.pipeline2(accLo, accHi)
	g.Label(s.label("sumred"))
	s.name, s.noSub, s.keepU, s.span = name, false, keepU, nil

	g.Comment("The checks of the guess (see above).")
	s.foldAll(m, g.VMAXPS)
	if s.minW {
		s.foldAll(span[1], g.VPMINUD)
	} else {
		s.foldAll(span[1], g.VMINPS)
	}
	mb := g.GP32()
	g.VMOVD(m.AsX(), mb)
	g.ANDL(U32(0x7fffffff), mb)
	g.CMPL(mb, U32(largeMaxBits))
	g.JA(LabelRef(fail)) // |m| > 208, an infinity or NaN
	tm, tmin := g.ZMM(), g.ZMM()
	g.VMOVAPS(k["magic"], tm)
	g.VFMADD231PS(k["log2e"], m, tm) // m - c = m
	if s.minW {
		nm, w, mw := g.GP32(), g.GP32(), g.GP32()
		g.VMOVD(tm.AsX(), nm)
		g.VMOVD(span[1].AsX(), mw)
		g.MOVL(nm, w)
		g.SUBL(ng, w)
		g.INCL(w) // 1 + nm - G
		g.CMPL(mw, w)
		g.JB(LabelRef(fail)) // a w in [0, nm - G]: s' and s not both 0 or both normal
		s.guessHolds(ng, nm, w, tm, b127, fail, done)
		return
	}
	g.VMAXPS(k["reduceLo"], span[1], span[1])
	g.VMOVAPS(k["magic"], tmin)
	g.VFMADD231PS(k["log2e"], span[1], tmin)
	nm, nmin := g.GP32(), g.GP32()
	if !s.fuse {
		ng = g.GP32()
	}
	w := g.GP32()
	g.VMOVD(tm.AsX(), nm)
	g.VMOVD(tmin.AsX(), nmin)
	if !s.fuse {
		g.VMOVD(tg.AsX(), ng)
	}
	g.MOVL(nm, w)
	g.SUBL(nmin, w)
	g.CMPL(w, U32(126))
	g.JG(LabelRef(fail)) // nmin - nm < -126
	s.guessHolds(ng, nm, w, tm, b127, fail, done)
}

// guessHolds emits the check on G and, where it holds, the scaling of
// S's accumulators and the row's bias, with the jump to done; w is a
// register it may overwrite.
func (s *sm512) guessHolds(ng, nm, w reg.GPVirtual, tm, b127 reg.VecVirtual, fail, done string) {
	g, c := s.g, s.c
	accLo, accHi := s.acc[0], s.acc[1]
	g.MOVL(ng, w)
	g.SUBL(U32(softmaxMagicBits+nLo+127), w)
	g.JL(LabelRef(fail)) // nLo - G > -127
	g.Comment("The guess holds: S's accumulators times 2^(G - nm), and the row's bias.")
	e := g.GP64()
	g.MOVL(ng, e.As32())
	g.SUBL(nm, e.As32())
	g.ADDL(U32(1023), e.As32()) // 1023 + G - nm, in [897, 1023]
	g.SHLQ(U8(52), e)
	f := g.XMM()
	g.VMOVQ(e, f)
	fv := g.ZMM()
	g.VBROADCASTSD(f, fv)
	g.VMULPD(fv, accLo, accLo)
	g.VMULPD(fv, accHi, accHi)
	if s.fuse {
		b127 = g.ZMM()
		g.VPBROADCASTD(c.scalar("bias127"), b127)
	}
	g.VPSUBD(tm, b127, s.biasv)
	g.JMP(LabelRef(done))
}

// softmaxMagicBits are the bits of the constant magic, 1.5*2^23.
const softmaxMagicBits = 0x4b400000

// foldAll folds the 16 lanes of a into every lane with op (VMAXPS or
// VMINPS), as maxOf does.
func (s *sm512) foldAll(a reg.VecVirtual, op func(ops ...Op)) {
	g := s.g
	x := g.ZMM()
	g.VSHUFF32X4(U8(0x4e), a, a, x)
	op(x, a, a)
	g.VSHUFF32X4(U8(0xb1), a, a, x)
	op(x, a, a)
	g.VPERMILPS(U8(0x4e), a, x)
	op(x, a, a)
	g.VPERMILPS(U8(0xb1), a, x)
	op(x, a, a)
}

// pass3NT emits SoftmaxRows's pass 3 of a long row (see longRows) at src
// and dst (memory holding the pointers), u recomputed from x, with
// non-temporal stores to dst from its first 64-byte boundary. It ends
// with a jump to the label after. name prefixes its labels.
func (s *sm512) pass3NT(name string, src, dst Op, after string, hiv, lov reg.VecVirtual) {
	g, p, q, i := s.g, s.p, s.q, s.i
	out := func(p, q Mem, n int, mask reg.Register) {
		x := s.loadX(p, n, mask)
		s.reduce(x)
		t := s.expU(x)
		s.scale(t, nil)
		s.normalize(x, t, hiv, lov)
		if mask != nil {
			s.store(x, q, mask)
			return
		}
		for j := range x {
			g.VMOVNTPS(x[j], q.Offset(64*j))
		}
	}
	label := func(l string) string { return s.label(name + l) }
	g.MOVQ(src, p)
	g.MOVQ(dst, q)
	g.MOVQ(s.cols, i)
	tbl, h := g.GP64(), g.GP64()
	g.LEAQ(g.tailMask16(), tbl)
	g.Comment("The elements before dst's first 64-byte boundary, stored as usual.")
	g.MOVQ(q, h)
	g.NEGQ(h)
	g.SHRQ(U8(2), h)
	g.ANDQ(U32(15), h)
	g.JZ(LabelRef(label("64")))
	kh := g.K()
	g.KMOVW(Mem{Base: tbl, Index: h, Scale: 2}, kh)
	out(Mem{Base: p}, Mem{Base: q}, 1, kh)
	g.LEAQ(Mem{Base: p, Index: h, Scale: 4}, p)
	g.LEAQ(Mem{Base: q, Index: h, Scale: 4}, q)
	g.SUBQ(h, i)
	g.Label(label("64"))
	g.CMPQ(i, U32(64))
	g.JB(LabelRef(label("16")))
	for d := 0; d < 256; d += 64 {
		g.PREFETCHT0(Mem{Base: p, Disp: pfNT + d})
	}
	out(Mem{Base: p}, Mem{Base: q}, 2, nil)
	out(Mem{Base: p, Disp: 128}, Mem{Base: q, Disp: 128}, 2, nil)
	g.ADDQ(U32(256), p)
	g.ADDQ(U32(256), q)
	g.SUBQ(U32(64), i)
	g.JMP(LabelRef(label("64")))
	g.Label(label("16"))
	g.CMPQ(i, U32(16))
	g.JB(LabelRef(label("tail")))
	out(Mem{Base: p}, Mem{Base: q}, 1, nil)
	g.ADDQ(U32(64), p)
	g.ADDQ(U32(64), q)
	g.SUBQ(U32(16), i)
	g.JMP(LabelRef(label("16")))
	g.Label(label("tail"))
	g.TESTQ(i, i)
	g.JZ(LabelRef(label("fence")))
	kt := g.K()
	g.KMOVW(Mem{Base: tbl, Index: i, Scale: 2}, kt)
	out(Mem{Base: p}, Mem{Base: q}, 1, kt)
	g.Label(label("fence"))
	g.SFENCE()
	g.JMP(LabelRef(after))
}

// outPasses returns SoftmaxRows's pass 3 bodies for the row's 1/S split
// into hiv + lov: outStored for n vectors whose u pass 2 left at q, and
// outRecompute for those of a row computed in place, whose u is
// recomputed from x.
func (s *sm512) outPasses(hiv, lov reg.VecVirtual) (outStored, outRecompute func(p, q Mem, n int, mask reg.Register)) {
	outStored = func(p, q Mem, n int, mask reg.Register) {
		x := s.loadX(p, n, mask)
		s.reduce(x)
		t := s.roundT(x)
		s.scale(t, nil)
		u := s.load(q, n, mask)
		s.normalize(u, t, hiv, lov)
		s.store(u, q, mask)
	}
	outRecompute = func(p, q Mem, n int, mask reg.Register) {
		x := s.loadX(p, n, mask)
		s.reduce(x)
		t := s.expU(x)
		s.scale(t, nil)
		s.normalize(x, t, hiv, lov)
		s.store(x, q, mask)
	}
	return outStored, outRecompute
}

// invSplit emits 1/S for the float64 sum S in the low lane of sum, split
// into float32 hi + lo, in the low lanes of the two xmm registers returned.
func (s *sm512) invSplit(sum reg.VecVirtual) (hi, lo reg.VecVirtual) {
	g, c := s.g, s.c
	g.Comment("1/S as float32 hi + lo.")
	one := g.XMM()
	g.VCVTSS2SD(c.scalar("one"), one, one)
	inv := g.XMM()
	g.VDIVSD(sum, one, inv)
	hi = g.XMM()
	g.VCVTSD2SS(inv, inv, hi)
	hi64 := g.XMM()
	g.VCVTSS2SD(hi, hi, hi64)
	d := g.XMM()
	g.VSUBSD(hi64, inv, d)
	lo = g.XMM()
	g.VCVTSD2SS(d, d, lo)
	return hi, lo
}

// softmaxOut returns the softmax last pass of a kernel that shares
// SoftmaxRowsAVX512's passes (CrossEntropyRowsAVX512), the out function of
// rowsKernel, with a jump to after at its end: dst = softmax(src) for the
// row's sum S, from the u pass 2 left in dst, or recomputed if dst is src.
// Unlike SoftmaxRowsAVX512's, it runs at once, not a row late.
func (s *sm512) softmaxOut(after string) func(sum reg.VecVirtual) {
	g := s.g
	hiv, lov := g.ZMM(), g.ZMM() // the row's 1/S, split
	outStored, outRecompute := s.outPasses(hiv, lov)
	return func(sum reg.VecVirtual) {
		hi, lo := s.invSplit(sum)
		g.VBROADCASTSS(hi, hiv)
		g.VBROADCASTSS(lo, lov)
		g.Comment("Pass 3: y = (1 + u) * (hi + lo) * s; u from dst, or recomputed in place.")
		pass3 := func() {
			g.TESTQ(s.inPlace, s.inPlace)
			g.JNZ(LabelRef(s.label("re")))
			s.pass3("out", s.src, s.dst, after, outStored)
			g.Label(s.label("re"))
			s.pass3("re", s.src, s.dst, after, outRecompute)
		}
		if s.zeroC {
			s.ifZeroC("out", pass3)
		} else {
			pass3()
		}
	}
}

// longOut is softmaxOut for the passes of a long row that keeps no u
// (fuse without keepU: CrossEntropyLongRowsAVX512): pass 3 recomputes u
// from x, with back from the row's end, and stores with VMOVNTPS where
// the row's dst and cols*4 are multiples of 64 (ntSplit), so that every
// whole vector's store is aligned; the row's last cols%16 lanes, and
// every vector of the other rows, are stored as usual.
func (s *sm512) longOut(after string) func(sum reg.VecVirtual) {
	g := s.g
	hiv, lov := g.ZMM(), g.ZMM() // the row's 1/S, split
	_, outRecompute := s.outPasses(hiv, lov)
	pass3 := ntSplit(g, &s.cols, s.label, 64, &s.nt, func(name string, src, dst Op, after string) {
		s.pass3(name, src, dst, after, outRecompute)
	})
	return func(sum reg.VecVirtual) {
		hi, lo := s.invSplit(sum)
		g.VBROADCASTSS(hi, hiv)
		g.VBROADCASTSS(lo, lov)
		g.Comment("Pass 3: y = (1 + u) * (hi + lo) * s, u recomputed from x.")
		s.ifZeroC("out", func() { pass3("re", s.src, s.dst, after) })
	}
}

// labelCount numbers the labels of uniqueLabel, per prefix.
var labelCount = map[string]int{}

// uniqueLabel returns a new label name with the given prefix, for code
// emitted more than once. The numbering depends only on the order of
// generation, so the output stays deterministic.
func uniqueLabel(prefix string) string {
	labelCount[prefix]++
	return fmt.Sprintf("%s_%d", prefix, labelCount[prefix])
}

// sm256 is the AVX2 counterpart of sm512. A vector of the fallback's 16
// lanes is two ymm registers, lanes 0-7 and 8-15. With 16 ymm registers,
// the constants are memory operands, and so are the row's c and bias and
// the float64 lane accumulators, kept in the frame.
type sm256 struct {
	g    *gen
	c    *constTable
	name string // the prefix of the function's labels

	cv, biasv Mem // the row's parameters, 8 lanes each
	acc       Mem // float64 lanes 0-15, 128 bytes
	buf       Mem // 64 bytes for tails read through the stack

	keepU   bool // as sm512's
	inPlace reg.GPVirtual
	hooks   rowHooks
	z       *zin
	zDst    bool // with z: pass 1 stores z in dst, where pass 2 and the NaN scan read it (fused.go)
	m       reg.Register

	dst, src, cols reg.GPVirtual // as sm512's
	tailN          reg.GPVirtual // cols % 16: the lanes of a row's last vector
	mtab           reg.GPVirtual // the VMASKMOVPS masks of those lanes
	p, q, i        reg.GPVirtual

	// ahead, zeroC and noSub are sm512's: ahead for SoftmaxRowsAVX2,
	// LogSoftmaxRowsAVX2, ScaledSoftmaxRowsAVX2 and CausalSoftmaxRowsAVX2
	// (fused.go, whose peek hooks set up the next row's pass 1, and whose
	// pass 1 a row ahead stores that row's z in its dst, with zDst), zeroC
	// for those and LogSumExpAVX2 and CrossEntropyRowsAVX2 (see
	// logSoftmaxAVX2 and crossEntropyAVX2); with ahead the next row's max
	// waits in the frame at mNext, and S's reduction, its NaN check and 1/S
	// come after the pending row's pass 3 (see softmaxRows). Measured (ns per element, thread CPU time, the
	// least of 60 runs, batches of 1 MiB, Zen 5): ahead took 0.74 to 0.68
	// at 100 columns and 0.52-0.53 to 0.52 from 1024 on; zeroC on top of
	// it 0.68 to 0.62-0.63 at 100 columns, 0.52 to 0.48 at 1024, 0.52 to
	// 0.49-0.50 at 4096, 32000 and 128256.
	ahead, zeroC, noSub bool
	mNext               Mem

	// overTail, for SoftmaxRowsAVX2 and ScaledSoftmaxRowsAVX2 (with a
	// mask row per row, one for every row, or none), makes the late pass
	// 3 of softmaxRows run the last cols%16 lanes of a row of 16 or more
	// elements as the whole vector that ends at the row's end (see
	// pass3Of; LogSoftmaxRowsAVX2 and ScaledLogSoftmaxRowsAVX2 set it for
	// their pass 3, see logSoftmax256, their figures in logSoftmaxAVX2
	// and scaledAVX2): a row's two VMASKMOVPS stores, and its two masked
	// loads behind the page check, become whole loads and stores through
	// buf, for one vector more of pass 3. Measured on AMD EPYC Zen 3, AVX2
	// (ns per element, thread CPU time, the lower quartile of 200 calls
	// on 1 MiB batches, N(0, 4) logits; the least over N runs
	// alternating with the kernel before, the median of the N ratios,
	// and the runs it won), N = 20: 0.786 against 0.855 at 100 columns
	// (0.92x, 17 runs), 0.671 against 0.698 at 300 (0.97x, 13 runs; 0.98x
	// and 14 in another 20), in place 0.779 against 0.842 at 100 (0.91x,
	// 17 runs) and 0.639 against 0.658 at 300 (0.98x, 11 runs; 0.89x and
	// 11 in another 20); the same within the noise at 1000 (1.00x, 10
	// runs), as at 1024, 4096, 8192, 32000 and 128256 (0.99-1.01x, 9 to
	// 11 runs), whose rows it leaves as they were. ScaledSoftmaxRowsAVX2,
	// the same measure, scale 1/8, a mask of N(0, 1/4) with one element in
	// 8 -1e30, N = 40: one mask row per row 0.923 against 0.976 at 100
	// columns (0.94x, 28 runs; 0.94x and 29 in another 40), 0.743 against
	// 0.757 at 300 (1.00x, 20 runs; 0.99x and 21 in another 40), 0.666
	// against 0.673 at 1000 (0.97x, 27 runs, but 1.00x and 18 in another
	// 40, 1.06x and 6 in 20: the same within the noise); in place 0.914
	// against 0.989 at 100 (0.89x, 35 runs), 0.721 against 0.760 at 300
	// (0.96x, 29 runs), 0.704 against 0.705 at 1000 (0.98x, 25 runs); one
	// mask row for every row 0.906 against 0.964 at 100 (0.90x, 33 runs);
	// no mask 0.875 against 0.940 at 100 (0.92x, 30 runs).
	overTail bool

	// tailPipe is sm512's, for SoftmaxRowsAVX2, LogSoftmaxRowsAVX2,
	// LogSumExpAVX2, CrossEntropyRowsAVX2, ScaledSoftmaxRowsAVX2 and
	// CausalSoftmaxRowsAVX2 (see pipeline2Tail).
	tailPipe bool

	// regOut, for CrossEntropyRowsAVX2 and ScaledSoftmaxLongRowsAVX2,
	// makes softmaxOut's pass 3 keep its constants in registers, as
	// SoftmaxRowsAVX2's does (see outStoredRegs), and with z scale too.
	regOut bool

	// logOut, for LogSoftmaxRowsAVX2 and ScaledLogSoftmaxRowsAVX2, makes
	// their pass 3 store whole vectors a quarter at a time and run only
	// the lower half of a last vector of at most 8 elements (see
	// logSoftmax256).
	logOut bool

	// prefetch is sm512's, with ahead and zDst (pass 2 then reads z in
	// dst): pf holds the distance from dst's block to the next row's x,
	// and to its mask's, set for each row (see prefetchNext).
	prefetch bool
	pf       Mem
	pfMask   bool // with a mask: pf+8 holds the distance to its next row

	// magic, while pipeline2Tail emits the pipeline of a kernel without
	// z, holds the constant magic, which stage A reads twice a ymm: two
	// loads fewer a ymm, in the register that invSplit's read of a
	// register it had not written kept from pass 2 (LogSoftmaxRowsAVX2,
	// logOut, has none left for it). Measured on AMD EPYC Zen 3, AVX2, on
	// top of pipeA's clamp into r (SoftmaxRowsAVX2, ns per element,
	// thread CPU time, the lower quartile of 200 calls, 16 runs
	// alternating with the kernel before, batches of 1 MiB, N(0, 4)
	// logits; the median of the runs' ratios): 0.961x its time at 1024
	// columns (12 runs of 16 won), 0.968x at 4096 (12), 0.981x at 32000 (9).
	magic reg.VecVirtual
	// stored, while pipeline2Tail emits its loop for rows whose u
	// (stored 1) or u and s (stored 2: keepS, out of place or kept in the
	// buffer) pass 2 stores, makes stage B store them without its tests
	// and stage C read their upper halves back from memory (VCVTPS2PD
	// m128, from the 256-bit store a step before) rather than extract
	// them: a VEXTRACTF128 fewer for each, and the tests and branches of
	// the stores out of the loop, which the row takes after its first
	// block. Measured on AMD EPYC Zen 3, AVX2, against the loop of
	// pipeline2Tail alone (SoftmaxRowsAVX2, as magic, 12 runs): 0.550 ns
	// per element against 0.570 at 1024 columns (0.952x, 10 runs of 12
	// won), 0.548 against 0.577 at 4096 (0.957x, 8), 0.616 against 0.642
	// at 32000 (0.960x, 10; u alone stored), 0.638 against 0.671 at 128256
	// (0.969x, 8), in place 0.660 against 0.675 at 4096 (0.974x, 9).
	stored int

	// fuse is sm512's, for ScaledSoftmaxLongRowsAVX2 (see fused256.go);
	// span, while its fused pass is emitted, is the frame's 96 bytes
	// that hold the running max and min of the terms' exponents, which
	// stage B updates, and the row's bias - 1 (see spanUpdate).
	fuse bool
	span *Mem
	// back is sm512's, for ScaledSoftmaxLongRowsAVX2: pass 3 of a row of
	// more than prefetchCols elements runs from the row's end to its
	// start (loop3.back, see scaledLongAVX2).
	back bool
	// pfSelf, for SoftmaxLongRowsAVX2, makes pass 2 prefetch the row's
	// own x pfSelf bytes ahead of each block; nt, while pass 3 of
	// SoftmaxLongRowsAVX2 is emitted, makes its whole vectors' stores
	// non-temporal (see longOut).
	pfSelf int
	nt     bool

	// keepS is sm512's, for SoftmaxRowsAVX2: pass 2
	// stores s to one of two buffers of the frame (sf, laid out as
	// sm512's) for rows of at most sCols256 elements, in place too
	// (see setKeepS), and pass 3 takes it there as the memory operand of its
	// multiply instead of recomputing it from x (see keptOut). sDelta is
	// sm512's. Pass 3 then runs 4 vector operations a half, not 10.
	// Measured (ns per element, thread CPU time, the lower quartile of
	// 200 runs alternating with SoftmaxRowsAVX512, batches of 1 MiB,
	// N(0, 4) logits), with 1024 columns for its rows: 0.661 against
	// 0.718 at 100 columns (1.59x against 1.75x SoftmaxRowsAVX512's
	// time), 0.554 against 0.618 at 200 (1.77x against 1.93x), 0.512
	// against 0.566 at 1024 (1.98x against 2.10x), 0.665 against 0.662
	// at 64; then up to 4096 (see sCols256). In place, for rows of at
	// most sCols256/2 elements, pass 2 keeps u in the buffer too, as
	// sm512's does (see sfInS256); above that it stores u over x in dst,
	// as out of place, since pass 3 then reads no x.
	//
	// ScaledSoftmaxRowsAVX2 and its NoMask form (fused.go) run it too,
	// pass 2 storing s beside the u it stores over z in dst (zDst): pass
	// 3 then computes no z, which it otherwise recomputes from x and the
	// mask (see scaledAVX2 for the figures).
	keepS  bool
	sf     Mem
	sDelta reg.GPVirtual

	// nextMax is sm512's, with ahead and tailPipe, for SoftmaxRowsAVX2:
	// stage A of pass 2 takes the max of the next row's vector at the
	// offset of each whole vector it loads (the row's last vector under
	// the masks, of cols%16 lanes, after the pipeline), into one
	// accumulator, nm, as the memory operand of its VMAXPS; the max goes
	// to mNext, and no loop after pass 2 reads the next row. Stage C
	// then converts the upper halves of u and s in place, so that the
	// accumulator finds a register. Measured (ns per element, thread CPU
	// time, the lower quartile of 200-300 runs alternating with the
	// kernel before and SoftmaxRowsAVX512, batches of 1 MiB, N(0, 4)
	// logits): 0.508-0.537 against 0.526-0.557 at 1024 columns (1.84-1.85x
	// SoftmaxRowsAVX512's time against 1.91x), 0.544 against 0.574 at 2048
	// (1.83x against 1.94x), 0.537-0.578 against 0.572-0.600 at 4096
	// (1.87-1.93x against 1.99-2.00x), 0.551-0.582 against 0.580-0.604 at
	// 32000 (1.82-1.83x against 1.89-1.92x), 0.592 against 0.626 at 300;
	// the same within the noise at 64 to 200.
	//
	// With zDst (ScaledSoftmaxRowsAVX2 and its NoMask form, fused.go),
	// pass 2 reads the row's z in dst, and stage A computes the next
	// row's z from its x (at nextX from p, which walks dst) and its mask
	// row (at nextM), stores it in the next row's dst at the same offset,
	// where that row's pass 2 reads it, and takes its max: the work of
	// pass 1 a row ahead (maxOf) moves into the pass that reads the row
	// anyway, and the prefetch of the next row (prefetchNext) is skipped.
	// Stage A leaves the next row alone (nextX is 0, one test and branch
	// a vector), and maxOf runs after pass 2 as before, on the last row
	// (whose next row is itself, its z over its x in place), in place,
	// and on rows of fewer than nextZCols elements. Measured
	// (ScaledSoftmaxRowsAVX2, thread CPU time, the lower quartile of 200
	// runs alternating with the kernel before and SoftmaxRowsAVX2,
	// batches of 1 MiB, scale 1/8, x N(0, 4), mask N(0, 1/4) with 1 in 8
	// -Inf), out of place, one mask row per row, one for every row, no
	// mask: 0.87x, 0.87x, 0.91x the time at 8192 columns (1.04x, 1.03x,
	// 1.03x SoftmaxRowsAVX2's against 1.20x, 1.19x, 1.13x), 0.90x, 0.90x,
	// 0.94x at 4096 (1.04x, 1.03x, 1.01x against 1.16x, 1.14x, 1.08x),
	// 0.97-0.98x at 1024 and 300, 0.98-0.99x at 100, 1.00-1.02x at 50 and
	// 10. In place it measured 1.05-1.18x the time at 1024, 4096 and 8192
	// columns (rows a multiple of 4 KiB apart; in place at 1024 columns
	// SoftmaxRowsAVX2, whose nextMax runs there, takes 1.09-1.15x this
	// kernel's time; in place at powers of 2 these may have read their
	// input from DRAM, see sm512.nmAlias) and 0.98-1.00x at 100 to 2000, so in place it does
	// not run; nor below nextZCols, where it measured 1.12-1.26x the time
	// at 17 and 20 columns: the masked load of the row's last vector,
	// which reaches into the next row, waits on the store of the next
	// row's first z just before it. Skipping the prefetch measured
	// 0.97-0.99x the time at 300 to 8192 columns, out of place.
	nextMax      bool
	nm           reg.VecVirtual
	nextOff      reg.GPVirtual
	nextX, nextM reg.GPVirtual
	rows, bytes  reg.GPVirtual
	// zr and srcR are z and src while readZ has the passes read z in dst.
	// During pass 2, with zDst, moff waits in the frame at moffs and cols
	// is bytes/4: their registers serve nextX and nextM.
	zr    *zin
	srcR  reg.GPVirtual
	moffs Mem
}

// sCols256 is sCols for the AVX2 kernels (sm256.keepS): the frame holds
// two rows' s, 4096 elements each (32 KiB) at first. Pass 3 there runs 4 vector
// operations a half against 10 (6 with the memory operands of
// outStored), which pays on rows that sm512's sCols left out then (1024).
// Measured against 1024 (ns per element, thread CPU time, the lower quartile of
// 200 runs alternating with the kernel before and SoftmaxRowsAVX512,
// batches of 1 MiB, N(0, 4) logits): SoftmaxRowsAVX2 0.452 against 0.485
// at 4096 columns (1.78x SoftmaxRowsAVX512's time against 1.91x), 0.454
// against 0.489 at 2048 (1.78x against 1.92x); the same at 1024 and 8192.
//
// It is 8192, as sCols (64 KiB of frame): s up to 8192 columns out of
// place, u and s up to 4096 in place (at 4096 itself since; see
// setKeepS), and since then s up to 8192 in place too, with u in dst
// above 4096 (see setKeepS). Measured against 4096 (the lower
// quartile of 200 runs alternating with the kernel before and
// SoftmaxRowsAVX512): SoftmaxRowsAVX2 0.450 against 0.485 at 6144
// columns (1.87x SoftmaxRowsAVX512's time against 2.01x), 0.466 against
// 0.502 at 8192 (1.87x against 2.02x); in place 0.467 against 0.765 at
// 3072 (1.74x against 2.86x), 0.478 against 0.803 at 4095 (1.75x
// against 2.94x); the same at 2048 and 4096. ScaledSoftmaxRowsAVX2, one
// mask row per row, 0.546 against 0.601 at 6144, 0.566 against 0.625 at
// 8192, in place 0.522 against 0.847 at 3072, 0.544 against 0.890 at
// 4095.
const sCols256 = 8192

// sfInS256 is sfInS for sCols256: in place, u fills the bytes of a
// buffer before it, s those after, for rows of up to sCols256/2
// elements (fewer than sCols256/2 before the limit's last change);
// pass 3 then recomputes neither, where it recomputed the exponential
// from x before (it still does above sCols256). Measured in place (ns per element, thread CPU
// time, the lower quartile of 200 runs alternating with the kernel
// before, batches of 1 MiB, N(0, 4) logits): SoftmaxRowsAVX2 0.576
// against 0.908 at 100 columns, 0.483 against 0.808 at 300, 0.541
// against 0.867 at 1024, 0.558 against 0.847 at 2048, the same at 4096;
// ScaledSoftmaxRowsAVX2, one mask row per row, 0.602 against 0.950 at
// 100, 0.499 against 0.817 at 1024, 0.503 against 0.821 at 2048.
const sfInS256 = 2 * sCols256

// setKeepS emits, at the start of SoftmaxRowsAVX2 and
// ScaledSoftmaxRowsAVX2, the frame of keepS: sm512.setKeepS for rows of
// up to sCols256 elements, in place too (u in the buffer up to
// sCols256/2).
func (s *sm256) setKeepS() {
	g := s.g
	keepSBufs(g, s.sf, sCols256)
	g.MOVQ(U32(0), s.sf.Offset(sfIn))
	done, in := s.label("keeps"), s.label("keepsin")
	g.TESTQ(s.inPlace, s.inPlace)
	g.JNZ(LabelRef(in))
	g.CMPQ(s.cols, U32(sCols256))
	g.JA(LabelRef(done))
	g.MOVQ(I32(-1), s.sf.Offset(sfUse))
	g.JMP(LabelRef(done))
	g.Label(in)
	// In place, pass 2 keeps s in the buffer as out of place does, and
	// stores u over x in dst: inPlace is then 0, so that pass 2 stores.
	// In place kept u out of dst because pass 3 recomputes s from x
	// where s is not kept (outStored); with s kept, pass 3 needs only u
	// and s, and nothing reads x after pass 2: pass 1 finds the rows
	// filled early, a NaN S fills the row without reading it, and pass 2
	// takes the next row's max from that row (on the last row, from its
	// own last lanes, which may hold u by then, into a max that nothing
	// uses). The scaled kernels store z over x in pass 1 and u over z in
	// pass 2. In place at 4097 to sCols256 columns, where pass 3 recomputed the
	// exponential before, SoftmaxRowsAVX2 measured (ns per element, AMD
	// EPYC Zen 3, AVX2, thread CPU time, the lower quartile of 200 runs,
	// batches of 1 MiB, N(0, 4) logits, the median of 8 runs alternating
	// with the kernel before) 0.770 against 1.108 at 4097 columns
	// (0.68x), 0.726 against 1.081 at 6144 (0.67x), 0.826 against 1.198
	// at 8192 (0.69x), faster in 8 runs of 8 at each; the same within the
	// noise at 4096, 16384 and 32000, and out of place at 4096, 8192 and
	// 32000. ScaledSoftmaxRowsAVX2, scale 1/8, one mask row per row
	// (N(0, 1/4), 1 in 8 -1e30), 0.871 against 1.312 at 6144 (0.73x),
	// 0.902 against 1.283 at 8192 (0.71x), 8 runs of 8. In 8 more runs,
	// its NoMask form 0.678 against 1.248 at 6144 (0.65x), 0.691 against
	// 1.263 at 8192 (0.64x), 8 of 8, and out of place at 8192 the same
	// within the noise.
	g.CMPQ(s.cols, U32(sCols256))
	g.JA(LabelRef(done))
	g.MOVQ(I32(-1), s.sf.Offset(sfUse))
	g.XORQ(s.inPlace, s.inPlace)
	// Up to sCols256/2 itself, u goes to the buffer too, as sm512's does
	// (u and s fill it exactly there): in
	// place at 4096 columns (rows 16 KiB apart), where pass 3 recomputed
	// the exponential before, SoftmaxRowsAVX2 measured 0.538 ns per
	// element against 0.800 (thread CPU time, the lower quartile of 300
	// runs alternating with the kernel before, batches of 1 MiB, N(0, 4)
	// logits), 1.20x its time at 4095 against 1.78x;
	// ScaledSoftmaxRowsAVX2, scale 1/8, one mask row per row (N(0, 1/4),
	// 1 in 8 -1e30), 0.484 against 0.783, and its NoMask form 0.474
	// against 0.793. Storing u in dst up to sCols256/2 too measured no
	// faster (the Zen 3 measure above, SoftmaxRowsAVX2 in place, 8 runs):
	// 1.02-1.19x the time at 1024 to 4095 columns, 0.99x at 4096.
	g.CMPQ(s.cols, U32(sCols256/2))
	g.JA(LabelRef(done))
	g.MOVQ(I32(-1), s.sf.Offset(sfIn))
	g.Label(done)
}

// prefetchNext is sm512.prefetchNext for pass 2 of a kernel with zDst,
// whose p walks dst: the distances from p are in the frame at pf; with
// nextMax, rows whose pass 2 reads the next row itself (nextX not 0)
// skip it. Rows of
// more than prefetchCols elements skip it: prefetching their own blocks,
// as sm512's do, measured 1.31x SoftmaxRowsAVX2's time at 128256 columns
// against 1.23x without, one mask row per row.
func (s *sm256) prefetchNext(p reg.GPVirtual) {
	g := s.g
	skip := uniqueLabel(s.label("noprefetch"))
	defer g.Label(skip)
	if s.nextX != nil {
		g.TESTQ(s.nextX, s.nextX) // pass 2 reads the next row's blocks itself
		g.JNZ(LabelRef(skip))
	}
	g.CMPQ(s.pf.Offset(16), U32(0))
	g.JE(LabelRef(skip))
	pn := g.GP64()
	g.MOVQ(s.pf, pn)
	g.ADDQ(p, pn)
	for d := 0; d < 256; d += 64 {
		g.PREFETCHT0(Mem{Base: pn, Disp: d})
	}
	if !s.pfMask {
		return
	}
	pm := g.GP64()
	g.MOVQ(s.pf.Offset(8), pm)
	g.ADDQ(p, pm)
	for d := 0; d < 256; d += 64 {
		g.PREFETCHT0(Mem{Base: pm, Disp: d})
	}
}

// setPrefetch emits, for the current row, the distances prefetchNext
// takes: src - dst + pfBytes (the value at pfb: 4*cols, or 0 for rows of
// more than prefetchCols elements) to the next row's x, and src - dst +
// moff + the mask's step (the value at pfb+8, 0 for such rows) to the
// next row's mask; rows of more than prefetchCols elements prefetch their
// own blocks, as sm512's do.
func (s *sm256) setPrefetch(pfb Mem) {
	g := s.g
	w := g.GP64()
	g.MOVQ(s.src, w)
	g.SUBQ(s.dst, w)
	g.ADDQ(pfb, w)
	g.MOVQ(w, s.pf)
	if s.z.moff == nil {
		return
	}
	w = g.GP64()
	g.MOVQ(s.src, w)
	g.SUBQ(s.dst, w)
	g.ADDQ(s.z.moff, w)
	g.ADDQ(pfb.Offset(8), w)
	g.MOVQ(w, s.pf.Offset(8))
}

// newSM256 allocates the frame and the row's registers.
func newSM256(g *gen, c *constTable, name string) *sm256 {
	s := &sm256{g: g, c: c, name: name}
	frame := g.AllocLocal(2*32 + 128 + 64)
	s.cv, s.biasv = frame.Offset(0), frame.Offset(32)
	s.acc = frame.Offset(64)
	s.buf = frame.Offset(192)
	s.p, s.q, s.i = g.GP64(), g.GP64(), g.GP64()
	return s
}

// label returns the function's label for name.
func (s *sm256) label(name string) string { return s.name + "_" + name }

// setCols sets the row length and the address of the VMASKMOVPS masks of
// a row's last cols%16 lanes (see tailMask8), which stays in a register
// and masks loads where needed.
func (s *sm256) setCols(cols reg.GPVirtual) {
	g := s.g
	s.cols = cols
	s.mtab = g.GP64()
	s.tailN = g.GP64()
	s.setTail()
}

// setTail emits tailN = cols % 16 and mtab, the address of the
// VMASKMOVPS masks of the row's last tailN lanes, from s.cols.
func (s *sm256) setTail() {
	g := s.g
	g.MOVQ(s.cols, s.tailN)
	g.ANDQ(U32(15), s.tailN)
	off := g.GP64()
	g.MOVQ(U32(16), off)
	g.SUBQ(s.tailN, off) // 16 - cols%16
	g.LEAQ(g.tailMask8(), s.mtab)
	g.LEAQ(Mem{Base: s.mtab, Index: off, Scale: 4}, s.mtab)
}

// masks loads the masks of the row's last cols%16 lanes.
func (s *sm256) masks() []reg.VecVirtual {
	lo, hi := s.g.YMM(), s.g.YMM()
	s.g.VMOVDQU(Mem{Base: s.mtab}, lo)
	s.g.VMOVDQU(Mem{Base: s.mtab, Disp: 32}, hi)
	return []reg.VecVirtual{lo, hi}
}

// The helpers emit each step for both halves of a vector (or for more
// vectors) before the next step, as sm512's do.

// reduce emits d = max(-320, x - c) in place, NaN kept.
func (s *sm256) reduce(ds []reg.VecVirtual) {
	for _, d := range ds {
		if !s.noSub {
			s.g.VSUBPS(s.cv, d, d)
		}
	}
	lo := s.g.YMM()
	s.g.VMOVUPS(s.c.ymm("reduceLo"), lo)
	for _, d := range ds {
		s.g.VMAXPS(d, lo, d)
	}
}

// roundT returns t = fma(d, log2e, 1.5*2^23) for each d.
func (s *sm256) roundT(ds []reg.VecVirtual) []reg.VecVirtual {
	ts := make([]reg.VecVirtual, len(ds))
	for i := range ds {
		ts[i] = s.g.YMM()
		s.g.VMOVUPS(s.c.ymm("magic"), ts[i])
	}
	for i, d := range ds {
		s.g.VFMADD231PS(s.c.ymm("log2e"), d, ts[i])
	}
	return ts
}

// expU is sm512.expU on ymm registers.
func (s *sm256) expU(ds []reg.VecVirtual) []reg.VecVirtual {
	g, c := s.g, s.c
	ts := s.roundT(ds)
	q := make([]reg.VecVirtual, len(ds))
	for i := range ds {
		q[i] = g.YMM()
		g.VSUBPS(c.ymm("magic"), ts[i], q[i]) // nf
	}
	for i, d := range ds {
		g.VFMADD231PS(c.ymm("negLn2Hi"), q[i], d)
	}
	for i, d := range ds {
		g.VFMADD231PS(c.ymm("negLn2Lo"), q[i], d)
	}
	for i := range ds {
		g.VMOVUPS(c.ymm("c6"), q[i]) // nf is dead: its register holds q
	}
	for _, ci := range []string{"c5", "c4", "c3", "c2"} {
		for i, d := range ds {
			g.VFMADD213PS(c.ymm(ci), d, q[i])
		}
	}
	r2 := make([]reg.VecVirtual, len(ds))
	for i, d := range ds {
		r2[i] = g.YMM()
		g.VMULPS(d, d, r2[i])
	}
	for i, d := range ds {
		g.VFMADD231PS(q[i], r2[i], d)
	}
	return ts
}

// scale is sm512.scale on ymm registers; masks, if not nil, hold -1 in the
// lanes that keep their s and 0 in those that get 0.
func (s *sm256) scale(ts []reg.VecVirtual, masks []reg.VecVirtual) {
	g := s.g
	for _, t := range ts {
		g.VPADDD(s.biasv, t, t)
	}
	for _, t := range ts {
		g.VPMAXSD(s.c.ymm("zero"), t, t)
	}
	for _, t := range ts {
		g.VPSLLD(U8(23), t, t)
	}
	for i := range masks {
		g.VPAND(masks[i], ts[i], ts[i])
	}
}

// addTerms adds u*s + s in float64 to the block partials part[0..3]
// (float64 lanes 0-3, 4-7, 8-11, 12-15) from the halves us[0], us[1] of a
// vector, in lane order.
func (s *sm256) addTerms(us, ss []reg.VecVirtual, part []reg.VecVirtual) {
	for h := 0; h < 2*len(us); h++ {
		if s.nm != nil {
			s.g.VADDPD(terms256In(s.g, us[h/2], ss[h/2], h%2), part[h], part[h])
			continue
		}
		s.g.VADDPD(terms256(s.g, us[h/2], ss[h/2], h%2), part[h], part[h])
	}
}

// addTermsStored is addTerms for a whole vector whose u stage B stored
// at q, and with stored 2 its s sDelta bytes after it: the lower halves
// come from the registers, the upper ones from memory where stored.
func (s *sm256) addTermsStored(us, ss []reg.VecVirtual, q Mem, part []reg.VecVirtual) {
	g := s.g
	for h := 0; h < 4; h++ {
		if h%2 == 0 {
			g.VADDPD(terms256(g, us[h/2], ss[h/2], 0), part[h], part[h])
			continue
		}
		uq := q.Offset(32*(h/2) + 16)
		ud, sd := g.YMM(), g.YMM()
		g.VCVTPS2PD(uq, ud)
		if s.stored == 2 {
			sq := uq
			sq.Index, sq.Scale = s.sDelta, 1
			g.VCVTPS2PD(sq, sd)
		} else {
			g.VEXTRACTF128(U8(1), ss[h/2], sd.AsX())
			g.VCVTPS2PD(sd.AsX(), sd)
		}
		g.VFMADD213PD(sd, sd, ud) // ud = sd*ud + sd
		g.VADDPD(ud, part[h], part[h])
	}
}

// terms256In is terms256 with two registers fewer for the upper half:
// the lanes extracted there are converted in place.
func terms256In(g *gen, u, sc reg.VecVirtual, h int) reg.VecVirtual {
	if h == 0 {
		return terms256(g, u, sc, h)
	}
	ud, sd := g.YMM(), g.YMM()
	g.VEXTRACTF128(U8(1), u, ud.AsX())
	g.VEXTRACTF128(U8(1), sc, sd.AsX())
	g.VCVTPS2PD(ud.AsX(), ud)
	g.VCVTPS2PD(sd.AsX(), sd)
	g.VFMADD213PD(sd, sd, ud) // ud = sd*ud + sd
	return ud
}

// terms256 returns u*s + s in float64 for lanes 4h to 4h+3 of the ymm
// registers u and sc.
func terms256(g *gen, u, sc reg.VecVirtual, h int) reg.VecVirtual {
	ux, sx := u.AsX(), sc.AsX()
	if h == 1 {
		ux, sx = g.XMM(), g.XMM()
		g.VEXTRACTF128(U8(1), u, ux)
		g.VEXTRACTF128(U8(1), sc, sx)
	}
	ud, sd := g.YMM(), g.YMM()
	g.VCVTPS2PD(ux, ud)
	g.VCVTPS2PD(sx, sd)
	g.VFMADD213PD(sd, sd, ud) // ud = sd*ud + sd
	return ud
}

// load returns the two halves of the vector at p. With masks m, it loads
// the row's last tailN lanes, zeros in the others: with VMASKMOVPS, unless
// the 64 bytes at p cross a page boundary, when the lanes are copied in
// through the stack instead, since some implementations of VMASKMOVPS
// (QEMU's, at least) fault on masked-off lanes of an unmapped page, as
// lib.go's elementwise256 explains.
func (s *sm256) load(p Mem, m []reg.VecVirtual) []reg.VecVirtual {
	g := s.g
	v := []reg.VecVirtual{g.YMM(), g.YMM()}
	if m == nil {
		for h := range v {
			g.VMOVUPS(p.Offset(32*h), v[h])
		}
		return v
	}
	v = v[:len(m)] // with tailPipe, the lower half alone when the upper is past the row
	viaStack, loaded := uniqueLabel(s.label("tailcopy")), uniqueLabel(s.label("tailloaded"))
	page := g.GP64()
	g.LEAQ(p, page)
	g.ANDQ(U32(4095), page)
	g.CMPQ(page, U32(4096-64))
	g.JA(LabelRef(viaStack))
	for h := range v {
		g.VMASKMOVPS(p.Offset(32*h), m[h], v[h])
	}
	g.JMP(LabelRef(loaded))
	g.Label(viaStack)
	g.VXORPS(v[0], v[0], v[0])
	g.VMOVUPS(v[0], s.buf)
	g.VMOVUPS(v[0], s.buf.Offset(32))
	g.copyTail(uniqueLabel(s.label("copy")), s.buf, p, s.tailN)
	for h := range v {
		g.VMOVUPS(s.buf.Offset(32*h), v[h])
	}
	g.Label(loaded)
	return v
}

// store stores the two halves of a vector at q, masked if m is not nil.
func (s *sm256) store(v []reg.VecVirtual, q Mem, m []reg.VecVirtual) {
	for h := range v {
		switch {
		case m == nil && s.nt:
			s.g.VMOVNTPS(v[h], q.Offset(32*h))
		case m == nil:
			s.g.VMOVUPS(v[h], q.Offset(32*h))
		default:
			s.g.VMASKMOVPS(v[h], m[h], q.Offset(32*h))
		}
	}
}

// sumVector emits pass 2 for the 16 lanes at p (masks m for the halves, or
// nil), adding to the block partials part[0..3]; with keepU, u is stored
// at q unless dst is src.
//
// Lanes past the row are set to c, so that their d is 0 and their u
// finite: their s is 0, and u*0 + 0 must not be NaN.
func (s *sm256) sumVector(p, q Mem, m []reg.VecVirtual, part []reg.VecVirtual) {
	g := s.g
	x := s.loadX(p, m)
	if m != nil {
		cv := g.YMM()
		g.VMOVUPS(s.cv, cv)
		for h := range x {
			g.VBLENDVPS(m[h], x[h], cv, x[h]) // c past the row
		}
	}
	s.reduce(x)
	t := s.expU(x)
	if s.keepU {
		skip := uniqueLabel(s.label("nostore"))
		g.TESTQ(s.inPlace, s.inPlace)
		g.JNZ(LabelRef(skip))
		s.store(x, q, m)
		g.Label(skip)
	}
	s.scale(t, m)
	s.addTerms(x, t, part)
}

// pass1 is sm512.pass1 for AVX2: it leaves c and bias in cv and biasv.
// With zDst it also stores z in dst; with z, it keeps scale in a register
// (scaleInReg).
func (s *sm256) pass1(onNaN, onPosInf, onNegInf string) {
	s.rowKind(s.maxOf(s.src, ""), onNaN, onPosInf, onNegInf)
}

// maxOf emits pass 1's max of the row at src and returns it, in the low
// lane of an xmm register; name tells its labels from those of another
// maxOf in the function.
func (s *sm256) maxOf(src reg.GPVirtual, name string) reg.VecVirtual {
	g, c, p, i := s.g, s.c, s.p, s.i
	label := func(l string) string { return s.label(l + name) }
	g.Comment("Pass 1: m = max(x).")
	acc := []reg.VecVirtual{g.YMM(), g.YMM(), g.YMM(), g.YMM()}
	for _, a := range acc {
		g.VMOVUPS(c.ymm("negInf"), a)
	}
	zDst := s.z != nil && s.zDst
	defer s.scaleInReg()()
	// in returns the input at p+disp as an operand, and with zDst stores
	// it at q+disp.
	in := func(disp int) Op {
		if !zDst {
			return s.in(Mem{Base: p, Disp: disp})
		}
		v := s.inReg(Mem{Base: p, Disp: disp})
		g.VMOVUPS(v, Mem{Base: s.q, Disp: disp})
		return v
	}
	next := func(n int) {
		g.ADDQ(U32(4*n), p)
		if zDst {
			g.ADDQ(U32(4*n), s.q)
		}
		g.SUBQ(U32(n), i)
	}
	g.MOVQ(src, p)
	if zDst {
		g.MOVQ(s.dst, s.q)
	}
	g.MOVQ(s.cols, i)
	g.Label(label("max32"))
	g.CMPQ(i, U32(32))
	g.JB(LabelRef(label("max16")))
	for j, a := range acc {
		g.VMAXPS(in(32*j), a, a)
	}
	next(32)
	g.JMP(LabelRef(label("max32")))
	g.Label(label("max16"))
	g.CMPQ(i, U32(16))
	g.JB(LabelRef(label("maxtail")))
	g.VMAXPS(in(0), acc[0], acc[0])
	g.VMAXPS(in(32), acc[1], acc[1])
	next(16)
	g.Label(label("maxtail"))
	g.TESTQ(i, i)
	g.JZ(LabelRef(label("maxred")))
	{
		m := s.masks()
		x := s.loadX(Mem{Base: p}, m)
		if zDst {
			s.store(x, Mem{Base: s.q}, m)
		}
		for h := 0; h < 2; h++ {
			ni := g.YMM()
			g.VMOVUPS(c.ymm("negInf"), ni)
			g.VBLENDVPS(m[h], x[h], ni, x[h]) // -Inf in the lanes past the row
			g.VMAXPS(x[h], acc[2+h], acc[2+h])
		}
	}
	g.Label(label("maxred"))
	g.VMAXPS(acc[1], acc[0], acc[0])
	g.VMAXPS(acc[3], acc[2], acc[2])
	g.VMAXPS(acc[2], acc[0], acc[0])
	m := g.XMM()
	{
		x := g.XMM()
		g.VEXTRACTF128(U8(1), acc[0], x)
		g.VMAXPS(x, acc[0].AsX(), x)
		x2 := g.XMM()
		g.VPERMILPS(U8(0x4e), x, x2)
		g.VMAXPS(x2, x, x)
		g.VPERMILPS(U8(0xb1), x, x2)
		g.VMAXPS(x2, x, m)
	}
	return m
}

// rowKind is sm512.rowKind for AVX2, the row's max m in the low lane.
func (s *sm256) rowKind(m reg.VecVirtual, onNaN, onPosInf, onNegInf string) {
	g, c := s.g, s.c
	s.m = m

	g.Comment("The row's kind: NaN, +Inf, -Inf or finite max.")
	g.UCOMISS(m, m)
	g.JP(LabelRef(onNaN))
	g.UCOMISS(c.scalar("posInf"), m)
	g.JE(LabelRef(onPosInf))
	g.UCOMISS(c.scalar("negInf"), m)
	g.JE(LabelRef(onNegInf))

	s.params(m)
}

// params is sm512.params for AVX2, m in the low lane of an xmm register.
func (s *sm256) params(m reg.VecVirtual) {
	g, c := s.g, s.c
	g.Comment("c = m if |m| > 208, else 0; bias = 127 - bits(fma(m - c, log2e, magic)).")
	large, params := s.label("large"), s.label("params")
	g.jumpIfLarge(m, large)
	mv, tm := g.YMM(), g.YMM()
	g.VXORPS(mv, mv, mv)
	g.VMOVUPS(mv, s.cv) // c = 0, m - c = m
	g.VBROADCASTSS(m, mv)
	g.VMOVUPS(c.ymm("magic"), tm)
	g.VFMADD231PS(c.ymm("log2e"), mv, tm)
	g.JMP(LabelRef(params))
	g.Label(large)
	g.VBROADCASTSS(m, mv)
	g.VMOVUPS(mv, s.cv)           // c = m, m - c = +0
	g.VMOVUPS(c.ymm("magic"), tm) // fma(+0, log2e, magic) = magic
	g.Label(params)
	b := g.YMM()
	g.VMOVDQU(c.ymm("bias127"), b)
	g.VPSUBD(tm, b, b)
	g.VMOVDQU(b, s.biasv)
}

// pass2 is sm512.pass2 for AVX2.
func (s *sm256) pass2() reg.VecVirtual {
	s.pass2Acc()
	return s.reduceSum()
}

// pass2Acc emits pass 2 up to S's float64 lane accumulators, which it
// leaves at acc; with zeroC, twice (see ifZeroC).
func (s *sm256) pass2Acc() {
	g := s.g
	if s.keepU {
		g.Comment("Pass 2: S, and u kept in dst unless dst is src.")
	} else {
		g.Comment("Pass 2: S.")
	}
	if s.nextMax {
		s.nextMaxStart()
	}
	if !s.zeroC {
		s.pass2Into()
	} else {
		s.ifZeroC("sum", s.pass2Into)
	}
	if s.nextMax {
		s.nextMaxEnd()
	}
}

// nextMaxStart emits, with nextMax, the set-up of the next row's max in
// pass 2: nextOff, the bytes from the row to the next one (0 on the last
// row, which then finds its own max again), and nm at -Inf; with zDst,
// nextX and nextM from it.
func (s *sm256) nextMaxStart() {
	g := s.g
	if !s.ahead || !s.tailPipe || s.z != nil {
		panic("nextMax needs ahead and tailPipe, and z only with zDst")
	}
	s.nextOff = g.GP64()
	g.XORQ(s.nextOff, s.nextOff)
	g.CMPQ(s.rows, U32(1))
	g.CMOVQNE(s.bytes, s.nextOff)
	s.nm = g.YMM()
	g.VMOVUPS(s.c.ymm("negInf"), s.nm)
	if s.zr == nil {
		return
	}
	// nextX is 0, and stage A leaves the next row alone, on the last
	// row, in place and on rows of fewer than nextZCols elements: the
	// ahead max (maxOf) finds the next row's max after pass 2 instead.
	// Otherwise, from p, which walks dst, the next row's x is at nextX =
	// src - dst + bytes, never 0 out of place on a row but the last (dst
	// does not overlap src), and its mask at nextM, that plus moff + step
	// - bytes (step is 0 or bytes): the next row's mask row. Its z goes
	// to bytes from p.
	s.nextX, s.nextM = g.GP64(), g.GP64()
	g.XORQ(s.nextX, s.nextX)
	if s.zr.moff != nil {
		g.XORQ(s.nextM, s.nextM)
		g.MOVQ(s.zr.moff, s.moffs)
	}
	set := uniqueLabel(s.label("nextset"))
	g.CMPQ(s.cols, U32(nextZCols))
	g.JB(LabelRef(set))
	g.CMPQ(s.nextOff, U32(0))
	g.JE(LabelRef(set))
	g.CMPQ(s.srcR, s.dst)
	g.JE(LabelRef(set))
	g.MOVQ(s.srcR, s.nextX)
	g.SUBQ(s.dst, s.nextX)
	if s.zr.moff != nil {
		g.MOVQ(s.zr.step, s.nextM)
		g.ADDQ(s.zr.moff, s.nextM)
		g.ADDQ(s.nextX, s.nextM)
	}
	g.ADDQ(s.bytes, s.nextX)
	g.Label(set)
}

// nextZCols is the shortest row whose pass 2 computes the next row's z
// out of place (sm256.nextMax with zDst).
const nextZCols = 64

// nextZ emits, with nextMax and zDst, stage A's part for the next row at
// the offset of the vector at p: its z from its x and mask, stored in its
// dst but on the last row, and its max into nm.
func (s *sm256) nextZ(p Mem) {
	g, z := s.g, s.zr
	skip := uniqueLabel(s.label("nextskip"))
	g.TESTQ(s.nextX, s.nextX)
	g.JZ(LabelRef(skip))
	var sc reg.VecVirtual
	if z.moff != nil {
		sc = z.scaleReg()
		if sc == nil {
			sc = g.YMM()
			g.VMOVUPS(z.scale, sc)
		}
	}
	v := []reg.VecVirtual{g.YMM(), g.YMM()}
	for h := range v {
		n := p.Offset(32 * h)
		n.Index, n.Scale = s.nextX, 1
		g.VMOVUPS(n, v[h])
		if z.moff == nil {
			g.VMULPS(z.scale, v[h], v[h])
			continue
		}
		m := p.Offset(32 * h)
		m.Index, m.Scale = s.nextM, 1
		g.VFMADD213PS(m, sc, v[h]) // v = scale*x + mask
	}
	for h := range v {
		d := p.Offset(32 * h)
		d.Index, d.Scale = s.bytes, 1
		g.VMOVUPS(v[h], d) // the next row's z, in its dst
	}
	for h := range v {
		g.VMAXPS(v[h], s.nm, s.nm)
	}
	g.Label(skip)
}

// nextMaxEnd emits, with nextMax, the end of the next row's max after
// pass 2: the max of its last cols%16 lanes, which stage A leaves out
// (with zDst their z stored in its dst, but on the last row, which
// skips them), and nm's lanes folded into mNext.
func (s *sm256) nextMaxEnd() {
	g, c := s.g, s.c
	nm := s.nm
	s.nm = nil
	g.Comment("Pass 1 of the next row, found in pass 2: its last cols%16 lanes, and m = max(x).")
	if s.zr != nil {
		g.MOVQ(s.bytes, s.cols)
		g.SHRQ(U8(2), s.cols)
		if s.zr.moff != nil {
			g.MOVQ(s.moffs, s.zr.moff)
		}
	}
	done := s.label("nexttail")
	if s.zr != nil {
		g.TESTQ(s.nextX, s.nextX)
		g.JZ(LabelRef(s.label("nextnone")))
	}
	g.TESTQ(s.tailN, s.tailN)
	g.JZ(LabelRef(done))
	{
		a, w := g.GP64(), g.GP64()
		if s.zr == nil {
			g.LEAQ(Mem{Base: s.src, Index: s.nextOff, Scale: 1}, a)
		} else {
			g.LEAQ(Mem{Base: s.srcR, Index: s.bytes, Scale: 1}, a)
		}
		g.MOVQ(s.cols, w)
		g.SUBQ(s.tailN, w)
		g.LEAQ(Mem{Base: a, Index: w, Scale: 4}, a)
		m := s.masks()
		var x []reg.VecVirtual
		if s.zr == nil {
			x = s.load(Mem{Base: a}, m)
		} else {
			// The next row's z: its mask is at nextM - nextX from its x.
			z := *s.zr
			if z.moff != nil {
				z.moff = g.GP64()
				g.MOVQ(s.nextM, z.moff)
				g.SUBQ(s.nextX, z.moff)
			}
			s.z = &z
			x = s.loadX(Mem{Base: a}, m)
			s.z = nil
			d := g.GP64()
			g.LEAQ(Mem{Base: s.dst, Index: s.bytes, Scale: 1}, d)
			g.LEAQ(Mem{Base: d, Index: w, Scale: 4}, d)
			s.store(x, Mem{Base: d}, m)
		}
		for h := range x {
			ni := g.YMM()
			g.VMOVUPS(c.ymm("negInf"), ni)
			g.VBLENDVPS(m[h], x[h], ni, x[h]) // -Inf in the lanes past the row
			g.VMAXPS(x[h], nm, nm)
		}
	}
	g.Label(done)
	x := g.XMM()
	g.VEXTRACTF128(U8(1), nm, x)
	g.VMAXPS(x, nm.AsX(), x)
	x2 := g.XMM()
	g.VPERMILPS(U8(0x4e), x, x2)
	g.VMAXPS(x2, x, x)
	g.VPERMILPS(U8(0xb1), x, x2)
	g.VMAXPS(x2, x, x)
	g.VMOVSS(x, s.mNext)
	if s.zr != nil {
		g.Label(s.label("nextnone"))
	}
}

// ifZeroC is sm512.ifZeroC for AVX2, c's bits read from cv.
func (s *sm256) ifZeroC(name string, emit func()) {
	ifZeroC(s.g, &s.name, &s.noSub, name, func(w reg.GPVirtual) { s.g.MOVL(s.cv, w) }, emit)
}

// pass2Into emits pass 2 into the lane accumulators at acc.
func (s *sm256) pass2Into() {
	g, p, q, i := s.g, s.p, s.q, s.i
	next := func(n int) {
		g.ADDQ(U32(4*n), p)
		if s.keepU {
			g.ADDQ(U32(4*n), q)
		}
		g.SUBQ(U32(n), i)
	}
	{
		z := g.YMM()
		g.VXORPD(z, z, z)
		for j := 0; j < 4; j++ {
			g.VMOVUPD(z, s.acc.Offset(32*j))
		}
	}
	g.MOVQ(s.src, p)
	if s.keepU {
		g.MOVQ(s.dst, q)
	}
	if s.keepS {
		s.sDelta = g.GP64()
		g.MOVQ(s.sf.Offset(sfCur), s.sDelta)
		g.SUBQ(s.dst, s.sDelta)
		g.ANDQ(s.sf.Offset(sfUse), s.sDelta)
		defer func() { s.sDelta = nil }()
		// In place, u goes to the buffer, and s after it.
		out := uniqueLabel(s.label("outplace"))
		g.CMPQ(s.sf.Offset(sfIn), U32(0))
		g.JE(LabelRef(out))
		g.MOVQ(s.sf.Offset(sfCur), q)
		g.MOVQ(U32(sfInS256), s.sDelta)
		g.Label(out)
	}
	g.MOVQ(s.cols, i)
	newPart := func() []reg.VecVirtual {
		part := []reg.VecVirtual{g.YMM(), g.YMM(), g.YMM(), g.YMM()}
		for _, v := range part {
			g.VXORPD(v, v, v)
		}
		return part
	}
	flush := func(part []reg.VecVirtual) {
		for j, v := range part {
			g.VADDPD(s.acc.Offset(32*j), v, v)
			g.VMOVUPD(v, s.acc.Offset(32*j))
		}
	}
	if s.tailPipe {
		s.pipeline2Tail(newPart, flush)
		g.Label(s.label("sumred"))
		return
	}
	s.pipeline2(newPart, flush)
	g.Label(s.label("sumtail"))
	g.TESTQ(i, i)
	g.JZ(LabelRef(s.label("sumred")))
	{
		part := newPart()
		g.Label(s.label("sum16"))
		g.CMPQ(i, U32(16))
		g.JB(LabelRef(s.label("sumlast")))
		s.sumVector(Mem{Base: p}, Mem{Base: q}, nil, part)
		next(16)
		g.JMP(LabelRef(s.label("sum16")))
		g.Label(s.label("sumlast"))
		g.TESTQ(i, i)
		g.JZ(LabelRef(s.label("sumblock")))
		s.sumVector(Mem{Base: p}, Mem{Base: q}, s.masks(), part)
		g.Label(s.label("sumblock"))
		flush(part)
	}
	g.Label(s.label("sumred"))
}

// reduceSum emits S, the lane accumulators at acc added as the
// fallback adds them, and returns it in the low float64 of an xmm
// register: NaN exactly when the row holds a NaN.
func (s *sm256) reduceSum() reg.VecVirtual {
	g := s.g
	sum := g.XMM()
	a, b := g.YMM(), g.YMM()
	g.VMOVUPD(s.acc.Offset(0), a)
	g.VADDPD(s.acc.Offset(64), a, a) // lanes 0-3 += 8-11
	g.VMOVUPD(s.acc.Offset(32), b)
	g.VADDPD(s.acc.Offset(96), b, b) // lanes 4-7 += 12-15
	g.VADDPD(b, a, a)                // lanes 0-3 += 4-7
	x := g.XMM()
	g.VEXTRACTF128(U8(1), a, x)
	g.VADDPD(x, a.AsX(), x) // lanes 0-1 += 2-3
	x2 := g.XMM()
	g.VPERMILPD(U8(1), x, x2)
	g.VADDSD(x2, x, sum) // lane 0 += lane 1
	return sum
}

// aheadSum is sm512.aheadSum for AVX2, S's lane accumulators at acc: what
// out does with the nil sum that rowsKernel gives it with ahead
// (LogSoftmaxRowsAVX2).
func (s *sm256) aheadSum() reg.VecVirtual {
	sum := s.reduceSum()
	s.g.VUCOMISD(sum, sum)
	s.g.JP(LabelRef(s.label("nanrow")))
	return sum
}

// Pass 2 of the AVX2 kernels is software-pipelined as the AVX-512
// kernels' is (see pipeA above), in the same three stages, each on one
// vector (two ymm registers) rather than two: step j of the pipeline runs
// C on vector j-2, B on vector j-1 and A on vector j. The registers
// carried from step to step are A's r and t, B's u and s, and the block
// partials: all 16 ymm registers while stage C runs. A block's partials
// are flushed after C of its last vector, half a block after its A, so
// the loop body, one block of A, starts with C of the previous block's
// last two vectors. Measured on Zen 5 (SoftmaxRowsAVX2, rows of 1024 and
// 4096 in cache): about 0.95x the time of the plain loop.
//
// A block of SoftmaxRowsAVX2 for c = 0 (its loop sum64, between the
// label and its jump back) took 286 instructions; it takes 238 in the
// loops of stored and 270 in the other one, from pipeA's clamp into r,
// magic in a register and the loops of stored. Measured together on AMD
// EPYC Zen 3, AVX2 (ns per element, thread CPU time, the lower quartile
// of 200 calls, the least of 10 runs alternating with the kernel before,
// batches of 1 MiB, N(0, 4) logits; the median of the runs' ratios):
// 0.535 against 0.580 at 1024 columns (0.911x, 7 runs of 10 won; 0.926x
// and 15 of 16 in 16 more), 0.540 against 0.584 at 4096 (0.933x), 0.534
// against 0.586 at 8192 (0.931x), 0.617 against 0.653 at 32000 (0.972x),
// 0.633 against 0.681 at 128256 (0.949x), 0.815 against 0.835 at 100
// (0.968x), 0.659 against 0.680 at 300 (0.982x); in place (16 runs)
// 0.618 against 0.628 at 1024 (0.968x, 11 of 16), 0.659 against 0.686
// at 4096 (0.984x, 11 of 16). LogSoftmaxRowsAVX2 0.99x at 1024 and
// 0.98x at 32000, ScaledSoftmaxRowsAVX2 (one mask row per row, scale
// 1/8) 0.98-1.00x at 1024 and 0.99x at 32000: no slower.

// pipeA emits stage A for the vector at p: r and t into the registers
// given.
//
// With masked (tailPipe), the vector is the row's last, its lanes past the
// row loaded as -Inf (their s is then 0, as sm512's pipeA explains), and
// r and t may hold its lower half alone, when the upper is past the row.
func (s *sm256) pipeA(p Mem, r, t []reg.VecVirtual, masked ...bool) {
	g, c := s.g, s.c
	isMasked := len(masked) > 0 && masked[0]
	// x is loaded by the clamp itself where nothing else reads it (a
	// whole vector, neither z nor x - c).
	fold := !isMasked && s.z == nil && s.noSub
	var x []reg.VecVirtual
	if isMasked {
		m := s.masks()[:len(r)]
		x = s.loadX(p, m)
		ni := g.YMM()
		g.VMOVUPS(c.ymm("negInf"), ni)
		for h := range x {
			g.VBLENDVPS(m[h], x[h], ni, x[h]) // -Inf past the row
		}
	} else {
		if !fold {
			x = s.loadX(p, nil)
			x = x[:len(r)]
		}
		if s.nm != nil && s.zr != nil {
			s.nextZ(p)
		} else if s.nm != nil {
			for h := range r {
				n := p.Offset(32 * h)
				n.Index, n.Scale = s.nextOff, 1
				g.VMAXPS(n, s.nm, s.nm) // the next row's max (see nextMax)
			}
		}
	}
	// reduce's steps, d = max(-320, x - c) computed into r itself: before,
	// reduce left d in x's registers and a VMOVAPS copied it to r, which
	// avo had given the same register (a move of a register onto itself,
	// one a ymm). Measured on AMD EPYC Zen 3, AVX2 (SoftmaxRowsAVX2, as
	// magic, 8 runs): 0.977-0.988x the time at 1024 to 32000 columns (5-6
	// runs of 8 won), within the noise of the machine.
	if !s.noSub {
		for h := range r {
			g.VSUBPS(s.cv, x[h], x[h])
		}
	}
	lo := g.YMM()
	g.VMOVUPS(c.ymm("reduceLo"), lo)
	for h := range r {
		if fold {
			g.VMAXPS(p.Offset(32*h), lo, r[h]) // NaN kept: x is the second source
		} else {
			g.VMAXPS(x[h], lo, r[h])
		}
	}
	x = r
	var magic Op = c.ymm("magic")
	if s.magic != nil {
		magic = s.magic
	}
	for h := range t {
		if s.magic != nil {
			g.VMOVAPS(s.magic, t[h])
		} else {
			g.VMOVUPS(magic, t[h])
		}
	}
	for h := range t {
		g.VFMADD231PS(c.ymm("log2e"), x[h], t[h]) // t = fma(d, log2e, magic)
	}
	nf := []reg.VecVirtual{g.YMM(), g.YMM()}[:len(r)]
	for h := range nf {
		g.VSUBPS(magic, t[h], nf[h]) // nf = t - magic, exact
	}
	for h := range nf {
		g.VFMADD231PS(c.ymm("negLn2Hi"), nf[h], x[h])
	}
	for h := range nf {
		g.VFMADD231PS(c.ymm("negLn2Lo"), nf[h], x[h]) // r
	}
}

// pipeB emits stage B: from A's r and t, u and s into u and sc; u is
// stored at q unless dst is src.
func (s *sm256) pipeB(q Mem, r, t, u, sc []reg.VecVirtual, masked ...bool) {
	g, c := s.g, s.c
	for h := range u {
		g.VMOVUPS(c.ymm("c6"), u[h]) // q, computed in u's register
	}
	for _, ci := range []string{"c5", "c4", "c3", "c2"} {
		for h := range u {
			g.VFMADD213PS(c.ymm(ci), r[h], u[h]) // q = r*q + ci
		}
	}
	r2 := []reg.VecVirtual{g.YMM(), g.YMM()}
	for h := range r {
		g.VMULPS(r[h], r[h], r2[h])
	}
	for h := range u {
		g.VFMADD213PS(r[h], r2[h], u[h]) // u = r2*q + r
	}
	for h := range t {
		g.VPADDD(s.biasv, t[h], sc[h])
	}
	if s.span != nil {
		s.spanUpdate(t)
	}
	for h := range sc {
		g.VPMAXSD(c.ymm("zero"), sc[h], sc[h])
	}
	for h := range sc {
		g.VPSLLD(U8(23), sc[h], sc[h]) // s = 2^(n - nm), or 0
	}
	if s.stored > 0 {
		if s.stored == 2 {
			s.store(sc, Mem{Base: q.Base, Index: s.sDelta, Scale: 1, Disp: q.Disp}, nil)
		}
		s.store(u, q, nil)
		return
	}
	if s.keepU {
		skip := uniqueLabel(s.label("nostore"))
		g.TESTQ(s.inPlace, s.inPlace)
		g.JNZ(LabelRef(skip))
		if s.keepS && s.sDelta != nil {
			// Whole vectors, past the row too: the buffer holds sCols256
			// elements, and pass 3 stores none of those lanes.
			kept := uniqueLabel(s.label("nokeep"))
			g.TESTQ(s.sDelta, s.sDelta)
			g.JZ(LabelRef(kept))
			s.store(sc, Mem{Base: q.Base, Index: s.sDelta, Scale: 1, Disp: q.Disp}, nil)
			g.Label(kept)
		}
		if len(masked) > 0 && masked[0] {
			s.store(u, q, s.masks()[:len(u)])
		} else {
			s.store(u, q, nil)
		}
		g.Label(skip)
	}
}

// pipeline2 emits the pipelined part of pass 2: the row's whole blocks,
// if it has any, added to the lane accumulators with flush. It leaves p, q
// and i at the rest of the row, as the plain loop would.
func (s *sm256) pipeline2(newPart func() []reg.VecVirtual, flush func(part []reg.VecVirtual)) {
	g, p, q, i := s.g, s.p, s.q, s.i
	r, t := []reg.VecVirtual{g.YMM(), g.YMM()}, []reg.VecVirtual{g.YMM(), g.YMM()}
	u, sc := []reg.VecVirtual{g.YMM(), g.YMM()}, []reg.VecVirtual{g.YMM(), g.YMM()}
	var part []reg.VecVirtual
	a := func(j int) { s.pipeA(Mem{Base: p, Disp: 64 * j}, r, t) }
	b := func(j int) { s.pipeB(Mem{Base: q, Disp: 64 * j}, r, t, u, sc) }
	c := func() { s.addTerms(u, sc, part) }
	next := func() {
		g.ADDQ(U32(256), p)
		if s.keepU {
			g.ADDQ(U32(256), q)
		}
		g.SUBQ(U32(64), i)
	}
	g.CMPQ(i, U32(64))
	g.JB(LabelRef(s.label("sumtail")))
	g.Comment("Pipeline prologue: the first block through stage A, its first three vectors through B, two through C.")
	part = newPart()
	a(0)
	b(0)
	a(1)
	c()
	b(1)
	a(2)
	c()
	b(2)
	a(3)
	next()
	g.Label(s.label("sum64"))
	g.CMPQ(i, U32(64))
	g.JB(LabelRef(s.label("drain")))
	g.Comment("One block: C of the previous block's last two vectors, B and A a vector behind each other.")
	c()
	b(-1)
	a(0)
	c()
	flush(part)
	for _, v := range part {
		g.VXORPD(v, v, v)
	}
	b(0)
	a(1)
	c()
	b(1)
	a(2)
	c()
	b(2)
	a(3)
	next()
	g.JMP(LabelRef(s.label("sum64")))
	g.Label(s.label("drain"))
	g.Comment("Pipeline epilogue: the last block's last vectors through stages B and C.")
	c()
	b(-1)
	c()
	flush(part)
}

// vec256 is a vector of pipeline2Tail: at 64*j bytes from p and q (j
// may be negative, for the previous block's), in halves ymm registers
// (2, or 1 when its upper half is past the row), masked if it is the
// row's last and ends inside it, last if its block's partials are
// flushed after its stage C.
type vec256 struct {
	j, halves    int
	masked, last bool
}

// pipeline2Tail is pipeline2 with tailPipe: the row's last block of 1 to
// 63 elements goes through the pipeline too, as sm512's does, its last
// vector loaded under the masks of the row's last lanes, -Inf past the
// row, and only its lower half when the upper one is past the row. It
// jumps to the label sumred at its end. Measured against the plain loop
// of the last block (ns per element, thread CPU time, the least of 300
// runs, batches of 1 MiB, Zen 5): 0.59 against 0.64 at 100 columns, 0.73
// against 0.82 at 50, 0.52-0.53 against 0.54 at 200, the same at 1024.
func (s *sm256) pipeline2Tail(newPart func() []reg.VecVirtual, flush func(part []reg.VecVirtual)) {
	g, p, q, i := s.g, s.p, s.q, s.i
	r, t := []reg.VecVirtual{g.YMM(), g.YMM()}, []reg.VecVirtual{g.YMM(), g.YMM()}
	u, sc := []reg.VecVirtual{g.YMM(), g.YMM()}, []reg.VecVirtual{g.YMM(), g.YMM()}
	part := newPart()
	if s.z == nil && s.zr == nil && !s.logOut {
		s.magic = g.YMM()
		g.VMOVUPS(s.c.ymm("magic"), s.magic)
		defer func() { s.magic = nil }()
	}
	next := func() {
		if s.prefetch {
			s.prefetchNext(p)
		}
		for d := 0; s.pfSelf != 0 && d < 256; d += 64 {
			g.PREFETCHT0(Mem{Base: p, Disp: s.pfSelf + d})
		}
		g.ADDQ(U32(256), p)
		if s.keepU {
			g.ADDQ(U32(256), q)
		}
		g.SUBQ(U32(64), i)
	}
	// run emits the steps of the pipeline that take the vectors of vs
	// through stages A, B and C, after those of inB (A done) and inC (B
	// done): step by step, C of one vector, B of the next, A of the one
	// after, as pipeline2 does. It returns the vectors still in B and C.
	run := func(inC, inB *vec256, vs []vec256, drain bool) (*vec256, *vec256) {
		for inC != nil || inB != nil || len(vs) > 0 {
			if !drain && len(vs) == 0 {
				break
			}
			if inC != nil && s.stored > 0 {
				s.addTermsStored(u, sc, Mem{Base: q, Disp: 64 * inC.j}, part)
				if inC.last {
					flush(part)
					if inB != nil || len(vs) > 0 {
						for _, v := range part {
							g.VXORPD(v, v, v)
						}
					}
				}
			} else if inC != nil {
				s.addTerms(u[:inC.halves], sc[:inC.halves], part)
				if inC.last {
					flush(part)
					if inB != nil || len(vs) > 0 {
						for _, v := range part {
							g.VXORPD(v, v, v)
						}
					}
				}
			}
			inC = inB
			if inB != nil {
				n := inB.halves
				s.pipeB(Mem{Base: q, Disp: 64 * inB.j}, r[:n], t[:n], u[:n], sc[:n], inB.masked)
			}
			inB = nil
			if len(vs) > 0 {
				v := vs[0]
				vs = vs[1:]
				s.pipeA(Mem{Base: p, Disp: 64 * v.j}, r[:v.halves], t[:v.halves], v.masked)
				inB = &v
			}
		}
		return inC, inB
	}
	block := func(j0 int, nv int, kind int) []vec256 {
		vs := make([]vec256, nv)
		for k := range vs {
			vs[k] = vec256{j: j0 + k, halves: 2}
		}
		vs[nv-1].last = true
		switch kind {
		case 1: // the last vector holds 9 to 15 elements
			vs[nv-1].masked = true
		case 2: // 1 to 8
			vs[nv-1].masked, vs[nv-1].halves = true, 1
		}
		return vs
	}
	// tails emits the code for the last block of i elements, 1 to 63:
	// after whole blocks (the previous block's vector 3 in B at -1, its
	// vector 2 in C) if after, else as the row's first.
	tails := func(name string, after bool) {
		w := g.GP64()
		g.MOVQ(i, w)
		g.ANDQ(U32(15), w)
		g.JZ(LabelRef(s.label(name + "whole")))
		g.CMPQ(w, U32(8))
		g.JA(LabelRef(s.label(name + "full")))
		for kind, sub := range []string{"half", "full", "whole"} {
			if kind > 0 {
				g.Label(s.label(name + sub))
			}
			kind := []int{2, 1, 0}[kind]
			for nv := 1; nv <= 4; nv++ {
				nextNV := s.label(fmt.Sprintf("%s%s%d", name, sub, nv+1))
				if nv < 4 {
					g.CMPQ(i, U32(16*nv))
					g.JA(LabelRef(nextNV))
				}
				g.Comment(fmt.Sprintf("The row's last %d vectors, the last %s.", nv,
					[]string{"whole", "under the masks", "half, under the mask"}[kind]))
				if after {
					inC, inB := &vec256{j: -2, halves: 2}, &vec256{j: -1, halves: 2, last: true}
					run(inC, inB, block(0, nv, kind), true)
				} else {
					for _, v := range part {
						g.VXORPD(v, v, v)
					}
					run(nil, nil, block(0, nv, kind), true)
				}
				g.JMP(LabelRef(s.label("sumred")))
				if nv < 4 {
					g.Label(nextNV)
				}
			}
		}
	}
	g.CMPQ(i, U32(64))
	g.JB(LabelRef(s.label("tailfirst")))
	g.Comment("Pipeline prologue: the first block through stage A, its first three vectors through B, two through C.")
	for _, v := range part {
		g.VXORPD(v, v, v)
	}
	run(nil, nil, block(0, 4, 0), false)
	next()
	if s.keepU {
		g.TESTQ(s.inPlace, s.inPlace)
		g.JNZ(LabelRef(s.label("sum64")))
		kinds := []int{1}
		if s.keepS && s.sDelta != nil {
			g.TESTQ(s.sDelta, s.sDelta)
			g.JZ(LabelRef(s.label("sum64u")))
			kinds = []int{2, 1}
		}
		for _, k := range kinds {
			name := []string{"", "sum64u", "sum64s"}[k]
			g.Label(s.label(name))
			g.CMPQ(i, U32(64))
			g.JB(LabelRef(s.label("drain")))
			g.Comment([]string{"", "One block, u stored: stage C reads its upper halves back.",
				"One block, u and s stored: stage C reads their upper halves back."}[k])
			s.stored = k
			inC, inB := &vec256{j: -2, halves: 2}, &vec256{j: -1, halves: 2, last: true}
			run(inC, inB, block(0, 4, 0), false)
			s.stored = 0
			next()
			g.JMP(LabelRef(s.label(name)))
		}
	}
	g.Label(s.label("sum64"))
	g.CMPQ(i, U32(64))
	g.JB(LabelRef(s.label("drain")))
	g.Comment("One block: C of the previous block's last two vectors, B and A a vector behind each other.")
	{
		inC, inB := &vec256{j: -2, halves: 2}, &vec256{j: -1, halves: 2, last: true}
		run(inC, inB, block(0, 4, 0), false)
	}
	next()
	g.JMP(LabelRef(s.label("sum64")))
	g.Label(s.label("drain"))
	g.TESTQ(i, i)
	g.JNZ(LabelRef(s.label("tail")))
	g.Comment("Pipeline epilogue: the last block's last vectors through stages B and C.")
	run(&vec256{j: -2, halves: 2}, &vec256{j: -1, halves: 2, last: true}, nil, true)
	g.JMP(LabelRef(s.label("sumred")))
	g.Label(s.label("tail"))
	tails("tail", true)
	g.Label(s.label("tailfirst"))
	g.TESTQ(i, i)
	g.JZ(LabelRef(s.label("sumred")))
	tails("first", false)
}

// scanNaN is sm512.scanNaN for AVX2.
func (s *sm256) scanNaN(onNaN string) {
	g, p, i := s.g, s.p, s.i
	name := uniqueLabel(s.label("scan"))
	g.MOVQ(s.src, p)
	g.MOVQ(s.cols, i)
	g.Label(name + "_16")
	g.CMPQ(i, U32(16))
	g.JB(LabelRef(name + "_tail"))
	for h := 0; h < 2; h++ {
		x := s.inReg(Mem{Base: p, Disp: 32 * h})
		g.VCMPPS(U8(cmpUnord), x, x, x)
		g.VTESTPS(x, x)
		g.JNZ(LabelRef(onNaN))
	}
	g.ADDQ(U32(64), p)
	g.SUBQ(U32(16), i)
	g.JMP(LabelRef(name + "_16"))
	g.Label(name + "_tail")
	g.TESTQ(i, i)
	g.JZ(LabelRef(name + "_done"))
	m := s.masks()
	for h, x := range s.loadX(Mem{Base: p}, m) {
		g.VCMPPS(U8(cmpUnord), x, x, x)
		if s.z != nil {
			g.VANDPS(m[h], x, x) // z past the row may be NaN
		}
		g.VTESTPS(x, x)
		g.JNZ(LabelRef(onNaN))
	}
	g.Label(name + "_done")
}

// pass3 is sm512.pass3 for AVX2, four vectors per iteration, then one at
// a time: out(p, q, m) gets the masks m of the row's last lanes, or nil
// for a whole vector. With back, rows of more than prefetchCols elements
// run from their end (see loop3).
func (s *sm256) pass3(name string, src, dst Op, after string, out func(p, q Mem, m []reg.VecVirtual)) {
	s.pass3Of(name, src, dst, after, out, overNone)
}

// loop3 is pass 3's loops on out, whose masks are those of masks or nil.
func (s *sm256) loop3(out func(p, q Mem, m []reg.VecVirtual)) loop3 {
	return loop3{g: s.g, label: s.label, p: s.p, q: s.q, i: s.i, cols: s.cols, perOut: 1,
		walk: true, tailN: s.tailN,
		out: func(p, q Mem, _ int, masked bool) {
			var m []reg.VecVirtual
			if masked {
				m = s.masks()
			}
			out(p, q, m)
		}}
}

// How pass3Of runs the last cols%16 lanes of a row of 16 or more
// elements (see sm256.overTail): under masks, as one whole vector that
// ends at the row's end, or as that vector with u at q copied first.
const (
	overNone = iota
	overTail
	overCopy
)

// pass3Of is pass3 with the row's last cols%16 lanes as over says. With
// overTail or overCopy, a row of 16 or more elements whose length is not
// a multiple of 16 runs out first on the whole vector that ends at the
// row's end, storing y in buf (overCopy first copies that vector's u
// from q to buf, for an out that reads u at q), then the whole vectors
// from the row's start, and copies buf to the row's end in place of the
// masked last vector: the lanes both write get the same bits, since
// every lane's y depends on that lane alone, and out must read nothing
// at q but u, which no store has changed yet when the first vector runs.
// Rows that run from their end (back) run the masked last vector
// whatever over says.
func (s *sm256) pass3Of(name string, src, dst Op, after string, out func(p, q Mem, m []reg.VecVirtual), over int) {
	var head, tail func()
	if over != overNone {
		head = func() {
			g, p, q, i := s.g, s.p, s.q, s.i
			g.TESTQ(s.tailN, s.tailN)
			g.JZ(LabelRef(s.label(name + "64")))
			g.CMPQ(i, U32(16))
			g.JB(LabelRef(s.label(name + "64")))
			pe := g.GP64()
			g.LEAQ(Mem{Base: p, Index: i, Scale: 4, Disp: -64}, pe)
			if over == overCopy {
				qe := g.GP64()
				g.LEAQ(Mem{Base: q, Index: i, Scale: 4, Disp: -64}, qe)
				for h := 0; h < 2; h++ {
					v := g.YMM()
					g.VMOVUPS(Mem{Base: qe, Disp: 32 * h}, v)
					g.VMOVUPS(v, s.buf.Offset(32*h))
				}
			}
			out(Mem{Base: pe}, s.buf, nil)
		}
		tail = func() {
			g, q, i := s.g, s.q, s.i
			masked := s.label(name + "masked")
			g.CMPQ(s.cols, U32(16))
			g.JB(LabelRef(masked))
			qe := g.GP64()
			g.LEAQ(Mem{Base: q, Index: i, Scale: 4, Disp: -64}, qe)
			for h := 0; h < 2; h++ {
				v := g.YMM()
				g.VMOVUPS(s.buf.Offset(32*h), v)
				g.VMOVUPS(v, Mem{Base: qe, Disp: 32 * h})
			}
			g.JMP(LabelRef(after))
			g.Label(masked)
		}
	}
	s.loop3(out).pass3(s.back, name, src, dst, after, head, tail)
}

// rowsKernel is sm512.rowsKernel for AVX2: masked(v) sets the ymm fill
// vector of a row of -Inf.
func (s *sm256) rowsKernel(masked func(v reg.VecVirtual), out func(sum reg.VecVirtual), finish func()) {
	g := s.g
	dst, src, rows, cols := g.GP64(), g.GP64(), g.GP64(), g.GP64()
	g.Load(g.Param("dst").Base(), dst)
	g.Load(g.Param("src").Base(), src)
	g.Load(g.Param("rows"), rows)
	g.Load(g.Param("cols"), cols)
	g.TESTQ(rows, rows)
	g.JZ(LabelRef(s.label("ret")))
	s.dst, s.src = dst, src
	s.setCols(cols)
	if s.keepU {
		s.inPlace = g.GP64()
		g.XORQ(s.inPlace, s.inPlace)
		g.CMPQ(dst, src)
		g.SETEQ(s.inPlace.As8())
		if s.hooks.nilDst {
			g.TESTQ(dst, dst)
			g.CMOVQEQ(src, s.inPlace) // no dst: nonzero, nothing stored
		}
	}
	if s.keepS {
		s.setKeepS()
	}

	// As sm512's: with ahead, a row that pass 1 finds special goes to
	// early, where the next row's max is found on the way to the fill.
	nanrow, early := s.label("nanrow"), s.label("nanrow")
	var bytes reg.GPVirtual
	ahead := func(name string) {}
	if s.ahead {
		if (s.hooks.begin != nil && s.hooks.peek == nil) || s.hooks.nilDst {
			panic("ahead runs no hooks but begin with peek, and special")
		}
		// peek is sm512's: the scaled and causal kernels (fused.go) set
		// up the next row's pass 1 with it.
		peek := s.hooks.peekOr
		early = s.label("nanearly")
		bytes = g.GP64()
		g.LEAQ(Mem{Base: cols, Index: cols, Scale: 1}, bytes) // 2*cols
		g.SHLQ(U8(1), bytes)                                  // 4*cols
		if s.prefetch {
			if s.z == nil || !s.zDst {
				panic("prefetch runs with zDst")
			}
			s.pf, s.pfMask = g.AllocLocal(32), s.z.moff != nil
			pfb, pfs := g.GP64(), g.GP64()
			g.XORQ(pfb, pfb)
			g.XORQ(pfs, pfs)
			g.CMPQ(cols, U32(prefetchCols))
			g.CMOVQLS(bytes, pfb)
			if s.pfMask {
				g.CMOVQLS(s.z.step, pfs)
			}
			g.MOVQ(pfb, s.pf.Offset(16))
			g.MOVQ(pfs, s.pf.Offset(24))
		}
		s.rows, s.bytes = rows, bytes
		undo := peek(src)
		g.VMOVSS(s.maxOf(src, "first"), s.mNext)
		undo()
		// ahead emits the max of the next row into mNext, if there is
		// one; with zDst, pass 1 stores that row's z in its dst.
		ahead = func(name string) {
			if s.nextMax && name == "ahead" {
				if s.nextX == nil {
					return // pass 2 found it (see nextMax)
				}
				// Pass 2 found it where it set nextX (with zDst).
				g.TESTQ(s.nextX, s.nextX)
				s.nextX, s.nextM = nil, nil
				g.JNZ(LabelRef(s.label(name)))
			}
			g.CMPQ(rows, U32(1))
			g.JE(LabelRef(s.label(name)))
			next := g.GP64()
			g.LEAQ(Mem{Base: src, Index: bytes, Scale: 1}, next)
			d := s.dst
			if s.z != nil && s.zDst {
				s.dst = g.GP64()
				g.LEAQ(Mem{Base: d, Index: bytes, Scale: 1}, s.dst)
			}
			undo := peek(next)
			g.VMOVSS(s.maxOf(next, name), s.mNext)
			undo()
			s.dst = d
			g.Label(s.label(name))
		}
	}
	g.Label(s.label("row"))
	if s.hooks.begin != nil {
		s.hooks.begin()
	}
	if s.ahead {
		m := g.XMM()
		g.VMOVSS(s.mNext, m)
		s.rowKind(m, early, early, s.label("masked"))
		if s.prefetch {
			s.setPrefetch(s.pf.Offset(16))
		}
		back := s.readZ()
		s.pass2Acc()
		back()
		ahead("ahead")
		out(nil)
	} else if s.fuse {
		g.JMP(LabelRef(s.label("fused")))
		g.Label(s.label("rowkind"))
		s.pass1(nanrow, nanrow, s.label("masked"))
		s.pass2Acc()
		g.Label(s.label("summed"))
		sum := s.reduceSum()
		g.UCOMISD(sum, sum)
		g.JP(LabelRef(nanrow))
		out(sum)
		s.fused(s.label("rowkind"), s.label("summed"))
	} else {
		s.pass1(nanrow, nanrow, s.label("masked"))
		back := s.readZ()
		sum := s.pass2()
		back()
		g.UCOMISD(sum, sum)
		g.JP(LabelRef(nanrow))
		out(sum)
	}

	g.Comment("A row of -Inf, or of -Inf and NaN.")
	g.Label(s.label("masked"))
	back := s.readZ()
	s.scanNaN(early)
	back()
	fill := g.YMM()
	masked(fill)
	if s.ahead {
		g.JMP(LabelRef(s.label("fillahead")))
		g.Label(early)
		g.VMOVUPS(s.c.ymm("nan"), fill)
		g.Label(s.label("fillahead"))
		ahead("aheadfill")
	}
	g.JMP(LabelRef(s.label("fill")))

	g.Label(nanrow)
	g.VMOVUPS(s.c.ymm("nan"), fill)
	g.Label(s.label("fill"))
	filled := s.hooks.fillStart(g, dst, s.label)
	g.MOVQ(dst, s.q)
	g.MOVQ(s.cols, s.i) // the row's length: cols but in causal kernels (fused.go)
	g.Label(s.label("fill16"))
	g.CMPQ(s.i, U32(16))
	g.JB(LabelRef(s.label("filltail")))
	g.VMOVUPS(fill, Mem{Base: s.q})
	g.VMOVUPS(fill, Mem{Base: s.q, Disp: 32})
	g.ADDQ(U32(64), s.q)
	g.SUBQ(U32(16), s.i)
	g.JMP(LabelRef(s.label("fill16")))
	g.Label(s.label("filltail"))
	g.TESTQ(s.i, s.i)
	g.JZ(LabelRef(filled))
	m := s.masks()
	g.VMASKMOVPS(fill, m[0], Mem{Base: s.q})
	g.VMASKMOVPS(fill, m[1], Mem{Base: s.q, Disp: 32})
	s.hooks.fillEnd(g, filled, fill)

	g.Label(s.label("next"))
	if !s.ahead {
		bytes = g.GP64()
		g.LEAQ(Mem{Base: cols, Index: cols, Scale: 1}, bytes) // 2*cols
		g.SHLQ(U8(1), bytes)                                  // 4*cols
	}
	g.ADDQ(bytes, src)
	s.hooks.advanceDst(g, dst, bytes)
	g.DECQ(rows)
	g.JNZ(LabelRef(s.label("row")))

	if finish != nil {
		finish()
	}
	g.Label(s.label("ret"))
	g.VZEROUPPER()
	g.RET()
}

// readZ makes the passes emitted next read the z that pass 1 stored in
// dst, with zDst, as if dst were src and the row x; the function it
// returns undoes that.
func (s *sm256) readZ() func() {
	if s.z == nil || !s.zDst {
		return func() {}
	}
	src, z := s.src, s.z
	s.src, s.z = s.dst, nil
	s.srcR, s.zr = src, z
	return func() { s.src, s.z, s.srcR, s.zr = src, z, nil, nil }
}

// normalize is sm512.normalize on ymm registers, with hi and lo in memory.
func (s *sm256) normalize(us, ss []reg.VecVirtual, hiv, lov Mem) {
	g := s.g
	w := make([]reg.VecVirtual, len(us))
	for i, u := range us {
		w[i] = g.YMM()
		g.VMOVUPS(lov, w[i])
		g.VFMADD213PS(lov, u, w[i]) // w = u*lo + lo
	}
	for i, u := range us {
		g.VFMADD132PS(hiv, w[i], u) // u = u*hi + w
	}
	for _, u := range us {
		g.VADDPS(hiv, u, u) // y = (u*hi + w) + hi
	}
	for i, u := range us {
		g.VMULPS(ss[i], u, u) // y * s
	}
}

// softmaxAVX2 emits SoftmaxRowsAVX2 with SoftmaxRowsAVX512's flags that
// its passes have: ahead, zeroC and tailPipe, the last with the upper half
// of a last vector of at most 8 elements skipped (halfTail's counterpart).
// Together they took it (ns per element, thread CPU time, the median of
// 300 runs, batches of 1 MiB, Zen 5) from 0.75-0.78 to 0.58-0.59 at 100
// columns, 0.53-0.54 to 0.49-0.50 at 1024, 0.53 to 0.50-0.51 at 4096 and
// 32000, 0.53 to 0.51 at 128256: 1.83x SoftmaxRowsAVX512's time at 100
// and 1024 columns, 1.76x at 4096, 1.65x at 32000, against 2.35x, 1.98x,
// 1.87x and 1.75x before.
func softmaxAVX2(g *gen, c *constTable) {
	g.function("SoftmaxRowsAVX2", "func(dst, src []float32, rows, cols int)",
		[]string{"AVX", "AVX2", "CMOV", "FMA3", "SSE", "SSE2"},
		"SoftmaxRowsAVX2 is SoftmaxRowsAVX512 for AVX2 and FMA3.",
	)
	g.Attributes(0) // not NOSPLIT: the frame holds two rows' s (see sCols256)
	s := newSM256(g, c, "sm256")
	s.ahead, s.zeroC, s.tailPipe, s.keepS = true, true, true, true
	s.nextMax = true
	s.overTail = true
	s.softmaxRows()
}

// softmaxLongAVX2 emits SoftmaxLongRowsAVX2: SoftmaxRowsAVX2 for rows
// that no cache holds, with sm512's long-row passes (see longRows): every
// row's passes 1 and 2 fused into one read of x on the guess that c = 0
// (sm256.fused, as ScaledSoftmaxLongRowsAVX2's), passes 1 and 2 after it
// where the guess fails; no u kept, pass 3 recomputing it from x, from the
// row's end to its start (back); and pass 3 storing with VMOVNTPS where
// the row's dst is 32-byte aligned and cols a multiple of 8 (see longOut).
// The fused pass prefetches x pfLong256 bytes ahead. Package kernels
// sends it batches of rows of 1 MiB or more, 16 MiB or more in all (see
// softmaxLongColsAVX2 there, which has the figures at other shapes).
//
// Measured on AMD EPYC Zen 3 (AVX2, 32 MiB of L3), 8 rows of 4,194,304
// columns, N(0, 4) logits: BenchmarkSoftmax (impl=avx2, four runs
// alternating with the version before) 1.40-1.53 ns per element against
// 2.49-3.10, where copy took 0.59-0.65 (2.3-2.4x copy against 4.3-4.8x);
// thread CPU time, the lower quartile of 6 calls, 4 to 6 rounds
// alternating with SoftmaxRowsAVX2 and copy, the median of the rounds'
// ratios: 0.66-0.72x SoftmaxRowsAVX2's time out of place, 0.75-0.88x in
// place (on input that a copy of 1 MiB or more had just sent to memory,
// which favours it). Its parts, as the ratio of each kernel's least over
// 4 rounds: the fused pass with u stored in dst and read back by pass 3,
// as ScaledSoftmaxLongRowsAVX2 does, 1.09x (0.89x in place); without u,
// 0.85x; with the non-temporal stores, 0.79x; with the prefetch,
// 0.66-0.72x (medians of the rounds' ratios) against 0.71-0.80x without
// it in alternating runs (4 of 4 won), and the same within the noise at
// 4096 bytes ahead. Pass 3 from the row's start, in separate runs,
// measured the same out of place and 1.40-1.44 ns per element against
// 1.15-1.17 in place; plain stores in place, the non-temporal ones out of
// place only, 0.82-0.88x against 0.75-0.86x. A prefetch in pass 3 as well
// changed nothing measurable.
func softmaxLongAVX2(g *gen, c *constTable) {
	g.function("SoftmaxLongRowsAVX2", "func(dst, src []float32, rows, cols int)",
		[]string{"AVX", "AVX2", "CMOV", "FMA3", "MMX+", "SSE", "SSE2"},
		"SoftmaxLongRowsAVX2 is SoftmaxRowsAVX2 for rows too long for any cache:",
		"it reads x once for passes 1 and 2, and writes dst with non-temporal",
		"stores where dst is 32-byte aligned and cols a multiple of 8. The bits",
		"are SoftmaxRowsAVX2's.",
	)
	s := newSM256(g, c, "lr256")
	s.zeroC, s.tailPipe, s.fuse, s.back = true, true, true, true
	s.pfSelf = pfLong256
	s.rowsKernel(func(zero reg.VecVirtual) { g.VXORPS(zero, zero, zero) }, s.longOut(s.label("next")), func() { g.SFENCE() })
}

// pfLong256 is how far ahead of x the fused pass of SoftmaxLongRowsAVX2
// prefetches, in bytes (see pfSelf and softmaxLongAVX2).
const pfLong256 = 2048

// longOut is softmaxOut for SoftmaxLongRowsAVX2: pass 3 with u recomputed
// from x, emitted twice, with non-temporal stores (nt) for a row whose dst
// is 32-byte aligned and whose length is a multiple of 8, so that every
// whole vector's store is aligned, and with plain stores for the others.
// The row's last cols%16 lanes are stored under masks either way.
func (s *sm256) longOut(after string) func(sum reg.VecVirtual) {
	g := s.g
	hl := g.AllocLocal(64)
	hiv, lov := hl.Offset(0), hl.Offset(32) // the row's 1/S, split
	re := s.outPassOf(hiv, lov, uRecompute)
	return func(sum reg.VecVirtual) {
		s.invSplit(sum, hiv, lov)
		g.Comment("Pass 3: y = (1 + u) * (hi + lo) * s, u recomputed from x.")
		s.ifZeroC("out", func() {
			plain := s.label("plain")
			w := g.GP64()
			g.MOVQ(s.cols, w)
			g.SHLQ(U8(2), w)
			g.ORQ(s.dst, w)
			g.TESTQ(U32(31), w)
			g.JNZ(LabelRef(plain))
			s.nt = true
			s.pass3("nt", s.src, s.dst, after, re)
			s.nt = false
			g.Label(plain)
			s.pass3("re", s.src, s.dst, after, re)
		})
	}
}

// softmaxOut is sm512.softmaxOut for SoftmaxRowsAVX2's passes; with
// zeroC, it too emits pass 3 twice, and with regOut it keeps the
// constants of pass 3 in registers where u comes from dst
// (CrossEntropyRowsAVX2).
func (s *sm256) softmaxOut(after string) func(sum reg.VecVirtual) {
	g := s.g
	hl := g.AllocLocal(64)
	hiv, lov := hl.Offset(0), hl.Offset(32) // the row's 1/S, split
	out := s.outPass(hiv, lov)
	return func(sum reg.VecVirtual) {
		s.invSplit(sum, hiv, lov)
		g.Comment("Pass 3: y = (1 + u) * (hi + lo) * s.")
		if s.regOut {
			re := s.outPassOf(hiv, lov, uRecompute)
			pass3 := func() {
				g.TESTQ(s.inPlace, s.inPlace)
				g.JNZ(LabelRef(s.label("re")))
				back := s.scaleInReg()
				k := s.outConsts(hiv, lov)
				s.pass3("out", s.src, s.dst, after, s.outStoredRegs(k))
				back()
				g.Label(s.label("re"))
				back = s.scaleInReg()
				s.pass3("re", s.src, s.dst, after, re)
				back()
			}
			if s.zeroC {
				s.ifZeroC("out", pass3)
			} else {
				pass3()
			}
			return
		}
		if s.zeroC {
			s.ifZeroC("out", func() { s.pass3("out", s.src, s.dst, after, out) })
			return
		}
		s.pass3("out", s.src, s.dst, after, out)
	}
}

// outRegs are the constants of outStoredRegs, in registers.
type outRegs struct{ c, lo, magic, log2e, bias, hi, lov reg.VecVirtual }

// outConsts loads outStoredRegs's constants: c (unless noSub), reduceLo,
// magic, log2e, the row's bias, and its 1/S split into hiv + lov.
func (s *sm256) outConsts(hiv, lov Mem) outRegs {
	g := s.g
	k := outRegs{g.YMM(), g.YMM(), g.YMM(), g.YMM(), g.YMM(), g.YMM(), g.YMM()}
	if !s.noSub {
		g.VMOVUPS(s.cv, k.c)
	}
	g.VMOVUPS(s.c.ymm("reduceLo"), k.lo)
	g.VMOVUPS(s.c.ymm("magic"), k.magic)
	g.VMOVUPS(s.c.ymm("log2e"), k.log2e)
	g.VMOVUPS(s.biasv, k.bias)
	g.VMOVUPS(hiv, k.hi)
	g.VMOVUPS(lov, k.lov)
	return k
}

// outStoredRegs is outPassOf's pass 3 with u from q (dst not src), its
// constants in the registers k: softmaxRows's outStored, for softmaxOut
// with regOut.
func (s *sm256) outStoredRegs(k outRegs) func(p, q Mem, m []reg.VecVirtual) {
	g := s.g
	return func(p, q Mem, m []reg.VecVirtual) {
		x := s.loadX(p, m)
		for _, v := range x {
			if !s.noSub {
				g.VSUBPS(k.c, v, v)
			}
		}
		for _, v := range x {
			g.VMAXPS(v, k.lo, v) // NaN kept
		}
		t := []reg.VecVirtual{g.YMM(), g.YMM()}[:len(x)]
		for h := range t {
			g.VMOVAPS(k.magic, t[h])
			g.VFMADD231PS(k.log2e, x[h], t[h]) // t = fma(d, log2e, magic)
		}
		u := s.load(q, m)
		for h := range t {
			g.VPADDD(k.bias, t[h], t[h])
			g.VPMAXSD(s.c.ymm("zero"), t[h], t[h])
			g.VPSLLD(U8(23), t[h], t[h]) // s
		}
		for h := range u {
			w := g.YMM()
			g.VMOVAPS(k.lov, w)
			g.VFMADD213PS(k.lov, u[h], w) // w = u*lo + lo
			g.VFMADD132PS(k.hi, w, u[h])  // u = u*hi + w
			g.VADDPS(k.hi, u[h], u[h])
			g.VMULPS(t[h], u[h], u[h])
		}
		s.store(u, q, m)
	}
}

// outPass returns pass 3 for the 16 lanes at p, storing at q, for the
// row's 1/S split into hiv + lov (8 lanes each, in memory); u comes from
// q, or is recomputed if dst is src.
func (s *sm256) outPass(hiv, lov Mem) func(p, q Mem, m []reg.VecVirtual) {
	return s.outPassOf(hiv, lov, uEither)
}

// Where pass 3 gets u: from q or recomputed as inPlace says, from q, or
// recomputed.
const (
	uEither = iota
	uStored
	uRecompute
)

// outPassOf is outPass with u from where from says.
func (s *sm256) outPassOf(hiv, lov Mem, from int) func(p, q Mem, m []reg.VecVirtual) {
	g, c := s.g, s.c
	return func(p, q Mem, m []reg.VecVirtual) {
		x := s.loadX(p, m)
		s.reduce(x)
		u := []reg.VecVirtual{g.YMM(), g.YMM()}
		t := []reg.VecVirtual{g.YMM(), g.YMM()}
		recompute := uniqueLabel(s.label("recompute"))
		done := uniqueLabel(s.label("haveu"))
		if from == uEither {
			g.TESTQ(s.inPlace, s.inPlace)
			g.JNZ(LabelRef(recompute))
		}
		if from != uRecompute {
			for h := range t {
				g.VMOVUPS(c.ymm("magic"), t[h])
				g.VFMADD231PS(c.ymm("log2e"), x[h], t[h])
			}
			for h, v := range s.load(q, m) {
				g.VMOVAPS(v, u[h])
			}
		}
		if from == uEither {
			g.JMP(LabelRef(done))
			g.Label(recompute)
		}
		if from != uStored {
			for h, v := range s.expU(x) {
				g.VMOVAPS(x[h], u[h])
				g.VMOVAPS(v, t[h])
			}
		}
		if from == uEither {
			g.Label(done)
		}
		s.scale(t, nil)
		s.normalize(u, t, hiv, lov)
		s.store(u, q, m)
	}
}

// invSplit emits 1/S for the float64 sum S in the low lane of sum, split
// into float32 hi + lo, each broadcast to the 8 lanes at hiv and lov.
func (s *sm256) invSplit(sum reg.VecVirtual, hiv, lov Mem) {
	g, c := s.g, s.c
	g.Comment("1/S as float32 hi + lo.")
	one := g.XMM()
	// The upper lane from sum, not from one itself: read before it is
	// written, one's register would be live, for the register allocator,
	// from the function's start, and taken from pass 2.
	g.VCVTSS2SD(c.scalar("one"), sum, one)
	inv := g.XMM()
	g.VDIVSD(sum, one, inv)
	hi := g.XMM()
	g.VCVTSD2SS(inv, inv, hi)
	hi64 := g.XMM()
	g.VCVTSS2SD(hi, hi, hi64)
	d := g.XMM()
	g.VSUBSD(hi64, inv, d)
	lo := g.XMM()
	g.VCVTSD2SS(d, d, lo)
	y := g.YMM()
	g.VBROADCASTSS(hi, y)
	g.VMOVUPS(y, hiv)
	g.VBROADCASTSS(lo, y)
	g.VMOVUPS(y, lov)
}

// softmaxRows emits the body of SoftmaxRowsAVX2, whose pass 3 runs a row
// late, as SoftmaxRowsAVX512's does (see sm512.softmaxRows): the pending
// row's hi, lo, c and bias (8 lanes each) are kept in the frame at pend,
// then its src and dst (dst 0 when no row is pending); the current row's
// hi and lo wait at cur while the pending row runs. It is also the body
// of ScaledSoftmaxRowsAVX2 and its NoMask form (fused.go), which keep the
// pending row's mask offset as well, and store z in dst (zDst).
func (s *sm256) softmaxRows() {
	g := s.g
	s.keepU = true
	frame := g.AllocLocal(64 + 128 + 16 + s.z.frameSize())
	cur, pend := frame, frame.Offset(64)
	pendSrc, pendDst := pend.Offset(128), pend.Offset(136)
	moffs := frame.Offset(208) // the current row's mask offset, then the pending one's
	s.moffs = moffs
	if s.ahead {
		s.mNext = cur // cur is unused with ahead: hi and lo go straight to pend
	}
	g.MOVQ(U32(0), pendDst)
	outRecompute := s.outPassOf(pend, pend.Offset(32), uRecompute)
	// outStored keeps its constants in registers, loaded before the loop
	// (see late), where outPass takes them as memory operands: that took
	// SoftmaxRowsAVX2 from 0.70 to 0.53 ns per element at 1024 and 4096
	// columns, and from 0.99 to 0.76 at 100, on Zen 5. Computing t in d's
	// register (VFMADD213PS, no VMOVAPS) and keeping 0 for VPMAXSD in a
	// register, 13 instructions a half against 15, measured the same
	// within the noise on AMD EPYC Zen 3, AVX2 (thread CPU time, the
	// lower quartile of 200 calls on 1 MiB batches, 70 runs alternating
	// with this form): the median ratio of three sets of runs 0.97, 1.01
	// and 1.02x at 32000 columns (34 of 70 runs won), 0.99, 0.99 and
	// 1.01x at 128256 (37 of 70), so it is not done.
	var kc, klo, kmagic, klog2e, kbias, khi, klov reg.VecVirtual
	outStored := func(p, q Mem, m []reg.VecVirtual) {
		x := s.loadX(p, m)
		for _, v := range x {
			if !s.noSub {
				g.VSUBPS(kc, v, v)
			}
		}
		for _, v := range x {
			g.VMAXPS(v, klo, v) // NaN kept
		}
		t := []reg.VecVirtual{g.YMM(), g.YMM()}
		for h := range t {
			g.VMOVAPS(kmagic, t[h])
			g.VFMADD231PS(klog2e, x[h], t[h]) // t = fma(d, log2e, magic)
		}
		u := s.load(q, m)
		for h := range t {
			g.VPADDD(kbias, t[h], t[h])
			g.VPMAXSD(s.c.ymm("zero"), t[h], t[h])
			g.VPSLLD(U8(23), t[h], t[h]) // s
		}
		for h := range u {
			w := g.YMM()
			g.VMOVAPS(klov, w)
			g.VFMADD213PS(klov, u[h], w) // w = u*lo + lo
			g.VFMADD132PS(khi, w, u[h])  // u = u*hi + w
			g.VADDPS(khi, u[h], u[h])
			g.VMULPS(t[h], u[h], u[h])
		}
		s.store(u, q, m)
	}
	var khi2, klov2 reg.VecVirtual
	var kept func(u []reg.VecVirtual, p, q Mem, m []reg.VecVirtual)
	// keptOf returns pass 3 with keepS: u from q (dst), s from p (the
	// frame), or in place (sfIn) u from p and s from p + sfInS256.
	keptOf := func(in bool) func(p, q Mem, m []reg.VecVirtual) {
		return func(p, q Mem, m []reg.VecVirtual) {
			if in {
				u := s.load(p, m)
				kept(u, p.Offset(sfInS256), q, m)
				return
			}
			kept(s.load(q, m), p, q, m)
		}
	}
	kept = func(u []reg.VecVirtual, p, q Mem, m []reg.VecVirtual) {
		for h := range u {
			w := g.YMM()
			g.VMOVAPS(klov2, w)
			g.VFMADD213PS(klov2, u[h], w) // w = u*lo + lo
			g.VFMADD132PS(khi2, w, u[h])  // u = u*hi + w
			g.VADDPS(khi2, u[h], u[h])
			g.VMULPS(p.Offset(32*h), u[h], u[h]) // s, from the frame
		}
		s.store(u, q, m)
	}
	if s.keepS {
		if !s.ahead {
			panic("keepS needs ahead")
		}
		s.sf = g.AllocLocal(sfBufs + 2*4*sCols256 + 64)
	}
	// over returns how late's pass 3 runs a row's last cols%16 lanes.
	over := func(o int) int {
		if !s.overTail {
			return overNone
		}
		return o
	}
	late := func(name, after string) {
		g.CMPQ(pendDst, U32(0))
		g.JE(LabelRef(after))
		s.z.restore(g, moffs.Offset(8))
		if s.keepS {
			all := s.label(name + "all")
			g.CMPQ(s.sf.Offset(sfUse), U32(0))
			g.JE(LabelRef(all))
			khi2, klov2 = g.YMM(), g.YMM()
			g.VMOVUPS(pend, khi2)
			g.VMOVUPS(pend.Offset(32), klov2)
			in := s.label(name + "in")
			g.CMPQ(s.sf.Offset(sfIn), U32(0))
			g.JNE(LabelRef(in))
			g.Comment("Pass 3 of the pending row: y = (1 + u) * (hi + lo) * s; u from dst, s from the frame.")
			s.pass3Of(name+"s", s.sf.Offset(sfPend), pendDst, after, keptOf(false), over(overCopy))
			g.Label(in)
			g.Comment("Pass 3 of the pending row in place: u and s from the frame.")
			s.pass3Of(name+"i", s.sf.Offset(sfPend), pendDst, after, keptOf(true), over(overTail))
			g.Label(all)
		}
		g.Comment("Pass 3 of the pending row: y = (1 + u) * (hi + lo) * s; u from dst, or recomputed in place.")
		cv, biasv := s.cv, s.biasv
		s.cv, s.biasv = pend.Offset(64), pend.Offset(96)
		pass3 := func() {
			g.TESTQ(s.inPlace, s.inPlace)
			g.JNZ(LabelRef(s.label(name + "re")))
			kc, klo, kmagic, klog2e, kbias, khi, klov = g.YMM(), g.YMM(), g.YMM(), g.YMM(), g.YMM(), g.YMM(), g.YMM()
			for _, k := range []struct {
				r reg.VecVirtual
				m Mem
			}{{kc, s.cv}, {klo, s.c.ymm("reduceLo")}, {kmagic, s.c.ymm("magic")}, {klog2e, s.c.ymm("log2e")},
				{kbias, s.biasv}, {khi, pend}, {klov, pend.Offset(32)}} {
				if k.r == kc && s.noSub {
					continue
				}
				g.VMOVUPS(k.m, k.r)
			}
			back := s.scaleInReg()
			s.pass3Of(name, pendSrc, pendDst, after, outStored, over(overCopy))
			back()
			g.Label(s.label(name + "re"))
			back = s.readZ() // in place, z is in dst, over x
			s.pass3Of(name+"re", pendSrc, pendDst, after, outRecompute, over(overTail))
			back()
		}
		if s.zeroC {
			s.ifZeroC(name, pass3)
		} else {
			pass3()
		}
		s.cv, s.biasv = cv, biasv
		g.Label(after)
	}
	s.rowsKernel(func(zero reg.VecVirtual) { g.VXORPS(zero, zero, zero) }, func(sum reg.VecVirtual) {
		if !s.ahead {
			s.invSplit(sum, cur, cur.Offset(32))
		}
		s.z.save(g, moffs)
		late("out", s.label("prev"))
		from := []Mem{cur, cur.Offset(32), s.cv, s.biasv}
		if s.ahead && s.z != nil && s.z.rows != nil {
			s.z.restore(g, moffs) // this row's k, which a NaN S fills
		}
		if s.ahead {
			// As sm512's: S's reduction, its NaN check and 1/S after the
			// pending row's pass 3, hi and lo straight to pend.
			g.Comment("This row's S, NaN check and split 1/S, after the pending row's pass 3.")
			sum = s.reduceSum()
			g.MOVQ(U32(0), pendDst) // the pending row is done
			g.UCOMISD(sum, sum)
			g.JP(LabelRef(s.label("nanrow")))
			s.invSplit(sum, pend, pend.Offset(32))
			from = from[2:]
		}
		g.Comment("This row is now pending: its hi, lo, c, bias, src and dst.")
		for i, f := range from {
			y := g.YMM()
			g.VMOVUPS(f, y)
			g.VMOVUPS(y, pend.Offset(32*(i+4-len(from))))
		}
		s.z.pend(g, moffs, g.GP64())
		g.MOVQ(s.src, pendSrc)
		g.MOVQ(s.dst, pendDst)
		if s.keepS {
			g.Comment("This row's s buffer is the pending row's; the next row takes the other.")
			w := g.GP64()
			g.MOVQ(s.sf.Offset(sfCur), w)
			g.MOVQ(w, s.sf.Offset(sfPend))
			g.XORQ(s.sf.Offset(sfSwap), w)
			g.MOVQ(w, s.sf.Offset(sfCur))
		}
		g.JMP(LabelRef(s.label("next")))
	}, func() {
		g.Comment("Pass 3 of the last finite row.")
		late("last", s.label("flushed"))
	})
}
