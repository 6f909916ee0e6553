package fallback

import (
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
)

// These tests pin fma32 to an exact math/big reference. Go has no float32 FMA
// intrinsic (math.FMA works on float64, and rounding its result to float32
// rounds twice), so fma32 is not compared with a hardware VFMADD231PS/FMLA
// here; the SIMD kernels are instead checked for bit identity against fma32,
// which these tests tie to the correctly rounded result.

// A float64 in the float32 normal range is a float32 rounding midpoint when
// the 29 fraction bits that the conversion to float32 drops equal 1<<28.
const (
	fmaTestDropMask = 1<<29 - 1
	fmaTestMidpoint = 1 << 28
)

// fmaRefPrec is the working precision of the reference. Every finite a*b+c
// is a multiple of 2^-298 (the smallest subnormal float32 is 2^-149) and has
// magnitude below 2^257, so 555 bits always hold it exactly. A smaller
// precision such as 300 would not: for a*b near 2^255 and c = 2^-149 the sum
// would be rounded, and a rounding that lands on a float32 midpoint is
// exactly the double-rounding error under test. The reference checks that
// its sum is exact.
const fmaRefPrec = 600

// fmaRef computes IEEE 754 fusedMultiplyAdd for float32 operands with
// math/big: a*b+c exactly, then one rounding by big.Float.Float32, which
// rounds to nearest even with gradual underflow and overflows to ±Inf
// (TestFMARefRounding checks that). Special values and the sign of an exact
// zero are handled explicitly because big.Float has no NaN. The big.Float
// values are reused to keep the reference fast.
type fmaRef struct {
	a, b, c, p, x big.Float
}

func newFMARef() *fmaRef {
	r := new(fmaRef)
	r.a.SetPrec(53)
	r.b.SetPrec(53)
	r.c.SetPrec(53)
	r.p.SetPrec(fmaRefPrec)
	r.x.SetPrec(fmaRefPrec)
	return r
}

func (r *fmaRef) eval(a, b, c float32) float32 {
	fa, fb, fc := float64(a), float64(b), float64(c)
	prodNeg := math.Signbit(fa) != math.Signbit(fb)
	switch {
	case a != a || b != b || c != c:
		return float32(math.NaN())
	case math.IsInf(fa, 0) || math.IsInf(fb, 0):
		if a == 0 || b == 0 {
			return float32(math.NaN()) // Inf * 0
		}
		if math.IsInf(fc, 0) && math.Signbit(fc) != prodNeg {
			return float32(math.NaN()) // Inf - Inf
		}
		return fmaInf(prodNeg)
	case math.IsInf(fc, 0):
		return c
	case (a == 0 || b == 0) && c == 0:
		// An exact zero sum of two zeros is -0 only for (-0) + (-0).
		return fmaZero(prodNeg && math.Signbit(fc))
	}
	r.a.SetFloat64(fa)
	r.b.SetFloat64(fb)
	r.c.SetFloat64(fc)
	r.p.Mul(&r.a, &r.b)
	r.x.Add(&r.p, &r.c)
	if r.p.Acc() != big.Exact || r.x.Acc() != big.Exact {
		panic(fmt.Sprintf("fmaRef: %s*%s+%s is not exact at precision %d",
			fmaFmt(a), fmaFmt(b), fmaFmt(c), fmaRefPrec))
	}
	if r.x.Sign() == 0 {
		// Exact cancellation of nonzero terms: +0 when rounding to nearest.
		return 0
	}
	f, _ := r.x.Float32()
	return f
}

func fmaInf(neg bool) float32 {
	if neg {
		return float32(math.Inf(-1))
	}
	return float32(math.Inf(1))
}

func fmaZero(neg bool) float32 {
	if neg {
		return math.Float32frombits(1 << 31)
	}
	return 0
}

// fmaNaive is the double-rounding route fma32 must not take: the float64
// result of a*b+c (correctly rounded, the product being exact) converted to
// float32.
func fmaNaive(a, b, c float32) float32 {
	return float32(float64(float64(a)*float64(b)) + float64(c))
}

func fmaFmt(f float32) string {
	return fmt.Sprintf("%x[%08x]", f, math.Float32bits(f))
}

