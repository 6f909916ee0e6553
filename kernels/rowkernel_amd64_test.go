//go:build !purego

package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"unsafe"

	"github.com/go-softmax/softmax/internal/asm"
)

// TestBitExactLogRowKernel runs LogSoftmaxRowsAVX512 and LogSoftmaxRowsAVX2
// directly, which LogSoftmaxRows sends only some batches (the short and
// medium kernels take most batches of short rows), on batches of many rows
// of every length 1..300 and some longer ones: rows of every kind in a
// random order, as in TestBitExactSoftmaxRowsSpecials (ordinary rows whose
// max is small, c = 0, or huge, c = max; rows with a NaN or +Inf anywhere;
// rows of -Inf with and without a NaN; rows mostly of -Inf), out of place
// at an offset of 0 to 3 elements, and in place. The kernels run each
// row's max a row ahead and each row's last pass a finite row late, and
// branch on c = 0 in both passes, so neighbours of different kinds check
// that no state leaks from one row to the next; pass 2 of
// LogSoftmaxRowsAVX512 also finds the max of the next row, or of the row
// itself on the last one, so batches of 0 to 9 rows run as well.
// LogSoftmaxRowsAVX512 and LogSoftmaxRowsAVX2 compute l for batches of 8
// finite rows of at most 1024 columns and run pass 3 of a batch's rows 8
// finite rows late, so batches of up to 27 rows run too, among them one
// run of each length with 1 to 9, 15 to 17 or 23 to 25 rows (around one,
// two and three batches), with rows of 1023, 1024 and 1025 columns on
// each side of that limit, and the last batch's pending and partial rows
// each left at any of their slots; one run of each length has rows whose
// y is -0 or +0.
//
// The table logRowKernels holds ScaledLogSoftmaxRowsAVX512 (a mask row per
// row, one for every row) and ScaledLogSoftmaxRowsNoMaskAVX512 as well,
// which batch l as LogSoftmaxRowsAVX512 does, each row's slot with its
// mask offset, and their AVX2 forms. In place on rows of a power of 2
// elements, 1024 or more (1024 to 8192 here; 3072 is not one), the scaled
// kernels find the next row's max after pass 2 rather than in it
// (nmAlias in the generator).
//
// The AVX2 kernels run the last cols%16 lanes of a row of 16 or more
// elements in pass 3 as the whole vector that ends at the row's end
// (overTail in the generator), before the row's other vectors, over x
// in place and over the z that the scaled kernels keep in dst: lengths
// 17 to 300 give it every cols%16 in the batches of 8 rows, 1025, 1027,
// 1030, 1037 and 4111 several in the rows of more than 1024 elements,
// which run one row late.
// Out of place, dst starts as NaN, so that a z that the scaled kernels
// did not keep in dst would read NaN.
func TestBitExactLogRowKernel(t *testing.T) {
	for ki, k := range logRowKernels {
		t.Run(k.name, func(t *testing.T) {
			if !k.im.supported() {
				t.Skip("not supported by this CPU")
			}
			rng := rand.New(rand.NewPCG(71, 72+uint64(ki)))
			cols := []int{1000, 1023, 1024, 1025, 1027, 1030, 1037, 2048, 3072, 4096, 4111, 8192}
			for c := 1; c <= 300; c++ {
				cols = append(cols, c)
			}
			// Around the ends of one, two and three batches of 8 rows.
			edges := []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 15, 16, 17, 23, 24, 25}
			for _, c := range cols {
				for rep := 0; rep < 5; rep++ {
					// 0, 1 and 2 rows too; more than two batches of 8.
					rows := []int{rng.IntN(10), 5 + rng.IntN(8), 8 + rng.IntN(20), 17, edges[rng.IntN(len(edges))]}[rep]
					if c > 300 && rep < 2 {
						rows = 6
					}
					x := rowsOfAnyKind(rng, rows, c)
					if rep == 3 {
						// Rows of one +0 or -0 and -Inf, whose l is +0: their
						// y is that zero, its sign kept, and -Inf.
						for r := 0; r < rows; r += 3 {
							row := x[r*c : (r+1)*c]
							for i := range row {
								row[i] = ninf
							}
							row[rng.IntN(c)] = float32(math.Copysign(0, float64(rng.IntN(2)*2-1)))
						}
					}
					run, ref := k.of(rng, rows, c, func(n int) []float32 { return make([]float32, n) })
					want := make([]float32, len(x))
					ref(want, x)
					off := rng.IntN(4)
					buf := make([]float32, len(x)+off)
					got := buf[off:]
					for i := range got {
						got[i] = nan
					}
					run(got, x)
					what := fmt.Sprintf("%dx%d rep %d", rows, c, rep)
					compareBits(t, what, x, want, got)
					y := append(make([]float32, off), x...)[off:]
					run(y, y)
					compareBits(t, what+" in place", x, want, y)
				}
				if t.Failed() {
					return
				}
			}
		})
	}
}

