package baseline

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/sluicelog/sluice/bench/hostinfo"
	"github.com/sluicelog/sluice/bench/netbench"
)

// Defaults of Config, which are also the command's flag defaults.
const (
	// DefaultRev is the last commit before the cluster work.
	DefaultRev     = "5795bbb"
	DefaultRounds  = 5
	DefaultRecords = 2_000_000
)

// Config is one run. Zero fields take the defaults above.
type Config struct {
	// Rev is the baseline's git revision.
	Rev string
	// Rounds is how many runs of the current build are measured; the
	// baseline runs before the first, between each two and after the
	// last (Rounds+1 times).
	Rounds int
	// Records is how many records each run produces and consumes.
	Records int64
	// LatencyDuration is netbench's paced latency phase in each run (not
	// compared here); 1 s by default.
	LatencyDuration time.Duration
	// BaselineSluiced and CurrentSluiced are prebuilt broker binaries;
	// empty builds them (the baseline from Rev, the current from the
	// working tree).
	BaselineSluiced string
	CurrentSluiced  string
	// ModuleDir is the Sluice module's root, a git work tree; empty asks
	// `go env GOMOD`.
	ModuleDir string
	// Dir is the parent of the temporary directories; empty means
	// os.TempDir().
	Dir string
	// Command is the command line printed with the figures.
	Command string
	// Logf, if set, receives progress lines.
	Logf func(format string, args ...any)
}

func (c *Config) setDefaults() {
	if c.Rev == "" {
		c.Rev = DefaultRev
	}
	if c.Rounds <= 0 {
		c.Rounds = DefaultRounds
	}
	if c.Records <= 0 {
		c.Records = DefaultRecords
	}
	if c.LatencyDuration <= 0 {
		c.LatencyDuration = time.Second
	}
	if c.Logf == nil {
		c.Logf = func(string, ...any) {}
	}
}

// Build is one broker binary under test.
type Build struct {
	Name    string `json:"name"`    // "baseline" or "current"
	Source  string `json:"source"`  // what was built
	Build   string `json:"build"`   // the commands that built it, or "given"
	Sluiced string `json:"sluiced"` // the binary
	Config  string `json:"config"`  // its properties file
}

// Result is one run of the load against one build.
type Result struct {
	Build string `json:"build"`
	// ProduceMBps and ConsumeMBps are payload MB/s of the native producer
	// and the native consumer (records copied out, every one checked);
	// RawFetchMBps is raw Fetch frames without a client.
	ProduceMBps  float64 `json:"produce_mb_per_s"`
	ConsumeMBps  float64 `json:"consume_mb_per_s"`
	RawFetchMBps float64 `json:"raw_fetch_mb_per_s"`
	// ProduceRatio and ConsumeRatio are netbench's ratios to the loopback
	// limit measured once in the same run: kept in the JSON, too noisy
	// from a single limit run to normalise the comparison with.
	ProduceRatio float64  `json:"produce_ratio"`
	ConsumeRatio float64  `json:"consume_ratio"`
	Problems     []string `json:"problems,omitempty"`
	Load         string   `json:"load_after"`
}

// Round is one run of the current build between two of the baseline
// (consecutive rounds share a baseline run).
type Round struct {
	Before  Result `json:"baseline_before"`
	Current Result `json:"current"`
	After   Result `json:"baseline_after"`
}

// Ratios are current over baseline.
type Ratios struct {
	Produce  float64 `json:"produce"`
	Consume  float64 `json:"consume"`
	RawFetch float64 `json:"raw_fetch"`
}

// ratios are the current run's figures over the mean of the two baseline
// runs around it.
func (r Round) ratios() Ratios {
	b, a, c := r.Before, r.After, r.Current
	return Ratios{Produce: 2 * c.ProduceMBps / (b.ProduceMBps + a.ProduceMBps), Consume: 2 * c.ConsumeMBps / (b.ConsumeMBps + a.ConsumeMBps),
		RawFetch: 2 * c.RawFetchMBps / (b.RawFetchMBps + a.RawFetchMBps)}
}

// control is the baseline against itself: the run after over the run
// before, two runs apart. Its spread is the noise of the comparison.
func (r Round) control() Ratios {
	b, a := r.Before, r.After
	return Ratios{Produce: a.ProduceMBps / b.ProduceMBps, Consume: a.ConsumeMBps / b.ConsumeMBps, RawFetch: a.RawFetchMBps / b.RawFetchMBps}
}

