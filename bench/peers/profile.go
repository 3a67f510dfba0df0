package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"sort"
	"strings"

	"github.com/sluicelog/sluice/bench/perf"
)

// Profile is the explanation of a figure where Sluice is behind: CPU
// profiles of the broker and of the client over a second run of the
// workload, summarised by `go tool pprof -top`.
type Profile struct {
	Scenario string `json:"scenario"`
	Workload string `json:"workload"`
	Why      string `json:"why"`
	// Result is the profiled run's (profiling costs a few percent).
	Result    *perf.Result `json:"result"`
	BrokerCmd string       `json:"broker_cmd"`
	BrokerTop string       `json:"broker_top"`
	ClientCmd string       `json:"client_cmd"`
	ClientTop string       `json:"client_top"`
}

// profileSelf CPU-profiles this process into path until the returned
// function is called.
func profileSelf(path string) (func(), error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}

// pprofTop runs `go tool pprof -top` on a profile of bin and returns the
// command and its output.
func pprofTop(ctx context.Context, bin, profile string) (string, string, error) {
	argv := []string{"go", "tool", "pprof", "-top", "-nodecount=15", bin, profile}
	out, err := exec.CommandContext(ctx, argv[0], argv[1:]...).Output()
	cmd := "go tool pprof -top -nodecount=15 " + filepath.Base(bin) + " " + filepath.Base(profile)
	if err != nil {
		return cmd, "", fmt.Errorf("%s: %w", strings.Join(argv, " "), err)
	}
	return cmd, strings.TrimRight(string(out), "\n"), nil
}

// profileScale multiplies the records of a profiled run.
const profileScale = 4

// candidate is a figure where Sluice is behind.
type candidate struct {
	scenario, workload, why string
	ratio                   float64
}

// behind lists Sluice's figures that trail a peer, worst first, then
// those farthest from their limit.
func (s *Suite) behind() []candidate {
	var peers, limits []candidate
	for _, sc := range s.Scenarios {
		for _, w := range []string{perf.Produce, perf.Consume} {
			me := s.find(sc.ID, sysSluice, w)
			if me == nil || me.Result == nil || me.Err != "" {
				continue
			}
			for _, sys := range []string{sysKfake, sysNATS} {
				o := s.find(sc.ID, sys, w)
				if o == nil || o.Result == nil || o.Err != "" || o.Result.MBPerSec <= 0 {
					continue
				}
				if r := me.Result.MBPerSec / o.Result.MBPerSec; r < 1 {
					peers = append(peers, candidate{sc.ID, w, fmt.Sprintf("Sluice %s is at %.2f of %s", w, r, sys), r})
				}
			}
			if lim := s.limit(limitFor(sc, w)); lim > 0 {
				if r := me.Result.MBPerSec / lim; r < 0.5 {
					limits = append(limits, candidate{sc.ID, w, fmt.Sprintf("Sluice %s is at %.2f of the %s limit", w, r, limitFor(sc, w)), r})
				}
			}
		}
	}
	sort.Slice(peers, func(i, j int) bool { return peers[i].ratio < peers[j].ratio })
	sort.Slice(limits, func(i, j int) bool { return limits[i].ratio < limits[j].ratio })
	return append(peers, limits...)
}

// limitFor names the limit a workload of a scenario is compared with.
func limitFor(sc scenario, workload string) string {
	switch {
	case workload == perf.Consume:
		return "sendfile"
	case sc.Durable:
		return "file write, fdatasync each"
	}
	return "tcp loopback"
}

// profileRun runs Sluice through one workload of a scenario again with
// both sides profiled. For consume, the data is produced by a broker
// without a profile, which is then restarted on the same directory with
// one, so the broker's profile covers the consume alone.
func (r *runner) profileRun(ctx context.Context, sc scenario, c candidate, dir string) (Profile, error) {
	pr := Profile{Scenario: sc.ID, Workload: c.workload, Why: c.why}
	// Four times the records, so that a run of a second or less still
	// leaves the profiles a few hundred samples.
	if sc.Seconds == 0 {
		sc.Records *= profileScale
	}
	data := filepath.Join(dir, "profile-"+sc.ID+"-"+c.workload)
	if err := os.MkdirAll(data, 0o755); err != nil {
		return pr, err
	}
	defer os.RemoveAll(data)
	prefix := filepath.Join(dir, sc.ID+"-"+c.workload)
	if c.workload == perf.Consume {
		srv, err := startSluiced(ctx, r.sluiced, data, "")
		if err != nil {
			return pr, err
		}
		_, err = sluiceRun(ctx, srv.addr, sc.config(perf.Produce), nil)
		if serr := srv.stop(); err == nil {
			err = serr
		}
		if err != nil {
			return pr, err
		}
	}
	srv, err := startSluiced(ctx, r.sluiced, data, prefix+".broker.pprof")
	if err != nil {
		return pr, err
	}
	stop, err := profileSelf(prefix + ".client.pprof")
	if err != nil {
		srv.stop()
		return pr, err
	}
	pr.Result, err = sluiceRun(ctx, srv.addr, sc.config(c.workload), nil)
	stop()
	if serr := srv.stop(); err == nil {
		err = serr
	}
	if err != nil {
		return pr, err
	}
	if pr.BrokerCmd, pr.BrokerTop, err = pprofTop(ctx, r.sluiced, prefix+".broker.pprof"); err != nil {
		return pr, err
	}
	self, err := os.Executable()
	if err != nil {
		return pr, err
	}
	pr.ClientCmd, pr.ClientTop, err = pprofTop(ctx, self, prefix+".client.pprof")
	return pr, err
}
