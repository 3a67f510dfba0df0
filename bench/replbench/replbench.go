package replbench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/sluicelog/sluice/bench/hostinfo"
)

// Timeouts are the cluster's failure-detection settings: Kafka's property
// names, tuned for three brokers on one machine. Each is printed beside
// Kafka's default in the report.
type Timeouts struct {
	// SessionTimeout is broker.session.timeout.ms: the active controller
	// fences a broker whose last heartbeat is older, which moves its
	// leaderships to other in-sync replicas.
	SessionTimeout time.Duration
	// HeartbeatInterval is broker.heartbeat.interval.ms.
	HeartbeatInterval time.Duration
	// ReplicaLagMax is replica.lag.time.max.ms: a follower not caught up
	// for this long leaves the ISR.
	ReplicaLagMax time.Duration
	// ReplicaFetchBackoff is replica.fetch.backoff.ms: a follower's pause
	// after a failed fetch.
	ReplicaFetchBackoff time.Duration
	// QuorumFetchTimeout and QuorumElectionTimeout are
	// controller.quorum.fetch.timeout.ms and
	// controller.quorum.election.timeout.ms: how soon the metadata quorum
	// replaces a dead active controller.
	QuorumFetchTimeout    time.Duration
	QuorumElectionTimeout time.Duration
}

// DefaultTimeouts are the harness's local-cluster settings: Kafka's
// session and heartbeat scaled down 9x and 10x (a heartbeat every 200 ms,
// fenced after 1 s without one), the ISR lag bound cut from 30 s to 10 s,
// the fetch backoff from 1 s to 100 ms, and the quorum's fetch and
// election timeouts from 2 s and 1 s to 300 and 600 ms.
func DefaultTimeouts() Timeouts {
	return Timeouts{
		SessionTimeout:        time.Second,
		HeartbeatInterval:     200 * time.Millisecond,
		ReplicaLagMax:         10 * time.Second,
		ReplicaFetchBackoff:   100 * time.Millisecond,
		QuorumFetchTimeout:    300 * time.Millisecond,
		QuorumElectionTimeout: 600 * time.Millisecond,
	}
}

// properties renders t as broker properties.
func (t Timeouts) properties() []string {
	return []string{
		fmt.Sprintf("broker.session.timeout.ms=%d", t.SessionTimeout.Milliseconds()),
		fmt.Sprintf("broker.heartbeat.interval.ms=%d", t.HeartbeatInterval.Milliseconds()),
		fmt.Sprintf("replica.lag.time.max.ms=%d", t.ReplicaLagMax.Milliseconds()),
		fmt.Sprintf("replica.fetch.backoff.ms=%d", t.ReplicaFetchBackoff.Milliseconds()),
		fmt.Sprintf("controller.quorum.fetch.timeout.ms=%d", t.QuorumFetchTimeout.Milliseconds()),
		fmt.Sprintf("controller.quorum.election.timeout.ms=%d", t.QuorumElectionTimeout.Milliseconds()),
	}
}

