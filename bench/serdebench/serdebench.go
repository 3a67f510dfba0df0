package serdebench

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
	"github.com/sluicelog/sluice/net/client/serde"
	"github.com/sluicelog/sluice/net/protocol"
	"github.com/sluicelog/sluice/net/schemareg/regclient"
)

// Defaults of Config, which are also the command's flag defaults.
const (
	// DefaultRecords makes the shortest run, a raw consume from the page
	// cache, last about a third of a second on the 2-core VM this was
	// written on (13 million records a second); the others take 1-2 s.
	DefaultRecords        = 4_000_000
	DefaultRounds         = 3
	DefaultLookupDuration = time.Second
	DefaultGoroutines     = 16
)

// Quick is the command's -quick setting: two rounds (one of each order)
// of tiny phases, a check that every part of the harness works; its
// figures are noise.
var Quick = Config{Rounds: 2, Records: 20_000, LookupDuration: 100 * time.Millisecond}

// Config is one run. Zero fields take the defaults above.
type Config struct {
	// Records is how many records each produce and consume run moves.
	Records int64
	// Rounds is how many rounds to make, each every phase once in each
	// mode (RoundOrder).
	Rounds int
	// LookupDuration is how long each kind of registry lookup runs in a
	// round, from Goroutines goroutines at once.
	LookupDuration time.Duration
	Goroutines     int
	// Sluiced is a prebuilt broker binary; empty builds cmd/sluiced of
	// the module the harness runs in. BrokerConfig is its properties
	// file; empty means cmd/sluiced/sluiced.properties of the module
	// (listeners and data directory overridden).
	Sluiced      string
	BrokerConfig string
	// Dir is the parent of the temporary directory (os.TempDir() when
	// empty); it is removed at the end.
	Dir string
	// Command is the command line printed with the figures.
	Command string
	// Logf, if set, receives progress lines.
	Logf func(format string, args ...any) `json:"-"`
}

func (c *Config) setDefaults() {
	if c.Records <= 0 {
		c.Records = DefaultRecords
	}
	if c.Rounds <= 0 {
		c.Rounds = DefaultRounds
	}
	if c.LookupDuration <= 0 {
		c.LookupDuration = DefaultLookupDuration
	}
	if c.Goroutines <= 0 {
		c.Goroutines = DefaultGoroutines
	}
	if c.Logf == nil {
		c.Logf = func(string, ...any) {}
	}
}

// Topics and subjects. Each mode's runs append to a topic of its own, so
// round r's records are offsets [(r-1)·Records, r·Records) of it.
const (
	topicRaw          = "serdebench-raw"
	topicAvro         = "serdebench-avro"
	topicWarmRaw      = "serdebench-warmup-raw"
	topicWarmAvro     = "serdebench-warmup-avro"
	emptySubject      = "serdebench-empty-value"
	registryListeners = "schema.registry.listeners="
)

// OrderSubject is the subject the order schema is registered under: the
// Avro topic's value subject (Kafka's TopicNameStrategy).
var OrderSubject = serde.ValueSubject(topicAvro)

// topicOf is the topic of a mode's timed runs.
func topicOf(mode string) string {
	if mode == Avro {
		return topicAvro
	}
	return topicRaw
}

// Round is every phase once in each mode, in Order.
type Round struct {
	Index int      `json:"index"` // 1-based
	Order []string `json:"order"`
	// Produce and Consume are the round's runs, in Order.
	Produce []Phase `json:"produce"`
	Consume []Phase `json:"consume"`
	// ProduceRatio and ConsumeRatio are the Avro run's records a second
	// over the raw run's.
	ProduceRatio float64  `json:"produce_ratio"`
	ConsumeRatio float64  `json:"consume_ratio"`
	Lookups      []Lookup `json:"lookups"`
	LoadAfter    string   `json:"load_after"`
}

