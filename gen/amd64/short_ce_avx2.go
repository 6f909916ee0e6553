package main

import (
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// The short-row CrossEntropy kernels for AVX2: CrossEntropyShortRowsAVX2
// runs the rows of a batch of at most 16 columns eight at a time, bit for
// bit fallback.CrossEntropyRows, as CrossEntropyShortRowsAVX512 does
// (short_ce.go): each row's loss is added to a running float64 total in
// row order, and unless the gradient is nil, softmax(x) - onehot(t) goes
// to the gradient's row. CrossEntropyShortRowsNoGradAVX2 is the form
// without a gradient.
//
// A group is SoftmaxShortRowsAVX2's (short_avx2.go), with its loads,
// checks (every max finite, |max| <= 208, so c = +0, then every S not
// NaN) and exits: a group that fails a check is left to the caller, as
// are the last rows%8 rows and a group whose loads would pass len(src).
// Once a group has passed both checks:
//
//   - l = float64(nm)*ln2 + log64(S) for its eight rows, in two float64
//     ymm registers, as LogSoftmaxShortRowsAVX2 computes it (logL256),
//     to the frame;
//   - with a gradient, SoftmaxShortRowsAVX2's 1/S split and pass 3 write
//     the rows of y to the frame, and y[t] - 1 (the fallback's
//     grad[t] -= 1 in float32) is done there, before the rows are copied
//     to dst: each row's x_t is read from src before that copy, so the
//     gradient may be the logits;
//   - the losses, max(l - (float64(x_t) - 0), 0), in the two registers
//     (a finite row whose x_t is -Inf gets +Inf, as in the fallback), are
//     added to the total one by one in row order.
//
// The log64 chain is emitted before pass 3, on which it does not depend,
// so that the two overlap.
//
// The caller runs the rows the kernel leaves one at a time through
// CrossEntropyRowsAVX2 (a row's total from +0 is its loss), adds each
// loss to the total, and calls this kernel again with the total for the
// rest; a last group whose loads would pass the end runs on a copy.
//
// Measured on Zen 5 (ns per element, batches of 2^18 elements of N(0, 4),
// random targets, the thread's CPU time, the least of 21 interleaved
// runs, against CrossEntropyRowsAVX2 alone): 1.40 against 2.60 at 10
// columns, 1.12 against 1.96 without a gradient; 0.88 against 1.45 at 16
// (0.70 against 1.11); 1.26 against 3.30 at 8 (1.00 against 2.40).
// SoftmaxRows took 1.04, 0.64 and 0.79 on the same rows.
//
// With a gradient, pass 2 keeps each row's s in the frame for pass 3, as
// SoftmaxShortRowsAVX2 does (short256.keepS; the frame is then over
// 1 KiB, and the kernel checks the stack on entry): 1.54 against 1.69 ns
// per element at 10 columns, 1.03 against 1.10 at 16 (the lower
// quartile of 200 interleaved runs, SoftmaxRows 1.09 and 0.71 in them).
// Without a gradient there is no pass 3.

func generateShortCEAVX2(g *gen) {
	c := g.constTable("shortce256const", short256Consts())
	t := &ceTables{g.log64Table(), g.log64VecTable()}
	for _, grad := range []bool{true, false} {
		k := short256{in: inX, ce: &ceOut256{t: t, grad: grad}, keepS: grad}
		k.out = k.ce.out
		if grad {
			k.name = "CrossEntropyShortRowsAVX2"
			k.doc = []string{"CrossEntropyShortRowsAVX2 is CrossEntropyRowsAVX2 for rows of at most",
				"16 columns, eight rows at a time, from the first, for as long as eight",
				"rows remain whose maxima are finite, at most 208 in magnitude, whose",
				"rows hold no NaN, and whose loads, which reach 16 elements past the",
				"start of the last row, stay within len(src). It adds the rows' losses",
				"to total in row order and returns the number of rows done, a multiple",
				"of eight, and the total; the caller runs the next rows with",
				"CrossEntropyRowsAVX2. The caller checks the arguments: rows*cols",
				"elements in src, and in dst unless it is nil, 1 <= cols <= 16,",
				"0 <= targets[r] < cols for each of the rows, and dst is src or does",
				"not overlap it. It requires AVX2 and FMA3."}
		} else {
			k.name = "CrossEntropyShortRowsNoGradAVX2"
			k.doc = []string{"CrossEntropyShortRowsNoGradAVX2 is CrossEntropyShortRowsAVX2 with a",
				"nil gradient: dst is not used."}
		}
		shortRowsAVX2(g, c, k)
	}
}

// ceOut256 is the out of the AVX2 short CrossEntropy kernels: with a
// gradient, SoftmaxShortRowsAVX2's, with y[t] - 1; the losses, added to
// the total in row order.
type ceOut256 struct {
	t     *ceTables
	grad  bool
	tg    reg.GPVirtual // the group's targets
	total Mem           // the running total, in the result's slot
	at    Mem           // 64 bytes of the frame: l, then the losses
}

func (o *ceOut256) out(q *group256, sums [2]reg.VecVirtual) {
	g, c, a := q.g, q.c, q.a
	g.Comment("l = float64(nm)*ln2 + log64(S) of the eight rows, to the frame.")
	logL256(g, o.t, q.frame.Offset(512), func(i int) reg.VecVirtual { return sums[i] }, o.at)
	if o.grad {
		softmaxOut256(q, sums)
	}
	// x_t goes over hi and lo, which pass 3 has used.
	xt := q.frame.Offset(544)
	if o.grad {
		g.Comment("Each row's x_t from src to the frame, in the order of the sum tree; y[t] - 1 in the frame's rows.")
	} else {
		g.Comment("Each row's x_t from src to the frame, in the order of the sum tree.")
	}
	off := g.GP64() // r*4*cols: row r's offset in src and in the frame
	g.XORQ(off, off)
	for r := range shortAVX2Group {
		i, x := g.GP64(), g.XMM()
		g.MOVLQSX(Mem{Base: o.tg, Disp: 4 * r}, i)
		g.LEAQ(Mem{Base: off, Index: i, Scale: 4}, i) // x_t's offset
		g.VMOVSS(Mem{Base: a.src, Index: i, Scale: 1}, x)
		g.VMOVSS(x, xt.Offset(4*short256SumPos(r)))
		if o.grad {
			y := g.XMM()
			g.VMOVSS(q.frame.Idx(i, 1), y)
			g.VSUBSS(c.scalar("one"), y, y)
			g.VMOVSS(y, q.frame.Idx(i, 1))
		}
		if r < shortAVX2Group-1 {
			g.ADDQ(a.stride, off)
		}
	}
	g.Comment("The losses, max(l - (float64(x_t) - 0), 0), added to the total in row order.")
	zero := g.YMM()
	g.VXORPD(zero, zero, zero)
	for i := range 2 {
		d, v := g.YMM(), g.YMM()
		g.VCVTPS2PD(xt.Offset(16*i), d)
		g.VSUBPD(zero, d, d) // x_t - c, c = +0
		g.VMOVUPD(o.at.Offset(32*i), v)
		g.VSUBPD(d, v, v)
		g.VMAXPD(v, zero, v) // never below 0, NaN kept
		g.VMOVUPD(v, o.at.Offset(32*i))
	}
	tot := g.XMM()
	g.VMOVSD(o.total, tot)
	for r := range shortAVX2Group {
		g.VADDSD(o.at.Offset(8*short256SumPos(r)), tot, tot)
	}
	g.VMOVSD(tot, o.total)
}
