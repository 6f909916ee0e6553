//go:build !purego

package kernels

import (
	"math"

	"github.com/go-softmax/softmax/internal/asm"
	"github.com/klauspost/cpuid/v2"
)

// archImplementations returns the amd64 SIMD implementations, best first.
// Kernels without an assembly version yet run the fallback's code.
func archImplementations() []*Implementation { return []*Implementation{avx512, avx2} }

// features lists, for each SIMD implementation, the instruction-set
// extensions its kernels use, as the generators declare them (the
// "Requires:" line above each function in internal/asm/*_amd64.s; a test
// checks the two agree). cpuid reports the AVX and AVX-512 features only
// when the OS also saves the registers they use.
var features = map[string][]cpuid.FeatureID{
	// AVX512VL is not used on purpose (the generators keep xmm and ymm
	// operands to VEX encodings); it is required all the same, as a guard
	// against an EVEX-only register slipping into an xmm or ymm
	// instruction. Every AVX-512 CPU but the Xeon Phi has it.
	"avx512": {cpuid.CMOV, cpuid.SSE, cpuid.SSE2, cpuid.AVX, cpuid.FMA3, cpuid.AVX512F, cpuid.AVX512VL},
	"avx2":   {cpuid.CMOV, cpuid.SSE, cpuid.SSE2, cpuid.AVX, cpuid.AVX2, cpuid.FMA3},
}

// avx512 runs 16 lanes in one zmm register.
var avx512 = &Implementation{
	name:      "avx512",
	supported: func() bool { return cpuid.CPU.Supports(features["avx512"]...) },
	k: withFallback(kernelSet{
		softmaxRows:          softmaxRowsAVX512,
		exp:                  asm.ExpAVX512,
		logSoftmaxRows:       logSoftmaxRowsAVX512,
		logSumExp:            asm.LogSumExpAVX512,
		softmaxBackward:      asm.SoftmaxBackwardAVX512,
		logSoftmaxBackward:   asm.LogSoftmaxBackwardAVX512,
		crossEntropy:         crossEntropyKernel(ceLongOrRowsAVX512),
		crossEntropyRows:     crossEntropyRowsAVX512,
		softmaxAxis:          asm.SoftmaxAxisAVX512,
		logSoftmaxAxis:       asm.LogSoftmaxAxisAVX512,
		scaledSoftmaxRows:    scaledSoftmaxRowsAVX512,
		scaledLogSoftmaxRows: scaledLogSoftmaxRowsAVX512,
		causalSoftmaxRows:    causalSoftmaxRowsAVX512,
		statsOf:              statsKernel(asm.StatsOfAVX512),
		softmaxWithStats:     withStatsKernel(asm.CoveredAVX512, asm.SoftmaxWithStatsAVX512, 0, generic.k.softmaxWithStats),
		logSoftmaxWithStats:  withStatsKernel(asm.CoveredAVX512, asm.LogSoftmaxWithStatsAVX512, float32(math.Inf(-1)), generic.k.logSoftmaxWithStats),

		softmaxBackwardRows:    backwardRowsAVX512(asm.SoftmaxBackwardShortRowsAVX512, asm.SoftmaxBackwardRowsAVX512, asm.SoftmaxBackwardLongRowsAVX512),
		logSoftmaxBackwardRows: backwardRowsAVX512(asm.LogSoftmaxBackwardShortRowsAVX512, asm.LogSoftmaxBackwardRowsAVX512, asm.LogSoftmaxBackwardLongRowsAVX512),
	}),
}

// avx2 runs 16 lanes in two ymm registers.
var avx2 = &Implementation{
	name:      "avx2",
	supported: func() bool { return cpuid.CPU.Supports(features["avx2"]...) },
	k: withFallback(kernelSet{
		softmaxRows:          softmaxRowsAVX2,
		exp:                  asm.ExpAVX2,
		logSoftmaxRows:       logSoftmaxRowsAVX2,
		logSumExp:            asm.LogSumExpAVX2,
		softmaxBackward:      asm.SoftmaxBackwardAVX2,
		logSoftmaxBackward:   asm.LogSoftmaxBackwardAVX2,
		crossEntropy:         crossEntropyKernel(ceLongOrRowsAVX2),
		crossEntropyRows:     crossEntropyRowsAVX2,
		softmaxAxis:          asm.SoftmaxAxisAVX2,
		logSoftmaxAxis:       asm.LogSoftmaxAxisAVX2,
		scaledSoftmaxRows:    scaledSoftmaxRowsAVX2,
		scaledLogSoftmaxRows: scaledLogSoftmaxRowsAVX2,
		causalSoftmaxRows:    causalSoftmaxRowsAVX2,
		statsOf:              statsKernel(asm.StatsOfAVX2),
		softmaxWithStats:     withStatsKernel(asm.CoveredAVX2, asm.SoftmaxWithStatsAVX2, 0, generic.k.softmaxWithStats),
		logSoftmaxWithStats:  withStatsKernel(asm.CoveredAVX2, asm.LogSoftmaxWithStatsAVX2, float32(math.Inf(-1)), generic.k.logSoftmaxWithStats),

		softmaxBackwardRows:    backwardRowsAVX2(false),
		logSoftmaxBackwardRows: backwardRowsAVX2(true),
	}),
}

// shortCols is the longest row that SoftmaxRowsAVX512 leaves to
// SoftmaxShortRowsAVX512, which runs such rows eight at a time, and
// mediumCols the longest that the dispatch of ScaledSoftmaxRows,
// CausalSoftmaxRows and CrossEntropyRows leaves to their medium kernels,
// four rows at a time (in the cases their comments give). The medium kernels
// handle up to 128 columns; SoftmaxMediumRowsAVX512 measured faster than
// SoftmaxRowsAVX512 as it then was up to 48 columns (0.49 against 0.53
// ns per element at 48, 0.69 against 0.88 at 24) and slower from 64 on
// (0.47 against 0.40 at 64, 0.52 against 0.43 at 100).
//
// softmaxMediumCols is the longest row that SoftmaxRows leaves to
// SoftmaxMediumRowsAVX512 (out of place), now that SoftmaxRowsAVX512
// pipelines a row's last block and finds each row's max a row ahead.
// Measured (ns per element, thread CPU time, the least of 200 runs,
// batches of 1 MiB, SoftmaxRowsAVX512 against the medium kernel): 1.02
// against 0.92 at 17 columns, 0.74 against 0.66 at 24, 0.54 against 0.47
// at 32; within 2% of each other from 33 to 40 (0.57 and 0.57-0.58 at
// 40); then 0.54 against 0.56 at 42, 0.44 against 0.46 at 48, 0.45
// against 0.54 at 52, 0.35-0.38 against 0.45-0.48 at 64.
const shortCols, mediumCols, softmaxMediumCols = 16, 48, 32

