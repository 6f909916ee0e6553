module github.com/go-softmax/softmax

go 1.22
