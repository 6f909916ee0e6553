package kernels_test

import (
	"fmt"
	"math"

	"github.com/go-softmax/softmax/kernels"
)

func ExampleSoftmax() {
	logits := []float32{1, 2, 3, float32(math.Inf(-1))} // the last one is masked
	probs := make([]float32, len(logits))
	kernels.Softmax(probs, logits)
	fmt.Printf("%.4f\n", probs)
	// Output: [0.0900 0.2447 0.6652 0.0000]
}

func ExampleSoftmaxRows() {
	// Two rows of three classes, normalized in one call, in place.
	x := []float32{0, 0, 0, 1e30, 1e30, -1e30}
	kernels.SoftmaxRows(x, x, 3)
	fmt.Printf("%.4f\n", x)
	// Output: [0.3333 0.3333 0.3333 0.5000 0.5000 0.0000]
}

func ExampleLogSoftmax() {
	x := []float32{0, float32(math.Log(3))}
	y := make([]float32, 2)
	kernels.LogSoftmax(y, x)
	fmt.Printf("%.4f\n", y)
	// Output: [-1.3863 -0.2877]
}

func ExampleLogSumExp() {
	fmt.Println(kernels.LogSumExp([]float32{1000, 1000}))
	fmt.Println(kernels.LogSumExp(nil))
	// Output:
	// 1000.6932
	// -Inf
}

func ExampleCrossEntropy() {
	logits := []float32{2, 1, 0.1}
	grad := make([]float32, 3)
	loss := kernels.CrossEntropy(grad, logits, 0)
	fmt.Printf("loss %.4f grad %.4f\n", loss, grad)
	// Output: loss 0.4170 grad [-0.3410 0.2424 0.0986]
}

func ExampleCrossEntropyRows() {
	logits := []float32{
		2, 1, 0.1, // row 0, class 0
		0, 0, 0, // row 1, class 2
	}
	mean := kernels.CrossEntropyRows(nil, logits, []int32{0, 2}, 3)
	fmt.Printf("mean loss %.4f\n", mean)
	// Output: mean loss 0.7578
}

func ExampleSoftmaxBackward() {
	y := []float32{0.25, 0.25, 0.5} // a softmax output
	dy := []float32{1, 0, 0}        // gradient of the loss with respect to y
	dx := make([]float32, 3)
	kernels.SoftmaxBackward(dx, y, dy)
	fmt.Println(dx)
	// Output: [0.1875 -0.0625 -0.125]
}

func ExampleLogSoftmaxBackward() {
	y := []float32{float32(math.Log(0.25)), float32(math.Log(0.75))}
	dy := []float32{-1, 0} // d(-log p0)/dy
	dx := make([]float32, 2)
	kernels.LogSoftmaxBackward(dx, y, dy)
	fmt.Printf("%.4f\n", dx)
	// Output: [-0.7500 0.7500]
}

func ExampleSoftmaxBackwardRows() {
	// Two rows of 3: the softmax outputs and the gradients with respect
	// to them, in one call for the batch.
	y := []float32{
		0.25, 0.25, 0.5,
		0.5, 0.25, 0.25,
	}
	dy := []float32{
		1, 0, 0,
		0, 0, 1,
	}
	dx := make([]float32, len(y))
	kernels.SoftmaxBackwardRows(dx, y, dy, 3)
	fmt.Println(dx[:3], dx[3:])
	// Output: [0.1875 -0.0625 -0.125] [-0.125 -0.0625 0.1875]
}

func ExampleLogSoftmaxBackwardRows() {
	// A batch of two rows of log-probabilities; dy is the gradient of
	// -log p[target] for targets 0 and 1, so dx = p - onehot(target).
	y := []float32{
		float32(math.Log(0.25)), float32(math.Log(0.75)),
		float32(math.Log(0.5)), float32(math.Log(0.5)),
	}
	dy := []float32{
		-1, 0,
		0, -1,
	}
	kernels.LogSoftmaxBackwardRows(dy, y, dy, 2) // in place
	fmt.Printf("%.4f %.4f\n", dy[:2], dy[2:])
	// Output: [-0.7500 0.7500] [0.5000 -0.5000]
}

func ExampleExp() {
	x := []float32{0, 1, -1, 100, float32(math.Inf(-1))}
	kernels.Exp(x, x)
	fmt.Println(x)
	// Output: [1 2.7182817 0.36787945 +Inf 0]
}

func ExampleImpl() {
	// The implementation in use depends on the CPU and on $SOFTMAX_IMPL;
	// every one returns the same bits.
	fmt.Println(kernels.Impl() != "")
	// Output: true
}

func ExampleImplementations() {
	// Run one kernel on every implementation this CPU supports.
	x := []float32{1, 2, 3}
	for _, im := range kernels.Implementations() {
		y := make([]float32, 3)
		im.Softmax(y, x)
		_ = y // identical bits on every implementation
	}
	last := kernels.Implementations()[len(kernels.Implementations())-1]
	fmt.Println(last.Name())
	// Output: generic
}