// logMediumCols is the longest row that LogSoftmaxRows leaves to
// LogSoftmaxMediumRowsAVX512, in place or out of place, and
// ScaledLogSoftmaxRows to the scaled medium kernels. Since
// LogSoftmaxRowsAVX512 computes l eight rows at a time (logSoftmaxRows8
// in gen/amd64/logsoftmax.go), it is the faster from 48 columns on.
// Measured (ns per element, thread CPU time, the lower quartile of 61
// runs, batches of 1 MiB of N(0, 4), alternating runs; the row kernel
// against the medium kernel, out of place): 0.41 against 0.46 at 64
// columns, 0.47-0.48 against 0.48-0.49 at 48, 0.52 against 0.51-0.52 at
// 44, 0.55 against 0.51-0.52 at 40, 0.65-0.68 against 0.61-0.62 at 33;
// in place 0.46-0.47 against 0.46-0.47 at 48, 0.55-0.62 against 0.50 at
// 40. Before, the
// medium kernel ran rows of up to 192 columns out of place, and the row
// kernel was 1.7-1.8x SoftmaxRowsAVX512's time from 64 to 192 columns.
// The scaled row kernels batch l the same way and have the same flags:
// at 48 columns, in package kernels before and after this limit (one
// mask row per row, one for every row, none; out of place, scale 1/8,
// the lower quartile of 101 runs in one program), 0.533 against 0.589,
// 0.508 against 0.546, 0.495 against 0.539; at 64 0.422 against 0.529,
// 0.407 against 0.501, 0.403 against 0.498; at 100 0.457 against 0.582.
// The scaled medium kernels then took up to 128 columns out of place
// and mediumCols in place.
const logMediumCols = 44

// softmaxRowsAVX512 runs batches of rows of at most shortCols elements
// through SoftmaxShortRowsAVX512, and batches of at most
// softmaxMediumCols out of place through SoftmaxMediumRowsAVX512; the
// groups of rows they leave (a row with a NaN, an infinity or a max
// beyond 208 in magnitude; the last rows of a batch) go through
// SoftmaxRowsAVX512, a group at a time so that the short or medium
// kernel takes over again after them.
func softmaxRowsAVX512(dst, src []float32, cols int) {
	rows := len(src) / cols
	group := 8
	if cols > shortCols {
		group = 4
		if cols > softmaxMediumCols || (rows > 0 && &dst[0] == &src[0]) {
			rows = 0 // the medium kernel runs out of place only
		}
	}
	if rows < group {
		asm.SoftmaxRowsAVX512(dst, src, len(src)/cols, cols)
		return
	}
	for done := 0; done < rows; {
		// Direct calls, not a func value: calling an assembly function
		// through a value adds a wrapper's frame to its NOSPLIT stack.
		if group == 8 {
			done += asm.SoftmaxShortRowsAVX512(dst[done*cols:], src[done*cols:], rows-done, cols)
		} else {
			done += asm.SoftmaxMediumRowsAVX512(dst[done*cols:], src[done*cols:], rows-done, cols)
		}
		if done == rows {
			break
		}
		n := min(group, rows-done)
		asm.SoftmaxRowsAVX512(dst[done*cols:(done+n)*cols], src[done*cols:(done+n)*cols], n, cols)
		done += n
	}
}

// logSoftmaxRowsAVX512 is softmaxRowsAVX512 for LogSoftmaxRows: batches
// of rows of at most shortCols elements go through
// LogSoftmaxShortRowsAVX512, eight rows at a time, batches of at most
// logMediumCols, out of place or in place, through
// LogSoftmaxMediumRowsAVX512, four at a time, and the groups of rows they
// leave (a row with a NaN, an infinity or a max beyond 208 in magnitude;
// the last rows of a batch) through LogSoftmaxRowsAVX512, a group at a
// time; longer rows through LogSoftmaxRowsAVX512 alone, and batches of
// rows of logLongColsAVX512 elements or more, logLongElemsAVX512 or more
// in all, through LogSoftmaxLongRowsAVX512.
func logSoftmaxRowsAVX512(dst, src []float32, cols int) {
	rows := len(src) / cols
	if cols >= logLongColsAVX512 && len(src) >= logLongElemsAVX512 {
		asm.LogSoftmaxLongRowsAVX512(dst, src, rows, cols)
		return
	}
	group := 8
	if cols > shortCols {
		group = 4
		if cols > logMediumCols {
			rows = 0 // the row kernel, in place or not
		}
	}
	if rows < group {
		asm.LogSoftmaxRowsAVX512(dst, src, len(src)/cols, cols)
		return
	}
	for done := 0; done < rows; {
		// Direct calls, as in softmaxRowsAVX512.
		if group == 8 {
			done += asm.LogSoftmaxShortRowsAVX512(dst[done*cols:], src[done*cols:], rows-done, cols)
		} else {
			done += asm.LogSoftmaxMediumRowsAVX512(dst[done*cols:], src[done*cols:], rows-done, cols)
		}
		if done == rows {
			break
		}
		n := min(group, rows-done)
		asm.LogSoftmaxRowsAVX512(dst[done*cols:(done+n)*cols], src[done*cols:(done+n)*cols], n, cols)
		done += n
	}
}

