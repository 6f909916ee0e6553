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

// TestBitExactMediumKernel runs SoftmaxMediumRowsAVX512 directly on every
// row length it handles, 17..128, including those past softmaxMediumCols
// that SoftmaxRows does not send it (two blocks of 4 vectors from 65
// columns on): the rows it reports done must have generic's bits, and
// the rest of dst must be untouched unless the kernel left a group (a
// special row) after writing to it.
func TestBitExactMediumKernel(t *testing.T) {
	if !avx512.supported() {
		t.Skip("no AVX-512")
	}
	rng := rand.New(rand.NewPCG(49, 50))
	for cols := shortCols + 1; cols <= 128; cols++ {
		for _, rows := range []int{4, 7, 8, 13, 20} {
			// Rows of N(0, 16): every max well within 208, so that
			// every group but one with a special row is done here.
			x := normalRow(rng, rows*cols, 4, 0)
			if rows == 13 {
				copy(x[9*cols:], shortSpecials[rng.IntN(len(shortSpecials))].row(rng, cols))
			}
			want := make([]float32, len(x))
			generic.SoftmaxRows(want, x, cols)
			got := make([]float32, len(x))
			for i := range got {
				got[i] = nan // what the kernel must not write past the rows done
			}
			done := asm.SoftmaxMediumRowsAVX512(got, x, rows, cols)
			if done%4 != 0 || done > rows || (rows != 13 && done != rows/4*4) || (rows == 13 && done != 8 && done != 12) {
				t.Fatalf("%dx%d: %d rows done", rows, cols, done)
			}
			what := fmt.Sprintf("%dx%d", rows, cols)
			compareBits(t, what, x[:done*cols], want[:done*cols], got[:done*cols])
			rest := done * cols
			if done < rows/4*4 {
				rest += 4 * cols // the group left, which the kernel may have written
			}
			for i := rest; i < len(got); i++ {
				if got[i] == got[i] {
					t.Fatalf("%s: [%d] written past the rows done: %v", what, i, got[i])
				}
			}
		}
		if t.Failed() {
			return
		}
	}
}

// scaledGroupCols are the row lengths that ScaledSoftmaxRows runs through
// the group kernels on AVX-512: the short ones, and out of place the
// medium ones.
func scaledGroupCols() []int {
	var cs []int
	for c := 1; c <= mediumCols; c++ {
		cs = append(cs, c)
	}
	return cs
}

// scaledGroupMask returns a mask of kind 0 (none), 1 (one row for every
// row) or 2 (one row per row) for rows of cols elements: normal, with
// -Inf now and then, and with fully masked rows if full; else every row
// has a finite element.
func scaledGroupMask(rng *rand.Rand, kind, rows, cols int, full bool) []float32 {
	var m []float32
	switch kind {
	case 0:
		return nil
	case 1:
		m = normalRow(rng, cols, 1, 0)
	default:
		m = normalRow(rng, rows*cols, 1, 0)
	}
	for i := range m {
		if rng.IntN(5) == 0 {
			m[i] = ninf
		}
	}
	if !full {
		for r := range len(m) / cols {
			m[r*cols+rng.IntN(cols)] = float32(rng.NormFloat64())
		}
	}
	if full && kind == 1 && rng.IntN(4) == 0 {
		for i := range m {
			m[i] = ninf
		}
	}
	if full && kind == 2 {
		r := rng.IntN(rows)
		for i := range m[r*cols : (r+1)*cols] {
			m[r*cols+i] = ninf
		}
	}
	return m
}

// TestBitExactScaledShortKernels runs the scaled short-row and
// medium-row kernels directly on batches of ordinary rows, with every mask kind and scales
// that keep z ordinary (0 among them: z is the mask, and a lane past the
// row that were computed as 0*(-Inf) would be NaN): every whole group must
// be done, with the bits of fallback.ScaledSoftmaxRows, in place too.
func TestBitExactScaledShortKernels(t *testing.T) {
	if !avx512.supported() {
		t.Skip("no AVX-512")
	}
	rng := rand.New(rand.NewPCG(59, 60))
	checkScaledGroupKernels(t, rng, scaledGroupCols(), fallback.ScaledSoftmaxRows, false, false,
		func(medium bool, kind int, got, src, mask []float32, scale float32, rows, cols int) int {
			switch {
			case !medium && kind == 0:
				return asm.ScaledSoftmaxShortRowsNoMaskAVX512(got, src, scale, rows, cols)
			case !medium && kind == 1:
				return asm.ScaledSoftmaxShortRowsBcastAVX512(got, src, mask, scale, rows, cols)
			case !medium:
				return asm.ScaledSoftmaxShortRowsAVX512(got, src, mask, scale, rows, cols)
			case kind == 0:
				return asm.ScaledSoftmaxMediumRowsNoMaskAVX512(got, src, scale, rows, cols)
			case kind == 1:
				return asm.ScaledSoftmaxMediumRowsBcastAVX512(got, src, mask, scale, rows, cols)
			}
			return asm.ScaledSoftmaxMediumRowsAVX512(got, src, mask, scale, rows, cols)
		})
}

