package partbench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sluicelog/sluice/bench/sluicedproc"
	"github.com/sluicelog/sluice/bench/units"
	"github.com/sluicelog/sluice/net/client"
)

// Snap is a broker process's resources at one moment.
type Snap struct {
	Taken bool
	FDs   int
	Maps  int
	RSS   int64 // VmRSS, bytes
}

// Latency is a median over Requests requests of one kind.
type Latency struct {
	Requests   int
	MedianUs   float64
	Partitions int // in each answer
	Bytes      int // of each answer
}

// Flow is what a run of produce or fetch requests moved.
type Flow struct {
	Requests int
	Batches  int
	Bytes    int64
	Seconds  float64
}

// MBps is the flow's rate in 10^6 bytes a second.
func (f Flow) MBps() float64 {
	if f.Seconds <= 0 {
		return 0
	}
	return float64(f.Bytes) / 1e6 / f.Seconds
}

// Restart is one start of the broker on an existing data directory.
type Restart struct {
	Done bool
	// Started is from exec to the "broker started" line, Serves to the
	// first all-topics Metadata answer that lists every partition, both
	// in seconds.
	Started, Serves float64
	// EngineTook and Recovered are the engine_opened line's took and
	// partitions_recovered (-1 when the line was not seen).
	EngineTook float64
	Recovered  int
	Err        string
}

// Point is one partition count's measurements. Fields stay zero (and
// Snaps untaken) for what the point did not reach.
type Point struct {
	N      int
	Topics int
	// Created is the partitions whose topics were created; a failed
	// create leaves CreateErr, the broker's answer.
	Created       int
	CreateSeconds float64
	CreateErr     string
	// Err is what else ended the point early (a broker that would not
	// start, a refused produce, ...).
	Err string
	// Base is the empty broker; AfterCreate right after the creates;
	// AfterIdle once idle for Config.Idle; Active after produce and
	// fetch across the active partitions.
	Base, AfterCreate, AfterIdle, Active Snap
	IdleSeconds                          float64
	DiskUsed                             int64 // du of the data directory after the creates
	DiskEntries                          int
	// DiskActive and ActiveEntries are the same after produce and fetch.
	DiskActive       int64
	ActiveEntries    int
	DiskFree         int64
	MetaOne, MetaAll Latency
	ActivePartitions int
	// FirstRound is the first produce round across the active
	// partitions, right after the idle wait; ProduceMany and the rest
	// follow it.
	FirstRound              Flow
	ProduceMany, ProduceOne Flow
	FetchMany, FetchOne     Flow
	// Files are the file system's limits beside the produce and fetch
	// figures: the same batches written with write(2) to as many files as
	// active partitions, one each, against to one file, and read back
	// with pread(2) the same ways.
	Files fileLimits
	// StopSeconds is a clean shutdown (SIGTERM to exit).
	StopSeconds   float64
	Clean, Killed Restart
}

// Failed reports whether the point ended early.
func (p *Point) Failed() bool { return p.CreateErr != "" || p.Err != "" }

// Failure says how the point ended early.
func (p *Point) Failure() string {
	if p.CreateErr != "" {
		// Err then holds only how the broker exited, if it did.
		return strings.TrimSpace(fmt.Sprintf("creating topics failed after %d of %d partitions: %s %s", p.Created, p.N, p.CreateErr, p.Err))
	}
	return p.Err
}

// CreateRate is partitions created a second.
func (p *Point) CreateRate() float64 {
	if p.CreateSeconds <= 0 {
		return 0
	}
	return float64(p.Created) / p.CreateSeconds
}

// RSSPerPartition is what an idle partition adds to the broker's RSS, in
// bytes: the RSS after the idle wait less the empty broker's, over N.
func (p *Point) RSSPerPartition() float64 {
	if !p.AfterIdle.Taken || !p.Base.Taken || p.Created == 0 {
		return 0
	}
	return float64(p.AfterIdle.RSS-p.Base.RSS) / float64(p.Created)
}

type sweep struct {
	ctx       context.Context
	cfg       Config
	rep       *Report
	dir       string
	bin       string // what is exec'd: sluiced, or its ulimit wrapper
	realBin   string
	props     string
	overrides []string
}

const (
	oneTopic     = "partbench-one"
	startTimeout = 20 * time.Minute
	callTimeout  = 5 * time.Minute
)

func topicName(i int) string { return fmt.Sprintf("partbench-%05d", i) }

// engineLog keeps what the broker's engine_opened line said.
type engineLog struct {
	mu        sync.Mutex
	seen      bool
	took      float64
	recovered int
}