// Report is what Run measured.
type Report struct {
	Command string `json:"command"`
	// Rev is the baseline's revision as given.
	Rev        string    `json:"rev"`
	Start      time.Time `json:"start"`
	End        time.Time `json:"end"`
	LoadBefore string    `json:"load_before"`
	LoadAfter  string    `json:"load_after"`
	Machine    netbench.Machine
	Records    int64   `json:"records"`
	Baseline   Build   `json:"baseline"`
	Current    Build   `json:"current"`
	Rounds     []Round `json:"rounds"`
	// Median is the median of the rounds' ratios, field by field; Min and
	// Max their range.
	Median Ratios `json:"median"`
	Min    Ratios `json:"min"`
	Max    Ratios `json:"max"`
	// ControlMedian, ControlMin and ControlMax are the same for the
	// baseline against itself (Round.control).
	ControlMedian Ratios `json:"control_median"`
	ControlMin    Ratios `json:"control_min"`
	ControlMax    Ratios `json:"control_max"`
	// Problems are netbench's failed sanity checks, by run.
	Problems []string `json:"problems,omitempty"`
}

// Run builds both brokers and runs the rounds.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	cfg.setDefaults()
	modDir := cfg.ModuleDir
	if modDir == "" {
		out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
		if err != nil {
			return nil, fmt.Errorf("go env GOMOD: %w", err)
		}
		gomod := strings.TrimSpace(string(out))
		if gomod == "" || gomod == os.DevNull {
			return nil, fmt.Errorf("not inside the Sluice module: run from the repository or set Config.ModuleDir")
		}
		modDir = filepath.Dir(gomod)
	}
	dir, err := os.MkdirTemp(cfg.Dir, "sluice-baseline-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	rep := &Report{Command: cfg.Command, Rev: cfg.Rev, Start: time.Now().UTC(), LoadBefore: hostinfo.LoadAverage(), Machine: netbench.DescribeMachine(), Records: cfg.Records}

	props := filepath.Join(modDir, "cmd", "sluiced", "sluiced.properties")
	rep.Current = Build{Name: "current", Sluiced: cfg.CurrentSluiced, Config: props, Build: "given"}
	if head, err := git(ctx, modDir, "rev-parse", "--short", "HEAD"); err == nil {
		rep.Current.Source = "the working tree at " + head
		if dirty, _ := git(ctx, modDir, "status", "--porcelain", "--", "."); dirty != "" {
			rep.Current.Source += " (with uncommitted changes)"
		}
	}
	if rep.Current.Sluiced == "" {
		rep.Current.Sluiced = filepath.Join(dir, "sluiced-current")
		cfg.Logf("baseline: building the current sluiced")
		if rep.Current.Build, err = goBuild(ctx, modDir, rep.Current.Sluiced); err != nil {
			return nil, err
		}
	}
	rep.Baseline = Build{Name: "baseline", Sluiced: cfg.BaselineSluiced, Config: props, Build: "given"}
	full, err := git(ctx, modDir, "rev-parse", "--verify", cfg.Rev+"^{commit}")
	if err != nil {
		return nil, fmt.Errorf("baseline revision %s: %w", cfg.Rev, err)
	}
	subject, _ := git(ctx, modDir, "log", "-1", "--format=%s", full)
	rep.Baseline.Source = fmt.Sprintf("commit %s (%s)", full[:12], subject)
	if rep.Baseline.Sluiced == "" {
		src := filepath.Join(dir, "baseline-src")
		cfg.Logf("baseline: extracting %s and building its sluiced", full[:12])
		if err := extract(ctx, modDir, full, src); err != nil {
			return nil, err
		}
		rep.Baseline.Sluiced = filepath.Join(dir, "sluiced-baseline")
		b, err := goBuild(ctx, src, rep.Baseline.Sluiced)
		if err != nil {
			return nil, err
		}
		rep.Baseline.Build = fmt.Sprintf("git archive %s | tar -x -C $tmp/baseline-src; cd $tmp/baseline-src && %s", full[:12], b)
		rep.Baseline.Config = filepath.Join(src, "cmd", "sluiced", "sluiced.properties")
	}

	// B C B C ... B: every current run between two baseline runs.
	runs := make([]Result, 2*cfg.Rounds+1)
	for i := range runs {
		b := &rep.Baseline
		if i%2 == 1 {
			b = &rep.Current
		}
		cfg.Logf("baseline: run %d of %d: %s", i+1, len(runs), b.Name)
		res, err := runOnce(ctx, cfg, modDir, dir, b)
		if err != nil {
			return nil, fmt.Errorf("run %d, %s: %w", i+1, b.Name, err)
		}
		for _, p := range res.Problems {
			rep.Problems = append(rep.Problems, fmt.Sprintf("run %d, %s: %s", i+1, b.Name, p))
		}
		runs[i] = res
	}
	for r := range cfg.Rounds {
		rep.Rounds = append(rep.Rounds, Round{Before: runs[2*r], Current: runs[2*r+1], After: runs[2*r+2]})
	}
	rep.Median, rep.Min, rep.Max = summarize(rep.Rounds, Round.ratios)
	rep.ControlMedian, rep.ControlMin, rep.ControlMax = summarize(rep.Rounds, Round.control)
	rep.End = time.Now().UTC()
	rep.LoadAfter = hostinfo.LoadAverage()
	return rep, nil
}

