//go:build !purego

package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/go-softmax/softmax/fallback"
	"github.com/go-softmax/softmax/internal/asm"
)

// shortKernelsAVX2 are the AVX2 short kernels of SoftmaxRows and
// LogSoftmaxRows, with the fallback whose bits they must have.
var shortKernelsAVX2 = []struct {
	name string
	run  func(dst, src []float32, rows, cols int) int
	want func(dst, src []float32, cols int)
}{
	{"SoftmaxShortRowsAVX2", asm.SoftmaxShortRowsAVX2, fallback.SoftmaxRows},
	{"LogSoftmaxShortRowsAVX2", asm.LogSoftmaxShortRowsAVX2, fallback.LogSoftmaxRows},
}

// TestBitExactShortKernelAVX2 runs SoftmaxShortRowsAVX2 and
// LogSoftmaxShortRowsAVX2 directly on every row length they handle,
// 1..16, out of place and in place: the rows they report done must have
// the fallback's bits, and they must stop at a group with a special row,
// at the last rows%8, and at a group whose loads would reach past
// len(src), writing nothing from there on.
func TestBitExactShortKernelAVX2(t *testing.T) {
	if !avx2.supported() {
		t.Skip("no AVX2")
	}
	rng := rand.New(rand.NewPCG(51, 52))
	for _, k := range shortKernelsAVX2 {
		for cols := 1; cols <= shortCols; cols++ {
			total := 0
			// Ordinary batches, some with a special row at a random
			// place; then each special row in the second of three
			// groups; then rows of signed zeros (l = +0 and y = -0 in
			// a row of one -0, which LogSoftmax's clamp at 0 must keep).
			type batch struct {
				what string
				x    []float32
			}
			var batches []batch
			for _, rows := range []int{7, 8, 13, 16, 20, 24, 40} {
				x := shortBatch(rng, rows, cols)
				what := fmt.Sprintf("%dx%d", rows, cols)
				if rows == 20 || rows == 40 {
					what += addSpecialRow(rng, x, rows, cols)
				}
				batches = append(batches, batch{what, x})
			}
			for _, sp := range shortSpecials {
				x := shortBatch(rng, 24, cols)
				pos := 8 + rng.IntN(8)
				copy(x[pos*cols:], sp.row(rng, cols))
				batches = append(batches, batch{fmt.Sprintf("24x%d, %s row at %d", cols, sp.name, pos), x})
			}
			{
				x := normalRow(rng, 24*cols, 4, 0)
				for r := range 24 {
					if rng.IntN(2) == 0 {
						for i := range cols {
							x[r*cols+i] = float32(math.Copysign(0, float64(rng.IntN(2)*2-1)))
						}
					}
				}
				batches = append(batches, batch{fmt.Sprintf("24x%d, signed zeros", cols), x})
			}
			for _, b := range batches {
				x := b.x
				rows := len(x) / cols
				want := make([]float32, len(x))
				k.want(want, x, cols)
				for _, inPlace := range []bool{false, true} {
					got, src := groupDst(x, inPlace)
					done := k.run(got, src, rows, cols)
					// The groups before the first that holds a special row
					// or whose loads would reach past len(src).
					fit := 0
					for fit+8 <= rows && (rows-fit)*cols >= 7*cols+16 && plainRows(x[fit*cols:(fit+8)*cols], cols) {
						fit += 8
					}
					what := fmt.Sprintf("%s %s, in place %v", k.name, b.what, inPlace)
					checkGroupsDone(t, what, x, want, got, cols, done, fit, inPlace, groupSentinel)
					total += done
				}
			}
			if total == 0 {
				t.Errorf("%s, %d columns: no group done", k.name, cols)
			}
			if t.Failed() {
				return
			}
		}
	}
}

// groupSentinel is what groupDst fills dst with out of place.
const groupSentinel = 12345

