package metricsbench

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// Cost is the share of the brokers' CPU samples that passed through the
// functions Focus matches (go tool pprof -focus), merged over the rounds'
// profiles of each mode, in per cent.
type Cost struct {
	What  string  `json:"what"`
	Focus string  `json:"focus"`
	Off   float64 `json:"off_pct"`
	On    float64 `json:"on_pct"`
}

// costs are where metrics cost the broker CPU. With metrics off the
// listeners still read the clock for the slow-request log (Received,
// Finished), so the first has a share there too.
var costs = []Cost{
	{What: "timing requests, in-flight and queue gauges (net/metrics Listener)", Focus: `net/metrics\.\(\*Listener\)\.`},
	{What: "per-partition traffic and error counters (request layer)",
		Focus: `net/request\.countProduced|net/request\.\(\*Handler\)\.countFetched|net/metrics\.\(\*Requests\)\.`},
	{What: "serving /metrics: HTTP, gathering, collectors, encoding", Focus: `net/http\.\(\*conn\)\.serve|prometheus\.\(\*Registry\)\.Gather`},
}

// allCosts matches every function of costs.
func allCosts() string {
	var fs []string
	for _, c := range costs {
		fs = append(fs, c.Focus)
	}
	return strings.Join(fs, "|")
}

// Profiles is what the brokers' CPU profiles say metrics cost.
type Profiles struct {
	// Command is the pprof command that measured each share, with the
	// profiles as the harness named them.
	Command string `json:"command"`
	// OffSamples and OnSamples are pprof's total samples of each mode.
	OffSamples string `json:"off_samples"`
	OnSamples  string `json:"on_samples"`
	Costs      []Cost `json:"costs"`
	// Total is every function of Costs together (a sample counts once).
	Total Cost `json:"total"`
	// Files are the profiles, kept when Config.ProfileDir is set.
	Files []string `json:"files"`
}

var (
	showingRe = regexp.MustCompile(`Showing nodes accounting for \S+, ([0-9.]+)% of`)
	totalRe   = regexp.MustCompile(`Total samples = (\S+)`)
)

// focusShare runs pprof on files with focus and returns the share of the
// samples that passed through it (0 when none did) and the total.
func focusShare(ctx context.Context, files []string, focus string) (float64, string, error) {
	args := []string{"tool", "pprof", "-top", "-nodecount=100000", "-nodefraction=0", "-edgefraction=0", "-focus=" + focus}
	out, err := exec.CommandContext(ctx, "go", append(args, files...)...).CombinedOutput()
	if err != nil {
		return 0, "", fmt.Errorf("go tool pprof -focus=%s: %w\n%s", focus, err, out)
	}
	return parseFocus(string(out))
}

// parseFocus reads the share and the total samples from pprof -top -focus
// output.
func parseFocus(out string) (float64, string, error) {
	t := totalRe.FindStringSubmatch(out)
	if t == nil {
		return 0, "", fmt.Errorf("no total samples in pprof's output:\n%s", out)
	}
	if strings.Contains(out, "matched no samples") {
		return 0, t[1], nil
	}
	m := showingRe.FindStringSubmatch(out)
	if m == nil {
		return 0, t[1], fmt.Errorf("no share in pprof's output:\n%s", out)
	}
	v, err := strconv.ParseFloat(m[1], 64)
	return v, t[1], err
}

// measureProfiles computes the costs from the rounds' profiles.
func measureProfiles(ctx context.Context, rounds []Round) (*Profiles, error) {
	var files [2][]string // off, on
	for _, r := range rounds {
		for _, b := range r.Brokers {
			if b.Profile == "" {
				continue
			}
			m := 0
			if b.Mode == On {
				m = 1
			}
			files[m] = append(files[m], b.Profile)
		}
	}
	if len(files[0]) == 0 || len(files[1]) == 0 {
		return nil, nil
	}
	p := &Profiles{Command: "go tool pprof -top -nodecount=100000 -nodefraction=0 -edgefraction=0 -focus=REGEXP round-*-MODE.pprof",
		Total: Cost{What: "all of these", Focus: allCosts()}}
	for _, fs := range files {
		p.Files = append(p.Files, fs...)
	}
	share := func(c *Cost) error {
		var err error
		if c.Off, p.OffSamples, err = focusShare(ctx, files[0], c.Focus); err != nil {
			return err
		}
		c.On, p.OnSamples, err = focusShare(ctx, files[1], c.Focus)
		return err
	}
	for _, c := range costs {
		if err := share(&c); err != nil {
			return nil, err
		}
		p.Costs = append(p.Costs, c)
	}
	if err := share(&p.Total); err != nil {
		return nil, err
	}
	return p, nil
}

// profileName is where a round's broker writes its profile.
func profileName(dir string, round int, mode string) string {
	return filepath.Join(dir, fmt.Sprintf("round-%02d-%s.pprof", round, mode))
}
