package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// This file holds what every kernel generator shares: constant tables,
// tail masks, and the loop skeleton of an elementwise kernel. Vectors are
// 16 float32 lanes, the fallback's lane count: one zmm register, or two ymm
// registers (the low and high half) on AVX2.

// A constant is one float32 constant of a kernel, by its bits (or an int32
// for the integer constants), with the name the generator uses for it.
type constant struct {
	name string
	bits uint32
}

// constTable is a read-only table of constants, each stored in 8 lanes (32
// bytes) so that an AVX2 instruction can take it as a 256-bit memory
// operand, and an AVX-512 one can broadcast its first lane.
type constTable struct {
	base Mem
	off  map[string]int
}

// constTable adds a table with the given constants to the file.
func (g *gen) constTable(symbol string, cs []constant) *constTable {
	t := &constTable{base: g.StaticGlobal(symbol), off: map[string]int{}}
	g.DataAttributes(rodata)
	for i, c := range cs {
		if _, dup := t.off[c.name]; dup {
			panic("duplicate constant " + c.name)
		}
		t.off[c.name] = 32 * i
		for range 8 {
			g.AppendDatum(U32(c.bits))
		}
	}
	return t
}

// ymm returns the constant as a 256-bit memory operand (8 lanes).
func (t *constTable) ymm(name string) Mem { return t.base.Offset(t.lookup(name)) }

// scalar returns the constant's first lane, a 32-bit memory operand, for
// VBROADCASTSS.
func (t *constTable) scalar(name string) Mem { return t.base.Offset(t.lookup(name)) }

func (t *constTable) lookup(name string) int {
	off, ok := t.off[name]
	if !ok {
		panic("unknown constant " + name)
	}
	return off
}

// tailMask16 returns the address of a table of 16 uint16 opmasks, entry n
// having its n low bits set: KMOVW table(n*2) selects the first n lanes of
// a zmm vector. The table is added to the file on first use.
func (g *gen) tailMask16() Mem {
	return g.table("tailmask16", func() {
		for n := range 16 {
			g.AppendDatum(U16(1<<n - 1))
		}
	})
}

// table returns the address of the read-only table symbol, which fill
// appends to the file the first time.
func (g *gen) table(symbol string, fill func()) Mem {
	if m, ok := g.tables[symbol]; ok {
		return m
	}
	m := g.StaticGlobal(symbol)
	g.DataAttributes(rodata)
	fill()
	g.tables[symbol] = m
	return m
}

// tailMask8 returns the address of a table of 16 int32 -1s followed by 16
// zeros. The 64 bytes at offset 4*(16-n) are the VMASKMOVPS masks of a
// 16-lane vector whose first n lanes are selected: the low ymm half at
// that offset, the high half 32 bytes further. The table is added to the
// file on first use.
//
// QEMU's emulation (qemu-user 7.2, as Debian 12 ships it) faults on a
// VMASKMOVPS load whose masked-off lanes reach an unmapped page, which
// Intel's manual rules out for the hardware; see elementwise256 for the
// way around it.
func (g *gen) tailMask8() Mem {
	return g.table("tailmask8", func() {
		for i := range 32 {
			if i < 16 {
				g.AppendDatum(U32(0xffffffff))
			} else {
				g.AppendDatum(U32(0))
			}
		}
	})
}

// copyTail copies n < 16 float32s from src to dst, two memory operands
// without an index register, in at most four moves of 8, 4, 2 and 1
// elements (by the bits of n), none of which reads or writes past the n
// elements.
func (g *gen) copyTail(label string, dst, src Mem, n reg.GPVirtual) {
	off := g.GP64()
	g.XORQ(off, off)
	at := func(m Mem) Mem { return m.Idx(off, 1) }
	for _, step := range []struct {
		elems int
		move  func()
	}{
		{8, func() { y := g.YMM(); g.VMOVUPS(at(src), y); g.VMOVUPS(y, at(dst)) }},
		{4, func() { x := g.XMM(); g.VMOVUPS(at(src), x); g.VMOVUPS(x, at(dst)) }},
		{2, func() { r := g.GP64(); g.MOVQ(at(src), r); g.MOVQ(r, at(dst)) }},
		{1, func() { r := g.GP32(); g.MOVL(at(src), r); g.MOVL(r, at(dst)) }},
	} {
		skip := fmt.Sprintf("%s_%d", label, step.elems)
		g.TESTQ(U32(step.elems), n)
		g.JZ(LabelRef(skip))
		step.move()
		if step.elems > 1 {
			g.ADDQ(U32(4*step.elems), off)
		}
		g.Label(skip)
	}
}

// elementwiseArgs loads the arguments of a func(dst, src []float32): the
// two base pointers and n = min(len(dst), len(src)). The callers check that
// the lengths are equal; taking the minimum costs two instructions and
// keeps a wrong call from writing out of bounds.
func (g *gen) elementwiseArgs() (dst, src, n reg.GPVirtual) {
	dst = g.GP64()
	src = g.GP64()
	n = g.GP64()
	m := g.GP64()
	g.Load(g.Param("dst").Base(), dst)
	g.Load(g.Param("src").Base(), src)
	g.Load(g.Param("src").Len(), n)
	g.Load(g.Param("dst").Len(), m)
	g.CMPQ(m, n)
	g.CMOVQLT(m, n) // n = min(n, m)
	return dst, src, n
}

