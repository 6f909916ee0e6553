package fallback

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestExp64 checks the float64 exponential of Merge against math.Exp, on
// a dense grid of [-750, 0] and on random points.
func TestExp64(t *testing.T) {
	check := func(d float64) {
		t.Helper()
		got, want := exp64(d, 0), math.Exp(d)
		tol := 4 * 0x1p-52 * want
		if want < 0x1p-1022 {
			tol = 2 * 0x1p-1074 // subnormal results: a rounding or two
		}
		if math.Abs(got-want) > tol {
			t.Fatalf("exp64(%v) = %v, math.Exp %v (%.3g ulps)", d, got, want, math.Abs(got-want)/(0x1p-52*want))
		}
	}
	for d := 0.0; d > -750; d -= 0.00731 {
		check(d)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 100000 {
		check(-math.Ldexp(rng.Float64(), rng.IntN(12)-2))
	}
	for _, d := range []float64{0, -0.5 * math.Ln2, -math.Ln2, -708.3, -745, -745.2} {
		check(d)
	}
	if e := exp64(0, 0); e != 1 {
		t.Errorf("exp64(0, 0) = %v", e)
	}
	if e := exp64(-750.5, 0); e != 0 {
		t.Errorf("exp64(-750.5, 0) = %v", e)
	}
	// The scaling by 2^k is applied once, to the unscaled result.
	for _, d := range []float64{-700, -727.95, -745.5, -1000, -1200} {
		for _, k := range []int{1, 100, 302, 1000} {
			got, want := exp64(d, k), math.Ldexp(math.Exp(d+float64(k)*math.Ln2), 0)
			// Subnormal results: a rounding or two, as above (math.Exp
			// rounds exp(-744.8) to 0 on arm64, to 2^-1074 on amd64).
			if math.Abs(got-want) > math.Max(8*0x1p-52*want*math.Max(1, -d/8), 2*0x1p-1074) {
				t.Errorf("exp64(%v, %v) = %v, want %v", d, k, got, want)
			}
		}
	}
}

// frameFactor returns exp((c_m + nm_m*ln2) - (c_M + nm_M*ln2)), the ratio
// of the frames of maxima m and M (sum_i exp(x_i) = exp(c + nm*ln2) * Sum),
// with math.Exp: exp(c_m - c_M) (a difference that is exact) times
// 2^(nm_m - nm_M), in two halves so that nothing underflows on the way.
func frameFactor(m, M float32) float64 {
	pm, pM := planMax(m, false), planMax(M, false)
	h := (float64(pm.c) - float64(pM.c)) / 2
	k := int(pm.nm - pM.nm)
	return math.Ldexp(math.Exp(h), k/2) * math.Ldexp(math.Exp(h), k-k/2)
}

// TestRebase checks Merge's rescaling factor against exp of the difference
// of the two frames, and that it is an exact power of two when both maxima
// are within ±largeMax.
func TestRebase(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	draw := func() float32 {
		switch rng.IntN(4) {
		case 0:
			return float32(400*rng.Float64() - 200)
		case 1:
			return float32(2000*rng.Float64() - 1000)
		case 2:
			return float32(rng.NormFloat64()*3 + []float64{208, -208, 1e4, -1e4}[rng.IntN(4)])
		}
		return float32(math.Ldexp(rng.NormFloat64(), rng.IntN(40)))
	}
	for range 200000 {
		m, M := draw(), draw()
		if m > M {
			m, M = M, m
		}
		got, want := rebase(m, M), frameFactor(m, M)
		// Factors below 2^-1000 are 0 to Merge, whose sums are at least
		// 1/2.
		if math.Abs(got-want) > 8*0x1p-52*want+0x1p-1000 {
			t.Fatalf("rebase(%v, %v) = %v, want %v", m, M, got, want)
		}
		small := math.Abs(float64(m)) <= float64(largeMax) && math.Abs(float64(M)) <= float64(largeMax)
		if fr, _ := math.Frexp(got); small && fr != 0.5 {
			t.Fatalf("rebase(%v, %v) = %v, not a power of two", m, M, got)
		}
	}
}

// TestStatsOneChunk checks that Merge leaves a chunk's statistics alone
// when merged with an empty chunk, and that the bits of one chunk are the
// row algorithm's: LogSumExp and SoftmaxWithStats give the one-shot
// kernels' results.
func TestStatsOneChunk(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for n := 1; n < 200; n += 7 {
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(rng.NormFloat64()*8 + []float64{0, 300, -1e4}[n%3])
		}
		s := StatsOf(x)
		if s.Merge(Stats{}) != s || (Stats{}).Merge(s) != s {
			t.Fatalf("n=%d: merging an empty chunk changed %v", n, s)
		}
		if a, b := s.LogSumExp(), LogSumExp(x); math.Float32bits(a) != math.Float32bits(b) {
			t.Fatalf("n=%d: LogSumExp %v, one-shot %v", n, a, b)
		}
		y, w := make([]float32, n), make([]float32, n)
		SoftmaxWithStats(y, x, s)
		Softmax(w, x)
		for i := range y {
			if math.Float32bits(y[i]) != math.Float32bits(w[i]) {
				t.Fatalf("n=%d: SoftmaxWithStats[%d] = %v, Softmax %v", n, i, y[i], w[i])
			}
		}
	}
}