// logRowKernels are the LogSoftmax row kernels, as softmaxRowKernels:
// LogSoftmaxRowsAVX512, LogSoftmaxLongRowsAVX512, LogSoftmaxRowsAVX2,
// LogSoftmaxLongRowsAVX2 (the long ones, which LogSoftmaxRows sends only
// large batches of long rows, run rows of any length, as
// SoftmaxLongRowsAVX2, their non-temporal stores where dst is 64-byte
// aligned and cols a multiple of 16 on AVX-512, 16-byte aligned and a
// multiple of 4 on AVX2), and
// ScaledLogSoftmaxRowsAVX512
// and ScaledLogSoftmaxRowsAVX2 with a mask row per row, one mask row for
// every row, and without a mask.
var logRowKernels = []softmaxRowKernel{
	{"LogSoftmaxRows", avx512, func(_ *rand.Rand, rows, cols int, _ func(int) []float32) (run, want func(dst, src []float32)) {
		return func(dst, src []float32) { asm.LogSoftmaxRowsAVX512(dst, src, rows, cols) },
			func(dst, src []float32) { generic.LogSoftmaxRows(dst, src, cols) }
	}},
	{"LogSoftmaxRowsAVX2", avx2, func(_ *rand.Rand, rows, cols int, _ func(int) []float32) (run, want func(dst, src []float32)) {
		return func(dst, src []float32) { asm.LogSoftmaxRowsAVX2(dst, src, rows, cols) },
			func(dst, src []float32) { generic.LogSoftmaxRows(dst, src, cols) }
	}},
	{"LogSoftmaxLongRowsAVX512", avx512, func(_ *rand.Rand, rows, cols int, _ func(int) []float32) (run, want func(dst, src []float32)) {
		return func(dst, src []float32) { asm.LogSoftmaxLongRowsAVX512(dst, src, rows, cols) },
			func(dst, src []float32) { generic.LogSoftmaxRows(dst, src, cols) }
	}},
	{"LogSoftmaxLongRowsAVX2", avx2, func(_ *rand.Rand, rows, cols int, _ func(int) []float32) (run, want func(dst, src []float32)) {
		return func(dst, src []float32) { asm.LogSoftmaxLongRowsAVX2(dst, src, rows, cols) },
			func(dst, src []float32) { generic.LogSoftmaxRows(dst, src, cols) }
	}},
	{"ScaledLogSoftmaxRows mask per row", avx512, scaledRowKernelOf(true, asm.ScaledLogSoftmaxRowsAVX512, generic.ScaledLogSoftmaxRows)},
	{"ScaledLogSoftmaxRows broadcast mask", avx512, scaledRowKernelOf(false, asm.ScaledLogSoftmaxRowsAVX512, generic.ScaledLogSoftmaxRows)},
	{"ScaledLogSoftmaxRows no mask", avx512, scaledNoMaskRowKernelOf(asm.ScaledLogSoftmaxRowsNoMaskAVX512, generic.ScaledLogSoftmaxRows)},
	{"ScaledLogSoftmaxRowsAVX2 mask per row", avx2, scaledRowKernelOf(true, asm.ScaledLogSoftmaxRowsAVX2, generic.ScaledLogSoftmaxRows)},
	{"ScaledLogSoftmaxRowsAVX2 broadcast mask", avx2, scaledRowKernelOf(false, asm.ScaledLogSoftmaxRowsAVX2, generic.ScaledLogSoftmaxRows)},
	{"ScaledLogSoftmaxRowsAVX2 no mask", avx2, scaledNoMaskRowKernelOf(asm.ScaledLogSoftmaxRowsNoMaskAVX2, generic.ScaledLogSoftmaxRows)},
}