func runOnce(ctx context.Context, cfg Config, modDir, dir string, b *Build) (Result, error) {
	nr, err := netbench.Run(ctx, netbench.Config{Records: cfg.Records, Runs: 1, LatencyDuration: cfg.LatencyDuration, Dir: dir,
		Sluiced: b.Sluiced, BrokerConfig: b.Config, ModuleDir: modDir, Command: cfg.Command})
	if err != nil {
		return Result{}, err
	}
	return Result{Build: b.Name, ProduceMBps: nr.Produce.PayloadMBps, ConsumeMBps: nr.Consume.PayloadMBps, RawFetchMBps: nr.RawFetch.PayloadMBps,
		ProduceRatio: nr.ProduceRatio, ConsumeRatio: nr.ConsumeRatio, Problems: nr.Problems, Load: hostinfo.LoadAverage()}, nil
}

func summarize(rounds []Round, ratios func(Round) Ratios) (med, lo, hi Ratios) {
	fields := func(r *Ratios) []*float64 {
		return []*float64{&r.Produce, &r.Consume, &r.RawFetch}
	}
	all := make([]Ratios, len(rounds))
	for i, r := range rounds {
		all[i] = ratios(r)
	}
	for f := range fields(&med) {
		var xs []float64
		for i := range all {
			xs = append(xs, *fields(&all[i])[f])
		}
		slices.Sort(xs)
		if len(xs) == 0 {
			continue
		}
		m := xs[len(xs)/2]
		if len(xs)%2 == 0 {
			m = (xs[len(xs)/2-1] + xs[len(xs)/2]) / 2
		}
		*fields(&med)[f], *fields(&lo)[f], *fields(&hi)[f] = m, xs[0], xs[len(xs)-1]
	}
	return med, lo, hi
}

func git(ctx context.Context, dir string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("git %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(string(out)), nil
}

// extract writes the tree of rev into dst with git archive.
func extract(ctx context.Context, modDir, rev, dst string) error {
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return err
	}
	archive := exec.CommandContext(ctx, "git", "archive", "--format=tar", rev)
	archive.Dir = modDir
	tar := exec.CommandContext(ctx, "tar", "-x", "-C", dst)
	pipe, err := archive.StdoutPipe()
	if err != nil {
		return err
	}
	tar.Stdin = pipe
	var aerr, terr bytes.Buffer
	archive.Stderr, tar.Stderr = &aerr, &terr
	if err := tar.Start(); err != nil {
		return err
	}
	if err := archive.Run(); err != nil {
		tar.Wait()
		return fmt.Errorf("git archive %s: %w: %s", rev, err, aerr.String())
	}
	if err := tar.Wait(); err != nil {
		return fmt.Errorf("tar -x: %w: %s", err, terr.String())
	}
	return nil
}

// goBuild builds dir's cmd/sluiced into bin and returns the command.
func goBuild(ctx context.Context, dir, bin string) (string, error) {
	argv := []string{"go", "build", "-o", bin, "./cmd/sluiced"}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("%s (in %s): %w\n%s", strings.Join(argv, " "), dir, err, out)
	}
	return "go build -o " + filepath.Base(bin) + " ./cmd/sluiced", nil
}
