package fallback

import (
	"math"

	"github.com/go-softmax/softmax/internal/check"
)

// CrossEntropy returns the loss -log(softmax(logits)[target]) and, if grad
// is not nil, sets grad = softmax(logits) - onehot(target). grad may be
// logits. The loss is +Inf when logits[target] is -Inf (including a fully
// masked row, whose softmax is all zeros) or lies so far below the row's
// maximum that the distance overflows the float32 range, and NaN when the
// row holds a NaN or a +Inf, in which case grad is all NaN.
func CrossEntropy(grad, logits []float32, target int) float32 {
	check.CrossEntropy(grad, logits, target)
	return f32(crossEntropyRow(grad, logits, target))
}

// CrossEntropyRows applies CrossEntropy to each row of cols logits, with
// targets[r] the class of row r, and returns the mean loss over the rows
// (the per-row losses summed in float64 in row order, then divided). grad
// may be nil. It returns 0 for zero rows.
func CrossEntropyRows(grad, logits []float32, targets []int32, cols int) float32 {
	rows := check.CrossEntropyRows(grad, logits, targets, cols)
	if rows == 0 {
		return 0
	}
	var total float64
	for r := 0; r < rows; r++ {
		var g []float32
		if grad != nil {
			g = grad[r*cols : (r+1)*cols]
		}
		total += crossEntropyRow(g, logits[r*cols:(r+1)*cols], int(targets[r]))
	}
	return f32(total / float64(rows))
}

// crossEntropyRow returns the loss in float64 and fills grad if not nil.
func crossEntropyRow(grad, logits []float32, target int) float64 {
	xt := logits[target]
	p := planRow(logits)
	stored := grad != nil && !sameSlice(grad, logits)
	s := p.sum(logits, grad, stored)
	if grad != nil {
		softmaxOut(grad, logits, &p, s, stored)
		if p.kind != rowNaN {
			grad[target] -= 1
		}
	}
	switch {
	case p.kind == rowNaN:
		return math.NaN()
	case math.IsInf(float64(xt), -1):
		return math.Inf(1)
	}
	// Never below 0, as logProb is never above it (the loss is its
	// negation, but +0 where that is -0).
	loss := p.logSum(s) - (float64(xt) - float64(p.c))
	if loss < 0 {
		loss = 0
	}
	return loss
}
