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

// longCols is the shortest row that SoftmaxRowsAVX512 runs through its
// long-row passes (longCols in gen/amd64/softmax.go): a fused pass 1 and
// 2 that guesses c = 0, and a pass 3 with non-temporal stores.
const longCols = 1 << 18

// A longKernel is a kernel that longKernels runs on long rows, with the
// generic kernel whose bits it must return.
type longKernel struct {
	name      string
	run, want func(dst, src []float32, rows, cols int)
}

// longKernels are the SoftmaxRows and LogSoftmaxRows kernels of long
// rows that this CPU runs: AVX-512's SoftmaxRows, with its long-row
// passes, LogSoftmaxLongRowsAVX512 and CrossEntropyLongRowsAVX512 (the
// AVX2 long kernels' passes on AVX-512, non-temporal stores where dst is
// 64-byte aligned and cols a multiple of 16), AVX2's row kernel, which runs long rows as others, and
// SoftmaxLongRowsAVX2, LogSoftmaxLongRowsAVX2 and CrossEntropyLongRowsAVX2
// (its gradient, against targets from longTargets), AVX2's long-row
// passes (a fused pass 1 and 2 that guesses c = 0, and a pass 3 with
// non-temporal stores where dst is 32-byte aligned and cols a multiple
// of 8, or for LogSoftmax 16-byte aligned and a multiple of 4), which
// package kernels sends batches of such rows too large for the caches.
func longKernels() []longKernel {
	softmax := func(dst, src []float32, _, cols int) { generic.SoftmaxRows(dst, src, cols) }
	logSoftmax := func(dst, src []float32, _, cols int) { generic.LogSoftmaxRows(dst, src, cols) }
	var ks []longKernel
	if avx512.supported() {
		ks = append(ks, longKernel{"avx512", asm.SoftmaxRowsAVX512, softmax},
			longKernel{"avx512 log long", asm.LogSoftmaxLongRowsAVX512, logSoftmax},
			longKernel{"avx512 cross-entropy long", func(dst, src []float32, rows, cols int) {
				asm.CrossEntropyLongRowsAVX512(dst, src, longTargets(src, rows, cols), rows, cols)
			}, crossEntropyGrad})
	}
	if avx2.supported() {
		ks = append(ks,
			longKernel{"avx2", asm.SoftmaxRowsAVX2, softmax},
			longKernel{"avx2 long", asm.SoftmaxLongRowsAVX2, softmax},
			longKernel{"avx2 log long", asm.LogSoftmaxLongRowsAVX2, logSoftmax},
			longKernel{"avx2 cross-entropy long", func(dst, src []float32, rows, cols int) {
				asm.CrossEntropyLongRowsAVX2(dst, src, longTargets(src, rows, cols), rows, cols)
			}, crossEntropyGrad})
	}
	return ks
}

// crossEntropyGrad is the generic gradient of CrossEntropyRows against
// longTargets: the want of longKernels's CrossEntropy kernels.
func crossEntropyGrad(dst, src []float32, rows, cols int) {
	generic.CrossEntropyRows(dst, src, longTargets(src, rows, cols), cols)
}

// longTargets returns the targets that longKernels's CrossEntropy kernel
// takes for a batch at src: each row's from the bits of its first
// element, so that a row gets the same one alone and in a batch.
func longTargets(src []float32, rows, cols int) []int32 {
	t := make([]int32, rows)
	for r := range t {
		t[r] = int32(math.Float32bits(src[r*cols]) % uint32(cols))
	}
	return t
}

// longRowKinds returns rows of n elements, one of each kind that the
// long-row passes tell apart: rows on which the fused pass's guess holds
// (small and offset maxima, a first vector far below the max), and rows
// that fail each of its checks and run passes 1 and 2 as usual.
func longRowKinds(rng *rand.Rand, n int) (names []string, rows [][]float32) {
	add := func(name string, x []float32) {
		names, rows = append(names, name), append(rows, x)
	}
	add("std 4", normalRow(rng, n, 4, 0))
	add("std 1 off -150", normalRow(rng, n, 1, -150))
	add("std 1 off 190", normalRow(rng, n, 1, 190))
	x := normalRow(rng, n, 1, 0)
	for i := range 16 {
		x[i] = -60 // first vector's n about 94 below the max's: G < nm
	}
	add("first vector low", x)
	x = normalRow(rng, n, 1, 0)
	for i := range 16 {
		x[i] = -85 // nm - G > 126: the n_min check refuses the guess
	}
	add("first vector too low", x)
	x = normalRow(rng, n, 1, -180)
	for i := range 16 {
		x[i] = -240 // G < -335: past the row, s' would not be 0
	}
	add("first vector below -232", x)
	add("|max| > 208", normalRow(rng, n, 4, 300))
	add("max -1e4", normalRow(rng, n, 4, -1e4))
	add("wide", uniformRow(rng, n, -110, 0)) // terms flushed
	x = normalRow(rng, n, 4, 0)
	x[rng.IntN(n)] = nan
	add("NaN", x)
	x = normalRow(rng, n, 4, 0)
	x[rng.IntN(n)] = inf
	add("+Inf", x)
	x = normalRow(rng, n, 4, 0)
	x[n-1] = ninf
	add("-Inf at the end", x)
	x = normalRow(rng, n, 4, 0)
	x[rng.IntN(n)] = ninf
	x[0] = ninf
	add("-Inf at the start", x)
	x = make([]float32, n)
	for i := range x {
		x[i] = ninf
	}
	add("all -Inf", x)
	x = append([]float32(nil), x...)
	x[rng.IntN(n)] = nan
	add("-Inf and NaN", x)
	return names, rows
}

