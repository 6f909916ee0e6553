package kernels_test

import (
	"fmt"
	"math"

	"github.com/go-softmax/softmax/kernels"
)

func ExampleScaledSoftmaxRows() {
	// Attention scores of 2 queries over 3 keys, scaled by 1/sqrt(d) with
	// d = 4, and a padding mask, broadcast to both rows, that hides the
	// last key.
	scores := []float32{
		2, 4, 6,
		1, 1, 9,
	}
	mask := []float32{0, 0, float32(math.Inf(-1))}
	probs := make([]float32, len(scores))
	kernels.ScaledSoftmaxRows(probs, scores, mask, 0.5, 3)
	fmt.Printf("%.4f\n", probs)
	// Output: [0.2689 0.7311 0.0000 0.5000 0.5000 0.0000]
}

func ExampleScaledSoftmaxRows_temperature() {
	// Sampling at temperature T: softmax(logits / T).
	logits := []float32{1, 2, 3}
	p := make([]float32, len(logits))
	for _, T := range []float32{0.5, 1, 2} {
		kernels.ScaledSoftmaxRows(p, logits, nil, 1/T, len(logits))
		fmt.Printf("T=%v %.4f\n", T, p)
	}
	// Output:
	// T=0.5 [0.0159 0.1173 0.8668]
	// T=1 [0.0900 0.2447 0.6652]
	// T=2 [0.1863 0.3072 0.5065]
}

func ExampleScaledLogSoftmaxRows() {
	// Log-probabilities of two rows, each with its own mask row.
	x := []float32{0, 0, 0, 1, 2, 3}
	mask := []float32{0, 0, float32(math.Inf(-1)), 0, 0, 0}
	y := make([]float32, len(x))
	kernels.ScaledLogSoftmaxRows(y, x, mask, 1, 3)
	fmt.Printf("%.4f\n", y)
	// Output: [-0.6931 -0.6931 -Inf -2.4076 -1.4076 -0.4076]
}

func ExampleCausalSoftmaxRows() {
	// A 3x3 causal attention block: query r sees keys 0..r.
	scores := make([]float32, 9)
	kernels.CausalSoftmaxRows(scores, scores, 1, 3, 0)
	for r := 0; r < 3; r++ {
		fmt.Printf("%.4f\n", scores[3*r:3*r+3])
	}
	// Output:
	// [1.0000 0.0000 0.0000]
	// [0.5000 0.5000 0.0000]
	// [0.3333 0.3333 0.3333]
}

func ExampleCausalSoftmaxRows_kvCache() {
	// The last 2 queries of a sequence of 4 keys (2 of them cached):
	// offset = cols - rows = 2, so query 0 sees keys 0..2.
	scores := []float32{
		1, 1, 1, 1,
		1, 1, 1, 1,
	}
	kernels.CausalSoftmaxRows(scores, scores, 1, 4, 2)
	fmt.Printf("%.4f\n", scores)
	// Output: [0.3333 0.3333 0.3333 0.0000 0.2500 0.2500 0.2500 0.2500]
}

func ExampleSoftmaxAxis() {
	// Per-pixel class probabilities of a [1, 3, 2] tensor (N=1, C=3 classes,
	// H*W=2 pixels), normalized over the classes: each pixel's 3 values
	// are 2 apart in memory.
	x := []float32{
		0, 1, // class 0 at pixels 0, 1
		0, 2, // class 1
		0, 3, // class 2
	}
	kernels.SoftmaxAxis(x, x, 1, 3, 2)
	fmt.Printf("%.4f\n", x)
	// Output: [0.3333 0.0900 0.3333 0.2447 0.3333 0.6652]
}

