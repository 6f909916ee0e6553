package main

import (
	"fmt"
	"math"
	"strings"
)

// This file is the emitter: one method per instruction form the kernels
// use. Every method takes its operands in the Arm architecture's order,
// destination first, whatever the Go assembler's order, and records the
// instruction twice: as the line it writes into the .s file, and in GNU
// syntax. The Go assembler knows some forms (VFMLA, VLD1, VDUP, the
// scalar and integer instructions); those are written as Go mnemonics.
// It lacks most vector floating-point instructions; those are written as
// WORD with the encoding built by enc.go and the GNU text in a comment.
// The encoding test (asm_test.go) assembles every form with GNU as, and
// the Go forms with go tool asm too, and compares the bytes.

// V is a vector register, V0-V31. Its low lane is the scalar floating-point
// register of the same number (F0-F31; s0-s31 or d0-d31 in GNU syntax).
type V uint8

// R is a general-purpose register, R0-R30 (x0-x30, or w0-w30 in 32-bit
// forms). The kernels leave alone R18 (the platform register), R26-R27
// (the Go assembler's temporaries), R28 (g), R29 (frame pointer) and R30
// (link register).
type R uint8

// arr is a vector arrangement.
type arr struct {
	goName, gnu string
	q, size     uint32 // the Q bit and the element size field (0 b, 2 s, 3 d)
}

var (
	S4  = arr{"S4", "4s", 1, 2}   // 4 float32 or int32 lanes
	D2  = arr{"D2", "2d", 1, 3}   // 2 float64 lanes
	B16 = arr{"B16", "16b", 1, 0} // 16 bytes, for bitwise operations
)

// sz is the sz bit of a floating-point instruction: 0 single, 1 double.
func (t arr) sz() uint32 { return t.size & 1 }

// elem is the arrangement's element letter: "S" or "D".
func (t arr) elem() string { return t.goName[:1] }

func (v V) g(t arr) string { return fmt.Sprintf("V%d.%s", v, t.goName) }
func (v V) n(t arr) string { return fmt.Sprintf("v%d.%s", v, t.gnu) }
func (v V) f() string      { return fmt.Sprintf("F%d", v) }
func (v V) s() string      { return fmt.Sprintf("s%d", v) }
func (v V) d() string      { return fmt.Sprintf("d%d", v) }
func (v V) q() string      { return fmt.Sprintf("q%d", v) }

func (r R) g() string { return fmt.Sprintf("R%d", r) }
func (r R) x() string { return fmt.Sprintf("x%d", r) }
func (r R) w() string { return fmt.Sprintf("w%d", r) }

// inst is one emitted instruction.
type inst struct {
	form string // the instruction form, e.g. "fadd 4s": the encoding test covers each
	gas  string // GNU syntax; a branch has %[1]s where its label goes
	goAs string // Go syntax, likewise; empty for a WORD
	word uint32 // the encoding of a WORD

	label  string // a branch's target
	pseudo bool   // uses Go pseudo-registers (FP, SB): no GNU counterpart
}

// line returns the instruction's line in a .s file.
func (in inst) line() string {
	if in.goAs == "" {
		return fmt.Sprintf("\tWORD $0x%08x // %s", in.word, in.gas)
	}
	if in.label != "" {
		return "\t" + fmt.Sprintf(in.goAs, in.label)
	}
	return "\t" + in.goAs
}

// asm accumulates the text of one .s file.
type asm struct {
	text  []string
	insts []inst         // every instruction emitted, in order
	count map[string]int // uniqueLabel's numbering
}

func newAsm() *asm { return &asm{count: map[string]int{}} }

func (a *asm) emit(in inst) {
	a.insts = append(a.insts, in)
	a.text = append(a.text, in.line())
}

// goInst emits an instruction the Go assembler knows.
func (a *asm) goInst(form, goAs, gas string) { a.emit(inst{form: form, goAs: goAs, gas: gas}) }

// word emits an instruction as its encoding.
func (a *asm) word(form string, w uint32, gas string) { a.emit(inst{form: form, word: w, gas: gas}) }

// raw writes a line that is not an instruction (a directive, a label).
func (a *asm) raw(format string, args ...any) { a.text = append(a.text, fmt.Sprintf(format, args...)) }

// comment writes a comment line.
func (a *asm) comment(s string) { a.raw("\t// %s", s) }

// label defines a label.
func (a *asm) label(name string) { a.raw("%s:", name) }

