package kernels

import (
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"runtime/debug"
	"sync"
	"testing"
	"unsafe"
)

// Every implementation returns the generic implementation's bits (see
// package fallback). These tests compare each SIMD implementation the CPU
// runs with generic, bit for bit, on the inputs and memory layouts where
// vector code goes wrong: every length up to 300 (all tail sizes, alone
// and after full vectors), long rows, every alignment within 64 bytes, in
// place, special values, and rows against guard pages.

// simdImpls returns the implementations this CPU runs other than generic.
func simdImpls() []*Implementation {
	var out []*Implementation
	for _, im := range Implementations() {
		if im != generic {
			out = append(out, im)
		}
	}
	return out
}

// forEachSIMD runs f as a subtest for every implementation in simdImpls,
// and skips if there is none (purego builds, or a CPU without SIMD
// support).
func forEachSIMD(t *testing.T, f func(t *testing.T, im *Implementation)) {
	t.Helper()
	ims := simdImpls()
	if len(ims) == 0 {
		t.Skip("no SIMD implementation on this build and CPU")
	}
	for _, im := range ims {
		t.Run(im.Name(), func(t *testing.T) { f(t, im) })
	}
}

// compareBits fails t if got and want differ in any bit, listing the first
// mismatches with their index, input and both bit patterns.
func compareBits(t *testing.T, what string, x, want, got []float32) {
	t.Helper()
	const show = 8
	bad := 0
	for i := range want {
		w, g := math.Float32bits(want[i]), math.Float32bits(got[i])
		if w == g {
			continue
		}
		if bad < show {
			t.Errorf("%s: [%d] x = %v (%#08x): got %v (%#08x), generic %v (%#08x)",
				what, i, x[i], math.Float32bits(x[i]), got[i], g, want[i], w)
		}
		bad++
	}
	if bad > show {
		t.Errorf("%s: %d mismatches in all", what, bad)
	}
}

// expSpecials are the inputs Exp must get exactly right beyond the
// ordinary ones: signed zeros and infinities, NaNs with payloads (quiet
// and signaling, both signs), subnormals, the extremes, the clamp bounds,
// and the neighbourhoods of the overflow and underflow thresholds.
var expSpecials = func() []float32 {
	bits := []uint32{
		0x00000000, 0x80000000, // ±0
		0x7f800000, 0xff800000, // ±Inf
		0x7fc00000, 0xffc00000, 0x7fc00001, 0x7fffffff, 0xffffffff, // quiet NaNs
		0x7f800001, 0x7fa00000, 0xff800001, 0xffbfffff, // signaling NaNs
		0x00000001, 0x00000002, 0x007fffff, 0x00400000, // subnormals
		0x80000001, 0x807fffff, 0x80400000,
		0x00800000, 0x80800000, // ±smallest normal
		0x7f7fffff, 0xff7fffff, // ±MaxFloat32
		0x3f800000, 0xbf800000, // ±1
		0x33800000, 0xb3800000, // ±2^-24
	}
	var x []float32
	for _, b := range bits {
		x = append(x, math.Float32frombits(b))
	}
	// The clamp bounds and overflow/underflow thresholds, with their
	// neighbours: exp(88.72283) is the last finite result, exp(-87.33655)
	// the last normal one, exp(-103.97208) the last nonzero one.
	for _, v := range []float32{-105, 89, 88.72283, -87.33655, -103.97208, -103.27893} {
		b := math.Float32bits(v)
		for d := uint32(0); d < 4; d++ {
			x = append(x, math.Float32frombits(b+d), math.Float32frombits(b-d))
		}
	}
	return x
}()

// expInput returns n inputs for Exp: a mix of N(0, 30), uniform(-110, 100),
// uniform(-1, 1), the ranges where results overflow or become subnormal,
// arbitrary bit patterns, and expSpecials.
func expInput(rng *rand.Rand, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		switch rng.IntN(10) {
		case 0, 1, 2:
			x[i] = float32(30 * rng.NormFloat64())
		case 3, 4, 5:
			x[i] = float32(-110 + 210*rng.Float64())
		case 6:
			x[i] = float32(2*rng.Float64() - 1)
		case 7:
			if rng.IntN(2) == 0 {
				x[i] = float32(88 + 1.5*rng.Float64())
			} else {
				x[i] = float32(-106 + 20*rng.Float64())
			}
		case 8:
			x[i] = math.Float32frombits(rng.Uint32())
		default:
			x[i] = expSpecials[rng.IntN(len(expSpecials))]
		}
	}
	return x
}

// aligned64 returns a zeroed slice of n float32s whose first element is
// 64-byte aligned, so that slicing it at offsets 0..15 covers every
// alignment a 16-lane vector can have.
func aligned64(n int) []float32 {
	buf := make([]float32, n+16)
	skip := (64 - int(uintptr(unsafe.Pointer(unsafe.SliceData(buf)))%64)) % 64 / 4
	return buf[skip : skip+n]
}

