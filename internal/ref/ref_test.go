package ref

import (
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"strings"
	"testing"
)

const prec = 512 // bits for math/big; enough to hold every sum here exactly

var (
	inf  = float32(math.Inf(1))
	ninf = float32(math.Inf(-1))
	nan  = float32(math.NaN())
)

// bigExp returns exp(d) to far more than float64 precision: d is halved m
// times until |d| <= 1/2 (exactly, in binary), the Taylor series is summed,
// and the result is squared m times. Squaring doubles the relative error m
// times, which costs m bits of the 512.
func bigExp(d *big.Float) *big.Float {
	r := new(big.Float).SetPrec(prec).Set(d)
	half := big.NewFloat(0.5)
	m := 0
	for new(big.Float).Abs(r).Cmp(half) > 0 {
		r.SetMantExp(r, -1)
		m++
	}
	sum := new(big.Float).SetPrec(prec).SetInt64(1)
	term := new(big.Float).SetPrec(prec).SetInt64(1)
	for k := 1; k < 120; k++ { // 0.5^k/k! < 2^-600 well before k = 120
		term.Mul(term, r)
		term.Quo(term, new(big.Float).SetPrec(prec).SetInt64(int64(k)))
		sum.Add(sum, term)
	}
	for ; m > 0; m-- {
		sum.Mul(sum, sum)
	}
	return sum
}

// bigSoftmax is Softmax of a finite row, computed with math/big throughout.
func bigSoftmax(x []float32) (y []float64, logSum float64, max float64) {
	max = math.Inf(-1)
	for _, v := range x {
		max = math.Max(max, float64(v))
	}
	bm := new(big.Float).SetPrec(prec).SetFloat64(max)
	es := make([]*big.Float, len(x))
	s := new(big.Float).SetPrec(prec)
	for i, v := range x {
		d := new(big.Float).SetPrec(prec).SetFloat64(float64(v))
		d.Sub(d, bm) // exact: 512 bits span any two float32 values
		es[i] = bigExp(d)
		s.Add(s, es[i])
	}
	y = make([]float64, len(x))
	for i, e := range es {
		y[i], _ = new(big.Float).SetPrec(prec).Quo(e, s).Float64()
	}
	sf, _ := s.Float64()
	return y, math.Log(sf), max
}

func TestBigExp(t *testing.T) {
	// The test's own exp must be right before it judges anything.
	for _, d := range []float64{0, 1, -1, 0.5, -0.3, 2.75, -10, -87.5, -103.25, 30} {
		got, _ := bigExp(new(big.Float).SetPrec(prec).SetFloat64(d)).Float64()
		want := math.Exp(d)
		if math.Abs(got-want) > 2*math.Abs(want)*0x1p-52 {
			t.Errorf("bigExp(%v) = %v, math.Exp = %v", d, got, want)
		}
	}
}

func exactSum(v []float64) float64 {
	s := new(big.Float).SetPrec(4096)
	for _, x := range v {
		s.Add(s, new(big.Float).SetFloat64(x))
	}
	f, _ := s.Float64()
	return f
}

func TestCompensatedSum(t *testing.T) {
	cases := [][]float64{
		{1e16, 1, -1e16},
		{1, 1e100, 1, -1e100},
		{0x1p53, 1, 1, 1, 1, 1, 1},
		{3, 0x1p-60, -3, 0x1p-60},
	}
	r := rand.New(rand.NewPCG(1, 2))
	// Positive terms spread over 2^80, as exp(x - max) is.
	var pos []float64
	for range 100000 {
		pos = append(pos, math.Ldexp(r.Float64(), -r.IntN(80)))
	}
	cases = append(cases, pos)
	// Mixed signs with moderate cancellation.
	var mixed []float64
	for range 10000 {
		mixed = append(mixed, math.Ldexp(r.NormFloat64(), r.IntN(40)-20))
	}
	cases = append(cases, mixed)
	for i, c := range cases {
		var k ksum
		var naive, abs float64
		for _, v := range c {
			k.add(v)
			naive += v
			abs += math.Abs(v)
		}
		got, want := k.value(), exactSum(c)
		// Neumaier: |err| <= eps|S| + O(n eps^2) sum|x|.
		tol := 0x1p-53*math.Abs(want) + float64(len(c))*0x1p-104*abs
		if math.Abs(got-want) > tol {
			t.Errorf("case %d: compensated sum %v, exact %v (naive %v), tolerance %g", i, got, want, naive, tol)
		}
	}
	// The first cases are lost by a plain sum; make sure they test something.
	if a, b := 1e16, 1.0; a+b-a == b {
		t.Fatal("plain float64 sum is exact on {1e16, 1, -1e16}: the test case is void")
	}
	var k ksum
	k.add(math.Inf(1))
	k.add(1)
	if v := k.value(); !math.IsInf(v, 1) {
		t.Errorf("sum of +Inf and 1 = %v, want +Inf", v)
	}
}

