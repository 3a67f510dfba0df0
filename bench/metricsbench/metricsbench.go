package metricsbench

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/sluicelog/sluice/bench/hostinfo"
	"github.com/sluicelog/sluice/bench/netbench"
	"github.com/sluicelog/sluice/bench/sluicedproc"
	"github.com/sluicelog/sluice/bench/units"
	"github.com/sluicelog/sluice/net/client"
)

// Defaults of Config, which are also the command's flag defaults.
const (
	DefaultRounds           = 7
	DefaultRecords          = 1_500_000
	DefaultRecordSize       = 100
	DefaultPartitions       = 4
	DefaultPartitionRecords = 1_500_000
	DefaultConsumePasses    = 3
	DefaultScrapeInterval   = time.Second
)

// Quick is the command's -quick setting: two rounds (one of each order)
// of small phases, a check that the harness and both modes work; its
// figures are noise.
var Quick = Config{Rounds: 2, Records: 200_000, PartitionRecords: 200_000}

// Config is one run. Zero fields take the defaults above.
type Config struct {
	// Rounds is how many rounds to make: each a fresh pair of brokers,
	// every phase run four times across them (SlotOrder).
	Rounds int
	// Records is how many records the one-partition phases produce and
	// consume; RecordSize is each record's value size (the key is null).
	Records    int64
	RecordSize int
	// Partitions is the partition count of the second topic, each
	// partition with a producer and a consumer of its own; -1 leaves
	// those phases out. PartitionRecords is their records in all.
	Partitions       int
	PartitionRecords int64
	// ConsumePasses is how many times each consume phase reads its
	// records from the beginning: one read of the page cache takes a
	// fraction of the time producing them did.
	ConsumePasses int
	// ScrapeInterval is how often /metrics is scraped with metrics on.
	ScrapeInterval time.Duration
	// Sluiced is a prebuilt broker binary; empty builds cmd/sluiced of
	// the module the harness runs in.
	Sluiced string
	// BrokerConfig is the broker's properties file; empty means
	// cmd/sluiced/sluiced.properties of the module (listeners and data
	// directory overridden).
	BrokerConfig string
	// Dir is the parent of the temporary directories (os.TempDir() when
	// empty); they are removed at the end.
	Dir string
	// Profile makes every broker write a CPU profile of its run (sluiced
	// --cpuprofile), and the report say what share of each mode's
	// samples went to the functions that serve metrics (Profiles). The
	// profiler costs both modes alike. ProfileDir, if set, is where the
	// profiles go, round-NN-MODE.pprof, kept (it implies Profile); else
	// they are removed with the temporary directory.
	Profile    bool
	ProfileDir string
	// Command is the command line printed with the figures.
	Command string
	// Logf, if set, receives progress lines.
	Logf func(format string, args ...any) `json:"-"`
}

func (c *Config) setDefaults() {
	if c.Rounds <= 0 {
		c.Rounds = DefaultRounds
	}
	if c.Records <= 0 {
		c.Records = DefaultRecords
	}
	if c.RecordSize <= 0 {
		c.RecordSize = DefaultRecordSize
	}
	if c.Partitions == 0 {
		c.Partitions = DefaultPartitions
	}
	if c.PartitionRecords <= 0 {
		c.PartitionRecords = DefaultPartitionRecords
	}
	if c.ConsumePasses <= 0 {
		c.ConsumePasses = DefaultConsumePasses
	}
	if c.ScrapeInterval <= 0 {
		c.ScrapeInterval = DefaultScrapeInterval
	}
	if c.Logf == nil {
		c.Logf = func(string, ...any) {}
	}
}

// Topic names: a workload's base name and the slot, so that every slot
// writes a topic of its own.
const (
	topicOne  = "metricsbench-1"
	topicMany = "metricsbench-n"
)

func slotTopic(base string, slot int) string { return fmt.Sprintf("%s-s%d", base, slot) }

