package kernels

import (
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/go-softmax/softmax/internal/golden"
	"github.com/go-softmax/softmax/internal/ref"
)

// The bounds of the package documentation. Each is enforced on every
// implementation, on the golden corpus, on random rows of every length
// 0..300 and of the long lengths, and on a row of 2^20 elements.
const (
	softmaxMaxULP  = 2.0  // Softmax, SoftmaxRows, CrossEntropy gradient: max ULP
	softmaxMeanULP = 0.45 // mean ULP over a batch of rows (a group) or a long row
	meanMinCount   = 1000 // outputs a mean is checked over
	expMaxULP      = 1.5  // Exp: max ULP over every float32 with a normal result
	logBound       = 2.0  // LogSumExp, LogSoftmax, loss: 2^-24 * max(1, |ref|)
	backwardBound  = 4.0  // backward kernels and the gradient at the target
)

var expSweep = flag.Bool("exp.sweep", false, "check Exp on every float32 whose exp is a normal float32 (slow)")

// accuracy accumulates the errors of one implementation over many rows.
//
// The mean Softmax error is a property of a batch, as it is measured for
// the libraries this one is compared with: over one row, every output
// shares the rounding of the row's sum, so a short row's mean is one
// sample of that rounding, not a mean. The bound therefore applies to each
// row of at least meanMinCount outputs and to each group of rows (rows of
// one length, or one family of the golden corpus), leaving out rows of
// fewer than 100 distinct values: a row of one repeated value has one
// error, that of 1/n, repeated.
type accuracy struct {
	softmax, logSoftmax, lse, loss, grad, back, logBack ref.Stats
	groups                                              map[string]*ref.Stats
}

// checkMeans checks the mean Softmax error of every group.
func (a *accuracy) checkMeans(t *testing.T) {
	t.Helper()
	for name, st := range a.groups {
		if st.N >= meanMinCount && st.Mean() > softmaxMeanULP {
			t.Errorf("group %s: Softmax mean error %.3f ULP over %d outputs > %g", name, st.Mean(), st.N, softmaxMeanULP)
		}
	}
}

func (a *accuracy) log(t *testing.T) {
	t.Helper()
	t.Logf("Softmax max %.3f mean %.3f ULP (%d outputs)", a.softmax.Max, a.softmax.Mean(), a.softmax.N)
	t.Logf("LogSoftmax %.3f, LogSumExp %.3f, loss %.3f (max, units of 2^-24*max(1,|ref|))", a.logSoftmax.Max, a.lse.Max, a.loss.Max)
	t.Logf("CrossEntropy grad max %.3f ULP; SoftmaxBackward %.3f, LogSoftmaxBackward %.3f (max, units of the bound's scale)", a.grad.Max, a.back.Max, a.logBack.Max)
}