// TestBitExactSoftmaxRowsLong runs the longKernels on batches of rows
// of every kind of longRowKinds, just below and above longCols and with
// last blocks of every shape (a whole block, whole vectors, a last
// vector of at most 8 elements and of more), out of place and in place.
// Each row runs alone, and the batch of all kinds at once, in a random
// order: pass 3 runs a row late, after the next row's fused pass. With
// -short or under the race detector, two of the four lengths.
func TestBitExactSoftmaxRowsLong(t *testing.T) {
	for _, k := range longKernels() {
		kernel := k.run
		t.Run(k.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(81, 82))
			lengths := []int{longCols - 1, longCols, longCols + 37, longCols + 72}
			if testing.Short() || raceEnabled {
				lengths = []int{longCols - 1, longCols + 37}
			}
			for _, n := range lengths {
				names, rows := longRowKinds(rng, n)
				perm := rng.Perm(len(rows))
				var x []float32
				for _, r := range perm {
					x = append(x, rows[r]...)
				}
				want := make([]float32, len(x))
				k.want(want, x, len(x)/n, n)
				for k, r := range perm {
					what := fmt.Sprintf("n=%d %s", n, names[r])
					row, w := x[k*n:(k+1)*n], want[k*n:(k+1)*n]
					got := make([]float32, n)
					kernel(got, row, 1, n)
					compareBits(t, what, row, w, got)
					y := append([]float32(nil), row...)
					kernel(y, y, 1, n)
					compareBits(t, what+" in place", row, w, y)
				}
				got := make([]float32, len(x))
				kernel(got, x, len(rows), n)
				compareBits(t, fmt.Sprintf("n=%d batch", n), x, want, got)
				y := append([]float32(nil), x...)
				kernel(y, y, len(rows), n)
				compareBits(t, fmt.Sprintf("n=%d batch in place", n), x, want, y)
				if t.Failed() {
					return
				}
			}
		})
	}
}

// TestSoftmaxRowsLongAlignment runs the longKernels on long rows with
// dst at every element offset from a 64-byte boundary, where the AVX-512
// pass 3 stores the elements before the first boundary as usual and the
// rest with aligned non-temporal stores, out of place and in place; the
// AVX2 long kernels store non-temporally only with dst 32-byte aligned
// (offsets 0 and 8) and cols a multiple of 8, or for LogSoftmax 16-byte
// aligned (offsets 0, 4, 8 and 12) and cols a multiple of 4. The rows
// are of longCols+37, longCols+36, longCols+72 and longCols+48 elements,
// 2 a batch, so that the second row's dst is aligned as the first's at 72
// and 48 for Softmax, at 36, 72 and 48 for LogSoftmax, and at 48 alone for
// LogSoftmaxLongRowsAVX512, whose non-temporal stores need a dst aligned
// to 64 bytes (offset 0) and cols a multiple of 16.
func TestSoftmaxRowsLongAlignment(t *testing.T) {
	for _, k := range longKernels() {
		kernel := k.run
		t.Run(k.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(83, 84))
			for _, n := range []int{longCols + 37, longCols + 36, longCols + 72, longCols + 48} {
				rows := 2
				x := append(normalRow(rng, n, 4, 0), normalRow(rng, n, 1, -150)...)
				want := make([]float32, len(x))
				k.want(want, x, len(x)/n, n)
				buf := make([]float32, len(x)+32)
				base := int(uintptr(unsafe.Pointer(&buf[0]))%64) / 4 // buf[16-base] is aligned
				for off := range 16 {
					d := buf[16-base+off:][:len(x)]
					clear(buf)
					kernel(d, x, rows, n)
					compareBits(t, fmt.Sprintf("n=%d dst at %d elements past 64 bytes", n, off), x, want, d)
					copy(d, x)
					kernel(d, d, rows, n)
					compareBits(t, fmt.Sprintf("n=%d in place at %d elements past 64 bytes", n, off), x, want, d)
					if t.Failed() {
						return
					}
				}
			}
		})
	}
}

