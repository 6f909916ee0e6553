//go:build !purego

package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/go-softmax/softmax/fallback"
	"github.com/go-softmax/softmax/internal/asm"
)

// ScaledSoftmaxRows with a mask runs rows of at least scaledLongCols
// elements through ScaledSoftmaxLongRowsAVX512 on AVX-512, shorter ones
// through ScaledSoftmaxRowsAVX512, and on AVX2 rows of at least
// scaledLongColsAVX2 through ScaledSoftmaxLongRowsAVX2, shorter ones
// through ScaledSoftmaxRowsAVX2: the tests below check each long kernel
// on rows of every length, and the dispatch on both sides of its
// threshold.

// scaledLongKernel is a long-row scaled kernel and the implementation
// whose dispatch runs it.
type scaledLongKernel struct {
	im *Implementation
	f  func(dst, src, mask []float32, scale float32, rows, cols int)
}

var scaledLongKernels = []scaledLongKernel{
	{avx512, asm.ScaledSoftmaxLongRowsAVX512},
	{avx2, asm.ScaledSoftmaxLongRowsAVX2},
}

// forEachLong runs f as a subtest for each long kernel the CPU supports.
func forEachLong(t *testing.T, f func(t *testing.T, long func(dst, src, mask []float32, scale float32, rows, cols int))) {
	for _, k := range scaledLongKernels {
		t.Run(k.im.Name(), func(t *testing.T) {
			if !k.im.supported() {
				t.Skip("not supported")
			}
			f(t, k.f)
		})
	}
}

// TestBitExactScaledLongKernel runs the scaled tests with every masked
// row kernel call sent to ScaledSoftmaxLongRowsAVX512 and
// ScaledSoftmaxLongRowsAVX2 (scaledLongCols and scaledLongColsAVX2 1):
// the rows the short and medium kernels leave (those of more than 48
// columns, and groups with a special row) in batches and alone, at every
// offset, and against guard pages; TestBitExactScaledLongRowKinds calls
// the kernel on every length directly.
func TestBitExactScaledLongKernel(t *testing.T) {
	defer func(c, c2 int) { scaledLongCols, scaledLongColsAVX2 = c, c2 }(scaledLongCols, scaledLongColsAVX2)
	scaledLongCols, scaledLongColsAVX2 = 1, 1
	t.Run("Rows", TestBitExactScaledRows)
	t.Run("Batches", TestBitExactScaledBatches)
	t.Run("Offsets", TestBitExactScaledOffsets)
	t.Run("Guard", TestGuardScaled)
}

// TestBitExactScaledLongRowKinds runs each long kernel directly
// on batches whose rows are of every kind of specialRow (offset far from 0,
// so c is not 0; fully masked, NaN, +Inf) among ordinary ones, in every
// position, with per-row masks that now and then mask a whole row and
// broadcast masks, out of place at an offset of 0 to 3 elements and in
// place: lengths 1..300, and rows on both sides of prefetchCols (the
// longest row whose pass 2 prefetches the next one, 32768 in
// gen/amd64/softmax.go).
func TestBitExactScaledLongRowKinds(t *testing.T) {
	forEachLong(t, testScaledLongRowKinds)
}