// phase returns the round's run of kind in mode.
func (r *Round) phase(kind, mode string) *Phase {
	runs := r.Produce
	if kind == Consume {
		runs = r.Consume
	}
	for i := range runs {
		if runs[i].Mode == mode {
			return &runs[i]
		}
	}
	return nil
}

// lookup returns the round's lookup of kind.
func (r *Round) lookup(kind string) *Lookup {
	for i := range r.Lookups {
		if r.Lookups[i].Kind == kind {
			return &r.Lookups[i]
		}
	}
	return nil
}

// Values describes the workload's record values.
type Values struct {
	Distinct  int     `json:"distinct"`
	MeanBytes float64 `json:"mean_bytes"`
	MinBytes  int     `json:"min_bytes"`
	MaxBytes  int     `json:"max_bytes"`
}

// Report is what Run measured.
type Report struct {
	Command    string           `json:"command"`
	Machine    netbench.Machine `json:"machine"`
	Start      time.Time        `json:"start"`
	End        time.Time        `json:"end"`
	LoadBefore string           `json:"load_before"`
	LoadAfter  string           `json:"load_after"`
	Config     Config           `json:"config"`
	// Build is how the broker binary was made; BrokerCommand how it ran
	// (the temporary paths shortened).
	Build         string `json:"build"`
	BrokerCommand string `json:"broker_command"`
	// SchemaID is the order schema's registry id, RegisterMs how long the
	// serializer's first ID() took (registering it); EmptySchemaID is
	// the empty record's, which the deserializer lookups read.
	SchemaID      int     `json:"schema_id"`
	RegisterMs    float64 `json:"register_ms"`
	EmptySchemaID int     `json:"empty_schema_id"`
	Values        Values  `json:"values"`
	// Warmup is the untimed runs before the rounds.
	Warmup   []Phase `json:"warmup"`
	Rounds   []Round `json:"rounds"`
	ExitCode int     `json:"exit_code"`
	// Warnings are the WARN and ERROR lines the broker logged.
	Warnings []string `json:"warnings,omitempty"`
	// Problems are failed checks; a good run has none.
	Problems []string `json:"problems"`
}

// problem records a failed check.
func (rep *Report) problem(format string, args ...any) {
	rep.Problems = append(rep.Problems, fmt.Sprintf(format, args...))
}

