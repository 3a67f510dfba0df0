package main

// `sluice top` watches brokers through their Prometheus /metrics pages
// rather than the Kafka protocol: the page already holds every counter the
// broker keeps, costs the broker nothing it does not do for Prometheus, and
// answers while the Kafka listeners are saturated, which is when one looks.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/sluicelog/sluice/bench/units"
)

type topOptions struct {
	urls       string
	interval   time.Duration
	iterations int
	topics     int
	groups     int
}

func newTopCommand(g *globals) *cobra.Command {
	var o topOptions
	cmd := &cobra.Command{
		Use:     "top",
		Aliases: []string{"stats"},
		Short:   "Watch traffic, request latency, errors and consumer lag live, from the brokers' /metrics",
		Long: "Scrape the brokers' Prometheus /metrics pages every --interval and show, refreshed in\n" +
			"place: partition, leader, under-replicated and offline counts and connections; per-topic\n" +
			"bytes, records and requests per second; requests per second with p50 and p99 latency by\n" +
			"listener and API; request errors per second; and consumer group lag. Rates are over the\n" +
			"last two scrapes, so the first screen shows totals since the brokers started.\n" +
			"Several comma-separated URLs are merged into one cluster view, e.g.\n" +
			"  sluice top --metrics-url 127.0.0.1:9644,127.0.0.1:9645\n" +
			"When stdout is not a terminal, each refresh is printed as a block of its own.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runTop(cmd.Context(), g, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.urls, "metrics-url", "http://127.0.0.1:9644/metrics", "broker /metrics URL (comma-separated for several; host:port alone means http://host:port/metrics)")
	f.DurationVar(&o.interval, "interval", time.Second, "time between scrapes")
	f.IntVar(&o.iterations, "iterations", 0, "refreshes before exiting (0: until interrupted)")
	f.IntVar(&o.topics, "topics", 20, "topics shown, the busiest by bytes in (0: all)")
	f.IntVar(&o.groups, "groups", 20, "consumer groups shown, the most lagging (0: all)")
	return cmd
}

func runTop(ctx context.Context, g *globals, o topOptions) error {
	urls, err := parseMetricsURLs(o.urls)
	if err != nil {
		return err
	}
	switch {
	case o.interval <= 0:
		return fmt.Errorf("--interval %v: want a positive duration", o.interval)
	case o.iterations < 0:
		return fmt.Errorf("--iterations %d: want 0 (until interrupted) or more", o.iterations)
	case o.topics < 0 || o.groups < 0:
		return fmt.Errorf("--topics and --groups: want 0 (all) or more")
	}
	client := &http.Client{Timeout: g.timeout}
	term := isTerminal(g.stdout)
	ro := renderOptions{interval: o.interval, topics: o.topics, groups: o.groups, spaced: term, more: o.iterations != 1}
	last := make([]*brokerStats, len(urls))
	var tick *time.Ticker
	for i := 0; o.iterations == 0 || i < o.iterations; i++ {
		if i > 0 {
			select {
			case <-ctx.Done():
				return nil // interrupted: how top is meant to end
			case <-tick.C:
			}
		}
		at := time.Now()
		scrapes := scrapeAll(ctx, client, urls, last)
		if ctx.Err() != nil {
			return nil
		}
		if i == 0 {
			// When no broker answers before anything was shown, the URL is
			// most likely wrong: say so and stop rather than draw an empty
			// screen. One broker of a cluster down is what an operator
			// watches top for: its error shows in the frame.
			var errs []error
			for _, s := range scrapes {
				if s.err != nil {
					errs = append(errs, fmt.Errorf("scrape %s: %w", s.url, s.err))
				}
			}
			if len(errs) == len(scrapes) {
				return errors.Join(errs...)
			}
			tick = time.NewTicker(o.interval)
			defer tick.Stop()
		}
		var out bytes.Buffer
		switch {
		case term:
			out.WriteString("\x1b[H\x1b[2J") // home, clear screen
		case i > 0:
			out.WriteString("\n")
		}
		out.WriteString(renderFrame(buildFrame(at, scrapes), ro))
		if _, err := g.stdout.Write(out.Bytes()); err != nil {
			return fmt.Errorf("write: %w", err)
		}
		for j, s := range scrapes {
			if s.cur != nil {
				last[j] = s.cur
			}
		}
	}
	return nil
}

// scrapeAll scrapes every broker at once, so a slow one delays the frame by
// its own time only.
func scrapeAll(ctx context.Context, c *http.Client, urls []string, last []*brokerStats) []brokerScrape {
	out := make([]brokerScrape, len(urls))
	var wg sync.WaitGroup
	for i, u := range urls {
		out[i] = brokerScrape{url: u, prev: last[i]}
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i].cur, out[i].err = fetchPage(ctx, c, u)
		}()
	}
	wg.Wait()
	return out
}