// uniqueLabel returns a new label with the given prefix, for code emitted
// more than once. The numbering depends only on the order of generation.
func (a *asm) uniqueLabel(prefix string) string {
	a.count[prefix]++
	return fmt.Sprintf("%s_%d", prefix, a.count[prefix])
}

// Vector floating point, as WORDs.

func (a *asm) fp3(name string, u, o1, opcode uint32, t arr, d, n, m V) {
	a.word(name+" "+t.gnu, fp3Same(t.q, u, o1, t.sz(), opcode, m, n, d),
		fmt.Sprintf("%s %s, %s, %s", name, d.n(t), n.n(t), m.n(t)))
}

func (a *asm) fadd(t arr, d, n, m V)  { a.fp3("fadd", 0, 0, 0b11010, t, d, n, m) }
func (a *asm) fsub(t arr, d, n, m V)  { a.fp3("fsub", 0, 1, 0b11010, t, d, n, m) }
func (a *asm) fmul(t arr, d, n, m V)  { a.fp3("fmul", 1, 0, 0b11011, t, d, n, m) }
func (a *asm) fmax(t arr, d, n, m V)  { a.fp3("fmax", 0, 0, 0b11110, t, d, n, m) }
func (a *asm) fmin(t arr, d, n, m V)  { a.fp3("fmin", 0, 1, 0b11110, t, d, n, m) }
func (a *asm) fcmeq(t arr, d, n, m V) { a.fp3("fcmeq", 0, 0, 0b11100, t, d, n, m) }

// fmlaElem is d += n * m[i], 4 single-precision lanes, fused.
func (a *asm) fmlaElem(d, n, m V, i int) {
	a.word("fmla 4s elem", fmlaByElement(1, 0, m, uint32(i), n, d),
		fmt.Sprintf("fmla %s, %s, v%d.s[%d]", d.n(S4), n.n(S4), m, i))
}

// fcvtl widens the low 2 float32 lanes of n to float64; fcvtl2 the high 2.
func (a *asm) fcvtl(d, n V) {
	a.word("fcvtl", twoRegMisc(0, 0, 0b01, 0b10111, n, d), fmt.Sprintf("fcvtl %s, v%d.2s", d.n(D2), n))
}

func (a *asm) fcvtl2(d, n V) {
	a.word("fcvtl2", twoRegMisc(1, 0, 0b01, 0b10111, n, d), fmt.Sprintf("fcvtl2 %s, %s", d.n(D2), n.n(S4)))
}

// fcvtn narrows the float64 lanes of n to the low 2 float32 lanes of d,
// zeroing the high ones; fcvtn2 to the high 2 lanes, keeping the low ones.
func (a *asm) fcvtn(d, n V) {
	a.word("fcvtn", twoRegMisc(0, 0, 0b01, 0b10110, n, d), fmt.Sprintf("fcvtn v%d.2s, %s", d, n.n(D2)))
}

func (a *asm) fcvtn2(d, n V) {
	a.word("fcvtn2", twoRegMisc(1, 0, 0b01, 0b10110, n, d), fmt.Sprintf("fcvtn2 %s, %s", d.n(S4), n.n(D2)))
}

// sshr is an arithmetic right shift of each int32 lane.
func (a *asm) sshr(d, n V, shift int) {
	if shift < 1 || shift > 32 {
		panic("sshr: shift out of range")
	}
	a.word("sshr 4s", shiftByImm(1, 0, uint32(64-shift), 0b00000, n, d),
		fmt.Sprintf("sshr %s, %s, #%d", d.n(S4), n.n(S4), shift))
}

// uqsub is max(n - m, 0) on each lane as unsigned int32s.
func (a *asm) uqsub(d, n, m V) {
	a.word("uqsub 4s", int3Same(1, 1, 0b10, 0b00101, m, n, d),
		fmt.Sprintf("uqsub %s, %s, %s", d.n(S4), n.n(S4), m.n(S4)))
}

// fmaxv sets the scalar d to the maximum of n's 4 float32 lanes.
func (a *asm) fmaxv(d, n V) {
	a.word("fmaxv", acrossLanes(1, 1, 0b00, 0b01111, n, d), fmt.Sprintf("fmaxv %s, %s", d.s(), n.n(S4)))
}

// faddp sets the scalar d to the sum of n's 2 float64 lanes.
func (a *asm) faddp(d, n V) {
	a.word("faddp d", scalarPairwise(1, 0b01, 0b01101, n, d), fmt.Sprintf("faddp %s, %s", d.d(), n.n(D2)))
}