// fmaSame reports whether x and y are the same float32: identical bits, or
// both NaN (NaN payloads are not specified by IEEE 754 and differ between
// architectures).
func fmaSame(x, y float32) bool {
	return math.Float32bits(x) == math.Float32bits(y) || (x != x && y != y)
}

// fmaChecker compares fma32 and fma32c with the reference and reports the
// first few mismatches of a test family.
type fmaChecker struct {
	t    *testing.T
	ref  *fmaRef
	name string
	n    int
	bad  int
}

func newFMAChecker(t *testing.T, name string) *fmaChecker {
	return &fmaChecker{t: t, ref: newFMARef(), name: name}
}

// check compares fma32(a, b, c), and fma32c on the same values, with the
// reference and returns the reference value.
func (k *fmaChecker) check(a, b, c float32) float32 {
	k.t.Helper()
	want := k.ref.eval(a, b, c)
	k.n += 2 // fma32 and fma32c
	for _, f := range []struct {
		name string
		got  float32
	}{
		{"fma32", fma32(a, b, c)},
		{"fma32c", float32(fma32c(float64(a), float64(b), float64(c)))},
	} {
		if !fmaSame(f.got, want) {
			k.bad++
			if k.bad <= 10 {
				k.t.Errorf("%s: %s(%s, %s, %s) = %s, want %s", k.name, f.name,
					fmaFmt(a), fmaFmt(b), fmaFmt(c), fmaFmt(f.got), fmaFmt(want))
			}
		}
	}
	return want
}

func (k *fmaChecker) done() {
	k.t.Helper()
	if k.bad > 0 {
		k.t.Errorf("%s: %d of %d results wrong", k.name, k.bad, k.n)
	}
}

func newFMARand(seq uint64) *rand.Rand {
	return rand.New(rand.NewPCG(0x5eed_f3a3_2b17_0001, seq))
}

// fmaRandFinite returns a float32 with uniformly random bits, excluding Inf
// and NaN.
func fmaRandFinite(rng *rand.Rand) float32 {
	for {
		u := rng.Uint32()
		if u&0x7f800000 != 0x7f800000 {
			return math.Float32frombits(u)
		}
	}
}

// fmaRandExp returns ±m*2^e with a random 24-bit significand m in [1, 2),
// a random sign and e uniform in [emin, emax]. Below the normal range the
// value is rounded to a subnormal.
func fmaRandExp(rng *rand.Rand, emin, emax int) float32 {
	m := 1 + float64(rng.Uint32()>>9)/(1<<23)
	if rng.Uint32()&1 != 0 {
		m = -m
	}
	return float32(math.Ldexp(m, emin+rng.IntN(emax-emin+1)))
}

// fmaCount returns n, or n/10 in short mode.
func fmaCount(n int) int {
	if testing.Short() {
		return n / 10
	}
	return n
}

