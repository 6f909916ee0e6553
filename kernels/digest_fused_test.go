package kernels

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"hash"
	"math"
	"math/rand/v2"
	"testing"
)

// TestDigestFused pins the bits of the fused kernels on a fixed set of
// inputs, as a SHA-256 of every output: every implementation, on every
// platform (GOARCH=arm64 go test -exec qemu-aarch64, and the others),
// must give these bits. A change to the algorithm that changes them must
// update fusedDigest, on purpose.
func TestDigestFused(t *testing.T) {
	forEachImpl(t, func(t *testing.T, im *Implementation) {
		if got := fusedOutputsDigest(im); got != fusedDigest {
			t.Errorf("digest of the fused kernels' outputs %s, want %s", got, fusedDigest)
		}
	})
}

const fusedDigest = "e804c1499f61d9241107a5eb43e9be0c7fce99062c76c96191d20028c2ffc809"

// digestRow returns n inputs from rng: normal values at several scales
// and offsets, with -Inf, +Inf and NaN now and then. Every float64
// product is rounded before it is added, so that no platform may fuse the
// two and draw other inputs.
func digestRow(rng *rand.Rand, n int) []float32 {
	std := []float64{0.5, 4, 16}[rng.IntN(3)]
	off := []float64{0, 0, 300, -300, 1e4, -1e30}[rng.IntN(6)]
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(float64(rng.NormFloat64()*std) + off)
		switch rng.IntN(64) {
		case 0:
			x[i] = ninf
		case 1:
			if rng.IntN(8) == 0 {
				x[i] = []float32{inf, nan}[rng.IntN(2)]
			}
		}
	}
	return x
}

func fusedOutputsDigest(im *Implementation) string {
	h := sha256.New()
	rng := rand.New(rand.NewPCG(2024, 7))
	put := func(v []float32) {
		for _, f := range v {
			binary.Write(h, binary.LittleEndian, math.Float32bits(f))
		}
	}
	for _, cols := range []int{1, 5, 16, 17, 64, 100, 300, 1000} {
		rows := 3
		x := digestRow(rng, rows*cols)
		y := make([]float32, len(x))
		for kind := 0; kind < 3; kind++ {
			var mask []float32
			switch kind {
			case 1:
				mask = digestRow(rng, cols)
			case 2:
				mask = digestRow(rng, rows*cols)
			}
			for _, scale := range []float32{1, 0.125, 0.088388346, -1.7} {
				im.ScaledSoftmaxRows(y, x, mask, scale, cols)
				put(y)
				im.ScaledLogSoftmaxRows(y, x, mask, scale, cols)
				put(y)
			}
		}
		for _, offset := range []int{-1, 0, cols - rows, cols} {
			im.CausalSoftmaxRows(y, x, 0.125, cols, offset)
			put(y)
		}
		for _, inner := range []int{1, 3, 17} {
			z := digestRow(rng, rows*cols*inner)
			w := make([]float32, len(z))
			im.SoftmaxAxis(w, z, rows, cols, inner)
			put(w)
			im.LogSoftmaxAxis(w, z, rows, cols, inner)
			put(w)
		}
		// A row in chunks, with maxima in and beyond ±208 so that Merge
		// rescales with powers of two and with exp64.
		for _, off := range []float32{0, 250, -500, 1e4} {
			row := digestRow(rng, rows*cols)
			for i := range row {
				row[i] += float32(off * float32(i%3))
			}
			var s Stats
			for c := 0; c < rows; c++ {
				s = s.Merge(im.StatsOf(row[c*cols : (c+1)*cols]))
			}
			putStats(h, s)
			for c := 0; c < rows; c++ {
				im.SoftmaxWithStats(y[c*cols:(c+1)*cols], row[c*cols:(c+1)*cols], s)
			}
			put(y)
			im.LogSoftmaxWithStats(y, row, s)
			put(y)
		}
	}
	return fmt.Sprintf("%x", h.Sum(nil))
}

func putStats(h hash.Hash, s Stats) {
	b, _ := s.MarshalBinary()
	h.Write(b)
}