// scaledLogSoftmaxRowsAVX512 is logSoftmaxRowsAVX512 for
// ScaledLogSoftmaxRows: batches of rows of at most shortCols elements go
// through the short kernel of their mask's kind (none, one row per row,
// one row for every row), batches of at most logMediumCols, out of place
// or in place, through the medium kernel of that kind, and the
// groups of rows they leave through ScaledLogSoftmaxRowsAVX512 or its
// form without a mask, a group at a time.
func scaledLogSoftmaxRowsAVX512(dst, src, mask []float32, scale float32, cols int) {
	rows := len(src) / cols
	group := 8
	if cols > shortCols {
		group = 4
		if cols > logMediumCols {
			rows = 0 // the row kernel, in place or not
		}
	}
	if rows < group {
		scaledLogRowsAVX512(dst, src, mask, scale, len(src)/cols, cols)
		return
	}
	bcast := len(mask) == cols
	for done := 0; done < rows; {
		d, s := dst[done*cols:], src[done*cols:]
		m := mask
		if len(mask) > 0 && !bcast {
			m = mask[done*cols:]
		}
		// Direct calls, as in softmaxRowsAVX512.
		switch {
		case group == 8 && len(mask) == 0:
			done += asm.ScaledLogSoftmaxShortRowsNoMaskAVX512(d, s, scale, rows-done, cols)
		case group == 8 && bcast:
			done += asm.ScaledLogSoftmaxShortRowsBcastAVX512(d, s, m, scale, rows-done, cols)
		case group == 8:
			done += asm.ScaledLogSoftmaxShortRowsAVX512(d, s, m, scale, rows-done, cols)
		case len(mask) == 0:
			done += asm.ScaledLogSoftmaxMediumRowsNoMaskAVX512(d, s, scale, rows-done, cols)
		case bcast:
			done += asm.ScaledLogSoftmaxMediumRowsBcastAVX512(d, s, m, scale, rows-done, cols)
		default:
			done += asm.ScaledLogSoftmaxMediumRowsAVX512(d, s, m, scale, rows-done, cols)
		}
		if done == rows {
			break
		}
		n := min(group, rows-done)
		m = mask
		if len(mask) > 0 && !bcast {
			m = mask[done*cols : (done+n)*cols]
		}
		scaledLogRowsAVX512(dst[done*cols:(done+n)*cols], src[done*cols:(done+n)*cols], m, scale, n, cols)
		done += n
	}
}

// scaledLogRowsAVX512 runs rows rows of ScaledLogSoftmaxRows through the
// AVX-512 row kernel, with the mask mask or without one.
func scaledLogRowsAVX512(dst, src, mask []float32, scale float32, rows, cols int) {
	if len(mask) == 0 {
		asm.ScaledLogSoftmaxRowsNoMaskAVX512(dst, src, scale, rows, cols)
		return
	}
	asm.ScaledLogSoftmaxRowsAVX512(dst, src, mask, scale, rows, cols)
}

// scaledSoftmaxRowsAVX512 is softmaxRowsAVX512 for ScaledSoftmaxRows:
// batches of rows of at most shortCols elements go through the short
// kernel of their mask's kind (none, one row per row, one row for every
// row), batches of at most mediumCols out of place through the medium
// kernel of that kind, and the groups of rows they leave through
// ScaledSoftmaxRowsAVX512 or its form without a mask, a group at a time.
func scaledSoftmaxRowsAVX512(dst, src, mask []float32, scale float32, cols int) {
	rows := len(src) / cols
	group := 8
	if cols > shortCols {
		group = 4
		if cols > mediumCols || (rows > 0 && &dst[0] == &src[0]) {
			rows = 0 // the medium kernel runs out of place only
		}
	}
	if rows < group {
		scaledRowsAVX512(dst, src, mask, scale, len(src)/cols, cols)
		return
	}
	bcast := len(mask) == cols
	for done := 0; done < rows; {
		d, s := dst[done*cols:], src[done*cols:]
		m := mask
		if len(mask) > 0 && !bcast {
			m = mask[done*cols:]
		}
		// Direct calls, as in softmaxRowsAVX512.
		switch {
		case group == 8 && len(mask) == 0:
			done += asm.ScaledSoftmaxShortRowsNoMaskAVX512(d, s, scale, rows-done, cols)
		case group == 8 && bcast:
			done += asm.ScaledSoftmaxShortRowsBcastAVX512(d, s, m, scale, rows-done, cols)
		case group == 8:
			done += asm.ScaledSoftmaxShortRowsAVX512(d, s, m, scale, rows-done, cols)
		case len(mask) == 0:
			done += asm.ScaledSoftmaxMediumRowsNoMaskAVX512(d, s, scale, rows-done, cols)
		case bcast:
			done += asm.ScaledSoftmaxMediumRowsBcastAVX512(d, s, m, scale, rows-done, cols)
		default:
			done += asm.ScaledSoftmaxMediumRowsAVX512(d, s, m, scale, rows-done, cols)
		}
		if done == rows {
			break
		}
		n := min(group, rows-done)
		m = mask
		if len(mask) > 0 && !bcast {
			m = mask[done*cols : (done+n)*cols]
		}
		scaledRowsAVX512(dst[done*cols:(done+n)*cols], src[done*cols:(done+n)*cols], m, scale, n, cols)
		done += n
	}
}

// scaledRowsAVX512 runs rows rows of ScaledSoftmaxRows through the
// AVX-512 row kernel, with the mask mask or without one; with a mask, rows
// of at least scaledLongCols elements through ScaledSoftmaxLongRowsAVX512.
func scaledRowsAVX512(dst, src, mask []float32, scale float32, rows, cols int) {
	switch {
	case len(mask) == 0:
		asm.ScaledSoftmaxRowsNoMaskAVX512(dst, src, scale, rows, cols)
	case cols >= scaledLongCols:
		asm.ScaledSoftmaxLongRowsAVX512(dst, src, mask, scale, rows, cols)
	default:
		asm.ScaledSoftmaxRowsAVX512(dst, src, mask, scale, rows, cols)
	}
}

// scaledLongCols is the shortest row that ScaledSoftmaxRows with a mask
// runs through ScaledSoftmaxLongRowsAVX512, which runs each row's passes
// one after the other (passes 1 and 2 fused into one, on a guess about
// the row that it checks), rather than ScaledSoftmaxRowsAVX512, which
// finds each row's max a row ahead and runs its last pass a row late
// (see gen/amd64/fused.go): the same bits, and on long rows the row's x,
// mask and u still in L2 when its last pass reads them. Measured (ns per
// element, thread CPU time, the lower quartile of 60 alternating runs,
// 1 MiB batches, one mask row per row, long kernel against row kernel):
// 0.354 against 0.326 at 512 columns, the same within the noise from
// 1024 to 8192, 0.327 against 0.357 at 16384, 0.358 against 0.387 at
// 32000, before passes 1 and 2 were fused, which took the long kernel to
// 0.98x SoftmaxRowsAVX512's time at 16384 columns and 0.99x at 32000. A
// variable, so that the tests can send every row through either kernel.
var scaledLongCols = 8192