// TestGuardLogRowKernel runs the kernels of logRowKernels directly on
// batches of 1 to 20 rows that end right before, then start right after,
// an inaccessible page (see checkGuards), the mask too, as in
// TestGuardSoftmaxRowKernel: pass 2 of each row of LogSoftmaxRowsAVX512
// also reads the next row, or the row itself on the last one, under the
// mask of the row's last vector, and the batches of 8 rows' l leave
// their last rows' pass 3 to the end of the call. Rows of 16 to 48
// elements, whose pass 3 on AVX2 runs the row's last vector whole
// (overTail in the generator), have each cols%16 at the page's edge.
func TestGuardLogRowKernel(t *testing.T) {
	for ki, k := range logRowKernels {
		t.Run(k.name, func(t *testing.T) {
			if !k.im.supported() {
				t.Skip("not supported by this CPU")
			}
			rng := rand.New(rand.NewPCG(79, 80+uint64(ki)))
			cols := []int{1, 7, 1023, 1024, 1025, 1026}
			for c := 16; c <= 300; c++ {
				cols = append(cols, c)
			}
			guardRowBatches(t, rng, k, cols, 20) // batches of 8 rows' l, and partial ones
		})
	}
}

// guardRowBatches runs k on a batch of 1 to maxRows rows of each length
// in cols against guard pages: the batch ends right before an
// inaccessible page for odd lengths and starts right after one for even
// lengths (see checkGuards).
func guardRowBatches(t *testing.T, rng *rand.Rand, k softmaxRowKernel, cols []int, maxRows int) {
	t.Helper()
	for _, c := range cols {
		rows := 1 + rng.IntN(maxRows)
		x := rowsOfAnyKind(rng, rows, c)
		alloc := func(n int) []float32 { return endAtGuard(t, n) }
		if c%2 == 0 {
			alloc = func(n int) []float32 { return startAfterGuard(t, n) }
		}
		run, ref := k.of(rng, rows, c, alloc)
		want := make([]float32, len(x))
		ref(want, x)
		checkGuards(t, x, want, run, nil)
		if t.Failed() {
			return
		}
	}
}

// TestBitExactCrossEntropyRowKernel runs CrossEntropyRowsAVX512,
// CrossEntropyLongRowsAVX512, CrossEntropyRowsAVX2 and
// CrossEntropyLongRowsAVX2 (package kernels sends the long kernels only
// batches of rows of 1 MiB or more, but they run rows of any length)
// directly on batches of rows of every kind (rowOfAnyKind) and every length 1..300 and some longer ones, with a
// gradient out of place and in place, and without one: the kernels
// branch on c = 0 in passes 2 and 3 and put off each row's loss to a
// batch of 8, so neighbours of different kinds check that no state leaks
// from one row to the next.
func TestBitExactCrossEntropyRowKernel(t *testing.T) {
	for _, k := range []struct {
		name string
		im   *Implementation
		rows func(dst, src []float32, targets []int32, rows, cols int) float64
	}{
		{"avx512", avx512, asm.CrossEntropyRowsAVX512},
		{"avx512 long", avx512, asm.CrossEntropyLongRowsAVX512},
		{"avx2", avx2, asm.CrossEntropyRowsAVX2},
		{"avx2 long", avx2, asm.CrossEntropyLongRowsAVX2},
	} {
		t.Run(k.name, func(t *testing.T) {
			if !k.im.supported() {
				t.Skip("not supported by this CPU")
			}
			rng := rand.New(rand.NewPCG(73, 74))
			cols := []int{1000, 1024, 4096, 4111}
			for c := 1; c <= 300; c++ {
				cols = append(cols, c)
			}
			for _, c := range cols {
				for rep := 0; rep < 3; rep++ {
					rows := 5 + rng.IntN(12)
					if c > 300 {
						rows = 6
					}
					var x []float32
					targets := make([]int32, rows)
					for r := range targets {
						x = append(x, rowOfAnyKind(rng, c)...)
						targets[r] = int32(rng.IntN(c))
					}
					want := make([]float32, len(x))
					wantLoss := generic.CrossEntropyRows(want, x, targets, c)
					what := fmt.Sprintf("%dx%d rep %d", rows, c, rep)
					mean := func(total float64) float32 { return roundLoss(total / float64(rows)) }
					got := make([]float32, len(x))
					compareLoss(t, what, mean(k.rows(got, x, targets, rows, c)), wantLoss)
					compareBits(t, what, x, want, got)
					y := append([]float32(nil), x...)
					compareLoss(t, what+" in place", mean(k.rows(y, y, targets, rows, c)), wantLoss)
					compareBits(t, what+" in place", x, want, y)
					compareLoss(t, what+" no gradient", mean(k.rows(nil, x, targets, rows, c)), wantLoss)
				}
				if t.Failed() {
					return
				}
			}
		})
	}
}