// PhaseNames are the phases of a round, in order, for p partitions in the
// second workload (p < 1: none).
func PhaseNames(p int) []string {
	out := []string{"produce, 1 partition", "consume, 1 partition"}
	if p >= 1 {
		out = append(out, fmt.Sprintf("produce, %d partitions x %d producers", p, p),
			fmt.Sprintf("consume, %d partitions x %d consumers", p, p))
	}
	return out
}

// Broker is one of a round's two broker processes.
type Broker struct {
	Mode    string `json:"mode"`
	Command string `json:"command"` // the temporary paths shortened
	// Scrapes, ScrapeMedianMs, ScrapeMaxMs and PageBytes describe the
	// scrapes of /metrics in the round (metrics on).
	Scrapes        int     `json:"scrapes"`
	ScrapeMedianMs float64 `json:"scrape_median_ms"`
	ScrapeMaxMs    float64 `json:"scrape_max_ms"`
	PageBytes      int64   `json:"page_bytes"`
	// RecordsIn and RecordsOut are sluice_topic_records_in_total and
	// sluice_topic_records_out_total by topic on the last scrape
	// (metrics on); ProduceTimed is the count of
	// sluice_request_duration_seconds{listener="native",api="Produce"}.
	RecordsIn    map[string]int64 `json:"records_in,omitempty"`
	RecordsOut   map[string]int64 `json:"records_out,omitempty"`
	ProduceTimed int64            `json:"produce_requests_timed,omitempty"`
	ExitCode     int              `json:"exit_code"`
	// Warnings are the WARN and ERROR lines the broker logged.
	Warnings []string `json:"warnings,omitempty"`
	Profile  string   `json:"profile,omitempty"`
}

// Round is a fresh pair of brokers, one with metrics off and one with
// them on, and every phase run four times across them in Order.
type Round struct {
	Index int `json:"index"` // 1-based
	// Order is the modes of the four slots of every phase.
	Order   []string `json:"order"`
	Brokers []Broker `json:"brokers"` // off, on
	// Phases are the phases as run: each name four times, slot 1 to 4.
	Phases    []Phase `json:"phases"`
	LoadAfter string  `json:"load_after"`
}

// slots returns the round's runs of the phase called name, in slot order.
func (r Round) slots(name string) []Phase {
	var out []Phase
	for _, p := range r.Phases {
		if p.Name == name {
			out = append(out, p)
		}
	}
	return out
}

// Report is what Run measured.
type Report struct {
	Command    string           `json:"command"`
	Machine    netbench.Machine `json:"machine"`
	Start      time.Time        `json:"start"`
	End        time.Time        `json:"end"`
	LoadBefore string           `json:"load_before"`
	LoadAfter  string           `json:"load_after"`
	Build      string           `json:"build"`
	Config     Config           `json:"config"`
	// CacheDropped says each round started with the page cache dropped.
	CacheDropped bool      `json:"cache_dropped"`
	Rounds       []Round   `json:"rounds"`
	Summaries    []Summary `json:"summaries"`
	// Profiles is what the brokers' CPU profiles say (Config.Profile).
	Profiles *Profiles `json:"profiles,omitempty"`
	// Problems are failed checks; a good run has none.
	Problems []string `json:"problems"`
}