// causalSoftmaxRowsAVX512 is softmaxRowsAVX512 for CausalSoftmaxRows:
// batches of rows of at most shortCols elements go through
// CausalSoftmaxShortRowsAVX512, batches of at most mediumCols out of place
// through CausalSoftmaxMediumRowsAVX512, and the groups of rows they leave
// (a row with a NaN or an infinity among its first k elements, or with
// k = 0) through CausalSoftmaxRowsAVX512, a group at a time. offset is
// clamped as in causalKernel.
func causalSoftmaxRowsAVX512(dst, src []float32, scale float32, cols, offset int) {
	rows := len(src) / cols
	offset = min(max(offset, -rows-1), cols)
	n := rows
	group := 8
	if cols > shortCols {
		group = 4
		if cols > mediumCols || (rows > 0 && &dst[0] == &src[0]) {
			n = 0 // the medium kernel runs out of place only
		}
	}
	if n < group {
		asm.CausalSoftmaxRowsAVX512(dst, src, scale, rows, cols, offset)
		return
	}
	for done := 0; done < rows; {
		d, s := dst[done*cols:], src[done*cols:]
		if group == 8 {
			done += asm.CausalSoftmaxShortRowsAVX512(d, s, scale, rows-done, cols, offset+done)
		} else {
			done += asm.CausalSoftmaxMediumRowsAVX512(d, s, scale, rows-done, cols, offset+done)
		}
		if done == rows {
			break
		}
		n := min(group, rows-done)
		o := min(max(offset+done, -n-1), cols)
		asm.CausalSoftmaxRowsAVX512(dst[done*cols:(done+n)*cols], src[done*cols:(done+n)*cols], scale, n, cols, o)
		done += n
	}
}

// softmaxRowsAVX2 runs batches of at least 8 rows of at most shortCols
// elements through SoftmaxShortRowsAVX2, eight at a time; the groups it
// leaves (a row with a NaN, an infinity or a max beyond 208 in magnitude)
// and the last rows%8 rows go through SoftmaxRowsAVX2. A last group whose
// loads would read past src runs on a copy in a buffer with room after it.
// Measured on Zen 5 against SoftmaxRowsAVX512's dispatch in the same run
// (ns per element, thread CPU time, the median of 300 runs, batches of 1
// MiB): 0.57-0.59 against 0.31-0.32 at 100 columns, 0.49-0.50 against
// 0.27 at 1024, 0.50-0.51 against 0.29 at 4096, 0.50-0.51 against 0.30-0.31
// at 32000, 0.51 against 0.32 at 128256, 1.09 against 0.67 at 10.
func softmaxRowsAVX2(dst, src []float32, cols int) { shortRowsAVX2(false, dst, src, cols) }

// logSoftmaxRowsAVX2 is softmaxRowsAVX2 for LogSoftmaxRows, with
// LogSoftmaxShortRowsAVX2 and LogSoftmaxRowsAVX2. Measured on Zen 5 (ns
// per element, the thread's CPU time, batches of 2^18 elements of
// N(0, 4), least of interleaved runs): 1.13 at 10 columns against 3.50
// with LogSoftmaxRowsAVX2 alone (SoftmaxRows 1.08), 0.71 against 2.05 at
// 16 (0.66), 0.92 against 4.49 at 8 (0.80).
func logSoftmaxRowsAVX2(dst, src []float32, cols int) { shortRowsAVX2(true, dst, src, cols) }

// shortRowsAVX2 is softmaxRowsAVX2, or logSoftmaxRowsAVX2 if log.
func shortRowsAVX2(log bool, dst, src []float32, cols int) {
	rows := len(src) / cols
	if cols > shortCols || rows < 8 {
		rowsAVX2(log, dst, src, rows, cols)
		return
	}
	full := rows / 8 * 8
	for done := 0; done < full; {
		done += shortAVX2(log, dst[done*cols:], src[done*cols:], full-done, cols)
		if done == full {
			break
		}
		d, s := dst[done*cols:(done+8)*cols], src[done*cols:(done+8)*cols]
		if len(src)-done*cols >= 7*cols+shortCols || !shortGroupCopyAVX2(log, d, s, cols) {
			rowsAVX2(log, d, s, 8, cols)
		}
		done += 8
	}
	if full < rows {
		rowsAVX2(log, dst[full*cols:], src[full*cols:], rows-full, cols)
	}
}

// shortAVX2 calls SoftmaxShortRowsAVX2, or LogSoftmaxShortRowsAVX2 if log.
// Direct calls, as in softmaxRowsAVX512.
func shortAVX2(log bool, dst, src []float32, rows, cols int) int {
	if log {
		return asm.LogSoftmaxShortRowsAVX2(dst, src, rows, cols)
	}
	return asm.SoftmaxShortRowsAVX2(dst, src, rows, cols)
}

// rowsAVX2 calls SoftmaxRowsAVX2, or LogSoftmaxRowsAVX2 if log; a batch
// of rows of at least softmaxLongColsAVX2 elements, and of at least
// softmaxLongElemsAVX2 in all, goes to SoftmaxLongRowsAVX2, and with log
// one of rows of at least logLongColsAVX2 elements, logLongElemsAVX2 in
// all, to LogSoftmaxLongRowsAVX2.
func rowsAVX2(log bool, dst, src []float32, rows, cols int) {
	switch {
	case log && cols >= logLongColsAVX2 && rows*cols >= logLongElemsAVX2:
		asm.LogSoftmaxLongRowsAVX2(dst, src, rows, cols)
	case log:
		asm.LogSoftmaxRowsAVX2(dst, src, rows, cols)
	case cols >= softmaxLongColsAVX2 && rows*cols >= softmaxLongElemsAVX2:
		asm.SoftmaxLongRowsAVX2(dst, src, rows, cols)
	default:
		asm.SoftmaxRowsAVX2(dst, src, rows, cols)
	}
}