// Run builds the broker, starts it with its schema registry, and makes the
// rounds against it.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	cfg.setDefaults()
	parent := cfg.Dir
	if parent == "" {
		parent = os.TempDir()
	}
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(parent, "sluice-serdebench-")
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
		cfg.Logf("serdebench: building sluiced")
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
	data := filepath.Join(dir, "data")
	b, err := startBroker(ctx, bin, data, props, []string{registryListeners + "http://127.0.0.1:0"})
	if err != nil {
		return nil, err
	}
	defer b.Kill() // error paths; a good run has stopped it already
	rep.BrokerCommand = strings.NewReplacer(bin, "sluiced", data, "$tmp/data", props, "cmd/sluiced/sluiced.properties").Replace(strings.Join(b.Argv, " "))
	url := b.registryURL()
	if url == "" {
		return nil, errors.New("the broker logged no schema registry listener (listener_bound ... schema_registry=)")
	}
	cfg.Logf("serdebench: broker %s, schema registry %s", b.Addr, url)

	cl, err := client.New(ctx, client.Config{BootstrapServers: []string{b.Addr}})
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	for _, topic := range []string{topicRaw, topicAvro, topicWarmRaw, topicWarmAvro} {
		if err := cl.CreateTopic(ctx, topic, 1, 1, nil); err != nil {
			return nil, err
		}
		// Looked up now, so that the producers find the metadata cached.
		if _, err := cl.Partitions(ctx, topic); err != nil {
			return nil, err
		}
	}
	reg, err := regclient.New(regclient.Config{URLs: []string{url}})
	if err != nil {
		return nil, err
	}
	defer reg.Close()
	c, lk, err := setUpSerde(ctx, reg, rep)
	if err != nil {
		return nil, err
	}
	cfg.Logf("serdebench: order schema id %d (registered in %.1f ms), empty schema id %d", rep.SchemaID, rep.RegisterMs, rep.EmptySchemaID)
	w, err := newWorkload(c.ser, c.de)
	if err != nil {
		return nil, err
	}
	rep.Values = Values{Distinct: Distinct, MeanBytes: w.mean(), MinBytes: w.min, MaxBytes: w.max}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConnsPerHost = cfg.Goroutines
	lk.hc, lk.url = &http.Client{Transport: transport, Timeout: 10 * time.Second}, url
	defer transport.CloseIdleConnections()

	// Untimed warm-up, each mode producing a quarter of a run and reading
	// it back: the first produce to a fresh broker runs slower than the
	// next (heap growth, the first segment), and the deserializer's
	// decoders are built on first use.
	warm := max(cfg.Records/4, 1000)
	for _, mode := range []string{Raw, Avro} {
		topic := topicWarmRaw
		if mode == Avro {
			topic = topicWarmAvro
		}
		for _, kind := range []string{Produce, Consume} {
			ph := Phase{Kind: kind, Mode: mode, Topic: topic}
			if err := run(ctx, cl, w, c, b, warm, &ph); err != nil {
				return nil, fmt.Errorf("warm-up, %s %s: %w", kind, mode, err)
			}
			rep.Warmup = append(rep.Warmup, ph)
		}
	}

	for i := range cfg.Rounds {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		round := Round{Index: i + 1, Order: RoundOrder(i + 1)}
		cfg.Logf("serdebench: round %d of %d: %s", round.Index, cfg.Rounds, strings.Join(round.Order, ", "))
		for _, kind := range []string{Produce, Consume} {
			for _, mode := range round.Order {
				ph := Phase{Kind: kind, Mode: mode, Topic: topicOf(mode), FirstOffset: int64(i) * cfg.Records}
				if err := run(ctx, cl, w, c, b, cfg.Records, &ph); err != nil {
					return nil, fmt.Errorf("round %d, %s %s: %w", round.Index, kind, mode, err)
				}
				cfg.Logf("serdebench:   %-7s %-4s %10.0f records/s %7.1f MB/s %6.2f s  client %.3f us/record (%.2f cores), broker %.2f cores, others %.0f%%",
					kind, mode, ph.RecordsPerSec, ph.MBps, ph.Seconds, ph.ClientUsPerRecord(), ph.ClientCores(), ph.BrokerCores(), 100*ph.OthersShare)
				if kind == Produce {
					round.Produce = append(round.Produce, ph)
				} else {
					round.Consume = append(round.Consume, ph)
				}
			}
		}
		round.ProduceRatio = units.Ratio(round.phase(Produce, Avro).RecordsPerSec, round.phase(Produce, Raw).RecordsPerSec)
		round.ConsumeRatio = units.Ratio(round.phase(Consume, Avro).RecordsPerSec, round.phase(Consume, Raw).RecordsPerSec)
		for _, kind := range LookupKinds {
			l, err := lk.measure(ctx, kind, cfg.Goroutines, cfg.LookupDuration, b.PID())
			if err != nil {
				return nil, fmt.Errorf("round %d, lookups: %w", round.Index, err)
			}
			cfg.Logf("serdebench:   %-40s %14.0f /s (%d calls in %.2f s)", kind, l.PerSec, l.Calls, l.Seconds)
			round.Lookups = append(round.Lookups, l)
		}
		round.LoadAfter = hostinfo.LoadAverage()
		rep.Rounds = append(rep.Rounds, round)
	}
	rep.checkOffsets(ctx, cl)

	cl.Close()
	code, err := b.Stop(30 * time.Second)
	rep.ExitCode = code
	if err != nil {
		rep.problem("stopping the broker: %v", err)
	} else if code != 0 {
		rep.problem("the broker exited with status %d after SIGTERM:\n%s", code, b.Tail())
	}
	rep.Warnings = b.Warnings()
	rep.End = time.Now().UTC()
	rep.LoadAfter = hostinfo.LoadAverage()
	return rep, nil
}

