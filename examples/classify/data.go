package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	_ "embed"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
)

const (
	side     = 8           // the images are side x side pixels
	features = side * side // one input per pixel
	classes  = 10          // the digits 0-9
)

// digitsCSV is the data set, 1797 lines of 64 pixel values (0..16) and a
// label; testdata/README.md says where it comes from.
//
//go:embed testdata/digits.csv.gz
var digitsCSV []byte

// dataset holds images as rows of features float32 pixels in [0, 1] and
// their labels.
type dataset struct {
	x []float32 // len(y) rows of features values
	y []int32   // the digit each row shows
}

// len returns the number of images.
func (d *dataset) len() int { return len(d.y) }

// row returns image i.
func (d *dataset) row(i int) []float32 { return d.x[i*features : (i+1)*features] }

// loadDigits decodes the embedded data set.
func loadDigits() (*dataset, error) {
	zr, err := gzip.NewReader(bytes.NewReader(digitsCSV))
	if err != nil {
		return nil, err
	}
	d := &dataset{}
	sc := bufio.NewScanner(zr)
	for line := 1; sc.Scan(); line++ {
		fields := strings.Split(sc.Text(), ",")
		if len(fields) != features+1 {
			return nil, fmt.Errorf("digits line %d: %d fields, want %d", line, len(fields), features+1)
		}
		for i, f := range fields {
			v, err := strconv.Atoi(f)
			if err != nil {
				return nil, fmt.Errorf("digits line %d: %v", line, err)
			}
			if i == features {
				if v < 0 || v >= classes {
					return nil, fmt.Errorf("digits line %d: label %d", line, v)
				}
				d.y = append(d.y, int32(v))
			} else {
				d.x = append(d.x, float32(v)/16)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return d, zr.Close()
}

// split shuffles the images with rng and returns the first testFrac of
// them as the test set and the rest as the training set.
func (d *dataset) split(rng *rand.Rand, testFrac float64) (train, test *dataset) {
	perm := rng.Perm(d.len())
	nTest := int(testFrac * float64(d.len()))
	return d.subset(perm[nTest:]), d.subset(perm[:nTest])
}

// subset returns the images at the given indices, in that order.
func (d *dataset) subset(idx []int) *dataset {
	s := &dataset{x: make([]float32, 0, len(idx)*features), y: make([]int32, 0, len(idx))}
	for _, i := range idx {
		s.x = append(s.x, d.row(i)...)
		s.y = append(s.y, d.y[i])
	}
	return s
}
