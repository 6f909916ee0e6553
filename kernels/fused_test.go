package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/go-softmax/softmax/fallback"
	"github.com/go-softmax/softmax/internal/ref"
)

// The fused kernels (scale and mask, causal rows, softmax along an axis,
// chunk statistics): accuracy against the float64 reference, the
// definitions they are documented with, special values, arguments,
// allocations and concurrent use, on every implementation. Bit-exactness
// against package fallback is in bitexact_fused_test.go.

// testScales are the scales the scaled kernels are tested with: 1, the
// attention scales 1/sqrt(64) and 1/sqrt(128), temperatures, a negative
// one.
var testScales = []float32{1, 0.125, 0.088388346, 1 / 0.7, 2, 0.5, -1}

// testMask returns a mask for rows of cols elements: nil (kind 0), one
// broadcast row (1) or one row per row (2). Its values are N(0, 1), a
// bias, with -Inf at random places (about one in six), and for a per-row
// mask sometimes a fully masked row.
func testMask(rng *rand.Rand, kind, rows, cols int) []float32 {
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
		if rng.IntN(6) == 0 {
			m[i] = ninf
		}
	}
	if kind == 2 && rows > 1 && rng.IntN(2) == 0 {
		r := rng.IntN(rows)
		for i := range m[r*cols : (r+1)*cols] {
			m[r*cols+i] = ninf
		}
	}
	return m
}

// maskOfRow returns the mask of row r (nil, the broadcast row, or row r).
func maskOfRow(mask []float32, r, cols int) []float32 {
	if len(mask) == 0 || len(mask) == cols {
		return mask
	}
	return mask[r*cols : (r+1)*cols]
}

// scaledZ returns z = scale*x + mask as the scaled kernels define it,
// computed by the reference (ref.Fma32, a method of its own).
func scaledZ(x, mask []float32, scale float32) []float32 {
	z := make([]float32, len(x))
	for i, v := range x {
		z[i] = ref.Scaled(scale, v, mask, i)
	}
	return z
}

// fusedAcc accumulates the errors of the fused kernels with the bounds of
// accuracy_test.go: Softmax outputs in ULPs (max, and mean over each row
// of meanMinCount outputs and each group), log outputs in units of
// 2^-24*max(1, |ref|). Every NaN output must be the canonical one.
type fusedAcc struct {
	sm, log ref.Stats
	groups  map[string]*ref.Stats
}

func addStats(dst *ref.Stats, s ref.Stats) {
	dst.Max = math.Max(dst.Max, s.Max)
	dst.Sum += s.Sum
	dst.N += s.N
}

// softmax checks Softmax-like outputs; z are the values softmax was taken
// of: the mean is checked only where they hold 100 distinct values or more
// (a row of one repeated value has one error, that of 1/n, repeated; see
// accuracy).
func (a *fusedAcc) softmax(t *testing.T, what, group string, z, got []float32, want []float64) {
	t.Helper()
	var row ref.Stats
	for i := range got {
		u, ok := ref.SoftmaxErr(got[i], want[i])
		if !ok || u > softmaxMaxULP || u != u || want[i] != want[i] && !isCanonicalNaN(got[i]) {
			t.Errorf("%s: [%d] = %g (%#x), reference %g: %.3f ULP > %g", what, i, got[i], math.Float32bits(got[i]), want[i], u, softmaxMaxULP)
			return
		}
		if math.Abs(want[i]) >= ref.MinNormal32 {
			row.Add(u)
		}
	}
	addStats(&a.sm, row)
	if distinct(z) >= 100 {
		if row.N >= meanMinCount && row.Mean() > softmaxMeanULP {
			t.Errorf("%s: mean error %.3f ULP > %g", what, row.Mean(), softmaxMeanULP)
		}
		if a.groups == nil {
			a.groups = map[string]*ref.Stats{}
		}
		if a.groups[group] == nil {
			a.groups[group] = new(ref.Stats)
		}
		addStats(a.groups[group], row)
	}
}

// logSoftmax checks LogSoftmax-like outputs.
func (a *fusedAcc) logSoftmax(t *testing.T, what string, got []float32, want []float64) {
	t.Helper()
	for i := range got {
		e := ref.LogErr(got[i], want[i])
		if e > logBound || e != e || want[i] != want[i] && !isCanonicalNaN(got[i]) {
			t.Errorf("%s: log [%d] = %g (%#x), reference %g: error %.3f > %g", what, i, got[i], math.Float32bits(got[i]), want[i], e, logBound)
			return
		}
		a.log.Add(e)
	}
}

// done checks the group means and logs the figures.
func (a *fusedAcc) done(t *testing.T, name string) {
	t.Helper()
	for g, st := range a.groups {
		if st.N >= meanMinCount && st.Mean() > softmaxMeanULP {
			t.Errorf("%s, group %s: mean error %.3f ULP over %d outputs > %g", name, g, st.Mean(), st.N, softmaxMeanULP)
		}
	}
	t.Logf("%s: max %.3f mean %.3f ULP (%d outputs)", name, a.sm.Max, a.sm.Mean(), a.sm.N)
	if a.log.N > 0 {
		t.Logf("%s, log form: max %.3f (units of 2^-24*max(1,|ref|), %d outputs)", name, a.log.Max, a.log.N)
	}
}

// randomBatches groups randomCases by length: each batch is the rows of
// one group, concatenated.
func randomBatches(seed uint64) (batches [][]float32, cols []int, groups []string) {
	cs := randomCases(seed)
	for i := 0; i < len(cs); {
		j := i
		var x []float32
		for ; j < len(cs) && cs[j].group == cs[i].group; j++ {
			x = append(x, cs[j].x...)
		}
		if n := len(cs[i].x); n > 0 {
			batches, cols, groups = append(batches, x), append(cols, n), append(groups, cs[i].group)
		}
		i = j
	}
	return batches, cols, groups
}