// checkScaledGroupKernels runs scaled AVX-512 group kernels directly
// through run: the short kernel of a mask kind up to shortCols columns,
// the medium one past them (kind 0: no mask, 1: one mask row for all
// rows, 2: a mask row per row), on
// batches of ordinary rows of each of colsList columns, with scales that
// keep z ordinary (0 among them: z is the mask, and a lane past the row
// that were computed as 0*(-Inf) would be NaN): every whole group must be
// done, with ref's bits, out of place and in place (the medium kernels in
// place only with mediumInPlace); with checkRest, nothing past the rows
// done may be written.
func checkScaledGroupKernels(t *testing.T, rng *rand.Rand, colsList []int, ref func(dst, src, mask []float32, scale float32, cols int), mediumInPlace, checkRest bool,
	run func(medium bool, kind int, dst, src, mask []float32, scale float32, rows, cols int) int) {
	t.Helper()
	for _, cols := range colsList {
		for _, rows := range []int{8, 13, 16, 23, 40} {
			for kind := range 3 {
				scale := []float32{1, 0.125, -1, 2, 0, float32(math.Copysign(0, -1)), 0x1p-149}[rng.IntN(7)]
				x := normalRow(rng, rows*cols, 4, 0)
				mask := scaledGroupMask(rng, kind, rows, cols, false)
				want := make([]float32, len(x))
				ref(want, x, mask, scale, cols)
				what := fmt.Sprintf("%dx%d mask kind %d scale %v", rows, cols, kind, scale)
				for _, inPlace := range []bool{false, true} {
					got := make([]float32, len(x))
					src := x
					if inPlace {
						copy(got, x)
						src = got
					}
					group := 8
					if cols > shortCols {
						if inPlace && !mediumInPlace {
							continue // the medium kernel runs out of place only
						}
						group = 4
					}
					done := run(group == 4, kind, got, src, mask, scale, rows, cols)
					if done != rows/group*group {
						t.Fatalf("%s: %d rows done", what, done)
					}
					compareBits(t, what, x[:done*cols], want[:done*cols], got[:done*cols])
					if !checkRest {
						continue
					}
					for i := done * cols; i < len(got); i++ {
						if g := got[i]; (inPlace && math.Float32bits(g) != math.Float32bits(x[i])) || (!inPlace && g != 0) {
							t.Fatalf("%s: [%d] written past the rows done: %v", what, i, g)
						}
					}
				}
			}
		}
		if t.Failed() {
			return
		}
	}
}

// TestBitExactScaledShortRows runs ScaledSoftmaxRows on AVX-512 on batches
// of short rows with special rows (NaN, infinities, maxima beyond 208, a
// fully masked row) at random positions, so that groups fall back to the
// row kernel between groups that do not, special scales, every mask kind,
// out of place and in place, against fallback.ScaledSoftmaxRows.
func TestBitExactScaledShortRows(t *testing.T) {
	if !avx512.supported() {
		t.Skip("no AVX-512")
	}
	rng := rand.New(rand.NewPCG(61, 62))
	checkScaledShortBatches(t, rng, avx512, scaledKernels[0], scaledGroupCols())
}

// checkScaledShortBatches runs k on im on batches of 1 to 40 rows of each
// of colsList columns, with up to two special rows at random positions, a
// special scale one time in three, and every mask kind, against the
// fallback (see checkScaled). It stops at the first cols that fails.
func checkScaledShortBatches(t *testing.T, rng *rand.Rand, im *Implementation, k scaledKernel, colsList []int) {
	t.Helper()
	for _, cols := range colsList {
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
				checkScaled(t, fmt.Sprintf("%dx%d mask kind %d scale %v", rows, cols, kind, scale), im, k, x, mask, scale, cols)
			}
		}
		if t.Failed() {
			return
		}
	}
}

