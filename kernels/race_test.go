//go:build race

package kernels

// raceEnabled reports whether the tests run under the race detector, which
// makes Go code (the generic implementation, the test loops) some ten
// times slower: the heaviest tests then check less, but still every
// length 0..300 on every implementation.
const raceEnabled = true