// logLongColsAVX512 and logLongElemsAVX512 are the shortest row, and the
// smallest batch, that LogSoftmaxRows runs through
// LogSoftmaxLongRowsAVX512 (see logSoftmaxLongAVX512 in
// gen/amd64/logsoftmax.go): rows of 1 MiB or more, as SoftmaxRowsAVX512
// takes its long-row passes (longCols there), in batches of 16 MiB or
// more, as SoftmaxRows on avx2 (softmaxLongElemsAVX2), whose input and
// output together (32 MiB or more) outgrow a 32 MiB L3. Its speed has not
// been measured: it is LogSoftmaxLongRowsAVX2's passes on AVX-512, which
// took 0.63x LogSoftmaxRowsAVX2's time on such batches on Zen 3 (and
// SoftmaxRowsAVX512's long-row passes 0.72x its row passes' on Zen 5),
// and it is routed only where memory traffic, which it cuts from three
// reads of x to two, sets the time. Variables, so that the tests can send
// every batch through it.
var logLongColsAVX512, logLongElemsAVX512 = 1 << 18, 1 << 22

// logLongColsAVX2 and logLongElemsAVX2 are the shortest row, and the
// smallest batch, that LogSoftmaxRows runs through LogSoftmaxLongRowsAVX2
// (see logSoftmaxLongAVX2 in gen/amd64/logsoftmax.go): rows longer than
// the batches of LogSoftmaxRowsAVX2 (batchCols there), 4 MiB or more in
// all. Unlike SoftmaxLongRowsAVX2, it runs faster than the row kernel on
// batches that L3 holds, called again and again: LogSoftmaxRowsAVX2 reads
// x three times, and its passes 1 and 2 cost most of its time. Measured
// on AMD EPYC Zen 3 (32 MiB of L3; thread CPU time, the lower quartile of
// 12 to 16 calls, 5 rounds alternating the two kernels, N(0, 4) logits;
// the median of the rounds' ratios, long kernel against row kernel, out
// of place and, on input refilled by a copy, in place): 4 MiB batches
// 0.79x and 0.88x at 2048 columns, 0.73x and 0.85x at 4096, 0.74-0.75x
// and 0.80-0.82x at 32000, 0.77x and 0.79x at 65536, 0.82x and 0.82x at 128256,
// 0.76x and 0.81x at 262144; 8 MiB batches 0.71x and 0.86x at 2048,
// 0.65-0.72x and 0.80-0.87x at 4096, 0.62-0.64x and 0.75-0.81x at 32000,
// 0.65x and 0.81x at 128256; out of cache 0.63x at 8 x 4,194,304. But
// 0.89x and 1.01x at 8 MiB of 1024 columns, and at 1 and 2 MiB
// 0.98-1.03x out of place (1.38-1.43x in place at 32000 and 128256),
// 1.11x at 1 MiB of 1024. Variables, so that the tests can send every
// row through either kernel.
var logLongColsAVX2, logLongElemsAVX2 = 2048, 1 << 20

// softmaxLongColsAVX2 and softmaxLongElemsAVX2 are the shortest row, and
// the smallest batch, that SoftmaxRows runs through SoftmaxLongRowsAVX2
// (see softmaxLongAVX2 in gen/amd64/softmax.go): rows of 1 MiB or more,
// 16 MiB or more in all, which the caches do not hold. Its non-temporal
// stores send dst to memory, so a batch that the caches hold, called
// again and again, runs faster through SoftmaxRowsAVX2. Measured on AMD
// EPYC Zen 3 (32 MiB of L3; thread CPU time, the lower quartile of 10 to
// 20 calls, 5 rounds alternating the two kernels, N(0, 4) logits; the
// median of the rounds' ratios, long kernel against row kernel), out of
// place: 8 rows of 4,194,304 columns 0.65-0.72x, 2 of 4,194,304 0.61x,
// 1 of 4,194,304 0.72x, 8 of 1,048,576 0.77x, 4 of 1,048,576 0.72x, 8
// of 524,288 0.72x, 16 of 262,144 0.82x; but 2 of 1,048,576 0.73x with
// 1 of 1,048,576 1.05x, 8 of 262,144 1.12x and 4 of 131,072 1.31x
// (batches of 8 MiB or less, which stay in L3 from call to call). In
// place the long kernel measured 0.75-0.92x at every one of these
// shapes, but each call's input was refilled by a copy, which Go stores
// non-temporally: cold input, which favours it. LogSoftmaxRows has
// thresholds of its own (logLongColsAVX2). SoftmaxBackwardRows,
// LogSoftmaxBackwardRows and CrossEntropy(Rows) send the same batches
// to their own AVX2 long-row kernels (backwardRowsAVX2,
// ceLongOrRowsAVX2). Variables, so that the tests can send every row
// through either kernel.
var softmaxLongColsAVX2, softmaxLongElemsAVX2 = 1 << 18, 1 << 22

// shortGroupCopyAVX2 runs the 8 rows of src into dst with the short
// kernel (shortAVX2) on a copy with room after it, and reports whether
// the kernel took them.
func shortGroupCopyAVX2(log bool, dst, src []float32, cols int) bool {
	var buf [8*shortCols + shortCols]float32
	b := buf[:8*cols+shortCols]
	copy(b, src)
	if shortAVX2(log, b, b, 8, cols) != 8 {
		return false
	}
	copy(dst, b[:8*cols])
	return true
}

// scaledSoftmaxRowsAVX2 is softmaxRowsAVX2 for ScaledSoftmaxRows: batches
// of at least 8 rows of at most shortCols elements go through the short
// kernel of their mask's kind (none, one row per row, one row for every
// row), eight rows at a time; the groups it leaves (a row whose z has a
// NaN, an infinity or a max beyond 208 in magnitude, or is fully masked)
// and the last rows%8 rows go through ScaledSoftmaxRowsAVX2 or its form
// without a mask. A last group whose loads would read past src, or past a
// mask of one row per row, runs on copies in buffers with room after them.
func scaledSoftmaxRowsAVX2(dst, src, mask []float32, scale float32, cols int) {
	scaledShortRowsAVX2(false, dst, src, mask, scale, cols)
}

// scaledLogSoftmaxRowsAVX2 is scaledSoftmaxRowsAVX2 for
// ScaledLogSoftmaxRows, with the ScaledLogSoftmaxShortRows kernels and
// ScaledLogSoftmaxRowsAVX2 or its form without a mask. Measured as
// logSoftmaxRowsAVX2, scale 1/8, a mask of N(0, 1/4) with one element in
// 8 -Inf, at 10 columns: 1.35, 1.32 and 1.27 ns per element with a mask
// per row, one mask row and none, against 4.04, 3.99 and 3.77 through the
// row kernels alone (ScaledSoftmaxRows then 1.36, 1.33 and 1.24); at 16
// columns 0.85, 0.84 and 0.80 against 2.15, 2.12 and 2.09 (0.82, 0.83 and
// 0.77). The short ScaledSoftmaxRows kernels have since been made faster
// (z computed once, s kept for pass 3: see gen/amd64/short_avx2.go), and
// the log kernels keep z for pass 2 (see gen/amd64/short_log_avx2.go).
func scaledLogSoftmaxRowsAVX2(dst, src, mask []float32, scale float32, cols int) {
	scaledShortRowsAVX2(true, dst, src, mask, scale, cols)
}