// checkRow runs every kernel of im on x, with the float64 references want,
// lse and wly (x's Softmax, LogSumExp and LogSoftmax), and checks every
// bound.
func (a *accuracy) checkRow(t *testing.T, im *Implementation, group, name string, x []float32, want []float64, lse float64, wly []float64, rng *rand.Rand) {
	t.Helper()
	n := len(x)
	y := make([]float32, n)
	errorf := func(format string, args ...any) {
		t.Helper()
		t.Errorf("%s (n=%d): %s", name, n, fmt.Sprintf(format, args...))
	}

	// Softmax.
	im.Softmax(y, x)
	var row ref.Stats
	for i := range y {
		u, ok := ref.SoftmaxErr(y[i], want[i])
		if !ok {
			errorf("Softmax[%d] = %g, reference %g is below 2^-126 but the output is not", i, y[i], want[i])
			return
		}
		if math.Abs(want[i]) >= ref.MinNormal32 || want[i] != want[i] {
			row.Add(u)
			a.softmax.Add(u)
		}
		if u > softmaxMaxULP {
			errorf("Softmax[%d] = %g (%#x), reference %g: %.3f ULP > %g", i, y[i], math.Float32bits(y[i]), want[i], u, softmaxMaxULP)
			return
		}
	}
	if row.N >= meanMinCount && row.Mean() > softmaxMeanULP {
		errorf("Softmax mean error %.3f ULP > %g", row.Mean(), softmaxMeanULP)
	}
	if distinct(x) >= 100 {
		if a.groups == nil {
			a.groups = map[string]*ref.Stats{}
		}
		g := a.groups[group]
		if g == nil {
			g = new(ref.Stats)
			a.groups[group] = g
		}
		g.Sum += row.Sum
		g.N += row.N
	}

	// LogSumExp and LogSoftmax.
	if e := ref.LogErr(im.LogSumExp(x), lse); e > logBound || e != e {
		errorf("LogSumExp = %g, reference %g: error %.3f > %g", im.LogSumExp(x), lse, e, logBound)
	} else {
		a.lse.Add(e)
	}
	ly := make([]float32, n)
	im.LogSoftmax(ly, x)
	for i := range ly {
		e := ref.LogErr(ly[i], wly[i])
		if e > logBound || e != e {
			errorf("LogSoftmax[%d] = %g, reference %g: error %.3f > %g", i, ly[i], wly[i], e, logBound)
			return
		}
		a.logSoftmax.Add(e)
	}
	if n == 0 {
		return
	}

	// CrossEntropy at a random target.
	target := rng.IntN(n)
	grad := make([]float32, n)
	loss := im.CrossEntropy(grad, x, target)
	wantLoss := ref.CrossEntropy(nil, x, target)
	if e := ref.LogErr(loss, wantLoss); e > logBound || e != e {
		errorf("CrossEntropy loss = %g, reference %g: error %.3f > %g", loss, wantLoss, e, logBound)
	} else {
		a.loss.Add(e)
	}
	for i := range grad {
		w := want[i]
		if i == target {
			e := ref.ScaledErr(grad[i], w-1, 1)
			if e > backwardBound || e != e {
				errorf("CrossEntropy grad[target] = %g, reference %g: error %.3f > %g", grad[i], w-1, e, backwardBound)
			}
			continue
		}
		if u, ok := ref.SoftmaxErr(grad[i], w); !ok || u > softmaxMaxULP {
			errorf("CrossEntropy grad[%d] = %g, reference %g: %.3f ULP", i, grad[i], w, u)
			return
		} else if math.Abs(w) >= ref.MinNormal32 {
			a.grad.Add(u)
		}
	}

	// The backward kernels, on this row's outputs and a random dy.
	if lse != lse || math.IsInf(lse, 0) {
		return
	}
	dy := normalRow(rng, n, 1, 0)
	dx := make([]float32, n)
	wdx := make([]float64, n)
	im.SoftmaxBackward(dx, y, dy)
	ref.SoftmaxBackward(wdx, y, dy)
	var dot float64
	for i := range y {
		dot += float64(y[i]) * float64(dy[i])
	}
	for i := range dx {
		scale := float64(y[i]) * (math.Abs(float64(dy[i])) + math.Abs(dot))
		if e := ref.GradErr(dx[i], wdx[i], scale); e > backwardBound || e != e {
			errorf("SoftmaxBackward[%d] = %g, reference %g: error %.3f > %g", i, dx[i], wdx[i], e, backwardBound)
			return
		} else {
			a.back.Add(e)
		}
	}
	im.LogSoftmaxBackward(dx, ly, dy)
	ref.LogSoftmaxBackward(wdx, ly, dy)
	var sum float64
	for _, v := range dy {
		sum += float64(v)
	}
	for i := range dx {
		scale := math.Abs(float64(dy[i])) + math.Exp(float64(ly[i]))*math.Abs(sum)
		if e := ref.GradErr(dx[i], wdx[i], scale); e > backwardBound || e != e {
			errorf("LogSoftmaxBackward[%d] = %g, reference %g: error %.3f > %g", i, dx[i], wdx[i], e, backwardBound)
			return
		} else {
			a.logBack.Add(e)
		}
	}
}

// distinct returns the number of distinct values in x.
func distinct(x []float32) int {
	seen := make(map[float32]bool, len(x))
	for _, v := range x {
		seen[v] = true
	}
	return len(seen)
}