func TestAccuracyScaled(t *testing.T) {
	skipAccuracyIfShort(t)
	batches, cols, groups := randomBatches(41)
	forEachImpl(t, func(t *testing.T, im *Implementation) {
		var a fusedAcc
		rng := rand.New(rand.NewPCG(1, 2))
		for b, x := range batches {
			n := cols[b]
			rows := len(x) / n
			kind, scale := b%3, testScales[rng.IntN(len(testScales))]
			mask := testMask(rng, kind, rows, n)
			got := make([]float32, len(x))
			lgot := make([]float32, len(x))
			im.ScaledSoftmaxRows(got, x, mask, scale, n)
			im.ScaledLogSoftmaxRows(lgot, x, mask, scale, n)
			want := make([]float64, n)
			for r := 0; r < rows; r++ {
				xr, mr := x[r*n:(r+1)*n], maskOfRow(mask, r, n)
				what := fmt.Sprintf("%s row %d, mask kind %d, scale %v", groups[b], r, kind, scale)
				ref.ScaledSoftmax(want, xr, mr, scale)
				a.softmax(t, what, groups[b], scaledZ(xr, mr, scale), got[r*n:(r+1)*n], want)
				ref.ScaledLogSoftmax(want, xr, mr, scale)
				a.logSoftmax(t, what, lgot[r*n:(r+1)*n], want)
			}
			if t.Failed() {
				return
			}
		}
		a.done(t, "ScaledSoftmaxRows")
	})
}

// TestScaledDefinition checks the definition of the scaled kernels on
// every implementation: the result is SoftmaxRows (LogSoftmaxRows) of z =
// scale*x + mask rounded once to float32, bit for bit, for every mask
// kind and scale, on rows with special values; with scale 1 and no mask
// it is SoftmaxRows of x itself, and no mask is a mask of -0.
func TestScaledDefinition(t *testing.T) {
	forEachImpl(t, func(t *testing.T, im *Implementation) {
		rng := rand.New(rand.NewPCG(3, 4))
		scales := append([]float32{0, float32(math.Copysign(0, -1)), 1e-30, 1e30, inf, nan}, testScales...)
		for _, n := range []int{1, 2, 7, 16, 17, 64, 100, 257} {
			for rep := 0; rep < 12; rep++ {
				rows := 1 + rng.IntN(4)
				x := make([]float32, 0, rows*n)
				for r := 0; r < rows; r++ {
					x = append(x, softmaxInput(rng, n)...)
				}
				kind, scale := rep%3, scales[rng.IntN(len(scales))]
				mask := testMask(rng, kind, rows, n)
				if mask != nil && rng.IntN(4) == 0 {
					mask[rng.IntN(len(mask))] = []float32{inf, nan, ninf}[rng.IntN(3)]
				}
				what := fmt.Sprintf("%dx%d mask kind %d scale %v", rows, n, kind, scale)
				z := make([]float32, len(x))
				for r := 0; r < rows; r++ {
					copy(z[r*n:], scaledZ(x[r*n:(r+1)*n], maskOfRow(mask, r, n), scale))
				}
				for _, log := range []bool{false, true} {
					want, got := make([]float32, len(x)), make([]float32, len(x))
					if log {
						im.LogSoftmaxRows(want, z, n)
						im.ScaledLogSoftmaxRows(got, x, mask, scale, n)
					} else {
						im.SoftmaxRows(want, z, n)
						im.ScaledSoftmaxRows(got, x, mask, scale, n)
					}
					compareBits(t, fmt.Sprintf("%s log %v: kernel on z", what, log), x, want, got)
				}
			}
			// Scale 1 and no mask: the unfused kernels' bits on x itself;
			// and no mask is a mask of -0.
			x := softmaxInput(rng, 3*n)
			negZero := make([]float32, n)
			for i := range negZero {
				negZero[i] = float32(math.Copysign(0, -1))
			}
			for _, log := range []bool{false, true} {
				want, got, got0 := make([]float32, len(x)), make([]float32, len(x)), make([]float32, len(x))
				if log {
					im.LogSoftmaxRows(want, x, n)
					im.ScaledLogSoftmaxRows(got, x, nil, 1, n)
					im.ScaledLogSoftmaxRows(got0, x, negZero, 1, n)
				} else {
					im.SoftmaxRows(want, x, n)
					im.ScaledSoftmaxRows(got, x, nil, 1, n)
					im.ScaledSoftmaxRows(got0, x, negZero, 1, n)
				}
				compareBits(t, fmt.Sprintf("n=%d log %v: scale 1, no mask", n, log), x, want, got)
				compareBits(t, fmt.Sprintf("n=%d log %v: scale 1, mask of -0", n, log), x, want, got0)
			}
			if t.Failed() {
				return
			}
		}
	})
}