func ExampleStats() {
	// A vocabulary of 6 logits split across two workers: each reduces its
	// part, the statistics are merged, and each normalizes its part.
	logits := []float32{1, 2, 3, 4, 5, 6}
	part1, part2 := logits[:4], logits[4:]
	s := kernels.StatsOf(part1).Merge(kernels.StatsOf(part2))
	probs := make([]float32, len(logits))
	kernels.SoftmaxWithStats(probs[:4], part1, s)
	kernels.SoftmaxWithStats(probs[4:], part2, s)
	fmt.Printf("%.4f\n", probs)
	fmt.Printf("max %v, log-sum-exp %.4f\n", s.Max(), s.LogSumExp())
	// Output:
	// [0.0043 0.0116 0.0315 0.0858 0.2331 0.6337]
	// max 6, log-sum-exp 6.4562
}

func ExampleStats_Merge() {
	// A running merge over chunks, starting from the zero Stats (an empty
	// chunk); then log-probabilities of one chunk.
	row := []float32{3, -1, 0.5, 2, float32(math.Inf(-1)), 7, 1}
	var s kernels.Stats
	for i := 0; i < len(row); i += 3 {
		s = s.Merge(kernels.StatsOf(row[i:min(i+3, len(row))]))
	}
	logp := make([]float32, 3)
	kernels.LogSoftmaxWithStats(logp, row[3:6], s)
	fmt.Printf("%.4f %.4f\n", s.LogSumExp(), logp)
	// Output: 7.0289 [-5.0289 -Inf -0.0289]
}

func ExampleStats_MarshalBinary() {
	// Statistics travel between processes in 12 bytes, exactly.
	s := kernels.StatsOf([]float32{1, 2, 3})
	b, _ := s.MarshalBinary()
	var t kernels.Stats
	if err := t.UnmarshalBinary(b); err != nil {
		panic(err)
	}
	fmt.Println(len(b), t == s, t.LogSumExp())
	// Output: 12 true 3.407606
}

func ExampleLogSoftmaxAxis() {
	// Log-probabilities over the 2 classes of a [1, 2, 3] tensor: each of
	// the 3 positions is normalized over its 2 classes.
	x := []float32{
		0, 1, 2, // class 0
		0, 0, 0, // class 1
	}
	kernels.LogSoftmaxAxis(x, x, 1, 2, 3)
	fmt.Printf("%.4f\n", x)
	// Output: [-0.6931 -0.3133 -0.1269 -0.6931 -1.3133 -2.1269]
}

func ExampleStatsOf() {
	s := kernels.StatsOf([]float32{1, 2, float32(math.Inf(-1))})
	fmt.Printf("max %v, log-sum-exp %.4f\n", s.Max(), s.LogSumExp())
	// Output: max 2, log-sum-exp 2.3133
}

func ExampleSoftmaxWithStats() {
	// Attention over keys that arrive in blocks: the statistics of every
	// block first, then each block normalized with their merge.
	scores := []float32{0.5, 2, -1, 3, 0, 1.5}
	var s kernels.Stats
	for b := 0; b < len(scores); b += 2 {
		s = s.Merge(kernels.StatsOf(scores[b : b+2]))
	}
	p := make([]float32, len(scores))
	for b := 0; b < len(scores); b += 2 {
		kernels.SoftmaxWithStats(p[b:b+2], scores[b:b+2], s)
	}
	one := make([]float32, len(scores))
	kernels.Softmax(one, scores)
	fmt.Printf("%.4f\n%.4f\n", p, one)
	// Output:
	// [0.0471 0.2113 0.0105 0.5743 0.0286 0.1281]
	// [0.0471 0.2113 0.0105 0.5743 0.0286 0.1281]
}

func ExampleLogSoftmaxWithStats() {
	// The log-probability of one token, from its own shard of the
	// vocabulary and the statistics of all shards.
	shard1, shard2 := []float32{2, 0.5}, []float32{1, 3}
	s := kernels.StatsOf(shard1).Merge(kernels.StatsOf(shard2))
	lp := make([]float32, 2)
	kernels.LogSoftmaxWithStats(lp, shard2, s)
	fmt.Printf("%.4f\n", lp[1])
	// Output: -0.4608
}