// Run builds the broker and makes the rounds.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	cfg.setDefaults()
	if cfg.RecordSize > 1<<20 {
		return nil, fmt.Errorf("metricsbench: record size %d is over 1 MiB", cfg.RecordSize)
	}
	parent := cfg.Dir
	if parent == "" {
		parent = os.TempDir()
	}
	dir, err := os.MkdirTemp(parent, "sluice-metricsbench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	rep := &Report{Command: cfg.Command, Machine: netbench.DescribeMachine(), Start: time.Now().UTC(), LoadBefore: hostinfo.LoadAverage(),
		Config: cfg, Problems: []string{}}
	rep.Config.Logf = nil

	var modDir string
	if cfg.Sluiced == "" || cfg.BrokerConfig == "" {
		if modDir, err = sluicedproc.ModuleDir(ctx); err != nil {
			return nil, err
		}
	}
	bin := cfg.Sluiced
	if bin == "" {
		cfg.Logf("metricsbench: building sluiced")
		if bin, rep.Build, err = sluicedproc.Build(ctx, modDir, dir); err != nil {
			return nil, err
		}
		rep.Build += " at " + sluicedproc.GitDescribe(ctx, modDir)
	} else {
		rep.Build = bin
	}
	props := cfg.BrokerConfig
	if props == "" {
		props = filepath.Join(modDir, "cmd", "sluiced", "sluiced.properties")
	}
	profDir := cfg.ProfileDir
	if profDir == "" && cfg.Profile {
		profDir = filepath.Join(dir, "profiles")
	}
	if profDir != "" {
		if err := os.MkdirAll(profDir, 0o755); err != nil {
			return nil, err
		}
	}

	r := &runner{cfg: cfg, rep: rep, bin: bin, props: props, dir: dir, profDir: profDir, vals: newValues(cfg.RecordSize)}
	for i := range cfg.Rounds {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		round := Round{Index: i + 1, Order: SlotOrder(i + 1)}
		cfg.Logf("metricsbench: round %d of %d: %s", round.Index, cfg.Rounds, strings.Join(round.Order, ", "))
		if err := r.round(ctx, &round); err != nil {
			return nil, fmt.Errorf("round %d: %w", round.Index, err)
		}
		rep.Rounds = append(rep.Rounds, round)
	}
	for _, name := range PhaseNames(cfg.Partitions) {
		rep.Summaries = append(rep.Summaries, Summarize(name, rep.Rounds))
	}
	if profDir != "" {
		cfg.Logf("metricsbench: reading the brokers' profiles")
		if rep.Profiles, err = measureProfiles(ctx, rep.Rounds); err != nil {
			return nil, err
		}
	}
	rep.End = time.Now().UTC()
	rep.LoadAfter = hostinfo.LoadAverage()
	return rep, nil
}

// runner holds what every round shares.
type runner struct {
	cfg     Config
	rep     *Report
	bin     string
	props   string
	dir     string
	profDir string // "" for no profiles
	vals    *values
}

// problem records a failed check.
func (r *runner) problem(round *Round, format string, args ...any) {
	r.rep.Problems = append(r.rep.Problems, fmt.Sprintf("round %d: ", round.Index)+fmt.Sprintf(format, args...))
}

// live is one of the round's brokers while it runs.
type live struct {
	info    *Broker
	proc    *broker
	cl      *client.Client
	url     string        // /metrics, metrics on only
	scrapes []scrape      // every scrape of the round
	due     time.Duration // until the next scrape, in working time
}