func TestSemanticsScaled(t *testing.T) {
	forEachImpl(t, func(t *testing.T, im *Implementation) {
		run := func(x, mask []float32, scale float32) ([]float32, []float32) {
			y, ly := make([]float32, len(x)), make([]float32, len(x))
			im.ScaledSoftmaxRows(y, x, mask, scale, len(x))
			im.ScaledLogSoftmaxRows(ly, x, mask, scale, len(x))
			return y, ly
		}
		// A -Inf in the mask masks; a fully masked row is all 0 (-Inf).
		y, ly := run([]float32{1, 2, 3, 4}, []float32{0, ninf, 0, ninf}, 0.5)
		if y[1] != 0 || y[3] != 0 || y[0] == 0 || y[2] <= y[0] || !math.IsInf(float64(ly[1]), -1) {
			t.Errorf("masked: %v %v", y, ly)
		}
		y, ly = run([]float32{1, 2, 3, 4}, []float32{ninf, ninf, ninf, ninf}, 0.5)
		if !allEqual(y, 0) || !allEqual(ly, ninf) {
			t.Errorf("fully masked: %v %v", y, ly)
		}
		// The same mask broadcast over rows, and one row per row.
		x := []float32{0, 0, 0, 0, 0, 0}
		out := make([]float32, 6)
		im.ScaledSoftmaxRows(out, x, []float32{0, ninf, 0}, 3, 3)
		if out[0] != 0.5 || out[1] != 0 || out[3] != 0.5 || out[4] != 0 {
			t.Errorf("broadcast mask: %v", out)
		}
		im.ScaledSoftmaxRows(out, x, []float32{0, ninf, ninf, ninf, ninf, ninf}, 3, 3)
		if out[0] != 1 || !allEqual(out[3:], 0) {
			t.Errorf("per-row mask: %v", out)
		}
		// +Inf in the mask, or inf - inf, or a NaN scale: the row is NaN.
		for _, c := range []struct {
			x, mask []float32
			scale   float32
		}{
			{[]float32{1, 2}, []float32{0, inf}, 1},
			{[]float32{1, inf}, []float32{0, ninf}, 1},
			{[]float32{1, 2}, nil, nan},
			{[]float32{1, 2}, []float32{nan, 0}, 1},
			{[]float32{3e38, 2}, nil, 2}, // z = +Inf by overflow
			{[]float32{1, inf}, nil, 0},  // 0 * Inf
		} {
			y, ly := run(c.x, c.mask, c.scale)
			if !allCanonicalNaN(y) || !allCanonicalNaN(ly) {
				t.Errorf("x %v mask %v scale %v: %v %v, want NaN", c.x, c.mask, c.scale, y, ly)
			}
		}
		// z = -Inf by overflow masks the element; scale 0 gives softmax(mask).
		y, _ = run([]float32{-3e38, 2}, nil, 2)
		if y[0] != 0 || y[1] != 1 {
			t.Errorf("negative overflow: %v", y)
		}
		y, _ = run([]float32{1e30, -7}, []float32{0, 0}, 0)
		if y[0] != 0.5 || y[1] != 0.5 {
			t.Errorf("scale 0: %v", y)
		}
		// Temperature: scale 1/T sharpens (T < 1) or flattens (T > 1).
		sharp, _ := run([]float32{1, 2}, nil, 1/0.1)
		flat, _ := run([]float32{1, 2}, nil, 1/10.0)
		if !(sharp[1] > 0.9999 && flat[1] < 0.53) {
			t.Errorf("temperature: %v %v", sharp, flat)
		}
		// In place; and the mask may be src.
		x = []float32{0.5, -1, 2, 7}
		mask := []float32{0, 1, ninf, 0}
		want, _ := run(x, mask, 0.25)
		im.ScaledSoftmaxRows(x, x, mask, 0.25, 4)
		if i, ok := bitsEqual(x, want); !ok {
			t.Errorf("in place differs at %d", i)
		}
		x = []float32{0.5, -1, 2, 7}
		want, _ = run(x, append([]float32(nil), x...), 3)
		im.ScaledSoftmaxRows(out[:4], x, x, 3, 4)
		if i, ok := bitsEqual(out[:4], want); !ok {
			t.Errorf("mask = src differs at %d", i)
		}
	})
}

// causalLen is the number of elements row r of CausalSoftmaxRows keeps.
func causalLen(r, cols, offset int) int {
	if offset >= cols {
		return cols
	}
	return min(max(offset+r+1, 0), cols)
}

// TestCausal checks, on every implementation, that each row of
// CausalSoftmaxRows is ScaledSoftmaxRows (no mask) of its first k
// elements, bit for bit, and zeros after, whatever the elements after
// hold; and its accuracy against the reference.
func TestCausal(t *testing.T) {
	forEachImpl(t, func(t *testing.T, im *Implementation) {
		var a fusedAcc
		rng := rand.New(rand.NewPCG(5, 6))
		for _, cols := range []int{1, 2, 7, 16, 17, 33, 100, 1000} {
			for _, rows := range []int{1, 3, 16, min(cols, 64)} {
				for _, offset := range []int{0, cols - rows, -2, 3, cols, math.MaxInt / 2, math.MinInt / 2, math.MaxInt, math.MinInt} {
					scale := testScales[rng.IntN(len(testScales))]
					x := normalRow(rng, rows*cols, 4, 0)
					what := fmt.Sprintf("%dx%d offset %d scale %v", rows, cols, offset, scale)
					// What is past each row's prefix does not matter.
					x2 := append([]float32(nil), x...)
					for r := 0; r < rows; r++ {
						for i := causalLen(r, cols, offset); i < cols; i++ {
							x2[r*cols+i] = []float32{nan, inf, ninf, 1e30}[rng.IntN(4)]
						}
					}
					got := make([]float32, len(x))
					im.CausalSoftmaxRows(got, x2, scale, cols, offset)
					want := make([]float64, cols)
					for r := 0; r < rows; r++ {
						k := causalLen(r, cols, offset)
						row := got[r*cols : (r+1)*cols]
						one := make([]float32, k)
						if k > 0 {
							im.ScaledSoftmaxRows(one, x[r*cols:r*cols+k], nil, scale, k)
						}
						compareBits(t, fmt.Sprintf("%s row %d prefix %d", what, r, k), x[r*cols:], one, row[:k])
						if !allEqual(row[k:], 0) {
							t.Errorf("%s row %d: %v after the prefix, want zeros", what, r, row[k:])
						}
						ref.CausalSoftmax(want, x[r*cols:(r+1)*cols], scale, k)
						a.softmax(t, what, fmt.Sprint(cols), scaledZ(x[r*cols:r*cols+k], nil, scale), row, want)
					}
					// In place.
					im.CausalSoftmaxRows(x2, x2, scale, cols, offset)
					compareBits(t, what+" in place", x, got, x2)
					if t.Failed() {
						return
					}
				}
			}
		}
		a.done(t, "CausalSoftmaxRows")
	})
}