// softmaxRowKernel is one of the AVX-512 row kernels that run
// SoftmaxRowsAVX512's passes (keepS, nextMax), with its reference: of
// returns both for a batch of rows rows of cols elements, drawing what
// else the kernel takes (a mask, a scale) from rng, the mask in a slice
// that alloc returns.
type softmaxRowKernel struct {
	name string
	im   *Implementation // the implementation that must support it
	of   func(rng *rand.Rand, rows, cols int, alloc func(n int) []float32) (run, want func(dst, src []float32))
}

// softmaxRowKernels are SoftmaxRowsAVX512, SoftmaxRowsAVX2 (keepS alone),
// SoftmaxLongRowsAVX2 (which SoftmaxRows sends only batches of rows of
// 1 MiB or more, but which runs rows of any length: a fused pass 1 and 2
// on the guess that c = 0, checked, and pass 3 from the row's end, with
// non-temporal stores where dst is 32-byte aligned and cols a multiple of
// 8, so that offset 0 takes them and 1 to 3 do not),
// ScaledSoftmaxRowsAVX512 with
// a mask row per row, one mask row for every row, and without a mask
// (ScaledSoftmaxRowsNoMaskAVX512), whose pass 2 also computes the next
// row's z at the offset of the current row's, its mask row's included,
// ScaledSoftmaxRowsAVX2 with the same masks (keepS, on the z that pass 1
// a row ahead stores in dst; and nextMax out of place on rows of 64
// columns or more but the last, whose pass 2 computes the next row's z
// and stores it in that row's dst, its last cols%16 lanes after the
// pipeline), and CausalSoftmaxRowsAVX512 (keepS alone) with full rows,
// rows of 0 to cols elements and a random offset.
var softmaxRowKernels = []softmaxRowKernel{
	{"SoftmaxRows", avx512, func(_ *rand.Rand, rows, cols int, _ func(int) []float32) (run, want func(dst, src []float32)) {
		return func(dst, src []float32) { asm.SoftmaxRowsAVX512(dst, src, rows, cols) },
			func(dst, src []float32) { generic.SoftmaxRows(dst, src, cols) }
	}},
	{"SoftmaxRowsAVX2", avx2, func(_ *rand.Rand, rows, cols int, _ func(int) []float32) (run, want func(dst, src []float32)) {
		return func(dst, src []float32) { asm.SoftmaxRowsAVX2(dst, src, rows, cols) },
			func(dst, src []float32) { generic.SoftmaxRows(dst, src, cols) }
	}},
	{"SoftmaxLongRowsAVX2", avx2, func(_ *rand.Rand, rows, cols int, _ func(int) []float32) (run, want func(dst, src []float32)) {
		return func(dst, src []float32) { asm.SoftmaxLongRowsAVX2(dst, src, rows, cols) },
			func(dst, src []float32) { generic.SoftmaxRows(dst, src, cols) }
	}},
	{"ScaledSoftmaxRows mask per row", avx512, scaledRowKernel(true, asm.ScaledSoftmaxRowsAVX512)},
	{"ScaledSoftmaxRows broadcast mask", avx512, scaledRowKernel(false, asm.ScaledSoftmaxRowsAVX512)},
	{"ScaledSoftmaxRows no mask", avx512, scaledNoMaskRowKernel(asm.ScaledSoftmaxRowsNoMaskAVX512)},
	{"ScaledSoftmaxRowsAVX2 mask per row", avx2, scaledRowKernel(true, asm.ScaledSoftmaxRowsAVX2)},
	{"ScaledSoftmaxRowsAVX2 broadcast mask", avx2, scaledRowKernel(false, asm.ScaledSoftmaxRowsAVX2)},
	{"ScaledSoftmaxRowsAVX2 no mask", avx2, scaledNoMaskRowKernel(asm.ScaledSoftmaxRowsNoMaskAVX2)},
	{"CausalSoftmaxRows", avx512, func(rng *rand.Rand, rows, cols int, _ func(int) []float32) (run, want func(dst, src []float32)) {
		scale := scaleOf(rng)
		offset := []int{cols, -rows - 1, rng.IntN(cols+rows+2) - rows - 1}[rng.IntN(3)]
		return func(dst, src []float32) { asm.CausalSoftmaxRowsAVX512(dst, src, scale, rows, cols, offset) },
			func(dst, src []float32) { generic.CausalSoftmaxRows(dst, src, scale, cols, offset) }
	}},
}

