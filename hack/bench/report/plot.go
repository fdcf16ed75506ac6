package main

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"math"
	"os"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// A small line plot drawn with image/png: enough for a few series against
// pod count, no plotting library needed.

type series struct {
	name   string
	col    color.RGBA
	xs, ys []float64
	dashed bool // a target or reference line
	marker bool // points only (a single reference value)
}

type panel struct {
	title, xlabel, ylabel string
	series                []series
}

var (
	black      = color.RGBA{0, 0, 0, 255}
	grey       = color.RGBA{210, 210, 210, 255}
	blue       = color.RGBA{31, 119, 180, 255}
	green      = color.RGBA{44, 160, 44, 255}
	orange     = color.RGBA{255, 127, 14, 255}
	red        = color.RGBA{214, 39, 40, 255}
	purple     = color.RGBA{148, 103, 189, 255}
	lightBlue  = color.RGBA{140, 190, 230, 255}
	lightGreen = color.RGBA{150, 215, 150, 255}
)

func writePNG(path string, panels []panel) error {
	const pw, ph = 560, 540
	img := image.NewRGBA(image.Rect(0, 0, pw*len(panels), ph))
	draw.Draw(img, img.Bounds(), image.White, image.Point{}, draw.Src)
	for i, p := range panels {
		drawPanel(img, image.Rect(i*pw, 0, (i+1)*pw, ph), p)
	}
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

func drawPanel(img *image.RGBA, r image.Rectangle, p panel) {
	plot := image.Rect(r.Min.X+70, r.Min.Y+40, r.Max.X-20, r.Max.Y-200)
	xmax, ymax := 0.0, 0.0
	for _, s := range p.series {
		for i := range s.xs {
			xmax, ymax = math.Max(xmax, s.xs[i]), math.Max(ymax, s.ys[i])
		}
	}
	xmax, ymax = niceCeil(xmax), niceCeil(ymax*1.05)
	px := func(x float64) int { return plot.Min.X + int(x/xmax*float64(plot.Dx())) }
	py := func(y float64) int { return plot.Max.Y - int(y/ymax*float64(plot.Dy())) }
	// Grid and ticks.
	for i := 0; i <= 5; i++ {
		x, y := xmax*float64(i)/5, ymax*float64(i)/5
		vline(img, px(x), plot.Min.Y, plot.Max.Y, grey)
		hline(img, plot.Min.X, plot.Max.X, py(y), grey)
		text(img, px(x)-tw(num(x))/2, plot.Max.Y+16, num(x), black)
		text(img, plot.Min.X-8-tw(num(y)), py(y)+4, num(y), black)
	}
	hline(img, plot.Min.X, plot.Max.X, plot.Max.Y, black)
	vline(img, plot.Min.X, plot.Min.Y, plot.Max.Y, black)
	text(img, r.Min.X+(r.Dx()-tw(p.title))/2, r.Min.Y+20, p.title, black)
	text(img, plot.Min.X+(plot.Dx()-tw(p.xlabel))/2, plot.Max.Y+34, p.xlabel, black)
	text(img, r.Min.X+6, plot.Min.Y-10, p.ylabel, black)
	for _, s := range p.series {
		for i := range s.xs {
			if s.marker {
				for dx := -4; dx <= 4; dx++ {
					for dy := -4; dy <= 4; dy++ {
						if abs(dx)+abs(dy) <= 5 {
							img.Set(px(s.xs[i])+dx, py(s.ys[i])+dy, s.col)
						}
					}
				}
				continue
			}
			for dx := -2; dx <= 2 && !s.dashed; dx++ {
				for dy := -2; dy <= 2; dy++ {
					img.Set(px(s.xs[i])+dx, py(s.ys[i])+dy, s.col)
				}
			}
			if i > 0 {
				line(img, px(s.xs[i-1]), py(s.ys[i-1]), px(s.xs[i]), py(s.ys[i]), s.col, s.dashed)
			}
		}
	}
	// Legend under the plot.
	y := plot.Max.Y + 56
	for _, s := range p.series {
		if s.name == "" {
			continue
		}
		x := plot.Min.X
		if s.marker {
			for dx := 8; dx <= 16; dx++ {
				for dy := -4; dy <= 4; dy++ {
					img.Set(x+dx, y-4+dy, s.col)
				}
			}
		} else {
			line(img, x, y-4, x+24, y-4, s.col, s.dashed)
			line(img, x, y-3, x+24, y-3, s.col, s.dashed)
		}
		text(img, x+32, y, s.name, black)
		y += 16
	}
}

func line(img *image.RGBA, x0, y0, x1, y1 int, c color.RGBA, dashed bool) {
	dx, dy := abs(x1-x0), -abs(y1-y0)
	sx, sy := sign(x1-x0), sign(y1-y0)
	e := dx + dy
	for n := 0; ; n++ {
		if !dashed || (n/6)%2 == 0 {
			img.Set(x0, y0, c)
			img.Set(x0, y0+1, c)
			img.Set(x0+1, y0, c)
		}
		if x0 == x1 && y0 == y1 {
			return
		}
		e2 := 2 * e
		if e2 >= dy {
			e += dy
			x0 += sx
		}
		if e2 <= dx {
			e += dx
			y0 += sy
		}
	}
}

func hline(img *image.RGBA, x0, x1, y int, c color.RGBA) {
	for x := x0; x <= x1; x++ {
		img.Set(x, y, c)
	}
}

func vline(img *image.RGBA, x, y0, y1 int, c color.RGBA) {
	for y := y0; y <= y1; y++ {
		img.Set(x, y, c)
	}
}

func text(img *image.RGBA, x, y int, s string, c color.RGBA) {
	d := font.Drawer{Dst: img, Src: image.NewUniform(c), Face: basicfont.Face7x13, Dot: fixed.P(x, y)}
	d.DrawString(s)
}

func tw(s string) int { return 7 * len(s) }

func num(v float64) string {
	if v >= 1000 && math.Mod(v, 1000) == 0 {
		return fmt.Sprintf("%gk", v/1000)
	}
	return fmt.Sprintf("%g", math.Round(v*10)/10)
}

// niceCeil rounds v up to 1, 2 or 5 times a power of ten (5 grid steps).
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

func sign(x int) int {
	switch {
	case x < 0:
		return -1
	case x > 0:
		return 1
	}
	return 0
}