// axisShapes returns the shapes of the axis tests: every axis length
// 1..300 with inner values around the vector width, and long axes.
func axisShapes() [][3]int {
	inners := []int{2, 3, 5, 15, 16, 17, 31, 33, 64}
	var sh [][3]int
	for axis := 1; axis <= 300; axis++ {
		sh = append(sh, [3]int{1 + axis%3, axis, inners[axis%len(inners)]})
	}
	return append(sh, [3]int{1, 1000, 16}, [3]int{2, 4096, 17}, [3]int{1, 32000, 3}, [3]int{1, 128256, 2})
}

// axisInput returns a tensor of n elements of one of randomCases' kinds:
// std 1, 4, 16, offsets 0, ±300, ±1e4, ±1e30, and every third element
// -Inf in some.
func axisInput(rng *rand.Rand, n, kind int) []float32 {
	std := []float64{1, 4, 16}[kind%3]
	off := []float64{0, 1e4, -1e4, 1e30, -1e30, 300, -300}[kind%7]
	x := normalRow(rng, n, std, off)
	if kind%5 == 4 {
		for i := 0; i < n; i += 3 {
			x[i] = ninf
		}
	}
	return x
}

// column returns elements (o*axis + k)*inner + j of x, k = 0..axis-1.
func column(x []float32, o, j, axis, inner int) []float32 {
	c := make([]float32, axis)
	for k := range c {
		c[k] = x[(o*axis+k)*inner+j]
	}
	return c
}

// TestAccuracyAxis measures SoftmaxAxis and LogSoftmaxAxis with inner > 1
// against the reference, and counts the outputs that differ from Softmax
// of the column copied out as a row (they may, in the last bit).
func TestAccuracyAxis(t *testing.T) {
	skipAccuracyIfShort(t)
	shapes := axisShapes()
	forEachImpl(t, func(t *testing.T, im *Implementation) {
		var a fusedAcc
		rng := rand.New(rand.NewPCG(7, 8))
		var differ, total int
		for s, sh := range shapes {
			outer, axis, inner := sh[0], sh[1], sh[2]
			x := axisInput(rng, outer*axis*inner, s)
			got, lgot := make([]float32, len(x)), make([]float32, len(x))
			im.SoftmaxAxis(got, x, outer, axis, inner)
			im.LogSoftmaxAxis(lgot, x, outer, axis, inner)
			want, lwant := make([]float64, len(x)), make([]float64, len(x))
			ref.SoftmaxAxis(want, x, outer, axis, inner)
			ref.LogSoftmaxAxis(lwant, x, outer, axis, inner)
			what := fmt.Sprintf("shape %v kind %d", sh, s)
			group := fmt.Sprintf("axis %d-%d", axis/50*50, axis/50*50+49)
			a.softmax(t, what, group, x, got, want)
			a.logSoftmax(t, what, lgot, lwant)
			one := make([]float32, axis)
			for o := 0; o < outer; o++ {
				for j := 0; j < inner; j++ {
					im.Softmax(one, column(x, o, j, axis, inner))
					for k, v := range column(got, o, j, axis, inner) {
						if math.Float32bits(v) != math.Float32bits(one[k]) {
							differ++
						}
					}
					total += axis
				}
			}
			if t.Failed() {
				return
			}
		}
		a.done(t, "SoftmaxAxis")
		t.Logf("SoftmaxAxis: %d of %d outputs differ in bits from Softmax of the column", differ, total)
		// Only the order of the sums differs, which a float32 result
		// rarely sees: many differences mean another formula.
		if differ > total/10000 {
			t.Errorf("SoftmaxAxis: %d of %d outputs differ from Softmax of the column", differ, total)
		}
	})
}

// TestAxisRows checks that inner = 1 is the row kernels, bit for bit,
// and the shapes with zero dimensions.
func TestAxisRows(t *testing.T) {
	forEachImpl(t, func(t *testing.T, im *Implementation) {
		rng := rand.New(rand.NewPCG(9, 10))
		for _, axis := range []int{1, 2, 15, 16, 17, 100, 1000} {
			x := softmaxInput(rng, 5*axis)
			for _, log := range []bool{false, true} {
				want, got := make([]float32, len(x)), make([]float32, len(x))
				if log {
					im.LogSoftmaxRows(want, x, axis)
					im.LogSoftmaxAxis(got, x, 5, axis, 1)
				} else {
					im.SoftmaxRows(want, x, axis)
					im.SoftmaxAxis(got, x, 5, axis, 1)
				}
				compareBits(t, fmt.Sprintf("axis %d log %v", axis, log), x, want, got)
			}
		}
		for _, sh := range [][3]int{{0, 3, 4}, {3, 0, 4}, {3, 4, 0}, {0, 0, 0}} {
			im.SoftmaxAxis(nil, nil, sh[0], sh[1], sh[2])
			im.LogSoftmaxAxis([]float32{}, []float32{}, sh[0], sh[1], sh[2])
		}
	})
}