// groupDst returns the dst and src of a short kernel's run on x: in
// place, a copy of x as both; out of place, dst filled with groupSentinel
// and x as src.
func groupDst(x []float32, inPlace bool) (dst, src []float32) {
	dst = make([]float32, len(x))
	if inPlace {
		copy(dst, x)
		return dst, dst
	}
	for i := range dst {
		dst[i] = groupSentinel
	}
	return dst, x
}

// checkGroupsDone fails t unless a short kernel did fit rows (done), with
// want's bits, and left got past them as it was: x in place, sentinel
// otherwise.
func checkGroupsDone(t *testing.T, what string, x, want, got []float32, cols, done, fit int, inPlace bool, sentinel float32) {
	t.Helper()
	if done != fit {
		t.Fatalf("%s: %d rows done, want %d", what, done, fit)
	}
	compareBits(t, what, x[:done*cols], want[:done*cols], got[:done*cols])
	for i := done * cols; i < len(got); i++ {
		if w := map[bool]float32{false: sentinel, true: x[i]}[inPlace]; math.Float32bits(got[i]) != math.Float32bits(w) {
			t.Fatalf("%s: element %d written past the %d rows done", what, i, done)
		}
	}
}

// TestGuardShortKernelsAVX2 places src and dst of SoftmaxShortRowsAVX2
// and LogSoftmaxShortRowsAVX2 against inaccessible pages, before and
// after, out of place and in place: the kernels must not touch them, and
// must stop at a group whose loads would pass the end of src.
func TestGuardShortKernelsAVX2(t *testing.T) {
	if !avx2.supported() {
		t.Skip("no AVX2")
	}
	rng := rand.New(rand.NewPCG(59, 60))
	for _, k := range shortKernelsAVX2 {
		for cols := 1; cols <= shortCols; cols++ {
			for _, rows := range []int{8, 16, 19, 24} {
				x0 := shortBatch(rng, rows, cols)
				want := make([]float32, len(x0))
				k.want(want, x0, cols)
				fit := 0
				for fit+8 <= rows && (rows-fit)*cols >= 7*cols+16 && plainRows(x0[fit*cols:(fit+8)*cols], cols) {
					fit += 8
				}
				for _, place := range []func(testing.TB, int) []float32{endAtGuard, startAfterGuard} {
					for _, inPlace := range []bool{false, true} {
						x, dst := place(t, len(x0)), place(t, len(x0))
						copy(x, x0)
						if inPlace {
							dst = x
						}
						what := fmt.Sprintf("%s %dx%d, in place %v", k.name, rows, cols, inPlace)
						var done int
						catchFault(t, what, func() { done = k.run(dst, x, rows, cols) })
						if done != fit {
							t.Fatalf("%s: %d rows done, want %d", what, done, fit)
						}
						compareBits(t, what, x0[:done*cols], want[:done*cols], dst[:done*cols])
					}
				}
			}
		}
	}
}

// plainRows reports whether every row of x, of cols elements, is one the
// short kernels run: no NaN, no +Inf, and a finite max of at most 208 in
// magnitude.
func plainRows(x []float32, cols int) bool {
	for r := 0; r < len(x); r += cols {
		m := float32(math.Inf(-1))
		for _, v := range x[r : r+cols] {
			if v != v || v > math.MaxFloat32 {
				return false
			}
			m = max(m, v)
		}
		if !(m >= -208 && m <= 208) {
			return false
		}
	}
	return true
}

// scaledZ256 returns the rows z = scale*x + m of x (close enough to
// fallback's rounding to tell the rows the short kernels run).
func scaledZ256(x, mask []float32, scale float32, cols int) []float32 {
	z := make([]float32, len(x))
	for i, v := range x {
		m := 0.0
		switch len(mask) {
		case 0:
		case cols:
			m = float64(mask[i%cols])
		default:
			m = float64(mask[i])
		}
		if len(mask) == 0 {
			z[i] = scale * v
		} else {
			z[i] = float32(float64(scale)*float64(v) + m)
		}
	}
	return z
}

