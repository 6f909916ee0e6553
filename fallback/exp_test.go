package fallback

import (
	"math"
	"testing"
)

// TestExpConstants pins the bit patterns the assembly paths copy.
func TestExpConstants(t *testing.T) {
	for _, c := range []struct {
		name string
		v    float32
		bits uint32
	}{
		{"log2e", log2e, 0x3fb8aa3b},
		{"ln2Hi", ln2Hi, 0x3f317218},
		{"ln2Lo", ln2Lo, 0xb102e308},
		{"roundMagic", roundMagic, roundMagicBits},
		{"expC2", expC2, 0x3efffffd},
		{"expC3", expC3, 0x3e2aaa45},
		{"expC4", expC4, 0x3d2aad09},
		{"expC5", expC5, 0x3c091fbc},
		{"expC6", expC6, 0x3ab4b71a},
	} {
		if got := math.Float32bits(c.v); got != c.bits {
			t.Errorf("%s = %#x, want %#x", c.name, got, c.bits)
		}
	}
	if d := float64(ln2Hi) + float64(ln2Lo) - math.Ln2; math.Abs(d) > 2.3e-16 { // two float64 roundings of ln2
		t.Errorf("ln2Hi + ln2Lo - ln2 = %g", d)
	}
}

// TestExpReduceExact checks the claim the reduction rests on: for every
// float32 x the kernels reduce, x - n*ln2Hi is exact, so that only the
// second Cody-Waite step rounds. It tests a dense sample of [-330, 90].
func TestExpReduceExact(t *testing.T) {
	for b := math.Float32bits(-330); b > 0x80000000; b -= 97 {
		checkReduceExact(t, math.Float32frombits(b))
	}
	for b := uint32(0); b <= math.Float32bits(90); b += 97 {
		checkReduceExact(t, math.Float32frombits(b))
	}
}

func checkReduceExact(t *testing.T, x float32) {
	tt := fma32(x, log2e, roundMagic)
	n := tt - roundMagic
	r1 := fma32(n, -ln2Hi, x)
	if exact := float64(x) - float64(n)*float64(ln2Hi); float64(r1) != exact {
		t.Fatalf("x = %v: x - n*ln2Hi = %v rounded to %v", x, exact, r1)
	}
	if math.Abs(float64(r1)) > 0.35 {
		t.Fatalf("x = %v: |r1| = %v > 0.35", x, r1)
	}
}

// TestLog64 checks the logarithm of the row sums against math.Log.
func TestLog64(t *testing.T) {
	for s := 0.70710678; s < 1e10; s *= 1.0137 {
		want := math.Log(s)
		if got := log64(s); math.Abs(got-want) > 4e-16*math.Max(1, math.Abs(want)) {
			t.Fatalf("log64(%v) = %v, math.Log %v", s, got, want)
		}
	}
	for _, s := range []float64{1, 2, math.Sqrt2, math.Sqrt2 * (1 + 1e-16), 0.75, 1 << 40} {
		if got, want := log64(s), math.Log(s); math.Abs(got-want) > 4e-16*math.Max(1, math.Abs(want)) {
			t.Errorf("log64(%v) = %v, math.Log %v", s, got, want)
		}
	}
}
