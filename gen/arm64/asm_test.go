package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// checkEnv names the environment variable that turns on the encoding test.
// It needs GNU binutils for aarch64 (Debian's binutils-aarch64-linux-gnu),
// which a developer may not have; CI installs them and sets it, and then
// a missing assembler fails the test instead of skipping it.
const checkEnv = "SOFTMAX_CHECK_ENCODINGS"

// sweep calls every instruction method of the emitter once, with operands
// that depend on i: over i = 0..31 every register field takes every value.
// The encoding test assembles the result; TestSweepCoversGenerated checks
// that no form the generators use is missing here.
func sweep(a *asm, i int) {
	v := func(k int) V { return V((i + k) % 32) }
	// General registers the kernels may use: not R18 or R26-R31.
	usable := []R{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 19, 20, 21, 22, 23, 24, 25}
	r := func(k int) R { return usable[(i+k)%len(usable)] }
	for _, t := range []arr{S4, D2} {
		a.fadd(t, v(0), v(1), v(2))
		a.fsub(t, v(3), v(4), v(5))
		a.fmul(t, v(6), v(7), v(8))
		a.fmax(t, v(9), v(10), v(11))
		a.fmin(t, v(12), v(13), v(14))
		a.fcmeq(t, v(15), v(16), v(17))
		a.fmla(t, v(18), v(19), v(20))
		a.dupElem(t, v(21), v(22), i%(16/int(4<<(t.size-2))))
	}
	a.fmlaElem(v(0), v(5), v(9), i%4)
	a.fcvtl(v(1), v(6))
	a.fcvtl2(v(2), v(7))
	a.fcvtn(v(3), v(8))
	a.fcvtn2(v(4), v(9))
	a.sshr(v(5), v(10), 1+i)
	a.uqsub(v(6), v(11), v(13))
	a.fmaxv(v(7), v(12))
	a.faddp(v(8), v(13))
	a.add(S4, v(9), v(14), v(19))
	a.sub(S4, v(10), v(15), v(20))
	a.and(v(11), v(16), v(21))
	a.eor(v(12), v(17), v(22))
	a.bif(v(13), v(18), v(23))
	a.zero(v(14))
	a.mov(v(15), v(19))
	a.shl(v(16), v(20), i)
	a.dupW(v(17), r(0))
	for n := 1; n <= 4; n++ {
		a.ld1(S4, v(n), n, r(n), false)
		a.ld1(D2, v(n+4), n, r(n+1), true)
		a.st1(D2, v(n+8), n, r(n+2), false)
		a.st1(S4, v(n+12), n, r(n+3), true)
	}
	a.ldrQ(v(18), r(1), 16*i)
	a.ldrD(v(19), r(2), 8*i)
	a.ldrSPost(v(20), r(3))
	a.faddD(v(21), v(22), v(23))
	a.fsubD(v(22), v(23), v(24))
	a.fmulD(v(23), v(24), v(25))
	a.fdivD(v(24), v(25), v(26))
	a.fmaxS(v(25), v(26), v(27))
	a.fmaxD(v(24), v(25), v(26))
	a.fsubS(v(26), v(27), v(28))
	a.fmovSOne(v(27))
	a.fmovFromW(v(28), r(9))
	a.ldrS(v(29), r(10))
	a.strS(v(30), r(11))
	a.ldrW(r(12), r(13))
	a.fmaddS(v(26), v(27), v(28), v(29))
	a.fcvtSD(v(27), v(28))
	a.fcvtDS(v(28), v(29))
	a.fcmpD(v(29), v(30))
	a.fmovToW(r(4), v(30))
	a.fmovToX(r(5), v(31))
	a.fmovFromX(v(0), r(6))
	a.fmovDImm(v(1), []float64{1, 0.5}[i%2])
	a.scvtfX(v(2), r(7))
	a.scvtfW(v(3), r(8))

	a.movR(r(0), r(9))
	for _, w := range []uint32{0x7f800000, 0x4b400000, largeMaxBits, 0xffff} {
		a.movW(r(1), w)
	}
	a.addI(r(2), r(3), 1+i*100)
	a.subI(r(3), r(4), 1+i*100)
	a.subWI(r(4), r(5), 1+i*100)
	a.addR(r(5), r(6), r(7))
	a.subW(r(6), r(7), r(8))
	a.eorR(r(7), r(8), r(9))
	a.addSP(r(8), 8*i)
	a.andI(r(9), r(10), 1<<52-1)
	a.orrI(r(10), r(11), 1023<<52)
	a.eorI(r(11), r(12), 1<<52)
	a.andWI(r(12), r(13), 0x7fffffff)
	a.lslI(r(13), r(14), 1+i%63)
	a.lsrI(r(14), r(15), 1+i%63)
	a.cmpI(r(15), 16*i)
	a.cmpR(r(16), r(17))
	a.cmpW(r(17), r(18))
	for _, c := range []string{EQ, NE, HS, LO, HI, GT, VS} {
		a.csel(c, r(18), r(19), r(20))
		a.cset(c, r(19))
		a.bcond(c, "next")
	}
	a.ldrXPost(r(20), r(21))
	a.strXPost(r(21), r(22))
	a.ldrWPost(r(22), r(23))
	a.strWPost(r(23), r(24))
	a.b("next")
	a.cbz(r(24), "next")
	a.cbnz(r(0), "next")
	a.tbz(i, r(1), "next")
	a.tbnz(31-i, r(2), "next")
	a.ret()
	sweepAxis(a, i, v, r)
	sweepMore(a, i, r)
}