// TestFMARefRounding checks the assumption the reference rests on:
// big.Float.Float32 rounds to nearest even, including subnormal results,
// ties and overflow. For values with at most 53 significant bits it must
// agree with the hardware float64-to-float32 conversion; for longer values,
// a float32 midpoint plus or minus a tiny amount must round away from the
// midpoint in that direction.
func TestFMARefRounding(t *testing.T) {
	rng := newFMARand(1)
	var x big.Float
	bad := 0
	check := func(f float64) {
		want := float32(f)
		got, _ := x.SetFloat64(f).Float32()
		if !fmaSame(got, want) {
			bad++
			if bad <= 10 {
				t.Errorf("big.Float(%x).Float32() = %s, want %s", f, fmaFmt(got), fmaFmt(want))
			}
		}
	}
	for i := 0; i < fmaCount(200000); i++ {
		// float64 values spanning float32 underflow to overflow.
		f := math.Ldexp(1+float64(rng.Uint64()>>12)/(1<<52), rng.IntN(300)-160)
		switch i % 4 {
		case 1: // a float32 midpoint in the normal range
			f = math.Float64frombits(math.Float64bits(f)&^fmaTestDropMask | fmaTestMidpoint)
		case 2: // a subnormal float32 midpoint: an odd multiple of 2^-150
			f = math.Ldexp(float64(2*rng.IntN(1<<23)+1), -150)
		case 3: // near the overflow threshold 2^128 - 2^103
			f = 0x1p128 - 0x1p103 + float64(rng.IntN(5)-2)*0x1p75
		}
		if rng.Uint32()&1 != 0 {
			f = -f
		}
		check(f)
	}

	// Midpoints plus or minus 2^-k relative, beyond float64 precision.
	var m, d big.Float
	m.SetPrec(fmaRefPrec)
	for i := 0; i < fmaCount(20000); i++ {
		var lo float32
		if i%2 == 0 {
			lo = math.Float32frombits(uint32(rng.IntN(0x7f7fffff))) // finite, below MaxFloat32
		} else {
			lo = math.Float32frombits(uint32(rng.IntN(1 << 23))) // subnormal or zero
		}
		hi := math.Nextafter32(lo, float32(math.Inf(1)))
		mid := (float64(lo) + float64(hi)) / 2 // exact
		_, e := math.Frexp(mid)
		d.SetMantExp(big.NewFloat(1), e-60-rng.IntN(200)) // far below float64 resolution
		want := hi
		if rng.Uint32()&1 != 0 {
			want = lo
			d.Neg(&d)
		}
		m.SetFloat64(mid)
		m.Add(&m, &d)
		if got, _ := m.Float32(); !fmaSame(got, want) {
			bad++
			if bad <= 10 {
				t.Errorf("big.Float(%x + %g).Float32() = %s, want %s",
					mid, &d, fmaFmt(got), fmaFmt(want))
			}
		}
	}
	if bad > 0 {
		t.Fatalf("big.Float.Float32 is not a valid reference: %d wrong", bad)
	}
}

// TestFMA32Random compares fma32 with the reference on finite triples with
// uniformly random bit patterns.
func TestFMA32Random(t *testing.T) {
	rng := newFMARand(2)
	k := newFMAChecker(t, "random bits")
	for i := 0; i < fmaCount(2000000); i++ {
		k.check(fmaRandFinite(rng), fmaRandFinite(rng), fmaRandFinite(rng))
	}
	k.done()
}

// TestFMA32Aligned compares fma32 with the reference when c is of the same
// order as a*b, where cancellation and carries across the float32 rounding
// position are frequent. Uniformly random bits almost never produce this.
func TestFMA32Aligned(t *testing.T) {
	rng := newFMARand(3)
	k := newFMAChecker(t, "aligned")
	for i := 0; i < fmaCount(500000); i++ {
		a := fmaRandExp(rng, -60, 60)
		b := fmaRandExp(rng, -60, 60)
		_, e := math.Frexp(float64(a) * float64(b))
		c := fmaRandExp(rng, e-30, e+5)
		if i%8 == 0 {
			// Cancel the leading bits of the product.
			c = -float32(float64(a) * float64(b))
		}
		k.check(a, b, c)
	}
	k.done()
}

// TestFMA32NearOne covers the regime of polynomial evaluation: a and b in
// [-1, 1], c in [-2, 2], results of order 1.
func TestFMA32NearOne(t *testing.T) {
	rng := newFMARand(4)
	k := newFMAChecker(t, "near one")
	for i := 0; i < fmaCount(1000000); i++ {
		a := float32(2*rng.Float64() - 1)
		b := float32(2*rng.Float64() - 1)
		c := float32(4*rng.Float64() - 2)
		k.check(a, b, c)
	}
	k.done()
}