// TestSoftmaxRowsLongGuard runs the longKernels on long rows that end
// right before, and start right after, an inaccessible page, out of
// place and in place: the fused pass, the peel and the tail of pass 3
// must touch no element past the row.
func TestSoftmaxRowsLongGuard(t *testing.T) {
	for _, k := range longKernels() {
		kernel := k.run
		t.Run(k.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(85, 86))
			for _, n := range []int{longCols + 37, longCols + 72} {
				x := normalRow(rng, n, 4, 0)
				want := make([]float32, n)
				k.want(want, x, len(x)/n, n)
				checkGuards(t, x, want, func(dst, src []float32) { kernel(dst, src, 1, n) }, nil)
			}
		})
	}
}

// TestBitExactLongKernels runs the SoftmaxRows, LogSoftmaxRows, backward
// rows and CrossEntropy tests with every batch that the short kernels leave sent
// to the AVX2 long-row kernels (softmaxLongColsAVX2, softmaxLongElemsAVX2,
// logLongColsAVX2 and logLongElemsAVX2 1): rows of every length, of every kind, at every
// offset, and against guard pages. (CrossEntropyRows runs a group of
// short rows that the short kernel leaves row by row through
// CrossEntropyRowsAVX2, as it does without the long kernel.)
func TestBitExactLongKernels(t *testing.T) {
	if !avx2.supported() {
		t.Skip("AVX2 not supported by this CPU")
	}
	defer func(c, e, lc, le int) {
		softmaxLongColsAVX2, softmaxLongElemsAVX2, logLongColsAVX2, logLongElemsAVX2 = c, e, lc, le
	}(softmaxLongColsAVX2, softmaxLongElemsAVX2, logLongColsAVX2, logLongElemsAVX2)
	softmaxLongColsAVX2, softmaxLongElemsAVX2, logLongColsAVX2, logLongElemsAVX2 = 1, 1, 1, 1
	t.Run("Lengths", TestBitExactSoftmaxLengths)
	t.Run("Rows", TestBitExactSoftmaxRows)
	t.Run("RowsSpecials", TestBitExactSoftmaxRowsSpecials)
	t.Run("Specials", TestBitExactSoftmaxSpecials)
	t.Run("Offsets", TestBitExactSoftmaxOffsets)
	t.Run("Guard", TestGuardSoftmax)
	runLogSoftmaxTests(t)
	runBackwardTests(t)
	runCrossEntropyTests(t)
}

// runBackwardTests runs the backward Rows tests as subtests of t.
func runBackwardTests(t *testing.T) {
	t.Run("BackwardRows", TestBitExactBackwardRows)
	t.Run("BackwardRowsOffsets", TestBitExactBackwardRowsOffsets)
	t.Run("BackwardLengths", TestBitExactBackwardLengths)
	t.Run("BackwardLong", TestBitExactBackwardLong)
	t.Run("BackwardFastBound", TestBitExactBackwardFastBound)
	t.Run("GuardBackwardRows", TestGuardBackwardRows)
}

// runCrossEntropyTests runs the CrossEntropy(Rows) tests as subtests of t.
func runCrossEntropyTests(t *testing.T) {
	t.Run("CrossEntropyLengths", TestBitExactCrossEntropyLengths)
	t.Run("CrossEntropyRows", TestBitExactCrossEntropyRows)
	t.Run("CrossEntropyOrder", TestBitExactCrossEntropyOrder)
	t.Run("CrossEntropySpecials", TestBitExactCrossEntropySpecials)
	t.Run("CrossEntropyOffsets", TestBitExactCrossEntropyOffsets)
	t.Run("GuardCrossEntropy", TestGuardCrossEntropy)
}

// runLogSoftmaxTests runs the LogSoftmaxRows tests as subtests of t.
func runLogSoftmaxTests(t *testing.T) {
	t.Run("LogLengths", TestBitExactLogSoftmaxLengths)
	t.Run("LogRows", TestBitExactLogSoftmaxRows)
	t.Run("LogRowKinds", TestBitExactLogSoftmaxRowKinds)
	t.Run("LogSpecials", TestBitExactLogSoftmaxSpecials)
	t.Run("LogOffsets", TestBitExactLogSoftmaxOffsets)
	t.Run("LogGuard", TestGuardLogSoftmax)
}