// parseMetricsURLs reads --metrics-url.
func parseMetricsURLs(s string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	for _, raw := range strings.Split(s, ",") {
		raw = strings.TrimSpace(raw)
		if raw == "" {
			continue
		}
		v := raw
		if !strings.Contains(v, "://") {
			v = "http://" + v
		}
		u, err := url.Parse(v)
		if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
			return nil, fmt.Errorf("--metrics-url %q: want http://host:port/metrics", raw)
		}
		if u.Path == "" {
			u.Path = "/metrics"
		}
		// The same broker twice would count its traffic twice.
		if v = u.String(); !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("--metrics-url is empty")
	}
	return out, nil
}

// isTerminal tells whether w is a character device, where redrawing in
// place is wanted; a pipe or file gets one block per refresh instead.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

type renderOptions struct {
	interval       time.Duration
	topics, groups int  // rows shown at most; 0 is all
	spaced         bool // a blank line between sections; off when blank lines separate frames
	more           bool // frames follow this one
}

// renderFrame prints one refresh.
func renderFrame(f frame, o renderOptions) string {
	var sections []string
	sections = append(sections, renderHeader(f, o))

	per, none := "/s", "none in the interval"
	if f.first {
		per, none = "", "none since the brokers started"
	}

	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	if len(f.topics) == 0 {
		fmt.Fprintln(tw, "topics: none on the page")
	} else {
		fmt.Fprintf(tw, "TOPIC\tBYTES IN%s\tBYTES OUT%[1]s\tRECORDS IN%[1]s\tRECORDS OUT%[1]s\tPRODUCE REQS%[1]s\tFETCH REQS%[1]s\n", per)
		for _, t := range limit(f.topics, o.topics) {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.topic,
				fmtBytes(t.v[topicBytesIn]), fmtBytes(t.v[topicBytesOut]),
				fmtCount(t.v[topicRecordsIn]), fmtCount(t.v[topicRecordsOut]),
				fmtCount(t.v[topicProduceReqs]), fmtCount(t.v[topicFetchReqs]))
		}
		if n := len(f.topics) - len(limit(f.topics, o.topics)); n > 0 {
			fmt.Fprintf(tw, "(%d more topics)\n", n)
		}
	}
	tw.Flush()
	sections = append(sections, b.String())

	b.Reset()
	tw = tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	if len(f.requests) == 0 {
		fmt.Fprintf(tw, "requests: %s\n", none)
	} else {
		fmt.Fprintf(tw, "LISTENER\tAPI\tREQUESTS%s\tP50\tP99\n", per)
		for _, r := range f.requests {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.listener, r.api, fmtCount(r.rate), fmtSeconds(r.p50), fmtSeconds(r.p99))
		}
	}
	tw.Flush()
	sections = append(sections, b.String())

	b.Reset()
	tw = tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	if len(f.errors) == 0 {
		fmt.Fprintf(tw, "request errors: %s\n", none)
	} else {
		fmt.Fprintf(tw, "API\tERROR\tERRORS%s\n", per)
		for _, e := range f.errors {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", e.api, e.err, fmtCount(e.rate))
		}
	}
	tw.Flush()
	sections = append(sections, b.String())

	b.Reset()
	tw = tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	if len(f.groups) == 0 {
		fmt.Fprintln(tw, "consumer groups: none with committed offsets on the page")
	} else {
		fmt.Fprintln(tw, "GROUP\tLAG\tPARTITIONS\tWORST PARTITION\tWORST LAG")
		for _, g := range limit(f.groups, o.groups) {
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s/%s\t%s\n", g.group, fmtWhole(g.lag), g.partitions,
				g.worst.topic, g.worst.partition, fmtWhole(g.worstLag))
		}
		if n := len(f.groups) - len(limit(f.groups, o.groups)); n > 0 {
			fmt.Fprintf(tw, "(%d more groups)\n", n)
		}
	}
	tw.Flush()
	sections = append(sections, b.String())

	sep := ""
	if o.spaced {
		sep = "\n"
	}
	return strings.Join(sections, sep)
}