// round starts a fresh pair of brokers, runs every phase in the round's
// slot order across them, checks the on broker's counters and stops both.
func (r *runner) round(ctx context.Context, round *Round) error {
	data := filepath.Join(r.dir, "data")
	if err := os.RemoveAll(data); err != nil {
		return err
	}
	if sluicedproc.Settle() {
		r.rep.CacheDropped = true
	}
	round.Brokers = []Broker{{Mode: Off}, {Mode: On}}
	brokers := map[string]*live{}
	defer func() { // error paths; a good round has stopped them already
		for _, l := range brokers {
			if l.cl != nil {
				l.cl.Close()
			}
			l.proc.Kill()
		}
	}()
	for i := range round.Brokers {
		info := &round.Brokers[i]
		var overrides []string
		if info.Mode == On {
			overrides = append(overrides, "metrics.listeners=http://127.0.0.1:0")
		}
		if r.profDir != "" {
			info.Profile = profileName(r.profDir, round.Index, info.Mode)
		}
		bdata := filepath.Join(data, info.Mode)
		b, err := startBroker(ctx, r.bin, bdata, r.props, info.Profile, overrides)
		if err != nil {
			return err
		}
		l := &live{info: info, proc: b}
		brokers[info.Mode] = l
		info.Command = strings.NewReplacer(r.bin, "sluiced", bdata, "$tmp/"+info.Mode, r.props, "cmd/sluiced/sluiced.properties",
			r.dir, "$tmp").Replace(strings.Join(b.Argv, " "))
		url, seen := b.opsAddr()
		switch {
		case info.Mode == Off && seen:
			return errors.New("metrics are off but the broker started its operations listener")
		case info.Mode == On && !seen:
			return errors.New("metrics are on but the broker logged no operations listener")
		}
		l.url = url
		if l.cl, err = client.New(ctx, client.Config{BootstrapServers: []string{b.Addr}}); err != nil {
			return err
		}
	}

	// A warm-up on each, untimed: the first produce to a fresh broker
	// ran a tenth or more slower than the next (heap growth, the first
	// segment), which would only add to the noise.
	for _, mode := range []string{Off, On} {
		if err := r.warmUp(ctx, brokers[mode]); err != nil {
			return fmt.Errorf("warming up the broker with metrics %s: %w", mode, err)
		}
	}
	type workload struct {
		base   string
		counts []int64
	}
	loads := []workload{{topicOne, []int64{r.cfg.Records}}}
	if r.cfg.Partitions >= 1 {
		loads = append(loads, workload{topicMany, split(r.cfg.PartitionRecords, r.cfg.Partitions)})
	}
	for _, w := range loads {
		for slot, mode := range round.Order {
			topic, cl := slotTopic(w.base, slot+1), brokers[mode].cl
			if err := cl.CreateTopic(ctx, topic, int32(len(w.counts)), 1, nil); err != nil {
				return err
			}
			// Looked up now, so that the producers find the metadata
			// cached and only their own work is timed.
			if n, err := cl.Partitions(ctx, topic); err != nil || int(n) != len(w.counts) {
				return fmt.Errorf("topic %s: %d partitions (%v), want %d", topic, n, err, len(w.counts))
			}
		}
	}
	names := PhaseNames(r.cfg.Partitions)
	for i, w := range loads {
		for j := range 2 {
			for slot, mode := range round.Order {
				l := brokers[mode]
				ph := Phase{Name: names[2*i+j], Slot: slot + 1, Mode: mode, Topic: slotTopic(w.base, slot+1)}
				if err := r.slot(ctx, l, &ph, w.counts, j == 0); err != nil {
					return fmt.Errorf("%s, slot %d (metrics %s): %w", ph.Name, ph.Slot, mode, err)
				}
				round.Phases = append(round.Phases, ph)
				r.cfg.Logf("metricsbench:   %-40s %-3s %8.1f MB/s %6.2f s  broker %.3f us/record, client %.3f us/record, %d scrapes",
					ph.Name, ph.Mode, ph.MBps, ph.Seconds, ph.BrokerCPU/float64(max(ph.Records, 1))*1e6, ph.ClientCPU/float64(max(ph.Records, 1))*1e6, ph.Scrapes)
			}
		}
	}

	on := brokers[On]
	page, err := (&scraper{url: on.url, client: &http.Client{Timeout: 10 * time.Second}}).page(ctx)
	if err != nil {
		return fmt.Errorf("the last scrape: %w", err)
	}
	var ts []float64
	for _, sc := range on.scrapes {
		if sc.err != nil {
			r.problem(round, "a scrape failed: %v", sc.err)
		}
		ts = append(ts, sc.took.Seconds()*1e3)
		on.info.PageBytes = max(on.info.PageBytes, sc.bytes)
	}
	on.info.Scrapes, on.info.ScrapeMedianMs, on.info.ScrapeMaxMs = len(ts), units.Median(ts), maxOf(ts)
	for _, w := range loads {
		for slot, mode := range round.Order {
			if mode == On {
				n := sum(w.counts)
				r.checkPage(round, on.info, page, slotTopic(w.base, slot+1), n, int64(r.cfg.ConsumePasses)*n)
			}
		}
	}
	for _, mode := range []string{Off, On} {
		l := brokers[mode]
		l.cl.Close()
		code, err := l.proc.Stop(30 * time.Second)
		l.info.ExitCode = code
		if err != nil {
			r.problem(round, "stopping the broker with metrics %s: %v", mode, err)
		} else if code != 0 {
			r.problem(round, "the broker with metrics %s exited with status %d after SIGTERM:\n%s", mode, code, l.proc.Tail())
		}
		l.info.Warnings = l.proc.Warnings()
	}
	round.LoadAfter = hostinfo.LoadAverage()
	return os.RemoveAll(data)
}