// scaleOf draws a scale: mostly 1/8, or -1/2, 1 or 3.
func scaleOf(rng *rand.Rand) float32 {
	return []float32{0.125, 0.125, -0.5, 1, 3}[rng.IntN(5)]
}

// scaledRowKernel returns softmaxRowKernel.of for the ScaledSoftmaxRows
// row kernel kernel with a mask row per row, or one for every row: N(0, 1)
// values with one -Inf in 8, and now and then a row of any kind
// (rowOfAnyKind).
func scaledRowKernel(perRow bool, kernel func(dst, src, mask []float32, scale float32, rows, cols int)) func(rng *rand.Rand, rows, cols int, alloc func(int) []float32) (run, want func(dst, src []float32)) {
	return scaledRowKernelOf(perRow, kernel, generic.ScaledSoftmaxRows)
}

// scaledRowKernelOf is scaledRowKernel with the reference ref (for
// ScaledLogSoftmaxRows, generic.ScaledLogSoftmaxRows).
func scaledRowKernelOf(perRow bool, kernel func(dst, src, mask []float32, scale float32, rows, cols int),
	ref func(dst, src, mask []float32, scale float32, cols int)) func(rng *rand.Rand, rows, cols int, alloc func(int) []float32) (run, want func(dst, src []float32)) {
	return func(rng *rand.Rand, rows, cols int, alloc func(int) []float32) (run, want func(dst, src []float32)) {
		n := cols
		if perRow {
			n = rows * cols
		}
		mask := alloc(n)
		for r := 0; r < n; r += cols {
			if rng.IntN(10) == 0 {
				copy(mask[r:r+cols], rowOfAnyKind(rng, cols))
				continue
			}
			for j := r; j < r+cols; j++ {
				mask[j] = float32(rng.NormFloat64())
				if rng.IntN(8) == 0 {
					mask[j] = float32(math.Inf(-1))
				}
			}
		}
		scale := scaleOf(rng)
		return func(dst, src []float32) { kernel(dst, src, mask, scale, rows, cols) },
			func(dst, src []float32) { ref(dst, src, mask, scale, cols) }
	}
}

// scaledNoMaskRowKernel returns softmaxRowKernel.of for the
// ScaledSoftmaxRows row kernel kernel without a mask.
func scaledNoMaskRowKernel(kernel func(dst, src []float32, scale float32, rows, cols int)) func(rng *rand.Rand, rows, cols int, alloc func(int) []float32) (run, want func(dst, src []float32)) {
	return scaledNoMaskRowKernelOf(kernel, generic.ScaledSoftmaxRows)
}