// checkRandom checks x against references computed on the spot.
func (a *accuracy) checkRandom(t *testing.T, im *Implementation, group, name string, x []float32, rng *rand.Rand) {
	t.Helper()
	want := make([]float64, len(x))
	wly := make([]float64, len(x))
	ref.Softmax(want, x)
	ref.LogSoftmax(wly, x)
	a.checkRow(t, im, group, name, x, want, ref.LogSumExp(x), wly, rng)
}

func TestAccuracyGolden(t *testing.T) {
	rows, err := golden.Load()
	if err != nil {
		t.Fatal(err)
	}
	forEachImpl(t, func(t *testing.T, im *Implementation) {
		var a accuracy
		rng := rand.New(rand.NewPCG(1, 2))
		for _, r := range rows {
			group, _, _ := strings.Cut(r.Name, "/")
			a.checkRow(t, im, group, r.Name, r.X, r.Softmax, r.LSE, r.LogSoftmax(), rng)
		}
		a.checkMeans(t)
		a.log(t)
	})
}

func TestAccuracyRandom(t *testing.T) {
	cases := randomCases(7)
	forEachImpl(t, func(t *testing.T, im *Implementation) {
		var a accuracy
		rng := rand.New(rand.NewPCG(3, 4))
		for _, c := range cases {
			a.checkRandom(t, im, c.group, c.name, c.x, rng)
		}
		a.checkMeans(t)
		a.log(t)
	})
}

// skipAccuracyIfShort skips a long accuracy test in -short mode, which CI
// uses under emulation (qemu) to check dispatch and bits on other CPUs:
// there the bit-exact tests show every implementation returns the
// fallback's bits, whose accuracy the full native run measures.
func skipAccuracyIfShort(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: the bit-exact tests cover this implementation; accuracy is measured in the full run")
	}
}

// TestAccuracyMillion checks rows of 2^20 elements, generated here with
// their reference: the length where float32 sums drift the most.
func TestAccuracyMillion(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("-short or -race (where it takes a minute)")
	}
	rng := rand.New(rand.NewPCG(5, 6))
	rows := [][]float32{normalRow(rng, 1<<20, 4, 0), uniformRow(rng, 1<<20, -80, 80)}
	forEachImpl(t, func(t *testing.T, im *Implementation) {
		var a accuracy
		for i, x := range rows {
			a.checkRandom(t, im, "2^20", fmt.Sprintf("2^20 row %d", i), x, rng)
		}
		a.log(t)
	})
}

// TestAccuracyRows checks that the batched kernels give each row exactly
// what the single-row kernels give it, in batches of 7, 9 and 17 rows
// (so that rows of up to 48 columns go through the short and medium
// kernels' groups of 8 and 4 as well as alone), and that CrossEntropyRows
// on one row returns CrossEntropy's loss.
func TestAccuracyRows(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 9))
	forEachImpl(t, func(t *testing.T, im *Implementation) {
		for _, cols := range []int{1, 2, 3, 10, 15, 16, 17, 33, 48, 64, 100, 1000} {
			for _, rows := range []int{7, 9, 17} {
				accuracyRows(t, im, rng, rows, cols)
			}
		}
	})
}