// Vector instructions the Go assembler knows.

func (a *asm) vec3(goName, gasName string, t arr, d, n, m V) {
	a.goInst(gasName+" "+t.gnu, fmt.Sprintf("%s %s, %s, %s", goName, m.g(t), n.g(t), d.g(t)),
		fmt.Sprintf("%s %s, %s, %s", gasName, d.n(t), n.n(t), m.n(t)))
}

// fmla is d += n * m, fused.
func (a *asm) fmla(t arr, d, n, m V) { a.vec3("VFMLA", "fmla", t, d, n, m) }

// add and sub are integer lane arithmetic.
func (a *asm) add(t arr, d, n, m V) { a.vec3("VADD", "add", t, d, n, m) }
func (a *asm) sub(t arr, d, n, m V) { a.vec3("VSUB", "sub", t, d, n, m) }

func (a *asm) and(d, n, m V) { a.vec3("VAND", "and", B16, d, n, m) }
func (a *asm) eor(d, n, m V) { a.vec3("VEOR", "eor", B16, d, n, m) }

// bif keeps d's bits where m's are set and takes n's elsewhere.
func (a *asm) bif(d, n, m V) { a.vec3("VBIF", "bif", B16, d, n, m) }

// zero clears a vector register.
func (a *asm) zero(v V) { a.eor(v, v, v) }

// mov copies a vector register.
func (a *asm) mov(d, n V) {
	a.goInst("mov 16b", fmt.Sprintf("VMOV %s, %s", n.g(B16), d.g(B16)), fmt.Sprintf("mov %s, %s", d.n(B16), n.n(B16)))
}

// shl shifts each int32 lane left.
func (a *asm) shl(d, n V, shift int) {
	a.goInst("shl 4s", fmt.Sprintf("VSHL $%d, %s, %s", shift, n.g(S4), d.g(S4)),
		fmt.Sprintf("shl %s, %s, #%d", d.n(S4), n.n(S4), shift))
}

// dupElem sets every lane of d to lane i of n.
func (a *asm) dupElem(t arr, d, n V, i int) {
	a.goInst("dup "+t.gnu+" elem", fmt.Sprintf("VDUP V%d.%s[%d], %s", n, t.elem(), i, d.g(t)),
		fmt.Sprintf("dup %s, v%d.%s[%d]", d.n(t), n, strings.ToLower(t.elem()), i))
}

// dupW sets every int32 lane of d to the low 32 bits of r.
func (a *asm) dupW(d V, r R) {
	a.goInst("dup 4s gp", fmt.Sprintf("VDUP %s, %s", r.g(), d.g(S4)), fmt.Sprintf("dup %s, %s", d.n(S4), r.w()))
}

// regList returns the Go and GNU register lists of consecutive registers.
func regList(t arr, first V, n int) (goList, gasList string) {
	var g, s []string
	for i := 0; i < n; i++ {
		v := V((int(first) + i) % 32)
		g = append(g, v.g(t))
		s = append(s, v.n(t))
	}
	return "[" + strings.Join(g, ", ") + "]", "{" + strings.Join(s, ", ") + "}"
}

// ld1 loads n (1-4) consecutive registers from (base), 16 bytes each;
// with post, base is advanced by 16*n.
func (a *asm) ld1(t arr, first V, n int, base R, post bool) {
	gl, sl := regList(t, first, n)
	if post {
		a.goInst(fmt.Sprintf("ld1 x%d post", n), fmt.Sprintf("VLD1.P %d(%s), %s", 16*n, base.g(), gl),
			fmt.Sprintf("ld1 %s, [%s], #%d", sl, base.x(), 16*n))
		return
	}
	a.goInst(fmt.Sprintf("ld1 x%d", n), fmt.Sprintf("VLD1 (%s), %s", base.g(), gl), fmt.Sprintf("ld1 %s, [%s]", sl, base.x()))
}

// st1 stores n consecutive registers at (base), as ld1 loads them.
func (a *asm) st1(t arr, first V, n int, base R, post bool) {
	gl, sl := regList(t, first, n)
	if post {
		a.goInst(fmt.Sprintf("st1 x%d post", n), fmt.Sprintf("VST1.P %s, %d(%s)", gl, 16*n, base.g()),
			fmt.Sprintf("st1 %s, [%s], #%d", sl, base.x(), 16*n))
		return
	}
	a.goInst(fmt.Sprintf("st1 x%d", n), fmt.Sprintf("VST1 %s, (%s)", gl, base.g()), fmt.Sprintf("st1 %s, [%s]", sl, base.x()))
}

