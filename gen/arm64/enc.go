package main

import "fmt"

// Encodings of the Advanced SIMD instructions that the Go assembler does
// not know, by instruction class, from the fields of the Arm Architecture
// Reference Manual (section C4.1.96, "Advanced SIMD data processing").
// Each function places its fields and checks that they fit; the methods
// in asm.go pick the opcode bits of each instruction.

// bits returns v placed at bit lo, after checking that it fits in width
// bits.
func bits(v uint32, lo, width uint) uint32 {
	if v >= 1<<width {
		panic(fmt.Sprintf("field value %#x does not fit in %d bits", v, width))
	}
	return v << lo
}

// regs places the usual register fields: Rd at 0, Rn at 5.
func regs(n, d V) uint32 { return bits(uint32(n), 5, 5) | bits(uint32(d), 0, 5) }

// fp3Same is "Advanced SIMD three same", floating point:
// 0 Q U 01110 a sz 1 Rm opcode 1 Rn Rd.
func fp3Same(q, u, a, sz, opcode uint32, m, n, d V) uint32 {
	return bits(q, 30, 1) | bits(u, 29, 1) | 0b01110<<24 | bits(a, 23, 1) | bits(sz, 22, 1) |
		1<<21 | bits(uint32(m), 16, 5) | bits(opcode, 11, 5) | 1<<10 | regs(n, d)
}

// int3Same is "Advanced SIMD three same", integer:
// 0 Q U 01110 size 1 Rm opcode 1 Rn Rd.
func int3Same(q, u, size, opcode uint32, m, n, d V) uint32 {
	return bits(q, 30, 1) | bits(u, 29, 1) | 0b01110<<24 | bits(size, 22, 2) |
		1<<21 | bits(uint32(m), 16, 5) | bits(opcode, 11, 5) | 1<<10 | regs(n, d)
}

// twoRegMisc is "Advanced SIMD two-register miscellaneous":
// 0 Q U 01110 size 10000 opcode 10 Rn Rd.
func twoRegMisc(q, u, size, opcode uint32, n, d V) uint32 {
	return bits(q, 30, 1) | bits(u, 29, 1) | 0b01110<<24 | bits(size, 22, 2) |
		0b10000<<17 | bits(opcode, 12, 5) | 0b10<<10 | regs(n, d)
}

// acrossLanes is "Advanced SIMD across lanes":
// 0 Q U 01110 size 11000 opcode 10 Rn Rd.
func acrossLanes(q, u, size, opcode uint32, n, d V) uint32 {
	return bits(q, 30, 1) | bits(u, 29, 1) | 0b01110<<24 | bits(size, 22, 2) |
		0b11000<<17 | bits(opcode, 12, 5) | 0b10<<10 | regs(n, d)
}

// scalarPairwise is "Advanced SIMD scalar pairwise":
// 01 U 11110 size 11000 opcode 10 Rn Rd.
func scalarPairwise(u, size, opcode uint32, n, d V) uint32 {
	return 0b01<<30 | bits(u, 29, 1) | 0b11110<<24 | bits(size, 22, 2) |
		0b11000<<17 | bits(opcode, 12, 5) | 0b10<<10 | regs(n, d)
}

// shiftByImm is "Advanced SIMD shift by immediate":
// 0 Q U 011110 immh:immb opcode 1 Rn Rd, with immh:immb the 7-bit
// immediate (for 32-bit lanes, 64 - shift for right shifts).
func shiftByImm(q, u, immhb, opcode uint32, n, d V) uint32 {
	if immhb>>3 == 0 {
		panic("shiftByImm: immh 0 is another instruction class")
	}
	return bits(q, 30, 1) | bits(u, 29, 1) | 0b011110<<23 | bits(immhb, 16, 7) |
		bits(opcode, 11, 5) | 1<<10 | regs(n, d)
}

// fmlaByElement is FMLA (by element) in "Advanced SIMD vector x indexed
// element", single precision: 0 Q U 01111 1 0 L M Rm 0001 H 0 Rn Rd, with
// the lane index i = H:L and the register M:Rm.
func fmlaByElement(q, u uint32, m V, i uint32, n, d V) uint32 {
	if i > 3 {
		panic("fmlaByElement: lane index out of range")
	}
	return bits(q, 30, 1) | bits(u, 29, 1) | 0b01111<<24 | 0b10<<22 |
		bits(i&1, 21, 1) | bits(uint32(m), 16, 5) | 0b0001<<12 | bits(i>>1, 11, 1) | regs(n, d)
}