func ExampleStats_LogSumExp() {
	var empty kernels.Stats
	big := kernels.StatsOf([]float32{1000, 1000})
	fmt.Println(empty.LogSumExp(), big.LogSumExp())
	// Output: -Inf 1000.6932
}

func ExampleStats_Max() {
	s := kernels.StatsOf([]float32{3, -1}).Merge(kernels.StatsOf([]float32{7}))
	var empty kernels.Stats
	fmt.Println(s.Max(), empty.Max())
	// Output: 7 -Inf
}

func ExampleStats_UnmarshalBinary() {
	// Bytes that no statistics can have are refused.
	var s kernels.Stats
	err := s.UnmarshalBinary([]byte{1, 2, 3})
	fmt.Println(err)
	// Output: softmax: Stats encoding is not 12 bytes
}

func ExampleImplementation_ScaledSoftmaxRows() {
	// Methods run the kernels of one implementation, whatever Default is.
	im, _ := kernels.Lookup("generic")
	y := make([]float32, 3)
	im.ScaledSoftmaxRows(y, []float32{0, 2, 4}, nil, 0.5, 3)
	fmt.Printf("%.4f\n", y)
	// Output: [0.0900 0.2447 0.6652]
}

func ExampleImplementation_ScaledLogSoftmaxRows() {
	im, _ := kernels.Lookup("generic")
	y := make([]float32, 2)
	im.ScaledLogSoftmaxRows(y, []float32{0, 5}, []float32{0, float32(math.Inf(-1))}, 1, 2)
	fmt.Println(y)
	// Output: [0 -Inf]
}

func ExampleImplementation_CausalSoftmaxRows() {
	im, _ := kernels.Lookup("generic")
	y := make([]float32, 4)
	im.CausalSoftmaxRows(y, []float32{5, 5, 5, 5}, 1, 2, 0)
	fmt.Println(y)
	// Output: [1 0 0.5 0.5]
}

func ExampleImplementation_SoftmaxAxis() {
	// inner = 1 is the row kernel: SoftmaxAxis and SoftmaxRows agree.
	im, _ := kernels.Lookup("generic")
	x := []float32{1, 2, 3, 4}
	a, b := make([]float32, 4), make([]float32, 4)
	im.SoftmaxAxis(a, x, 2, 2, 1)
	im.SoftmaxRows(b, x, 2)
	same := true
	for i := range a {
		same = same && math.Float32bits(a[i]) == math.Float32bits(b[i])
	}
	fmt.Printf("%.4f %v\n", a, same)
	// Output: [0.2689 0.7311 0.2689 0.7311] true
}

func ExampleImplementation_LogSoftmaxAxis() {
	im, _ := kernels.Lookup("generic")
	y := make([]float32, 4)
	im.LogSoftmaxAxis(y, []float32{0, 0, 0, 0}, 1, 2, 2)
	fmt.Printf("%.4f\n", y)
	// Output: [-0.6931 -0.6931 -0.6931 -0.6931]
}

func ExampleImplementation_StatsOf() {
	// Statistics hold the same bits on every implementation.
	x := []float32{0.25, -3, 9}
	same := true
	for _, im := range kernels.Implementations() {
		same = same && im.StatsOf(x) == kernels.StatsOf(x)
	}
	fmt.Println(same)
	// Output: true
}

func ExampleImplementation_SoftmaxWithStats() {
	im, _ := kernels.Lookup("generic")
	x := []float32{1, 1, 1, 1}
	s := im.StatsOf(x[:1]).Merge(im.StatsOf(x[1:]))
	y := make([]float32, 1)
	im.SoftmaxWithStats(y, x[:1], s)
	fmt.Println(y)
	// Output: [0.25]
}

func ExampleImplementation_LogSoftmaxWithStats() {
	im, _ := kernels.Lookup("generic")
	x := []float32{0, 0}
	s := im.StatsOf(x)
	y := make([]float32, 2)
	im.LogSoftmaxWithStats(y, x, s)
	fmt.Printf("%.4f\n", y)
	// Output: [-0.6931 -0.6931]
}