// generated returns the instructions of every generated file.
func generated() []inst {
	var all []inst
	for _, kf := range files {
		all = append(all, generate(kf).insts...)
	}
	return all
}

// TestSweepCoversGenerated checks that the sweep, which the encoding test
// assembles with every register in every field, has every instruction
// form the generators emit.
func TestSweepCoversGenerated(t *testing.T) {
	a := newAsm()
	sweep(a, 0)
	have := map[string]bool{}
	for _, in := range a.insts {
		have[in.form] = true
	}
	for _, in := range generated() {
		if !in.pseudo && !have[in.form] {
			t.Errorf("form %q (%s) is not in the sweep", in.form, in.gas)
			have[in.form] = true
		}
	}
}

// TestDeterministic checks that generating twice gives the same bytes.
func TestDeterministic(t *testing.T) {
	for _, kf := range files {
		a, b := generate(kf), generate(kf)
		if !bytes.Equal(a.source(), b.source()) || !bytes.Equal(a.goSource(), b.goSource()) {
			t.Errorf("%s: two runs differ", kf.name)
		}
	}
}

// TestEncodings assembles every instruction of the sweep and of the
// generated files with GNU as, and compares its encoding with the WORD the
// emitter wrote, or, for the instructions written as Go mnemonics, with
// what the Go assembler makes of them. Go's pseudo-instructions (arguments
// in FP, addresses of symbols) have no GNU counterpart and are left out;
// branches are checked with their target the next instruction (see
// fillerGo).
func TestEncodings(t *testing.T) {
	if os.Getenv(checkEnv) == "" {
		t.Skipf("set %s=1 to check the encodings against GNU binutils (Debian package binutils-aarch64-linux-gnu)", checkEnv)
	}
	gas, err := exec.LookPath("aarch64-linux-gnu-as")
	if err != nil {
		t.Fatalf("%s is set but GNU as for aarch64 is missing (apt-get install binutils-aarch64-linux-gnu): %v", checkEnv, err)
	}
	objdump, err := exec.LookPath("aarch64-linux-gnu-objdump")
	if err != nil {
		t.Fatalf("%s is set but objdump for aarch64 is missing: %v", checkEnv, err)
	}

	var list []inst
	seen := map[string]bool{}
	addAll := func(ins []inst) {
		for _, in := range ins {
			key := in.line() + "\x00" + in.gas
			if in.pseudo || seen[key] {
				continue
			}
			seen[key] = true
			list = append(list, in)
		}
	}
	for i := 0; i < 32; i++ {
		a := newAsm()
		sweep(a, i)
		addAll(a.insts)
	}
	addAll(generated())
	t.Logf("%d distinct instructions", len(list))

	dir := t.TempDir()
	want := gnuWords(t, dir, gas, objdump, list)
	got := goWords(t, dir, list)
	bad := 0
	for i, in := range list {
		if got[i] != want[i] {
			bad++
			if bad <= 20 {
				t.Errorf("%s: emitted %s = %#08x, GNU as: %#08x", in.form, strings.TrimSpace(in.line()), got[i], want[i])
			}
		}
	}
	if bad > 20 {
		t.Errorf("%d mismatches in all", bad)
	}
}

// A branch is checked with its target right after it, where a filler
// instruction follows: the Go assembler redirects a branch whose target is
// an unconditional branch to that branch's target.
const (
	fillerGAS = "add x0, x0, #1"
	fillerGo  = "ADD $1, R0, R0"
)

