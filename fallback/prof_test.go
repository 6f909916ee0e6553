package fallback

import (
	"math/rand/v2"
	"testing"
)

func BenchmarkSoftmax4096(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	x := make([]float32, 4096)
	for i := range x {
		x[i] = float32(rng.NormFloat64() * 4)
	}
	y := make([]float32, len(x))
	for i := 0; i < b.N; i++ {
		Softmax(y, x)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/4096, "ns/elem")
}
