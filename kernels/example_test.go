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
