package main

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"

	"github.com/sluicelog/sluice/bench/perf"
)

// series is one system's bars in a grouped bar chart.
type series struct {
	name   string
	values []float64 // NaN where the system did not run
}

// barChart draws grouped bars: one group per x label, one bar per series.
func barChart(path, title, ylabel string, xs []string, ss []series) error {
	p := plot.New()
	p.Title.Text = title
	p.Y.Label.Text = ylabel
	p.Legend.Top = true
	p.Legend.Left = true
	// Each group gets one unit of the x axis; its bars fill 80% of it
	// (about 480 points of the 560-point-wide chart are data area).
	width := vg.Points(0.8 * 480 / float64(len(xs)*len(ss)))
	for i, s := range ss {
		vals := make(plotter.Values, len(s.values))
		for j, v := range s.values {
			switch {
			case math.IsNaN(v) || v <= 0:
				vals[j] = 0
			default:
				vals[j] = v
			}
		}
		b, err := plotter.NewBarChart(vals, width)
		if err != nil {
			return fmt.Errorf("chart %s: %w", title, err)
		}
		b.Color = plotutil.Color(i)
		b.LineStyle.Width = 0
		b.Offset = vg.Length(float64(i)-float64(len(ss)-1)/2) * width
		p.Add(b)
		p.Legend.Add(s.name, b)
	}
	p.NominalX(xs...)
	p.X.Min, p.X.Max = -0.5, float64(len(xs))-0.5
	p.Y.Min = 0
	_, hi := p.Y.Min, p.Y.Max
	p.Y.Max = hi * 1.45 // room for the legend
	return savePlot(p, path)
}

// savePlot writes a plot as SVG (by the file's extension).
func savePlot(p *plot.Plot, path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	if err := p.Save(vg.Points(560), vg.Points(320), path); err != nil {
		return fmt.Errorf("chart %s: %w", path, err)
	}
	return nil
}

// percentileChart draws one line per series over the percentiles xs, on a
// logarithmic latency axis; missing or zero values are left out.
func percentileChart(path, title string, xs []string, ss []series) error {
	p := plot.New()
	p.Title.Text = title
	p.Y.Label.Text = "ms (log scale)"
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	p.Legend.Top = true
	p.Legend.Left = true
	lo, hi := math.Inf(1), 0.0
	for i, s := range ss {
		var pts plotter.XYs
		for j, v := range s.values {
			if v > 0 && !math.IsNaN(v) {
				pts = append(pts, plotter.XY{X: float64(j), Y: v})
				lo, hi = min(lo, v), max(hi, v)
			}
		}
		if len(pts) == 0 {
			continue
		}
		l, sc, err := plotter.NewLinePoints(pts)
		if err != nil {
			return fmt.Errorf("chart %s: %w", title, err)
		}
		l.Color, sc.Color = plotutil.Color(i), plotutil.Color(i)
		sc.Shape = plotutil.Shape(i)
		p.Add(l, sc)
		p.Legend.Add(s.name, l, sc)
	}
	if hi > 0 {
		p.Y.Min, p.Y.Max = lo/2, hi*10 // room for the legend
	}
	p.NominalX(xs...)
	p.X.Min, p.X.Max = -0.3, float64(len(xs))-0.7
	return savePlot(p, path)
}

// writeCharts draws the three charts under dir (the files' paths are
// chartBySize and friends, relative to dir), as SVG, or as PNG with png
// set (for a quick look where no SVG viewer is at hand).
func writeCharts(dir string, s *Suite, png bool) error {
	path := func(name string) string {
		if png {
			name = strings.TrimSuffix(name, ".svg") + ".png"
		}
		return filepath.Join(dir, name)
	}
	mbps := func(scenario, sys string) float64 {
		r := s.find(scenario, sys, perf.Produce)
		if r == nil || r.Err != "" || r.Result == nil {
			return math.NaN()
		}
		return r.Result.MBPerSec
	}
	rps := func(scenario, sys string) float64 {
		r := s.find(scenario, sys, perf.Produce)
		if r == nil || r.Err != "" || r.Result == nil {
			return math.NaN()
		}
		return r.Result.RecordsPerSec / 1e3
	}
	group := func(ids []string, f func(string, string) float64) []series {
		var out []series
		for _, sys := range allSystems() {
			se := series{name: sys}
			for _, id := range ids {
				se.values = append(se.values, f(id, sys))
			}
			out = append(out, se)
		}
		return out
	}
	if err := barChart(path(chartBySize), "Produce throughput by record size (1 partition, acks=1)", "MB/s (payload)",
		[]string{"100 B", "1 KiB"}, group([]string{"100B", "1KiB"}, mbps)); err != nil {
		return err
	}
	if err := barChart(path(chartByPartitions), "Produce throughput by partitions (100 B records, acks=1)", "thousand records/s",
		[]string{"1 partition", "4 partitions", "16 partitions"}, group([]string{"100B", "100B-4p", "100B-16p"}, rps)); err != nil {
		return err
	}
	pcts := []string{"p50", "p95", "p99", "p99.9", "max"}
	var lat []series
	for _, sys := range allSystems() {
		se := series{name: sys}
		r := s.find("latency", sys, perf.E2E)
		if r == nil || r.Err != "" || r.Result == nil {
			se.values = []float64{math.NaN(), math.NaN(), math.NaN(), math.NaN(), math.NaN()}
		} else {
			l := r.Result.Latency
			se.values = []float64{l.P50, l.P95, l.P99, l.P999, l.Max}
		}
		lat = append(lat, se)
	}
	title := "End-to-end latency at a fixed rate (100 B, 1 partition)"
	for _, sc := range s.Scenarios {
		if sc.ID == "latency" {
			title = fmt.Sprintf("End-to-end latency at %.0f records/s, half of Sluice's peak (100 B)", sc.Rate)
		}
	}
	return percentileChart(path(chartLatency), title, pcts, lat)
}