// TestFMA32Subnormal covers results in or near the float32 subnormal range,
// where the rounding position depends on the exponent, and subnormal
// operands.
func TestFMA32Subnormal(t *testing.T) {
	rng := newFMARand(5)
	k := newFMAChecker(t, "subnormal")
	randSub := func() float32 { // random nonzero subnormal, random sign
		return math.Float32frombits(uint32(1+rng.IntN(1<<23-1)) | rng.Uint32()&(1<<31))
	}
	n := fmaCount(300000)
	for i := 0; i < n; i++ {
		r := fmaRandExp(rng, -76, -63)
		a, b := r, r
		if i%2 == 1 {
			b = fmaRandExp(rng, -76, -63)
		}
		var c float32
		switch i % 6 {
		case 0:
			c = 0
		case 1:
			c = fmaZero(true)
		case 2:
			c = math.Float32frombits(uint32(1+rng.IntN(16)) | rng.Uint32()&(1<<31)) // tiny
		case 3:
			c = randSub()
		case 4:
			c = fmaRandExp(rng, -130, -120) // around the normal/subnormal boundary
		case 5:
			c = -float32(float64(a) * float64(b)) // cancellation
		}
		k.check(a, b, c)
	}
	for i := 0; i < n/3; i++ {
		// Subnormal operands.
		a := randSub()
		b := fmaRandExp(rng, -4, 24)
		var c float32
		switch i % 3 {
		case 1:
			c = randSub()
		case 2:
			c = fmaRandExp(rng, -128, -110)
		}
		k.check(a, b, c)
		k.check(b, a, c)
		k.check(a, b, -c)
	}
	k.done()
}

// fmaSearchHard looks for a, b such that x = a*b + c is not a float32
// midpoint but a*b + c rounded to float64 is one: x = m + d, where m is the
// midpoint between the float32 values j and j+1 ulps away from c (counted
// away from zero)
// and 0 < |d| < ulp64(m)/2. It picks a at random and b = q/a rounded, with
// q = m - c, and keeps the pair if the product error a*b - q happens to be
// small enough. ok is false if no pair was found.
func fmaSearchHard(rng *rand.Rand, c float32, j int) (a, b float32, ok bool) {
	cb := math.Float32bits(c)
	mag := int64(cb&^(1<<31)) + int64(j)
	if cb&^(1<<31) == 0 || mag < 0 || mag+1 >= 0x7f800000 {
		return 0, 0, false
	}
	sign := cb & (1 << 31)
	lo := math.Float32frombits(sign | uint32(mag))
	hi := math.Float32frombits(sign | uint32(mag+1))
	m := (float64(lo) + float64(hi)) / 2 // exact
	q := m - float64(c)
	if q+float64(c) != m || q == 0 {
		return 0, 0, false
	}
	_, eq := math.Frexp(q)
	for try := 0; try < 4096; try++ {
		a = fmaRandExp(rng, eq/2-8, eq/2+8)
		b = float32(q / float64(a))
		if b == 0 || math.IsInf(float64(b), 0) {
			continue
		}
		p := float64(float64(a) * float64(b)) // exact
		if p != q && float64(p+float64(c)) == m {
			return a, b, true
		}
	}
	return 0, 0, false
}

// fmaExactMidpointProduct returns a, b whose exact product is a float32
// midpoint in [2^e, 2^(e+1)), e in the normal range: the significands are odd
// integers whose product has exactly 25 bits.
func fmaExactMidpointProduct(rng *rand.Rand, e int) (a, b float32) {
	for {
		na := 1 + rng.IntN(23)                          // bits of A
		A := int64(rng.IntN(1<<(na-1))) | 1<<(na-1) | 1 // odd, na bits
		nb := 26 - na - rng.IntN(2)                     // bits of B, so A*B has 25 or 26 bits
		if nb < 1 || nb > 24 {
			continue
		}
		B := int64(rng.IntN(1<<(nb-1))) | 1<<(nb-1) | 1
		if P := A * B; P < 1<<24 || P >= 1<<25 {
			continue
		}
		ea := rng.IntN(41) - 20
		a = float32(math.Ldexp(float64(A), ea))
		b = float32(math.Ldexp(float64(B), e-24-ea))
		if float64(float64(a)*float64(b)) != math.Ldexp(float64(A*B), e-24) {
			continue // b was rounded to a subnormal
		}
		if rng.Uint32()&1 != 0 {
			a = -a
		}
		return a, b
	}
}