// scaledFit returns the rows the AVX2 scaled short kernel must do: the
// groups before the first whose z holds a special row (fully masked
// among them) or whose loads, 16 elements past the start of its last
// row, would pass n, the elements of src (and of a mask per row).
func scaledFit(z []float32, rows, cols, n int) int {
	fit := 0
	for fit+8 <= rows && n-fit*cols >= 7*cols+16 && plainRows(z[fit*cols:(fit+8)*cols], cols) {
		fit += 8
	}
	return fit
}

// TestBitExactScaledShortKernelsAVX2 runs the scaled AVX2 short kernels
// of ScaledSoftmaxRows and ScaledLogSoftmaxRows directly on every row
// length they handle, 1..16, every mask kind, special rows, fully masked
// rows and the scales 0, -0, Inf, -Inf and NaN among ordinary ones, out
// of place and in place: the rows done must have the fallback's bits,
// the kernel must stop at the first group with a special z row, at the
// last rows%8 and at a group whose loads would pass the end of src, and
// write nothing past the rows done.
func TestBitExactScaledShortKernelsAVX2(t *testing.T) {
	if !avx2.supported() {
		t.Skip("no AVX2")
	}
	rng := rand.New(rand.NewPCG(53, 54))
	scales := []float32{0.125, 1, -1, 0, float32(math.Copysign(0, -1)), float32(math.Inf(1)), float32(math.Inf(-1)), nan, 0x1p-149}
	for _, k := range scaledKernels {
		log := k.name == "ScaledLogSoftmaxRows"
		for cols := 1; cols <= shortCols; cols++ {
			total := 0
			for _, rows := range []int{8, 13, 16, 20, 24, 40} {
				for kind := range 3 {
					for si, scale := range scales {
						if si > 1 && rng.IntN(3) != 0 {
							continue
						}
						x := shortBatch(rng, rows, cols)
						if rows == 20 || rows == 40 {
							copy(x[rng.IntN(rows)*cols:], shortSpecials[rng.IntN(len(shortSpecials))].row(rng, cols))
						}
						mask := scaledGroupMask(rng, kind, rows, cols, rows == 24)
						want := make([]float32, len(x))
						k.want(want, x, mask, scale, cols)
						fit := scaledFit(scaledZ256(x, mask, scale, cols), rows, cols, len(x))
						for _, inPlace := range []bool{false, true} {
							got, src := groupDst(x, inPlace)
							done := scaledShortAVX2(log, got, src, mask, scale, rows, cols)
							what := fmt.Sprintf("%s %dx%d mask kind %d scale %v, in place %v", k.name, rows, cols, kind, scale, inPlace)
							checkGroupsDone(t, what, x, want, got, cols, done, fit, inPlace, groupSentinel)
							total += done
						}
					}
				}
			}
			if total == 0 {
				t.Errorf("%s, %d columns: no group done", k.name, cols)
			}
			if t.Failed() {
				return
			}
		}
	}
}

