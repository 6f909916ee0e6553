module github.com/go-softmax/softmax

go 1.22

require (
	github.com/klauspost/cpuid/v2 v2.0.6
	golang.org/x/sys v0.1.0
)