// accuracyRows is TestAccuracyRows on a batch of rows x cols.
func accuracyRows(t *testing.T, im *Implementation, rng *rand.Rand, rows, cols int) {
	t.Helper()
	x := normalRow(rng, rows*cols, 4, 0)
	x[cols/2] = ninf
	targets := make([]int32, rows)
	for r := range targets {
		targets[r] = int32(rng.IntN(cols))
	}
	y := make([]float32, len(x))
	ly := make([]float32, len(x))
	g := make([]float32, len(x))
	im.SoftmaxRows(y, x, cols)
	im.LogSoftmaxRows(ly, x, cols)
	mean := im.CrossEntropyRows(g, x, targets, cols)
	var total float64
	for r := 0; r < rows; r++ {
		row := x[r*cols : (r+1)*cols]
		one := make([]float32, cols)
		im.Softmax(one, row)
		if i, ok := bitsEqual(y[r*cols:(r+1)*cols], one); !ok {
			t.Fatalf("%dx%d row %d: SoftmaxRows differs from Softmax at %d", rows, cols, r, i)
		}
		im.LogSoftmax(one, row)
		if i, ok := bitsEqual(ly[r*cols:(r+1)*cols], one); !ok {
			t.Fatalf("%dx%d row %d: LogSoftmaxRows differs from LogSoftmax at %d", rows, cols, r, i)
		}
		loss := im.CrossEntropy(one, row, int(targets[r]))
		if i, ok := bitsEqual(g[r*cols:(r+1)*cols], one); !ok {
			t.Fatalf("%dx%d row %d: CrossEntropyRows grad differs from CrossEntropy at %d", rows, cols, r, i)
		}
		if l := im.CrossEntropyRows(nil, row, targets[r:r+1], cols); math.Float32bits(l) != math.Float32bits(loss) {
			t.Fatalf("%dx%d row %d: CrossEntropyRows of the row alone %v, CrossEntropy %v", rows, cols, r, l, loss)
		}
		total += ref.CrossEntropy(nil, row, int(targets[r]))
	}
	if e := ref.LogErr(mean, total/float64(rows)); e > logBound {
		t.Errorf("cols %d rows %d: CrossEntropyRows mean %g, reference %g: error %.3f", cols, rows, mean, total/float64(rows), e)
	}
}

// TestAccuracyExp checks Exp on every 997th float32 whose exponential is a
// normal float32, or on all of them with -exp.sweep.
func TestAccuracyExp(t *testing.T) {
	stride := uint32(997)
	if *expSweep {
		stride = 1
	}
	forEachImpl(t, func(t *testing.T, im *Implementation) {
		st := sweepExp(im, stride)
		t.Logf("Exp: max %.4f mean %.4f ULP over %d inputs (stride %d)", st.Max, st.Mean(), st.N, stride)
		if st.Max > expMaxULP || st.Max != st.Max {
			t.Errorf("Exp max error %.4f ULP > %g", st.Max, expMaxULP)
		}
	})
}

// sweepExp measures Exp on every stride-th float32 in the range where
// exp(x) is a normal float32, split over the CPUs.
func sweepExp(im *Implementation, stride uint32) ref.Stats {
	lo := float32(math.Log(0x1p-126))
	hi := float32(math.Log(math.MaxFloat32))
	// Positive x in [0, hi] and negative x in [lo, -0], by bit pattern.
	type span struct{ from, to uint32 }
	spans := []span{
		{0, math.Float32bits(hi)},
		{0x80000000, math.Float32bits(lo)},
	}
	const chunk = 1 << 16
	var (
		mu    sync.Mutex
		total ref.Stats
		wg    sync.WaitGroup
		jobs  = make(chan span)
	)
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			x := make([]float32, 0, chunk)
			y := make([]float32, chunk)
			var st ref.Stats
			for s := range jobs {
				x = x[:0]
				for b := s.from; b <= s.to && b >= s.from; b += stride {
					x = append(x, math.Float32frombits(b))
				}
				im.Exp(y[:len(x)], x)
				for i, v := range x {
					w := math.Exp(float64(v))
					if w < ref.MinNormal32 || w > math.MaxFloat32 {
						continue
					}
					// ref.ULPErr, without its special cases: w is a
					// finite normal, and its ulp is read off its bits.
					ulp := math.Float64frombits((math.Float64bits(w)>>52 - 23) << 52)
					st.Add(math.Abs(float64(y[i])-w) / ulp)
				}
			}
			mu.Lock()
			total.Sum += st.Sum
			total.N += st.N
			total.Max = math.Max(total.Max, st.Max)
			mu.Unlock()
		}()
	}
	for _, s := range spans {
		for b := s.from; b <= s.to; b += chunk * stride {
			end := b + (chunk-1)*stride
			if end > s.to || end < b {
				end = s.to
			}
			jobs <- span{b, end}
		}
	}
	close(jobs)
	wg.Wait()
	return total
}