// scaledShortRowsAVX2 is scaledSoftmaxRowsAVX2, or
// scaledLogSoftmaxRowsAVX2 if log.
func scaledShortRowsAVX2(log bool, dst, src, mask []float32, scale float32, cols int) {
	rows := len(src) / cols
	if cols > shortCols || rows < 8 {
		scaledRowsAVX2(log, dst, src, mask, scale, rows, cols)
		return
	}
	bcast := len(mask) == cols
	full := rows / 8 * 8
	for done := 0; done < full; {
		d, s := dst[done*cols:], src[done*cols:]
		m := mask
		if len(mask) > 0 && !bcast {
			m = mask[done*cols:]
		}
		done += scaledShortAVX2(log, d, s, m, scale, full-done, cols)
		if done == full {
			break
		}
		d, s = dst[done*cols:(done+8)*cols], src[done*cols:(done+8)*cols]
		m = mask
		if len(mask) > 0 && !bcast {
			m = mask[done*cols : (done+8)*cols]
		}
		if len(src)-done*cols >= 7*cols+shortCols || !scaledGroupCopyAVX2(log, d, s, m, scale, cols) {
			scaledRowsAVX2(log, d, s, m, scale, 8, cols)
		}
		done += 8
	}
	if full < rows {
		m := mask
		if len(mask) > 0 && !bcast {
			m = mask[full*cols:]
		}
		scaledRowsAVX2(log, dst[full*cols:], src[full*cols:], m, scale, rows-full, cols)
	}
}

// scaledShortAVX2 calls the short kernel of the mask's kind (none, one
// row for every row, one row per row) of ScaledSoftmaxRows, or of
// ScaledLogSoftmaxRows if log. Direct calls, as in softmaxRowsAVX512.
func scaledShortAVX2(log bool, dst, src, mask []float32, scale float32, rows, cols int) int {
	switch {
	case log && len(mask) == 0:
		return asm.ScaledLogSoftmaxShortRowsNoMaskAVX2(dst, src, scale, rows, cols)
	case log && len(mask) == cols:
		return asm.ScaledLogSoftmaxShortRowsBcastAVX2(dst, src, mask, scale, rows, cols)
	case log:
		return asm.ScaledLogSoftmaxShortRowsAVX2(dst, src, mask, scale, rows, cols)
	case len(mask) == 0:
		return asm.ScaledSoftmaxShortRowsNoMaskAVX2(dst, src, scale, rows, cols)
	case len(mask) == cols:
		return asm.ScaledSoftmaxShortRowsBcastAVX2(dst, src, mask, scale, rows, cols)
	}
	return asm.ScaledSoftmaxShortRowsAVX2(dst, src, mask, scale, rows, cols)
}

// scaledGroupCopyAVX2 is shortGroupCopyAVX2 for scaledShortAVX2: the 8
// rows of src, and of mask if it holds one row per row, are copied to
// buffers with room after them. A mask of one row is read in place: its
// short kernel reads only its cols elements.
func scaledGroupCopyAVX2(log bool, dst, src, mask []float32, scale float32, cols int) bool {
	var buf, mbuf [8*shortCols + shortCols]float32
	b := buf[:8*cols+shortCols]
	copy(b, src)
	m := mask
	if len(mask) > 0 && len(mask) != cols {
		m = mbuf[:8*cols+shortCols]
		copy(m, mask)
	}
	if scaledShortAVX2(log, b, b, m, scale, 8, cols) != 8 {
		return false
	}
	copy(dst, b[:8*cols])
	return true
}

// scaledRowsAVX2 runs rows rows of ScaledSoftmaxRows, or of
// ScaledLogSoftmaxRows if log, through the AVX2 row kernel, with the mask
// mask or without one.
func scaledRowsAVX2(log bool, dst, src, mask []float32, scale float32, rows, cols int) {
	switch {
	case log && len(mask) == 0:
		asm.ScaledLogSoftmaxRowsNoMaskAVX2(dst, src, scale, rows, cols)
	case log:
		asm.ScaledLogSoftmaxRowsAVX2(dst, src, mask, scale, rows, cols)
	case len(mask) == 0:
		asm.ScaledSoftmaxRowsNoMaskAVX2(dst, src, scale, rows, cols)
	case cols >= scaledLongColsAVX2:
		asm.ScaledSoftmaxLongRowsAVX2(dst, src, mask, scale, rows, cols)
	default:
		asm.ScaledSoftmaxRowsAVX2(dst, src, mask, scale, rows, cols)
	}
}

// scaledLongColsAVX2 is scaledLongCols for AVX2: the shortest row that
// ScaledSoftmaxRows with a mask runs through ScaledSoftmaxLongRowsAVX2
// rather than ScaledSoftmaxRowsAVX2. It was 8192, as on AVX-512, where
// the long kernel measured (thread CPU time, the lower quartile of 200
// alternating runs of 1 MiB batches, one mask row per row, against
// SoftmaxRowsAVX2) 1.11x against 1.17x for ScaledSoftmaxRowsAVX2, 1.10x
// against 1.20x at 16384, 1.17x against 1.24x at 128256 (see
// scaledLongAVX2 in gen/amd64/fused256.go). Since ScaledSoftmaxRowsAVX2
// finds the next row's max in pass 2 (sm256.nextMax in
// gen/amd64/softmax.go), the row kernel is the faster up to 65536 (the
// lower quartile of 100 alternating runs, the same measure, row kernel
// against long kernel): out of place 1.10x against 1.27x at 8192, 1.12x
// against 1.18x at 12288, 1.10x against 1.15x at 16384, 1.11x against
// 1.15x at 24576, 1.11x against 1.16x at 32000, 1.13x against 1.15x at
// 48000 and 1.13x against 1.16x at 65536, one mask row for every row
// 1.07-1.11x against 1.11-1.26x; in place 1.01x against 1.05x at 8192,
// 1.06x against 1.12x at 16384, 1.16x either way at 32000, but 1.17x
// against 1.14x at 65536, and out of place 1.14x against 1.12x at
// 128256. A variable, so that the tests can send every row through
// either kernel.
var scaledLongColsAVX2 = 65536

