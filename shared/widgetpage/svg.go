package widgetpage

import (
	"fmt"
	"html"
	"math"
	"strconv"
	"strings"
)

// The charts are drawn by this small SVG renderer rather than a chart library. Three shapes
// cover every widget (bars over days, labelled horizontal bars, a 7×24 heat map), and owning
// them buys what the embed needs and the libraries do not give: no inline style attributes (a
// strict style-src CSP), colours from CSS classes (light and dark follow prefers-color-scheme
// and ?theme=), a <title> and <desc> with role="img" for screen readers, a native <title>
// tooltip on every bar and cell (hover without JavaScript), and about 0.05 ms and a few KB a
// chart. go-analyze/charts, the maintained option (reference/analytics.md §4), writes inline
// styles, has no title/desc, needs a newer toolchain policy (0.x, minor = breaking) and takes
// ~0.4 ms a chart.

// Point is one bar: its label, value and the tooltip text.
type Point struct {
	Label string
	Value float64
	Tip   string
}

func esc(s string) string { return html.EscapeString(s) }

func num(v float64) string { return strconv.FormatFloat(math.Round(v*10)/10, 'f', -1, 64) }

// open writes the svg element with its accessible name and description.
func open(b *strings.Builder, id string, w, h int, title, desc string) {
	fmt.Fprintf(b, `<svg class="chart" viewBox="0 0 %d %d" role="img" aria-labelledby="%s-t %s-d" preserveAspectRatio="xMidYMid meet">`, w, h, id, id)
	fmt.Fprintf(b, `<title id="%s-t">%s</title><desc id="%s-d">%s</desc>`, id, esc(title), id, esc(desc))
}

// niceMax rounds m up to 1, 2 or 5 times a power of ten (at least 1).
func niceMax(m float64) float64 {
	if m <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(m)))
	for _, f := range []float64{1, 2, 5, 10} {
		if f*p >= m {
			return f * p
		}
	}
	return 10 * p
}

// DayBars draws one vertical bar per point (a time series of days), with a value axis and
// the first, middle and last labels.
func DayBars(id, title, desc string, pts []Point) string {
	const W, H, left, bottom, top = 640, 240, 44, 24, 10
	var b strings.Builder
	open(&b, id, W, H, title, desc)
	mx := 0.0
	for _, p := range pts {
		mx = max(mx, p.Value)
	}
	mx = niceMax(mx)
	plotH := float64(H - bottom - top)
	for _, f := range []float64{0, 0.5, 1} {
		y := float64(top) + plotH*(1-f)
		fmt.Fprintf(&b, `<line class="grid" x1="%d" x2="%d" y1="%s" y2="%s"/>`, left, W, num(y), num(y))
		fmt.Fprintf(&b, `<text class="axis" x="%d" y="%s" text-anchor="end">%s</text>`, left-6, num(y+4), num(mx*f))
	}
	if n := len(pts); n > 0 {
		step := float64(W-left) / float64(n)
		bw := max(step*0.8, 0.5)
		for i, p := range pts {
			h := plotH * p.Value / mx
			x := float64(left) + float64(i)*step + (step-bw)/2
			fmt.Fprintf(&b, `<rect class="bar" x="%s" y="%s" width="%s" height="%s"><title>%s</title></rect>`,
				num(x), num(float64(top)+plotH-h), num(bw), num(h), esc(p.Tip))
		}
		for _, i := range uniq(0, n/2, n-1) {
			x := float64(left) + (float64(i)+0.5)*step
			anchor := "middle"
			if i == 0 && n > 1 {
				anchor = "start"
				x = float64(left)
			} else if i == n-1 && n > 1 {
				anchor = "end"
				x = W
			}
			fmt.Fprintf(&b, `<text class="axis" x="%s" y="%d" text-anchor="%s">%s</text>`, num(x), H-6, anchor, esc(pts[i].Label))
		}
	}
	b.WriteString(`</svg>`)
	return b.String()
}

func uniq(xs ...int) []int {
	var out []int
	for _, x := range xs {
		if len(out) == 0 || out[len(out)-1] != x {
			out = append(out, x)
		}
	}
	return out
}

// HBars draws one labelled horizontal bar per point, the value's text at its end.
func HBars(id, title, desc string, pts []Point, text func(Point) string) string {
	const W, row, label, pad = 480, 30, 150, 8
	H := max(len(pts), 1)*row + 2*pad
	var b strings.Builder
	open(&b, id, W, H, title, desc)
	mx := 0.0
	for _, p := range pts {
		mx = max(mx, p.Value)
	}
	if mx <= 0 {
		mx = 1
	}
	plotW := float64(W - label - 80)
	for i, p := range pts {
		y := pad + i*row
		w := plotW * p.Value / mx
		fmt.Fprintf(&b, `<text class="lbl" x="%d" y="%d" text-anchor="end">%s</text>`, label-8, y+row/2+5, esc(trunc(p.Label, 20)))
		fmt.Fprintf(&b, `<rect class="bar" x="%d" y="%d" width="%s" height="%d"><title>%s</title></rect>`, label, y+4, num(w), row-8, esc(p.Tip))
		fmt.Fprintf(&b, `<text class="val" x="%s" y="%d">%s</text>`, num(float64(label)+w+6), y+row/2+5, esc(text(p)))
	}
	if len(pts) == 0 {
		fmt.Fprintf(&b, `<text class="lbl" x="%d" y="%d" text-anchor="middle">No data in this range</text>`, W/2, pad+row/2+5)
	}
	b.WriteString(`</svg>`)
	return b.String()
}

func trunc(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// Weekdays are the heat map's rows, Monday first.
var Weekdays = []string{"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"}

// Heatmap draws a 7×24 grid (weekday × local hour); a cell's opacity is its value over the
// largest, a nil cell is hatched as "no such weekday in range".
func Heatmap(id, title, desc string, cells [][]*float64) string {
	const W, H, left, top, cw, ch = 640, 232, 40, 8, 24, 28
	var b strings.Builder
	open(&b, id, W, H, title, desc)
	mx := 0.0
	for _, r := range cells {
		for _, c := range r {
			if c != nil {
				mx = max(mx, *c)
			}
		}
	}
	for d, r := range cells {
		if d >= 7 {
			break
		}
		y := top + d*ch
		fmt.Fprintf(&b, `<text class="axis" x="%d" y="%d" text-anchor="end">%s</text>`, left-6, y+ch/2+4, Weekdays[d])
		for h, c := range r {
			x := left + h*cw
			if c == nil {
				fmt.Fprintf(&b, `<rect class="cell none" x="%d" y="%d" width="%d" height="%d"><title>%s %02d:00: no %s in range</title></rect>`, x, y, cw-2, ch-2, Weekdays[d], h, Weekdays[d])
				continue
			}
			op := 0.06
			if mx > 0 {
				op = 0.06 + 0.94**c/mx
			}
			fmt.Fprintf(&b, `<rect class="cell" x="%d" y="%d" width="%d" height="%d" fill-opacity="%s"><title>%s %02d:00: %s on average</title></rect>`,
				x, y, cw-2, ch-2, strconv.FormatFloat(op, 'f', 2, 64), Weekdays[d], h, num(*c))
		}
	}
	for h := 0; h < 24; h += 3 {
		fmt.Fprintf(&b, `<text class="axis" x="%d" y="%d" text-anchor="middle">%02d</text>`, left+h*cw+cw/2, top+7*ch+16, h)
	}
	b.WriteString(`</svg>`)
	return b.String()
}