var (
	tookRe      = regexp.MustCompile(`\btook=(\S+)`)
	recoveredRe = regexp.MustCompile(`\bpartitions_recovered=(\d+)`)
)

func (l *engineLog) line(s string, _ time.Time) {
	if !strings.Contains(s, "event=engine_opened") {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.seen, l.took, l.recovered = true, -1, -1
	if m := tookRe.FindStringSubmatch(s); m != nil {
		if d, err := time.ParseDuration(m[1]); err == nil {
			l.took = d.Seconds()
		}
	}
	if m := recoveredRe.FindStringSubmatch(s); m != nil {
		l.recovered, _ = strconv.Atoi(m[1])
	}
}

func (s *sweep) start(data string, l *engineLog) (*sluicedproc.Proc, error) {
	o := sluicedproc.Options{Bin: s.bin, DataDir: data, Config: s.props, Overrides: s.overrides, StartTimeout: startTimeout}
	if l != nil {
		o.OnLine = l.line
	}
	b, err := sluicedproc.Start(s.ctx, o)
	if err != nil {
		if s.rep.BrokerCommand == "" {
			// What sluicedproc runs, for the report of a broker that never
			// started.
			argv := append([]string{s.bin, "--config", s.props, "--data-dir", data, "--listen", "127.0.0.1:0", "--kafka-listen", "127.0.0.1:0"},
				overrideArgs(s.overrides)...)
			s.rep.BrokerCommand = s.display(argv, data)
		}
		return nil, err
	}
	if s.rep.NoFile == "" {
		s.rep.BrokerCommand = s.display(b.Argv, data)
		s.rep.NoFile = nofileLimit(b.PID())
	}
	return b, nil
}

func overrideArgs(ovs []string) []string {
	var out []string
	for _, ov := range ovs {
		out = append(out, "--override", ov)
	}
	return out
}

// display is a broker's command line as the report prints it: no
// temporary paths, and the ulimit wrapper spelled out.
func (s *sweep) display(argv []string, data string) string {
	cmd := strings.NewReplacer(s.bin, "sluiced", data, "$tmp/data", s.props, "cmd/sluiced/sluiced.properties").Replace(strings.Join(argv, " "))
	if s.cfg.NoFile > 0 {
		cmd = fmt.Sprintf("sh -c 'ulimit -n %d; exec %s'", s.cfg.NoFile, cmd)
	}
	return cmd
}

func snap(b *sluicedproc.Proc) (Snap, error) {
	var sn Snap
	var err error
	if sn.FDs, err = countFDs(b.PID()); err != nil {
		return sn, err
	}
	if sn.Maps, err = countMaps(b.PID()); err != nil {
		return sn, err
	}
	if sn.RSS, err = statusKB(b.PID(), "VmRSS"); err != nil {
		return sn, err
	}
	sn.Taken = true
	return sn, nil
}

// point measures n partitions on a fresh data directory, removed after.
// Whatever goes wrong is kept in the Point; the broker is always gone
// when it returns.
func (s *sweep) point(n int) *Point {
	pt := &Point{N: n, Topics: (n + s.cfg.TopicPartitions - 1) / s.cfg.TopicPartitions}
	data := filepath.Join(s.dir, "data-"+strconv.Itoa(n))
	defer os.RemoveAll(data)
	var b *sluicedproc.Proc
	defer func() {
		if b != nil {
			b.Kill()
		}
	}()
	if err := s.measure(pt, data, &b); err != nil {
		if pt.Err == "" && pt.CreateErr == "" {
			pt.Err = err.Error()
		}
		if b != nil && b.Exited() {
			pt.Err = strings.TrimSpace(pt.Err + fmt.Sprintf(" (the broker exited: %v; its last lines:\n%s)", b.WaitErr(), b.Tail()))
		}
		s.cfg.Logf("N=%d: %s", n, pt.Failure())
	}
	return pt
}

func (s *sweep) logf(pt *Point, format string, args ...any) {
	s.cfg.Logf("N=%d: "+format, append([]any{pt.N}, args...)...)
}

func (s *sweep) measure(pt *Point, data string, bp **sluicedproc.Proc) error {
	b, err := s.start(data, nil)
	if err != nil {
		return err
	}
	*bp = b
	// The empty broker: what every later snapshot is compared with.
	if pt.Base, err = snap(b); err != nil {
		return err
	}
	adm, err := client.New(s.ctx, client.Config{BootstrapServers: []string{b.Addr}, RequestTimeout: callTimeout})
	if err != nil {
		return err
	}
	defer adm.Close()

	// Create: topics of TopicPartitions, one CreateTopics request each,
	// through the admin client, as `sluice topics create` sends them.
	t0 := time.Now()
	for i := range pt.Topics {
		size := min(s.cfg.TopicPartitions, pt.N-i*s.cfg.TopicPartitions)
		if err := adm.CreateTopic(s.ctx, topicName(i), int32(size), 1, nil); err != nil {
			pt.CreateSeconds = time.Since(t0).Seconds()
			pt.CreateErr = fmt.Sprintf("topic %s (%d partitions): %v", topicName(i), size, err)
			// What the failed create left behind is a finding too.
			pt.AfterCreate, _ = snap(b)
			pt.DiskUsed, pt.DiskEntries, _ = diskUsage(data)
			pt.DiskFree, _ = freeBytes(s.dir)
			return errors.New(pt.CreateErr)
		}
		pt.Created += size
	}
	pt.CreateSeconds = time.Since(t0).Seconds()
	if pt.AfterCreate, err = snap(b); err != nil {
		return err
	}
	if pt.DiskUsed, pt.DiskEntries, err = diskUsage(data); err != nil {
		return err
	}
	if pt.DiskFree, err = freeBytes(s.dir); err != nil {
		return err
	}
	s.logf(pt, "created %d partitions in %.2f s (%.0f/s): %d fds, %d maps, RSS %.1f MiB, du %.1f MiB, %.1f GiB free",
		pt.Created, pt.CreateSeconds, pt.CreateRate(), pt.AfterCreate.FDs, pt.AfterCreate.Maps, float64(pt.AfterCreate.RSS)/(1<<20),
		float64(pt.DiskUsed)/(1<<20), gib(pt.DiskFree))

	// Idle: nothing is sent for Config.Idle, then until the descriptor
	// count stops falling.
	t0 = time.Now()
	if err := s.idle(b); err != nil {
		return err
	}
	pt.IdleSeconds = time.Since(t0).Seconds()
	if pt.AfterIdle, err = snap(b); err != nil {
		return err
	}
	s.logf(pt, "idle %.0f s: %d fds, %d maps, RSS %.1f MiB (%.0f B per partition over the empty broker)", pt.IdleSeconds,
		pt.AfterIdle.FDs, pt.AfterIdle.Maps, float64(pt.AfterIdle.RSS)/(1<<20), pt.RSSPerPartition())

	w, err := dial(b.Addr)
	if err != nil {
		return err
	}
	defer func() { w.Close() }()
	if pt.MetaOne, err = s.metaLatency(w, []string{topicName(0)}); err != nil {
		return fmt.Errorf("Metadata of one topic: %w", err)
	}
	if pt.MetaAll, err = s.metaLatency(w, nil); err != nil {
		return fmt.Errorf("Metadata of every topic: %w", err)
	}
	s.logf(pt, "Metadata: one topic %.0f us (%d requests), all %d partitions %.0f us (%d requests, %d B)", pt.MetaOne.MedianUs,
		pt.MetaOne.Requests, pt.MetaAll.Partitions, pt.MetaAll.MedianUs, pt.MetaAll.Requests, pt.MetaAll.Bytes)

	if err := adm.CreateTopic(s.ctx, oneTopic, 1, 1, nil); err != nil {
		return fmt.Errorf("creating %s: %w", oneTopic, err)
	}
	wl, err := s.workload(pt)
	if err != nil {
		return err
	}
	if err := wl.run(w, pt, s.cfg.Rounds); err != nil {
		return err
	}
	if pt.Files, err = measureFileLimits(s.dir, pt.ActivePartitions, s.cfg.TopicPartitions, wl.batch, s.cfg.Rounds); err != nil {
		return err
	}
	if pt.Active, err = snap(b); err != nil {
		return err
	}
	if pt.DiskActive, pt.ActiveEntries, err = diskUsage(data); err != nil {
		return err
	}
	s.logf(pt, "%d active partitions: first round %.1f MB/s, then produce %.1f MB/s against %.1f to one (%.2fx), fetch %.1f against %.1f (%.2fx); %d fds, %d maps",
		pt.ActivePartitions, pt.FirstRound.MBps(), pt.ProduceMany.MBps(), pt.ProduceOne.MBps(), units.Ratio(pt.ProduceOne.MBps(), pt.ProduceMany.MBps()),
		pt.FetchMany.MBps(), pt.FetchOne.MBps(), units.Ratio(pt.FetchOne.MBps(), pt.FetchMany.MBps()), pt.Active.FDs, pt.Active.Maps)
	w.Close()
	adm.Close()

	// Restart after a clean shutdown.
	t0 = time.Now()
	if _, err := b.Stop(startTimeout); err != nil {
		return fmt.Errorf("clean shutdown: %w", err)
	}
	pt.StopSeconds = time.Since(t0).Seconds()
	total := pt.Created + 1
	if pt.Clean, b, err = s.restart(data, total); err != nil {
		*bp = b
		return fmt.Errorf("restart after a clean shutdown: %w", err)
	}
	*bp = b
	s.logf(pt, "clean shutdown %.2f s; restart: started %.2f s, serves %.2f s, engine_opened took %.2f s", pt.StopSeconds,
		pt.Clean.Started, pt.Clean.Serves, pt.Clean.EngineTook)

	// Restart after kill -9, with a record in every active partition
	// since the clean start.
	if w, err = dial(b.Addr); err != nil {
		return err
	}
	if err := wl.produceMany(w); err != nil {
		return fmt.Errorf("produce before kill -9: %w", err)
	}
	b.Kill()
	if pt.Killed, b, err = s.restart(data, total); err != nil {
		*bp = b
		return fmt.Errorf("restart after kill -9: %w", err)
	}
	*bp = b
	s.logf(pt, "kill -9; restart: started %.2f s, serves %.2f s, engine_opened took %.2f s, %d partitions recovered",
		pt.Killed.Started, pt.Killed.Serves, pt.Killed.EngineTook, pt.Killed.Recovered)
	if _, err := b.Stop(startTimeout); err != nil {
		return fmt.Errorf("final shutdown: %w", err)
	}
	return nil
}

// idle waits Config.Idle, then, up to another Config.Idle, until a
// second goes by without the broker's descriptor count falling: a
// close-down that has begun is seen to its end.
func (s *sweep) idle(b *sluicedproc.Proc) error {
	if err := sleep(s.ctx, s.cfg.Idle); err != nil {
		return err
	}
	deadline := time.Now().Add(s.cfg.Idle)
	last, err := countFDs(b.PID())
	if err != nil {
		return err
	}
	for time.Now().Before(deadline) {
		if err := sleep(s.ctx, time.Second); err != nil {
			return err
		}
		n, err := countFDs(b.PID())
		if err != nil {
			return err
		}
		if n >= last {
			return nil
		}
		last = n
	}
	return nil
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// restart starts the broker on data and times it until it serves: an
// all-topics Metadata answer that lists want partitions.
func (s *sweep) restart(data string, want int) (Restart, *sluicedproc.Proc, error) {
	var r Restart
	l := &engineLog{took: -1, recovered: -1}
	t0 := time.Now()
	b, err := s.start(data, l)
	if err != nil {
		r.Err = err.Error()
		return r, nil, err
	}
	r.Started = time.Since(t0).Seconds()
	deadline := t0.Add(startTimeout)
	var last error
	for {
		if w, err := dial(b.Addr); err == nil {
			got, _, err := w.metadata(nil, callTimeout)
			w.Close()
			if err == nil && got >= want {
				break
			}
			last = err
			if err == nil {
				last = fmt.Errorf("%d of %d partitions listed", got, want)
			}
		} else {
			last = err
		}
		if time.Now().After(deadline) || b.Exited() {
			r.Err = fmt.Sprintf("not serving every partition within %v: %v", startTimeout, last)
			return r, b, errors.New(r.Err)
		}
		if err := sleep(s.ctx, 10*time.Millisecond); err != nil {
			return r, b, err
		}
	}
	r.Serves = time.Since(t0).Seconds()
	l.mu.Lock()
	r.EngineTook, r.Recovered = l.took, l.recovered
	l.mu.Unlock()
	r.Done = true
	return r, b, nil
}

// metaLatency times Metadata requests for topics (nil: all) until
// MetaRequests are done or MetaBudget is spent (at least 5), and returns
// the median.
func (s *sweep) metaLatency(w *wire, topics []string) (Latency, error) {
	var l Latency
	var us []float64
	t0 := time.Now()
	for len(us) < s.cfg.MetaRequests && (len(us) < 5 || time.Since(t0) < s.cfg.MetaBudget) {
		r0 := time.Now()
		parts, size, err := w.metadata(topics, callTimeout)
		if err != nil {
			return l, err
		}
		us = append(us, float64(time.Since(r0).Nanoseconds())/1e3)
		l.Partitions, l.Bytes = parts, size
	}
	l.Requests, l.MedianUs = len(us), units.Median(us)
	return l, nil
}