// TestGuardScaledShortKernelsAVX2 places src, dst and the mask of the
// scaled AVX2 short kernels (ScaledSoftmaxRows's and
// ScaledLogSoftmaxRows's) against inaccessible pages, before and
// after: the kernels must not touch them, and must stop at a group whose
// loads would pass the end of src or of a mask per row.
func TestGuardScaledShortKernelsAVX2(t *testing.T) {
	if !avx2.supported() {
		t.Skip("no AVX2")
	}
	rng := rand.New(rand.NewPCG(55, 56))
	for _, k := range scaledKernels {
		log := k.name == "ScaledLogSoftmaxRows"
		for cols := 1; cols <= shortCols; cols++ {
			for _, rows := range []int{8, 16, 19} {
				for kind := range 3 {
					x0 := normalRow(rng, rows*cols, 4, 0)
					m0 := scaledGroupMask(rng, kind, rows, cols, false)
					want := make([]float32, len(x0))
					k.want(want, x0, m0, 0.5, cols)
					for _, place := range []func(testing.TB, int) []float32{endAtGuard, startAfterGuard} {
						for _, inPlace := range []bool{false, true} {
							x, dst := place(t, len(x0)), place(t, len(x0))
							copy(x, x0)
							if inPlace {
								dst = x
							}
							mask := m0
							if kind > 0 {
								mask = place(t, len(m0))
								copy(mask, m0)
							}
							what := fmt.Sprintf("%s %dx%d mask kind %d, in place %v", k.name, rows, cols, kind, inPlace)
							var done int
							catchFault(t, what, func() { done = scaledShortAVX2(log, dst, x, mask, 0.5, rows, cols) })
							if fit := scaledFit(scaledZ256(x0, m0, 0.5, cols), rows, cols, len(x0)); done != fit {
								t.Fatalf("%s: %d rows done, want %d", what, done, fit)
							}
							compareBits(t, what, x0[:done*cols], want[:done*cols], dst[:done*cols])
						}
					}
					// A mask per row shorter than its loads: the kernel
					// must stop where the mask would be passed.
					if kind == 2 {
						x := append(append([]float32(nil), x0...), normalRow(rng, 16*cols, 4, 0)...)
						mask := endAtGuard(t, len(m0))
						copy(mask, m0)
						dst := make([]float32, len(x))
						var done int
						catchFault(t, "short mask", func() { done = scaledShortAVX2(log, dst, x, mask, 0.5, rows+16, cols) })
						if fit := scaledFit(scaledZ256(x0, m0, 0.5, cols), rows, cols, len(m0)); done != fit {
							t.Fatalf("%s %dx%d: %d rows done with a mask of %d rows, want %d", k.name, rows, cols, done, rows, fit)
						}
					}
				}
			}
		}
	}
}

// TestBitExactScaledShortRowsAVX2 runs ScaledSoftmaxRows and
// ScaledLogSoftmaxRows on AVX2 on
// batches of up to 40 short rows with special rows at random positions,
// so that groups fall back to the row kernel between groups that do not,
// special scales and every mask kind, out of place and in place, against
// the fallback; and with src, dst and the mask against
// inaccessible pages.
func TestBitExactScaledShortRowsAVX2(t *testing.T) {
	if !avx2.supported() {
		t.Skip("no AVX2")
	}
	rng := rand.New(rand.NewPCG(57, 58))
	for _, k := range scaledKernels {
		for cols := 1; cols <= shortCols; cols++ {
			for rows := 1; rows <= 40; rows++ {
				for kind := range 3 {
					x := shortBatch(rng, rows, cols)
					for range rng.IntN(3) {
						copy(x[rng.IntN(rows)*cols:], shortSpecials[rng.IntN(len(shortSpecials))].row(rng, cols))
					}
					scale := float32(0.125)
					if rng.IntN(3) == 0 {
						scale = fusedScales[rng.IntN(len(fusedScales))]
					}
					mask := scaledGroupMask(rng, kind, rows, cols, true)
					checkScaled(t, fmt.Sprintf("%s %dx%d mask kind %d scale %v", k.name, rows, cols, kind, scale), avx2, k, x, mask, scale, cols)
				}
			}
			for _, rows := range []int{8, 16, 19} {
				for kind := range 3 {
					x := normalRow(rng, rows*cols, 4, 0)
					m := scaledGroupMask(rng, kind, rows, cols, false)
					want := make([]float32, len(x))
					k.want(want, x, m, 0.5, cols)
					for _, place := range []func(testing.TB, int) []float32{endAtGuard, startAfterGuard} {
						mask := m
						if kind > 0 {
							mask = place(t, len(m))
							copy(mask, m)
						}
						checkGuards(t, x, want, func(dst, src []float32) { k.call(avx2, dst, src, mask, 0.5, cols) }, nil)
					}
				}
			}
			if t.Failed() {
				return
			}
		}
	}
}

// causalFit returns the rows CausalSoftmaxShortRowsAVX2 must do on the
// rows rows of x, of cols elements, with the clamped offset offset: the
// groups before the first with a row whose k is 0 or whose z = scale*x
// over its first k elements is special, or whose loads, 16 elements past
// the start of its last row, would pass n, the elements of src.
func causalFit(x []float32, scale float32, rows, cols, offset, n int) int {
	fit := 0
	for ; fit+8 <= rows && n-fit*cols >= 7*cols+16; fit += 8 {
		for r := fit; r < fit+8; r++ {
			k := min(max(offset+r+1, 0), cols)
			z := make([]float32, k)
			for i, v := range x[r*cols : r*cols+k] {
				z[i] = scale * v
			}
			if k == 0 || !plainRows(z, k) {
				return fit
			}
		}
	}
	return fit
}