// ldrQ loads the 16 bytes at off(base) into d.
func (a *asm) ldrQ(d V, base R, off int) {
	a.goInst("ldr q", fmt.Sprintf("FMOVQ %d(%s), %s", off, base.g(), d.f()), fmt.Sprintf("ldr %s, [%s, #%d]", d.q(), base.x(), off))
}

// Scalar floating point.

func (a *asm) fpScalar(goName, gasName string, double bool, d, n, m V) {
	reg, form := V.s, gasName+" s"
	if double {
		reg, form = V.d, gasName+" d"
	}
	a.goInst(form, fmt.Sprintf("%s %s, %s, %s", goName, m.f(), n.f(), d.f()),
		fmt.Sprintf("%s %s, %s, %s", gasName, reg(d), reg(n), reg(m)))
}

func (a *asm) faddD(d, n, m V) { a.fpScalar("FADDD", "fadd", true, d, n, m) }
func (a *asm) fsubD(d, n, m V) { a.fpScalar("FSUBD", "fsub", true, d, n, m) }
func (a *asm) fmulD(d, n, m V) { a.fpScalar("FMULD", "fmul", true, d, n, m) }
func (a *asm) fdivD(d, n, m V) { a.fpScalar("FDIVD", "fdiv", true, d, n, m) }
func (a *asm) fmaxS(d, n, m V) { a.fpScalar("FMAXS", "fmax", false, d, n, m) }
func (a *asm) fmaxD(d, n, m V) { a.fpScalar("FMAXD", "fmax", true, d, n, m) }
func (a *asm) fsubS(d, n, m V) { a.fpScalar("FSUBS", "fsub", false, d, n, m) }

// fmaddS is d = acc + n*m in float32, fused.
func (a *asm) fmaddS(d, n, m, acc V) {
	a.goInst("fmadd s", fmt.Sprintf("FMADDS %s, %s, %s, %s", m.f(), acc.f(), n.f(), d.f()),
		fmt.Sprintf("fmadd %s, %s, %s, %s", d.s(), n.s(), m.s(), acc.s()))
}

// fcvtSD widens the float32 n to the float64 d; fcvtDS rounds back.
func (a *asm) fcvtSD(d, n V) {
	a.goInst("fcvt d s", fmt.Sprintf("FCVTSD %s, %s", n.f(), d.f()), fmt.Sprintf("fcvt %s, %s", d.d(), n.s()))
}

func (a *asm) fcvtDS(d, n V) {
	a.goInst("fcvt s d", fmt.Sprintf("FCVTDS %s, %s", n.f(), d.f()), fmt.Sprintf("fcvt %s, %s", d.s(), n.d()))
}

// fcmpD compares the float64s n and m; fcmpS the float32s.
func (a *asm) fcmpD(n, m V) {
	a.goInst("fcmp d", fmt.Sprintf("FCMPD %s, %s", m.f(), n.f()), fmt.Sprintf("fcmp %s, %s", n.d(), m.d()))
}

// fmovToW copies the bits of the float32 n to r; fmovToX those of the
// float64 n; fmovFromW and fmovFromX the bits of r to the float32 or
// float64 d.
func (a *asm) fmovToW(r R, n V) {
	a.goInst("fmov w s", fmt.Sprintf("FMOVS %s, %s", n.f(), r.g()), fmt.Sprintf("fmov %s, %s", r.w(), n.s()))
}

func (a *asm) fmovToX(r R, n V) {
	a.goInst("fmov x d", fmt.Sprintf("FMOVD %s, %s", n.f(), r.g()), fmt.Sprintf("fmov %s, %s", r.x(), n.d()))
}

func (a *asm) fmovFromW(d V, r R) {
	a.goInst("fmov s w", fmt.Sprintf("FMOVS %s, %s", r.g(), d.f()), fmt.Sprintf("fmov %s, %s", d.s(), r.w()))
}

func (a *asm) fmovFromX(d V, r R) {
	a.goInst("fmov d x", fmt.Sprintf("FMOVD %s, %s", r.g(), d.f()), fmt.Sprintf("fmov %s, %s", d.d(), r.x()))
}

