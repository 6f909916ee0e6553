package main

import (
	"fmt"
	"math"
)

// This file holds what every kernel generator shares: constant tables,
// the copy of a row's last elements, the loop skeleton of an elementwise
// kernel, and the exponential's reduction and polynomial.
//
// A vector of the fallback's 16 float32 lanes is four NEON registers (vec),
// lanes 0-3, 4-7, 8-11 and 12-15; in float64, eight, two lanes each.
// Registers are assigned by hand, per kernel; the helpers take the ones
// they may use as arguments. Each step is emitted for the four registers
// of a vector before the next step, so that their chains overlap.

// vec is a vector of 16 float32 lanes: four consecutive registers, so that
// one LD1 or ST1 moves it.
type vec [4]V

// vecAt returns the vector in registers first..first+3.
func vecAt(first V) vec { return vec{first, first + 1, first + 2, first + 3} }

// each emits f for the four registers of each vector, register by
// register.
func each(f func(j int)) {
	for j := 0; j < 4; j++ {
		f(j)
	}
}

// table is the file's read-only data: 16-byte entries of four 32-bit
// lanes, loaded with LDR Q, and 8-byte float64 entries, loaded with LDR D.
type table struct {
	f    *file
	sym  string
	off  map[string]int
	size int
}

// newTable starts the file's table, named sym.
func (f *file) newTable(sym string) *table {
	return &table{f: f, sym: sym, off: map[string]int{}}
}

func (t *table) add(name string, align int, words ...uint32) {
	if _, dup := t.off[name]; dup {
		panic("duplicate constant " + name)
	}
	for t.size%align != 0 {
		t.f.data = append(t.f.data, fmt.Sprintf("DATA %s<>+%d(SB)/4, $0", t.sym, t.size))
		t.size += 4
	}
	t.off[name] = t.size
	for _, w := range words {
		t.f.data = append(t.f.data, fmt.Sprintf("DATA %s<>+%d(SB)/4, $0x%08x", t.sym, t.size, w))
		t.size += 4
	}
}

// splat adds an entry holding bits in its four lanes.
func (t *table) splat(name string, bits uint32) { t.add(name, 16, bits, bits, bits, bits) }

// lanes adds an entry holding four different values.
func (t *table) lanes(name string, l0, l1, l2, l3 uint32) { t.add(name, 16, l0, l1, l2, l3) }

// float64 adds a float64 entry.
func (t *table) float64(name string, v float64) {
	b := math.Float64bits(v)
	t.add(name, 8, uint32(b), uint32(b>>32))
}

// end writes the table's GLOBL directive; call it after the last entry.
func (t *table) end() {
	t.f.data = append(t.f.data, fmt.Sprintf("GLOBL %s<>(SB), RODATA|NOPTR, $%d", t.sym, t.size))
}

func (t *table) lookup(name string) int {
	off, ok := t.off[name]
	if !ok {
		panic("unknown constant " + name)
	}
	return off
}

// load loads the 16-byte entry name into v, from the table at base.
func (t *table) load(v V, base R, name string) { t.f.ldrQ(v, base, t.lookup(name)) }

// loadD loads the float64 entry name into the scalar v.
func (t *table) loadD(v V, base R, name string) { t.f.ldrD(v, base, t.lookup(name)) }

// copyTail copies n float32s, n < 16, from src to dst in at most four
// moves of 8, 4, 2 and 1 elements (by the bits of n), none of which reads
// or writes past the n elements. It advances src and dst; v and v+1 and
// r are scratch.
func (f *file) copyTail(label string, dst, src, n R, v V, r R) {
	l := f.uniqueLabel(label)
	f.tbz(3, n, l+"_4")
	f.ld1(S4, v, 2, src, true)
	f.st1(S4, v, 2, dst, true)
	f.label(l + "_4")
	f.tbz(2, n, l+"_2")
	f.ld1(S4, v, 1, src, true)
	f.st1(S4, v, 1, dst, true)
	f.label(l + "_2")
	f.tbz(1, n, l+"_1")
	f.ldrXPost(r, src)
	f.strXPost(r, dst)
	f.label(l + "_1")
	f.tbz(0, n, l+"_done")
	f.ldrWPost(r, src)
	f.strWPost(r, dst)
	f.label(l + "_done")
}

// minLen sets n = min(n, m), two lengths.
func (f *file) minLen(n, m R) {
	f.cmpR(n, m)
	f.csel(HI, n, m, n)
}

// vectors emits a loop over the count elements at the kernel's pointers:
// body(false) for each 16 of them, then body(true) once for the last
// 1..15, if any; body advances the pointers, the loop counts count down
// (to count%16). It then jumps to after, or falls through to a label of
// its own if after is empty.
func (f *file) vectors(prefix string, count R, after string, body func(tail bool)) {
	end := after
	if end == "" {
		end = prefix + "_end"
	}
	f.label(prefix + "16")
	f.cmpI(count, 16)
	f.bcond(LO, prefix+"tail")
	body(false)
	f.subI(count, count, 16)
	f.b(prefix + "16")
	f.label(prefix + "tail")
	f.cbz(count, end)
	body(true)
	if after == "" {
		f.label(end)
	} else {
		f.b(after)
	}
}

