package partbench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/sluicelog/sluice/bench/hostinfo"
	"github.com/sluicelog/sluice/bench/perf"
	"github.com/sluicelog/sluice/bench/sluicedproc"
)

// Config is one partbench run. Zero fields take the defaults noted.
type Config struct {
	// Sluiced is the broker binary; empty builds cmd/sluiced of the
	// module this runs in.
	Sluiced string
	// Dir is the parent of the temporary directory (the broker's data);
	// default $TMPDIR.
	Dir string
	// Sizes are the sweep's partition counts, in the order run
	// (DefaultSizes).
	Sizes []int
	// TopicPartitions is the partitions of each created topic (1,000);
	// the last topic of a point takes the remainder.
	TopicPartitions int
	// NoFile, when above 0, is the broker's RLIMIT_NOFILE, soft and hard
	// (sh's ulimit -n before exec); 0 leaves the machine's limits.
	NoFile int
	// Idle is how long the broker stays idle before the idle figures
	// (75 s: the engine parks active segments idle for a minute today).
	// When the broker has a property for its idle close-down
	// (IdleProperty), it is set to Idle. Either way the figures are taken
	// once, after Idle, a second passes without the descriptor count
	// falling (waiting at most another Idle).
	Idle time.Duration
	// IdleProperty names the broker property, in milliseconds, after which
	// idle partitions give their handles back; empty looks for one in
	// `sluiced --help-config` (a name with "idle" and "segment"), "none"
	// sets nothing.
	IdleProperty string
	// Active is how many partitions take produce and fetch (10,000, or
	// every partition of a smaller point).
	Active int
	// Rounds of produce and fetch: each round sends one record to every
	// active partition, then the same bytes to one partition (20).
	Rounds int
	// RecordSize is each record's value size in bytes (100).
	RecordSize int
	// MetaRequests bounds the requests behind each Metadata median (200);
	// fewer are sent once MetaBudget is spent (at least 5).
	MetaRequests int
	MetaBudget   time.Duration
	// Reserve is the free space a point must leave on the data's file
	// system, by the estimate from the previous point (10 GB).
	Reserve int64
	// Overrides are extra broker properties (key=value).
	Overrides []string
	// Smoke marks a run of tiny sizes (the figures mean little).
	Smoke bool
	// Command is the command line to print as the one that produced the
	// report.
	Command string
	// Logf, when set, gets a progress line per step.
	Logf func(format string, args ...any)
}

// DefaultSizes is the sweep of issue 19.
var DefaultSizes = []int{1000, 5000, 10000, 25000, 50000, 100000}

// SmokeSizes is the sweep of -smoke.
var SmokeSizes = []int{200, 1000}

// defaultPerPartition is the disk a partition is assumed to take before
// any point has measured it: its two index files are fallocated at about
// 5 MiB together today.
const defaultPerPartition = 6 << 20

func (c *Config) setDefaults() {
	if len(c.Sizes) == 0 {
		c.Sizes = DefaultSizes
	}
	if c.TopicPartitions <= 0 {
		c.TopicPartitions = 1000
	}
	if c.Idle <= 0 {
		c.Idle = 75 * time.Second
	}
	if c.Active <= 0 {
		c.Active = 10_000
	}
	if c.Rounds <= 0 {
		c.Rounds = 20
	}
	if c.RecordSize <= 0 {
		c.RecordSize = 100
	}
	if c.MetaRequests <= 0 {
		c.MetaRequests = 200
	}
	if c.MetaBudget <= 0 {
		c.MetaBudget = 3 * time.Second
	}
	if c.Reserve <= 0 {
		c.Reserve = 10e9
	}
	if c.Logf == nil {
		c.Logf = func(string, ...any) {}
	}
}

// Report is a partbench run's outcome: one Point per partition count
// measured, and why the sweep stopped if it did.
type Report struct {
	Command       string
	Build         string
	BrokerCommand string
	Machine       perf.Machine
	Started       time.Time
	Seconds       float64
	LoadBefore    string
	LoadAfter     string
	// NoFile is the broker's RLIMIT_NOFILE (soft / hard) as its
	// /proc/PID/limits said; MaxMapCount is vm.max_map_count.
	NoFile      string
	MaxMapCount int
	DataDir     string
	FreeAtStart int64
	// IdleSetting is the override that set the idle close-down, or empty
	// when the broker has no such property.
	IdleSetting string
	Config      Config
	Points      []*Point
	// Stopped says why the sweep ended before its last size, if it did.
	Stopped string
}