// TestGuardScaledShortRows places batches of short rows, and their masks,
// against inaccessible pages, for ScaledSoftmaxRows on AVX-512.
func TestGuardScaledShortRows(t *testing.T) {
	if !avx512.supported() {
		t.Skip("no AVX-512")
	}
	rng := rand.New(rand.NewPCG(63, 64))
	checkScaledShortGuards(t, rng, scaledGroupCols(), fallback.ScaledSoftmaxRows, avx512.ScaledSoftmaxRows)
}

// checkScaledShortGuards places batches of 8, 16 and 19 rows of each of
// colsList columns, and their masks (one per row, or one for all rows),
// against inaccessible pages, for run with scale 0.5, against ref.
func checkScaledShortGuards(t *testing.T, rng *rand.Rand, colsList []int, ref, run func(dst, src, mask []float32, scale float32, cols int)) {
	t.Helper()
	for _, cols := range colsList {
		for _, rows := range []int{8, 16, 19} {
			for kind := 1; kind < 3; kind++ {
				x := normalRow(rng, rows*cols, 4, 0)
				m := scaledGroupMask(rng, kind, rows, cols, false)
				want := make([]float32, len(x))
				ref(want, x, m, 0.5, cols)
				for _, place := range []func(testing.TB, int) []float32{endAtGuard, startAfterGuard} {
					mask := place(t, len(m))
					copy(mask, m)
					checkGuards(t, x, want, func(dst, src []float32) { run(dst, src, mask, 0.5, cols) }, nil)
				}
			}
		}
	}
}

// TestBitExactCausalShortRows runs CausalSoftmaxRows on AVX-512 on
// batches of short and medium rows: ordinary rows with offsets that leave
// every k at 1 or more, where CausalSoftmaxShortRowsAVX512 or
// CausalSoftmaxMediumRowsAVX512, called directly, must do every whole
// group; then, through the implementation, with offsets that
// leave rows empty, partial and full, special rows among ordinary ones,
// special scales, out of place and in place, against
// fallback.CausalSoftmaxRows.
func TestBitExactCausalShortRows(t *testing.T) {
	if !avx512.supported() {
		t.Skip("no AVX-512")
	}
	rng := rand.New(rand.NewPCG(65, 66))
	for cols := 1; cols <= mediumCols; cols++ {
		for _, rows := range []int{8, 13, 16, 23, 40} {
			x := normalRow(rng, rows*cols, 4, 0)
			scale := []float32{1, 0.125, -1, 0, 0x1p-149}[rng.IntN(5)]
			offset := rng.IntN(cols + 2)
			want, got := make([]float32, len(x)), make([]float32, len(x))
			fallback.CausalSoftmaxRows(want, x, scale, cols, offset)
			group := 8
			var done int
			if cols <= shortCols {
				done = asm.CausalSoftmaxShortRowsAVX512(got, x, scale, rows, cols, offset)
			} else {
				group = 4
				done = asm.CausalSoftmaxMediumRowsAVX512(got, x, scale, rows, cols, offset)
			}
			what := fmt.Sprintf("%dx%d offset %d scale %v", rows, cols, offset, scale)
			if done != rows/group*group {
				t.Fatalf("%s: %d rows done", what, done)
			}
			compareBits(t, what, x[:done*cols], want[:done*cols], got[:done*cols])
		}
		for rows := 1; rows <= 40; rows++ {
			x := shortBatch(rng, rows, cols)
			for range rng.IntN(3) {
				copy(x[rng.IntN(rows)*cols:], shortSpecials[rng.IntN(len(shortSpecials))].row(rng, cols))
			}
			scale := float32(0.125)
			if rng.IntN(3) == 0 {
				scale = fusedScales[rng.IntN(len(fusedScales))]
			}
			offset := []int{0, cols - rows, -1 - rng.IntN(rows+1), rng.IntN(cols + 2), -rng.IntN(10), math.MaxInt, math.MinInt}[rng.IntN(7)]
			want, got := make([]float32, len(x)), make([]float32, len(x))
			fallback.CausalSoftmaxRows(want, x, scale, cols, offset)
			avx512.CausalSoftmaxRows(got, x, scale, cols, offset)
			what := fmt.Sprintf("%dx%d offset %d scale %v", rows, cols, offset, scale)
			compareBits(t, what, x, want, got)
			in := append([]float32(nil), x...)
			avx512.CausalSoftmaxRows(in, in, scale, cols, offset)
			compareBits(t, what+", in place", x, want, in)
		}
		if t.Failed() {
			return
		}
	}
}

