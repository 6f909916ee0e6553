package main

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"math"
	"os"
	"slices"
)

var (
	white    = color.RGBA{255, 255, 255, 255}
	ink      = color.RGBA{40, 40, 40, 255}
	gridGray = color.RGBA{225, 225, 225, 255}
	blue     = color.RGBA{31, 119, 180, 255} // training set
	orange   = color.RGBA{230, 110, 0, 255}  // test set
	red      = color.RGBA{214, 39, 40, 255}  // a wrong prediction
)

// fill paints the rectangle r of img with c.
func fill(img *image.RGBA, r image.Rectangle, c color.RGBA) {
	draw.Draw(img, r, &image.Uniform{c}, image.Point{}, draw.Src)
}

// frame draws the outline of r, width pixels wide, inside r.
func frame(img *image.RGBA, r image.Rectangle, width int, c color.RGBA) {
	fill(img, image.Rect(r.Min.X, r.Min.Y, r.Max.X, r.Min.Y+width), c)
	fill(img, image.Rect(r.Min.X, r.Max.Y-width, r.Max.X, r.Max.Y), c)
	fill(img, image.Rect(r.Min.X, r.Min.Y, r.Min.X+width, r.Max.Y), c)
	fill(img, image.Rect(r.Max.X-width, r.Min.Y, r.Max.X, r.Max.Y), c)
}