// Config is one run. Zero fields take the defaults below, but for the
// failover rounds.
type Config struct {
	// Sluiced is the broker binary; empty builds ./cmd/sluiced of the
	// module the harness runs in.
	Sluiced string
	// Dir is the parent of the temporary data directories (os.TempDir()
	// when empty); they are removed at the end.
	Dir string
	// Partitions is the partition count of the throughput topics.
	Partitions int
	// Sizes are the record sizes (value bytes, no key) to measure.
	Sizes []int
	// Duration is how long each max-throughput run produces; Rounds is
	// how many runs of each configuration and size, interleaved.
	Duration time.Duration
	Rounds   int
	// RateMBs is the fixed rate of the latency runs in payload MB/s
	// (10^6 bytes), the same for every size and configuration;
	// RateDuration is how long each runs.
	RateMBs      float64
	RateDuration time.Duration
	// FailoverRounds is how many times a partition leader that is not the
	// active controller is killed; ControllerRounds how many times the
	// leader killed is the active controller too. Unlike the other
	// fields, zero means none (DefaultFailoverRounds and
	// DefaultControllerRounds are the command's defaults).
	FailoverRounds   int
	ControllerRounds int
	// Timeouts are the brokers' failure-detection settings.
	Timeouts Timeouts
	// Linger, BatchBytes and BufferBytes are the producers'
	// linger.ms, batch.size and buffer.memory (kgo's ProducerLinger,
	// ProducerBatchMaxBytes and MaxBufferedBytes).
	Linger      time.Duration
	BatchBytes  int
	BufferBytes int
	// RetryBackoff and MetadataMinAge are the failover producer's
	// retry.backoff.ms and the shortest time between its metadata
	// refreshes (kgo's RetryBackoffFn, constant, and MetadataMinAge).
	RetryBackoff   time.Duration
	MetadataMinAge time.Duration
	// Configs limits the throughput runs to these configurations (names
	// of Configurations); empty runs them all.
	Configs []string
	// ProfileDir, if set, makes each broker write a CPU profile of its
	// whole run there (sluiced --cpuprofile), kept after the run.
	ProfileDir string
	// ProfileMisses, if set, profiles RF 3 acks=all again, on a fresh
	// cluster whose brokers write CPU profiles, at every record size whose
	// ratio missed TargetRatio, and reports where the brokers' CPU went.
	ProfileMisses bool
	// Command is the command line printed with the figures.
	Command string
	// Logf, if set, receives progress lines.
	Logf func(format string, args ...any) `json:"-"`
}

// Defaults of Config, which are also the command's flag defaults.
const (
	DefaultPartitions       = 3
	DefaultDuration         = 4 * time.Second
	DefaultRounds           = 2
	DefaultRateMBs          = 5
	DefaultRateDuration     = 4 * time.Second
	DefaultFailoverRounds   = 5
	DefaultControllerRounds = 2
	DefaultLinger           = 5 * time.Millisecond
	DefaultBatchBytes       = 256 << 10
	DefaultBufferBytes      = 32 << 20
	DefaultRetryBackoff     = 100 * time.Millisecond
	DefaultMetadataMinAge   = 100 * time.Millisecond
)

// DefaultSizes are the record sizes measured by default.
var DefaultSizes = []int{100, 1024}

func (c *Config) setDefaults() {
	if c.Partitions <= 0 {
		c.Partitions = DefaultPartitions
	}
	if len(c.Sizes) == 0 {
		c.Sizes = DefaultSizes
	}
	if c.Duration <= 0 {
		c.Duration = DefaultDuration
	}
	if c.Rounds <= 0 {
		c.Rounds = DefaultRounds
	}
	if c.RateMBs <= 0 {
		c.RateMBs = DefaultRateMBs
	}
	if c.RateDuration <= 0 {
		c.RateDuration = DefaultRateDuration
	}
	if c.FailoverRounds < 0 {
		c.FailoverRounds = 0
	}
	if c.ControllerRounds < 0 {
		c.ControllerRounds = 0
	}
	d := DefaultTimeouts()
	if c.Timeouts.SessionTimeout <= 0 {
		c.Timeouts.SessionTimeout = d.SessionTimeout
	}
	if c.Timeouts.HeartbeatInterval <= 0 {
		c.Timeouts.HeartbeatInterval = d.HeartbeatInterval
	}
	if c.Timeouts.ReplicaLagMax <= 0 {
		c.Timeouts.ReplicaLagMax = d.ReplicaLagMax
	}
	if c.Timeouts.ReplicaFetchBackoff <= 0 {
		c.Timeouts.ReplicaFetchBackoff = d.ReplicaFetchBackoff
	}
	if c.Timeouts.QuorumFetchTimeout <= 0 {
		c.Timeouts.QuorumFetchTimeout = d.QuorumFetchTimeout
	}
	if c.Timeouts.QuorumElectionTimeout <= 0 {
		c.Timeouts.QuorumElectionTimeout = d.QuorumElectionTimeout
	}
	if c.Linger <= 0 {
		c.Linger = DefaultLinger
	}
	if c.BatchBytes <= 0 {
		c.BatchBytes = DefaultBatchBytes
	}
	if c.BufferBytes <= 0 {
		c.BufferBytes = DefaultBufferBytes
	}
	if c.RetryBackoff <= 0 {
		c.RetryBackoff = DefaultRetryBackoff
	}
	if c.MetadataMinAge <= 0 {
		c.MetadataMinAge = DefaultMetadataMinAge
	}
	if c.Logf == nil {
		c.Logf = func(string, ...any) {}
	}
}