// Run builds (or takes) sluiced and measures each size of cfg.Sizes on a
// fresh data directory, until one fails or would not fit on the disk.
// Only the harness's own failures (no binary, no temporary directory)
// return an error; what the broker does is a finding, in the Report.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	cfg.setDefaults()
	dir, err := os.MkdirTemp(cfg.Dir, "partbench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	rep := &Report{Command: cfg.Command, Machine: perf.ReadMachine(), Started: time.Now().UTC(),
		LoadBefore: hostinfo.LoadAverage(), MaxMapCount: maxMapCount(), DataDir: filepath.Dir(dir), Config: cfg}
	if rep.FreeAtStart, err = freeBytes(dir); err != nil {
		return nil, err
	}
	bin := cfg.Sluiced
	rep.Build = "sluiced " + bin
	modDir, modErr := sluicedproc.ModuleDir(ctx)
	if bin == "" {
		if modErr != nil {
			return nil, modErr
		}
		if bin, rep.Build, err = sluicedproc.Build(ctx, modDir, dir); err != nil {
			return nil, err
		}
		rep.Build += " (" + sluicedproc.GitDescribe(ctx, modDir) + ")"
	}
	props := filepath.Join(modDir, "cmd", "sluiced", "sluiced.properties")
	overrides := append([]string(nil), cfg.Overrides...)
	if prop := idleProperty(ctx, bin, cfg.IdleProperty); prop != "" {
		rep.IdleSetting = prop + "=" + strconv.FormatInt(cfg.Idle.Milliseconds(), 10)
		overrides = append(overrides, rep.IdleSetting)
	}
	launch := bin
	if cfg.NoFile > 0 {
		// Go raises its soft limit to the hard one at start, so the hard
		// limit is what the broker gets: ulimit -n sets both.
		launch = filepath.Join(dir, "sluiced-nofile.sh")
		script := fmt.Sprintf("#!/bin/sh\nulimit -n %d || exit 111\nexec %s \"$@\"\n", cfg.NoFile, shellQuote(bin))
		if err := os.WriteFile(launch, []byte(script), 0o755); err != nil {
			return nil, err
		}
	}
	s := &sweep{ctx: ctx, cfg: cfg, rep: rep, dir: dir, bin: launch, realBin: bin, props: props, overrides: overrides}
	perPartition := int64(defaultPerPartition)
	for _, n := range cfg.Sizes {
		if ctx.Err() != nil {
			rep.Stopped = "interrupted"
			break
		}
		free, err := freeBytes(dir)
		if err != nil {
			return nil, err
		}
		need := perPartition * int64(n) * 11 / 10
		if free-need < cfg.Reserve {
			rep.Stopped = fmt.Sprintf("before N=%d: it would take about %.1f GiB (%.0f KiB per partition, as the previous point's data directory took after the creates or with its partitions active, plus 10%%) of the %.1f GiB free, leaving less than the %.0f GB kept free",
				n, gib(need), float64(perPartition)/1024, gib(free), float64(cfg.Reserve)/1e9)
			cfg.Logf("sweep stopped %s", rep.Stopped)
			break
		}
		pt := s.point(n)
		rep.Points = append(rep.Points, pt)
		if pt.Created > 0 && pt.DiskUsed > 0 {
			// Conservative: as if every partition took what the active
			// ones made the data directory take.
			perPartition = max(max(pt.DiskUsed, pt.DiskActive)/int64(pt.Created), 4096)
		}
		if pt.Failed() {
			rep.Stopped = fmt.Sprintf("at N=%d: %s", n, pt.Failure())
			cfg.Logf("sweep stopped %s", rep.Stopped)
			break
		}
	}
	rep.LoadAfter = hostinfo.LoadAverage()
	rep.Seconds = time.Since(rep.Started).Seconds()
	return rep, nil
}

func gib(n int64) float64 { return float64(n) / (1 << 30) }

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

var idleNameRe = regexp.MustCompile(`(?i)^\S*(segment\S*idle|idle\S*segment)\S*\.ms$`)

// idleProperty is the broker property that sets its idle close-down:
// want itself, or the first name `sluiced --help-config` lists that
// matches idleNameRe when want is empty; "" when none or want is "none".
func idleProperty(ctx context.Context, bin, want string) string {
	if want == "none" {
		return ""
	}
	if want != "" {
		return want
	}
	out, err := exec.CommandContext(ctx, bin, "--help-config").CombinedOutput()
	if err != nil {
		return ""
	}
	for line := range strings.SplitSeq(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) > 0 && idleNameRe.MatchString(f[0]) {
			return f[0]
		}
	}
	return ""
}

// SmokeConfig fills cfg's unset sizes for a smoke run: SmokeSizes in
// topics of 100, a 1 s idle, 3 rounds, a small Metadata budget.
func SmokeConfig(cfg Config) Config {
	cfg.Smoke = true
	if len(cfg.Sizes) == 0 {
		cfg.Sizes = SmokeSizes
	}
	if cfg.TopicPartitions <= 0 {
		cfg.TopicPartitions = 100
	}
	if cfg.Idle <= 0 {
		cfg.Idle = time.Second
	}
	if cfg.Rounds <= 0 {
		cfg.Rounds = 3
	}
	if cfg.MetaRequests <= 0 {
		cfg.MetaRequests = 30
	}
	if cfg.MetaBudget <= 0 {
		cfg.MetaBudget = 500 * time.Millisecond
	}
	return cfg
}