// fmovDImm sets the float64 d to v, one of the values FMOV can encode.
func (a *asm) fmovDImm(d V, v float64) {
	if v != 1 && v != 0.5 {
		panic("fmovDImm: value not supported")
	}
	a.goInst("fmov d imm", fmt.Sprintf("FMOVD $(%v), %s", strconvFloat(v), d.f()), fmt.Sprintf("fmov %s, #%s", d.d(), strconvFloat(v)))
}

// fmovSOne sets the float32 d to 1.
func (a *asm) fmovSOne(d V) {
	a.goInst("fmov s imm", fmt.Sprintf("FMOVS $(1.0), %s", d.f()), fmt.Sprintf("fmov %s, #1.0", d.s()))
}

func strconvFloat(v float64) string {
	s := fmt.Sprintf("%g", v)
	if !strings.Contains(s, ".") {
		s += ".0"
	}
	return s
}

// scvtfX converts the int64 r to the float64 d; scvtfW the int32.
func (a *asm) scvtfX(d V, r R) {
	a.goInst("scvtf d x", fmt.Sprintf("SCVTFD %s, %s", r.g(), d.f()), fmt.Sprintf("scvtf %s, %s", d.d(), r.x()))
}

func (a *asm) scvtfW(d V, r R) {
	a.goInst("scvtf d w", fmt.Sprintf("SCVTFWD %s, %s", r.g(), d.f()), fmt.Sprintf("scvtf %s, %s", d.d(), r.w()))
}

// ldrD loads the float64 at off(base).
func (a *asm) ldrD(d V, base R, off int) {
	a.goInst("ldr d", fmt.Sprintf("FMOVD %d(%s), %s", off, base.g(), d.f()), fmt.Sprintf("ldr %s, [%s, #%d]", d.d(), base.x(), off))
}

// ldrS loads the float32 at (base); strS stores n there.
func (a *asm) ldrS(d V, base R) {
	a.goInst("ldr s", fmt.Sprintf("FMOVS (%s), %s", base.g(), d.f()), fmt.Sprintf("ldr %s, [%s]", d.s(), base.x()))
}

func (a *asm) strS(n V, base R) {
	a.goInst("str s", fmt.Sprintf("FMOVS %s, (%s)", n.f(), base.g()), fmt.Sprintf("str %s, [%s]", n.s(), base.x()))
}

// ldrSPost loads the float32 at (base) and advances base by 4.
func (a *asm) ldrSPost(d V, base R) {
	a.goInst("ldr s post", fmt.Sprintf("FMOVS.P 4(%s), %s", base.g(), d.f()), fmt.Sprintf("ldr %s, [%s], #4", d.s(), base.x()))
}

// General-purpose registers.

func (a *asm) movR(d, n R) {
	a.goInst("mov x", fmt.Sprintf("MOVD %s, %s", n.g(), d.g()), fmt.Sprintf("mov %s, %s", d.x(), n.x()))
}

// movW sets the 32-bit d to v, a value that one MOVZ sets: the Go
// assembler encodes some others (1, for one) as ORR, which the encoding
// test would report.
func (a *asm) movW(d R, v uint32) {
	if v == 0 {
		panic("movW 0: use eorR")
	}
	a.goInst("mov w imm", fmt.Sprintf("MOVW $0x%x, %s", v, d.g()), fmt.Sprintf("mov %s, #0x%x", d.w(), v))
}

// addI, subI: d = n ± imm (12 bits).
func (a *asm) addI(d, n R, imm int) {
	a.goInst("add x imm", fmt.Sprintf("ADD $%d, %s, %s", imm, n.g(), d.g()), fmt.Sprintf("add %s, %s, #%d", d.x(), n.x(), imm))
}

func (a *asm) subI(d, n R, imm int) {
	a.goInst("sub x imm", fmt.Sprintf("SUB $%d, %s, %s", imm, n.g(), d.g()), fmt.Sprintf("sub %s, %s, #%d", d.x(), n.x(), imm))
}

// subWI is the 32-bit subI.
func (a *asm) subWI(d, n R, imm int) {
	a.goInst("sub w imm", fmt.Sprintf("SUBW $%d, %s, %s", imm, n.g(), d.g()), fmt.Sprintf("sub %s, %s, #%d", d.w(), n.w(), imm))
}

func (a *asm) addR(d, n, m R) {
	a.goInst("add x", fmt.Sprintf("ADD %s, %s, %s", m.g(), n.g(), d.g()), fmt.Sprintf("add %s, %s, %s", d.x(), n.x(), m.x()))
}

