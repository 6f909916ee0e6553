package main

import "fmt"

// The backward kernels: SoftmaxBackward and LogSoftmaxBackward, bit for bit
// fallback.SoftmaxBackward and fallback.LogSoftmaxBackward
// (fallback/backward.go). Each reads its row twice:
//
//	pass 1  a float64 sum in the canonical lane order (fallback's dot64):
//	        dot = sum of float64(y_i)*float64(dy_i) for SoftmaxBackward,
//	        sum = sum of float64(dy_i) for LogSoftmaxBackward. Per lane, a
//	        float64 partial over each block of 4 vectors (64 elements), in
//	        element order, added to the lane's accumulator; then lanes i+8,
//	        i+4, i+2, i+1 folded into lane i.
//	pass 2  SoftmaxBackward:    dx = float32(float64(y) * (float64(dy) - dot))
//	        LogSoftmaxBackward: dx = float32(float64(dy) - float64(e)*sum),
//	                            e = exp(y), the Exp kernel's exponential
//	                            (exp32, in exp.go)
//	        each operation rounded in float64, then once more to float32,
//	        as the Go code does; a NaN dx is the canonical NaN 0x7fc00000.
//
// The product of two float32s is exact in float64, so the fused
// multiply-add of pass 1 is the fallback's multiply and add. The row's last
// n%16 elements go through zeroed buffers in the frame: in pass 1 the
// lanes past the row add a +0 term, where the fallback adds nothing, which
// changes no partial (a partial starts at +0, and a round-to-nearest sum
// is -0 only if both its terms are). Pass 2 loads y and dy of a vector
// before it stores dx there, so dx may be y or dy.
//
// Registers: pass 1 keeps its float64 accumulators in V24-V31 and the
// block partials in V16-V23; pass 2 keeps dot or sum in V16, and
// LogSoftmaxBackward the exponential's constants in V24-V31.

// backwardKernel describes one of the two kernels.
type backwardKernel struct {
	name   string // SoftmaxBackward or LogSoftmaxBackward
	prefix string // of its labels
	log    bool   // LogSoftmaxBackward
}

// General registers and frame of the backward kernels.
const (
	rDx, rY, rDy, rN = R(0), R(1), R(2), R(3)
	bwFrame          = 128 // two buffers of 64 bytes
)

// bw emits a backward kernel.
type bw struct {
	*file
	t  *table
	bk backwardKernel
}

func (b *bw) l(s string) string { return b.bk.prefix + "_" + s }

// tailToBuf copies the row's last rI elements at src to the buffer at off
// in the frame, whose other lanes are left as they are. src is left alone.
func (b *bw) tailToBuf(src R, off int, tmp V) {
	b.movR(R(12), src)
	b.addI(R(10), rFrame, off)
	b.copyTail(b.l("in"), R(10), R(12), rI, tmp, R(11))
}

// loadBuf loads the vector in the buffer at off.
func (b *bw) loadBuf(v vec, off int) {
	b.addI(R(10), rFrame, off)
	b.ld1(S4, v[0], 4, R(10), false)
}

// terms adds the terms of pass 1 for the 16 lanes at rP (and rQ), or for
// the row's last rI lanes if tail, to the block partials.
func (b *bw) terms(tail bool) {
	x, y, tx, ty := vecAt(0), vecAt(4), vecAt(8), vecAt(12)
	if tail {
		each(func(j int) { b.zero(x[j]) })
		for _, off := range []int{0, 64} {
			b.addI(R(10), rFrame, off)
			b.st1(S4, x[0], 4, R(10), false)
		}
		b.tailToBuf(rP, 0, x[0])
		b.loadBuf(x, 0)
		if !b.bk.log {
			b.tailToBuf(rQ, 64, y[0])
			b.loadBuf(y, 64)
		}
	} else {
		b.ld1(S4, x[0], 4, rP, true)
		if !b.bk.log {
			b.ld1(S4, y[0], 4, rQ, true)
		}
	}
	each(func(j int) { b.fcvtl(tx[j], x[j]) })
	each(func(j int) { b.fcvtl2(x[j], x[j]) })
	if b.bk.log {
		each(func(j int) {
			b.fadd(D2, part(2*j), part(2*j), tx[j])
			b.fadd(D2, part(2*j+1), part(2*j+1), x[j])
		})
		return
	}
	each(func(j int) { b.fcvtl(ty[j], y[j]) })
	each(func(j int) { b.fcvtl2(y[j], y[j]) })
	each(func(j int) {
		b.fmla(D2, part(2*j), tx[j], ty[j]) // exact product
		b.fmla(D2, part(2*j+1), x[j], y[j])
	})
}

// pass1 emits pass 1 over the rN elements at rY and rDy and leaves its
// result in both lanes of V16.
func (b *bw) pass1() {
	acc := func(k int) V { return V(24 + k) }
	addParts := func() {
		for k := 0; k < 8; k++ {
			b.fadd(D2, acc(k), acc(k), part(k))
		}
	}
	zeroParts := func() {
		for k := 0; k < 8; k++ {
			b.zero(part(k))
		}
	}
	for k := 0; k < 8; k++ {
		b.zero(acc(k))
	}
	if b.bk.log {
		b.movR(rP, rDy)
	} else {
		b.movR(rP, rY)
		b.movR(rQ, rDy)
	}
	b.movR(rI, rN)
	b.blockSum(b.l("sum"), rI, zeroParts, addParts, b.terms)

	b.comment("Lane i += lane i+8, i+4, i+2, i+1.")
	each(func(j int) { b.fadd(D2, acc(j), acc(j), acc(j+4)) })
	b.fadd(D2, acc(0), acc(0), acc(2))
	b.fadd(D2, acc(1), acc(1), acc(3))
	b.fadd(D2, acc(0), acc(0), acc(1))
	b.faddp(16, acc(0))
	b.dupElem(D2, 16, 16, 0)
}