func TestSemanticsAxis(t *testing.T) {
	forEachImpl(t, func(t *testing.T, im *Implementation) {
		// [1, 3, 4]: column 0 ordinary, 1 with a NaN, 2 fully masked,
		// 3 with a +Inf.
		x := []float32{
			0, 1, ninf, 2,
			0, nan, ninf, inf,
			0, 3, ninf, 0,
		}
		y, ly := make([]float32, 12), make([]float32, 12)
		im.SoftmaxAxis(y, x, 1, 3, 4)
		im.LogSoftmaxAxis(ly, x, 1, 3, 4)
		third := float32(1.0 / 3)
		for k := 0; k < 3; k++ {
			c0, c1, c2, c3 := y[4*k], y[4*k+1], y[4*k+2], y[4*k+3]
			if c0 != third || !isCanonicalNaN(c1) || c2 != 0 || !isCanonicalNaN(c3) {
				t.Errorf("Softmax row %d: %v", k, y[4*k:4*k+4])
			}
			l0, l1, l2, l3 := ly[4*k], ly[4*k+1], ly[4*k+2], ly[4*k+3]
			if math.Abs(float64(l0)+math.Log(3)) > 1e-6 || !isCanonicalNaN(l1) || !math.IsInf(float64(l2), -1) || !isCanonicalNaN(l3) {
				t.Errorf("LogSoftmax row %d: %v", k, ly[4*k:4*k+4])
			}
		}
		// In place, with a partial last group of columns.
		x = normalRow(newRand(), 2*5*19, 4, 0)
		want := make([]float32, len(x))
		im.SoftmaxAxis(want, x, 2, 5, 19)
		im.SoftmaxAxis(x, x, 2, 5, 19)
		if i, ok := bitsEqual(x, want); !ok {
			t.Errorf("in place differs at %d", i)
		}
	})
}

// chunking returns the cut points of a random split of n elements into
// chunks: 0 = c_0 <= c_1 <= ... <= c_m = n, with empty chunks and chunks of
// one element among them.
func chunking(rng *rand.Rand, n int) []int {
	cuts := []int{0}
	for at := 0; at < n; {
		var l int
		switch rng.IntN(6) {
		case 0:
			l = 0
		case 1:
			l = 1
		case 2:
			l = n - at
		default:
			l = 1 + rng.IntN(max(1, (n-at)/2+1))
		}
		at = min(n, at+l)
		cuts = append(cuts, at)
	}
	if n == 0 || rng.IntN(3) == 0 {
		cuts = append(cuts, n)
	}
	return cuts
}

// chunkedSoftmax runs the chunked kernels of im on x split at cuts: the
// statistics of every chunk, merged in a random order and grouping, then
// each chunk normalized. It returns Softmax, LogSoftmax and LogSumExp.
func chunkedSoftmax(rng *rand.Rand, im *Implementation, x []float32, cuts []int) (y, ly []float32, lse float32) {
	var st []Stats
	for c := 1; c < len(cuts); c++ {
		st = append(st, im.StatsOf(x[cuts[c-1]:cuts[c]]))
	}
	rng.Shuffle(len(st), func(i, j int) { st[i], st[j] = st[j], st[i] })
	for len(st) > 1 {
		i := rng.IntN(len(st) - 1)
		st[i] = st[i].Merge(st[i+1])
		st = append(st[:i+1], st[i+2:]...)
	}
	var s Stats
	if len(st) == 1 {
		s = st[0]
	}
	y, ly = make([]float32, len(x)), make([]float32, len(x))
	for c := 1; c < len(cuts); c++ {
		a, b := cuts[c-1], cuts[c]
		im.SoftmaxWithStats(y[a:b], x[a:b], s)
		im.LogSoftmaxWithStats(ly[a:b], x[a:b], s)
	}
	return y, ly, s.LogSumExp()
}

// TestAccuracyStats checks that chunked softmax, under many random
// chunkings and merge orders, stays within Softmax's bounds of the
// one-shot reference, with the special rows' semantics when chunks hold
// -Inf, NaN or +Inf; that one chunk gives Softmax's bits; and it counts
// the outputs that differ from the one-shot kernel.
func TestAccuracyStats(t *testing.T) {
	skipAccuracyIfShort(t)
	cases := randomCases(43)
	forEachImpl(t, func(t *testing.T, im *Implementation) {
		var a fusedAcc
		var lse ref.Stats
		rng := rand.New(rand.NewPCG(11, 12))
		var differ, total int
		for ci, c := range cases {
			x := c.x
			n := len(x)
			if ci%7 == 3 && n > 0 {
				// A special value in some chunk.
				x = append([]float32(nil), x...)
				x[rng.IntN(n)] = []float32{nan, inf, ninf}[rng.IntN(3)]
			}
			want, lwant := make([]float64, n), make([]float64, n)
			ref.Softmax(want, x)
			ref.LogSoftmax(lwant, x)
			wlse := ref.LogSumExp(x)
			reps := 4
			if n > 4096 {
				reps = 2
			}
			one, lone := make([]float32, n), make([]float32, n)
			im.Softmax(one, x)
			im.LogSoftmax(lone, x)
			for rep := 0; rep < reps; rep++ {
				cuts := chunking(rng, n)
				if rep == 0 {
					cuts = []int{0, n} // one chunk: the one-shot bits
				}
				y, ly, l := chunkedSoftmax(rng, im, x, cuts)
				what := fmt.Sprintf("%s, chunks %v", c.name, cuts)
				if len(cuts) > 12 {
					what = fmt.Sprintf("%s, %d chunks", c.name, len(cuts)-1)
				}
				a.softmax(t, what, c.group, x, y, want)
				a.logSoftmax(t, what, ly, lwant)
				e := ref.LogErr(l, wlse)
				if e > logBound || e != e || wlse != wlse && !isCanonicalNaN(l) {
					t.Errorf("%s: LogSumExp %v, reference %v: error %.3f", what, l, wlse, e)
				}
				lse.Add(e)
				if rep == 0 {
					compareBits(t, what+": Softmax", x, one, y)
					compareBits(t, what+": LogSoftmax", x, lone, ly)
					if w := im.LogSumExp(x); math.Float32bits(w) != math.Float32bits(l) {
						t.Errorf("%s: LogSumExp %v, one-shot %v", what, l, w)
					}
					continue
				}
				for i := range y {
					if math.Float32bits(y[i]) != math.Float32bits(one[i]) {
						differ++
					}
				}
				total += n
			}
			if t.Failed() {
				return
			}
		}
		a.done(t, "chunked SoftmaxWithStats")
		t.Logf("chunked LogSumExp max %.3f (units of 2^-24*max(1,|ref|)); %d of %d chunked outputs differ in bits from Softmax", lse.Max, differ, total)
	})
}