// causalOffsets returns offsets of a causal batch of rows rows of cols
// elements, clamped as the kernels take them: every row empty, the first
// rows empty, partial rows, full rows, and at random.
func causalOffsets(rng *rand.Rand, rows, cols int) []int {
	os := []int{-rows - 1, -9, -3, -1, 0, cols / 2, cols - 1, cols, rng.IntN(cols+rows+2) - rows - 1}
	for i, o := range os {
		os[i] = min(max(o, -rows-1), cols)
	}
	return os
}

// TestBitExactCausalShortKernelAVX2 runs CausalSoftmaxShortRowsAVX2
// directly on every row length it handles, 1..16, offsets that leave
// rows empty (k = 0), partial and full, special rows, every scale of
// fusedScales, out of place and in place: the rows it reports done must
// have fallback.CausalSoftmaxRows's bits, and it must stop at the first
// group with an empty or special row, at the last rows%8, and at a group
// whose loads would reach past len(src), writing nothing from there on.
func TestBitExactCausalShortKernelAVX2(t *testing.T) {
	if !avx2.supported() {
		t.Skip("no AVX2")
	}
	rng := rand.New(rand.NewPCG(71, 72))
	for cols := 1; cols <= shortCols; cols++ {
		total := 0
		for _, rows := range []int{8, 13, 16, 20, 24, 40} {
			for _, offset := range causalOffsets(rng, rows, cols) {
				for si, scale := range fusedScales {
					if si > 2 && rng.IntN(3) != 0 {
						continue
					}
					x := shortBatch(rng, rows, cols)
					if rows == 20 || rows == 40 {
						copy(x[rng.IntN(rows)*cols:], shortSpecials[rng.IntN(len(shortSpecials))].row(rng, cols))
					}
					want := make([]float32, len(x))
					fallback.CausalSoftmaxRows(want, x, scale, cols, offset)
					fit := causalFit(x, scale, rows, cols, offset, len(x))
					for _, inPlace := range []bool{false, true} {
						got, src := groupDst(x, inPlace)
						done := asm.CausalSoftmaxShortRowsAVX2(got, src, scale, rows, cols, offset)
						what := fmt.Sprintf("CausalSoftmaxShortRowsAVX2 %dx%d offset %d scale %v, in place %v", rows, cols, offset, scale, inPlace)
						checkGroupsDone(t, what, x, want, got, cols, done, fit, inPlace, groupSentinel)
						total += done
					}
				}
			}
		}
		if total == 0 {
			t.Errorf("%d columns: no group done", cols)
		}
		if t.Failed() {
			return
		}
	}
}

// TestGuardCausalShortKernelAVX2 places src and dst of
// CausalSoftmaxShortRowsAVX2 against inaccessible pages, before and
// after, out of place and in place: the kernel must not touch them, and
// must stop at a group whose loads would pass the end of src.
func TestGuardCausalShortKernelAVX2(t *testing.T) {
	if !avx2.supported() {
		t.Skip("no AVX2")
	}
	rng := rand.New(rand.NewPCG(73, 74))
	for cols := 1; cols <= shortCols; cols++ {
		for _, rows := range []int{8, 16, 19, 24} {
			x0 := normalRow(rng, rows*cols, 4, 0)
			offset := min(rng.IntN(cols+4)-2, cols)
			want := make([]float32, len(x0))
			fallback.CausalSoftmaxRows(want, x0, 0.5, cols, offset)
			fit := causalFit(x0, 0.5, rows, cols, offset, len(x0))
			for _, place := range []func(testing.TB, int) []float32{endAtGuard, startAfterGuard} {
				for _, inPlace := range []bool{false, true} {
					x, dst := place(t, len(x0)), place(t, len(x0))
					copy(x, x0)
					if inPlace {
						dst = x
					}
					what := fmt.Sprintf("CausalSoftmaxShortRowsAVX2 %dx%d offset %d, in place %v", rows, cols, offset, inPlace)
					var done int
					catchFault(t, what, func() { done = asm.CausalSoftmaxShortRowsAVX2(dst, x, 0.5, rows, cols, offset) })
					if done != fit {
						t.Fatalf("%s: %d rows done, want %d", what, done, fit)
					}
					compareBits(t, what, x0[:done*cols], want[:done*cols], dst[:done*cols])
				}
			}
		}
	}
}

