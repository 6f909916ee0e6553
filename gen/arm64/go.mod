module github.com/go-softmax/softmax/gen/arm64

go 1.22