func TestSemanticsStats(t *testing.T) {
	forEachImpl(t, func(t *testing.T, im *Implementation) {
		var zero Stats
		if l := zero.LogSumExp(); !math.IsInf(float64(l), -1) || !math.IsInf(float64(zero.Max()), -1) {
			t.Errorf("zero Stats: LogSumExp %v Max %v", l, zero.Max())
		}
		x := []float32{1, 2, 3, ninf}
		s := im.StatsOf(x)
		for _, e := range []Stats{zero, im.StatsOf(nil), im.StatsOf([]float32{ninf, ninf})} {
			if s.Merge(e) != s || e.Merge(s) != s {
				t.Errorf("merging an empty chunk changed %v: %v %v", s, s.Merge(e), e.Merge(s))
			}
		}
		// Two empty chunks merge to StatsOf's empty statistics, in either
		// order, bit for bit.
		empties := []Stats{zero, im.StatsOf(nil), im.StatsOf([]float32{ninf}), {fallback.Stats{Max: 7}}}
		for _, a := range empties {
			for _, b := range empties {
				if m := a.Merge(b); m != im.StatsOf(nil) {
					t.Errorf("%v.Merge(%v) = %v, want %v", a, b, m, im.StatsOf(nil))
				}
			}
		}
		if s.Max() != 3 {
			t.Errorf("Max = %v", s.Max())
		}
		// NaN dominates, then +Inf; fully masked rows give 0 and -Inf.
		sn, si := im.StatsOf([]float32{0, nan}), im.StatsOf([]float32{inf, 0})
		for _, c := range []struct {
			s    Stats
			want float32
		}{
			{s.Merge(sn), nan}, {sn.Merge(si), nan}, {si.Merge(sn), nan},
			{s.Merge(si), inf}, {si.Merge(s), inf}, {zero.Merge(si), inf},
			{im.StatsOf([]float32{ninf}).Merge(zero), ninf},
		} {
			l := c.s.LogSumExp()
			if c.want != c.want && !isCanonicalNaN(l) || c.want == c.want && l != c.want {
				t.Errorf("%v: LogSumExp %v, want %v", c.s, l, c.want)
			}
		}
		y, ly := make([]float32, 4), make([]float32, 4)
		for _, st := range []Stats{s.Merge(sn), s.Merge(si)} {
			im.SoftmaxWithStats(y, x, st)
			im.LogSoftmaxWithStats(ly, x, st)
			if !allCanonicalNaN(y) || !allCanonicalNaN(ly) {
				t.Errorf("NaN or +Inf statistics: %v %v", y, ly)
			}
		}
		masked := []float32{ninf, ninf}
		im.SoftmaxWithStats(y[:2], masked, zero)
		im.LogSoftmaxWithStats(ly[:2], masked, im.StatsOf(masked))
		if !allEqual(y[:2], 0) || !allEqual(ly[:2], ninf) {
			t.Errorf("fully masked: %v %v", y[:2], ly[:2])
		}
		// Huge values across chunks: no overflow, exact halves.
		big := []float32{1e30, -1e30, 1e30}
		bs := im.StatsOf(big[:1]).Merge(im.StatsOf(big[1:]))
		im.SoftmaxWithStats(y[:3], big, bs)
		if y[0] != 0.5 || y[1] != 0 || y[2] != 0.5 {
			t.Errorf("huge values: %v", y[:3])
		}
		// Merge is commutative, bit for bit.
		rng := newRand()
		for rep := 0; rep < 200; rep++ {
			p, q := im.StatsOf(axisInput(rng, 1+rng.IntN(40), rep)), im.StatsOf(axisInput(rng, 1+rng.IntN(40), rep+1))
			if p.Merge(q) != q.Merge(p) {
				t.Errorf("Merge not commutative: %v %v", p.Merge(q), q.Merge(p))
			}
		}
		// In place.
		x = normalRow(rng, 100, 4, 0)
		st := im.StatsOf(x[:30]).Merge(im.StatsOf(x[30:]))
		want := make([]float32, 30)
		im.SoftmaxWithStats(want, x[:30], st)
		im.SoftmaxWithStats(x[:30], x[:30], st)
		if i, ok := bitsEqual(x[:30], want); !ok {
			t.Errorf("in place differs at %d", i)
		}
	})
}

