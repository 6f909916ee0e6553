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
// crossentropy.go), and nm = -bias - (0x4b400000 - 127) from the biases
// the check leaves in the frame; and for each row, as LogSoftmaxRowsAVX2's
// pass 3 with c = +0 (x - c is x, -0 included),
//
//	y = float32(min(float64(x) - l, 0))
//
// where the VMINPD keeps a -0. The rows of y go to the frame, then to dst
// in whole vectors after every load of the group, as SoftmaxShortRowsAVX2
// does: dst may be src.

// The scaled forms: ScaledLogSoftmaxShortRowsAVX2 (a mask of one row per
// row), ScaledLogSoftmaxShortRowsBcastAVX2 (one mask row for every row)
// and ScaledLogSoftmaxShortRowsNoMaskAVX2 run ScaledLogSoftmaxRows's rows
// z (fused.go) in the same groups, bit for bit
// fallback.ScaledLogSoftmaxRows, with z computed wherever the kernel
// loads x, in pass 3 too, as the scaled forms of SoftmaxShortRowsAVX2 do.

func generateShortLogAVX2(g *gen) {
	c := g.constTable("shortlog256const", short256Consts())
	t := &ceTables{g.log64Table(), g.log64VecTable()}
	for _, in := range []groupIn{inX, inMaskRows, inMaskBcast, inScaled} {
		name := logName(in, "Short")
		name = name[:len(name)-len("AVX512")] + "AVX2"
		shortRowsAVX2(g, c, short256{in: in, name: name, doc: logDoc256(in), out: logOut256(t)})
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
	scaled := inMaskRows.name256()
	name := "ScaledLogSoftmaxShortRows" + map[groupIn]string{inMaskRows: "", inMaskBcast: "Bcast", inScaled: "NoMask"}[in] + "AVX2"
	return []string{name + " is " + in.name256() + " for",
		"fallback.ScaledLogSoftmaxRows: the same rows z, checks and arguments",
		"(see " + scaled + "), and the bits of",
		"fallback.ScaledLogSoftmaxRows; the caller runs the rows it leaves with",
		"ScaledLogSoftmaxRowsAVX2, or its form without a mask."}
}

// logOut256 returns LogSoftmaxShortRowsAVX2's out: l for the eight rows,
// then pass 3.
func logOut256(t *ceTables) func(q *group256, sums [2]reg.VecVirtual) {
	return func(q *group256, sums [2]reg.VecVirtual) {
		g, frame := q.g, q.frame
		lAt := func(r int) Mem { return frame.Offset(544 + 8*short256SumPos(r)) }
		g.Comment("l = float64(nm)*ln2 + log64(S) of each row, in the order of the sum tree, to the frame.")
		b := &lossBatch{g: g, t: t}
		lo, hi := g.YMM(), g.YMM()
		g.VCVTDQ2PD(q.biasAt(0), lo) // the biases of rows 0, 2, 4, 6
		g.VCVTDQ2PD(q.biasAt(1), hi) // rows 1, 3, 5, 7
		for i, sum := range sums {
			nm := g.YMM()
			g.VPERM2F128(U8(0x20+0x11*i), hi, lo, nm) // rows 0, 2, 1, 3, then 4, 6, 5, 7
			// nm = -bias - (0x4b400000 - 127), exact in float64.
			g.VSUBPD(nm, b.bcast(t.vec.nmBase()), nm)
			g.VMULPD(b.bcast(t.ln2()), nm, nm)
			g.VADDPD(b.log64(sum), nm, nm)
			g.VMOVUPD(nm, frame.Offset(544+32*i))
		}

		g.Comment("Pass 3: y = float32(min(float64(x) - l, 0)), row r to the frame at 4*cols*r.")
		fb, fb4 := g.GP64(), g.GP64()
		g.LEAQ(frame, fb)
		g.LEAQ(Mem{Base: fb, Index: q.a.stride, Scale: 4}, fb4)
		zero := g.YMM()
		g.VXORPD(zero, zero, zero)
		for r := range shortAVX2Group {
			lv := g.YMM()
			g.VBROADCASTSD(lAt(r), lv)
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
}
