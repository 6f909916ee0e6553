package kernels

import (
	"testing"

	"github.com/go-softmax/softmax/fallback"
)

// api is one set of the package's kernels, as functions: an
// implementation's methods, the package-level functions, or package
// fallback's. The tests of what every entry point must do (check its
// arguments, allocate nothing, be safe for concurrent use) run on each.
type api struct {
	name                                string
	Softmax, LogSoftmax, Exp            func(dst, src []float32)
	SoftmaxRows, LogSoftmaxRows         func(dst, src []float32, cols int)
	LogSumExp                           func(src []float32) float32
	SoftmaxBackward, LogSoftmaxBackward func(dx, y, dy []float32)
	CrossEntropy                        func(grad, logits []float32, target int) float32
	CrossEntropyRows                    func(grad, logits []float32, targets []int32, cols int) float32

	SoftmaxBackwardRows, LogSoftmaxBackwardRows func(dx, y, dy []float32, cols int)
}

func implAPI(im *Implementation) api {
	return api{
		name:               im.Name(),
		Softmax:            im.Softmax,
		LogSoftmax:         im.LogSoftmax,
		Exp:                im.Exp,
		SoftmaxRows:        im.SoftmaxRows,
		LogSoftmaxRows:     im.LogSoftmaxRows,
		LogSumExp:          im.LogSumExp,
		SoftmaxBackward:    im.SoftmaxBackward,
		LogSoftmaxBackward: im.LogSoftmaxBackward,
		CrossEntropy:       im.CrossEntropy,
		CrossEntropyRows:   im.CrossEntropyRows,

		SoftmaxBackwardRows:    im.SoftmaxBackwardRows,
		LogSoftmaxBackwardRows: im.LogSoftmaxBackwardRows,
	}
}

var packageAPI = api{
	name:               "package",
	Softmax:            Softmax,
	LogSoftmax:         LogSoftmax,
	Exp:                Exp,
	SoftmaxRows:        SoftmaxRows,
	LogSoftmaxRows:     LogSoftmaxRows,
	LogSumExp:          LogSumExp,
	SoftmaxBackward:    SoftmaxBackward,
	LogSoftmaxBackward: LogSoftmaxBackward,
	CrossEntropy:       CrossEntropy,
	CrossEntropyRows:   CrossEntropyRows,

	SoftmaxBackwardRows:    SoftmaxBackwardRows,
	LogSoftmaxBackwardRows: LogSoftmaxBackwardRows,
}

var fallbackAPI = api{
	name:               "fallback",
	Softmax:            fallback.Softmax,
	LogSoftmax:         fallback.LogSoftmax,
	Exp:                fallback.Exp,
	SoftmaxRows:        fallback.SoftmaxRows,
	LogSoftmaxRows:     fallback.LogSoftmaxRows,
	LogSumExp:          fallback.LogSumExp,
	SoftmaxBackward:    fallback.SoftmaxBackward,
	LogSoftmaxBackward: fallback.LogSoftmaxBackward,
	CrossEntropy:       fallback.CrossEntropy,
	CrossEntropyRows:   fallback.CrossEntropyRows,

	SoftmaxBackwardRows:    fallback.SoftmaxBackwardRows,
	LogSoftmaxBackwardRows: fallback.LogSoftmaxBackwardRows,
}

// allAPIs returns every implementation this CPU runs, the package-level
// functions and package fallback.
func allAPIs() []api {
	var out []api
	for _, im := range Implementations() {
		out = append(out, implAPI(im))
	}
	return append(out, packageAPI, fallbackAPI)
}

// forEachAPI runs f as a subtest for each of allAPIs.
func forEachAPI(t *testing.T, f func(t *testing.T, k api)) {
	t.Helper()
	for _, k := range allAPIs() {
		t.Run(k.name, func(t *testing.T) { f(t, k) })
	}
}