// subW is the 32-bit d = n - m.
func (a *asm) subW(d, n, m R) {
	a.goInst("sub w", fmt.Sprintf("SUBW %s, %s, %s", m.g(), n.g(), d.g()), fmt.Sprintf("sub %s, %s, %s", d.w(), n.w(), m.w()))
}

// eorR is d = n ^ m (eorR(r, r, r) clears r).
func (a *asm) eorR(d, n, m R) {
	a.goInst("eor x", fmt.Sprintf("EOR %s, %s, %s", m.g(), n.g(), d.g()), fmt.Sprintf("eor %s, %s, %s", d.x(), n.x(), m.x()))
}

// addSP sets d = RSP + off: the address of the frame's locals.
func (a *asm) addSP(d R, off int) {
	a.goInst("add x sp", fmt.Sprintf("ADD $%d, RSP, %s", off, d.g()), fmt.Sprintf("add %s, sp, #%d", d.x(), off))
}

// Logical immediates (bit patterns that the instructions can encode).

func (a *asm) logicI(goName, gasName string, d, n R, imm uint64) {
	a.goInst(gasName+" x imm", fmt.Sprintf("%s $0x%x, %s, %s", goName, imm, n.g(), d.g()),
		fmt.Sprintf("%s %s, %s, #0x%x", gasName, d.x(), n.x(), imm))
}

func (a *asm) andI(d, n R, imm uint64) { a.logicI("AND", "and", d, n, imm) }
func (a *asm) orrI(d, n R, imm uint64) { a.logicI("ORR", "orr", d, n, imm) }
func (a *asm) eorI(d, n R, imm uint64) { a.logicI("EOR", "eor", d, n, imm) }

// andWI is the 32-bit andI.
func (a *asm) andWI(d, n R, imm uint32) {
	a.goInst("and w imm", fmt.Sprintf("ANDW $0x%x, %s, %s", imm, n.g(), d.g()), fmt.Sprintf("and %s, %s, #0x%x", d.w(), n.w(), imm))
}

func (a *asm) lslI(d, n R, sh int) {
	a.goInst("lsl x imm", fmt.Sprintf("LSL $%d, %s, %s", sh, n.g(), d.g()), fmt.Sprintf("lsl %s, %s, #%d", d.x(), n.x(), sh))
}

func (a *asm) lsrI(d, n R, sh int) {
	a.goInst("lsr x imm", fmt.Sprintf("LSR $%d, %s, %s", sh, n.g(), d.g()), fmt.Sprintf("lsr %s, %s, #%d", d.x(), n.x(), sh))
}

// cmpI compares n with a 12-bit immediate; cmpW compares the 32-bit n and m.
func (a *asm) cmpI(n R, imm int) {
	a.goInst("cmp x imm", fmt.Sprintf("CMP $%d, %s", imm, n.g()), fmt.Sprintf("cmp %s, #%d", n.x(), imm))
}

func (a *asm) cmpR(n, m R) {
	a.goInst("cmp x", fmt.Sprintf("CMP %s, %s", m.g(), n.g()), fmt.Sprintf("cmp %s, %s", n.x(), m.x()))
}

func (a *asm) cmpW(n, m R) {
	a.goInst("cmp w", fmt.Sprintf("CMPW %s, %s", m.g(), n.g()), fmt.Sprintf("cmp %s, %s", n.w(), m.w()))
}

// Conditions, by their Go names; GNU's are the same in lower case.
const (
	EQ = "EQ"
	NE = "NE"
	HS = "HS"
	LO = "LO"
	HI = "HI"
	GT = "GT"
	VS = "VS"
)

// csel is d = cond ? n : m.
func (a *asm) csel(cond string, d, n, m R) {
	a.goInst("csel x", fmt.Sprintf("CSEL %s, %s, %s, %s", cond, n.g(), m.g(), d.g()),
		fmt.Sprintf("csel %s, %s, %s, %s", d.x(), n.x(), m.x(), strings.ToLower(cond)))
}

// cset is d = cond ? 1 : 0.
func (a *asm) cset(cond string, d R) {
	a.goInst("cset x", fmt.Sprintf("CSET %s, %s", cond, d.g()), fmt.Sprintf("cset %s, %s", d.x(), strings.ToLower(cond)))
}

// Loads and stores of general registers, post-indexed.