// line draws a line two pixels thick from (x0, y0) to (x1, y1).
func line(img *image.RGBA, x0, y0, x1, y1 int, c color.RGBA) {
	steps := max(abs(x1-x0), abs(y1-y0), 1)
	for i := 0; i <= steps; i++ {
		x := x0 + (x1-x0)*i/steps
		y := y0 + (y1-y0)*i/steps
		fill(img, image.Rect(x-1, y-1, x+1, y+1), c)
	}
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// savePNG writes img to path.
func savePNG(path string, img image.Image) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := png.Encode(f, img); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// A series is one curve of a chart: y[i] is its value after epoch i+1.
type series struct {
	name  string
	color color.RGBA
	y     []float64
}

// chart draws a line chart of the series into area of img, with a title,
// a y axis from ymin to ymax and an x axis counting epochs.
func chart(img *image.RGBA, area image.Rectangle, title string, ymin, ymax float64, yfmt string, ss ...series) {
	const left, right, top, bottom = 52, 14, 34, 40
	plot := image.Rect(area.Min.X+left, area.Min.Y+top, area.Max.X-right, area.Max.Y-bottom)
	drawText(img, area.Min.X+(area.Dx()-textWidth(title, 2))/2, area.Min.Y+6, title, ink, 2)

	epochs := len(ss[0].y)
	px := func(epoch int) int { // epoch 1..epochs
		return plot.Min.X + (epoch-1)*plot.Dx()/max(epochs-1, 1)
	}
	py := func(v float64) int {
		f := (v - ymin) / (ymax - ymin)
		return plot.Max.Y - int(math.Round(f*float64(plot.Dy())))
	}

	// Horizontal grid lines with their values, then epoch ticks.
	const yticks = 5
	for i := 0; i <= yticks; i++ {
		v := ymin + (ymax-ymin)*float64(i)/yticks
		y := py(v)
		fill(img, image.Rect(plot.Min.X, y, plot.Max.X, y+1), gridGray)
		label := fmt.Sprintf(yfmt, v)
		drawText(img, plot.Min.X-8-textWidth(label, 1), y-3, label, ink, 1)
	}
	step := max(1, epochs/6)
	for e := 1; e <= epochs; e++ {
		if e != 1 && e%step != 0 {
			continue
		}
		x := px(e)
		fill(img, image.Rect(x, plot.Max.Y, x+1, plot.Max.Y+5), ink)
		label := fmt.Sprint(e)
		drawText(img, x-textWidth(label, 1)/2, plot.Max.Y+9, label, ink, 1)
	}
	drawText(img, plot.Min.X+(plot.Dx()-textWidth("epoch", 1))/2, plot.Max.Y+24, "epoch", ink, 1)
	fill(img, image.Rect(plot.Min.X, plot.Min.Y, plot.Min.X+1, plot.Max.Y+1), ink)
	fill(img, image.Rect(plot.Min.X, plot.Max.Y, plot.Max.X, plot.Max.Y+1), ink)

	// The curves, and a legend in the top right corner.
	for i, s := range ss {
		for e := 2; e <= len(s.y); e++ {
			line(img, px(e-1), py(s.y[e-2]), px(e), py(s.y[e-1]), s.color)
		}
		lx, ly := plot.Max.X-90, plot.Min.Y+10+14*i
		fill(img, image.Rect(lx, ly+2, lx+20, ly+5), s.color)
		drawText(img, lx+26, ly, s.name, ink, 1)
	}
}

// writeCurves draws the loss and the accuracy per epoch, on the training
// and the test set, side by side, into a PNG at path.
func writeCurves(path string, history []epochStats) error {
	img := image.NewRGBA(image.Rect(0, 0, 880, 360))
	fill(img, img.Bounds(), white)
	var trainLoss, testLoss, trainAcc, testAcc []float64
	for _, h := range history {
		trainLoss = append(trainLoss, h.trainLoss)
		testLoss = append(testLoss, h.testLoss)
		trainAcc = append(trainAcc, h.trainAcc)
		testAcc = append(testAcc, h.testAcc)
	}
	// The loss axis starts at 0 and ends at the next tenth above the
	// largest loss; the accuracy axis ends at 1 and starts at the tenth
	// below the smallest accuracy.
	top := math.Ceil(10*max(slices.Max(trainLoss), slices.Max(testLoss))) / 10
	bottom := math.Floor(10*min(slices.Min(trainAcc), slices.Min(testAcc))) / 10
	chart(img, image.Rect(0, 0, 440, 360), "loss", 0, top, "%.2f",
		series{"train", blue, trainLoss}, series{"test", orange, testLoss})
	chart(img, image.Rect(440, 0, 880, 360), "accuracy", bottom, 1, "%.2f",
		series{"train", blue, trainAcc}, series{"test", orange, testAcc})
	return savePNG(path, img)
}

// writeDigits draws the first cols*rows images of d in a grid, each
// labelled with its predicted class; a wrong prediction gets a red frame
// and a red label "predicted(true)". It writes the PNG to path.
func writeDigits(path string, d *dataset, pred []int32, cols, rows int) error {
	const (
		zoom   = 5            // screen pixels per image pixel
		imgPx  = side * zoom  // an image's width and height
		cellW  = imgPx + 16   // image and gap
		cellH  = imgPx + 32   // image, label and gap
		margin = 16           // around the grid
		header = 2*glyphH + 6 // the title, at scale 2, and a gap
	)
	n := min(cols*rows, d.len())
	img := image.NewRGBA(image.Rect(0, 0, 2*margin+cols*cellW, 2*margin+header+rows*cellH))
	fill(img, img.Bounds(), white)
	title := "test digits: predicted (true)"
	drawText(img, (img.Bounds().Dx()-textWidth(title, 2))/2, margin-4, title, ink, 2)
	for i := 0; i < n; i++ {
		x0 := margin + (i%cols)*cellW + (cellW-imgPx)/2
		y0 := margin + header + (i/cols)*cellH + 4
		for p, v := range d.row(i) {
			g := uint8(255 - math.Round(float64(v)*215)) // ink on paper
			px, py := x0+(p%side)*zoom, y0+(p/side)*zoom
			fill(img, image.Rect(px, py, px+zoom, py+zoom), color.RGBA{g, g, g, 255})
		}
		label, c := fmt.Sprint(pred[i]), ink
		if pred[i] != d.y[i] {
			label, c = fmt.Sprintf("%d(%d)", pred[i], d.y[i]), red
			frame(img, image.Rect(x0-3, y0-3, x0+imgPx+3, y0+imgPx+3), 2, red)
		}
		drawText(img, x0+(imgPx-textWidth(label, 2))/2, y0+imgPx+6, label, c, 2)
	}
	return savePNG(path, img)
}
