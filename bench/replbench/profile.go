package replbench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Profile is a profiled run of RF 3 acks=all at a record size whose ratio
// missed the target: a fresh cluster whose brokers write CPU profiles, one
// max-throughput run, and where the brokers' CPU went.
type Profile struct {
	Size int        `json:"record_bytes"`
	Run  ProduceRun `json:"run"`
	// Command is the pprof command whose output Top is, with the
	// profiles named as the harness wrote them (removed after the run).
	Command string `json:"command"`
	Top     string `json:"top"`
	// Total is pprof's "Total samples" line: the brokers' CPU time.
	Total string `json:"total"`
	// Buckets are the shares of the brokers' CPU samples spent under
	// chosen functions (pprof's cum%, the three profiles merged).
	Buckets []Bucket `json:"buckets"`
}

// Bucket is the share of the CPU samples spent in a function and what it
// calls.
type Bucket struct {
	What  string  `json:"what"`
	Func  string  `json:"func"`
	Share float64 `json:"share_pct"`
}

// buckets are the functions whose cumulative share says where a
// replicated produce's broker CPU goes.
var buckets = []Bucket{
	{What: "produce requests on the leader, its append included", Func: "github.com/sluicelog/sluice/net/request.(*Handler).Produce"},
	{What: "leader appends", Func: "github.com/sluicelog/sluice/engine.(*Partition).Append"},
	{What: "follower fetch loop, its appends included", Func: "github.com/sluicelog/sluice/net/replica.(*fetcher).run"},
	{What: "follower appends", Func: "github.com/sluicelog/sluice/engine.(*Partition).AppendReplica"},
	{What: "pwrite(2) of segment bytes, leader and follower appends together", Func: "syscall.pwrite"},
	{What: "followers reading fetch responses", Func: "github.com/sluicelog/sluice/net/replica.(*kconn).roundTrip"},
	{What: "leaders serving replica fetches (sendfile)", Func: "github.com/sluicelog/sluice/net/kafka.(*conn).fetch"},
	{What: "CRC-32C of batches (leader validation and follower check)", Func: "hash/crc32.update"},
	{What: "metadata quorum (raft)", Func: "github.com/hashicorp/raft.(*raftState).goFunc.func1"},
	{What: "garbage collection", Func: "runtime.gcBgMarkWorker"},
}

// profileMisses profiles RF 3 acks=all at every record size whose ratio
// missed the target, each on a fresh cluster.
func (r *runner) profileMisses(ctx context.Context, bin, dir string) error {
	var target Producing
	for _, p := range Configurations {
		if p.Target {
			target = p
		}
	}
	for _, ratio := range r.rep.Ratios() {
		if ratio.Median >= TargetRatio {
			continue
		}
		r.cfg.Logf("replbench: profiling %s at %d B", target.Label(), ratio.Size)
		pdir := filepath.Join(dir, fmt.Sprintf("profile-%d", ratio.Size))
		if err := os.MkdirAll(pdir, 0o755); err != nil {
			return err
		}
		prof, err := r.profileOnce(ctx, bin, pdir, target, ratio.Size)
		if err != nil {
			return fmt.Errorf("profiling %d B: %w", ratio.Size, err)
		}
		r.rep.Profile = append(r.rep.Profile, prof)
	}
	return nil
}

func (r *runner) profileOnce(ctx context.Context, bin, dir string, p Producing, size int) (Profile, error) {
	prof := Profile{Size: size}
	c, err := startCluster(ctx, bin, dir, r.rep.Properties, dir, r.cfg.Logf)
	if err != nil {
		return prof, err
	}
	pr := &runner{cfg: r.cfg, rep: &Report{}, c: c}
	run, err := func() (ProduceRun, error) {
		adm, err := kgo.NewClient(kgo.SeedBrokers(c.seeds()...))
		if err != nil {
			return ProduceRun{}, err
		}
		defer adm.Close()
		if err := pr.createTopic(ctx, kadm.NewClient(adm), p); err != nil {
			return ProduceRun{}, err
		}
		if _, err := pr.produce(ctx, p, size, 0, r.cfg.Duration/4, 0); err != nil {
			return ProduceRun{}, err
		}
		return pr.produce(ctx, p, size, 0, r.cfg.Duration, 1)
	}()
	// SIGTERM ends the profiles cleanly.
	if cerr := c.close(); err == nil {
		err = cerr
	}
	if err != nil {
		return prof, err
	}
	prof.Run = run
	var files, names []string
	for _, nd := range c.nodes {
		files = append(files, nd.profile+".pprof")
		names = append(names, filepath.Base(nd.profile)+".pprof")
	}
	top := []string{"tool", "pprof", "-top", "-nodecount=15"}
	out, err := exec.CommandContext(ctx, "go", append(top, files...)...).Output()
	if err != nil {
		return prof, fmt.Errorf("go tool pprof: %w", err)
	}
	prof.Command = "go " + strings.Join(append(top, names...), " ")
	prof.Top = keepTop(string(out))
	cum := []string{"tool", "pprof", "-top", "-cum", "-nodecount=100000", "-nodefraction=0", "-edgefraction=0"}
	out, err = exec.CommandContext(ctx, "go", append(cum, files...)...).Output()
	if err != nil {
		return prof, fmt.Errorf("go tool pprof: %w", err)
	}
	shares := map[string]float64{}
	for _, line := range strings.Split(string(out), "\n") {
		if strings.Contains(line, "Total samples") {
			_, t, _ := strings.Cut(line, "Total samples = ")
			prof.Total, _, _ = strings.Cut(t, " ")
		}
		f := strings.Fields(line)
		if len(f) < 6 || !strings.HasSuffix(f[4], "%") {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSuffix(f[4], "%"), 64)
		if err != nil {
			continue
		}
		shares[strings.TrimSuffix(strings.Join(f[5:], " "), " (inline)")] = v
	}
	for _, b := range buckets {
		b.Share = shares[b.Func]
		prof.Buckets = append(prof.Buckets, b)
	}
	return prof, nil
}

// keepTop drops pprof's File, Build ID and Time lines (they name the
// temporary binary and the moment) and keeps the rest verbatim.
func keepTop(s string) string {
	var out []string
	for _, line := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		if strings.HasPrefix(line, "File: ") || strings.HasPrefix(line, "Build ID: ") || strings.HasPrefix(line, "Time: ") {
			continue
		}
		out = append(out, line)
	}
	return strings.Join(out, "\n")
}