// run makes one produce or consume run; a broker that exited fails it.
func run(ctx context.Context, cl *client.Client, w *workload, c codecs, b *broker, n int64, ph *Phase) error {
	var err error
	if ph.Kind == Produce {
		err = produce(ctx, cl, w, c, b.PID(), n, ph)
	} else {
		err = consume(ctx, cl, w, c, b.PID(), n, ph)
	}
	if err == nil && b.Exited() {
		err = fmt.Errorf("the broker exited (%v):\n%s", b.WaitErr(), b.Tail())
	}
	return err
}

// setUpSerde registers the order schema through the serializer's first
// ID() and the empty schema through another's, and returns the order
// schema's serializer and deserializer (the order schema as the reader's)
// and the lookups, each warm.
func setUpSerde(ctx context.Context, reg *regclient.Client, rep *Report) (codecs, *lookups, error) {
	var c codecs
	var err error
	if c.ser, err = serde.NewAvroSerializer(serde.AvroSerializerConfig{Registry: reg, Subject: OrderSubject, Schema: OrderSchema,
		AutoRegister: true}); err != nil {
		return c, nil, err
	}
	start := time.Now()
	if rep.SchemaID, err = c.ser.ID(ctx); err != nil {
		return c, nil, fmt.Errorf("registering the order schema: %w", err)
	}
	rep.RegisterMs = time.Since(start).Seconds() * 1e3
	if c.de, err = serde.NewAvroDeserializer(serde.AvroDeserializerConfig{Registry: reg, Schema: OrderSchema}); err != nil {
		return c, nil, err
	}
	emptySer, err := serde.NewAvroSerializer(serde.AvroSerializerConfig{Registry: reg, Subject: emptySubject, Schema: emptySchema,
		AutoRegister: true})
	if err != nil {
		return c, nil, err
	}
	lk := &lookups{ser: c.ser, reg: reg, id: rep.SchemaID}
	if lk.emptyVal, err = emptySer.Serialize(struct{}{}); err != nil {
		return c, nil, fmt.Errorf("registering the empty schema: %w", err)
	}
	if len(lk.emptyVal) != serde.HeaderSize {
		return c, nil, fmt.Errorf("a value of the empty schema has %d bytes, want the %d-byte header alone", len(lk.emptyVal), serde.HeaderSize)
	}
	rep.EmptySchemaID, _, _ = serde.ParseHeader(lk.emptyVal)
	if lk.emptyDe, err = serde.NewAvroDeserializer(serde.AvroDeserializerConfig{Registry: reg, Schema: emptySchema}); err != nil {
		return c, nil, err
	}
	var v struct{}
	if err := lk.emptyDe.Deserialize(lk.emptyVal, &v); err != nil {
		return c, nil, fmt.Errorf("deserialising a value of the empty schema: %w", err)
	}
	if _, err := reg.AvroSchemaByID(ctx, rep.SchemaID); err != nil {
		return c, nil, err
	}
	return c, lk, nil
}

// checkOffsets checks that each mode's topic holds exactly the rounds'
// records.
func (rep *Report) checkOffsets(ctx context.Context, cl *client.Client) {
	want := int64(len(rep.Rounds)) * rep.Config.Records
	for _, topic := range []string{topicRaw, topicAvro} {
		hw, err := cl.ListOffset(ctx, topic, 0, protocol.LatestTimestamp)
		if err != nil || hw != want {
			rep.problem("%s: high watermark %d (%v) after %d records", topic, hw, err, want)
		}
	}
}