func (c *Config) validate() error {
	for _, s := range c.Sizes {
		if s < 1 || s > 1<<20 {
			return fmt.Errorf("replbench: record size %d is not in [1, 1 MiB]", s)
		}
	}
	for _, name := range c.Configs {
		if !slices.ContainsFunc(Configurations, func(p Producing) bool { return p.Name == name }) {
			return fmt.Errorf("replbench: no configuration %q (have %s)", name, configNames())
		}
	}
	if c.Timeouts.HeartbeatInterval >= c.Timeouts.SessionTimeout {
		return fmt.Errorf("replbench: heartbeat interval %v must be below the session timeout %v", c.Timeouts.HeartbeatInterval, c.Timeouts.SessionTimeout)
	}
	return nil
}

// Producing is one configuration of the throughput runs: a topic's
// replication factor and min.insync.replicas, and the producer's acks.
type Producing struct {
	Name     string `json:"name"`
	Topic    string `json:"topic"`
	RF       int16  `json:"replication_factor"`
	MinISR   int    `json:"min_insync_replicas"`
	Acks     string `json:"acks"`
	Baseline bool   `json:"baseline"` // the denominator of the ratio
	Target   bool   `json:"target"`   // the numerator
}

// Configurations are the throughput runs' configurations. RF 1 acks=all
// is not part of the target; it separates what acks=all and idempotence
// cost on one replica from what replication costs.
var Configurations = []Producing{
	{Name: "rf1-acks1", Topic: "rf1-acks1", RF: 1, MinISR: 1, Acks: "1", Baseline: true},
	{Name: "rf1-acksall", Topic: "rf1-acksall", RF: 1, MinISR: 1, Acks: "all"},
	{Name: "rf3-acksall", Topic: "rf3-acksall", RF: 3, MinISR: 2, Acks: "all", Target: true},
}

func configNames() string {
	var out []string
	for _, p := range Configurations {
		out = append(out, p.Name)
	}
	return strings.Join(out, ", ")
}

// Label is how reports name the configuration.
func (p Producing) Label() string {
	return fmt.Sprintf("RF %d acks=%s", p.RF, p.Acks)
}

// Targets of the issue: RF 3 acks=all at least this share of RF 1
// acks=1's throughput, and failover under this.
const (
	TargetRatio    = 0.40
	TargetFailover = 2 * time.Second
)

// Report is what Run measured.
type Report struct {
	Command    string    `json:"command"`
	Machine    Machine   `json:"machine"`
	Build      string    `json:"build"`
	Start      time.Time `json:"start"`
	End        time.Time `json:"end"`
	LoadBefore string    `json:"load_before"`
	LoadAfter  string    `json:"load_after"`
	Config     Config    `json:"config"`
	// Properties are every broker property the harness set.
	Properties []string `json:"properties"`
	// CacheDropped says each max-throughput run started with the page
	// cache dropped (the harness ran as root), not only synced.
	CacheDropped bool            `json:"cache_dropped"`
	Produce      []ProduceRun    `json:"produce"`
	Failover     []FailoverRound `json:"failover"`
	// Profiles are the CPU profiles the brokers wrote (Config.ProfileDir).
	Profiles []string `json:"profiles,omitempty"`
	// Profile holds the profiled runs of Config.ProfileMisses.
	Profile []Profile `json:"profile,omitempty"`
}