// TestGuardCausalShortRows places batches of short rows against
// inaccessible pages, for CausalSoftmaxRows on AVX-512.
func TestGuardCausalShortRows(t *testing.T) {
	if !avx512.supported() {
		t.Skip("no AVX-512")
	}
	rng := rand.New(rand.NewPCG(67, 68))
	for cols := 1; cols <= mediumCols; cols++ {
		for _, rows := range []int{8, 16, 19} {
			x := normalRow(rng, rows*cols, 4, 0)
			offset := rng.IntN(cols+4) - 2
			want := make([]float32, len(x))
			fallback.CausalSoftmaxRows(want, x, 0.5, cols, offset)
			checkGuards(t, x, want, func(dst, src []float32) { avx512.CausalSoftmaxRows(dst, src, 0.5, cols, offset) }, nil)
		}
	}
}

// logGroupCols are the row lengths that LogSoftmaxRows runs through the
// LogSoftmax group kernels on AVX-512 in place and out of place (out of
// place up to 192).
func logGroupCols() []int {
	var cs []int
	for c := 1; c <= mediumCols; c++ {
		cs = append(cs, c)
	}
	return cs
}

// logGroupKernel calls the LogSoftmax group kernel for rows of cols
// elements and returns the rows it did and its group size.
func logGroupKernel(dst, src []float32, rows, cols int) (done, group int) {
	if cols > shortCols {
		return asm.LogSoftmaxMediumRowsAVX512(dst, src, rows, cols), 4
	}
	return asm.LogSoftmaxShortRowsAVX512(dst, src, rows, cols), 8
}

// groupsDone returns the rows that a group kernel must do on the batch
// x: its groups of group rows up to the first that holds a row with a
// NaN, or whose max is infinite or beyond 208 in magnitude.
func groupsDone(x []float32, rows, cols, group int) int {
	for r := range rows / group * group {
		row := x[r*cols : (r+1)*cols]
		m := float32(math.Inf(-1))
		for _, v := range row {
			if v != v {
				return r / group * group
			}
			m = max(m, v)
		}
		if !(m >= -208 && m <= 208) {
			return r / group * group
		}
	}
	return rows / group * group
}