func TestSoftmaxAgainstBig(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	rows := map[string][]float32{}
	row := func(name string, n int, f func(i int) float64) {
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(f(i))
		}
		rows[name] = x
	}
	row("normal4", 97, func(int) float64 { return 4 * r.NormFloat64() })
	row("underflow", 150, func(int) float64 { return -110 * r.Float64() })
	row("spread", 60, func(int) float64 { return 160*r.Float64() - 80 })
	row("offset1e4", 50, func(int) float64 { return 1e4 + 4*r.NormFloat64() })
	row("offset-3e4", 50, func(int) float64 { return -3e4 + 4*r.NormFloat64() })
	row("offset-1e30", 20, func(int) float64 { return -1e30 + 4*r.NormFloat64() })
	row("one", 1, func(int) float64 { return -7.5 })
	row("long", 3000, func(int) float64 { return 16 * r.NormFloat64() })
	for name, x := range rows {
		want, logSum, max := bigSoftmax(x)
		got := make([]float64, len(x))
		Softmax(got, x)
		var st Stats
		var sum float64
		for i := range x {
			sum += got[i]
			w := want[i]
			if w < MinNormal32 {
				// Below float32 normals, compare relative to the value.
				if math.Abs(got[i]-w) > 1e-13*w {
					t.Errorf("%s[%d]: Softmax %g, big %g", name, i, got[i], w)
				}
				continue
			}
			e := math.Abs(got[i]-w) / ULP32(w)
			st.Add(e)
		}
		if st.Max > 1e-6 {
			t.Errorf("%s: max error %g float32 ULPs against math/big, want < 1e-6", name, st.Max)
		}
		if math.Abs(sum-1) > 1e-12 {
			t.Errorf("%s: outputs sum to %v", name, sum)
		}
		m, l := MaxLogSum(x)
		if m != max || math.Abs(l-logSum) > 1e-14*(1+math.Abs(logSum)) {
			t.Errorf("%s: MaxLogSum = %v, %v, want %v, %v", name, m, l, max, logSum)
		}
		lse := LogSumExp(x)
		if wl := max + logSum; math.Abs(lse-wl) > 1e-15*math.Abs(wl)+1e-14 {
			t.Errorf("%s: LogSumExp = %v, want %v", name, lse, wl)
		}
		ls := make([]float64, len(x))
		LogSoftmax(ls, x)
		for i := range x {
			wl := (float64(x[i]) - max) - logSum
			if math.Abs(ls[i]-wl) > 1e-14*(1+math.Abs(wl)) {
				t.Errorf("%s[%d]: LogSoftmax = %v, want %v", name, i, ls[i], wl)
				break
			}
		}
		t.Logf("%-12s max %.2g mean %.2g float32 ULPs (%d elements)", name, st.Max, st.Mean(), st.N)
	}
}

func eq(a, b float64) bool { return a == b || (math.IsNaN(a) && math.IsNaN(b)) }

func checkRow(t *testing.T, what string, got, want []float64, tol float64) {
	t.Helper()
	for i := range want {
		if !eq(got[i], want[i]) && !(math.Abs(got[i]-want[i]) <= tol) {
			t.Errorf("%s = %v, want %v", what, got, want)
			return
		}
	}
}