func testScaledLongRowKinds(t *testing.T, long func(dst, src, mask []float32, scale float32, rows, cols int)) {
	rng := rand.New(rand.NewPCG(81, 82))
	var cols []int
	for c := 1; c <= 300; c++ {
		cols = append(cols, c)
	}
	longFinite := 0 // long rows whose softmax is not NaN
	if !testing.Short() {
		cols = append(cols, 32767, 32768, 32769, 32800)
		defer func() {
			if longFinite < 8 {
				t.Errorf("only %d rows of 32767 columns or more were not NaN: their passes 2 and 3 went untested", longFinite)
			}
		}()
	}
	for _, c := range cols {
		for kind := 1; kind < 3; kind++ {
			rows := 4 + rng.IntN(6)
			if c > 300 {
				rows = 3
			}
			var x []float32
			for r := 0; r < rows; r++ {
				if rng.IntN(3) == 0 {
					x = append(x, specialRow(rng, c)...)
				} else {
					x = append(x, normalRow(rng, c, 4, 0)...)
				}
			}
			mask := fusedMask(rng, kind, rows, c)
			if c > 300 {
				// fusedMask's NaN and +Inf (1 element in 320 each) would
				// make every long row NaN or special, and leave its
				// passes 2 and 3 untested: at most one such element here.
				for i, v := range mask {
					if v != v || v == inf {
						mask[i] = -1e30
					}
				}
				if rng.IntN(3) == 0 {
					mask[rng.IntN(len(mask))] = []float32{nan, inf}[rng.IntN(2)]
				}
			}
			scale := testScales[rng.IntN(len(testScales))]
			if rng.IntN(4) == 0 {
				scale = fusedScales[rng.IntN(len(fusedScales))]
			}
			want := make([]float32, len(x))
			fallback.ScaledSoftmaxRows(want, x, mask, scale, c)
			if c > 300 {
				for r := 0; r < rows; r++ {
					if y := want[r*c]; y == y {
						longFinite++
					}
				}
			}
			off := rng.IntN(4)
			got := make([]float32, len(x)+off)[off:]
			long(got, x, mask, scale, rows, c)
			what := fmt.Sprintf("%dx%d mask kind %d scale %v", rows, c, kind, scale)
			compareBits(t, what, x, want, got)
			y := append(make([]float32, off), x...)[off:]
			long(y, y, mask, scale, rows, c)
			compareBits(t, what+" in place", x, want, y)
		}
		if t.Failed() {
			return
		}
	}
}

// TestBitExactScaledLongThreshold runs ScaledSoftmaxRows on rows on both
// sides of scaledLongCols and scaledLongColsAVX2, with each mask kind,
// through the public API: N(0, 4) rows with one of specialRow's kinds
// among them, and testMask's masks (-Inf now and then, sometimes a row
// masked whole), so that most rows have a finite softmax whose bits the
// test compares.
func TestBitExactScaledLongThreshold(t *testing.T) {
	forEachImpl(t, func(t *testing.T, im *Implementation) {
		rng := rand.New(rand.NewPCG(83, 84))
		var cols []int
		for _, l := range []int{scaledLongCols, scaledLongColsAVX2} {
			cols = append(cols, l-1, l, l+1)
		}
		finite, all := 0, 0 // rows whose softmax is not NaN, of all rows
		for _, c := range cols {
			for kind := 0; kind < 3; kind++ {
				rows := 3 + rng.IntN(3)
				special := rng.IntN(rows)
				var x []float32
				for r := 0; r < rows; r++ {
					if r == special {
						x = append(x, specialRow(rng, c)...)
					} else {
						x = append(x, normalRow(rng, c, 4, 0)...)
					}
				}
				scale := fusedScales[rng.IntN(len(fusedScales))]
				mask := testMask(rng, kind, rows, c)
				want := checkScaled(t, fmt.Sprintf("%dx%d mask kind %d scale %v", rows, c, kind, scale), im, scaledKernels[0], x, mask, scale, c)
				for r := 0; r < rows; r++ {
					if y := want[r*c]; y == y {
						finite++
					}
					all++
				}
			}
		}
		if finite < all/2 {
			t.Errorf("only %d of %d rows had a softmax that is not NaN", finite, all)
		}
	})
}