// scaledNoMaskRowKernelOf is scaledNoMaskRowKernel with the reference ref.
func scaledNoMaskRowKernelOf(kernel func(dst, src []float32, scale float32, rows, cols int),
	ref func(dst, src, mask []float32, scale float32, cols int)) func(rng *rand.Rand, rows, cols int, alloc func(int) []float32) (run, want func(dst, src []float32)) {
	return func(rng *rand.Rand, rows, cols int, _ func(int) []float32) (run, want func(dst, src []float32)) {
		scale := scaleOf(rng)
		return func(dst, src []float32) { kernel(dst, src, scale, rows, cols) },
			func(dst, src []float32) { ref(dst, src, nil, scale, cols) }
	}
}

// TestBitExactSoftmaxRowKernel runs the kernels of softmaxRowKernels
// directly, which SoftmaxRows and ScaledSoftmaxRows send only some batches
// (the short kernels take short rows, the long scaled kernel long rows
// with a mask): every row count 0 to
// 9 and batches of up to 24 rows, of every length 1..300 and lengths
// around sCols and sCols256 in the generator (both 8192), up to which
// the kernels keep each row's s in two buffers of their frame, the
// current row's and the pending row's (in place too, where pass 2 stores
// u over x in dst above 4096 columns, and keeps u in the buffer as well
// up to half of that, 4096; below it, up to 2048 and 512 before), and
// 4097 to 4111 for rows whose last vector holds each of 1 to 15
// elements, and 6144 and 8177 to 8191 for the same in place above 4096;
// batches of 1, 2, 5 and 7 rows of those longer rows. Rows of
// every kind in a random order
// (rowOfAnyKind), so that rows filled early (NaN, +Inf, -Inf) and rows of
// a NaN S, which keep no pending row, fall between rows that do; out of
// place at an offset of 0 to 3 elements, and in place. Each batch also
// runs on a new goroutine, whose small stack the kernel's frame makes
// grow. In place on rows of a power of 2 elements, 1024 or more (1024 to
// 16384 here, and 3072, which is not one), the scaled kernels find the
// next row's max after pass 2 rather than in it (nmAlias in the
// generator). Out of place, dst starts as NaN: the scaled kernels keep each
// row's z in its dst from the pass that finds its max (pass 1, or pass 2
// of the row before) for its pass 2, and a z not kept there would read
// NaN. SoftmaxRowsAVX2 and ScaledSoftmaxRowsAVX2 (each mask kind) run the
// last cols%16 lanes of a row of 16 or more elements in pass 3 as the
// whole vector that ends at the row's end (overTail in the generator), in
// each of its four forms: s kept in the
// frame (up to 8192 columns, out of place and in place; up to 4096 in
// place, with u kept there too), u stored in dst (8193 and more out of
// place) and recomputed (8193 and more in place); lengths 17 to 300,
// 4097 to 4111, 8177 to 8190, 8193, 8200, 8207 and 12345 give each form
// a last vector of several cols%16.
func TestBitExactSoftmaxRowKernel(t *testing.T) {
	for ki, k := range softmaxRowKernels {
		t.Run(k.name, func(t *testing.T) {
			if !k.im.supported() {
				t.Skip("not supported by this CPU")
			}
			rng := rand.New(rand.NewPCG(75, 76+uint64(ki)))
			cols := []int{511, 512, 513, 1000, 1008, 1023, 1024, 1025, 1040, 2047, 2048, 2049, 2063, 3000, 3072, 4095, 4096, 8191, 8192, 8193, 8200, 8207, 12345, 16384}
			for c := 4097; c <= 4111; c++ {
				cols = append(cols, c)
			}
			cols = append(cols, 6144)
			for c := 8177; c <= 8190; c++ {
				cols = append(cols, c)
			}
			for c := 1; c <= 300; c++ {
				cols = append(cols, c)
			}
			for _, c := range cols {
				for rep := 0; rep < 4; rep++ {
					rows := rep
					if rep == 3 {
						rows = 3 + rng.IntN(22)
					}
					if c > 300 {
						rows = []int{1, 2, 5, 7}[rep]
					} else if rep == 0 {
						rows = rng.IntN(10)
					}
					x := rowsOfAnyKind(rng, rows, c)
					run, ref := k.of(rng, rows, c, func(n int) []float32 { return make([]float32, n) })
					want := make([]float32, len(x))
					ref(want, x)
					off := rng.IntN(4)
					got := make([]float32, len(x)+off)[off:]
					for i := range got {
						got[i] = nan
					}
					run(got, x)
					what := fmt.Sprintf("%dx%d rep %d", rows, c, rep)
					compareBits(t, what, x, want, got)
					y := append(make([]float32, off), x...)[off:]
					run(y, y)
					compareBits(t, what+" in place", x, want, y)
					done := make(chan []float32)
					go func() {
						z := make([]float32, len(x))
						run(z, x)
						done <- z
					}()
					compareBits(t, what+" on a new goroutine", x, want, <-done)
				}
				if t.Failed() {
					return
				}
			}
		})
	}
}