// canon gives the NaN lanes of v the canonical NaN in nan; m is scratch.
func (b *bw) canon(v, m vec, nan V) {
	each(func(j int) { b.fcmeq(S4, m[j], v[j], v[j]) })
	each(func(j int) { b.bif(v[j], nan, m[j]) })
}

// out emits pass 2 for the 16 lanes at rY, rDy and rDx (advanced), or for
// the last rI lanes, which are in the buffers, if tail.
func (b *bw) out(tail bool, k expRegs, nan V) {
	s := V(16) // dot or sum, both lanes
	y, dy := vecAt(0), vecAt(4)
	load := func(v vec, src R, off int) {
		if tail {
			b.loadBuf(v, off)
		} else {
			b.ld1(S4, v[0], 4, src, true)
		}
	}
	load(y, rY, 0)
	var res vec
	if b.bk.log {
		b.comment("e = exp(y), the Exp kernel's.")
		b.exp32(k, y, vecAt(4), vecAt(8), vecAt(12))
		load(dy, rDy, 64)
		b.comment("dx = dy - e*sum in float64.")
		el, dyl := vecAt(8), vecAt(12)
		each(func(j int) { b.fcvtl(el[j], y[j]) })
		each(func(j int) { b.fcvtl2(y[j], y[j]) })
		each(func(j int) {
			b.fmul(D2, el[j], el[j], s)
			b.fmul(D2, y[j], y[j], s)
		})
		each(func(j int) { b.fcvtl(dyl[j], dy[j]) })
		each(func(j int) { b.fcvtl2(dy[j], dy[j]) })
		each(func(j int) {
			b.fsub(D2, dyl[j], dyl[j], el[j])
			b.fsub(D2, dy[j], dy[j], y[j])
		})
		res = dyl
	} else {
		load(dy, rDy, 64)
		b.comment("dx = y * (dy - dot) in float64.")
		yl, dyl := vecAt(8), vecAt(12)
		each(func(j int) { b.fcvtl(yl[j], y[j]) })
		each(func(j int) { b.fcvtl2(y[j], y[j]) })
		each(func(j int) { b.fcvtl(dyl[j], dy[j]) })
		each(func(j int) { b.fcvtl2(dy[j], dy[j]) })
		each(func(j int) {
			b.fsub(D2, dyl[j], dyl[j], s)
			b.fsub(D2, dy[j], dy[j], s)
		})
		each(func(j int) {
			b.fmul(D2, dyl[j], dyl[j], yl[j])
			b.fmul(D2, dy[j], dy[j], y[j])
		})
		res = dyl
	}
	b.comment("Round to float32; NaN lanes get the canonical NaN.")
	each(func(j int) { b.fcvtn(res[j], res[j]) })
	each(func(j int) { b.fcvtn2(res[j], dy[j]) })
	b.canon(res, vecAt(8), nan)
	if tail {
		b.addI(R(10), rFrame, 0)
		b.st1(S4, res[0], 4, R(10), false)
		b.copyTail(b.l("out"), rDx, R(10), rI, 0, R(11))
	} else {
		b.st1(S4, res[0], 4, rDx, true)
	}
}

func generateBackward(f *file) {
	t := f.newTable("backwardconst")
	expTables(t)
	t.end()
	for _, bk := range []backwardKernel{
		{"SoftmaxBackward", "sb", false},
		{"LogSoftmaxBackward", "lsb", true},
	} {
		backward(f, t, bk)
	}
}

func backward(f *file, t *table, bk backwardKernel) {
	fn := bk.name + "NEON"
	what := "dx = y * (dy - <y, dy>)"
	if bk.log {
		what = "dx = dy - exp(y) * sum(dy)"
	}
	f.function(fn, "func(dx, y, dy []float32)", bwFrame, 72,
		fmt.Sprintf("%s sets %s over the first", fn, what),
		fmt.Sprintf("min(len(dx), len(y), len(dy)) elements, with the bits of fallback.%s.", bk.name),
		"dx may be y or dy; any other overlap gives unspecified results.",
		"It requires ASIMD (NEON).",
	)
	b := &bw{file: f, t: t, bk: bk}
	f.loadArg(rDx, "dx_base+0")
	f.loadArg(rY, "y_base+24")
	f.loadArg(rDy, "dy_base+48")
	f.loadArg(rN, "dx_len+8")
	f.loadArg(R(10), "y_len+32")
	f.minLen(rN, R(10))
	f.loadArg(R(10), "dy_len+56")
	f.minLen(rN, R(10))
	f.addr(rTbl, t.sym)
	f.addSP(rFrame, 8)

	f.comment("Pass 1: the float64 sum.")
	b.pass1()

	f.comment("Pass 2: dx.")
	var k expRegs
	nan := V(17)
	if bk.log {
		k = f.loadExpRegs(t, rTbl)
		nan = k.nan
	} else {
		t.load(nan, rTbl, "nan")
	}
	f.movR(rI, rN)
	f.vectors(b.l("out"), rI, "", func(tail bool) {
		if tail {
			f.comment("The last 1..15 elements, through the buffers.")
			b.tailToBuf(rY, 0, 0)
			b.tailToBuf(rDy, 64, 0)
		}
		b.out(tail, k, nan)
	})
	f.ret()
}