// genericExp returns generic's Exp of x.
func genericExp(x []float32) []float32 {
	y := make([]float32, len(x))
	generic.Exp(y, x)
	return y
}

func TestBitExactExpLengths(t *testing.T) {
	forEachSIMD(t, func(t *testing.T, im *Implementation) {
		rng := rand.New(rand.NewPCG(1, 2))
		lengths := []int{4096, 1 << 20}
		for n := 0; n <= 300; n++ {
			lengths = append(lengths, n)
		}
		for _, n := range lengths {
			for rep := 0; rep < 4 && (rep == 0 || n <= 300); rep++ {
				x := expInput(rng, n)
				want := genericExp(x)
				got := make([]float32, n)
				im.Exp(got, x)
				compareBits(t, fmt.Sprintf("n=%d rep %d", n, rep), x, want, got)

				// In place.
				y := append([]float32(nil), x...)
				im.Exp(y, y)
				compareBits(t, fmt.Sprintf("n=%d rep %d, in place", n, rep), x, want, y)
			}
			if t.Failed() {
				return
			}
		}
	})
}

// TestBitExactExpSpecials runs every special value in every lane position,
// in vectors alone and in tails, next to ordinary values.
func TestBitExactExpSpecials(t *testing.T) {
	forEachSIMD(t, func(t *testing.T, im *Implementation) {
		rng := rand.New(rand.NewPCG(3, 4))
		for _, n := range []int{1, 7, 15, 16, 17, 33, 48, 64, 79} {
			for _, s := range expSpecials {
				for pos := 0; pos < n; pos++ {
					x := expInput(rng, n)
					x[pos] = s
					want := genericExp(x)
					got := make([]float32, n)
					im.Exp(got, x)
					compareBits(t, fmt.Sprintf("n=%d, %#08x at %d", n, math.Float32bits(s), pos), x, want, got)
				}
			}
			if t.Failed() {
				return
			}
		}
	})
}

// TestBitExactExpOffsets slices input and output at every offset within
// 64 bytes, independently, and checks the elements around the output are
// left alone.
func TestBitExactExpOffsets(t *testing.T) {
	forEachSIMD(t, func(t *testing.T, im *Implementation) {
		rng := rand.New(rand.NewPCG(5, 6))
		var lengths []int
		for n := 0; n <= 40; n++ {
			lengths = append(lengths, n)
		}
		lengths = append(lengths, 63, 64, 65, 127, 129, 300)
		for _, n := range lengths {
			x := expInput(rng, n)
			checkOffsets(t, x, genericExp(x), im.Exp, nil)
			if t.Failed() {
				return
			}
		}
	})
}

// bitexactStride sets the stride of TestBitExactExpSweep; 1 compares all
// 2^32 inputs (a minute or so per implementation). Under the race
// detector the default is 4099.
var bitexactStride = flag.Uint("bitexact.stride", sweepStride(), "compare Exp on every `n`th float32 bit pattern")

func sweepStride() uint {
	if raceEnabled {
		return 4099
	}
	return 257
}

// TestBitExactExpSweep compares every 257th float32 bit pattern (or every
// -bitexact.stride'th), which covers every sign and exponent with varied
// mantissas.
func TestBitExactExpSweep(t *testing.T) {
	stride := uint32(*bitexactStride)
	if stride == 0 {
		t.Fatal("-bitexact.stride 0")
	}
	forEachSIMD(t, func(t *testing.T, im *Implementation) {
		sweepBits(t, 0, math.MaxUint32, stride, im.Exp, generic.Exp)
	})
}

// TestBitExactExpDense compares every float32 with 1/4 <= |x| <= 105: all
// the inputs whose reduction uses both Cody-Waite steps (n != 0) and that
// are not clamped, 150 million of them, where a sparse sweep sees one in
// 257. It takes about a second per implementation; -short and -race skip
// it.
func TestBitExactExpDense(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("-short or -race (where it takes minutes, and the sweep checks the same code)")
	}
	quarter, top := math.Float32bits(0.25), math.Float32bits(105)
	forEachSIMD(t, func(t *testing.T, im *Implementation) {
		sweepBits(t, quarter, top, 1, im.Exp, generic.Exp)
		sweepBits(t, quarter|1<<31, top|1<<31, 1, im.Exp, generic.Exp)
	})
}