// TestBitExactSoftmaxRowKernelInPlaceStride runs the kernels of
// softmaxRowKernels in place on batches of 2 to 9 rows at lengths on both
// sides of nmAliasCols in the generator (1024) and at powers of 2 above
// it, where the rows are a multiple of 4 KiB apart: there the AVX-512
// scaled kernels find the next row's max after pass 2 rather than in it
// (nmAlias), and not at 512, 1023, 1025 and 3072, while SoftmaxRowsAVX2
// finds it in pass 2 at every length (nextMax). Each batch puts special
// rows (specialRow's that hold a NaN, a +Inf or -Inf) between ordinary
// rows, at each place in turn: first, last and
// inside, alone and next to another, so that the max of a row that
// follows a special row, and of a special row itself, found in pass 2 or
// after it, is checked; the rows start at a page boundary, so that their
// addresses are a multiple of 4 KiB apart too.
func TestBitExactSoftmaxRowKernelInPlaceStride(t *testing.T) {
	for ki, k := range softmaxRowKernels {
		t.Run(k.name, func(t *testing.T) {
			if !k.im.supported() {
				t.Skip("not supported by this CPU")
			}
			rng := rand.New(rand.NewPCG(97, 98+uint64(ki)))
			special := func(c int) []float32 { // a row of specialRow's that is not all finite
				for {
					x := specialRow(rng, c)
					for _, v := range x {
						if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
							return x
						}
					}
				}
			}
			for _, c := range []int{512, 1023, 1024, 1025, 2048, 3072, 4096, 8192, 16384} {
				for _, kinds := range []string{"oo", "so", "os", "oso", "ossoo", "sosos", "oooooooso", "ssoooo"} {
					rows := len(kinds)
					x := make([]float32, 0, rows*c)
					for _, kind := range kinds {
						if kind == 's' {
							x = append(x, special(c)...)
							continue
						}
						x = append(x, normalRow(rng, c, 2, []float64{0, 3, -50, 250}[rng.IntN(4)])...)
					}
					run, ref := k.of(rng, rows, c, func(n int) []float32 { return make([]float32, n) })
					want := make([]float32, len(x))
					ref(want, x)
					// A slice of 4 KiB or more from make starts at a page
					// boundary; check rather than assume it.
					y := make([]float32, len(x)+1024)
					a := int(uintptr(unsafe.Pointer(&y[0]))%4096) / 4
					if a != 0 {
						a = 1024 - a
					}
					y = y[a : a+len(x)]
					copy(y, x)
					run(y, y)
					compareBits(t, fmt.Sprintf("%dx%d %s in place", rows, c, kinds), x, want, y)
				}
				if t.Failed() {
					return
				}
			}
		})
	}
}