func TestKnownAnswers(t *testing.T) {
	y := make([]float64, 2)
	Softmax(y, []float32{0, 0})
	checkRow(t, "Softmax[0 0]", y, []float64{0.5, 0.5}, 0)

	ln3 := float32(math.Log(3))
	Softmax(y, []float32{0, ln3})
	// float32(ln 3) is off by < 2^-24*1.1; the outputs move by 3/16 of that.
	checkRow(t, "Softmax[0 ln3]", y, []float64{0.25, 0.75}, 2e-8)
	if float32(y[0]) != 0.25 || float32(y[1]) != 0.75 {
		t.Errorf("Softmax[0 ln3] = %v does not round to [0.25 0.75]", y)
	}

	big := float32(1e30)
	Softmax(y, []float32{big, big})
	checkRow(t, "Softmax[1e30 1e30]", y, []float64{0.5, 0.5}, 0)
	Softmax(y, []float32{-big, -big})
	checkRow(t, "Softmax[-1e30 -1e30]", y, []float64{0.5, 0.5}, 0)
	below := math.Nextafter32(big, 0)
	Softmax(y, []float32{below, big})
	checkRow(t, "Softmax[1e30- 1e30]", y, []float64{0, 1}, 0)

	LogSoftmax(y, []float32{big, big})
	checkRow(t, "LogSoftmax[1e30 1e30]", y, []float64{-math.Ln2, -math.Ln2}, 1e-16)
	if v := LogSumExp([]float32{big, big}); v != float64(big) {
		t.Errorf("LogSumExp[1e30 1e30] = %v, want %v", v, float64(big))
	}
	if v := LogSumExp([]float32{0, 0, 0, 0}); math.Abs(v-math.Log(4)) > 1e-16 {
		t.Errorf("LogSumExp[0 0 0 0] = %v, want ln 4", v)
	}
	if l := CrossEntropy(nil, []float32{big, big}, 1); math.Abs(l-math.Ln2) > 1e-16 {
		t.Errorf("CrossEntropy([1e30 1e30], 1) = %v, want ln 2", l)
	}

	y3 := make([]float64, 3)
	Softmax(y3, []float32{1.5, 1.5, 1.5})
	checkRow(t, "Softmax[1.5 1.5 1.5]", y3, []float64{1.0 / 3, 1.0 / 3, 1.0 / 3}, 0)

	if Exp(1) != math.E || Exp(0) != 1 || Exp(ninf) != 0 {
		t.Errorf("Exp(1), Exp(0), Exp(-inf) = %v, %v, %v", Exp(1), Exp(0), Exp(ninf))
	}
}

func TestSemantics(t *testing.T) {
	N, I, Z := math.NaN(), math.Inf(1), 0.0
	cases := []struct {
		name   string
		x      []float32
		sm, ls []float64
		lse    float64
		ce0    float64 // CrossEntropy with target 0
		grad0  []float64
	}{
		{name: "some -inf", x: []float32{0, ninf, 0, ninf},
			sm: []float64{0.5, Z, 0.5, Z}, ls: []float64{-math.Ln2, -I, -math.Ln2, -I},
			lse: math.Ln2, ce0: math.Ln2, grad0: []float64{-0.5, 0, 0.5, 0}},
		{name: "all -inf", x: []float32{ninf, ninf, ninf},
			sm: []float64{Z, Z, Z}, ls: []float64{-I, -I, -I},
			lse: -I, ce0: I, grad0: []float64{-1, 0, 0}},
		{name: "one -inf", x: []float32{ninf},
			sm: []float64{Z}, ls: []float64{-I}, lse: -I, ce0: I, grad0: []float64{-1}},
		{name: "one NaN", x: []float32{0, nan, 1},
			sm: []float64{N, N, N}, ls: []float64{N, N, N}, lse: N, ce0: N, grad0: []float64{N, N, N}},
		{name: "NaN and +inf", x: []float32{inf, nan, 1},
			sm: []float64{N, N, N}, ls: []float64{N, N, N}, lse: N, ce0: N, grad0: []float64{N, N, N}},
		{name: "one +inf", x: []float32{0, inf, 1},
			sm: []float64{N, N, N}, ls: []float64{N, N, N}, lse: I, ce0: N, grad0: []float64{N, N, N}},
		{name: "+inf and -inf", x: []float32{ninf, inf},
			sm: []float64{N, N}, ls: []float64{N, N}, lse: I, ce0: N, grad0: []float64{N, N}},
		{name: "target -inf", x: []float32{ninf, 3, 3},
			sm: []float64{Z, 0.5, 0.5}, ls: []float64{-I, -math.Ln2, -math.Ln2},
			lse: 3 + math.Ln2, ce0: I, grad0: []float64{-1, 0.5, 0.5}},
		{name: "one finite", x: []float32{-1e30},
			sm: []float64{1}, ls: []float64{0}, lse: float64(float32(-1e30)), ce0: 0, grad0: []float64{0}},
	}
	for _, c := range cases {
		n := len(c.x)
		got := make([]float64, n)
		Softmax(got, c.x)
		checkRow(t, c.name+": Softmax", got, c.sm, 1e-16)
		LogSoftmax(got, c.x)
		checkRow(t, c.name+": LogSoftmax", got, c.ls, 1e-15)
		if v := LogSumExp(c.x); !eq(v, c.lse) && !(math.Abs(v-c.lse) < 1e-15*math.Abs(c.lse)) {
			t.Errorf("%s: LogSumExp = %v, want %v", c.name, v, c.lse)
		}
		if v := CrossEntropy(got, c.x, 0); !eq(v, c.ce0) && !(math.Abs(v-c.ce0) < 1e-15) {
			t.Errorf("%s: CrossEntropy = %v, want %v", c.name, v, c.ce0)
		}
		checkRow(t, c.name+": CrossEntropy grad", got, c.grad0, 1e-16)
	}
	// Empty rows.
	Softmax(nil, nil)
	LogSoftmax(nil, nil)
	if v := LogSumExp(nil); !math.IsInf(v, -1) {
		t.Errorf("LogSumExp(empty) = %v, want -Inf", v)
	}
	if m, l := MaxLogSum(nil); !math.IsInf(m, -1) || l != 0 {
		t.Errorf("MaxLogSum(empty) = %v, %v, want -Inf, 0", m, l)
	}
}