// TestFMA32DoubleRounding runs constructed hard cases: exact results within
// a float64 rounding error of a float32 midpoint, where rounding through
// float64 first gives the wrong float32. It requires the naive route to fail
// on some of them (so the cases are real) and fma32 to be right on all.
func TestFMA32DoubleRounding(t *testing.T) {
	rng := newFMARand(6)
	k := newFMAChecker(t, "double rounding")
	type family struct {
		name         string
		cases, naive int
	}
	var families []*family
	// run checks one triple that must be a double-rounding case: a*b+c
	// rounded to float64 is a float32 midpoint but a*b+c is not.
	var sBig big.Float
	run := func(f *family, a, b, c float32) {
		t.Helper()
		p := float64(float64(a) * float64(b))
		s := float64(p + float64(c))
		midpoint := math.Float64bits(s)&fmaTestDropMask == fmaTestMidpoint
		if math.Abs(s) < 0x1p-126 {
			midpoint = math.Mod(math.Abs(s)*0x1p150, 2) == 1 // odd multiple of 2^-150
		}
		if !midpoint {
			t.Fatalf("%s: %s*%s+%s: float64 sum %x is not a float32 midpoint",
				f.name, fmaFmt(a), fmaFmt(b), fmaFmt(c), s)
		}
		want := k.check(a, b, c)
		if k.ref.x.Cmp(sBig.SetFloat64(s)) == 0 { // k.ref.x: the exact a*b+c
			t.Fatalf("%s: %s*%s+%s is exactly the midpoint %x",
				f.name, fmaFmt(a), fmaFmt(b), fmaFmt(c), s)
		}
		f.cases++
		if !fmaSame(fmaNaive(a, b, c), want) {
			f.naive++
		}
	}
	newFamily := func(name string) *family {
		f := &family{name: name}
		families = append(families, f)
		return f
	}

	// Hand-made cases.
	f := newFamily("explicit")
	// (1 + 2^-12)^2 = 1 + 2^-11 + 2^-24 is a float32 midpoint; ±2^-60 is far
	// below float64 resolution at 1. Naive rounds both to the even side.
	a := float32(1 + 0x1p-12)
	for _, c := range []float32{0x1p-60, -0x1p-60, 0x1p-80, -0x1p-100} {
		run(f, a, a, c)
		run(f, -a, a, -c)
	}
	// 641 * 6700417 = 2^32 + 1, so the product is 2^-24 + 2^-56: added to 1
	// it lands just above the midpoint 1 + 2^-24.
	run(f, 641*0x1p-28, 6700417*0x1p-28, 1)
	run(f, -641*0x1p-28, 6700417*0x1p-28, -1)
	// (2^23-1)(2^23+1) = 2^46 - 1: MaxFloat32 + 2^103 - 2^57 must stay
	// finite; the naive route reaches the overflow threshold and gives +Inf.
	run(f, (1<<23-1)*0x1p28, (1<<23+1)*0x1p29, math.MaxFloat32)
	run(f, -(1<<23-1)*0x1p28, (1<<23+1)*0x1p29, -math.MaxFloat32)
	// The same products scaled to half a subnormal ulp, next to a large
	// subnormal c: c + 2^-150 - 2^-196 (c odd, so ties-to-even rounds up)
	// and c + 2^-150 + 2^-182 (c even, so ties-to-even rounds down).
	run(f, (1<<23-1)*0x1p-98, (1<<23+1)*0x1p-98, math.Float32frombits(0x007ffffd))
	run(f, 641*0x1p-91, 6700417*0x1p-91, math.Float32frombits(0x007ffffe))

	// Random search around normal c.
	f = newFamily("search, normal")
	for f.cases < fmaCount(20000) {
		c := fmaRandExp(rng, -120, 126)
		if a, b, ok := fmaSearchHard(rng, c, rng.IntN(6)-3); ok {
			run(f, a, b, c)
		}
	}

	// Random search around large subnormal c: subnormal results.
	f = newFamily("search, subnormal")
	for f.cases < fmaCount(5000) {
		c := math.Float32frombits(uint32(1<<22+rng.IntN(1<<22)) | rng.Uint32()&(1<<31))
		if a, b, ok := fmaSearchHard(rng, c, rng.IntN(6)-3); ok {
			run(f, a, b, c)
		}
	}

	// An exact-midpoint product plus a c far below float64 resolution.
	f = newFamily("midpoint product")
	for f.cases < fmaCount(20000) {
		e := rng.IntN(200) - 100
		a, b := fmaExactMidpointProduct(rng, e)
		p := float64(float64(a) * float64(b))
		_, ep := math.Frexp(p)
		c := fmaRandExp(rng, max(ep-100, -160), ep-56) // |c| < ulp64(p)/4
		if c == 0 || float64(p+float64(c)) != p {
			continue
		}
		run(f, a, b, c)
	}

	for _, f := range families {
		t.Logf("%-18s %6d cases, naive route wrong on %6d", f.name, f.cases, f.naive)
		if f.naive == 0 {
			t.Errorf("%s: the naive route was never wrong; the cases do not exercise double rounding", f.name)
		}
	}
	k.done()
}