// causalSoftmaxRowsAVX2 is causalSoftmaxRowsAVX512 for AVX2: batches of
// rows of at most shortCols elements go through
// CausalSoftmaxShortRowsAVX2, eight rows at a time, and the groups it
// leaves (a row with a NaN or an infinity among its first k elements, or
// with k = 0) through CausalSoftmaxRowsAVX2. A last group of 8 rows
// whose loads would read past src, and a last group of 5 to 7 rows (3 to
// 7 of at most 8 columns: all of a block of 3 rows, say), run on a copy
// in a buffer padded with rows of zeros to 8 rows, where the kernel runs
// them faster than the row kernel does (at 10 columns, 5 rows: 1.33x
// SoftmaxRowsAVX2 padded against 1.52x, but 4 rows: 1.65x against 1.55x;
// at 4 columns, 3 rows: 1.61x against 1.88x); a shorter last group goes
// through CausalSoftmaxRowsAVX2. Other batches go through
// CausalSoftmaxRowsAVX2. offset is clamped as in causalKernel.
//
// Measured (ns per element, thread CPU time, the lower quartile of 101
// alternating runs, scale 1/8, offset 0, against SoftmaxRowsAVX2's
// dispatch on the same rows in the same run), against the route this
// replaced (rows as ScaledSoftmaxRows input, the row's first k elements
// then -Inf, written to dst or a buffer and run through the scaled short
// kernel, for batches of 16 rows or more; CausalSoftmaxRowsAVX2 below
// that): square causal blocks of 10 rows, 1.75 (1.29x) against 2.59
// (1.91x); of 16 rows, 0.85 (1.24x) against 1.30 (1.91x); of 3 rows, 13.0
// (1.23x) against 13.3 (1.25x); one call for 1000 rows of 10 columns,
// 1.33 (1.31x) against 1.77 (1.74x).
func causalSoftmaxRowsAVX2(dst, src []float32, scale float32, cols, offset int) {
	rows := len(src) / cols
	offset = min(max(offset, -rows-1), cols)
	if cols > shortCols || rows == 0 {
		asm.CausalSoftmaxRowsAVX2(dst, src, scale, rows, cols, offset)
		return
	}
	for done := 0; done < rows; {
		if rows-done >= 8 {
			done += asm.CausalSoftmaxShortRowsAVX2(dst[done*cols:], src[done*cols:], scale, rows-done, cols, offset+done)
			if done == rows {
				break
			}
		}
		n := min(8, rows-done)
		d, s := dst[done*cols:(done+n)*cols], src[done*cols:(done+n)*cols]
		o := min(max(offset+done, -n-1), cols)
		pad := n == 8 && len(src)-done*cols < 7*cols+shortCols || n < 8 && (n >= 5 || cols <= 8 && n >= 3)
		if !pad || !causalGroupCopyAVX2(d, s, scale, cols, offset+done) {
			asm.CausalSoftmaxRowsAVX2(d, s, scale, n, cols, o)
		}
		done += n
	}
}

// causalGroupCopyAVX2 runs the at most 8 rows of src, the first of them
// with the (unclamped) offset offset, into dst with
// CausalSoftmaxShortRowsAVX2 on a copy padded with rows of zeros to 8
// rows and with room after them, and reports whether the kernel took
// them.
func causalGroupCopyAVX2(dst, src []float32, scale float32, cols, offset int) bool {
	var buf [8*shortCols + shortCols]float32
	b := buf[:8*cols+shortCols]
	copy(b, src)
	if asm.CausalSoftmaxShortRowsAVX2(b, b, scale, 8, cols, min(max(offset, -9), cols)) != 8 {
		return false
	}
	copy(dst, b[:len(src)])
	return true
}

// crossEntropyRowsAVX512 runs batches of rows of at most shortCols
// elements through CrossEntropyShortRowsAVX512, eight rows at a time, and
// batches of at most mediumCols, out of place or without a gradient,
// through CrossEntropyMediumRowsAVX512, four at a time (or the forms of
// the two without a gradient); the rows they leave (a group with a NaN,
// an infinity or a max beyond 208 in magnitude; the last rows of a
// batch) go through CrossEntropyRowsAVX512 one row at a time, whose total
// from +0 is the row's loss: the losses are added to one float64 total in
// row order, as the fallback adds them. Other batches go through
// CrossEntropyRowsAVX512 whole, or CrossEntropyLongRowsAVX512 (see
// ceLongOrRowsAVX512).
func crossEntropyRowsAVX512(grad, logits []float32, targets []int32, cols int) float32 {
	rows := len(logits) / cols
	group := 8
	if cols > shortCols {
		group = 4
	}
	if rows < group || cols > mediumCols || (group == 4 && grad != nil && &grad[0] == &logits[0]) {
		return roundLoss(ceLongOrRowsAVX512(grad, logits, targets, rows, cols) / float64(rows))
	}
	var total float64
	for done := 0; done < rows; {
		// Direct calls, as in softmaxRowsAVX512.
		var n int
		x, ts := logits[done*cols:], targets[done:]
		switch {
		case group == 8 && grad == nil:
			n, total = asm.CrossEntropyShortRowsNoGradAVX512(nil, x, ts, rows-done, cols, total)
		case group == 8:
			n, total = asm.CrossEntropyShortRowsAVX512(grad[done*cols:], x, ts, rows-done, cols, total)
		case grad == nil:
			n, total = asm.CrossEntropyMediumRowsNoGradAVX512(nil, x, ts, rows-done, cols, total)
		default:
			n, total = asm.CrossEntropyMediumRowsAVX512(grad[done*cols:], x, ts, rows-done, cols, total)
		}
		done += n
		for end := min(done+group, rows); done < end; done++ {
			var g []float32
			if grad != nil {
				g = grad[done*cols : (done+1)*cols]
			}
			total += asm.CrossEntropyRowsAVX512(g, logits[done*cols:(done+1)*cols], targets[done:done+1], 1, cols)
		}
	}
	return roundLoss(total / float64(rows))
}

