package main

import (
	"math"

	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// The LogSoftmax and LogSumExp kernels: LogSoftmaxRows and LogSumExp, bit
// for bit fallback.LogSoftmaxRows and fallback.LogSumExp
// (fallback/softmax.go, fallback/row.go, fallback/log.go). Passes 1 and 2
// are SoftmaxRows's (softmax.go), with nothing stored in pass 2; then
//
//	l = float64(float64(nm)*ln2) + log64(S)    (rowPlan.logSum)
//
// where nm = round((m - c)*log2e) = bits(t_m) - 0x4b400000, which pass 1
// leaves as bias = 127 - bits(t_m), and log64 is the fallback's logarithm,
// repeated operation by operation (see log64 below). Then
//
//	LogSoftmax  y = float32(min((float64(x) - float64(c)) - l, 0)), per
//	            element: two float64 subtractions, a VMINPD that keeps -0
//	            and NaN (fallback.logProb), then one rounding (the AVX-512
//	            kernels round first, then take a VMINPS, which gives the
//	            same bits: see logSoftmax512); this pass 3
//	            runs one finite row late (see pending), or in
//	            LogSoftmaxRowsAVX512 and LogSoftmaxRowsAVX2 a batch of
//	            eight rows late (logSoftmaxRows8)
//	LogSumExp   float32(l + float64(c))
//
// Special rows, as in the fallback: LogSoftmax writes the canonical NaN
// over a row whose max is NaN or +Inf or whose S is NaN, and -Inf over a
// row of -Inf (NaN if it also holds a NaN). LogSumExp returns -Inf for an
// empty row or a row of -Inf, +Inf for a row whose max is +Inf and that
// holds no NaN, and the canonical NaN for any other row with a NaN.

// log64Table holds the float64 constants of log64 and logSum: sqrt2, 1,
// ln2 and the coefficients logC, 8 bytes each, in that order. With blend
// (a copy of the file's table, for an AVX2 kernel), log64 halves f in the
// vector domain (see log64Blend).
type log64Table struct {
	base  Mem
	blend bool
}

// logC are fallback/log.go's coefficients 1/(2k+1) of the atanh series,
// highest first, rounded to float64 as the fallback's constants are.
var logC = [...]float64{
	1.0 / 23, 1.0 / 21, 1.0 / 19, 1.0 / 17, 1.0 / 15, 1.0 / 13,
	1.0 / 11, 1.0 / 9, 1.0 / 7, 1.0 / 5, 1.0 / 3, 1,
}

// log64Table adds the table to the file.
func (g *gen) log64Table() *log64Table {
	t := &log64Table{base: g.StaticGlobal("log64const")}
	g.DataAttributes(rodata)
	for _, v := range append([]float64{math.Sqrt2, 1, math.Ln2}, logC[:]...) {
		g.AppendDatum(U64(math.Float64bits(v)))
	}
	return t
}

func (t *log64Table) sqrt2() Mem  { return t.base }
func (t *log64Table) one() Mem    { return t.base.Offset(8) }
func (t *log64Table) ln2() Mem    { return t.base.Offset(16) }
func (t *log64Table) c(k int) Mem { return t.base.Offset(24 + 8*k) }

// log64 emits fallback.log64 for the float64 s in the low lane of an xmm
// register (a normal, finite s > 0: the row sum S >= 1/sqrt2) and returns
// ln(s) in a new xmm register. Every float64 operation is the fallback's,
// in its order, each rounded (no FMA): the VEX forms of the scalar SSE2
// operations, which round the same way and do not mix legacy SSE with the
// AVX code around them.
//
//	e = (bits(s) >> 52) - 1023; f = bits(s) with exponent 1023, in [1, 2)
//	if f > sqrt2 { f *= 0.5; e++ }
//	z = (f - 1) / (f + 1); w = z*z
//	p = logC[0]; p = p*w + logC[k] for k = 1..11, multiply and add apart
//	r = z*p; return e*ln2 + (r + r)
//
// The halving is done on the bits, branch-free: f in [1, 2) times 0.5 is
// f with its exponent field decreased by one, exactly, which flipping bit
// 52 (set in 0x3ff) does; CMOV keeps it, and e + 1, where f > sqrt2.
// Every instruction used exists in an AVX-512F form, so an AVX-512 kernel
// may get any of the 32 xmm registers.
func (g *gen) log64(t *log64Table, s reg.VecVirtual) reg.VecVirtual {
	if t.blend {
		return g.log64Blend(t, s)
	}
	bits, e, h := g.GP64(), g.GP64(), g.GP64()
	g.VMOVQ(s, bits)
	g.MOVQ(bits, e)
	g.SHRQ(U8(52), e)
	g.SUBQ(U32(1023), e) // e = exponent of s (s > 0: no sign bit)
	g.MOVQ(U64(1<<52-1), h)
	g.ANDQ(h, bits)
	g.MOVQ(U64(1023<<52), h)
	g.ORQ(h, bits) // f = mantissa of s in [1, 2)
	f := g.XMM()
	g.VMOVQ(bits, f)
	g.MOVQ(bits, h)
	g.BTCQ(U8(52), h) // h = bits of f*0.5
	e1 := g.GP64()
	g.LEAQ(Mem{Base: e, Disp: 1}, e1)
	g.VUCOMISD(t.sqrt2(), f)
	g.CMOVQHI(h, bits) // f > sqrt2: f *= 0.5
	g.CMOVQHI(e1, e)   // and e++
	g.VMOVQ(bits, f)
	return g.log64Poly(t, f, func() reg.VecVirtual {
		ef := g.XMM()
		g.VCVTSI2SDQ(e, f, ef) // float64(e), exact
		return ef
	})
}

// log64Poly emits the rest of log64 from f, the mantissa of s halved if
// above sqrt2; ef emits float64(e), for its exponent e, into a new
// register, which gets the result.
func (g *gen) log64Poly(t *log64Table, f reg.VecVirtual, efn func() reg.VecVirtual) reg.VecVirtual {
	a, b := g.XMM(), g.XMM()
	g.VSUBSD(t.one(), f, a) // f - 1
	g.VADDSD(t.one(), f, b) // f + 1
	z := g.XMM()
	g.VDIVSD(b, a, z) // z = (f-1)/(f+1)
	w := g.XMM()
	g.VMULSD(z, z, w)
	p := g.XMM()
	g.VMOVSD(t.c(0), p)
	for k := 1; k < len(logC); k++ {
		g.VMULSD(w, p, p)      // p*w
		g.VADDSD(t.c(k), p, p) // + logC[k]
	}
	g.VMULSD(z, p, p) // r = z*p
	g.VADDSD(p, p, p) // r + r
	ef := efn()
	g.VMULSD(t.ln2(), ef, ef)
	g.VADDSD(p, ef, ef) // e*ln2 + (r + r)
	return ef
}

// log64Blend is log64 with f found in the vector domain, s's bits ANDed
// and ORed with constants, and halved, bit 52 flipped, under the mask of
// a VCMPSD through VBLENDVPD, where log64 moves s to a general register
// and back twice; e is found from s's bits as before, and incremented
// under the mask by adding 1.0 to float64(e), exactly. That takes some 10
// cycles off l's chain of dependent operations, whose latency a
// LogSoftmax kernel cannot hide at 100 columns (see logSoftmaxAVX2, which
// now takes such rows' l eight at a time, and runs log64Blend on rows of
// more than batchCols elements).
// VBLENDVPD has no EVEX form: AVX2 kernels alone can use it.
func (g *gen) log64Blend(t *log64Table, s reg.VecVirtual) reg.VecVirtual {
	k := g.table("log64bits", func() {
		// Each twice: the VEX operations read 16 bytes.
		for _, v := range []uint64{1<<52 - 1, 1<<52 - 1, 1 << 52, 1 << 52, 1023 << 52, 1023 << 52} {
			g.AppendDatum(U64(v))
		}
	})
	mant, bit52, one := k, k.Offset(16), k.Offset(32)
	e := g.GP64()
	g.VMOVQ(s, e)
	g.SHRQ(U8(52), e)
	g.SUBQ(U32(1023), e) // e = exponent of s (s > 0: no sign bit)
	f := g.XMM()
	g.VANDPD(mant, s, f)
	g.VORPD(one, f, f) // f = mantissa of s in [1, 2)
	h := g.XMM()
	g.VXORPD(bit52, f, h) // f*0.5
	gt := g.XMM()
	g.VCMPSD(U8(0x1e), t.sqrt2(), f, gt) // f > sqrt2 (GT_OQ)
	f2 := g.XMM()
	g.VBLENDVPD(gt, h, f, f2) // f > sqrt2: f *= 0.5
	return g.log64Poly(t, f2, func() reg.VecVirtual {
		ef := g.XMM()
		g.VCVTSI2SDQ(e, s, ef) // float64(e), exact
		inc := g.XMM()
		g.VANDPD(one, gt, inc)
		g.VADDSD(inc, ef, ef) // and e++, exactly
		return ef
	})
}

// logSum emits rowPlan.logSum: l = float64(float64(nm)*ln2) + log64(S) for
// the sum S and the row's bias in a 32-bit register, which it overwrites:
// nm = bits(t_m) - 0x4b400000 = -bias - (0x4b400000 - 127).
func (g *gen) logSum(t *log64Table, bias reg.GPVirtual, sum reg.VecVirtual) reg.VecVirtual {
	g.NEGL(bias)
	g.SUBL(U32(0x4b400000-127), bias)
	l := g.XMM()
	g.VCVTSI2SDL(bias, sum, l) // float64(nm), exact
	g.VMULSD(t.ln2(), l, l)
	g.VADDSD(g.log64(t, sum), l, l)
	return l
}

// rowPasses is what sm512 and sm256 share for the kernels below.
type rowPasses interface {
	label(name string) string
	setCols(cols reg.GPVirtual)
	setSrc(src reg.GPVirtual)
	pass1(onNaN, onPosInf, onNegInf string)
	pass2() reg.VecVirtual
	scanNaN(onNaN string)
	rowsKernel(masked func(v reg.VecVirtual), out func(sum reg.VecVirtual), finish func())
	bias() reg.GPVirtual   // the row's bias, in a new 32-bit register
	c64() reg.VecVirtual   // float64(c), in a new xmm register
	rowSrc() reg.GPVirtual // the current row
	rowDst() reg.GPVirtual
	zIn() *zin // what the passes read: nil for x, or z (fused.go)
}

func (s *sm512) setSrc(src reg.GPVirtual) { s.src = src }
func (s *sm256) setSrc(src reg.GPVirtual) { s.src = src }
func (s *sm512) rowSrc() reg.GPVirtual    { return s.src }
func (s *sm256) rowSrc() reg.GPVirtual    { return s.src }
func (s *sm512) rowDst() reg.GPVirtual    { return s.dst }
func (s *sm256) rowDst() reg.GPVirtual    { return s.dst }

func (s *sm512) bias() reg.GPVirtual {
	b := s.g.GP32()
	s.g.VMOVD(s.biasv.AsX(), b)
	return b
}

func (s *sm256) bias() reg.GPVirtual {
	b := s.g.GP32()
	s.g.MOVL(s.biasv, b)
	return b
}

func (s *sm512) c64() reg.VecVirtual {
	x := s.g.XMM()
	s.g.VCVTSS2SD(s.cv.AsX(), s.cv.AsX(), x)
	return x
}

func (s *sm256) c64() reg.VecVirtual {
	x := s.g.XMM()
	s.g.VMOVSS(s.cv, x)
	s.g.VCVTSS2SD(x, x, x)
	return x
}

func generateLogSoftmax(g *gen) {
	c := g.constTable("logsoftmaxconst", softmaxConsts)
	t := g.log64Table()
	ct := &ceTables{t, g.log64VecTable()}
	logSoftmaxAVX512(g, c, ct)
	logSoftmaxAVX2(g, c, ct)
	logSoftmaxLongAVX2(g, c, ct)
	logSoftmaxLongAVX512(g, c, ct)
	logSumExpAVX512(g, c, t)
	logSumExpAVX2(g, c, t)
}

func logSoftmaxAVX512(g *gen, c *constTable, t *ceTables) {
	g.function("LogSoftmaxRowsAVX512", "func(dst, src []float32, rows, cols int)",
		[]string{"AVX", "AVX512F", "CMOV", "FMA3", "SSE", "SSE2"},
		"LogSoftmaxRowsAVX512 sets each of the rows rows of cols elements of dst",
		"to the log-softmax of the same row of src, with the bits of",
		"fallback.LogSoftmaxRows. The caller checks the arguments: rows*cols",
		"elements in each slice, cols > 0, and dst is src or does not overlap",
		"it. It requires AVX-512F.",
	)
	// SoftmaxRowsAVX512's pass 1 and 2 (see sm512): the last block through
	// the pipeline of pass 2, its half lanes, the max a row ahead, and the
	// copy of the passes for c = 0, pass 3 included (see logSoftmax512).
	// Measured against the kernel without them (ns per element, thread
	// CPU time, the least of 15 runs, batches of 1 MiB of N(0, 4)): 0.52
	// against 0.68 at 100 columns, 0.40 against 0.43 at 192, 0.31 against
	// 0.35 at 1024, 0.32 against 0.35 at 4096 and 32000.
	s := newSM512(g, c, "lsm512")
	s.tailPipe, s.halfTail, s.ahead, s.zeroC = true, true, true, true
	// Then the next row's max found in pass 2 (nextMax), as
	// SoftmaxRowsAVX512 finds it. Measured (ns per element, thread CPU
	// time, the lower quartile of 200 alternating runs, batches of 1 MiB,
	// two binaries run in turn): 0.282-0.301 against 0.324-0.334 at 4096
	// columns, 1.14-1.18x SoftmaxRowsAVX512's time against 1.29-1.31x;
	// 0.292-0.299 against 0.310-0.331 at 1024; unchanged at 10 and 100.
	s.nextMax = true
	// Then l for eight rows at once, their pass 3 eight finite rows late
	// (logSoftmaxRows8), for rows of up to batchCols elements. Measured
	// (ns per element, thread CPU time, the lower quartile of 61 runs,
	// batches of 1 MiB of N(0, 4), two binaries run in turn, three
	// times; the ratio to SoftmaxRowsAVX512's time in the same runs), in
	// place: 0.48 against 0.78 at 100 columns (1.16x against 1.86x),
	// 0.50-0.51 against 0.88 at 64 (1.18-1.22x against 2.1x), 0.41-0.42
	// against 0.64 at 128 (1.18-1.19x against 1.8x), 0.35-0.36 against
	// 0.52 at 192 (1.22-1.23x against 1.76x), 0.35 against 0.44-0.45 at
	// 300 (1.16-1.17x against 1.48-1.49x), 0.47-0.49 against 0.48-0.49
	// at 1024, 0.43-0.44 against 0.43-0.45 at 4096; out of place, where
	// package kernels ran LogSoftmaxMediumRowsAVX512 up to 192 columns,
	// 0.48-0.49 against 0.56-0.57 at 100 (1.13-1.14x against 1.29-1.30x),
	// 0.36-0.37 against 0.48-0.49 at 192 (1.19-1.20x against 1.55-1.59x),
	// 0.37 against 0.45-0.46 at 300 (1.15x against 1.41-1.47x), 0.33
	// against 0.34-0.35 at 1024. Rows of 1024 to 16384 columns measured
	// the same either way (0.30 at 1024, 0.30-0.31 at 4096 and 16384).
	logSoftmax512(g, s, c, t.log64Table, logSoftmaxRows8(t.vec))
}

// logSoftmax512 emits the body of LogSoftmaxRowsAVX512 and of the scaled
// kernels (fused.go), which read z where this reads x: rows, with its pass
// 3, is logSoftmaxRows, or LogSoftmaxWithStats's body (fused.go).
func logSoftmax512(g *gen, s *sm512, c *constTable, t *log64Table, rows logRowsFunc) {
	cv64, lv := g.ZMM(), g.ZMM() // float64(c) and l, every lane
	noSub := false               // out for c = 0, without x - c
	nt := false                  // out's whole vectors stored with VMOVNTPS

	// out is pass 3 for n vectors: each half of 8 lanes in float64.
	out := func(p, q Mem, n int, mask reg.Register) {
		var d []reg.VecVirtual // lanes 0-7 and 8-15 of each vector
		for j := 0; j < n; j++ {
			lo, hi := g.ZMM(), g.ZMM()
			if mask == nil && s.z == nil {
				g.VCVTPS2PD(p.Offset(64*j), lo)
				g.VCVTPS2PD(p.Offset(64*j+32), hi)
			} else {
				x := g.ZMM()
				s.loadIn(p.Offset(64*j), mask, x)
				g.VCVTPS2PD(x.AsY(), lo)
				y := g.YMM()
				g.VEXTRACTF64X4(U8(1), x, y)
				g.VCVTPS2PD(y, hi)
			}
			d = append(d, lo, hi)
		}
		for _, v := range d {
			if !noSub {
				g.VSUBPD(cv64, v, v) // x - c
			}
		}
		for _, v := range d {
			g.VSUBPD(lv, v, v) // (x - c) - l
		}
		zero := g.ZMM()
		g.VPSUBQ(zero, zero, zero) // a zeroing idiom avo knows, in AVX-512F
		y := make([]reg.VecVirtual, len(d))
		for k, v := range d {
			y[k] = g.YMM()
			g.VCVTPD2PS(v, y[k])
		}
		for j := 0; j < n; j++ {
			v := g.ZMM()
			g.VINSERTF64X4(U8(1), y[2*j+1], y[2*j].AsZ(), v)
			// Never above 0, -0 and NaN kept (see fallback.logProb):
			// min(float32(v), 0) is float32(min(v, 0)), since the
			// rounding is monotonic and keeps 0 and its sign, so one
			// float32 min for the vector, not one float64 min for each
			// half, as in LogSoftmaxMediumRowsAVX512. Measured (ns per
			// element, thread CPU time, the lower quartile of 41 runs,
			// batches of 1 MiB of N(0, 4), two binaries run in turn,
			// each kernel run once untimed before it is timed): 0.50-0.52
			// against 0.52-0.53 at 64 columns in place, 0.37-0.38
			// against 0.38-0.39 at 192, 0.37 against 0.37-0.38 at 300,
			// 0.33 against 0.34 at 1024 out of place, 0.32-0.33 against
			// 0.33-0.35 at 4096; ScaledLogSoftmaxRowsNoMaskAVX512 0.38
			// against 0.39 at 1024.
			g.VMINPS(v, zero, v)
			switch {
			case mask == nil && nt:
				g.VMOVNTPS(v, q.Offset(64*j))
			case mask == nil:
				g.VMOVUPS(v, q.Offset(64*j))
			default:
				g.VMOVUPS(v, mask, q.Offset(64*j))
			}
		}
	}

	// With zeroC, pass 3 too is emitted twice, the copy for c = 0 without
	// x - c: float64(x) - 0 is float64(x), -0 and NaN included, and the
	// row's c is 0 unless its max is above 208 in magnitude. It saved 2 of
	// the 12 operations a vector (of 11 since the one VMINPS).
	pass3 := zeroCPass3(g, s.zeroC, cv64, &noSub, s.label, func(name string, src, dst Op, after string) {
		s.pass3(name, src, dst, after, out)
	})
	if s.fuse {
		// LogSoftmaxLongRowsAVX512: non-temporal stores where every
		// row's whole vectors are 64-byte aligned.
		pass3 = ntSplit(g, &s.cols, s.label, 64, &nt, pass3)
	}
	rows(g, s, t, lv, cv64,
		func(v reg.VecVirtual) { g.VBROADCASTSS(c.scalar("negInf"), v) }, pass3)
}

func logSoftmaxAVX2(g *gen, c *constTable, ct *ceTables) {
	g.function("LogSoftmaxRowsAVX2", "func(dst, src []float32, rows, cols int)",
		[]string{"AVX", "AVX2", "CMOV", "FMA3", "SSE", "SSE2"},
		"LogSoftmaxRowsAVX2 is LogSoftmaxRowsAVX512 for AVX2 and FMA3.",
	)
	// SoftmaxRowsAVX2's flags (see sm256): the max a row ahead, the copy
	// of the passes for c = 0, pass 3 included (see logSoftmax256), and
	// the last block through the pipeline of pass 2. Measured against the
	// kernel without them (ns per element, thread CPU time, the lower
	// quartile of 150 interleaved runs, batches of 1 MiB of N(0, 4), Zen
	// 5): 0.86 against 1.01 at 100 columns (ahead alone 0.96, with zeroC
	// 0.90), 0.58 against 0.64 at 1024, 0.59 against 0.64-0.65 at 4096 and
	// 32000, where zeroC gives it all; SoftmaxRowsAVX2's time in the same
	// runs times 1.41 against 1.64 at 100, 1.11 against 1.22 at 1024, 1.07
	// against 1.16-1.18 at 4096 and 32000.
	s := newSM256(g, c, "lsm256")
	s.ahead, s.zeroC, s.tailPipe = true, true, true
	s.mNext = g.AllocLocal(8)
	// Then pass 3's stores and last vector (logOut), and l's chain
	// (log64Blend). Measured as above, 300 runs on a loaded machine: 0.80
	// against 0.87-0.88 at 100 columns, 1.29-1.31x SoftmaxRowsAVX2's time
	// against 1.41-1.42x (log64Blend alone 0.84, logOut alone 0.85);
	// 0.64 against 0.67 at 200; 0.55-0.56 against 0.57-0.58 at 1024,
	// 1.07x against 1.11x, and 0.60 against 0.62 at 32000, where the
	// quarter stores of logOut, which save the VINSERTF128 of each half,
	// give it all.
	s.logOut = true
	// Then l for eight rows at once, in two ymm of four float64, their
	// pass 3 eight finite rows late (logSoftmaxRows8), for rows of up to
	// batchCols elements, as LogSoftmaxRowsAVX512. Measured (ns per
	// element, thread CPU time, the lower quartile of 200 runs, batches
	// of 1 MiB of N(0, 4), the kernel before and after and
	// SoftmaxRowsAVX2 alternating in one program; the ratio to
	// SoftmaxRowsAVX2's time), out of place: 1.55 against 2.15 at 17
	// columns (1.11x against 1.55x), 0.75 against 0.98 at 50 (1.14x
	// against 1.48x), 0.61 against 0.75 at 100 (1.17x against 1.43x),
	// 0.55 against 0.60 at 200 (1.21x against 1.32x), 0.55 against 0.57
	// at 300 (1.22x against 1.26x), the same at 1024, 1025 and 4096
	// (1.21-1.23x); in place 1.77 against 2.92 at 17 (1.10x against
	// 1.81x), 0.61 against 0.75 at 100 (1.17x against 1.44x), 0.55
	// against 0.57 at 300, the same from 1024 on. Batches of four rows,
	// in one ymm, measured 1.23x at 17 and 50 columns and 1.19-1.21x at
	// 100.
	//
	// Then SoftmaxRowsAVX2's overTail (see sm256.overTail): the late pass
	// 3 runs a row's last cols%16 lanes, of a row of 16 or more elements,
	// as the whole vector that ends at the row's end, first, its y in buf,
	// where it ran them under masks (see logSoftmax256). Measured on AMD
	// EPYC Zen 3, AVX2 (ns per element, thread CPU time, the lower
	// quartile of 200 calls on 1 MiB batches, N(0, 4) logits; the least
	// over N runs alternating with the kernel before, the median of the N
	// ratios, and the runs it won), N = 60: 1.137 against 1.165 at 50
	// columns (0.96x, 45 runs), 0.903 against 0.927 at 100 (0.97x, 39
	// runs); in place 1.134 against 1.146 at 50 (0.96x, 46 runs), 0.911
	// against 0.926 at 100 (0.97x, 38 runs); the same within the noise at
	// 300 (0.740 against 0.729, 1.00x, 29 runs; in place 0.722 against
	// 0.717, 1.00x, 29 runs) and 1000 (0.691 against 0.683, 1.00x, 28
	// runs; in place 0.689 against 0.684, 1.01x, 22 runs), where the 1
	// to 2.5 ns that it saves a row at 50 and 100 columns would be about
	// 1% of the row's time or less.
	s.overTail = true
	tb := *ct.log64Table
	tb.blend = true // for rows longer than batchCols
	g.Attributes(0) // not NOSPLIT: the frame's 888 bytes
	logSoftmax256(g, s, c, &tb, logSoftmaxRows8(ct.vec))
}

// logSoftmax256 is logSoftmax512 for AVX2. With z and zDst
// (ScaledLogSoftmaxRowsAVX2, fused.go), pass 3 reads z in dst, where pass
// 1 stored it, as it reads x in place.
func logSoftmax256(g *gen, s *sm256, c *constTable, t *log64Table, rows logRowsFunc) {
	cv64, lv := g.YMM(), g.YMM() // float64(c) and l, every lane
	noSub := false               // out for c = 0, without x - c

	// out is pass 3 for the 16 lanes at p (or, with m of one mask, the 8
	// of the lower half): four quarters in float64.
	out := func(p, q Mem, m []reg.VecVirtual) {
		var d []reg.VecVirtual
		if m == nil && s.z == nil {
			d = make([]reg.VecVirtual, 4)
			for j := range d {
				d[j] = g.YMM()
				g.VCVTPS2PD(p.Offset(16*j), d[j])
			}
		} else {
			for _, v := range s.loadX(p, m) {
				lo, hi := g.YMM(), g.YMM()
				g.VCVTPS2PD(v.AsX(), lo)
				xh := g.XMM()
				g.VEXTRACTF128(U8(1), v, xh)
				g.VCVTPS2PD(xh, hi)
				d = append(d, lo, hi)
			}
		}
		for _, v := range d {
			if !noSub {
				g.VSUBPD(cv64, v, v) // x - c
			}
		}
		for _, v := range d {
			g.VSUBPD(lv, v, v) // (x - c) - l
		}
		zero := g.YMM()
		g.VXORPD(zero, zero, zero)
		for _, v := range d {
			g.VMINPD(v, zero, v) // never above 0 (see fallback.logProb)
		}
		if m == nil && s.logOut {
			for j, v := range d {
				y := g.XMM()
				g.VCVTPD2PSY(v, y)
				if s.nt {
					g.VMOVNTPS(y, q.Offset(16*j))
				} else {
					g.VMOVUPS(y, q.Offset(16*j))
				}
			}
			return
		}
		y := make([]reg.VecVirtual, len(d)/2)
		for h := range y {
			a, b := g.XMM(), g.XMM()
			g.VCVTPD2PSY(d[2*h], a)
			g.VCVTPD2PSY(d[2*h+1], b)
			y[h] = g.YMM()
			g.VINSERTF128(U8(1), b, a.AsY(), y[h])
		}
		s.store(y, q, m)
	}
	if s.logOut {
		// The row's last vector: its lower half alone if it has at most
		// 8 elements.
		whole := out
		out = func(p, q Mem, m []reg.VecVirtual) {
			if m == nil {
				whole(p, q, nil)
				return
			}
			full, done := uniqueLabel(s.label("outfull")), uniqueLabel(s.label("outdone"))
			g.CMPQ(s.tailN, U32(8))
			g.JA(LabelRef(full))
			whole(p, q, m[:1])
			g.JMP(LabelRef(done))
			g.Label(full)
			whole(p, q, m)
			g.Label(done)
		}
	}

	// With overTail (see sm256.overTail), a row of 16 or more elements
	// runs its last cols%16 lanes as the whole vector that ends at the
	// row's end, first, its y in buf (pass3Of's overTail, no copy): out
	// reads only x at p (z in dst, with zDst), which no store of the row
	// has changed when that vector runs, in place too, and the lanes that
	// it shares with the row's last whole vector get the same bits from
	// both, as y in a lane depends on that lane's x and on l and c alone.
	over := overNone
	if s.overTail {
		over = overTail
	}
	// With zeroC, pass 3 is emitted twice, as logSoftmax512's is.
	pass3 := zeroCPass3(g, s.zeroC, cv64, &noSub, s.label, func(name string, src, dst Op, after string) {
		if s.z != nil && s.zDst {
			// z is in dst, where pass 1 stored it (fused.go).
			z := s.z
			s.z = nil
			s.pass3Of(name, dst, dst, after, out, over)
			s.z = z
			return
		}
		s.pass3Of(name, src, dst, after, out, over)
	})
	if s.fuse {
		pass3 = ntPass3(s, pass3)
	}
	rows(g, s, t, lv, cv64,
		func(v reg.VecVirtual) { g.VMOVUPS(c.ymm("negInf"), v) }, pass3)
}

// logSoftmaxLongAVX2 emits LogSoftmaxLongRowsAVX2: LogSoftmaxRowsAVX2 for
// rows that no cache holds, with SoftmaxLongRowsAVX2's passes (see
// softmaxLongAVX2): every row's passes 1 and 2 fused into one read of x
// on the guess that c = 0 (sm256.fused), passes 1 and 2 after it where
// the guess fails, x prefetched pfLong256 bytes ahead; l and pass 3 at
// once, each row's own (logSoftmaxRowsNow), not a row late, so that pass
// 3, from the row's end to its start (back), starts on the blocks of x
// that the fused pass left in the caches last; and pass 3's quarter
// stores (logOut) non-temporal where the row's dst is 16-byte aligned
// and cols a multiple of 4 (ntPass3). Package kernels sends it batches
// of rows of 2048 elements or more, 4 MiB or more in all (see
// logLongColsAVX2 there, which has the figures at those shapes).
//
// Measured on AMD EPYC Zen 3 (AVX2, 32 MiB of L3), N(0, 4) logits, thread
// CPU time, the lower quartile of 6 to 20 calls, 4 rounds alternating
// copy, LogSoftmaxRowsAVX2, this kernel and SoftmaxLongRowsAVX2, the
// median of the rounds' ratios to LogSoftmaxRowsAVX2: 8 rows of
// 4,194,304 columns, each call's input and output first refilled by a
// copy, 0.63x (0.93-1.25 ns per element against 1.68-1.96), in place
// 0.83x, and 0.72x SoftmaxLongRowsAVX2's time; called again and again on
// the same batch, out of place, 0.61x at 4 x 1,048,576, 0.59x at 16 x
// 262,144, 0.65x at 8 x 262,144, 0.82x at 1 x 1,048,576, 0.68x at 16 x
// 131,072 and 0.57x at 32 x 65,536, but 1.03x at 4 x 131,072 and 0.98x
// at 8 x 65,536 (batches of 2 MiB). Unlike Softmax's, its passes 1 and 2
// take most of a row's time, and reading x once for both pays where L3
// holds the batch as well.
func logSoftmaxLongAVX2(g *gen, c *constTable, ct *ceTables) {
	g.function("LogSoftmaxLongRowsAVX2", "func(dst, src []float32, rows, cols int)",
		[]string{"AVX", "AVX2", "CMOV", "FMA3", "MMX+", "SSE", "SSE2"},
		"LogSoftmaxLongRowsAVX2 is LogSoftmaxRowsAVX2 for rows too long for any",
		"cache: it reads x once for passes 1 and 2, and writes dst with",
		"non-temporal stores where dst is 16-byte aligned and cols a multiple",
		"of 4. The bits are LogSoftmaxRowsAVX2's.",
	)
	s := newSM256(g, c, "llr256")
	s.zeroC, s.tailPipe, s.fuse, s.back, s.logOut = true, true, true, true, true
	s.pfSelf = pfLong256
	tb := *ct.log64Table
	tb.blend = true
	logSoftmax256(g, s, c, &tb, logSoftmaxRowsNow)
}

// logSoftmaxLongAVX512 emits LogSoftmaxLongRowsAVX512, LogSoftmaxRowsAVX512
// for rows too long for any cache, LogSoftmaxLongRowsAVX2's passes on
// AVX-512: passes 1 and 2 fused on the checked guess c = 0 (sm512.fuse,
// with ScaledSoftmaxLongRowsAVX512's check of the terms on w, minW, and
// the masked read of the row's first vector, for rows of any length),
// l and pass 3 at once for each row (logSoftmaxRowsNow), pass 3 from
// the row's end (back), on what the fused pass left in the caches, and
// with non-temporal stores where every row's vectors are 64-byte aligned
// (ntSplit). It has no prefetch of its own, as SoftmaxRowsAVX512's long
// rows. Package kernels sends it batches of 16 MiB or more of rows of
// 1 MiB or more (logLongColsAVX512). Its speed is not measured: the
// machines this was written on have no AVX-512, and it was tested under
// emulation (.ci/avx512-bochs).
func logSoftmaxLongAVX512(g *gen, c *constTable, ct *ceTables) {
	g.function("LogSoftmaxLongRowsAVX512", "func(dst, src []float32, rows, cols int)",
		[]string{"AVX", "AVX512F", "CMOV", "FMA3", "MMX+", "SSE", "SSE2"}, // MMX+: SFENCE
		"LogSoftmaxLongRowsAVX512 is LogSoftmaxRowsAVX512 for rows too long for",
		"any cache: it reads x once for passes 1 and 2, and writes dst with",
		"non-temporal stores where dst is 64-byte aligned and cols a multiple",
		"of 16. The bits are LogSoftmaxRowsAVX512's. It requires AVX-512F.",
	)
	s := newSM512(g, c, "llr512")
	s.tailPipe, s.halfTail, s.zeroC, s.fuse, s.minW, s.back = true, true, true, true, true, true
	logSoftmax512(g, s, c, ct.log64Table, logSoftmaxRowsNow)
}

// ntPass3 returns pass3 emitted twice, as sm256.longOut emits
// SoftmaxLongRowsAVX2's: with non-temporal stores (sm256.nt) where the
// row's dst is 16-byte aligned and its length a multiple of 4, so that
// every whole vector's quarter stores (logOut) are aligned, then an
// SFENCE; with plain stores for the other rows. The row's last cols%16
// lanes are stored under masks either way.
func ntPass3(s *sm256, pass3 func(name string, src, dst Op, after string)) func(name string, src, dst Op, after string) {
	return ntSplit(s.g, &s.cols, s.label, 16, &s.nt, pass3)
}

// ntSplit returns pass3 emitted twice: with *nt set where *cols*4 (the
// register the kernel holds the row's length in once it emits pass3) and
// the row's dst are multiples of align, so that its whole vectors' stores
// are aligned (pass3 then stores them with VMOVNTPS), followed by an
// SFENCE; with *nt clear for the other rows.
func ntSplit(g *gen, cols *reg.GPVirtual, label func(string) string, align int, nt *bool,
	pass3 func(name string, src, dst Op, after string)) func(name string, src, dst Op, after string) {
	return func(name string, src, dst Op, after string) {
		plain, fence := label(name+"plain"), label(name+"fence")
		w := g.GP64()
		g.MOVQ(*cols, w)
		g.SHLQ(U8(2), w)
		g.ORQ(dst, w)
		g.TESTQ(U32(align-1), w)
		g.JNZ(LabelRef(plain))
		*nt = true
		pass3(name+"nt", src, dst, fence)
		*nt = false
		g.Label(fence)
		g.SFENCE()
		g.JMP(LabelRef(after))
		g.Label(plain)
		pass3(name, src, dst, after)
	}
}

// logSoftmaxRowsNow is logSoftmaxRows with each row's l and pass 3 run
// at once, with no row pending: LogSoftmaxLongRowsAVX2's, whose rows are
// long enough that l's chain costs nothing beside them, and whose pass 3
// starts on the blocks that the fused pass left in the caches.
func logSoftmaxRowsNow(g *gen, s rowPasses, t *log64Table, lv, cv64 reg.VecVirtual,
	masked func(v reg.VecVirtual), pass3 func(name string, src, dst Op, after string)) {
	if s.zIn().frameSize() > 0 {
		panic("logSoftmaxRowsNow keeps no mask offset")
	}
	s.rowsKernel(masked, func(sum reg.VecVirtual) {
		g.Comment("l = float64(nm)*ln2 + log64(S).")
		l := g.logSum(t, s.bias(), sum)
		g.VBROADCASTSD(l, lv)
		g.VBROADCASTSD(s.c64(), cv64)
		pass3("out", s.rowSrc(), s.rowDst(), s.label("next"))
	}, nil)
}

// logRowsFunc is the form of logSoftmaxRows.
type logRowsFunc func(g *gen, s rowPasses, t *log64Table, lv, cv64 reg.VecVirtual,
	masked func(v reg.VecVirtual), pass3 func(name string, src, dst Op, after string))

// logSoftmaxRows emits the loop over the rows of a LogSoftmax kernel:
// passes 1 and 2 and l for each row, with pass3 (which uses lv and cv64,
// l and float64(c) in every lane) run one row late, as pending explains;
// masked sets the fill vector of a row of -Inf.
func logSoftmaxRows(g *gen, s rowPasses, t *log64Table, lv, cv64 reg.VecVirtual,
	masked func(v reg.VecVirtual), pass3 func(name string, src, dst Op, after string)) {
	p := newPending(g)
	z := s.zIn()
	var moffs Mem // the current row's mask offset, then the pending one's
	if z.frameSize() > 0 {
		moffs = g.AllocLocal(z.frameSize())
	}
	late := p.late(z, moffs, lv, cv64, pass3)
	s.rowsKernel(masked, func(sum reg.VecVirtual) {
		if sum == nil { // ahead: S's lanes are in s.acc
			sum = s.(interface{ aheadSum() reg.VecVirtual }).aheadSum()
		}
		g.Comment("l = float64(nm)*ln2 + log64(S).")
		l := g.logSum(t, s.bias(), sum)
		c64 := s.c64()
		g.Comment("Pass 3 of the previous finite row, while l is computed.")
		z.save(g, moffs)
		late("out", s.label("prev"))
		p.set(l, c64, s.rowSrc(), s.rowDst())
		z.pend(g, moffs, g.GP64())
		g.JMP(LabelRef(s.label("next")))
	}, func() {
		g.Comment("Pass 3 of the last finite row.")
		late("last", s.label("flushed"))
	})
}

// batchCols is the longest row that logSoftmaxRows8 takes in batches.
const batchCols = 1024

// logSoftmaxRows8 returns logSoftmaxRows for rows of at most batchCols
// elements in batches of batchRows: each finite row's S, float64(nm)*ln2,
// float64(c), src and dst go to the row's slot in the frame, and when a
// batch is full, l = nm*ln2 + log64(S) of its rows is computed at once in
// one zmm of float64 (logSteps, as the short kernel does), or on AVX2 in
// two ymm of four (lossBatch.log64, as the short kernels do), and the
// batch becomes pending; pass 3 of the pending batch's row j runs after
// the next batch's row j has been summed. A row's l is then the end of
// one chain of dependent operations for every batchRows rows, where
// logSoftmaxRows ends one for each row. That chain, some 150 cycles, is
// not hidden by running pass 3 a row late: while it waits to retire, the
// CPU's reorder buffer fills with the next row's work in a fraction of
// that time, and the rest is a stall, whatever the length of the row.
// Rows are independent, and in place each pass 3 writes its own row
// alone, so the order changes no bits. Longer rows, for which the
// batch's eight pending rows would no longer fit in the L1 data cache
// (they measured the same either way), run one row late, as
// logSoftmaxRows runs them. In the scaled kernels (fused.go), which read
// z, each slot also keeps its row's mask offset, if the kernel has a mask.
func logSoftmaxRows8(vt *log64VecTable) logRowsFunc {
	return logSoftmaxRowsOf(vt, batchRows)
}

// batchPasses is what logSoftmaxRowsOf needs of sm512 and sm256 beyond
// rowPasses.
type batchPasses interface {
	rowPasses
	aheadSum() reg.VecVirtual
	rowCols() reg.GPVirtual
}

func (s *sm512) rowCols() reg.GPVirtual { return s.cols }
func (s *sm256) rowCols() reg.GPVirtual { return s.cols }

// logSoftmaxRowsOf is logSoftmaxRows8 in batches of n rows.
func logSoftmaxRowsOf(vt *log64VecTable, n int) logRowsFunc {
	return func(g *gen, s rowPasses, t *log64Table, lv, cv64 reg.VecVirtual,
		masked func(v reg.VecVirtual), pass3 func(name string, src, dst Op, after string)) {
		sb := s.(batchPasses)
		_, wide := s.(*sm512) // zmm registers, or ymm (AVX2)
		vw := 32              // the bytes of a vector
		if wide {
			vw = 64
		}
		vec := func() reg.VecVirtual {
			if wide {
				return g.ZMM()
			}
			return g.YMM()
		}
		z := s.zIn() // the scaled kernels: a row's mask offset, if any
		if z != nil && z.rows != nil {
			panic("logSoftmaxRows8 keeps no row length")
		}
		ct := &ceTables{t, vt}
		p := newPending(g)
		var moffs Mem // as in logSoftmaxRows, for rows longer than batchCols
		if z.frameSize() > 0 {
			moffs = g.AllocLocal(z.frameSize())
		}
		// The frame of the batches: n slots of 8 bytes for each of the
		// current batch's S, nm*ln2, c, src and dst, then the pending
		// batch's l, c, src and dst (dst 0 where no row is pending), then
		// the next free slot of the current batch, and a count; with a
		// mask, the current and the pending batch's mask offsets.
		f := 8 * n // the bytes of a field
		size := 9*f + 16
		if z.frameSize() > 0 {
			size += 2 * f
		}
		b := g.AllocLocal(size)
		var (
			curS, curNm, curC, curSrc, curDst = 0, f, 2 * f, 3 * f, 4 * f
			pendL, pendC, pendSrc, pendDst    = 5 * f, 6 * f, 7 * f, 8 * f
			curMoff, pendMoff                 = 9*f + 16, 10*f + 16
		)
		jAt, kAt := b.Offset(9*f), b.Offset(9*f+8)
		slot := func(field int, j reg.GPVirtual) Mem {
			return Mem{Base: b.Base, Disp: b.Disp + field, Index: j, Scale: 8}
		}
		{
			v := vec()
			g.VBROADCASTSD(t.one(), v)
			for o := 0; o < f; o += vw {
				g.VMOVUPD(v, b.Offset(curS+o)) // S = 1, nm = 0 in slots never used
			}
			if wide {
				g.VPXORQ(v, v, v)
			} else {
				g.VXORPD(v, v, v)
			}
			for o := 0; o < f; o += vw {
				g.VMOVUPD(v, b.Offset(curNm+o))
				g.VMOVUPD(v, b.Offset(pendDst+o))
			}
			g.MOVQ(U32(0), jAt)
		}
		// batchL emits l of the current batch's rows into the pending
		// batch's slots, with their c, src and dst.
		batchL := func() {
			if wide && f == vw {
				for _, step := range logSteps(g, ct, b.Offset(curS), b.Offset(curNm), b.Offset(pendL)) {
					step()
				}
			} else {
				lb := &lossBatch{g: g, t: ct, wide: wide}
				for o := 0; o < f; o += vw {
					sv := vec()
					g.VMOVUPD(b.Offset(curS+o), sv)
					l := lb.log64(sv)
					g.VADDPD(b.Offset(curNm+o), l, l) // l = nm*ln2 + log64(S)
					g.VMOVUPD(l, b.Offset(pendL+o))
				}
			}
			fields := [][2]int{{curC, pendC}, {curSrc, pendSrc}, {curDst, pendDst}}
			if z.frameSize() > 0 {
				fields = append(fields, [2]int{curMoff, pendMoff})
			}
			for _, fl := range fields {
				for o := 0; o < f; o += vw {
					v := vec()
					g.VMOVUPD(b.Offset(fl[0]+o), v)
					g.VMOVUPD(v, b.Offset(fl[1]+o))
				}
			}
		}
		// pendOut emits pass 3 of the pending batch's row at slot j.
		pendOut := func(name string, j reg.GPVirtual, after string) {
			g.VBROADCASTSD(slot(pendL, j), lv)
			g.VBROADCASTSD(slot(pendC, j), cv64)
			if z.frameSize() > 0 {
				g.MOVQ(slot(pendMoff, j), z.moff)
			}
			pass3(name, slot(pendSrc, j), slot(pendDst, j), after)
		}
		late := p.late(z, moffs, lv, cv64, pass3)
		s.rowsKernel(masked, func(sum reg.VecVirtual) {
			if sum == nil { // ahead: S's lanes are in s.acc
				sum = sb.aheadSum()
			}
			g.CMPQ(sb.rowCols(), U32(batchCols))
			g.JBE(LabelRef(s.label("batch")))
			g.Comment("l = float64(nm)*ln2 + log64(S).")
			l := g.logSum(t, s.bias(), sum)
			c64 := s.c64()
			g.Comment("Pass 3 of the previous finite row, while l is computed.")
			z.save(g, moffs)
			late("out", s.label("prev"))
			p.set(l, c64, s.rowSrc(), s.rowDst())
			z.pend(g, moffs, g.GP64())
			g.JMP(LabelRef(s.label("next")))

			g.Label(s.label("batch"))
			g.Comment("The row to its slot j of the batch: S, float64(nm)*ln2, c, src and dst.")
			j := g.GP64()
			g.MOVQ(jAt, j)
			g.VMOVSD(sum, slot(curS, j))
			bias := s.bias()
			g.NEGL(bias)
			g.SUBL(U32(0x4b400000-127), bias) // nm
			nm := g.XMM()
			g.VCVTSI2SDL(bias, sum, nm) // float64(nm), exact
			g.VMULSD(t.ln2(), nm, nm)
			g.VMOVSD(nm, slot(curNm, j))
			g.VMOVSD(s.c64(), slot(curC, j))
			g.MOVQ(s.rowSrc(), slot(curSrc, j))
			g.MOVQ(s.rowDst(), slot(curDst, j))
			if z.frameSize() > 0 {
				g.MOVQ(z.moff, slot(curMoff, j))
			}
			g.Comment("Pass 3 of the pending batch's row j, if there is one.")
			g.CMPQ(slot(pendDst, j), U32(0))
			g.JE(LabelRef(s.label("bprev")))
			pendOut("bout", j, s.label("bprev"))
			g.Label(s.label("bprev"))
			j2 := g.GP64()
			g.MOVQ(jAt, j2)
			g.INCQ(j2)
			g.MOVQ(j2, jAt)
			g.CMPQ(j2, U32(n))
			g.JB(LabelRef(s.label("next")))
			g.Comment("The batch is full: its l, and it is pending.")
			g.MOVQ(U32(0), jAt)
			batchL()
			g.JMP(LabelRef(s.label("next")))
		}, func() {
			g.Comment("Pass 3 of the last finite row.")
			late("last", s.label("flushed"))
			g.Comment("Pass 3 of the pending batch's rows from slot j on, then the current batch's l and its rows.")
			k := g.GP64()
			g.MOVQ(jAt, k)
			g.MOVQ(k, kAt)
			g.Label(s.label("flushpend"))
			k1 := g.GP64()
			g.MOVQ(kAt, k1)
			g.CMPQ(k1, U32(n))
			g.JE(LabelRef(s.label("flushcur")))
			g.CMPQ(slot(pendDst, k1), U32(0))
			g.JE(LabelRef(s.label("flushpendnext")))
			pendOut("fpend", k1, s.label("flushpendnext"))
			g.Label(s.label("flushpendnext"))
			g.ADDQ(U32(1), kAt)
			g.JMP(LabelRef(s.label("flushpend")))
			g.Label(s.label("flushcur"))
			g.CMPQ(jAt, U32(0))
			g.JE(LabelRef(s.label("flushed8")))
			batchL()
			g.MOVQ(U32(0), kAt)
			g.Label(s.label("flushcurrow"))
			k2 := g.GP64()
			g.MOVQ(kAt, k2)
			g.CMPQ(k2, jAt)
			g.JAE(LabelRef(s.label("flushed8")))
			pendOut("fcur", k2, s.label("flushcurnext"))
			g.Label(s.label("flushcurnext"))
			g.ADDQ(U32(1), kAt)
			g.JMP(LabelRef(s.label("flushcurrow")))
			g.Label(s.label("flushed8"))
		})
	}
}

// pending is the row whose pass 3 a LogSoftmax kernel has put off, in the
// frame: its l and float64(c), and its src and dst pointers, dst 0 if
// there is none.
//
// The kernels run pass 3 one row late. l ends a chain of about 30
// dependent float64 operations (log64: a division and the Horner loop),
// some 100 cycles, which pass 3 of its row must wait for; in program
// order, passes 1 and 2 of the next row come before it, and the CPU runs
// them while the chain completes. Rows are independent, and in place the
// late pass 3 writes only its own row, so the order changes no bits.
type pending struct {
	g              *gen
	l, c, src, dst Mem
}

// newPending allocates the frame slots and emits the code that clears dst.
func newPending(g *gen) *pending {
	m := g.AllocLocal(32)
	p := &pending{g: g, l: m, c: m.Offset(8), src: m.Offset(16), dst: m.Offset(24)}
	g.MOVQ(U32(0), p.dst)
	return p
}

// late returns the emitter of pass 3 of the pending row, if one is
// pending: its l and c broadcast into lv and cv64, its mask offset (for
// a kernel that reads z) restored from moffs, then pass3 under name,
// falling through to after.
func (p *pending) late(z *zin, moffs Mem, lv, cv64 reg.VecVirtual,
	pass3 func(name string, src, dst Op, after string)) func(name, after string) {
	return func(name, after string) {
		p.run(after, func(after string) {
			p.g.VBROADCASTSD(p.l, lv)
			p.g.VBROADCASTSD(p.c, cv64)
			z.restore(p.g, moffs.Offset(8))
			pass3(name, p.src, p.dst, after)
		})
	}
}

// run emits pass3(after) if a row is pending, and falls through to the
// label after, which it emits.
func (p *pending) run(after string, pass3 func(after string)) {
	p.g.CMPQ(p.dst, U32(0))
	p.g.JE(LabelRef(after))
	pass3(after)
	p.g.Label(after)
}

// set makes the row with l, c64 (xmm registers), src and dst pending.
func (p *pending) set(l, c64 reg.VecVirtual, src, dst reg.GPVirtual) {
	p.g.VMOVSD(l, p.l)
	p.g.VMOVSD(c64, p.c)
	p.g.MOVQ(src, p.src)
	p.g.MOVQ(dst, p.dst)
}

// logSumExp emits the body of a func(src []float32) float32 kernel.
func logSumExp(g *gen, s rowPasses, c *constTable, t *log64Table) {
	src, n := g.GP64(), g.GP64()
	g.Load(g.Param("src").Base(), src)
	g.Load(g.Param("src").Len(), n)
	res := g.XMM()
	g.TESTQ(n, n)
	g.JZ(LabelRef(s.label("neginf")))
	s.setSrc(src)
	s.setCols(n)
	nan := s.label("nan")
	s.pass1(nan, s.label("posinf"), s.label("masked"))
	sum := s.pass2()
	g.VUCOMISD(sum, sum)
	g.JP(LabelRef(nan))
	g.Comment("float32(float64(nm)*ln2 + log64(S) + float64(c)).")
	l := g.logSum(t, s.bias(), sum)
	g.VADDSD(s.c64(), l, l)
	g.VUCOMISD(l, l)
	g.JP(LabelRef(nan))
	g.VCVTSD2SS(l, l, res)
	g.JMP(LabelRef(s.label("ret")))

	g.Comment("+Inf max: +Inf, or NaN if the row also holds a NaN.")
	g.Label(s.label("posinf"))
	s.scanNaN(nan)
	g.VMOVSS(c.scalar("posInf"), res)
	g.JMP(LabelRef(s.label("ret")))

	g.Comment("-Inf max: -Inf, or NaN if the row also holds a NaN; empty: -Inf.")
	g.Label(s.label("masked"))
	s.scanNaN(nan)
	g.Label(s.label("neginf"))
	g.VMOVSS(c.scalar("negInf"), res)
	g.JMP(LabelRef(s.label("ret")))

	g.Label(nan)
	g.VMOVSS(c.scalar("nan"), res)
	g.Label(s.label("ret"))
	ret, err := g.ReturnIndex(0).Resolve()
	if err != nil {
		panic(err)
	}
	g.VMOVSS(res, ret.Addr) // not Store's MOVSS, which cannot reach X16-X31
	g.VZEROUPPER()
	g.RET()
}

func logSumExpAVX512(g *gen, c *constTable, t *log64Table) {
	g.function("LogSumExpAVX512", "func(src []float32) float32",
		[]string{"AVX", "AVX512F", "CMOV", "FMA3", "SSE", "SSE2"},
		"LogSumExpAVX512 returns ln(sum_i exp(src[i])), with the bits of",
		"fallback.LogSumExp. It requires AVX-512F.",
	)
	// SoftmaxRowsAVX512's pass 2 (see sm512): the last block through the
	// pipeline, its half lanes, the copy for c = 0. Measured against the
	// kernel without them (ns per element, thread CPU time, the least of
	// 15 runs, one call per row of batches of 1 MiB): 0.50 against 0.54
	// at 100 columns, 0.22 against 0.23 at 4096 and 32000.
	s := newSM512(g, c, "lse512")
	s.tailPipe, s.halfTail, s.zeroC = true, true, true
	logSumExp(g, s, c, t)
}

func logSumExpAVX2(g *gen, c *constTable, t *log64Table) {
	g.function("LogSumExpAVX2", "func(src []float32) float32",
		[]string{"AVX", "AVX2", "CMOV", "FMA3", "SSE", "SSE2"},
		"LogSumExpAVX2 is LogSumExpAVX512 for AVX2 and FMA3.",
	)
	// SoftmaxRowsAVX2's pass 2 (see sm256): the last block through the
	// pipeline, the copy for c = 0; and l's chain, which ends the call,
	// shortened (log64Blend). Measured against the kernel without them
	// (ns per element, thread CPU time, the lower quartile of 100
	// interleaved runs, one call per row of batches of 1 MiB, Zen 5):
	// 0.78 against 0.85 at 100 columns (0.81 without log64Blend), 1.28x
	// SoftmaxRowsAVX2's time against 1.41x; 0.41-0.42 against 0.43-0.44
	// at 1024, 4096 and 32000.
	s := newSM256(g, c, "lse256")
	s.tailPipe, s.zeroC = true, true
	tb := *t
	tb.blend = true
	logSumExp(g, s, c, &tb)
}

// zeroCPass3 returns pass 3 of a LogSoftmax row kernel, emitted by pass3:
// with zeroC twice, after a branch on float64(c)'s bits in cv64, the copy
// for c = 0 (labels suffixed "z") with *noSub set, so that its out leaves
// out x - c.
func zeroCPass3(g *gen, zeroC bool, cv64 reg.VecVirtual, noSub *bool, label func(string) string,
	pass3 func(name string, src, dst Op, after string)) func(name string, src, dst Op, after string) {
	return func(name string, src, dst Op, after string) {
		if !zeroC {
			pass3(name, src, dst, after)
			return
		}
		w := g.GP64()
		g.VMOVQ(cv64.AsX(), w) // float64(c)'s bits: 0 where c is
		g.TESTQ(w, w)
		g.JNZ(LabelRef(label(name + "c")))
		*noSub = true
		pass3(name+"z", src, dst, after)
		*noSub = false
		g.Label(label(name + "c"))
		pass3(name, src, dst, after)
	}
}
