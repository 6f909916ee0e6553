//go:build !purego

package kernels

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestFeaturesCoverISA checks that each SIMD implementation's CPU check
// (features) includes every instruction-set extension its assembly uses,
// as the generator lists it above each function in internal/asm: a
// function FooAVX512 belongs to "avx512", FooAVX2 to "avx2".
func TestFeaturesCoverISA(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "internal", "asm", "*_amd64.s"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no assembly files found: %v", err)
	}
	fn := regexp.MustCompile(`(?m)^// func (\w+)\(.*\n// Requires: (.*)$`)
	seen := 0
	for _, file := range files {
		src, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range fn.FindAllStringSubmatch(string(src), -1) {
			name, isa := m[1], strings.Split(m[2], ", ")
			var impl string
			switch {
			case strings.HasSuffix(name, "AVX512"):
				impl = "avx512"
			case strings.HasSuffix(name, "AVX2"):
				impl = "avx2"
			default:
				t.Errorf("%s: %s: no implementation ends in its name", file, name)
				continue
			}
			var have []string
			for _, f := range features[impl] {
				have = append(have, f.String())
			}
			for _, x := range isa {
				if x == "MMX+" {
					// avo's name for the prefetch instructions'
					// extension: AMD's MMX extensions, Intel's SSE.
					x = "SSE"
				}
				if !slices.Contains(have, x) {
					t.Errorf("%s: %s requires %s, which %s does not check (it checks %v)",
						file, name, x, impl, have)
				}
			}
			seen++
		}
	}
	if seen == 0 {
		t.Fatal("no functions with a Requires line found")
	}
}