func TestCrossEntropy(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	x := make([]float32, 40)
	for i := range x {
		x[i] = float32(4 * r.NormFloat64())
	}
	sm := make([]float64, len(x))
	Softmax(sm, x)
	ls := make([]float64, len(x))
	LogSoftmax(ls, x)
	grad := make([]float64, len(x))
	for _, tg := range []int{0, 17, 39} {
		loss := CrossEntropy(grad, x, tg)
		if math.Abs(loss+ls[tg]) > 1e-15*math.Abs(loss) {
			t.Errorf("target %d: loss %v, -LogSoftmax %v", tg, loss, -ls[tg])
		}
		if v := LogSumExp(x) - float64(x[tg]); math.Abs(loss-v) > 1e-14 {
			t.Errorf("target %d: loss %v, LogSumExp - x %v", tg, loss, v)
		}
		for i := range grad {
			w := sm[i]
			if i == tg {
				w--
			}
			if grad[i] != w {
				t.Errorf("target %d: grad[%d] = %v, want %v", tg, i, grad[i], w)
			}
		}
	}
}

func TestBackward(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, n := range []int{1, 2, 7, 100, 5000} {
		x := make([]float32, n)
		y := make([]float32, n)
		ly := make([]float32, n)
		dy := make([]float32, n)
		for i := range x {
			x[i] = float32(4 * r.NormFloat64())
			dy[i] = float32(r.NormFloat64())
		}
		s := make([]float64, n)
		Softmax(s, x)
		for i, v := range s {
			y[i] = float32(v)
		}
		LogSoftmax(s, x)
		for i, v := range s {
			ly[i] = float32(v)
		}

		// Exact dot and sum with math/big.
		dot := new(big.Float).SetPrec(prec)
		sdy := new(big.Float).SetPrec(prec)
		for i := range y {
			p := new(big.Float).SetPrec(prec).SetFloat64(float64(y[i]))
			p.Mul(p, new(big.Float).SetFloat64(float64(dy[i])))
			dot.Add(dot, p)
			sdy.Add(sdy, new(big.Float).SetFloat64(float64(dy[i])))
		}
		d, _ := dot.Float64()
		sd, _ := sdy.Float64()

		dx := make([]float64, n)
		SoftmaxBackward(dx, y, dy)
		var sum float64
		for i := range dx {
			w := float64(y[i]) * (float64(dy[i]) - d)
			tol := 0x1p-51 * float64(y[i]) * (math.Abs(float64(dy[i])) + math.Abs(d))
			if math.Abs(dx[i]-w) > tol {
				t.Fatalf("n=%d: SoftmaxBackward[%d] = %v, want %v", n, i, dx[i], w)
			}
			sum += dx[i]
		}
		LogSoftmaxBackward(dx, ly, dy)
		for i := range dx {
			e := math.Exp(float64(ly[i]))
			w := float64(dy[i]) - e*sd
			tol := 0x1p-51 * (math.Abs(float64(dy[i])) + e*math.Abs(sd))
			if math.Abs(dx[i]-w) > tol {
				t.Fatalf("n=%d: LogSoftmaxBackward[%d] = %v, want %v", n, i, dx[i], w)
			}
		}
	}
	// Known answer: y = [0.25, 0.75], dy = [1, 0]: <dy,y> = 0.25.
	dx := make([]float64, 2)
	SoftmaxBackward(dx, []float32{0.25, 0.75}, []float32{1, 0})
	checkRow(t, "SoftmaxBackward", dx, []float64{0.25 * 0.75, 0.75 * -0.25}, 0)
	LogSoftmaxBackward(dx, []float32{float32(math.Log(0.25)), float32(math.Log(0.75))}, []float32{1, 0})
	checkRow(t, "LogSoftmaxBackward", dx, []float64{0.75, -0.75}, 1e-7)
}

