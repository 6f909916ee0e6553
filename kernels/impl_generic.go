package kernels

import "github.com/go-softmax/softmax/fallback"

// generic is the pure-Go implementation: the canonical algorithm itself.
var generic = &Implementation{
	name:      "generic",
	supported: func() bool { return true },
	k: kernelSet{
		softmaxRows:        fallback.SoftmaxRows,
		logSoftmaxRows:     fallback.LogSoftmaxRows,
		logSumExp:          fallback.LogSumExp,
		softmaxBackward:    fallback.SoftmaxBackward,
		logSoftmaxBackward: fallback.LogSoftmaxBackward,
		crossEntropy:       fallback.CrossEntropy,
		crossEntropyRows:   fallback.CrossEntropyRows,
		exp:                fallback.Exp,

		scaledSoftmaxRows:    fallback.ScaledSoftmaxRows,
		scaledLogSoftmaxRows: fallback.ScaledLogSoftmaxRows,
		causalSoftmaxRows:    fallback.CausalSoftmaxRows,
		softmaxAxis:          fallback.SoftmaxAxis,
		logSoftmaxAxis:       fallback.LogSoftmaxAxis,
		statsOf:              fallback.StatsOf,
		softmaxWithStats:     fallback.SoftmaxWithStats,
		logSoftmaxWithStats:  fallback.LogSoftmaxWithStats,

		softmaxBackwardRows:    fallback.SoftmaxBackwardRows,
		logSoftmaxBackwardRows: fallback.LogSoftmaxBackwardRows,
	},
}
