package main

import (
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// loop3 is what the loops of pass 3 take of their kernel, sm512 or sm256
// (sm512.loop3, sm256.loop3). Both run out over a row at src and dst in
// vectors of 16 elements (one zmm register, or two ymm halves), four to
// a block of 64, and over the row's last cols%16 lanes under the
// kernel's tail mask; fwd runs the row from its start, back from its
// end.
type loop3 struct {
	g             *gen
	label         func(name string) string
	p, q, i, cols reg.GPVirtual // pointers into src and dst, a count, the row's length
	// out emits the pass on n vectors at p of src and q of dst, or with
	// masked on the row's last cols%16 lanes at p and q (n = 1). perOut
	// is the n of a block's calls: 2 for sm512 (two calls of two zmm
	// vectors a block), 1 for sm256 (four calls of one vector).
	out    func(p, q Mem, n int, masked bool)
	perOut int
	// walk and tailN are how back finds its vectors and the row's masked
	// lanes (see back): set for sm256, false and nil for sm512.
	walk  bool
	tailN reg.GPVirtual
}

// pass3 emits fwd, or with back, for rows of more than prefetchCols
// elements, back instead. head and tail are fwd's.
func (l loop3) pass3(back bool, name string, src, dst Op, after string, head, tail func()) {
	if !back {
		l.fwd(name, src, dst, after, head, tail)
		return
	}
	g := l.g
	b := l.label(name + "back")
	g.CMPQ(l.cols, U32(prefetchCols))
	g.JA(LabelRef(b))
	l.fwd(name, src, dst, after, head, tail)
	g.Label(b)
	l.back(name, src, dst, after)
}

// fwd emits a last pass over the row at src and dst (registers or memory
// holding the pointers), from its start: blocks of 64 elements, their
// vectors from the first to the last, then single vectors, then the
// row's last cols%16 lanes under the mask. It ends with a jump to the
// label after; name prefixes its labels. head, if not nil, is emitted
// once p, q and i are set, before the first block, and tail, if not nil,
// before the masked last lanes, where i is cols%16 and not 0 (see
// sm256.pass3Of).
func (l loop3) fwd(name string, src, dst Op, after string, head, tail func()) {
	g, p, q, i := l.g, l.p, l.q, l.i
	g.MOVQ(src, p)
	g.MOVQ(dst, q)
	g.MOVQ(l.cols, i)
	if head != nil {
		head()
	}
	g.Label(l.label(name + "64"))
	g.CMPQ(i, U32(64))
	g.JB(LabelRef(l.label(name + "16")))
	for j := 0; j < 4; j += l.perOut {
		l.out(Mem{Base: p, Disp: 64 * j}, Mem{Base: q, Disp: 64 * j}, l.perOut, false)
	}
	g.ADDQ(U32(256), p)
	g.ADDQ(U32(256), q)
	g.SUBQ(U32(64), i)
	g.JMP(LabelRef(l.label(name + "64")))
	g.Label(l.label(name + "16"))
	g.CMPQ(i, U32(16))
	g.JB(LabelRef(l.label(name + "tail")))
	l.out(Mem{Base: p}, Mem{Base: q}, 1, false)
	g.ADDQ(U32(64), p)
	g.ADDQ(U32(64), q)
	g.SUBQ(U32(16), i)
	g.JMP(LabelRef(l.label(name + "16")))
	g.Label(l.label(name + "tail"))
	g.TESTQ(i, i)
	g.JZ(LabelRef(after))
	if tail != nil {
		tail()
	}
	l.out(Mem{Base: p}, Mem{Base: q}, 1, true)
	g.JMP(LabelRef(after))
}

// back is fwd from the row's end to its start, without head and tail:
// the row's last cols%16 lanes under the mask, then single vectors down
// to a multiple of 64 elements, then blocks of 64, their vectors from
// the last to the first. It is pass 3 of the rows of more than
// prefetchCols elements in ScaledSoftmaxLongRowsAVX512 and
// ScaledSoftmaxLongRowsAVX2 (sm512.back, sm256.back): it starts on the
// blocks of x, mask and u that the pass before it left in L2 last.
//
// The vectors: i counts the row's elements below p and q. With walk
// (sm256), p and q are set once at the end of the row's last whole
// vector and step down with i; without it (sm512), they are recomputed
// from the row's start and i after each step of i, the row's start in
// two registers more. The row has masked lanes where tailN (cols%16,
// sm256's) is not 0, or without tailN where cols&^15 is not cols.
//
// ScaledSoftmaxLongRowsAVX512: thread CPU time, the lower quartile of 60
// runs, each the second of two calls in a row, against SoftmaxRowsAVX512
// in the same run, with minW and noPfLong, one mask row per row: 1.03
// against 1.07x at 65536 columns, 1.15 against 1.16x at 128256. On every
// row it measured 1.16 against 1.15x at 8192 columns (alternating runs).
//
// ScaledSoftmaxLongRowsAVX2: thread CPU time on AMD EPYC Zen 3 (AVX2,
// 512 KiB of L2), the lower quartile of 200 calls, each the second of two
// in a row, 1 MiB batches, x N(0, 4), scale 1/8, one mask row per row,
// against SoftmaxRowsAVX2 in the same run, the median of 20 alternating
// runs with the kernel before: 1.14x against 1.18x at 65536 columns (20
// runs of 20 lower), 1.15x against 1.18x at 128256 (19 of 20), 1.11x
// against 1.12x at 262144 (15 of 20); a mask of zeros 1.14x against
// 1.19x, 1.13x against 1.17x, 1.11x against 1.12x; in place (on the
// batch's own output, call after call) 1.55x against 1.57x at 65536,
// 1.52x against 1.53x at 128256. In ns per element 0.855 against 0.841,
// 0.884 against 0.879 and 0.883 against 0.908, with SoftmaxRowsAVX2
// itself at 0.758 against 0.726, 0.792 against 0.738 and 0.802 against
// 0.816 in the same runs: the load of the machine moved both. 1.23x at
// 32000 columns (ScaledSoftmaxRowsAVX2) either way. Not kept, against
// this in the same runs: prefetching x, the mask and dst 2 KiB below the
// block, 1.19x against 1.16x at 65536 columns, 1.14x either way at
// 128256 and 1.11x at 262144 (16 runs); 1 KiB below, 1.18x either way,
// 1.16x against 1.13x, 1.12x against 1.11x (10 runs); each block's four
// vectors from the first to the last, 1.15x against 1.14x, 1.12x either
// way, 1.09x against 1.10x (16 runs).
func (l loop3) back(name string, src, dst Op, after string) {
	g, p, q, i := l.g, l.p, l.q, l.i
	var sb, db reg.GPVirtual // without walk, the row's start in src and dst
	if l.walk {
		g.MOVQ(l.cols, i)
		g.ANDQ(I32(-16), i)
		g.MOVQ(src, p)
		g.MOVQ(dst, q)
		g.LEAQ(Mem{Base: p, Index: i, Scale: 4}, p)
		g.LEAQ(Mem{Base: q, Index: i, Scale: 4}, q)
	} else {
		sb, db = g.GP64(), g.GP64()
		g.MOVQ(src, sb)
		g.MOVQ(dst, db)
		g.MOVQ(l.cols, i)
		g.ANDQ(I32(-16), i)
	}
	at := func() { // without walk, p and q from i
		if !l.walk {
			g.LEAQ(Mem{Base: sb, Index: i, Scale: 4}, p)
			g.LEAQ(Mem{Base: db, Index: i, Scale: 4}, q)
		}
	}
	down := func(n int) { // i, p and q n elements down
		if l.walk {
			g.SUBQ(U32(4*n), p)
			g.SUBQ(U32(4*n), q)
			g.SUBQ(U32(n), i)
			return
		}
		g.SUBQ(U32(n), i)
		at()
	}
	b16, b64 := l.label(name+"b16"), l.label(name+"b64")
	if l.tailN != nil {
		g.TESTQ(l.tailN, l.tailN)
		g.JZ(LabelRef(b16))
	} else {
		g.CMPQ(i, l.cols)
		g.JE(LabelRef(b16))
	}
	at()
	l.out(Mem{Base: p}, Mem{Base: q}, 1, true)
	g.Label(b16)
	g.TESTQ(U32(48), i)
	g.JZ(LabelRef(b64))
	down(16)
	l.out(Mem{Base: p}, Mem{Base: q}, 1, false)
	g.JMP(LabelRef(b16))
	g.Label(b64)
	g.TESTQ(i, i)
	g.JZ(LabelRef(after))
	down(64)
	for j := 4 - l.perOut; j >= 0; j -= l.perOut {
		l.out(Mem{Base: p, Disp: 64 * j}, Mem{Base: q, Disp: 64 * j}, l.perOut, false)
	}
	g.JMP(LabelRef(b64))
}