// scaledGuessMasks returns masks for rows of n elements (rows rows, or
// one broadcast row if bcast) that the fused pass of
// the long kernels tell apart: zeros; attention masks whose
// -Inf and -1e30 elements (z clamped to -320, left out of the min the
// guess checks) leave the guess holding; elements far below the max but
// above -320, whose terms are 0 in both scalings and which
// ScaledSoftmaxLongRowsAVX512's check on w leaves out too; a first
// vector far below the max with elements between (terms flushed in one
// scaling alone: the guess fails); a first vector masked whole (G from
// -Inf: the guess fails); -Inf at a row's start and end; a row masked
// whole.
func scaledGuessMasks(rng *rand.Rand, rows, n int, bcast bool) (names []string, masks [][]float32) {
	m := rows * n
	if bcast {
		m = n
	}
	add := func(name string, f func(mask []float32)) {
		mask := make([]float32, m)
		f(mask)
		names, masks = append(names, name), append(masks, mask)
	}
	add("zero", func([]float32) {})
	add("attention", func(mask []float32) {
		for i := range mask {
			mask[i] = float32(0.5 * rng.NormFloat64())
			switch rng.IntN(8) {
			case 0:
				mask[i] = ninf
			case 1:
				mask[i] = -1e30
			}
		}
	})
	add("first vector masked", func(mask []float32) {
		for i := 0; i < m; i += n {
			for j := range min(16, n) {
				mask[i+j] = ninf
			}
		}
	})
	add("-Inf at start and end", func(mask []float32) {
		for i := 0; i < m; i += n {
			mask[i], mask[i+n-1] = ninf, ninf
		}
	})
	add("far below", func(mask []float32) {
		for i := range mask {
			if rng.IntN(8) == 0 {
				mask[i] = -250 // z above reduceLo, its term 0 in both scalings: the guess holds
			}
		}
	})
	add("first vector low, gap", func(mask []float32) {
		for i := 0; i < m; i += n {
			for j := range min(16, n) {
				mask[i+j] = -60 // G about 87 below nm
			}
		}
		for i := range mask {
			if rng.IntN(64) == 0 {
				mask[i] = float32(-80 - 60*rng.Float64()) // s' normal, s 0: the guess fails
			}
		}
	})
	add("row masked", func(mask []float32) {
		r := rng.IntN(m / n)
		for i := range n {
			mask[r*n+i] = ninf
		}
	})
	return names, masks
}

// TestBitExactScaledLongGuess runs each long kernel, whose
// rows all start with the fused pass of passes 1 and 2 on the guess that
// c = 0 (see fused in gen/amd64/softmax.go), on the row kinds of
// longRowKinds (z = x at scale 1, and at scale 1/8 on 8x): rows where
// the guess holds and rows where each of its checks fails, and rows of
// fewer than 16 elements, with each mask of scaledGuessMasks, per row
// and broadcast, each row alone and the batch of all kinds, out of
// place and in place.
func TestBitExactScaledLongGuess(t *testing.T) {
	forEachLong(t, testScaledLongGuess)
}

func testScaledLongGuess(t *testing.T, long func(dst, src, mask []float32, scale float32, rows, cols int)) {
	rng := rand.New(rand.NewPCG(85, 86))
	// Above prefetchCols (32768), the long kernels' pass 3 runs from the
	// row's end (sm512.back, sm256.back): rows with a last vector of 1 to
	// 15 lanes after 0 to 3 whole vectors past the blocks of 64 (and see
	// TestBitExactScaledLongBack).
	lengths := []int{1, 5, 15, 16, 17, 24, 63, 64, 65, 100, 300, 8192 + 37, 32768, 32768 + 1, 32768 + 21, 32768 + 63, 65536 + 72}
	if !testing.Short() {
		lengths = append(lengths, 128256, 128256+9)
	}
	for _, n := range lengths {
		var names []string
		var rows [][]float32
		if n >= 16 {
			names, rows = longRowKinds(rng, n)
		} else {
			for _, off := range []float64{0, -150, 190, 300} {
				names, rows = append(names, fmt.Sprintf("std 4 off %v", off)), append(rows, normalRow(rng, n, 4, off))
			}
		}
		perm := rng.Perm(len(rows))
		var x []float32
		for _, r := range perm {
			x = append(x, rows[r]...)
		}
		for _, scale := range []float32{1, 0.125} {
			xs := x
			if scale != 1 {
				xs = make([]float32, len(x))
				for i, v := range x {
					xs[i] = v * 8
				}
			}
			for _, bcast := range []bool{false, true} {
				mnames, masks := scaledGuessMasks(rng, len(rows), n, bcast)
				for mi, mask := range masks {
					what := fmt.Sprintf("n=%d scale %v mask %s bcast %v", n, scale, mnames[mi], bcast)
					want := make([]float32, len(xs))
					fallback.ScaledSoftmaxRows(want, xs, mask, scale, n)
					got := make([]float32, len(xs))
					long(got, xs, mask, scale, len(rows), n)
					compareBits(t, what+" batch", xs, want, got)
					y := append([]float32(nil), xs...)
					long(y, y, mask, scale, len(rows), n)
					compareBits(t, what+" batch in place", xs, want, y)
					for k, r := range perm {
						row, w := xs[k*n:(k+1)*n], want[k*n:(k+1)*n]
						m := mask
						if !bcast {
							m = mask[k*n : (k+1)*n]
						}
						got := make([]float32, n)
						long(got, row, m, scale, 1, n)
						compareBits(t, what+" "+names[r], row, w, got)
						y := append([]float32(nil), row...)
						long(y, y, m, scale, 1, n)
						compareBits(t, what+" "+names[r]+" in place", row, w, y)
					}
					if t.Failed() {
						return
					}
				}
			}
		}
	}
}