// Example computes attention weights, softmax(q·k/sqrt(d) + mask), over
// four keys, the last of them masked out.
func Example() {
	q := []float32{1, 0}
	keys := [][]float32{{1, 0}, {0, 1}, {-1, 0}, {1, 1}}
	masked := []bool{false, false, false, true}
	scale := float32(1 / math.Sqrt(float64(len(q))))
	scores := make([]float32, len(keys))
	for i, k := range keys {
		scores[i] = scale * (q[0]*k[0] + q[1]*k[1])
		if masked[i] {
			scores[i] = float32(math.Inf(-1)) // weight exactly 0
		}
	}
	kernels.Softmax(scores, scores)
	fmt.Printf("%.4f\n", scores)
	// Output: [0.5760 0.2840 0.1400 0.0000]
}

func ExampleSoftmax_temperature() {
	// Sampling: divide the logits by a temperature T before the softmax.
	// T < 1 sharpens the distribution, T > 1 flattens it.
	logits := []float32{2, 1, 0}
	probs := make([]float32, len(logits))
	for _, T := range []float32{0.5, 1, 2} {
		scaled := make([]float32, len(logits))
		for i, l := range logits {
			scaled[i] = l / T
		}
		kernels.Softmax(probs, scaled)
		fmt.Printf("T=%.1f %.3f\n", T, probs)
	}
	// Output:
	// T=0.5 [0.867 0.117 0.016]
	// T=1.0 [0.665 0.245 0.090]
	// T=2.0 [0.506 0.307 0.186]
}

func ExampleLogSoftmaxRows() {
	// Two rows of two log-probabilities, computed in place.
	x := []float32{0, 0, 1, 3}
	kernels.LogSoftmaxRows(x, x, 2)
	fmt.Printf("%.4f\n", x)
	// Output: [-0.6931 -0.6931 -2.1269 -0.1269]
}

func ExampleCrossEntropyRows_gradientDescent() {
	// Fit the logits of two rows to their targets (classes 0 and 2) by
	// gradient descent: grad is the gradient of each row's loss.
	logits := make([]float32, 6)
	grad := make([]float32, 6)
	targets := []int32{0, 2}
	for step := 0; step <= 20; step++ {
		loss := kernels.CrossEntropyRows(grad, logits, targets, 3)
		if step%10 == 0 {
			fmt.Printf("step %2d: mean loss %.3f\n", step, loss)
		}
		for i, g := range grad {
			logits[i] -= g
		}
	}
	// Output:
	// step  0: mean loss 1.099
	// step 10: mean loss 0.069
	// step 20: mean loss 0.034
}

func ExampleDefault() {
	// Default is the implementation behind the package-level functions.
	im := kernels.Default()
	fmt.Println(im.Name() == kernels.Impl())
	// Output: true
}

func ExampleLookup() {
	// The pure-Go implementation runs everywhere.
	im, ok := kernels.Lookup("generic")
	fmt.Println(im, ok)
	_, ok = kernels.Lookup("no-such-cpu")
	fmt.Println(ok)
	// The same names, set in this environment variable, choose the
	// implementation of the package-level functions at start-up.
	fmt.Println(kernels.EnvVar)
	// Output:
	// generic true
	// false
	// SOFTMAX_IMPL
}

func ExampleImplementation() {
	// Every implementation returns the same bits: check it on a row.
	x := []float32{0.1, -3, 7.5, 2, 1e-3}
	var first []float32
	same := true
	for _, im := range kernels.Implementations() {
		y := make([]float32, len(x))
		im.Softmax(y, x)
		if first == nil {
			first = y
		}
		for i := range y {
			if math.Float32bits(y[i]) != math.Float32bits(first[i]) {
				same = false
			}
		}
	}
	fmt.Println("same bits on every implementation:", same)
	// Output: same bits on every implementation: true
}

func ExampleImplementation_Name() {
	im, _ := kernels.Lookup("generic")
	fmt.Println(im.Name())
	// Output: generic
}

func ExampleImplementation_String() {
	// An Implementation prints as its name.
	im, _ := kernels.Lookup("generic")
	fmt.Printf("running %v\n", im)
	// Output: running generic
}

func ExampleImplementation_Softmax() {
	// Methods run the kernels of one implementation, whatever Default is.
	im, _ := kernels.Lookup("generic")
	y := make([]float32, 3)
	im.Softmax(y, []float32{0, 1, 2})
	fmt.Printf("%.4f\n", y)
	// Output: [0.0900 0.2447 0.6652]
}