// TestBitExactLogShortKernel runs the LogSoftmax group kernel directly on
// batches of ordinary rows, out of place and in place: it must do every
// whole group up to the first with a special row (see groupsDone), with
// the bits of fallback.LogSoftmaxRows, and write nothing past them: not
// the rows%8 last rows, nor a group it left. Special rows are put in
// the second of three groups. Every row length 1..192 is run.
func TestBitExactLogShortKernel(t *testing.T) {
	if !avx512.supported() {
		t.Skip("no AVX-512")
	}
	rng := rand.New(rand.NewPCG(69, 70))
	// Every length the group kernels run out of place, 1..192, then one
	// past.
	var colsList []int
	for c := 1; c <= 192; c++ {
		colsList = append(colsList, c)
	}
	for _, cols := range append(colsList, 300) {
		for _, rows := range []int{8, 13, 16, 23, 40} {
			x := shortBatch(rng, rows, cols)
			want := make([]float32, len(x))
			fallback.LogSoftmaxRows(want, x, cols)
			for _, inPlace := range []bool{false, true} {
				what := fmt.Sprintf("%dx%d in place %v", rows, cols, inPlace)
				got := make([]float32, len(x))
				for i := range got {
					got[i] = 12345
				}
				src := x
				if inPlace {
					copy(got, x)
					src = got
				}
				done, group := logGroupKernel(got, src, rows, cols)
				if done != groupsDone(x, rows, cols, group) {
					t.Fatalf("%s: %d rows done", what, done)
				}
				compareBits(t, what, x[:done*cols], want[:done*cols], got[:done*cols])
				for i := done * cols; i < len(got); i++ {
					if g := got[i]; (inPlace && math.Float32bits(g) != math.Float32bits(x[i])) || (!inPlace && g != 12345) {
						t.Fatalf("%s: [%d] written past the rows done: %v", what, i, g)
					}
				}
			}
		}
		// Rows of signed zeros among ordinary rows: a row of one -0 has
		// l = +0 and y = -0, which the clamp at 0 must keep; so has a row
		// whose max is a -0 and whose other elements are below -120 (S
		// rounds to 1), at any length.
		{
			rows := 16
			x := normalRow(rng, rows*cols, 4, 0)
			for r := range rows {
				switch rng.IntN(3) {
				case 0:
					for i := range cols {
						x[r*cols+i] = float32(math.Copysign(0, float64(rng.IntN(2)*2-1)))
					}
				case 1:
					for i := range cols {
						x[r*cols+i] = -120 - 80*rng.Float32()
					}
					x[r*cols+rng.IntN(cols)] = float32(math.Copysign(0, float64(rng.IntN(2)*2-1)))
				}
			}
			want := make([]float32, len(x))
			fallback.LogSoftmaxRows(want, x, cols)
			got := append([]float32(nil), x...)
			done, group := logGroupKernel(got, got, rows, cols)
			what := fmt.Sprintf("%dx%d, signed zeros", rows, cols)
			if done != rows/group*group {
				t.Fatalf("%s: %d rows done", what, done)
			}
			compareBits(t, what, x, want, got)
		}
		// A special row in group 1 of 3: group 0 done, the rest left.
		for _, sp := range shortSpecials {
			rows := 24
			x := shortBatch(rng, rows, cols)
			pos := 8 + rng.IntN(8)
			copy(x[pos*cols:], sp.row(rng, cols))
			want := make([]float32, len(x))
			fallback.LogSoftmaxRows(want, x, cols)
			got := append([]float32(nil), x...)
			done, group := logGroupKernel(got, got, rows, cols)
			what := fmt.Sprintf("%dx%d, %s row at %d", rows, cols, sp.name, pos)
			if done != groupsDone(x, rows, cols, group) {
				t.Fatalf("%s: %d rows done", what, done)
			}
			compareBits(t, what, x[:done*cols], want[:done*cols], got[:done*cols])
			if _, ok := bitsEqual(got[done*cols:], x[done*cols:]); !ok {
				t.Fatalf("%s: a group left was written", what)
			}
		}
		if t.Failed() {
			return
		}
	}
}

// checkLogRows compares im.LogSoftmaxRows, out of place and in place, with
// fallback.LogSoftmaxRows.
func checkLogRows(t *testing.T, im *Implementation, what string, x []float32, cols int) {
	t.Helper()
	checkBatch(t, what, x, cols, fallback.LogSoftmaxRows, im.LogSoftmaxRows)
}

// TestBitExactLogShortRows runs LogSoftmaxRows on AVX-512 and AVX2 on batches of
// 1..40 short rows, ordinary, then with one or two special rows at random
// positions, so that groups fall back to the row kernel between groups
// that do not.
func TestBitExactLogShortRows(t *testing.T) {
	forEachSIMD(t, func(t *testing.T, im *Implementation) {
		rng := rand.New(rand.NewPCG(71, 72))
		for _, cols := range append(logGroupCols(), 49, 63, 64, 65, 100, 127, 128, 129, 192, 193) {
			for rows := 1; rows <= 40; rows++ {
				x := shortBatch(rng, rows, cols)
				checkLogRows(t, im, fmt.Sprintf("%dx%d", rows, cols), x, cols)
				what := fmt.Sprintf("%dx%d", rows, cols)
				for range 1 + rng.IntN(2) {
					what += addSpecialRow(rng, x, rows, cols)
				}
				checkLogRows(t, im, what, x, cols)
			}
			if t.Failed() {
				return
			}
		}
	})
}

// TestGuardLogShortRows places batches of short rows against
// inaccessible pages, for LogSoftmaxRows on AVX-512 and AVX2.
func TestGuardLogShortRows(t *testing.T) {
	forEachSIMD(t, func(t *testing.T, im *Implementation) {
		rng := rand.New(rand.NewPCG(73, 74))
		for _, cols := range append(logGroupCols(), 64, 100, 128) {
			for _, rows := range []int{8, 9, 16, 23} {
				x := shortBatch(rng, rows, cols)
				if rows == 23 {
					copy(x[3*cols:], shortSpecials[6].row(rng, cols)) // max > 208
				}
				want := make([]float32, len(x))
				fallback.LogSoftmaxRows(want, x, cols)
				checkGuards(t, x, want, func(dst, src []float32) { im.LogSoftmaxRows(dst, src, cols) }, nil)
			}
		}
	})
}