func TestULP32(t *testing.T) {
	cases := []struct{ v, want float64 }{
		{1, 0x1p-23}, {1.5, 0x1p-23}, {-1.999, 0x1p-23}, {2, 0x1p-22},
		{0.999, 0x1p-24}, {0.25, 0x1p-25}, {3e38, 0x1p104},
		{0x1p-126, 0x1p-149}, {0x1p-127, 0x1p-149}, {0x1p-140, 0x1p-149},
		{0, 0x1p-149}, {0x1.fffffffp-127, 0x1p-149}, {0x1.0000001p-126, 0x1p-149},
		{math.Inf(-1), math.Inf(1)},
	}
	for _, c := range cases {
		if got := ULP32(c.v); got != c.want {
			t.Errorf("ULP32(%g) = %g, want %g", c.v, got, c.want)
		}
	}
	// Against the float32 spacing itself, for random float32 values.
	r := rand.New(rand.NewPCG(9, 10))
	for range 10000 {
		f := math.Float32frombits(r.Uint32() & 0x7f7fffff) // finite, positive
		if f < MinNormal32 {
			continue
		}
		want := float64(math.Nextafter32(f, inf)) - float64(f)
		if got := ULP32(float64(f)); got != want {
			t.Fatalf("ULP32(%g) = %g, want %g", f, got, want)
		}
	}
	if !math.IsNaN(ULP32(math.NaN())) {
		t.Error("ULP32(NaN) is not NaN")
	}
}

func TestULPErr(t *testing.T) {
	N, I := math.NaN(), math.Inf(1)
	cases := []struct {
		got  float32
		want float64
		err  float64
	}{
		{1, 1, 0},
		{1, 1 + 0x1p-23, 1},
		{1, 1 - 0x1p-24, 1}, // below 1 the spacing is halved
		{1, 1 + 0x1p-25, 0.25},
		{0.5, 0.5 + 3*0x1p-25, 1.5},
		{0, 0x1p-149, 1},
		{0, 0x1p-130, 0x1p19}, // a flush to zero, seen in 2^-149 units
		{nan, N, 0},
		{inf, I, 0},
		{ninf, -I, 0},
		{inf, -I, I},
		{nan, 1, I},
		{1, N, I},
		{inf, 1e300, I},
		{3e38, I, I},
	}
	for _, c := range cases {
		if got := ULPErr(c.got, c.want); got != c.err {
			t.Errorf("ULPErr(%g, %g) = %g, want %g", c.got, c.want, got, c.err)
		}
	}
}

func TestStats(t *testing.T) {
	var s Stats
	if s.Mean() != 0 || s.Max != 0 {
		t.Fatalf("empty Stats: %+v, mean %v", s, s.Mean())
	}
	for _, e := range []float64{0.5, 2, 0.25, 1.25} {
		s.Add(e)
	}
	if s.Max != 2 || s.N != 4 || s.Mean() != 1 {
		t.Errorf("Stats = %+v, mean %v; want max 2, n 4, mean 1", s, s.Mean())
	}
	s.Add(math.Inf(1))
	if !math.IsInf(s.Max, 1) {
		t.Errorf("Stats.Max = %v after +Inf", s.Max)
	}
}

func TestPanics(t *testing.T) {
	check := func(name, want string, f func()) {
		t.Helper()
		defer func() {
			r := recover()
			if msg := fmt.Sprint(r); r == nil || !strings.Contains(msg, want) {
				t.Errorf("%s: panic %v, want one containing %q", name, r, want)
			}
		}()
		f()
	}
	x := []float32{1, 2, 3}
	check("Softmax", "len(dst) 2 != len(x) 3", func() { Softmax(make([]float64, 2), x) })
	check("LogSoftmax", "len(dst) 4 != len(x) 3", func() { LogSoftmax(make([]float64, 4), x) })
	check("SoftmaxBackward", "len(dy) 2 != len(x) 3", func() { SoftmaxBackward(make([]float64, 3), x, x[:2]) })
	check("LogSoftmaxBackward", "len(dst) 1 != len(x) 3", func() { LogSoftmaxBackward(make([]float64, 1), x, x) })
	check("CrossEntropy", "target 3 out of range [0, 3)", func() { CrossEntropy(nil, x, 3) })
	check("CrossEntropy", "target -1 out of range", func() { CrossEntropy(nil, x, -1) })
	check("CrossEntropy", "len(grad) 2 != len(x) 3", func() { CrossEntropy(make([]float64, 2), x, 0) })
}