// backCols are row lengths near 65536, above prefetchCols (32768 in
// gen/amd64/softmax.go), whose pass 3 the long kernels run from the row's
// end to its start (sm512.pass3Back and sm256.pass3Back): 0 to 3 whole
// vectors past the blocks of 64 elements, each with a last vector of 0,
// 1 to 7, 8 and 9 to 15 lanes (8 lanes are a whole ymm half on AVX2);
// and 65535.
var backCols = func() []int {
	var cols []int
	for v := range 4 {
		for _, tail := range []int{0, 1 + v, 8, 9 + 2*v} {
			cols = append(cols, 65536+16*v+tail)
		}
	}
	return append(cols, 65535)
}()

// TestBitExactScaledLongBack runs each long kernel directly on batches
// of rows of each length of backCols: ordinary rows (c = 0), a row whose
// z is about 300 (c not 0), pass 3 emitted for each, and a row of
// specialRow's kinds (-Inf, NaN, +Inf, c not 0) among them in a random
// order, with a mask row per row (testMask: -Inf now and then, sometimes
// a row masked whole, no NaN, which would make every row NaN) and one
// for every row, out of place at an offset of 0 to 3 elements and in
// place: pass 3 then takes u from dst or recomputes it.
func TestBitExactScaledLongBack(t *testing.T) {
	forEachLong(t, func(t *testing.T, long func(dst, src, mask []float32, scale float32, rows, cols int)) {
		rng := rand.New(rand.NewPCG(87, 88))
		for _, c := range backCols {
			for kind := 1; kind < 3; kind++ {
				scale := []float32{1, 0.125}[kind-1]
				rows := [][]float32{normalRow(rng, c, 4, 0), normalRow(rng, c, 4, 0), normalRow(rng, c, 4, 300/float64(scale)), specialRow(rng, c)}
				var x []float32
				for _, r := range rng.Perm(len(rows)) {
					x = append(x, rows[r]...)
				}
				mask := testMask(rng, kind, len(rows), c)
				want := make([]float32, len(x))
				fallback.ScaledSoftmaxRows(want, x, mask, scale, c)
				off := rng.IntN(4)
				got := make([]float32, len(x)+off)[off:]
				long(got, x, mask, scale, len(rows), c)
				what := fmt.Sprintf("%dx%d mask kind %d scale %v", len(rows), c, kind, scale)
				compareBits(t, what, x, want, got)
				y := append(make([]float32, off), x...)[off:]
				long(y, y, mask, scale, len(rows), c)
				compareBits(t, what+" in place", x, want, y)
			}
			if t.Failed() {
				return
			}
		}
	})
}

// TestGuardScaledLongBack runs each long kernel on batches of 1 to 3
// rows of any kind (rowOfAnyKind) of each length of backCols, with a mask
// row per row and one for every row, against guard pages (see
// guardRowBatches): pass 3 from the row's end reads and writes the last
// vector of the batch's last row under its masks first.
func TestGuardScaledLongBack(t *testing.T) {
	forEachLong(t, func(t *testing.T, long func(dst, src, mask []float32, scale float32, rows, cols int)) {
		for i, perRow := range []bool{true, false} {
			rng := rand.New(rand.NewPCG(89, 90+uint64(i)))
			k := softmaxRowKernel{"long", nil, scaledRowKernel(perRow, long)}
			guardRowBatches(t, rng, k, backCols, 3)
		}
	})
}