// TestBitExactCausalShortRowsAVX2 runs CausalSoftmaxRows on AVX2 on
// batches of 1 to 40 short rows (every group count, whole or not, each
// partial last group through its padded copy or the row kernel), with
// special rows at random positions, so that groups fall back to the row
// kernel between groups that do not, offsets that leave rows empty,
// partial and full, every scale of fusedScales, out of place and in
// place, against fallback.CausalSoftmaxRows; and with src and dst
// against inaccessible pages.
func TestBitExactCausalShortRowsAVX2(t *testing.T) {
	if !avx2.supported() {
		t.Skip("no AVX2")
	}
	rng := rand.New(rand.NewPCG(75, 76))
	for cols := 1; cols <= shortCols; cols++ {
		for rows := 1; rows <= 40; rows++ {
			for _, scale := range fusedScales {
				x := shortBatch(rng, rows, cols)
				for range rng.IntN(3) {
					copy(x[rng.IntN(rows)*cols:], shortSpecials[rng.IntN(len(shortSpecials))].row(rng, cols))
				}
				offset := []int{0, cols - rows, -1 - rng.IntN(rows+1), rng.IntN(cols + 2), -rng.IntN(10), -rows - 1, math.MaxInt, math.MinInt}[rng.IntN(8)]
				want, got := make([]float32, len(x)), make([]float32, len(x))
				fallback.CausalSoftmaxRows(want, x, scale, cols, offset)
				avx2.CausalSoftmaxRows(got, x, scale, cols, offset)
				what := fmt.Sprintf("%dx%d offset %d scale %v", rows, cols, offset, scale)
				compareBits(t, what, x, want, got)
				in := append([]float32(nil), x...)
				avx2.CausalSoftmaxRows(in, in, scale, cols, offset)
				compareBits(t, what+", in place", x, want, in)
			}
			if rows%4 == 3 {
				x := normalRow(rng, rows*cols, 4, 0)
				offset := rng.IntN(cols+4) - 2
				want := make([]float32, len(x))
				fallback.CausalSoftmaxRows(want, x, 0.5, cols, offset)
				checkGuards(t, x, want, func(dst, src []float32) { avx2.CausalSoftmaxRows(dst, src, 0.5, cols, offset) }, nil)
			}
			if t.Failed() {
				return
			}
		}
	}
}

