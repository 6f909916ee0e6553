package main

import (
	"math"

	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// The CrossEntropy kernels: CrossEntropyRows, bit for bit
// fallback.CrossEntropyRows (fallback/crossentropy.go). One call covers
// every row of a batch. Each row is SoftmaxRows's (softmax.go): passes 1
// and 2, and unless the gradient is nil, pass 3 writes softmax(x) into it;
// the loss of a row with a finite max and sum S is, in float64,
//
//	loss = l - (float64(x_t) - float64(c))
//
// with l = float64(nm)*ln2 + log64(S) (rowPlan.logSum), x_t the row's
// logit at its target t, read before pass 3 can overwrite it in place;
// and grad[t] = grad[t] - 1 in float32. A row of -Inf (with no NaN) gets
// grad = 0 - onehot(t) and loss +Inf; a row whose max is NaN or +Inf, or
// whose S is NaN, gets a gradient of the canonical NaN, left as it is at
// t, and loss NaN. A finite row whose x_t is -Inf gets loss +Inf from the
// formula, as in the fallback.
//
// The losses are added to a float64 total in row order, starting from +0;
// the caller divides it by the number of rows and rounds it to float32, as
// the fallback does, or rounds it alone for a single row (0 + loss is loss:
// a loss is never -0, since l is never -0).
//
// The losses are computed 8 rows at a time (lossBatch): log64 is some 40
// dependent float64 operations with a division, and on rows of 10 classes
// one per row made the kernel about 1.5x slower. Each row leaves S, c,
// x_t, its bias and the address of grad[t] in the frame; every 8 rows, and
// after the last, the batch's losses are computed in float64 vectors, with
// the scalar log64's operations in its order (logsoftmax.go), added to the
// total one by one, and 1 is subtracted at each grad[t].

// ceRows is what the CrossEntropy generator needs of sm512 and sm256.
type ceRows interface {
	rowPasses
	setHooks(h rowHooks)
}

func (s *sm512) setHooks(h rowHooks) { s.hooks = h }
func (s *sm256) setHooks(h rowHooks) { s.hooks = h }

func generateCrossEntropy(g *gen) {
	c := g.constTable("crossentropyconst", softmaxConsts)
	t := &ceTables{g.log64Table(), g.log64VecTable()}
	crossEntropyAVX512(g, c, t)
	crossEntropyAVX2(g, c, t)
	crossEntropyLongAVX2(g, c, t)
	crossEntropyLongAVX512(g, c, t)
}

// ceTables are the float64 constants of the loss: log64's, and those of
// its vector form.
type ceTables struct {
	*log64Table
	vec *log64VecTable
}

// crossEntropySignature is the kernels' Go signature: dst is the gradient
// and src the logits.
const crossEntropySignature = "func(dst, src []float32, targets []int32, rows, cols int) float64"

func crossEntropyAVX512(g *gen, c *constTable, t *ceTables) {
	g.function("CrossEntropyRowsAVX512", crossEntropySignature,
		[]string{"AVX", "AVX512F", "CMOV", "FMA3", "SSE", "SSE2"},
		"CrossEntropyRowsAVX512 returns the sum, in float64 and in row order, of",
		"the cross-entropy losses of the rows rows of cols logits in src, row r",
		"against class targets[r], and unless dst is nil sets each row of dst",
		"to softmax(row) - onehot(targets[r]); with the bits of",
		"fallback.CrossEntropyRows, which returns the sum divided by rows and",
		"rounded to float32 (a NaN as the canonical NaN). The caller checks",
		"the arguments: rows*cols elements in src, and in dst unless it is",
		"nil, cols > 0, 0 <= targets[r] < cols for each of the rows, and dst",
		"is src or does not overlap it. It requires AVX-512F.",
	)
	s := newSM512(g, c, "ce512")
	s.keepU = true
	// SoftmaxRowsAVX512's pass 2 (see sm512; its hooks rule out ahead):
	// the last block through the pipeline, its half lanes, the copy of
	// passes 2 and 3 for c = 0 (softmaxOut). Measured against the kernel
	// without them (ns per element, thread CPU time, the least of 15 runs,
	// batches of 1 MiB): 0.45 against 0.53 at 100 columns, 0.29 against
	// 0.30 at 1024, 0.27 against 0.29 at 4096 and 32000.
	s.tailPipe, s.halfTail, s.zeroC = true, true, true
	crossEntropyRows(g, s, c, t, true, func(zero reg.VecVirtual) { g.VPXORD(zero, zero, zero) }, s.softmaxOut, nil)
}

func crossEntropyAVX2(g *gen, c *constTable, t *ceTables) {
	g.function("CrossEntropyRowsAVX2", crossEntropySignature,
		[]string{"AVX", "AVX2", "CMOV", "FMA3", "SSE", "SSE2"},
		"CrossEntropyRowsAVX2 is CrossEntropyRowsAVX512 for AVX2 and FMA3.",
	)
	s := newSM256(g, c, "ce256")
	s.keepU = true
	// SoftmaxRowsAVX2's pass 2 (see sm256; the hooks rule out ahead): the
	// last block through the pipeline, the copy of passes 2 and 3 for
	// c = 0 (softmaxOut). Measured against the kernel without them (ns
	// per element, thread CPU time, the lower quartile of 100 interleaved
	// runs, batches of 1 MiB, Zen 5): 1.06 against 1.16 at 100 columns
	// (1.08 without pass 3's copy), 0.67 against 0.72 at 1024, 0.66
	// against 0.73 at 4096, 0.68 against 0.74 at 32000; without a
	// gradient, 0.56 against 0.65 at 100 columns, 0.40-0.41 against 0.42-0.43
	// from 1024.
	s.tailPipe, s.zeroC = true, true
	// And pass 3 with its constants in registers where u comes from dst,
	// as SoftmaxRowsAVX2's (regOut): measured as above, 0.50 against 0.65
	// at 1024 columns, 0.49 against 0.65 at 4096 and 32000, 0.92 against
	// 1.06 at 100; 1.01-1.06x SoftmaxRowsAVX2's time in the same runs
	// from 1024 against 1.32-1.37x.
	s.regOut = true
	crossEntropyRows(g, s, c, t, false, func(zero reg.VecVirtual) { g.VXORPS(zero, zero, zero) }, s.softmaxOut, nil)
}

// crossEntropyLongAVX2 emits CrossEntropyLongRowsAVX2: CrossEntropyRowsAVX2
// for rows that no cache holds, with SoftmaxLongRowsAVX2's passes (see
// softmaxLongAVX2): every row's passes 1 and 2 fused into one read of x
// on the guess that c = 0, no u kept, and pass 3 recomputing it, from the
// row's end, with non-temporal stores where the gradient's row is 32-byte
// aligned and cols a multiple of 8 (longOut). Package kernels sends it
// the batches that SoftmaxRows sends SoftmaxLongRowsAVX2.
//
// Measured on AMD EPYC Zen 3 (AVX2, 32 MiB of L3), N(0, 4) logits, with a
// gradient out of place, thread CPU time, the lower quartile of 6 to 10
// calls, 4 to 6 rounds alternating copy, CrossEntropyRowsAVX2, this
// kernel and SoftmaxLongRowsAVX2, the median of the rounds' ratios to
// CrossEntropyRowsAVX2: 0.63x at 8 rows of 4,194,304 columns, each
// call's gradient first refilled by a copy (1.20-1.63 ns per element
// against 2.01-2.28; SoftmaxLongRowsAVX2 1.17-1.35), 0.73x at 16 x
// 1,048,576; called again and again on the same batch, 0.91x at 16 x
// 262,144 and 0.85x at 4 x 1,048,576, but 1.47x at 2 x 262,144 (2 MiB,
// which the caches hold, and which is not routed here).
func crossEntropyLongAVX2(g *gen, c *constTable, t *ceTables) {
	g.function("CrossEntropyLongRowsAVX2", crossEntropySignature,
		[]string{"AVX", "AVX2", "CMOV", "FMA3", "MMX+", "SSE", "SSE2"},
		"CrossEntropyLongRowsAVX2 is CrossEntropyRowsAVX2 for rows too long for",
		"any cache: it reads x once for passes 1 and 2, and writes dst with",
		"non-temporal stores where dst is 32-byte aligned and cols a multiple",
		"of 8. The bits are CrossEntropyRowsAVX2's.",
	)
	g.Attributes(0) // not NOSPLIT: the frame's 696 bytes
	s := newSM256(g, c, "cel256")
	s.zeroC, s.tailPipe, s.fuse, s.back = true, true, true, true
	s.pfSelf = pfLong256
	crossEntropyRows(g, s, c, t, false, func(zero reg.VecVirtual) { g.VXORPS(zero, zero, zero) }, s.longOut, func() { g.SFENCE() })
}

// crossEntropyLongAVX512 emits CrossEntropyLongRowsAVX512:
// CrossEntropyLongRowsAVX2's passes on AVX-512, as LogSoftmaxLongRowsAVX512
// (logsoftmax.go) has LogSoftmaxLongRowsAVX2's: every row's passes 1 and
// 2 fused into one read of x (with minW, as ScaledSoftmaxLongRowsAVX512),
// no u kept, and pass 3 recomputing it from the row's end (longOut), with
// non-temporal stores where the gradient's row is 64-byte aligned and
// cols a multiple of 16. Package kernels sends it the batches that it
// sends LogSoftmaxLongRowsAVX512. Its speed has not been measured: no
// AVX-512 machine was at hand when it was written. Its bits are tested.
func crossEntropyLongAVX512(g *gen, c *constTable, t *ceTables) {
	g.function("CrossEntropyLongRowsAVX512", crossEntropySignature,
		[]string{"AVX", "AVX512F", "CMOV", "FMA3", "MMX+", "SSE", "SSE2"}, // MMX+: SFENCE
		"CrossEntropyLongRowsAVX512 is CrossEntropyRowsAVX512 for rows too long",
		"for any cache: it reads x once for passes 1 and 2, and writes dst with",
		"non-temporal stores where dst is 64-byte aligned and cols a multiple",
		"of 16. The bits are CrossEntropyRowsAVX512's. It requires AVX-512F.",
	)
	s := newSM512(g, c, "cel512")
	s.tailPipe, s.halfTail, s.zeroC, s.fuse, s.minW, s.back = true, true, true, true, true, true
	crossEntropyRows(g, s, c, t, true, func(zero reg.VecVirtual) { g.VPXORD(zero, zero, zero) }, s.longOut, nil)
}

// crossEntropyRows emits the body of a CrossEntropyRows kernel: the
// total, kept in the result's slot, the rows' targets, and the loss and
// grad[t] of each row around rowsKernel's passes; zero sets the fill
// vector of a row of -Inf, out is the kernel's pass 3 (softmaxOut, or
// longOut), and finish, if not nil, ends the kernel after the last loss.
func crossEntropyRows(g *gen, s ceRows, c *constTable, t *ceTables, wide bool, zero func(v reg.VecVirtual),
	out func(after string) func(sum reg.VecVirtual), finish func()) {
	res, err := g.ReturnIndex(0).Resolve()
	if err != nil {
		panic(err)
	}
	total := res.Addr
	z := g.XMM()
	g.VXORPD(z, z, z)
	g.VMOVSD(z, total)
	b := newLossBatch(g, c, t, total, wide)

	// tp points at the current row's target: it starts one before
	// targets[0] and moves on at the start of each row.
	tp := g.GP64()
	g.Load(g.Param("targets").Base(), tp)
	g.SUBQ(U32(4), tp)
	// target returns the addresses of x_t and grad[t] in the current row.
	target := func() (xt, gt Mem) {
		ti := g.GP64()
		g.MOVLQSX(Mem{Base: tp}, ti)
		return Mem{Base: s.rowSrc(), Index: ti, Scale: 4}, Mem{Base: s.rowDst(), Index: ti, Scale: 4}
	}

	s.setHooks(rowHooks{
		begin: func() {
			g.ADDQ(U32(4), tp)
			g.CMPQ(b.n, U32(batchRows))
			g.JB(LabelRef(s.label("batched")))
			b.flush(s.label("full"), s.rowDst())
			g.Label(s.label("batched"))
		},
		special: func(fill reg.VecVirtual) {
			g.Comment("A row of -Inf: loss +Inf, and grad[t] = 0 - 1. A row of NaN: loss NaN,",
				"and grad[t] keeps its NaN (NaN - 1 is that NaN).")
			_, gt := target()
			b.pushSpecial(fill, gt)
		},
		nilDst: true,
	})
	s.rowsKernel(zero, func(sum reg.VecVirtual) {
		g.Comment("The row's S, c, x_t, bias and &grad[t], to the batch.")
		xt, gt := target()
		b.push(sum, s.c64(), xt, s.bias(), gt)
		g.TESTQ(s.rowDst(), s.rowDst())
		g.JZ(LabelRef(s.label("next")))
		out(s.label("next"))(sum)
	}, func() {
		b.flush(s.label("last"), s.rowDst())
		if finish != nil {
			finish()
		}
	})
}

// batchRows is the number of rows whose losses a lossBatch computes
// together: one zmm register of float64s, or two ymm registers.
const batchRows = 8

// lossBatch emits the end of each row of a CrossEntropyRows kernel but
// pass 3: the rows whose losses are pending, in arrays of batchRows
// entries in the frame, and the code that computes their losses, adds
// them to the total and subtracts 1 at each row's target in the gradient.
//
// The gradient's -1 is put off too: a load of grad[t] right after pass 3
// stored it waits until the store reaches the cache when it was masked
// (rows shorter than 16 elements), which cost about a quarter of the time
// of a row of 10 classes. By the time of the batch, the stores are done.
type lossBatch struct {
	g     *gen
	c     *constTable
	t     *ceTables
	wide  bool // zmm registers (AVX-512F), or ymm (AVX2)
	total Mem  // the float64 total
	n     Mem  // the number of pending rows, an int64

	s, c64 Mem // S and float64(c) of each row, float64s
	xt     Mem // x_t, float32s
	bias   Mem // the row's bias (see sm512), int32s
	grad   Mem // &grad[t], pointers
}

// newLossBatch allocates the batch in the frame and emits its
// initialization: no entry pending, and zeros in the entries, whose
// losses are computed before they are first written when a batch is not
// full (zeros, unlike stale stack words, are not subnormal numbers, which
// some CPUs compute slowly).
func newLossBatch(g *gen, c *constTable, t *ceTables, total Mem, wide bool) *lossBatch {
	const values = batchRows * (8 + 8 + 4 + 4) // s, c64, xt, bias
	f := g.AllocLocal(8 + values + 8*batchRows)
	b := &lossBatch{g: g, c: c, t: t, wide: wide, total: total, n: f}
	b.s = f.Offset(8)
	b.c64 = b.s.Offset(8 * batchRows)
	b.xt = b.c64.Offset(8 * batchRows)
	b.bias = b.xt.Offset(4 * batchRows)
	b.grad = b.bias.Offset(4 * batchRows)
	g.MOVQ(U32(0), b.n)
	z, size := b.vec(), 32
	if wide {
		size = 64
		g.VPXORQ(z, z, z)
	} else {
		g.VXORPD(z, z, z)
	}
	for off := 0; off < values; off += size {
		g.VMOVUPD(z, b.s.Offset(off))
	}
	return b
}

// slot returns the index register of the next free entry.
func (b *lossBatch) slot() reg.GPVirtual {
	k := b.g.GP64()
	b.g.MOVQ(b.n, k)
	return k
}

// push emits the pending entry of a row with a finite max and sum: sum and
// c64 are float64s in xmm registers, xt the float32 x_t in memory, bias a
// 32-bit register, and gt grad[t] (not read: its address is kept).
func (b *lossBatch) push(sum, c64 reg.VecVirtual, xt Mem, bias reg.GPVirtual, gt Mem) {
	g := b.g
	k := b.slot()
	g.VMOVSD(sum, b.s.Idx(k, 8))
	g.VMOVSD(c64, b.c64.Idx(k, 8))
	x := g.GP32()
	g.MOVL(xt, x)
	g.MOVL(x, b.xt.Idx(k, 4))
	g.MOVL(bias, b.bias.Idx(k, 4))
	b.pushGrad(k, gt)
}

// pushGrad keeps the address of gt in entry k and counts the entry.
func (b *lossBatch) pushGrad(k reg.GPVirtual, gt Mem) {
	a := b.g.GP64()
	b.g.LEAQ(gt, a)
	b.g.MOVQ(a, b.grad.Idx(k, 8))
	b.g.INCQ(b.n)
}

// pushSpecial emits the pending entry of a row that is filled with fill,
// 0 for a row of -Inf and NaN otherwise: its loss, l - (x_t - c), comes
// out +Inf or NaN for S = 1 (so l = +0), c = 0 and x_t = fill - Inf.
func (b *lossBatch) pushSpecial(fill reg.VecVirtual, gt Mem) {
	g := b.g
	k := b.slot()
	one := g.GP64()
	g.MOVQ(b.t.one(), one)
	g.MOVQ(one, b.s.Idx(k, 8))
	g.MOVQ(U32(0), b.c64.Idx(k, 8))
	x := g.XMM()
	g.VADDSS(b.c.scalar("negInf"), fill.AsX(), x)
	g.VMOVSS(x, b.xt.Idx(k, 4))
	g.MOVL(U32(1<<32+127-0x4b400000), b.bias.Idx(k, 4)) // bias for nm = 0, as an int32
	b.pushGrad(k, gt)
}

// flush emits the flush of the batch: the losses of its rows are computed
// and added to the total in row order, and unless dst is nil (then every
// row's is), 1 is subtracted at each row's target in the gradient. name
// prefixes its labels.
func (b *lossBatch) flush(name string, dst reg.GPVirtual) {
	g := b.g
	g.CMPQ(b.n, U32(0))
	g.JE(LabelRef(name + "_done"))
	b.losses()
	total, i := g.XMM(), g.GP64()
	g.VMOVSD(b.total, total)
	g.XORQ(i, i)
	g.Label(name + "_add")
	g.VADDSD(b.s.Idx(i, 8), total, total)
	g.INCQ(i)
	g.CMPQ(i, b.n)
	g.JB(LabelRef(name + "_add"))
	g.VMOVSD(total, b.total)
	g.TESTQ(dst, dst)
	g.JZ(LabelRef(name + "_nograd"))
	g.XORQ(i, i)
	g.Label(name + "_grad")
	b.subOne(b.grad.Idx(i, 8))
	g.INCQ(i)
	g.CMPQ(i, b.n)
	g.JB(LabelRef(name + "_grad"))
	g.Label(name + "_nograd")
	g.MOVQ(U32(0), b.n)
	g.Label(name + "_done")
}

// subOne emits *p = *p - 1 in float32, for the address p of grad[t]
// kept in an entry.
func (b *lossBatch) subOne(p Mem) {
	a, x := b.g.GP64(), b.g.XMM()
	b.g.MOVQ(p, a)
	b.g.VMOVSS(Mem{Base: a}, x)
	b.g.VSUBSS(b.c.scalar("one"), x, x)
	b.g.VMOVSS(x, Mem{Base: a})
}

// losses emits the losses of every entry, pending or not (the others hold
// whatever they held, which costs nothing to compute), written over S:
//
//	loss = max((float64(nm)*ln2 + log64(S)) - (float64(x_t) - float64(c)), 0)
//
// with the max keeping a NaN, each operation rounded as logSum and the fallback round it.
func (b *lossBatch) losses() {
	g, t := b.g, b.t
	w := 4 // float64 lanes per register
	if b.wide {
		w = 8
	}
	for j := 0; j < batchRows; j += w {
		s := b.vec()
		g.VMOVUPD(b.s.Offset(8*j), s)
		l := b.log64(s)
		nm, d := b.vec(), b.vec()
		if b.wide {
			g.VCVTDQ2PD(b.bias.Offset(4*j), nm)
			g.VCVTPS2PD(b.xt.Offset(4*j), d)
		} else {
			x := g.XMM()
			g.VMOVDQU(b.bias.Offset(4*j), x)
			g.VCVTDQ2PD(x, nm)
			g.VMOVUPS(b.xt.Offset(4*j), x)
			g.VCVTPS2PD(x, d)
		}
		// nm = -bias - (0x4b400000 - 127), exact in float64.
		g.VSUBPD(nm, b.bcast(t.vec.nmBase()), nm)
		g.VMULPD(b.bcast(t.ln2()), nm, nm)
		g.VADDPD(l, nm, nm) // l
		g.VSUBPD(b.c64.Offset(8*j), d, d)
		g.VSUBPD(d, nm, nm) // l - (x_t - c)
		zero := b.vec()
		if b.wide {
			g.VPSUBQ(zero, zero, zero) // a zeroing idiom avo knows, in AVX-512F
		} else {
			g.VXORPD(zero, zero, zero)
		}
		g.VMAXPD(nm, zero, nm) // never below 0, NaN kept (see fallback.crossEntropyRow)
		g.VMOVUPD(nm, b.s.Offset(8*j))
	}
}

func (b *lossBatch) vec() reg.VecVirtual {
	if b.wide {
		return b.g.ZMM()
	}
	return b.g.YMM()
}

// bcast returns a new vector of the float64 or int64 at m in every lane.
func (b *lossBatch) bcast(m Mem) reg.VecVirtual {
	v := b.vec()
	b.g.VBROADCASTSD(m, v)
	return v
}

// log64 emits log64 (see gen.log64) of each lane of s, a vector of
// float64s, and returns the result in a new register. The integer steps
// are done on the lanes' bits; float64(e), for the exponent e, is
// bits(2^52 + 2^51 + e) - (2^52 + 2^51), exact.
func (b *lossBatch) log64(s reg.VecVirtual) reg.VecVirtual {
	g, t := b.g, b.t
	e, f := b.vec(), b.vec()
	g.VPSRLQ(U8(52), s, e) // e + 1023 (s > 0)
	if b.wide {
		g.VPANDQ(b.bcast(t.vec.mant()), s, f)
		g.VPORQ(b.bcast(t.one()), f, f) // f in [1, 2)
	} else {
		g.VPAND(b.bcast(t.vec.mant()), s, f)
		g.VPOR(b.bcast(t.one()), f, f)
	}
	sqrt2, bit52 := b.bcast(t.sqrt2()), b.bcast(t.vec.bit52())
	if b.wide {
		k := g.K()
		g.VCMPPD(U8(cmpGTOQ), sqrt2, f, k)
		g.VPXORQ(bit52, f, k, f)                 // f > sqrt2: f *= 0.5
		g.VPADDQ(b.bcast(t.vec.int1()), e, k, e) // and e++
	} else {
		gt := b.vec()
		g.VCMPPD(U8(cmpGTOQ), sqrt2, f, gt)
		g.VPAND(gt, bit52, bit52)
		g.VPXOR(bit52, f, f) // f > sqrt2: f *= 0.5
		g.VPSUBQ(gt, e, e)   // and e++ (gt is -1)
	}

	one := b.bcast(t.one())
	num, den := b.vec(), b.vec()
	g.VSUBPD(one, f, num) // f - 1
	g.VADDPD(one, f, den) // f + 1
	z := b.vec()
	g.VDIVPD(den, num, z) // z = (f-1)/(f+1)
	w := b.vec()
	g.VMULPD(z, z, w)
	p := b.bcast(t.c(0))
	for k := 1; k < len(logC); k++ {
		g.VMULPD(w, p, p)               // p*w
		g.VADDPD(b.bcast(t.c(k)), p, p) // + logC[k]
	}
	g.VMULPD(z, p, p) // r = z*p
	g.VADDPD(p, p, p) // r + r
	magic := b.bcast(t.vec.magic())
	g.VPADDQ(b.bcast(t.vec.magicE()), e, e)
	g.VSUBPD(magic, e, e) // float64(e), exact
	g.VMULPD(b.bcast(t.ln2()), e, e)
	g.VADDPD(p, e, e) // e*ln2 + (r + r)
	return e
}

// cmpGTOQ is the VCMPPD predicate "greater than, ordered, quiet".
const cmpGTOQ = 0x1e

// log64VecTable holds the 64-bit constants of lossBatch.log64 beyond those
// of log64Table.
type log64VecTable struct{ base Mem }

// log64VecTable adds the table to the file.
func (g *gen) log64VecTable() *log64VecTable {
	t := &log64VecTable{base: g.StaticGlobal("log64vecconst")}
	g.DataAttributes(rodata)
	const magic = 0x4338000000000000 // 2^52 + 2^51
	for _, v := range []uint64{
		1<<52 - 1, 1 << 52, 1, magic, magic - 1023,
		math.Float64bits(-(0x4b400000 - 127)),
	} {
		g.AppendDatum(U64(v))
	}
	return t
}

func (t *log64VecTable) mant() Mem   { return t.base }            // the mantissa bits
func (t *log64VecTable) bit52() Mem  { return t.base.Offset(8) }  // the exponent's lowest bit
func (t *log64VecTable) int1() Mem   { return t.base.Offset(16) } // the integer 1
func (t *log64VecTable) magic() Mem  { return t.base.Offset(24) } // 2^52 + 2^51
func (t *log64VecTable) magicE() Mem { return t.base.Offset(32) } // bits of 2^52 + 2^51, less 1023
func (t *log64VecTable) nmBase() Mem { return t.base.Offset(40) } // float64(-(0x4b400000 - 127))