func ExampleImplementation_CrossEntropyRows() {
	// The mean loss of a batch, to the last bit, on every implementation.
	logits := []float32{2, 1, 0.1, 0, 0, 0}
	targets := []int32{0, 2}
	generic, _ := kernels.Lookup("generic")
	want := generic.CrossEntropyRows(nil, logits, targets, 3)
	for _, im := range kernels.Implementations() {
		if loss := im.CrossEntropyRows(nil, logits, targets, 3); loss != want {
			fmt.Println(im, "differs:", loss)
		}
	}
	fmt.Printf("%.4f (bits %#08x)\n", want, math.Float32bits(want))
	// Output: 0.7578 (bits 0x3f420091)
}

func ExampleImplementation_SoftmaxRows() {
	// The best implementation this CPU runs, whatever $SOFTMAX_IMPL says.
	best := kernels.Implementations()[0]
	x := []float32{1, 1, 0, 10}
	best.SoftmaxRows(x, x, 2)
	fmt.Printf("%.4f\n", x)
	// Output: [0.5000 0.5000 0.0000 1.0000]
}

func ExampleImplementation_LogSoftmax() {
	im, _ := kernels.Lookup("generic")
	y := make([]float32, 3)
	im.LogSoftmax(y, []float32{5, 5, float32(math.Inf(-1))})
	fmt.Printf("%.4f\n", y)
	// Output: [-0.6931 -0.6931 -Inf]
}

func ExampleImplementation_LogSoftmaxRows() {
	// A fully masked row: all -Inf in, all -Inf out.
	inf := float32(math.Inf(-1))
	x := []float32{0, 0, inf, inf}
	kernels.Default().LogSoftmaxRows(x, x, 2)
	fmt.Println(x)
	// Output: [-0.6931472 -0.6931472 -Inf -Inf]
}

func ExampleImplementation_LogSumExp() {
	im, _ := kernels.Lookup("generic")
	fmt.Printf("%.4f\n", im.LogSumExp([]float32{0, 0, 0, 0})) // ln 4
	// Output: 1.3863
}

func ExampleImplementation_SoftmaxBackward() {
	// With dy = y, dx = y*(y - <y,y>): here zero for a uniform y.
	y := []float32{0.5, 0.5}
	dx := make([]float32, 2)
	kernels.Default().SoftmaxBackward(dx, y, y)
	fmt.Println(dx)
	// Output: [0 0]
}

func ExampleImplementation_LogSoftmaxBackward() {
	// dy sums to 0, so dx = dy whatever y is.
	y := []float32{-0.1, -2.4}
	dy := []float32{0.25, -0.25}
	im, _ := kernels.Lookup("generic")
	im.LogSoftmaxBackward(dy, y, dy) // in place
	fmt.Println(dy)
	// Output: [0.25 -0.25]
}

func ExampleImplementation_SoftmaxBackwardRows() {
	// Two rows of softmax outputs y and their gradients dy, in one call.
	y := []float32{
		0.1, 0.2, 0.3, 0.4,
		0.25, 0.25, 0.25, 0.25,
	}
	dy := []float32{
		1, 0, 0, 0,
		0.5, -0.5, 1, 0,
	}
	dx := make([]float32, len(y))
	kernels.Default().SoftmaxBackwardRows(dx, y, dy, 4)
	fmt.Printf("%.4f %.4f\n", dx[:4], dx[4:])
	// Output: [0.0900 -0.0200 -0.0300 -0.0400] [0.0625 -0.1875 0.1875 -0.0625]
}

func ExampleImplementation_LogSoftmaxBackwardRows() {
	// Two rows of log-probabilities; dy is the gradient of -log p[target]
	// for targets 3 and 0, so dx = p - onehot(target).
	y := make([]float32, 8)
	for i, p := range []float64{0.1, 0.2, 0.3, 0.4, 0.25, 0.25, 0.25, 0.25} {
		y[i] = float32(math.Log(p))
	}
	dy := []float32{
		0, 0, 0, -1,
		-1, 0, 0, 0,
	}
	im, _ := kernels.Lookup("generic")
	im.LogSoftmaxBackwardRows(dy, y, dy, 4) // in place
	fmt.Printf("%.4f %.4f\n", dy[:4], dy[4:])
	// Output: [0.1000 0.2000 0.3000 -0.6000] [-0.7500 0.2500 0.2500 0.2500]
}

func ExampleImplementation_CrossEntropy() {
	// The gradient of the loss is softmax(logits) - onehot(target).
	grad := make([]float32, 2)
	loss := kernels.Implementations()[0].CrossEntropy(grad, []float32{0, 0}, 1)
	fmt.Printf("loss %.4f grad %v\n", loss, grad)
	// Output: loss 0.6931 grad [0.5 -0.5]
}

func ExampleImplementation_Exp() {
	im, _ := kernels.Lookup("generic")
	x := []float32{0, float32(math.Ln2), -100, 89}
	im.Exp(x, x)
	fmt.Println(x) // exp(-100) is a float32 subnormal; exp(89) overflows
	// Output: [1 2 3.8e-44 +Inf]
}