// TestFMA32Special checks IEEE 754 special cases against hand-written
// results, then every triple of a grid of special and boundary values
// against the reference.
func TestFMA32Special(t *testing.T) {
	var (
		nan    = float32(math.NaN())
		inf    = float32(math.Inf(1))
		negZ   = fmaZero(true)
		max32  = float32(math.MaxFloat32)
		tiny   = float32(math.SmallestNonzeroFloat32)
		minNrm = float32(0x1p-126)
		h75    = float32(0x1p-75)
	)
	cases := []struct{ a, b, c, want float32 }{
		{nan, 1, 1, nan},
		{1, nan, 1, nan},
		{1, 1, nan, nan},
		{inf, 0, 1, nan},
		{negZ, inf, 1, nan},
		{inf, 0, nan, nan},
		{inf, 1, -inf, nan},
		{-inf, 1, inf, nan},
		{inf, -1, -inf, -inf},
		{inf, tiny, 1, inf},
		{1, 1, inf, inf},
		{max32, 2, -inf, -inf},
		{0, 0, 0, 0},
		{negZ, 1, negZ, negZ},
		{negZ, negZ, negZ, 0},
		{negZ, 1, 0, 0},
		{0, 1, negZ, 0},
		{1, -1, 1, 0},
		{-1, 1, 1, 0},
		{max32, -1, max32, 0},
		{2, 3, 0, 6},
		{2, 3, negZ, 6},
		{max32, 2, -max32, max32},      // no intermediate overflow
		{max32, 1 + 0x1p-23, 0, inf},   // overflow
		{-max32, 1 + 0x1p-23, 0, -inf}, // overflow
		{max32, 1, max32, inf},
		{h75, h75, 0, 0},                        // 2^-150: tie, rounds to even 0
		{h75, -h75, 0, negZ},                    // -2^-150 rounds to -0
		{h75, h75 * (1 + 0x1p-23), 0, tiny},     // just above the tie
		{tiny, 0.5, negZ, 0},                    // 2^-150 + (-0)
		{tiny, 1.5, 0, 2 * tiny},                // 1.5 ulp: tie to even, up
		{tiny, 2.5, 0, 2 * tiny},                // 2.5 ulp: tie to even, down
		{tiny, -1, tiny, 0},                     // exact cancellation
		{minNrm, 0.5, minNrm / 2, minNrm},       // subnormal halves summing to 2^-126
		{minNrm, 1 - 0x1p-24, 0, minNrm},        // rounds up into the normal range
		{minNrm, 1 - 0x1p-23, 0, minNrm - tiny}, // exact subnormal
		{1 + 0x1p-12, 1 + 0x1p-12, 0x1p-60, 1 + 0x1p-11 + 0x1p-23},
		{1 + 0x1p-12, 1 + 0x1p-12, -0x1p-60, 1 + 0x1p-11},
	}
	for _, tc := range cases {
		if got := fma32(tc.a, tc.b, tc.c); !fmaSame(got, tc.want) {
			t.Errorf("fma32(%s, %s, %s) = %s, want %s",
				fmaFmt(tc.a), fmaFmt(tc.b), fmaFmt(tc.c), fmaFmt(got), fmaFmt(tc.want))
		}
		if got := newFMARef().eval(tc.a, tc.b, tc.c); !fmaSame(got, tc.want) {
			t.Errorf("reference(%s, %s, %s) = %s, want %s",
				fmaFmt(tc.a), fmaFmt(tc.b), fmaFmt(tc.c), fmaFmt(got), fmaFmt(tc.want))
		}
	}

	grid := []float32{nan, inf, 0, 1, max32, tiny, minNrm, minNrm - tiny, 0.5, 3,
		1.0 / 3, 1 + 0x1p-23, 1 - 0x1p-24, 0x1p64, 0x1p-64}
	for _, v := range grid[1:] {
		grid = append(grid, -v)
	}
	k := newFMAChecker(t, "special grid")
	for _, a := range grid {
		for _, b := range grid {
			for _, c := range grid {
				k.check(a, b, c)
			}
		}
	}
	k.done()
}