// TestGuardSoftmaxRowKernel runs the kernels of softmaxRowKernels directly
// on batches of 1 to 9 rows that end right before, then start right after,
// an inaccessible page (see checkGuards), the mask too, at the end of a
// page for odd lengths and at the start of one for even lengths: pass 2
// of each row also reads the next row, and its mask row, or the row
// itself on the last one, under the mask of the row's last vector
// (ScaledSoftmaxRowsAVX2 the next row's last cols%16 lanes after the
// pipeline, each of 1 to 15 at 2049 to 2063 columns, and stores their
// z in that row's dst); in place above 4096 columns (6144, 8177, 8191,
// 8192), pass 2 stores u over the row's x and s in the frame.
func TestGuardSoftmaxRowKernel(t *testing.T) {
	for ki, k := range softmaxRowKernels {
		t.Run(k.name, func(t *testing.T) {
			if !k.im.supported() {
				t.Skip("not supported by this CPU")
			}
			rng := rand.New(rand.NewPCG(77, 78+uint64(ki)))
			cols := []int{1, 7, 16, 17, 33, 200, 1023, 1024, 1025, 2047, 2048, 4095, 4096, 4097, 4111, 6144, 8177, 8191, 8192, 8193, 8207}
			for c := 49; c <= 128; c++ {
				cols = append(cols, c)
			}
			for c := 2049; c <= 2063; c++ {
				cols = append(cols, c)
			}
			guardRowBatches(t, rng, k, cols, 9)
		})
	}
}

// TestBitExactRowKernelClamp runs the kernels of softmaxRowKernels and
// logRowKernels on batches of rows whose elements fall on both sides of
// pass 2's clamp, d = max(-320, x - c), and on its edges: rows of a small
// max (c = 0, where the AVX2 kernels' stage A takes x straight from
// memory into the clamp) and of a max above 208 (c = max, x - c computed
// first), each with elements 300 to 420 below the max, -0, subnormals and
// -Inf, mixed with rows holding a NaN or +Inf, at lengths through the
// pipeline of pass 2 (one block of 64 and more, whole and not), out of
// place and in place.
func TestBitExactRowKernelClamp(t *testing.T) {
	kernels := append(append([]softmaxRowKernel{}, softmaxRowKernels...), logRowKernels...)
	for ki, k := range kernels {
		t.Run(k.name, func(t *testing.T) {
			if !k.im.supported() {
				t.Skip("not supported by this CPU")
			}
			rng := rand.New(rand.NewPCG(91, 92+uint64(ki)))
			row := func(c int) []float32 {
				x := make([]float32, c)
				top := []float32{0, 5, -100, 150, 208, 209, 250, -250, 1e4}[rng.IntN(9)]
				for i := range x {
					switch rng.IntN(6) {
					case 0:
						x[i] = top - 300 - float32(rng.Float64()*120)
					case 1:
						x[i] = []float32{float32(math.Copysign(0, -1)), 0x1p-140, -0x1p-149, ninf}[rng.IntN(4)]
					default:
						x[i] = top - float32(rng.Float64()*30)
					}
				}
				x[rng.IntN(c)] = top
				switch rng.IntN(10) {
				case 0:
					x[rng.IntN(c)] = nan
				case 1:
					x[rng.IntN(c)] = inf
				}
				return x
			}
			for _, c := range []int{64, 65, 79, 80, 127, 128, 136, 200, 1024, 1031, 4096, 8192, 8193} {
				for _, rows := range []int{1, 2, 5} {
					x := make([]float32, 0, rows*c)
					for r := 0; r < rows; r++ {
						x = append(x, row(c)...)
					}
					run, ref := k.of(rng, rows, c, func(n int) []float32 { return make([]float32, n) })
					want := make([]float32, len(x))
					ref(want, x)
					got := make([]float32, len(x))
					for i := range got {
						got[i] = nan
					}
					run(got, x)
					what := fmt.Sprintf("%dx%d", rows, c)
					compareBits(t, what, x, want, got)
					y := append([]float32(nil), x...)
					run(y, y)
					compareBits(t, what+" in place", x, want, y)
				}
				if t.Failed() {
					return
				}
			}
		})
	}
}
