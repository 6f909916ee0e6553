// Command amd64 writes the amd64 assembly kernels of package internal/asm
// and their Go declarations, with avo. It is run by go generate ./gen from
// the root of the repository:
//
//	go run -C gen/amd64 . -out ../../internal/asm
//
// Each entry of files below writes internal/asm/NAME_amd64.s and
// internal/asm/NAME_amd64.go, mostly from the generator file NAME.go here,
// with code the other files share (lib.go, pass3.go and fused256.go write
// nothing of their own; short_backward.go's kernels land in
// backward_amd64.*, fused256.go's in fused_amd64.*). The canonical
// algorithm, whose bits every kernel reproduces, is in package fallback
// (see the doc of package internal/asm for which file); the tests that
// compare the two are in package kernels.
//
// The output depends only on this module's source: running it twice gives
// the same bytes.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"slices"

	"github.com/mmcloughlin/avo/attr"
	"github.com/mmcloughlin/avo/build"
	"github.com/mmcloughlin/avo/ir"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/pass"
	"github.com/mmcloughlin/avo/printer"
)

// A kernelFile is one pair of generated files, NAME_amd64.s and
// NAME_amd64.go.
type kernelFile struct {
	name     string       // NAME, also the generator's file name NAME.go
	generate func(g *gen) // adds the functions and data of the file
}

// files lists every generated file pair.
var files = []kernelFile{
	{"exp", generateExp},
	{"softmax", generateSoftmax},
	{"short", generateShort},
	{"short_avx2", generateShortAVX2},
	{"short_ce", generateShortCE},
	{"short_ce_avx2", generateShortCEAVX2},
	{"short_log", generateShortLog},
	{"short_log_avx2", generateShortLogAVX2},
	{"short_backward_avx2", generateShortBackwardAVX2},
	{"logsoftmax", generateLogSoftmax},
	{"backward", generateBackward},
	{"crossentropy", generateCrossEntropy},
	{"fused", generateFused},
	{"axis", generateAxis},
}

// gen is the state of one file being generated: avo's build context, and
// the instruction sets each function may use.
type gen struct {
	*build.Context
	isa map[string][]string // function name -> allowed ISA extensions

	tables map[string]Mem // the tables added on first use, by symbol (see table)
}

// rodata marks read-only data without pointers.
const rodata = attr.RODATA | attr.NOPTR

// function starts a function of package asm with the given signature and
// documentation. isa lists the only instruction-set extensions (in avo's
// names: AVX, AVX2, FMA3, AVX512F, ...) the function may use; generation
// fails if it uses any other, so that the CPU checks in package kernels,
// which are written against these lists, can never miss one. In
// particular an AVX2 function cannot silently get an EVEX-only register
// (Y16-Y31) from the register allocator.
func (g *gen) function(name, signature string, isa []string, doc ...string) {
	g.Function(name)
	g.Attributes(attr.NOSPLIT)
	g.SignatureExpr(signature)
	g.Pragma("noescape")
	g.Doc(doc...)
	g.isa[name] = isa
}

func main() {
	log.SetFlags(0)
	log.SetPrefix("gen/amd64: ")
	// avo's build package registers its own flags on flag.CommandLine.
	fs := flag.NewFlagSet("amd64", flag.ExitOnError)
	out := fs.String("out", "", "directory of package internal/asm (required)")
	fs.Parse(os.Args[1:])
	if *out == "" || fs.NArg() != 0 {
		log.Fatal("usage: go run . -out DIR")
	}
	for _, kf := range files {
		if err := writeFile(*out, kf); err != nil {
			log.Fatalf("%s: %v", kf.name, err)
		}
	}
}

// writeFile generates one file pair and writes it to dir.
func writeFile(dir string, kf kernelFile) error {
	g := &gen{Context: build.NewContext(), isa: map[string][]string{}, tables: map[string]Mem{}}
	g.ConstraintExpr("!purego")
	kf.generate(g)
	f, err := g.Result()
	if err != nil {
		return err
	}
	if err := pass.Compile.Execute(f); err != nil {
		return err
	}
	if err := checkISA(f, g.isa); err != nil {
		return err
	}
	cfg := printer.Config{
		Name: fmt.Sprintf("gen/amd64/%s.go (go generate ./gen)", kf.name),
		Pkg:  "asm",
	}
	for _, p := range []struct {
		ext     string
		printer printer.Printer
	}{
		{".s", printer.NewGoAsm(cfg)},
		{".go", printer.NewStubs(cfg)},
	} {
		b, err := p.printer.Print(f)
		if err != nil {
			return err
		}
		path := filepath.Join(dir, kf.name+"_amd64"+p.ext)
		if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, b) {
			continue // leave the file, and its modification time, alone
		}
		if err := os.WriteFile(path, b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// checkISA reports an error if a function uses an instruction-set extension
// that it did not declare.
func checkISA(f *ir.File, allowed map[string][]string) error {
	for _, fn := range f.Functions() {
		ok, found := allowed[fn.Name]
		if !found {
			return fmt.Errorf("%s: function not declared with gen.function", fn.Name)
		}
		for _, isa := range fn.ISA {
			if !slices.Contains(ok, isa) {
				return fmt.Errorf("%s uses %s; it may use only %v", fn.Name, isa, ok)
			}
		}
	}
	return nil
}