// gnuWords assembles the GNU syntax of each instruction and returns their
// encodings.
func gnuWords(t *testing.T, dir, gas, objdump string, list []inst) []uint32 {
	var src strings.Builder
	src.WriteString("\t.text\n")
	for _, in := range list {
		if in.label != "" {
			fmt.Fprintf(&src, "\t"+in.gas+"\n1:\n\t%s\n", "1f", fillerGAS)
		} else {
			fmt.Fprintf(&src, "\t%s\n", in.gas)
		}
	}
	s, o := filepath.Join(dir, "gnu.s"), filepath.Join(dir, "gnu.o")
	if err := os.WriteFile(s, []byte(src.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(gas, "-o", o, s).CombinedOutput(); err != nil {
		t.Fatalf("GNU as: %v\n%s", err, out)
	}
	out, err := exec.Command(objdump, "-d", o).Output()
	if err != nil {
		t.Fatalf("objdump: %v", err)
	}
	line := regexp.MustCompile(`(?m)^\s+[0-9a-f]+:\s+([0-9a-f]{8})\s`)
	var all []uint32
	for _, m := range line.FindAllStringSubmatch(string(out), -1) {
		w, _ := strconv.ParseUint(m[1], 16, 32)
		all = append(all, uint32(w))
	}
	var words []uint32
	for _, in := range list {
		if len(all) == 0 {
			break
		}
		words = append(words, all[0])
		all = all[1:]
		if in.label != "" && len(all) > 0 {
			all = all[1:] // the filler
		}
	}
	if len(words) != len(list) || len(all) != 0 {
		t.Fatalf("GNU as gave the wrong number of words for %d instructions", len(list))
	}
	return words
}

// goWords returns the encoding of each instruction as the emitter writes
// it: the WORD itself, or what go tool asm makes of the Go mnemonic, which
// must be exactly one instruction.
func goWords(t *testing.T, dir string, list []inst) []uint32 {
	var src strings.Builder
	src.WriteString("#include \"textflag.h\"\nTEXT ·check(SB), NOSPLIT|NOFRAME, $0-0\n")
	const first = 3 // the source line of list[0]
	for i, in := range list {
		if in.label != "" {
			in.label = fmt.Sprintf("l%d", i)
			fmt.Fprintf(&src, "%s\n%s:\n\t%s\n", in.line(), in.label, fillerGo)
			continue
		}
		fmt.Fprintf(&src, "%s\n", in.line())
	}
	src.WriteString("\tRET\n")
	s := filepath.Join(dir, "go.s")
	if err := os.WriteFile(s, []byte(src.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "tool", "asm", "-p", "main", "-S",
		"-I", filepath.Join(runtime.GOROOT(), "pkg", "include"), "-o", filepath.Join(dir, "go.o"), s)
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=arm64")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go tool asm: %v\n%s", err, out)
	}

	// The listing gives each source line's offset, then a hex dump.
	at := regexp.MustCompile(`(?m)^\t0x[0-9a-f]+ (\d+) \([^)]*go\.s:(\d+)\)\t`)
	hex := regexp.MustCompile(`(?m)^\t0x([0-9a-f]{4})((?: [0-9a-f]{2})+)  `)
	offset := map[int]int{} // source line -> offset of its first instruction
	var offs []int
	for _, m := range at.FindAllStringSubmatch(string(out), -1) {
		off, _ := strconv.Atoi(m[1])
		ln, _ := strconv.Atoi(m[2])
		if _, ok := offset[ln]; !ok {
			offset[ln] = off
			offs = append(offs, off)
		}
	}
	var code []byte
	for _, m := range hex.FindAllStringSubmatch(string(out), -1) {
		for _, b := range strings.Fields(m[2]) {
			v, _ := strconv.ParseUint(b, 16, 8)
			code = append(code, byte(v))
		}
	}
	sort.Ints(offs)
	next := func(off int) int {
		i := sort.SearchInts(offs, off+1)
		if i == len(offs) {
			return len(code)
		}
		return offs[i]
	}

	words := make([]uint32, len(list))
	ln := first
	for i, in := range list {
		if in.goAs == "" {
			words[i] = in.word
		} else {
			off, ok := offset[ln]
			if !ok {
				t.Fatalf("go tool asm: no code for line %d: %s", ln, in.line())
			}
			if n := next(off) - off; n != 4 {
				t.Errorf("go tool asm: %s is %d bytes, want one instruction", in.line(), n)
			}
			words[i] = binary.LittleEndian.Uint32(code[off:])
		}
		ln++
		if in.label != "" {
			ln += 2 // the label and the filler
		}
	}
	return words
}

// sweepAxis calls the instruction methods added for the axis kernels.
func sweepAxis(a *asm, i int, v func(int) V, r func(int) R) {
	for _, t := range []arr{S4, D2} {
		a.fdiv(t, v(0), v(1), v(2))
		a.fcmgt(t, v(3), v(4), v(5))
		a.facgt(t, v(6), v(7), v(8))
		a.scvtf(t, v(9), v(10))
		a.add(t, v(11), v(12), v(13))
		a.sub(t, v(14), v(15), v(16))
	}
	a.orr(v(17), v(18), v(19))
	a.ushrD(v(20), v(21), 1+i%64)
	a.mulR(r(0), r(1), r(2))
	a.ldrQPost(v(22), r(3))
	a.ldrDPost(v(23), r(4))
	a.strQPost(v(24), r(5))
	a.strDPost(v(25), r(6))
	a.ld1Lane(v(26), i%4, r(7))
	a.st1Lane(v(27), (i+1)%4, r(8))
	a.ld1LaneD(v(28), i%2, r(9))
	a.st1LaneD(v(29), (i+1)%2, r(10))
}

// sweepMore is the sweep of the instruction forms added last, with r the
// sweep's general registers.
func sweepMore(a *asm, i int, r func(k int) R) {
	a.subR(r(3), r(4), r(5+i))
}
