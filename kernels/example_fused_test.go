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