// warmUp produces a quarter of the one-partition workload to a topic of
// its own on l and reads it back once.
func (r *runner) warmUp(ctx context.Context, l *live) error {
	const topic = "metricsbench-warmup"
	counts := []int64{max(r.cfg.Records/4, 1000)}
	if err := l.cl.CreateTopic(ctx, topic, 1, 1, nil); err != nil {
		return err
	}
	if _, err := l.cl.Partitions(ctx, topic); err != nil {
		return err
	}
	var ph Phase
	if err := produce(ctx, l.cl, topic, counts, r.vals, l.proc.PID(), &ph); err != nil {
		return err
	}
	return consume(ctx, l.cl, topic, counts, 1, r.vals, l.proc.PID(), &ph)
}

// slot runs one phase against broker l: produce, or consume.
func (r *runner) slot(ctx context.Context, l *live, ph *Phase, counts []int64, producing bool) error {
	var sc *scraper
	if l.url != "" {
		// Scraped once per ScrapeInterval of its working time, the first
		// at the start of its first slot: what a Prometheus scraping
		// every ScrapeInterval would cost it, and no scrape of it lands
		// in the other broker's slots.
		sc = startScraper(l.url, l.due, r.cfg.ScrapeInterval)
	}
	var err error
	if producing {
		err = produce(ctx, l.cl, ph.Topic, counts, r.vals, l.proc.PID(), ph)
	} else {
		err = consume(ctx, l.cl, ph.Topic, counts, r.cfg.ConsumePasses, r.vals, l.proc.PID(), ph)
	}
	if sc != nil {
		sc.close()
		l.due = sc.due(r.cfg.ScrapeInterval)
		l.scrapes = append(l.scrapes, sc.scrapes...)
		ph.Scrapes = len(sc.scrapes)
	}
	if err != nil {
		return err
	}
	if l.proc.Exited() {
		return fmt.Errorf("the broker exited (%v):\n%s", l.proc.WaitErr(), l.proc.Tail())
	}
	return nil
}

// checkPage checks the last scrape's counters of topic against the
// records produced and consumed.
func (r *runner) checkPage(round *Round, info *Broker, b []byte, topic string, produced, consumed int64) {
	page, err := ParsePage(b)
	if err != nil {
		r.problem(round, "parsing /metrics: %v", err)
		return
	}
	if info.RecordsIn == nil {
		info.RecordsIn, info.RecordsOut = map[string]int64{}, map[string]int64{}
	}
	in, ok := page.Value("sluice_topic_records_in_total", "topic", topic)
	info.RecordsIn[topic] = int64(in)
	if !ok || int64(in) != produced {
		r.problem(round, "sluice_topic_records_in_total{topic=%q} is %.0f (present: %v), want the %d records produced", topic, in, ok, produced)
	}
	out, ok := page.Value("sluice_topic_records_out_total", "topic", topic)
	info.RecordsOut[topic] = int64(out)
	if !ok || int64(out) != consumed {
		r.problem(round, "sluice_topic_records_out_total{topic=%q} is %.0f (present: %v), want the %d records consumed", topic, out, ok, consumed)
	}
	if n, ok := page.Value("sluice_request_duration_seconds", "listener", "native", "api", "Produce"); ok {
		info.ProduceTimed = int64(n)
	}
}

func sum(xs []int64) int64 {
	var s int64
	for _, x := range xs {
		s += x
	}
	return s
}