func (a *asm) ldrXPost(d, base R) {
	a.goInst("ldr x post", fmt.Sprintf("MOVD.P 8(%s), %s", base.g(), d.g()), fmt.Sprintf("ldr %s, [%s], #8", d.x(), base.x()))
}

func (a *asm) strXPost(n, base R) {
	a.goInst("str x post", fmt.Sprintf("MOVD.P %s, 8(%s)", n.g(), base.g()), fmt.Sprintf("str %s, [%s], #8", n.x(), base.x()))
}

// ldrW loads the uint32 at (base) into d.
func (a *asm) ldrW(d, base R) {
	a.goInst("ldr w", fmt.Sprintf("MOVWU (%s), %s", base.g(), d.g()), fmt.Sprintf("ldr %s, [%s]", d.w(), base.x()))
}

func (a *asm) ldrWPost(d, base R) {
	a.goInst("ldr w post", fmt.Sprintf("MOVWU.P 4(%s), %s", base.g(), d.g()), fmt.Sprintf("ldr %s, [%s], #4", d.w(), base.x()))
}

func (a *asm) strWPost(n, base R) {
	a.goInst("str w post", fmt.Sprintf("MOVW.P %s, 4(%s)", n.g(), base.g()), fmt.Sprintf("str %s, [%s], #4", n.w(), base.x()))
}

// Branches.

func (a *asm) branch(form, goAs, gas, label string) {
	a.emit(inst{form: form, goAs: goAs, gas: gas, label: label})
}

func (a *asm) b(label string) { a.branch("b", "B %[1]s", "b %[1]s", label) }

// bcond branches if cond holds.
func (a *asm) bcond(cond, label string) {
	a.branch("b."+strings.ToLower(cond), "B"+cond+" %[1]s", "b."+strings.ToLower(cond)+" %[1]s", label)
}

func (a *asm) cbz(r R, label string) {
	a.branch("cbz x", "CBZ "+r.g()+", %[1]s", "cbz "+r.x()+", %[1]s", label)
}

func (a *asm) cbnz(r R, label string) {
	a.branch("cbnz x", "CBNZ "+r.g()+", %[1]s", "cbnz "+r.x()+", %[1]s", label)
}

// tbz branches if bit of r is clear; tbnz if it is set.
func (a *asm) tbz(bit int, r R, label string) {
	a.branch("tbz", fmt.Sprintf("TBZ $%d, %s, %%[1]s", bit, r.g()), fmt.Sprintf("tbz %s, #%d, %%[1]s", r.w(), bit), label)
}

func (a *asm) tbnz(bit int, r R, label string) {
	a.branch("tbnz", fmt.Sprintf("TBNZ $%d, %s, %%[1]s", bit, r.g()), fmt.Sprintf("tbnz %s, #%d, %%[1]s", r.w(), bit), label)
}

func (a *asm) ret() { a.goInst("ret", "RET", "ret") }

// Go pseudo-instructions: arguments in the frame, symbols.

func (a *asm) pseudo(goAs string) { a.emit(inst{form: "pseudo", goAs: goAs, pseudo: true}) }

// loadArg loads the 64-bit argument name (e.g. "dst_base+0") into d.
func (a *asm) loadArg(d R, name string) { a.pseudo(fmt.Sprintf("MOVD %s(FP), %s", name, d.g())) }

// storeRetS stores the float32 n as the result name.
func (a *asm) storeRetS(n V, name string) { a.pseudo(fmt.Sprintf("FMOVS %s, %s(FP)", n.f(), name)) }

// storeRetD stores the float64 n as the result name.
func (a *asm) storeRetD(n V, name string) { a.pseudo(fmt.Sprintf("FMOVD %s, %s(FP)", n.f(), name)) }

// addr sets d to the address of the file's symbol sym.
func (a *asm) addr(d R, sym string) { a.pseudo(fmt.Sprintf("MOVD $%s<>(SB), %s", sym, d.g())) }

// f32bits returns the bits of v as a float32.
func f32bits(v float32) uint32 { return math.Float32bits(v) }

// Forms of the axis kernels (axis.go).

// fdiv is d = n / m on each lane.
func (a *asm) fdiv(t arr, d, n, m V) { a.fp3("fdiv", 1, 0, 0b11111, t, d, n, m) }

// fcmgt sets each lane of d to all ones where n > m, else to zero.
func (a *asm) fcmgt(t arr, d, n, m V) { a.fp3("fcmgt", 1, 1, 0b11100, t, d, n, m) }

