package ref

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
)

// bigFma32 is a*b + c computed exactly with math/big and rounded once to
// float32 (big.Float's Float32 rounds to nearest even, with gradual
// underflow and overflow to ±Inf).
func bigFma32(a, b, c float32) float32 {
	x := new(big.Float).SetPrec(0).SetFloat64(float64(a))
	x.SetPrec(400).Mul(x, new(big.Float).SetFloat64(float64(b)))
	x.Add(x, new(big.Float).SetFloat64(float64(c)))
	if x.Sign() == 0 {
		// The sign of an exact zero: -0 only for -0 + -0.
		return float32(float64(a)*float64(b) + float64(c))
	}
	f, _ := x.Float32()
	return f
}

func TestFma32(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	check := func(a, b, c float32) {
		t.Helper()
		got, want := Fma32(a, b, c), bigFma32(a, b, c)
		if math.Float32bits(got) != math.Float32bits(want) {
			t.Fatalf("Fma32(%v, %v, %v) = %v (%#x), want %v (%#x)", a, b, c, got, math.Float32bits(got), want, math.Float32bits(want))
		}
	}
	for range 300000 {
		a := float32(r.NormFloat64() * math.Ldexp(1, r.IntN(40)-20))
		b := float32(r.NormFloat64() * math.Ldexp(1, r.IntN(40)-20))
		c := float32(r.NormFloat64() * math.Ldexp(1, r.IntN(60)-30))
		check(a, b, c)
		// Hard cases: c cancels most of a*b and lands on or near a
		// float32 midpoint: c = -round(a*b) plus a few ulps of it.
		p := float32(float64(a) * float64(b))
		check(a, b, -p)
		check(a, b, -p+float32(math.Ldexp(float64(p), -24))*float32(r.IntN(5)-2))
		// a*b exactly a midpoint of c's neighbours: c = 1, a*b = 2^-24 * odd.
		check(float32(math.Ldexp(float64(2*r.IntN(1<<10)+1), -12)), 0x1p-12, 1)
		// a*b + c just off a float32 midpoint by less than half a float64
		// ulp, on the side that ties to even does not round to: c has an
		// odd mantissa (ties round away from it) and a*b = ulp(c)/2 *
		// (1 - 2^-46), so the float64 sum is the midpoint itself.
		cm := float32(math.Ldexp(float64(1<<23+2*r.IntN(1<<22)+1), r.IntN(200)-100))
		if r.IntN(2) == 0 {
			cm = -cm
		}
		half := math.Ldexp(ULP32(float64(cm)), -1)
		check(float32(half*(1+0x1p-23)), float32(1-0x1p-23), cm)
		check(float32(-half*(1+0x1p-23)), float32(1-0x1p-23), cm)
		// Subnormal and overflowing results.
		check(float32(math.Ldexp(r.Float64(), -70)), float32(math.Ldexp(r.Float64(), -70)), float32(math.Ldexp(r.NormFloat64(), -140)))
		check(float32(math.Ldexp(1+r.Float64(), 64)), float32(math.Ldexp(1+r.Float64(), 63)), -float32(math.Ldexp(r.Float64(), 127)))
	}
	inf := float32(math.Inf(1))
	for _, v := range [][3]float32{{0, 5, 0}, {float32(math.Copysign(0, -1)), 5, 0}, {inf, 2, 1}, {inf, 2, -inf}, {0, inf, 1}, {1, 1, inf}} {
		got, want := Fma32(v[0], v[1], v[2]), float32(float64(v[0])*float64(v[1])+float64(v[2]))
		if got != want && !(got != got && want != want) {
			t.Errorf("Fma32(%v) = %v, want %v", v, got, want)
		}
	}
}

func TestScaled(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	ninf := float32(math.Inf(-1))
	for _, n := range []int{0, 1, 5, 100} {
		x := make([]float32, n)
		mask := make([]float32, n)
		for i := range x {
			x[i] = float32(8 * r.NormFloat64())
			mask[i] = float32(r.NormFloat64())
			if i%4 == 1 {
				mask[i] = ninf
			}
		}
		for _, m := range [][]float32{nil, mask} {
			for _, scale := range []float32{1, 0.125, -3} {
				// The reference of z as a float32 row, and the scaled
				// references, must agree exactly.
				z := make([]float32, n)
				for i := range x {
					z[i] = Scaled(scale, x[i], m, i)
				}
				want, got := make([]float64, n), make([]float64, n)
				Softmax(want, z)
				ScaledSoftmax(got, x, m, scale)
				checkRow(t, "ScaledSoftmax", got, want, 0)
				LogSoftmax(want, z)
				ScaledLogSoftmax(got, x, m, scale)
				checkRow(t, "ScaledLogSoftmax", got, want, 0)
				if m != nil {
					for i := 1; i < n; i += 4 {
						if got[i] != math.Inf(-1) {
							t.Errorf("masked element %d: LogSoftmax %v", i, got[i])
						}
					}
				}
			}
		}
		// Causal: the prefix's scaled softmax, then zeros.
		for k := -2; k <= n+2; k++ {
			got := make([]float64, n)
			CausalSoftmax(got, x, 0.5, k)
			kk := min(max(k, 0), n)
			want := make([]float64, n)
			ScaledSoftmax(want[:kk], x[:kk], nil, 0.5)
			checkRow(t, "CausalSoftmax", got, want, 0)
		}
	}
}

func TestAxis(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	for _, sh := range [][3]int{{1, 1, 1}, {2, 3, 4}, {3, 17, 5}, {1, 40, 33}, {2, 1, 7}, {0, 3, 2}} {
		outer, axis, inner := sh[0], sh[1], sh[2]
		x := make([]float32, outer*axis*inner)
		for i := range x {
			x[i] = float32(4 * r.NormFloat64())
		}
		if len(x) > 5 {
			x[5] = float32(math.NaN())
		}
		got, lgot := make([]float64, len(x)), make([]float64, len(x))
		SoftmaxAxis(got, x, outer, axis, inner)
		LogSoftmaxAxis(lgot, x, outer, axis, inner)
		col := make([]float32, axis)
		want, lwant := make([]float64, axis), make([]float64, axis)
		for o := 0; o < outer; o++ {
			for j := 0; j < inner; j++ {
				for k := range col {
					col[k] = x[(o*axis+k)*inner+j]
				}
				Softmax(want, col)
				LogSoftmax(lwant, col)
				for k := range col {
					i := (o*axis+k)*inner + j
					if !eq(got[i], want[k]) || !eq(lgot[i], lwant[k]) {
						t.Fatalf("%v: element %d (o %d k %d j %d): %v %v, column's %v %v", sh, i, o, k, j, got[i], lgot[i], want[k], lwant[k])
					}
				}
			}
		}
	}
}