// blockSum emits the loop of a float64 row sum in the canonical lane
// order over the count elements at the kernel's pointers: for each block
// of 64 elements, zero clears the block partials, vector(false) adds the
// terms of each of its 4 vectors, and flush adds the partials to the lane
// accumulators; then the row's last block: 0..3 whole vectors, and
// vector(true) for the last 1..15 lanes, if any.
func (f *file) blockSum(prefix string, count R, zero, flush func(), vector func(tail bool)) {
	f.label(prefix + "64")
	f.cmpI(count, 64)
	f.bcond(LO, prefix+"last")
	zero()
	for v := 0; v < 4; v++ {
		vector(false)
	}
	flush()
	f.subI(count, count, 64)
	f.b(prefix + "64")
	f.label(prefix + "last")
	f.comment("The last block: 0..3 whole vectors, then 0..15 lanes.")
	f.cbz(count, prefix+"done")
	zero()
	f.vectors(prefix, count, "", vector)
	flush()
	f.label(prefix + "done")
}

// elementwise emits the body of a func(dst, src []float32) kernel that
// maps each 16-lane vector of src to dst: body transforms the vector in
// x (V0-V3) in place and may use V4-V23. The last n%16 elements are
// copied to a buffer in the frame (64 bytes at 8(RSP)), transformed there
// as a whole vector, and copied back: nothing outside the slices is read or
// written. Elements are read before they are written at the same index,
// so dst may be src. It uses R0-R3 and R9-R11.
func (f *file) elementwise(label string, body func(x vec)) {
	dst, src, n, m, buf, p, tmp := R(0), R(1), R(2), R(3), R(9), R(10), R(11)
	x := vecAt(0)
	f.loadArg(dst, "dst_base+0")
	f.loadArg(src, "src_base+24")
	f.loadArg(n, "src_len+32")
	f.loadArg(m, "dst_len+8")
	f.minLen(n, m)
	f.vectors(label, n, "", func(tail bool) {
		if !tail {
			f.ld1(S4, x[0], 4, src, true)
			body(x)
			f.st1(S4, x[0], 4, dst, true)
			return
		}
		f.comment("The last 1..15 elements, through the buffer.")
		f.addSP(buf, 8)
		f.movR(p, buf)
		f.copyTail(label+"_in", p, src, n, x[0], tmp)
		f.ld1(S4, x[0], 4, buf, false)
		body(x)
		f.st1(S4, x[0], 4, buf, false)
		f.copyTail(label+"_out", dst, buf, n, x[0], tmp)
	})
	f.ret()
}

// expK are the registers of the exponential's constants that every
// kernel uses: k holds log2e, -ln2Hi, -ln2Lo, c6 (the multipliers of
// FMLA by element), c holds c5, c4, c3, c2 (the polynomial's addends,
// which DUP copies out), and magic holds 1.5*2^23 in every lane.
type expK struct{ magic, k, c V }

// expTable adds the entries of expK to t: "magic", "k" and "c".
func expTable(t *table) {
	t.splat("magic", roundMagicBits)
	t.lanes("k", log2eBits, negLn2HiBits, negLn2LoBits, expC6Bits)
	t.lanes("c", expC5Bits, expC4Bits, expC3Bits, expC2Bits)
}

// The exponential's constants: their values and meaning are those of
// fallback/exp.go.
const (
	log2eBits      = 0x3fb8aa3b // log2(e) rounded to float32
	roundMagicBits = 0x4b400000 // 1.5*2^23
	negLn2HiBits   = 0xbf317218 // -ln2Hi
	negLn2LoBits   = 0x3102e308 // -ln2Lo (ln2Lo is negative)
	expC6Bits      = 0x3ab4b71a
	expC5Bits      = 0x3c091fbc
	expC4Bits      = 0x3d2aad09
	expC3Bits      = 0x3e2aaa45
	expC2Bits      = 0x3efffffd
	oneBits        = 0x3f800000
	nanBits        = 0x7fc00000 // the canonical NaN
	posInfBits     = 0x7f800000
	negInfBits     = 0xff800000
	largeMaxBits   = 0x43500000 // fallback's largeMax, 208
)

// expReduce emits the reduction and polynomial of fallback.expReduceVec
// for the vector d, which holds r on exit; t gets t = fma(d, log2e,
// 1.5*2^23), whose bits hold n, and b gets q. a is scratch.
//
//	t  = fma(d, log2e, 1.5*2^23)
//	nf = t - 1.5*2^23                 exact
//	r  = fma(nf, -ln2Lo, fma(nf, -ln2Hi, d))
//	q  = fma(fma(fma(fma(c6, r, c5), r, c4), r, c3), r, c2)
//
// FMLA accumulates into its destination, so each step that adds a
// constant first copies the constant into a register (MOV, or DUP from a
// lane of k.c) and multiplies into it.
func (f *file) expReduce(k expK, d, t, a, b vec) {
	each(func(j int) { f.mov(t[j], k.magic) })
	each(func(j int) { f.fmlaElem(t[j], d[j], k.k, 0) })  // t = magic + d*log2e
	each(func(j int) { f.fsub(S4, a[j], t[j], k.magic) }) // nf
	each(func(j int) { f.fmlaElem(d[j], a[j], k.k, 1) })  // d - nf*ln2Hi, exact
	each(func(j int) { f.fmlaElem(d[j], a[j], k.k, 2) })  // r
	each(func(j int) { f.dupElem(S4, a[j], k.c, 0) })
	each(func(j int) { f.fmlaElem(a[j], d[j], k.k, 3) }) // c5 + r*c6
	for i, acc := range []vec{b, a, b} {
		src := a
		if i == 1 {
			src = b
		}
		each(func(j int) { f.dupElem(S4, acc[j], k.c, i+1) })
		each(func(j int) { f.fmla(S4, acc[j], src[j], d[j]) }) // c + q*r
	}
}
