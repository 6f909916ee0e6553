package main

import (
	"image/png"
	"io"
	"os"
	"testing"
)

// TestClassify trains the default model, checks its test accuracy and
// that both pictures decode as PNGs of a sensible size.
func TestClassify(t *testing.T) {
	cfg := defaultConfig()
	cfg.outDir = t.TempDir()
	rep, err := run(cfg, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if rep.testAcc < 0.93 {
		t.Errorf("test accuracy %.4f, want >= 0.93", rep.testAcc)
	}
	if len(rep.history) != cfg.epochs {
		t.Errorf("%d epochs in the history, want %d", len(rep.history), cfg.epochs)
	}
	if first, last := rep.history[0].trainLoss, rep.history[len(rep.history)-1].trainLoss; !(last < first/2) {
		t.Errorf("training loss went from %.4f to %.4f; want it at least halved", first, last)
	}
	right, total := 0, 0
	for c, row := range rep.confusion {
		right += row[c]
		for _, n := range row {
			total += n
		}
	}
	if total != 359 || float64(right)/float64(total) != rep.testAcc {
		t.Errorf("confusion matrix: %d right of %d, want 359 test images and accuracy %.4f", right, total, rep.testAcc)
	}
	if len(rep.files) != 2 {
		t.Fatalf("wrote %q, want two PNGs", rep.files)
	}
	for _, path := range rep.files {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(f)
		f.Close()
		if err != nil {
			t.Errorf("%s: %v", path, err)
			continue
		}
		if b := img.Bounds(); b.Dx() < 300 || b.Dy() < 300 {
			t.Errorf("%s is %dx%d pixels", path, b.Dx(), b.Dy())
		}
	}
}

// TestSoftmaxRegression checks that the model without a hidden layer
// learns too.
func TestSoftmaxRegression(t *testing.T) {
	cfg := defaultConfig()
	cfg.hidden = 0
	rep, err := run(cfg, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if rep.testAcc < 0.93 {
		t.Errorf("test accuracy %.4f, want >= 0.93", rep.testAcc)
	}
	if len(rep.files) != 0 {
		t.Errorf("wrote %q with no output folder", rep.files)
	}
}