// crossEntropyRowsAVX2 runs batches of at least 8 rows of at most
// shortCols elements through CrossEntropyShortRowsAVX2, eight rows at a
// time (or its form without a gradient); the groups it leaves (a row with
// a NaN, an infinity or a max beyond 208 in magnitude) and the last
// rows%8 rows go through CrossEntropyRowsAVX2 one row at a time, whose
// total from +0 is the row's loss: the losses are added to one float64
// total in row order, as the fallback adds them. A last group whose loads
// would read past logits runs on a copy in a buffer with room after it.
// Other batches go through CrossEntropyRowsAVX2 whole. Measured on Zen 5
// (ns per element, the thread's CPU time, batches of 2^18 elements of
// N(0, 4), least of interleaved runs): 1.40 at 10 columns against 2.60
// with CrossEntropyRowsAVX2 alone (SoftmaxRows 1.04), 0.88 against 1.45
// at 16 (0.64); without a gradient 1.12 against 1.96, 0.70 against 1.11.
func crossEntropyRowsAVX2(grad, logits []float32, targets []int32, cols int) float32 {
	rows := len(logits) / cols
	if cols > shortCols || rows < 8 {
		return roundLoss(ceLongOrRowsAVX2(grad, logits, targets, rows, cols) / float64(rows))
	}
	full := rows / 8 * 8
	var total float64
	done := 0
	for done < full {
		var n int
		n, total = shortCEAVX2(grad, logits, targets, done, full-done, cols, total)
		done += n
		if done == full {
			break
		}
		if len(logits)-done*cols < 7*cols+shortCols {
			if t, ok := ceGroupCopyAVX2(grad, logits, targets, done, cols, total); ok {
				total = t
				done += 8
				continue
			}
		}
		total = ceRowsAVX2(grad, logits, targets, done, done+8, cols, total)
		done += 8
	}
	total = ceRowsAVX2(grad, logits, targets, done, rows, cols, total)
	return roundLoss(total / float64(rows))
}

// shortCEAVX2 calls CrossEntropyShortRowsAVX2, or its form without a
// gradient if grad is nil, on rows rows from row from. Direct calls, as
// in softmaxRowsAVX512.
func shortCEAVX2(grad, logits []float32, targets []int32, from, rows, cols int, total float64) (int, float64) {
	x, ts := logits[from*cols:], targets[from:]
	if grad == nil {
		return asm.CrossEntropyShortRowsNoGradAVX2(nil, x, ts, rows, cols, total)
	}
	return asm.CrossEntropyShortRowsAVX2(grad[from*cols:], x, ts, rows, cols, total)
}

// ceLongOrRowsAVX512 runs CrossEntropyRowsAVX512, or
// CrossEntropyLongRowsAVX512 on batches of rows of at least
// longColsAVX512 elements, longElemsAVX512 in all.
func ceLongOrRowsAVX512(grad, logits []float32, targets []int32, rows, cols int) float64 {
	if cols >= longColsAVX512 && rows*cols >= longElemsAVX512 {
		return asm.CrossEntropyLongRowsAVX512(grad, logits, targets, rows, cols)
	}
	return asm.CrossEntropyRowsAVX512(grad, logits, targets, rows, cols)
}

// longColsAVX512 and longElemsAVX512 are the shortest row, and the
// smallest batch, that CrossEntropy(Rows) runs through
// CrossEntropyLongRowsAVX512 (see crossEntropyLongAVX512 in
// gen/amd64/crossentropy.go), and SoftmaxBackwardRows and
// LogSoftmaxBackwardRows through SoftmaxBackwardLongRowsAVX512 and
// LogSoftmaxBackwardLongRowsAVX512 (backwardAVX512 in
// gen/amd64/backward.go): LogSoftmaxRows's (logLongColsAVX512), for the
// same reasons. Their speed has not been measured either: they are the
// AVX2 long-row kernels' passes on AVX-512, which on Zen 3 at 8 rows of
// 4,194,304 columns took 0.63x CrossEntropyRowsAVX2's time, and
// 0.87-0.92x and 0.86-0.94x the backward row kernels'. Variables, so
// that the tests can send every batch through them.
var longColsAVX512, longElemsAVX512 = 1 << 18, 1 << 22

// ceLongOrRowsAVX2 runs CrossEntropyRowsAVX2, or CrossEntropyLongRowsAVX2
// on the batches that SoftmaxRows sends SoftmaxLongRowsAVX2 (rows of at
// least softmaxLongColsAVX2 elements, softmaxLongElemsAVX2 in all): on
// Zen 3, 0.63x CrossEntropyRowsAVX2's time at 8 rows of 4,194,304
// columns, 0.73x at 16 of 1,048,576 (see crossEntropyLongAVX2 in
// gen/amd64/crossentropy.go).
func ceLongOrRowsAVX2(grad, logits []float32, targets []int32, rows, cols int) float64 {
	if cols >= softmaxLongColsAVX2 && rows*cols >= softmaxLongElemsAVX2 {
		return asm.CrossEntropyLongRowsAVX2(grad, logits, targets, rows, cols)
	}
	return asm.CrossEntropyRowsAVX2(grad, logits, targets, rows, cols)
}

// ceRowsAVX2 adds the losses of rows from to end, each from
// CrossEntropyRowsAVX2 on its own, to total in row order, and returns it.
func ceRowsAVX2(grad, logits []float32, targets []int32, from, end, cols int, total float64) float64 {
	for r := from; r < end; r++ {
		var g []float32
		if grad != nil {
			g = grad[r*cols : (r+1)*cols]
		}
		total += asm.CrossEntropyRowsAVX2(g, logits[r*cols:(r+1)*cols], targets[r:r+1], 1, cols)
	}
	return total
}

// ceGroupCopyAVX2 runs the 8 rows from row from with shortCEAVX2 on a
// copy of their logits with room after it, in place when grad is not nil,
// and reports whether the kernel took them, and the total.
func ceGroupCopyAVX2(grad, logits []float32, targets []int32, from, cols int, total float64) (float64, bool) {
	var buf [8*shortCols + shortCols]float32
	b := buf[:8*cols+shortCols]
	copy(b, logits[from*cols:(from+8)*cols])
	var g []float32
	if grad != nil {
		g = b
	}
	n, t := shortCEAVX2(g, b, targets[from:from+8], 0, 8, cols, total)
	if n != 8 {
		return 0, false
	}
	if grad != nil {
		copy(grad[from*cols:(from+8)*cols], b[:8*cols])
	}
	return t, true
}