// TestBitExactScaledLogShortKernels runs the scaled LogSoftmax short-row
// and medium-row kernels directly on batches of ordinary rows, with every mask kind and
// scales that keep z ordinary: every whole group must be done, with the
// bits of fallback.ScaledLogSoftmaxRows, in place too, and nothing past
// them written.
func TestBitExactScaledLogShortKernels(t *testing.T) {
	if !avx512.supported() {
		t.Skip("no AVX-512")
	}
	rng := rand.New(rand.NewPCG(75, 76))
	checkScaledGroupKernels(t, rng, append(logGroupCols(), 64, 100, 128), fallback.ScaledLogSoftmaxRows, true, true,
		func(medium bool, kind int, got, src, mask []float32, scale float32, rows, cols int) int {
			switch {
			case !medium && kind == 0:
				return asm.ScaledLogSoftmaxShortRowsNoMaskAVX512(got, src, scale, rows, cols)
			case !medium && kind == 1:
				return asm.ScaledLogSoftmaxShortRowsBcastAVX512(got, src, mask, scale, rows, cols)
			case !medium:
				return asm.ScaledLogSoftmaxShortRowsAVX512(got, src, mask, scale, rows, cols)
			case kind == 0:
				return asm.ScaledLogSoftmaxMediumRowsNoMaskAVX512(got, src, scale, rows, cols)
			case kind == 1:
				return asm.ScaledLogSoftmaxMediumRowsBcastAVX512(got, src, mask, scale, rows, cols)
			}
			return asm.ScaledLogSoftmaxMediumRowsAVX512(got, src, mask, scale, rows, cols)
		})
}

// TestBitExactScaledLogShortRows runs ScaledLogSoftmaxRows on AVX-512 and AVX2 on
// batches of short rows with special rows (NaN, infinities, maxima beyond
// 208, a fully masked row) at random positions, special scales, every
// mask kind, out of place and in place, against
// fallback.ScaledLogSoftmaxRows; and against guard pages.
func TestBitExactScaledLogShortRows(t *testing.T) {
	forEachSIMD(t, func(t *testing.T, im *Implementation) {
		rng := rand.New(rand.NewPCG(77, 78))
		checkScaledShortBatches(t, rng, im, scaledKernels[1], append(logGroupCols(), 49, 64, 100, 128, 129))
		if t.Failed() {
			return
		}
		checkScaledShortGuards(t, rng, append(logGroupCols(), 64, 100, 128), fallback.ScaledLogSoftmaxRows, im.ScaledLogSoftmaxRows)
	})
}

// TestBitExactLogShortRowsOffsets runs batches of short and medium rows
// through LogSoftmaxRows and ScaledLogSoftmaxRows on AVX-512 and AVX2 at every
// offset of src and dst, and checks that nothing around dst is written.
func TestBitExactLogShortRowsOffsets(t *testing.T) {
	forEachSIMD(t, func(t *testing.T, im *Implementation) {
		rng := rand.New(rand.NewPCG(79, 80))
		for _, cols := range []int{1, 3, 7, 8, 9, 10, 15, 16, 17, 31, 32, 48, 100} {
			for _, rows := range []int{8, 17, 24} {
				x := shortBatch(rng, rows, cols)
				if rows == 17 {
					copy(x[9*cols:], shortSpecials[0].row(rng, cols))
				}
				want := make([]float32, len(x))
				fallback.LogSoftmaxRows(want, x, cols)
				checkOffsets(t, x, want, func(dst, src []float32) { im.LogSoftmaxRows(dst, src, cols) }, nil)
				mask := scaledGroupMask(rng, 2, rows, cols, false)
				fallback.ScaledLogSoftmaxRows(want, x, mask, 0.25, cols)
				checkOffsets(t, x, want, func(dst, src []float32) { im.ScaledLogSoftmaxRows(dst, src, mask, 0.25, cols) }, nil)
			}
			if t.Failed() {
				return
			}
		}
	})
}