// sweepBits compares f and ref, two kernels func(dst, src), on the float32
// bit patterns from, from+stride, ... up to and including to, in chunks
// split over the CPUs. The chunks' lengths vary, so that every tail length
// of the kernels is used.
func sweepBits(t *testing.T, from, to, stride uint32, f, ref func(dst, src []float32)) {
	t.Helper()
	const chunk = 1 << 16
	type job struct {
		from uint64
		n    int
	}
	var (
		mu   sync.Mutex
		wg   sync.WaitGroup
		jobs = make(chan job)
	)
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			x := make([]float32, 0, chunk)
			want := make([]float32, chunk)
			got := make([]float32, chunk)
			for j := range jobs {
				x = x[:0]
				for b := j.from; b <= uint64(to) && len(x) < j.n; b += uint64(stride) {
					x = append(x, math.Float32frombits(uint32(b)))
				}
				ref(want[:len(x)], x)
				f(got[:len(x)], x)
				for i := range x {
					if math.Float32bits(want[i]) != math.Float32bits(got[i]) {
						mu.Lock()
						t.Errorf("x = %v (%#08x): got %#08x, generic %#08x",
							x[i], math.Float32bits(x[i]), math.Float32bits(got[i]), math.Float32bits(want[i]))
						mu.Unlock()
						break
					}
				}
			}
		}()
	}
	b := uint64(from)
	for k := 0; b <= uint64(to); k++ {
		n := chunk - k%64
		jobs <- job{b, n}
		b += uint64(n) * uint64(stride)
	}
	close(jobs)
	wg.Wait()
}

// catchFault runs f and turns a memory fault in it (such as touching a
// guard page) into a test failure that names what was running.
func catchFault(t *testing.T, what string, f func()) {
	t.Helper()
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if e := recover(); e != nil {
			if err, ok := e.(interface{ Addr() uintptr }); ok {
				t.Fatalf("%s: memory fault at %#x: %v", what, err.Addr(), e)
			}
			panic(e)
		}
	}()
	f()
}

// TestGuardExp places rows so that they end right before, or start right
// after, an inaccessible page, for every length 0..300, on every
// implementation: a kernel that reads or writes one element out of bounds
// faults.
func TestGuardExp(t *testing.T) {
	forEachImpl(t, func(t *testing.T, im *Implementation) {
		rng := rand.New(rand.NewPCG(7, 8))
		for n := 0; n <= 300; n++ {
			x := expInput(rng, n)
			checkGuards(t, x, genericExp(x), im.Exp, nil)
		}
	})
}

// checkOffsets runs the elementwise-shaped kernel f(dst, src) on x with src
// and dst at every offset within 64 bytes, independently, and in place at
// each src offset, and compares every result with want; it also checks
// that nothing around dst is written. each, if not nil, runs once per src
// placement (for kernels that read src alone, such as LogSumExp).
func checkOffsets(t *testing.T, x, want []float32, f func(dst, src []float32), each func(what string, src []float32)) {
	t.Helper()
	const pad = 16
	sentinel := math.Float32frombits(0x7fa5a5a5)
	n := len(x)
	for so := 0; so < 16; so++ {
		src := aligned64(n + 16)[so : so+n]
		copy(src, x)
		if each != nil {
			each(fmt.Sprintf("n=%d src offset %d", n, so), src)
		}
		for do := 0; do < 16; do++ {
			buf := aligned64(n + 16 + 2*pad)
			for i := range buf {
				buf[i] = sentinel
			}
			dst := buf[pad+do : pad+do+n]
			f(dst, src)
			what := fmt.Sprintf("n=%d src offset %d dst offset %d", n, so, do)
			compareBits(t, what, x, want, dst)
			for i, v := range buf {
				if (i < pad+do || i >= pad+do+n) && math.Float32bits(v) != math.Float32bits(sentinel) {
					t.Fatalf("%s: wrote element %d outside dst", what, i-pad-do)
				}
			}
		}
		f(src, src)
		compareBits(t, fmt.Sprintf("n=%d offset %d in place", n, so), x, want, src)
	}
}

// checkGuards runs f(dst, src) on x with both slices ending right before,
// then starting right after, an inaccessible page, out of place and in
// place, and compares the results with want. each, if not nil, runs on
// each src placement, under catchFault.
func checkGuards(t *testing.T, x, want []float32, f func(dst, src []float32), each func(what string, src []float32)) {
	t.Helper()
	n := len(x)
	for _, place := range []struct {
		name string
		row  func(testing.TB, int) []float32
	}{{"end", endAtGuard}, {"start", startAfterGuard}} {
		src, dst := place.row(t, n), place.row(t, n)
		copy(src, x)
		what := fmt.Sprintf("n=%d at %s of page", n, place.name)
		if each != nil {
			catchFault(t, what, func() { each(what, src) })
		}
		catchFault(t, what, func() { f(dst, src) })
		compareBits(t, what, x, want, dst)
		catchFault(t, what+", in place", func() { f(src, src) })
		compareBits(t, what+", in place", x, want, src)
	}
}
