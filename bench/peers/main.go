package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/sluicelog/sluice/bench/hostinfo"
	"github.com/sluicelog/sluice/bench/perf"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "-serve" {
		os.Exit(serveMain(os.Args[2:]))
	}
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	fs := flag.NewFlagSet("peers", flag.ContinueOnError)
	out := fs.String("out", "", "directory for results.json, peers.md, progress.log and docs/*.svg (required)")
	data := fs.String("data", os.TempDir(), "where brokers and limits write their temporary data")
	root := fs.String("root", "../..", "the Sluice repository, whose cmd/sluiced is built")
	smoke := fs.Bool("smoke", false, "a hundredth of the records and a 2 s latency run, to test the suite quickly")
	render := fs.Bool("render", false, "measure nothing: rewrite peers.md and the charts from OUT/results.json")
	png := fs.Bool("png", false, "with -render: draw the charts as PNG instead of SVG")
	profiles := fs.Int("profiles", 2, "profile this many of the figures where Sluice is behind")
	latencySecs := fs.Float64("latency-seconds", 8, "length of each fixed-rate e2e run")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *out == "" {
		fmt.Fprintln(os.Stderr, "peers: -out is required")
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	if *render {
		err = renderOnly(*out, *png)
	} else {
		command := "go -C bench/peers run . " + strings.Join(args, " ")
		err = measure(ctx, command, *out, *data, *root, *smoke, *profiles, *latencySecs)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "peers: %v\n", err)
		return 1
	}
	return 0
}

// measure runs the suite and writes its outputs.
func measure(ctx context.Context, command, out, data, root string, smoke bool, profiles int, latencySecs float64) error {
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(data, "sluice-peers-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	progress, err := os.Create(filepath.Join(out, "progress.log"))
	if err != nil {
		return err
	}
	defer progress.Close()
	s := newSuite(command, data)
	r := &runner{dataDir: tmp, progress: io.MultiWriter(progress), log: os.Stdout, suite: s}
	step := func(format string, args ...any) {
		line := fmt.Sprintf("%s "+format, append([]any{time.Now().UTC().Format("15:04:05")}, args...)...)
		fmt.Fprintln(os.Stderr, line)
		fmt.Fprintln(progress, "# "+line)
	}

	step("building sluiced")
	if r.sluiced, s.Build, err = buildSluiced(ctx, root, tmp); err != nil {
		return err
	}
	scale, limitBytes, durableBytes := int64(1), int64(256<<20), int64(32<<20)
	if smoke {
		scale, limitBytes, durableBytes, latencySecs = 100, 8<<20, 2<<20, 2
	}
	step("measuring the limits")
	if s.Limits, err = measureLimits(ctx, tmp, limitBytes, durableBytes, suiteBatch); err != nil {
		return err
	}
	for _, l := range s.Limits {
		fmt.Fprintf(os.Stdout, "limit %-28s %8.0f MB/s  (runs %v; %s)\n", l.Name, l.MBps, l.Runs, l.What)
	}
	s.Scenarios = scenarios(scale)
	for _, sc := range s.Scenarios {
		step("scenario %s: %s", sc.ID, sc.Title)
		if err := r.runScenario(ctx, sc); err != nil {
			return err
		}
	}
	// Latency at half of Sluice's peak in the first scenario, and at half
	// of the slowest system's peak there, which every system can sustain.
	first := s.Scenarios[0].ID
	peak, slowest := s.find(first, sysSluice, perf.Produce).Result.RecordsPerSec, 0.0
	for _, sys := range allSystems() {
		if r := s.find(first, sys, perf.Produce); r != nil && r.Err == "" && r.Result != nil && (slowest == 0 || r.Result.RecordsPerSec < slowest) {
			slowest = r.Result.RecordsPerSec
		}
	}
	for _, lat := range []scenario{
		latencyScenario("latency", "e2e, 100 B, 1 partition, acks=1, at half of Sluice's produce peak", peak/2, latencySecs),
		latencyScenario("latency-common", "e2e, 100 B, 1 partition, acks=1, at half of the slowest system's produce peak", slowest/2, latencySecs),
	} {
		s.Scenarios = append(s.Scenarios, lat)
		step("scenario %s: %s (%.0f records/s)", lat.ID, lat.Title, lat.Rate)
		if err := r.runScenario(ctx, lat); err != nil {
			return err
		}
	}
	done := map[string]bool{}
	for _, c := range s.behind() {
		if len(s.Profiles) >= profiles {
			break
		}
		key := c.scenario + "/" + c.workload
		if done[key] {
			continue
		}
		done[key] = true
		var sc scenario
		for _, x := range s.Scenarios {
			if x.ID == c.scenario {
				sc = x
			}
		}
		step("profiling %s %s: %s", c.scenario, c.workload, c.why)
		pr, err := r.profileRun(ctx, sc, c, tmp)
		if err != nil {
			return fmt.Errorf("profiling %s: %w", key, err)
		}
		s.Profiles = append(s.Profiles, pr)
	}
	s.Finished = time.Now().UTC()
	s.Seconds = s.Finished.Sub(s.Started).Seconds()
	s.LoadAfter = hostinfo.LoadAverage()
	step("done in %.0f s", s.Seconds)
	if err := save(out, s); err != nil {
		return err
	}
	return renderOnly(out, false)
}

// save writes results.json.
func save(out string, s *Suite) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(out, "results.json"), append(b, '\n'), 0o644)
}

// renderOnly writes peers.md and the charts from results.json.
func renderOnly(out string, png bool) error {
	b, err := os.ReadFile(filepath.Join(out, "results.json"))
	if err != nil {
		return err
	}
	var s Suite
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("results.json: %w", err)
	}
	if len(s.Scenarios) == 0 {
		return errors.New("results.json holds no scenarios")
	}
	f, err := os.Create(filepath.Join(out, "peers.md"))
	if err != nil {
		return err
	}
	if err := writeMarkdown(f, &s); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return writeCharts(out, &s, png)
}