func TestStatsBinary(t *testing.T) {
	rng := newRand()
	for _, x := range [][]float32{nil, {ninf}, {1, nan}, {inf, 2}, normalRow(rng, 100, 4, 0), normalRow(rng, 10, 1, 1e4)} {
		s := StatsOf(x)
		for _, v := range []Stats{s, s.Merge(StatsOf([]float32{-300}))} {
			b, err := v.MarshalBinary()
			if err != nil || len(b) != 12 {
				t.Fatalf("MarshalBinary: %v %v", b, err)
			}
			var u Stats
			if err := u.UnmarshalBinary(b); err != nil || math.Float32bits(u.s.Max) != math.Float32bits(v.s.Max) || math.Float64bits(u.s.Sum) != math.Float64bits(v.s.Sum) {
				t.Errorf("round trip of %v: %v, %v", v, u, err)
			}
		}
	}
	// The least sums (statsMinSum): a chunk whose largest element's term
	// is exp(r) for r just past -ln(2)/2 (at -206.21129, 0.7071052), and
	// merges of chunks with other maxima and offsets.
	least := 2.0
	for _, v := range []Stats{
		StatsOf([]float32{-206.21129}),
		StatsOf([]float32{-0.34657359}),
		StatsOf([]float32{-206.21129}).Merge(StatsOf([]float32{-1e30})),
		StatsOf([]float32{-0.34657359}).Merge(StatsOf([]float32{-300})),
		StatsOf([]float32{300}).Merge(StatsOf([]float32{0})),
		StatsOf([]float32{-1e30}),
	} {
		least = min(least, v.s.Sum)
		b, _ := v.MarshalBinary()
		var u Stats
		if err := u.UnmarshalBinary(b); err != nil || !sameBits(u, v) {
			t.Errorf("round trip of %v: %v, %v", v.s, u.s, err)
		}
	}
	if least > 0.70711 {
		t.Errorf("the least sum tested is %v: no longer near 2^-1/2", least)
	}
	var zero Stats
	b, _ := zero.MarshalBinary()
	for _, bad := range [][]byte{nil, b[:11], append(b, 0),
		{0, 0, 0x80, 0x3f, 0, 0, 0, 0, 0, 0, 0xf0, 0xbf}, // sum -1
		{0, 0, 0x80, 0x7f, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f}, // max +Inf, sum 1
		{0, 0, 0x80, 0x3f, 0, 0, 0, 0, 0, 0, 0xf0, 0x7f}, // max 1, sum +Inf
		{0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0},             // max 0, sum 5e-324
		{0, 0, 0x80, 0x3f, 0, 0, 0, 0, 0, 0, 0xe0, 0x3f}, // max 1, sum 0.5
	} {
		s := StatsOf([]float32{5})
		if err := s.UnmarshalBinary(bad); err == nil || s != StatsOf([]float32{5}) {
			t.Errorf("UnmarshalBinary(%x) = %v, %v; want an error and no change", bad, s, err)
		}
	}
}

func TestBadArgumentsFused(t *testing.T) {
	forEachImpl(t, func(t *testing.T, im *Implementation) {
		buf := make([]float32, 64)
		src, dst := buf[:12], make([]float32, 12)
		for i := range dst {
			dst[i] = 42
		}
		m := buf[40:44]
		for _, k := range []struct {
			name string
			f    func(dst, src, mask []float32, scale float32, cols int)
		}{{"ScaledSoftmaxRows", im.ScaledSoftmaxRows}, {"ScaledLogSoftmaxRows", im.ScaledLogSoftmaxRows}} {
			expectPanic(t, k.name+" lengths", "len(dst) 12 != len(src) 8", dst, func() { k.f(dst, buf[:8], nil, 1, 4) })
			expectPanic(t, k.name+" cols", "cols 0 must be positive", dst, func() { k.f(dst, src, nil, 1, 0) })
			expectPanic(t, k.name+" multiple", "len(src) 12 is not a multiple of cols 5", dst, func() { k.f(dst, src, nil, 1, 5) })
			expectPanic(t, k.name+" mask", "len(mask) 4 is neither cols 6 nor len(src) 12", dst, func() { k.f(dst, src, m, 1, 6) })
			expectPanic(t, k.name+" empty mask", "len(mask) 4 is neither cols 3 nor len(src) 0", nil, func() { k.f(nil, nil, m, 1, 3) })
			expectPanic(t, k.name+" mask is dst", "dst overlaps mask", dst, func() { k.f(dst, src, dst, 1, 4) })
			expectPanic(t, k.name+" mask in dst", "dst overlaps mask", dst, func() { k.f(dst, src, dst[4:8], 1, 4) })
			expectPanic(t, k.name+" mask in place", "dst overlaps mask", src, func() { k.f(src, src, buf[8:12], 1, 4) })
			expectPanic(t, k.name+" overlap", "dst partially overlaps src", buf[4:16], func() { k.f(buf[4:16], src, nil, 1, 4) })
		}
		expectPanic(t, "Causal lengths", "len(dst) 12 != len(src) 8", dst, func() { im.CausalSoftmaxRows(dst, buf[:8], 1, 4, 0) })
		expectPanic(t, "Causal cols", "cols -1 must be positive", dst, func() { im.CausalSoftmaxRows(dst, src, 1, -1, 0) })
		expectPanic(t, "Causal multiple", "len(src) 12 is not a multiple of cols 7", dst, func() { im.CausalSoftmaxRows(dst, src, 1, 7, 0) })
		expectPanic(t, "Causal overlap", "dst partially overlaps src", buf[1:13], func() { im.CausalSoftmaxRows(buf[1:13], src, 1, 4, 0) })
		for _, k := range []struct {
			name string
			f    func(dst, src []float32, outer, axis, inner int)
		}{{"SoftmaxAxis", im.SoftmaxAxis}, {"LogSoftmaxAxis", im.LogSoftmaxAxis}} {
			expectPanic(t, k.name+" lengths", "len(dst) 12 != len(src) 8", dst, func() { k.f(dst, buf[:8], 2, 2, 2) })
			expectPanic(t, k.name+" shape", "shape [2, 3, 4] (outer, axis, inner) holds 24 elements, len(src) is 12", dst, func() { k.f(dst, src, 2, 3, 4) })
			expectPanic(t, k.name+" negative", "shape [-2, -3, 2] (outer, axis, inner) has a negative dimension", dst, func() { k.f(dst, src, -2, -3, 2) })
			expectPanic(t, k.name+" overflow", "overflows int", dst, func() { k.f(dst, src, math.MaxInt/2, math.MaxInt/2, 3) })
			expectPanic(t, k.name+" zero", "holds 0 elements, len(src) is 12", dst, func() { k.f(dst, src, math.MaxInt, 0, 3) })
			expectPanic(t, k.name+" overlap", "dst partially overlaps src", buf[2:14], func() { k.f(buf[2:14], src, 1, 3, 4) })
		}
		for i := range src {
			src[i] = float32(i)
		}
		st := im.StatsOf(src[:6])
		for _, k := range []struct {
			name string
			f    func(dst, src []float32, s Stats)
		}{{"SoftmaxWithStats", im.SoftmaxWithStats}, {"LogSoftmaxWithStats", im.LogSoftmaxWithStats}} {
			expectPanic(t, k.name+" lengths", "len(dst) 12 != len(src) 6", dst, func() { k.f(dst, src[:6], st) })
			expectPanic(t, k.name+" above max", "src holds 11, above the statistics' maximum 5", dst, func() { k.f(dst, src, st) })
			expectPanic(t, k.name+" empty stats", "src holds 5, above the statistics' maximum -Inf", dst[:6], func() { k.f(dst[:6], src[:6], Stats{}) })
			expectPanic(t, k.name+" overlap", "dst partially overlaps src", buf[1:7], func() { k.f(buf[1:7], src[:6], st) })
			withNaN := []float32{1, nan}
			expectPanic(t, k.name+" NaN", "src holds NaN, which the statistics do not", dst[:2], func() { k.f(dst[:2], withNaN, st) })
		}
	})
}