// TestShortKernelsAVX2StackGrowth runs the AVX2 short Softmax kernels,
// the scaled LogSoftmax ones, CrossEntropyShortRowsAVX2 (its gradient),
// and the row kernels LogSoftmaxRowsAVX2 and ScaledLogSoftmaxRowsAVX2 (a
// mask row per row), whose frames are larger
// than a NOSPLIT function may have, so that they check the stack on
// entry, below recursions of every depth from 0 to 300 in new
// goroutines: at some depths the kernel's own check grows the stack, and
// its arguments move with it. The two groups done must have the
// fallback's bits every time.
func TestShortKernelsAVX2StackGrowth(t *testing.T) {
	if !avx2.supported() {
		t.Skip("no AVX2")
	}
	rng := rand.New(rand.NewPCG(81, 82))
	const rows, cols, done = 24, 10, 16 // the last group's loads pass the end
	x := shortBatch(rng, rows, cols)
	kernels := []struct {
		name string
		run  func(dst []float32) int
		want func(dst []float32)
	}{
		{"SoftmaxShortRowsAVX2",
			func(d []float32) int { return asm.SoftmaxShortRowsAVX2(d, x, rows, cols) },
			func(d []float32) { fallback.SoftmaxRows(d, x, cols) }},
		{"CausalSoftmaxShortRowsAVX2",
			func(d []float32) int { return asm.CausalSoftmaxShortRowsAVX2(d, x, 0.5, rows, cols, 3) },
			func(d []float32) { fallback.CausalSoftmaxRows(d, x, 0.5, cols, 3) }},
	}
	targets := make([]int32, rows)
	for i := range targets {
		targets[i] = int32(rng.IntN(cols))
	}
	kernels = append(kernels, struct {
		name string
		run  func(dst []float32) int
		want func(dst []float32)
	}{"CrossEntropyShortRowsAVX2",
		func(d []float32) int {
			n, _ := asm.CrossEntropyShortRowsAVX2(d, x, targets, rows, cols, 0)
			return n
		},
		func(d []float32) { fallback.CrossEntropyRows(d, x, targets, cols) }})
	// The row kernels of LogSoftmaxRows and ScaledLogSoftmaxRows, whose
	// frames hold batches of eight rows, on the first done rows.
	lmask := scaledGroupMask(rng, 2, rows, cols, false)
	kernels = append(kernels, struct {
		name string
		run  func(dst []float32) int
		want func(dst []float32)
	}{"LogSoftmaxRowsAVX2",
		func(d []float32) int { asm.LogSoftmaxRowsAVX2(d[:done*cols], x[:done*cols], done, cols); return done },
		func(d []float32) { fallback.LogSoftmaxRows(d, x, cols) }},
		struct {
			name string
			run  func(dst []float32) int
			want func(dst []float32)
		}{"ScaledLogSoftmaxRowsAVX2",
			func(d []float32) int {
				asm.ScaledLogSoftmaxRowsAVX2(d[:done*cols], x[:done*cols], lmask[:done*cols], 0.5, done, cols)
				return done
			},
			func(d []float32) { fallback.ScaledLogSoftmaxRows(d, x, lmask, 0.5, cols) }})
	for kind := range 3 {
		mask := scaledGroupMask(rng, kind, rows, cols, false)
		kernels = append(kernels, struct {
			name string
			run  func(dst []float32) int
			want func(dst []float32)
		}{fmt.Sprintf("ScaledSoftmaxRows's, mask kind %d", kind),
			func(d []float32) int { return scaledShortAVX2(false, d, x, mask, 0.5, rows, cols) },
			func(d []float32) { fallback.ScaledSoftmaxRows(d, x, mask, 0.5, cols) }},
			struct {
				name string
				run  func(dst []float32) int
				want func(dst []float32)
			}{fmt.Sprintf("ScaledLogSoftmaxRows's, mask kind %d", kind),
				func(d []float32) int { return scaledShortAVX2(true, d, x, mask, 0.5, rows, cols) },
				func(d []float32) { fallback.ScaledLogSoftmaxRows(d, x, mask, 0.5, cols) }})
	}
	for _, k := range kernels {
		want := make([]float32, len(x))
		k.want(want)
		for depth := range 300 {
			got := make([]float32, len(x))
			n := -1
			ch := make(chan struct{})
			go func() {
				defer close(ch)
				n = belowFrames(depth, func() int { return k.run(got) })
			}()
			<-ch
			what := fmt.Sprintf("%s below %d frames", k.name, depth)
			if n != done {
				t.Fatalf("%s: %d rows done, want %d", what, n, done)
			}
			compareBits(t, what, x[:done*cols], want[:done*cols], got[:done*cols])
			if t.Failed() {
				return
			}
		}
	}
}

// belowFrames returns f(), called below depth frames of its own, of
// about 100 bytes each.
//
//go:noinline
func belowFrames(depth int, f func() int) int {
	var pad [8]int
	if depth == 0 {
		return f()
	}
	return belowFrames(depth-1, f) + pad[depth%8]
}