// Machine describes where a run happened.
type Machine struct {
	CPU       string `json:"cpu"`
	Cores     int    `json:"cores"`
	MemoryMiB int64  `json:"memory_mib"`
	GoVersion string `json:"go_version"`
	OS        string `json:"os"`
	Kernel    string `json:"kernel"`
	Dir       string `json:"dir"`
}

func describeMachine(dir string) Machine {
	pl := hostinfo.ReadPlatform()
	return Machine{CPU: pl.CPU, Cores: runtime.NumCPU(), MemoryMiB: pl.MemoryMiB, GoVersion: runtime.Version(),
		OS: runtime.GOOS + "/" + runtime.GOARCH, Kernel: pl.Kernel, Dir: dir}
}

// Run starts the cluster, measures everything once and stops it.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	cfg.setDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	parent := cfg.Dir
	if parent == "" {
		parent = os.TempDir()
	}
	dir, err := os.MkdirTemp(parent, "sluice-replbench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	rep := &Report{Command: cfg.Command, Machine: describeMachine(parent), Start: time.Now().UTC(), LoadBefore: hostinfo.LoadAverage(), Config: cfg}
	rep.Config.Logf = nil

	bin := cfg.Sluiced
	if bin == "" {
		cfg.Logf("replbench: building sluiced")
		bin, rep.Build, err = buildSluiced(ctx, dir)
		if err != nil {
			return nil, err
		}
		rep.Build += " at " + gitDescribe(ctx)
	} else {
		rep.Build = bin
	}
	if cfg.ProfileDir != "" {
		if err := os.MkdirAll(cfg.ProfileDir, 0o755); err != nil {
			return nil, err
		}
	}

	// No preferred-leader elections: leadership stays where a failover
	// put it, so no move lands in the middle of a measurement.
	rep.Properties = append(cfg.Timeouts.properties(), "auto.leader.rebalance.enable=false")
	c, err := startCluster(ctx, bin, dir, rep.Properties, cfg.ProfileDir, cfg.Logf)
	if err != nil {
		return nil, err
	}
	cfg.Logf("replbench: cluster of %d brokers started (Kafka listeners %s)", Size, strings.Join(c.seeds(), ", "))
	r := &runner{cfg: cfg, rep: rep, c: c}
	runErr := r.run(ctx)
	closeErr := c.close()
	if runErr != nil {
		for _, nd := range c.nodes {
			cfg.Logf("replbench: broker %d's last lines:\n%s", nd.id, nd.log.tail(20))
		}
		return nil, runErr
	}
	if closeErr != nil {
		return nil, closeErr
	}
	if cfg.ProfileMisses {
		if err := r.profileMisses(ctx, bin, dir); err != nil {
			return nil, err
		}
	}
	if cfg.ProfileDir != "" {
		rep.Profiles, _ = filepath.Glob(filepath.Join(cfg.ProfileDir, "broker*.pprof"))
	}
	rep.End = time.Now().UTC()
	rep.LoadAfter = hostinfo.LoadAverage()
	return rep, nil
}

// gitDescribe names the commit the binary was built from, and says so if
// the working tree differs from it.
func gitDescribe(ctx context.Context) string {
	out, err := exec.CommandContext(ctx, "git", "rev-parse", "--short", "HEAD").Output()
	if err != nil {
		return "an unknown commit"
	}
	s := "commit " + strings.TrimSpace(string(out))
	if st, err := exec.CommandContext(ctx, "git", "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(strings.TrimSpace(string(st))) > 0 {
		s += " with uncommitted changes"
	}
	return s
}

// runner carries one run's state.
type runner struct {
	cfg Config
	rep *Report
	c   *cluster
}

func (r *runner) run(ctx context.Context) error {
	if err := r.throughput(ctx); err != nil {
		return err
	}
	return r.failovers(ctx)
}
