package main

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"time"
)

// series is one implementation's line in the chart.
type series struct {
	impl string
	rank int
	x    []int // indexes into the x categories
	y    []float64
}

var seriesColors = []string{"#d62728", "#ff7f0e", "#1f77b4", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"}

// writeSVG draws the live-stack case (round-trip ns/op against live stack
// size, one line per implementation) as a plain SVG line chart. The x axis
// is categorical: one tick per measured size. Only lines are <path>
// elements: one per implementation.
func writeSVG(w io.Writer, rows []Row, m *meta) error {
	return drawChart(w, m, chartOf(rows, func(r *Row) (int, bool) { return r.StackBytes, r.Kind == kindLiveStack }),
		fmt.Sprintf("aco %s: resume+yield round trip vs live stack size (%d cos, round robin)", m.Version, m.StackCos),
		"round trip vs live stack size", "live stack at the yield (bytes; categorical axis)", "ns per round trip", "B")
}

// writeDepthSVG draws the tree-walk workload: ns per pulled value against
// the depth of the tree (2^depth distinct call paths to the yield), one
// line per implementation.
func writeDepthSVG(w io.Writer, rows []Row, m *meta) error {
	return drawChart(w, m, chartOf(rows, func(r *Row) (int, bool) { return r.Depth, r.Kind == kindWorkload && r.Depth > 0 }),
		fmt.Sprintf("aco %s: recursive generator (binary tree in-order walk) vs depth", m.Version),
		"tree walk vs depth", "depth of the tree (2^depth call paths to the yield; categorical axis)", "ns per pulled value", "")
}

// chart is what drawChart draws: categorical x values and one series per
// implementation.
type chart struct {
	xs   []int
	ss   []*series
	maxY float64
}

// chartOf collects the rows that pick accepts, at the x it returns.
func chartOf(rows []Row, pick func(r *Row) (int, bool)) chart {
	var c chart
	for i := range rows {
		if x, ok := pick(&rows[i]); ok && rows[i].Note == "" && !slices.Contains(c.xs, x) {
			c.xs = append(c.xs, x)
		}
	}
	slices.Sort(c.xs)
	byImpl := map[string]*series{}
	for i := range rows {
		r := &rows[i]
		x, ok := pick(r)
		if !ok || r.Note != "" || r.Ops == 0 {
			continue
		}
		s := byImpl[r.Impl]
		if s == nil {
			s = &series{impl: r.Impl, rank: r.Rank}
			byImpl[r.Impl] = s
			c.ss = append(c.ss, s)
		}
		s.x = append(s.x, slices.Index(c.xs, x))
		s.y = append(s.y, r.NsPerOp())
		c.maxY = max(c.maxY, r.NsPerOp())
	}
	slices.SortStableFunc(c.ss, func(a, b *series) int { return a.rank - b.rank })
	return c
}

func drawChart(w io.Writer, m *meta, c chart, title, short, xLabel, yLabel, unit string) error {
	sizes, ss, maxY := c.xs, c.ss, c.maxY
	const (
		width, height          = 960, 540
		left, right, top, bott = 80, 720, 90, 460
	)
	step := niceStep(maxY / 5)
	yMax := step * math.Ceil(maxY/step)
	if yMax <= 0 {
		yMax, step = 1, 0.2
	}
	xAt := func(i int) float64 {
		return left + (float64(i)+0.5)*float64(right-left)/float64(max(len(sizes), 1))
	}
	yAt := func(v float64) float64 { return bott - v/yMax*(bott-top) }

	var b bytes.Buffer
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n",
		width, height, width, height)
	fmt.Fprintf(&b, "<title>%s</title>\n", esc(fmt.Sprintf("aco %s %s, %s %s/%s, engine %s, %s, CPU %s, %s",
		m.Version, short, m.GoVersion, m.GOOS, m.GOARCH, m.Engine, m.FPU, m.CPU, m.Date.UTC().Format(time.RFC3339))))
	fmt.Fprintf(&b, `<rect x="0" y="0" width="%d" height="%d" fill="white"/>`+"\n", width, height)
	text := func(x, y float64, anchor, extra, s string) {
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="%s"%s>%s</text>`+"\n", x, y, anchor, extra, esc(s))
	}
	text(width/2, 28, "middle", ` font-size="17" font-weight="bold"`, title)
	text(width/2, 50, "middle", "", fmt.Sprintf("%s %s/%s, engine %s, %s, CPU %s", m.GoVersion, m.GOOS, m.GOARCH, m.Engine, m.FPU, m.CPU))
	text(width/2, 68, "middle", "", m.Date.UTC().Format("Mon Jan 2 15:04:05 UTC 2006"))

	// Grid and y ticks.
	for v := 0.0; v <= yMax+step/2; v += step {
		y := yAt(v)
		fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#ddd"/>`+"\n", left, y, right, y)
		text(left-6, y+4, "end", "", trimFloat(v))
	}
	// Axes.
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>`+"\n", left, bott, right, bott)
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>`+"\n", left, top, left, bott)
	for i, s := range sizes {
		x := xAt(i)
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="black"/>`+"\n", x, bott, x, bott+5)
		text(x, bott+19, "middle", "", fmt.Sprint(s))
	}
	text((left+right)/2, bott+44, "middle", "", xLabel)
	text(22, (top+bott)/2, "middle", fmt.Sprintf(` transform="rotate(-90 22 %d)"`, (top+bott)/2), yLabel)

	// Lines, points and legend.
	for i, s := range ss {
		color := seriesColors[i%len(seriesColors)]
		dash := ""
		if s.rank%2 == 1 {
			dash = ` stroke-dasharray="6 4"`
		}
		var d strings.Builder
		for j := range s.x {
			cmd := "L"
			if j == 0 {
				cmd = "M"
			}
			fmt.Fprintf(&d, "%s%.1f %.1f ", cmd, xAt(s.x[j]), yAt(s.y[j]))
		}
		fmt.Fprintf(&b, `<path d="%s" fill="none" stroke="%s" stroke-width="2"%s/>`+"\n", strings.TrimSpace(d.String()), color, dash)
		for j := range s.x {
			fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="3" fill="%s"><title>%s, %d%s: %.2f ns/op</title></circle>`+"\n",
				xAt(s.x[j]), yAt(s.y[j]), color, esc(s.impl), sizes[s.x[j]], unit, s.y[j])
		}
		ly := float64(top + 10 + 22*i)
		fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="%s" stroke-width="2"%s/>`+"\n", right+20, ly, right+50, ly, color, dash)
		text(right+58, ly+4, "start", "", s.impl)
	}
	b.WriteString("</svg>\n")
	_, err := w.Write(b.Bytes())
	return err
}

// niceStep rounds v up to 1, 2 or 5 times a power of ten.
func niceStep(v float64) float64 {
	if v <= 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, f := range []float64{1, 2, 5, 10} {
		if f*p >= v {
			return f * p
		}
	}
	return 10 * p
}

func trimFloat(v float64) string {
	s := fmt.Sprintf("%.3f", v)
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}

func esc(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(s))
	return b.String()
}