var fmaSink float32

// BenchmarkFMA32 measures fma32 as the kernels use it: "horner" is a
// dependent degree-7 polynomial evaluation (latency bound), "independent" a vector of
// unrelated FMAs (throughput), "midpoint" forces the slow path on every
// call, and "naive" is the incorrect double-rounding route for comparison.
func BenchmarkFMA32(b *testing.B) {
	rng := newFMARand(7)
	const n = 1024
	x := make([]float32, n)
	y := make([]float32, n)
	z := make([]float32, n)
	for i := range x {
		x[i] = float32(rng.Float64() - 0.5)
		y[i] = float32(rng.Float64() + 0.5)
		z[i] = float32(rng.Float64())
	}
	b.Run("horner", func(b *testing.B) {
		var s float32
		for i := 0; i < b.N; i++ {
			// Taylor coefficients of exp, highest first.
			r := x[i%n]
			q := fma32(1.0/5040, r, 1.0/720)
			q = fma32(q, r, 1.0/120)
			q = fma32(q, r, 1.0/24)
			q = fma32(q, r, 1.0/6)
			q = fma32(q, r, 0.5)
			q = fma32(q, r, 1)
			s += fma32(q, r, 1)
		}
		fmaSink = s
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(7*b.N), "ns/fma")
	})
	b.Run("independent", func(b *testing.B) {
		out := make([]float32, n)
		for i := 0; i < b.N; i++ {
			for j := range out {
				out[j] = fma32(x[j], y[j], z[j])
			}
		}
		fmaSink = out[rng.IntN(n)]
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n*b.N), "ns/fma")
	})
	b.Run("midpoint", func(b *testing.B) {
		// (1 + 2^-12)^2 + c, c = ±2^-60: the float64 sum is always a float32
		// midpoint.
		ma := make([]float32, n)
		mc := make([]float32, n)
		for j := range ma {
			ma[j] = 1 + 0x1p-12
			mc[j] = 0x1p-60
			if rng.Uint32()&1 != 0 {
				mc[j] = -mc[j]
			}
		}
		out := make([]float32, n)
		for i := 0; i < b.N; i++ {
			for j := range out {
				out[j] = fma32(ma[j], ma[j], mc[j])
			}
		}
		fmaSink = out[rng.IntN(n)]
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n*b.N), "ns/fma")
	})
	b.Run("naive", func(b *testing.B) {
		out := make([]float32, n)
		for i := 0; i < b.N; i++ {
			for j := range out {
				out[j] = fmaNaive(x[j], y[j], z[j])
			}
		}
		fmaSink = out[rng.IntN(n)]
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n*b.N), "ns/fma")
	})
}

// TestFMA32Carried checks that fma32c, the float64-carried form used in
// the exponential's polynomial, gives fma32's bits.
func TestFMA32Carried(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	for i := 0; i < 200000; i++ {
		a := float32(rng.NormFloat64())
		b := float32(rng.NormFloat64())
		c := float32(rng.NormFloat64())
		if i%4 == 0 {
			c = -float32(float64(a) * float64(b)) // cancellation
		}
		want := fma32(a, b, c)
		got := fma32c(float64(a), float64(b), float64(c))
		if math.Float64bits(got) != math.Float64bits(float64(want)) {
			t.Fatalf("fma32c(%v, %v, %v) = %v, fma32 %v", a, b, c, got, want)
		}
	}
}