// elementwise512 emits the loops of an AVX-512 kernel that maps src to dst
// one 16-lane vector at a time: unroll vectors per iteration while that
// many remain, then single vectors, then the last 0..15 elements with
// opmask-masked loads and stores, which neither read nor write memory
// outside the slices (masked-off lanes do not fault). body transforms the
// vectors it is given in place; it sees the same code path for every
// vector, so the tail's lanes get the same bits as the main loop's.
// Elements are read before they are written at the same index, so dst may
// be src.
func (g *gen) elementwise512(label string, unroll int, body func(v []reg.VecVirtual)) {
	dst, src, n := g.elementwiseArgs()
	g.elementwiseLoops(label, unroll, dst, src, n, 1, g.ZMM, body)

	g.Comment("Tail: the last 0..15 elements, masked.")
	g.TESTQ(n, n)
	g.JZ(LabelRef(label + "_done"))
	tbl := g.GP64()
	g.LEAQ(g.tailMask16(), tbl)
	k := g.K()
	g.KMOVW(Mem{Base: tbl, Index: n, Scale: 2}, k)
	v := g.ZMM()
	g.VMOVUPS_Z(Mem{Base: src}, k, v)
	body([]reg.VecVirtual{v})
	g.VMOVUPS(v, k, Mem{Base: dst})

	g.Label(label + "_done")
	g.VZEROUPPER()
	g.RET()
}

// elementwise256 is elementwise512 for AVX2: a vector is two ymm registers,
// v[2i] its low 8 lanes and v[2i+1] its high 8, and the tail uses
// VMASKMOVPS with masks from tailMask8, which neither loads nor stores
// masked-off lanes. The hardware does not fault on those lanes either
// (Intel's manual guarantees it; AMD's calls it implementation-dependent,
// and the guard-page tests check it on the machines they run on), but
// QEMU's emulation, which the project uses to test AVX2 on AVX-512
// machines, faults on masked-off lanes of a load that reach an unmapped
// page. So a tail whose 64 bytes of source cross a 4 KiB boundary (one in
// 64 for random addresses; amd64 pages are 4 KiB or multiples of it) is
// copied in through a buffer on the stack instead (copyTail), which
// touches exactly its n elements. Stores are always masked: QEMU emulates
// those lane by lane.
func (g *gen) elementwise256(label string, unroll int, body func(v []reg.VecVirtual)) {
	dst, src, n := g.elementwiseArgs()
	g.elementwiseLoops(label, unroll, dst, src, n, 2, g.YMM, body)

	g.Comment("Tail: the last 0..15 elements, with VMASKMOVPS.")
	g.TESTQ(n, n)
	g.JZ(LabelRef(label + "_done"))
	tbl, off := g.GP64(), g.GP64()
	g.LEAQ(g.tailMask8(), tbl)
	g.MOVQ(U32(16), off)
	g.SUBQ(n, off) // the masks start at lane 16-n of the table
	mlo, mhi := g.YMM(), g.YMM()
	g.VMOVDQU(Mem{Base: tbl, Index: off, Scale: 4}, mlo)
	g.VMOVDQU(Mem{Base: tbl, Index: off, Scale: 4, Disp: 32}, mhi)
	lo, hi := g.YMM(), g.YMM()
	g.Comment("Loads whose 64 bytes cross a page boundary go through the stack.")
	page := g.GP64()
	g.MOVQ(src, page)
	g.ANDQ(U32(4095), page)
	g.CMPQ(page, U32(4096-64))
	g.JA(LabelRef(label + "_tail_copy"))
	g.VMASKMOVPS(Mem{Base: src}, mlo, lo)
	g.VMASKMOVPS(Mem{Base: src, Disp: 32}, mhi, hi)
	g.JMP(LabelRef(label + "_tail_body"))
	g.Label(label + "_tail_copy")
	buf := g.AllocLocal(64)
	g.VXORPS(lo, lo, lo)
	g.VMOVUPS(lo, buf)
	g.VMOVUPS(lo, buf.Offset(32))
	g.copyTail(label+"_in", buf, Mem{Base: src}, n)
	g.VMOVUPS(buf, lo)
	g.VMOVUPS(buf.Offset(32), hi)
	g.Label(label + "_tail_body")
	body([]reg.VecVirtual{lo, hi})
	g.VMASKMOVPS(lo, mlo, Mem{Base: dst})
	g.VMASKMOVPS(hi, mhi, Mem{Base: dst, Disp: 32})

	g.Label(label + "_done")
	g.VZEROUPPER()
	g.RET()
}

// elementwiseLoops emits the loops of elementwise512 and elementwise256
// over the whole vectors of 16 float32 at src: blocks of unroll vectors
// while that many remain, then single ones, each loaded into parts
// registers of newReg (16/parts lanes each), given to body, and stored to
// dst. It leaves n at the tail's 0..15 elements.
func (g *gen) elementwiseLoops(label string, unroll int, dst, src, n reg.GPVirtual, parts int, newReg func() reg.VecVirtual, body func(v []reg.VecVirtual)) {
	size := 64 / parts // bytes a register
	loop := func(name string, u int) {
		g.Label(label + name)
		g.CMPQ(n, U32(16*u))
		g.JB(LabelRef(label + name + "_end"))
		v := make([]reg.VecVirtual, parts*u)
		for i := range v {
			v[i] = newReg()
			g.VMOVUPS(Mem{Base: src, Disp: size * i}, v[i])
		}
		body(v)
		for i := range v {
			g.VMOVUPS(v[i], Mem{Base: dst, Disp: size * i})
		}
		g.ADDQ(U32(64*u), src)
		g.ADDQ(U32(64*u), dst)
		g.SUBQ(U32(16*u), n)
		g.JMP(LabelRef(label + name))
		g.Label(label + name + "_end")
	}
	if unroll > 1 {
		loop(fmt.Sprintf("_loop%d", unroll), unroll)
	}
	loop("_loop1", 1)
}