// facgt sets each lane of d to all ones where |n| > |m|, else to zero (a
// NaN compares false).
func (a *asm) facgt(t arr, d, n, m V) { a.fp3("facgt", 1, 1, 0b11101, t, d, n, m) }

// scvtf converts each signed integer lane of n to floating point.
func (a *asm) scvtf(t arr, d, n V) {
	a.word("scvtf "+t.gnu, twoRegMisc(t.q, 0, t.sz(), 0b11101, n, d), fmt.Sprintf("scvtf %s, %s", d.n(t), n.n(t)))
}

// orr is the bitwise or.
func (a *asm) orr(d, n, m V) { a.vec3("VORR", "orr", B16, d, n, m) }

// ushrD shifts each 64-bit lane right, logically.
func (a *asm) ushrD(d, n V, shift int) {
	a.goInst("ushr 2d", fmt.Sprintf("VUSHR $%d, %s, %s", shift, n.g(D2), d.g(D2)),
		fmt.Sprintf("ushr %s, %s, #%d", d.n(D2), n.n(D2), shift))
}

// mulR is d = n * m.
func (a *asm) mulR(d, n, m R) {
	a.goInst("mul x", fmt.Sprintf("MUL %s, %s, %s", m.g(), n.g(), d.g()), fmt.Sprintf("mul %s, %s, %s", d.x(), n.x(), m.x()))
}

// ldrQPost loads 16 bytes at (base) into d and advances base by 16;
// ldrDPost loads 8 bytes (clearing the high half of d) and advances by 8.
func (a *asm) ldrQPost(d V, base R) {
	a.goInst("ldr q post", fmt.Sprintf("FMOVQ.P 16(%s), %s", base.g(), d.f()), fmt.Sprintf("ldr %s, [%s], #16", d.q(), base.x()))
}

func (a *asm) ldrDPost(d V, base R) {
	a.goInst("ldr d post", fmt.Sprintf("FMOVD.P 8(%s), %s", base.g(), d.f()), fmt.Sprintf("ldr %s, [%s], #8", d.d(), base.x()))
}

// strQPost and strDPost store as ldrQPost and ldrDPost load.
func (a *asm) strQPost(n V, base R) {
	a.goInst("str q post", fmt.Sprintf("FMOVQ.P %s, 16(%s)", n.f(), base.g()), fmt.Sprintf("str %s, [%s], #16", n.q(), base.x()))
}

func (a *asm) strDPost(n V, base R) {
	a.goInst("str d post", fmt.Sprintf("FMOVD.P %s, 8(%s)", n.f(), base.g()), fmt.Sprintf("str %s, [%s], #8", n.d(), base.x()))
}

// ld1Lane loads the float32 at (base) into lane i of d; st1Lane stores
// lane i of n there.
func (a *asm) ld1Lane(d V, i int, base R) {
	a.goInst("ld1 s lane", fmt.Sprintf("VLD1 (%s), V%d.S[%d]", base.g(), d, i), fmt.Sprintf("ld1 {v%d.s}[%d], [%s]", d, i, base.x()))
}

func (a *asm) st1Lane(n V, i int, base R) {
	a.goInst("st1 s lane", fmt.Sprintf("VST1 V%d.S[%d], (%s)", n, i, base.g()), fmt.Sprintf("st1 {v%d.s}[%d], [%s]", n, i, base.x()))
}

// ld1LaneD loads the 8 bytes at (base) into 64-bit lane i of d; st1LaneD
// stores 64-bit lane i of n there.
func (a *asm) ld1LaneD(d V, i int, base R) {
	a.goInst("ld1 d lane", fmt.Sprintf("VLD1 (%s), V%d.D[%d]", base.g(), d, i), fmt.Sprintf("ld1 {v%d.d}[%d], [%s]", d, i, base.x()))
}

func (a *asm) st1LaneD(n V, i int, base R) {
	a.goInst("st1 d lane", fmt.Sprintf("VST1 V%d.D[%d], (%s)", n, i, base.g()), fmt.Sprintf("st1 {v%d.d}[%d], [%s]", n, i, base.x()))
}

// subR is d = n - m.
func (a *asm) subR(d, n, m R) {
	a.goInst("sub x", fmt.Sprintf("SUB %s, %s, %s", m.g(), n.g(), d.g()), fmt.Sprintf("sub %s, %s, %s", d.x(), n.x(), m.x()))
}