func renderHeader(f frame, o renderOptions) string {
	var b strings.Builder
	ok := 0
	var names []string
	for _, s := range f.brokers {
		name := displayURL(s.url)
		if s.cur != nil {
			ok++
			if s.cur.node != "" {
				name += " (node " + s.cur.node + ")"
			}
		}
		names = append(names, name)
	}
	who := "broker " + strings.Join(names, ", ")
	if len(f.brokers) > 1 {
		who = fmt.Sprintf("brokers %d/%d: %s", ok, len(f.brokers), strings.Join(names, ", "))
	}
	fmt.Fprintf(&b, "sluice top  %s  every %v  %s\n", f.at.Format("15:04:05"), o.interval, who)

	gauge := func(name string) string {
		if v, ok := f.gauges[name]; ok {
			return fmtWhole(v)
		}
		return "-"
	}
	fmt.Fprintf(&b, "replicas %s  leaders %s  under-replicated %s  under-min-isr %s  offline %s  offline replicas %s  connections %s\n",
		gauge(famPartitions), gauge(famLeaders), gauge(famUnderReplicated), gauge(famUnderMinISR),
		gauge(famOfflinePartitions), gauge(famOfflineReplicas), gauge(famConnections))
	for _, s := range f.brokers {
		if s.err != nil {
			fmt.Fprintf(&b, "scrape %s failed: %v\n", displayURL(s.url), s.err)
		}
	}
	switch {
	case f.first && o.more:
		fmt.Fprintf(&b, "first scrape: totals since the brokers started; rates follow in %v\n", o.interval)
	case f.first:
		fmt.Fprintln(&b, "totals since the brokers started")
	}
	return b.String()
}

func limit[T any](rows []T, n int) []T {
	if n > 0 && len(rows) > n {
		return rows[:n]
	}
	return rows
}

// displayURL shortens the usual http://host:port/metrics to host:port.
func displayURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "http" || u.Path != "/metrics" || u.RawQuery != "" {
		return s
	}
	return u.Host
}

func fmtBytes(v float64) string {
	return units.FormatSize(int64(math.Round(v)))
}

// fmtCount prints whole numbers as such, fractions (rates) with one
// decimal, and from a thousand up with k, M, G, T.
func fmtCount(v float64) string {
	switch a := math.Abs(v); {
	case a < 1000 && v == math.Trunc(v):
		return fmt.Sprintf("%.0f", v)
	case a < 1000:
		return fmt.Sprintf("%.1f", v)
	case a < 1e6:
		return fmt.Sprintf("%.1fk", v/1e3)
	case a < 1e9:
		return fmt.Sprintf("%.1fM", v/1e6)
	case a < 1e12:
		return fmt.Sprintf("%.1fG", v/1e9)
	}
	return fmt.Sprintf("%.1fT", v/1e12)
}

// fmtWhole prints a count in full, where every unit matters: offsets of lag,
// partitions.
func fmtWhole(v float64) string {
	return strconv.FormatFloat(v, 'f', 0, 64)
}

// fmtSeconds prints a latency with three significant digits or so.
func fmtSeconds(s float64) string {
	switch {
	case math.IsNaN(s):
		return "-"
	case s < 1e-3:
		return fmt.Sprintf("%.0fµs", s*1e6)
	case s < 10e-3:
		return fmt.Sprintf("%.2fms", s*1e3)
	case s < 1:
		return fmt.Sprintf("%.1fms", s*1e3)
	}
	return fmt.Sprintf("%.2fs", s)
}
