package main

import (
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// The short-row LogSoftmax kernel for AVX2: LogSoftmaxShortRowsAVX2 runs
// the rows of a batch of at most 16 columns eight at a time, bit for bit
// fallback.LogSoftmaxRows. It is SoftmaxShortRowsAVX2 (short_avx2.go) up
// to the sums, with the same loads, checks (every max finite, |max| <=
// 208, so c = +0, then every S not NaN), frame and exits: a group that
// fails a check is left to LogSoftmaxRowsAVX2, as are the last rows%8
// rows and a group whose loads would pass len(src). Then, for the eight
// rows at once in two float64 ymm registers, in the order of the sum tree,
//
//	l = float64(nm)*ln2 + log64(S)
//
// with log64 the fallback's logarithm in vector form (lossBatch.log64,
// crossentropy.go), and nm = -bias - (0x4b400000 - 127) from the group's
// biases; and for each row, as LogSoftmaxRowsAVX2's pass 3 with c = +0
// (x - c is x, -0 included),
//
//	y = float32(min(float64(x) - l, 0))
//
// where the VMINPD keeps a -0. The rows of y go to the frame, then to dst
// in whole vectors, as SoftmaxShortRowsAVX2's do.
//
// l and pass 3 run a group late (a lateOut), as in
// LogSoftmaxShortRowsAVX512: l ends a chain of the group's max tree,
// exponentials, sum tree and log64's division and Horner loop, which
// pass 3 right after it waited on. So a group whose checks pass is left
// pending, its S and biases in the frame; the next group computes its l
// first, then runs its own passes 1 and 2 beside that chain, then pass 3
// of the pending group, reloaded from src, which no store has reached:
// in place, a group's rows are written by its pass 3 only, after the
// next group's loads. The kernel leaves (a group that fails a check, or
// no whole group left) through the pending group's pass 3.
//
// Measured on Zen 5 (ns per element, batches of 2^18 elements
// of N(0, 4), the thread's CPU time, the least of 15 interleaved runs,
// against SoftmaxRows in the same run): 1.13 against 1.08 at 10 columns
// (3.50 through LogSoftmaxRowsAVX2 alone; 1.35 with l and pass 3 run
// with their group), 0.71 against 0.66 at 16 (2.05), 0.92 against 0.80
// at 8 (4.49).

// The scaled forms: ScaledLogSoftmaxShortRowsAVX2 (a mask of one row per
// row), ScaledLogSoftmaxShortRowsBcastAVX2 (one mask row for every row)
// and ScaledLogSoftmaxShortRowsNoMaskAVX2 run ScaledLogSoftmaxRows's rows
// z (fused.go) in the same groups, bit for bit
// fallback.ScaledLogSoftmaxRows, with z computed wherever the kernel
// loads x, in pass 3 too, as the scaled forms of SoftmaxShortRowsAVX2 do.
// Measured as above, scale 1/8, a mask of N(0, 1/4) with one element in
// 8 -Inf: at 10 columns 1.35 ns per element with a mask per row, 1.32
// with one mask row, 1.27 without (4.04, 3.99 and 3.77 through
// ScaledLogSoftmaxRowsAVX2 alone; ScaledSoftmaxRows 1.36, 1.33 and 1.24);
// at 16 columns 0.85, 0.84 and 0.80 (2.15, 2.12 and 2.09; ScaledSoftmaxRows
// 0.82, 0.83 and 0.77).
//
// Since then they run with keepS, as the scaled forms of
// SoftmaxShortRowsAVX2 do: pass 1 keeps z in the frame, and pass 2 reads
// it back instead of computing it again (it stores s there, which the
// late pass 3 does not read: it recomputes z from x and the mask, a
// group later, when the next group's z is in the frame). Thread CPU
// time, the lower quartile of 200 runs alternating with the kernels
// before and LogSoftmaxShortRowsAVX2, batches of 2^18 elements, scale
// 1/8, a mask of N(0, 1/4) with one element in 8 -Inf: with a mask per
// row 1.13x LogSoftmaxShortRowsAVX2's time at 10, 12 and 16 columns
// (1.11-1.13x at 8), against 1.20-1.22x (1.17x); one mask row
// 1.10-1.11x against 1.16-1.21x (1.07-1.09x against 1.15x); no mask
// 1.06-1.08x against 1.09-1.11x, out of place and in place. Leaving out
// the store of s measured the same.

func generateShortLogAVX2(g *gen) {
	c := g.constTable("shortlog256const", short256Consts())
	t := &ceTables{g.log64Table(), g.log64VecTable()}
	for _, in := range []groupIn{inX, inMaskRows, inMaskBcast, inScaled} {
		shortRowsAVX2(g, c, short256{in: in, name: avx2Name(logName(in, "Short")), doc: logDoc256(in), late: logLate256{t}, keepS: in != inX})
	}
}

// logDoc256 returns the documentation of an AVX2 short LogSoftmax kernel.
func logDoc256(in groupIn) []string {
	if in == inX {
		return []string{"LogSoftmaxShortRowsAVX2 is SoftmaxShortRowsAVX2 for LogSoftmaxRows:",
			"it sets rows of cols elements of dst to the log-softmax of the same",
			"rows of src, with the bits of fallback.LogSoftmaxRows, for the rows",
			"and under the conditions of SoftmaxShortRowsAVX2, and returns the",
			"number of rows done; the caller runs the next rows with",
			"LogSoftmaxRowsAVX2. It requires AVX2 and FMA3."}
	}
	return []string{avx2Name(logName(in, "Short")) + " is " + in.name256() + " for",
		"fallback.ScaledLogSoftmaxRows: the same rows z, checks and arguments",
		"(see " + inMaskRows.name256() + "), and the bits of",
		"fallback.ScaledLogSoftmaxRows; the caller runs the rows it leaves with",
		"ScaledLogSoftmaxRowsAVX2, or its form without a mask."}
}

// logLate256 is LogSoftmaxShortRowsAVX2's out, run a group late: l for
// the pending group's eight rows at the start of the next group, then its
// pass 3 after that group's pass 2.
type logLate256 struct{ t *ceTables }

// lAt256 is where row r's l is in the frame, in the order of the sum tree:
// over its S, which prepare reads first.
func lAt256(frame Mem, r int) Mem { return frame.Offset(544 + 8*short256SumPos(r)) }

func (l logLate256) prepare(g *gen, frame, pendBias Mem) {
	g.Comment("The pending group's l = float64(nm)*ln2 + log64(S), over its S, nm = -bias - (0x4b400000 - 127).")
	logL256(g, l.t, pendBias, func(i int) reg.VecVirtual {
		sum := g.YMM()
		g.VMOVUPD(frame.Offset(544+32*i), sum)
		return sum
	}, frame.Offset(544))
}

// logL256 emits l = float64(nm)*ln2 + log64(S) of a group's eight rows,
// nm = -bias - (0x4b400000 - 127) from its biases at bias (in the order
// of the max tree), and stores it at at, in the order of the sum tree.
// sum(i) returns the group's sums of rows 4i to 4i+3 (see group256.sums).
func logL256(g *gen, t *ceTables, bias Mem, sum func(i int) reg.VecVirtual, at Mem) {
	b := &lossBatch{g: g, t: t}
	lo, hi := g.YMM(), g.YMM()
	g.VCVTDQ2PD(bias, lo)            // the biases of rows 0, 2, 4, 6
	g.VCVTDQ2PD(bias.Offset(16), hi) // rows 1, 3, 5, 7
	for i := range 2 {
		nm := g.YMM()
		s := sum(i)
		g.VPERM2F128(U8(0x20+0x11*i), hi, lo, nm) // rows 0, 2, 1, 3, then 4, 6, 5, 7
		g.VSUBPD(nm, b.bcast(t.vec.nmBase()), nm) // nm, exact
		g.VMULPD(b.bcast(t.ln2()), nm, nm)
		g.VADDPD(b.log64(s), nm, nm)
		g.VMOVUPD(nm, at.Offset(32*i))
	}
}

func (l logLate256) out(q *group256) {
	g, frame := q.g, q.frame
	g.Comment("Pass 3: y = float32(min(float64(x) - l, 0)), row r to the frame at 4*cols*r.")
	fb, fb4 := g.GP64(), g.GP64()
	g.LEAQ(frame, fb)
	g.LEAQ(Mem{Base: fb, Index: q.a.stride, Scale: 4}, fb4)
	zero := g.YMM()
	g.VXORPD(zero, zero, zero)
	for r := range shortAVX2Group {
		lv := g.YMM()
		g.VBROADCASTSD(lAt256(frame, r), lv)
		for h := range q.halves {
			d := [2]reg.VecVirtual{g.YMM(), g.YMM()}
			switch x := q.zAt(r, h).(type) {
			case Mem:
				g.VCVTPS2PD(x, d[0])
				g.VCVTPS2PD(x.Offset(16), d[1])
			case reg.VecVirtual:
				xh := g.XMM()
				g.VCVTPS2PD(x.AsX(), d[0])
				g.VEXTRACTF128(U8(1), x, xh)
				g.VCVTPS2PD(xh, d[1])
			}
			var y [2]reg.VecVirtual
			for k, v := range d {
				g.VSUBPD(lv, v, v)   // x - l (x - c is x)
				g.VMINPD(v, zero, v) // never above 0, -0 kept (see fallback.logProb)
				y[k] = g.XMM()
				g.VCVTPD2PSY(v, y[k])
			}
			w := g.YMM()
			g.VINSERTF128(U8(1), y[1], y[0].AsY(), w)
			g.VMOVUPS(w, q.rowAt(fb, fb4, r, h))
		}
	}
}