func TestAllocsFused(t *testing.T) {
	x := normalRow(newRand(), 1000, 4, 0)
	y := make([]float32, len(x))
	mask := normalRow(newRand(), 1000, 1, 0)
	forEachImpl(t, func(t *testing.T, im *Implementation) {
		st := im.StatsOf(x[:300]).Merge(im.StatsOf(x[300:]))
		for _, k := range []struct {
			name string
			f    func()
		}{
			{"ScaledSoftmaxRows", func() { im.ScaledSoftmaxRows(y, x, mask, 0.125, 100) }},
			{"ScaledSoftmaxRows broadcast", func() { im.ScaledSoftmaxRows(y, x, mask[:100], 0.125, 100) }},
			{"ScaledSoftmaxRows in place", func() { im.ScaledSoftmaxRows(y, y, nil, 0.125, 100) }},
			{"ScaledLogSoftmaxRows", func() { im.ScaledLogSoftmaxRows(y, x, mask, 0.125, 100) }},
			{"CausalSoftmaxRows", func() { im.CausalSoftmaxRows(y, x, 0.125, 100, 5) }},
			{"SoftmaxAxis", func() { im.SoftmaxAxis(y, x, 2, 25, 20) }},
			{"LogSoftmaxAxis", func() { im.LogSoftmaxAxis(y, x, 2, 25, 20) }},
			{"SoftmaxAxis rows", func() { im.SoftmaxAxis(y, x, 10, 100, 1) }},
			{"StatsOf, Merge, LogSumExp", func() { _ = im.StatsOf(x[:500]).Merge(st).LogSumExp() }},
			{"SoftmaxWithStats", func() { im.SoftmaxWithStats(y[:300], x[:300], st) }},
			{"LogSoftmaxWithStats", func() { im.LogSoftmaxWithStats(y[:300], x[:300], st) }},
		} {
			if n := testing.AllocsPerRun(20, k.f); n != 0 {
				t.Errorf("%s: %v allocations per call", k.name, n)
			}
		}
	})
}

// TestConcurrentFused runs every fused kernel from several goroutines at
// once on shared inputs, and checks each result against a serial run.
func TestConcurrentFused(t *testing.T) {
	rng := newRand()
	x := normalRow(rng, 4096, 4, 0)
	mask := testMask(rng, 2, 64, 64)
	forEachImpl(t, func(t *testing.T, im *Implementation) {
		st := im.StatsOf(x[:1000]).Merge(im.StatsOf(x[1000:]))
		kernels := []func(dst []float32){
			func(d []float32) { im.ScaledSoftmaxRows(d, x, mask, 0.125, 64) },
			func(d []float32) { im.ScaledLogSoftmaxRows(d, x, mask[:64], 0.125, 64) },
			func(d []float32) { im.CausalSoftmaxRows(d, x, 0.125, 64, 0) },
			func(d []float32) { im.SoftmaxAxis(d, x, 4, 32, 32) },
			func(d []float32) { im.LogSoftmaxAxis(d, x, 4, 32, 32) },
			func(d []float32) {
				s := im.StatsOf(x[:2000]).Merge(im.StatsOf(x[2000:]))
				im.SoftmaxWithStats(d[:1000], x[:1000], s)
				im.LogSoftmaxWithStats(d[1000:], x[1000:], st)
			},
		}
		for ki, k := range kernels {
			want := make([]float32, len(x))
			k(want)
			var wg sync.WaitGroup
			for g := 0; g < 4; g++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					got := make([]float32, len(x))
					for rep := 0; rep < 3; rep++ {
						k(got)
						if i, ok := bitsEqual(got, want); !ok {
							t.Errorf("kernel %d: concurrent result differs at %d", ki, i)
							return
						}
					}
				}()
			}
			wg.Wait()
		}
	})
}

// TestLogSoftmaxAxisNotPositive checks that LogSoftmaxAxis, like
// LogSoftmax, never returns more than 0: for the largest element of a
// column, (x - c) - l can round to just above 0 (8.3e-9 for this column)
// unless it is clamped.
func TestLogSoftmaxAxisNotPositive(t *testing.T) {
	forEachImpl(t, func(t *testing.T, im *Implementation) {
		for _, inner := range []int{1, 2, 3, 16, 17} {
			src := make([]float32, 2*inner)
			for j := 0; j < inner; j++ {
				src[j], src[inner+j] = 3.794455, -29.252619
			}
			dst := make([]float32, len(src))
			im.LogSoftmaxAxis(dst, src, 1, 2, inner)
			for i, y := range dst {
				if !(y <= 0) {
					t.Fatalf("inner %d: y[%d] = %g (%#08x), want <= 0", inner, i, y, math.Float32bits(y))
				}
			}
		}
	})
}