// TestBitExactLongKernelsAVX512 runs the LogSoftmaxRows, backward Rows
// and CrossEntropy(Rows) tests with the AVX-512 long-row kernels'
// thresholds at 1 (logLongColsAVX512, logLongElemsAVX512, longColsAVX512
// and longElemsAVX512): rows of every length, of every kind, at every
// offset, and against guard pages. LogSoftmaxRows then sends every batch
// to LogSoftmaxLongRowsAVX512, short rows included; the backward Rows
// kernels send it what the short kernels leave to
// SoftmaxBackwardLongRowsAVX512 and LogSoftmaxBackwardLongRowsAVX512;
// CrossEntropyRows sends whole batches to CrossEntropyLongRowsAVX512, but
// runs a group of short rows that the short kernel leaves row by row
// through CrossEntropyRowsAVX512.
func TestBitExactLongKernelsAVX512(t *testing.T) {
	if !avx512.supported() {
		t.Skip("AVX-512 not supported by this CPU")
	}
	defer func(lc, le, c, e int) {
		logLongColsAVX512, logLongElemsAVX512, longColsAVX512, longElemsAVX512 = lc, le, c, e
	}(logLongColsAVX512, logLongElemsAVX512, longColsAVX512, longElemsAVX512)
	logLongColsAVX512, logLongElemsAVX512, longColsAVX512, longElemsAVX512 = 1, 1, 1, 1
	runLogSoftmaxTests(t)
	runBackwardTests(t)
	runCrossEntropyTests(t)
}

// TestBitExactBackwardLongKernels runs SoftmaxBackwardLongRowsAVX2,
// LogSoftmaxBackwardLongRowsAVX2 and their AVX-512 forms directly on
// batches of rows drawn by backwardBatch, at lengths around the chunks in
// which they run pass 2 from the row's end (8192 elements: a row of one
// chunk, of a chunk and a tail, of several chunks and tails of every
// kind), with dx at every element offset from a 64-byte boundary
// (non-temporal stores where dx is 32-byte aligned and cols a multiple of
// 8 on AVX2, 8192, 8200, 3*8192+48 and 3*8192+72 here; 64-byte aligned
// and a multiple of 16 on AVX-512, 8192 and 3*8192+48), in place (dx =
// y, dx = dy), and against guard pages.
func TestBitExactBackwardLongKernels(t *testing.T) {
	for _, k := range []struct {
		backwardKernel
		name string
		im   *Implementation
		run  func(dx, y, dy []float32, rows, cols int)
	}{
		{backwardKernels[0], "SoftmaxBackward", avx2, asm.SoftmaxBackwardLongRowsAVX2},
		{backwardKernels[1], "LogSoftmaxBackward", avx2, asm.LogSoftmaxBackwardLongRowsAVX2},
		{backwardKernels[0], "SoftmaxBackwardLongRowsAVX512", avx512, asm.SoftmaxBackwardLongRowsAVX512},
		{backwardKernels[1], "LogSoftmaxBackwardLongRowsAVX512", avx512, asm.LogSoftmaxBackwardLongRowsAVX512},
	} {
		t.Run(k.name, func(t *testing.T) {
			if !k.im.supported() {
				t.Skip("not supported by this CPU")
			}
			rng := rand.New(rand.NewPCG(87, 88))
			for _, n := range []int{100, 8191, 8192, 8200, 3*8192 + 37, 3*8192 + 48, 3*8192 + 72} {
				const rows = 3
				y, dy := backwardBatch(rng, rows, n, k.log)
				want := genericBackwardRows(k.backwardKernel, y, dy, n)
				buf := make([]float32, len(y)+32)
				base := int(uintptr(unsafe.Pointer(&buf[0]))%64) / 4 // buf[16-base] is aligned
				for off := range 16 {
					d := buf[16-base+off:][:len(y)]
					clear(buf)
					k.run(d, y, dy, rows, n)
					compareBits(t, fmt.Sprintf("n=%d dx at %d elements past 64 bytes", n, off), y, want, d)
					copy(d, y)
					k.run(d, d, dy, rows, n)
					compareBits(t, fmt.Sprintf("n=%d dx = y at %d elements past 64 bytes", n, off), y, want, d)
					copy(d, dy)
					k.run(d, y, d, rows, n)
					compareBits(t, fmt.Sprintf("n=%d dx = dy at %d elements past 64 bytes", n, off), y, want, d)
				}
				ys, dys, dx := endAtGuard(t, len(y)), startAfterGuard(t, len(y)), endAtGuard(t, len(y))
				copy(ys, y)
				copy(dys, dy)
				what := fmt.Sprintf("n=%d, y and dx at the end of a page, dy at the start of one", n)
				catchFault(t, what, func() { k.run(dx, ys, dys, rows, n) })
				compareBits(t, what, y, want, dx)
				dx = startAfterGuard(t, len(y))
				what = fmt.Sprintf("n=%d, dx at the start of a page", n)
				catchFault(t, what, func() { k.run(dx, ys, dys, rows, n) })
				compareBits(t, what, y, want, dx)
				if t.Failed() {
					return
				}
			}
		})
	}
}
