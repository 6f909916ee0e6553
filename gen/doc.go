// Package gen drives the code generators. It holds no code: run
//
//	go generate ./gen
//
// from the root of the repository to rewrite every generated file; the
// output is deterministic, so a clean tree stays clean (CI checks this
// with git diff --exit-code).
//
// The generators live in nested modules, so that their dependencies (avo
// and golang.org/x/tools, which need a newer Go than the library) stay out
// of the library's module graph: go build ./..., go vet ./... and go mod
// tidy in the root module never see them. Each directive below runs one of
// them with go run -C, from its own module.
//
//	amd64/   avo generators for internal/asm/*_amd64.s and their Go
//	         declarations (AVX-512 and AVX2 kernels), one file per kernel:
//	         amd64/exp.go writes internal/asm/exp_amd64.{s,go}
//	arm64/   the NEON kernels, internal/asm/*_arm64.s and their Go
//	         declarations, one file per kernel as for amd64, written by a
//	         small emitter of its own (avo has no arm64 backend); its test
//	         checks every instruction encoding against GNU binutils when
//	         SOFTMAX_CHECK_ENCODINGS is set
//	sollya/  the Sollya scripts that fit the polynomial coefficients; run
//	         by hand (see sollya/README.md), not by go generate
package gen

//go:generate go run -C amd64 . -out ../../internal/asm
//go:generate go run -C arm64 . -out ../../internal/asm
