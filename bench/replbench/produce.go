package replbench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicelog/sluice/bench/hostinfo"
	"github.com/sluicelog/sluice/bench/perf"
)

// Modes of a produce run.
const (
	ModeMax  = "max"  // as fast as the producer can send
	ModeRate = "rate" // paced at Config.RateMBs
)

// ProduceRun is one timed run of one configuration at one record size.
type ProduceRun struct {
	Config string `json:"config"` // Producing.Name
	Label  string `json:"label"`
	Size   int    `json:"record_bytes"`
	Mode   string `json:"mode"`
	Round  int    `json:"round"`
	// Rate is the paced rate in records/s; 0 in ModeMax.
	Rate          float64 `json:"rate"`
	Records       int64   `json:"records"`
	Seconds       float64 `json:"seconds"`
	RecordsPerSec float64 `json:"records_per_sec"`
	// MBPerSec is payload (values) in 10^6 bytes per second.
	MBPerSec float64 `json:"mb_per_sec"`
	// Latencies are from Produce to the acknowledgement's callback, per
	// record, in milliseconds: in ModeMax they include the wait in the
	// producer's buffer.
	P50        float64 `json:"p50_ms"`
	P99        float64 `json:"p99_ms"`
	P999       float64 `json:"p99_9_ms"`
	Max        float64 `json:"max_ms"`
	Errors     int64   `json:"errors"`
	FirstError string  `json:"first_error,omitempty"`
	// ISRShrinks and Fences count the brokers' "shrinking ISR" and
	// "broker fenced" log lines during the run: either would change what
	// acks=all waits for, so a run with any is marked.
	ISRShrinks int    `json:"isr_shrinks"`
	Fences     int    `json:"fences"`
	LoadAfter  string `json:"load_after"`
	// CPU is where the machine's CPU time went during the run.
	CPU CPUUse `json:"cpu"`
}

// CPUUse is CPU time during one run, in seconds of one core, from /proc
// (zero where there is none), at the kernel's 10 ms tick.
type CPUUse struct {
	// Wall is the run's wall time; Wall times the core count is what
	// the machine had.
	Wall    float64   `json:"wall_s"`
	Brokers []float64 `json:"brokers_s"` // by node id - 1
	Client  float64   `json:"client_s"`  // this process: the producer
	// Others is the machine's busy time less the brokers' and the
	// client's: other work on the machine, and softirq time charged to
	// no process.
	Others float64 `json:"others_s"`
}

// cpuMeter takes the CPU counters at the start of a run.
type cpuMeter struct {
	start          time.Time
	brokers        []float64
	client, others float64
}

func (r *runner) startCPU() cpuMeter {
	m := cpuMeter{start: time.Now(), client: hostinfo.ProcessCPU(os.Getpid()), others: hostinfo.MachineBusy()}
	for _, nd := range r.c.nodes {
		m.brokers = append(m.brokers, hostinfo.ProcessCPU(nd.cmd.Process.Pid))
	}
	return m
}

func (r *runner) stopCPU(m cpuMeter) CPUUse {
	u := CPUUse{Wall: time.Since(m.start).Seconds(), Client: hostinfo.ProcessCPU(os.Getpid()) - m.client}
	busy := hostinfo.MachineBusy() - m.others
	u.Others = busy - u.Client
	for i, nd := range r.c.nodes {
		b := hostinfo.ProcessCPU(nd.cmd.Process.Pid) - m.brokers[i]
		u.Brokers = append(u.Brokers, b)
		u.Others -= b
	}
	u.Others = max(u.Others, 0)
	return u
}

// throughput creates the topics and runs the max-throughput rounds, then
// the fixed-rate runs.
func (r *runner) throughput(ctx context.Context) error {
	confs := r.configurations()
	if len(confs) == 0 || len(r.cfg.Sizes) == 0 {
		return nil
	}
	adm, err := kgo.NewClient(kgo.SeedBrokers(r.c.seeds()...))
	if err != nil {
		return err
	}
	defer adm.Close()
	for _, p := range confs {
		if err := r.createTopic(ctx, kadm.NewClient(adm), p); err != nil {
			return err
		}
	}
	// One second of each configuration first, unrecorded: connections,
	// producer ids, the first segments, the Go runtimes' heaps.
	for _, p := range confs {
		r.cfg.Logf("replbench: warming up %s", p.Label())
		if _, err := r.produce(ctx, p, slices.Max(r.cfg.Sizes), 0, time.Second, 0); err != nil {
			return err
		}
	}
	for _, size := range r.cfg.Sizes {
		for round := 1; round <= r.cfg.Rounds; round++ {
			// Every other round in reverse, so that no configuration
			// always runs first (or right after the heaviest).
			order := slices.Clone(confs)
			if round%2 == 0 {
				slices.Reverse(order)
			}
			for _, p := range order {
				r.settle()
				run, err := r.produce(ctx, p, size, 0, r.cfg.Duration, round)
				if err != nil {
					return err
				}
				r.rep.Produce = append(r.rep.Produce, run)
			}
		}
	}
	for _, size := range r.cfg.Sizes {
		rate := r.cfg.RateMBs * 1e6 / float64(size)
		for _, p := range confs {
			run, err := r.produce(ctx, p, size, rate, r.cfg.RateDuration, 1)
			if err != nil {
				return err
			}
			r.rep.Produce = append(r.rep.Produce, run)
		}
	}
	return nil
}

// settle gives each max-throughput run the same page cache to start from:
// nothing dirty, and (as root) nothing cached. Without it a run paid for
// the ones before it: with the page cache full of their gigabytes, every
// page written means reclaiming one inside pwrite, and RF 3, which writes
// three copies, ran at under half the rate it reaches on a fresh cluster
// when it came after the RF 1 runs.
func (r *runner) settle() {
	syscall.Sync()
	if err := os.WriteFile("/proc/sys/vm/drop_caches", []byte("1"), 0); err == nil {
		r.rep.CacheDropped = true
	}
}

func (r *runner) configurations() []Producing {
	if len(r.cfg.Configs) == 0 {
		return Configurations
	}
	var out []Producing
	for _, p := range Configurations {
		if slices.Contains(r.cfg.Configs, p.Name) {
			out = append(out, p)
		}
	}
	return out
}

func (r *runner) createTopic(ctx context.Context, adm *kadm.Client, p Producing) error {
	minISR := fmt.Sprint(p.MinISR)
	resp, err := adm.CreateTopic(ctx, int32(r.cfg.Partitions), p.RF, map[string]*string{"min.insync.replicas": &minISR}, p.Topic)
	if err == nil {
		err = resp.Err
	}
	if err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
		return fmt.Errorf("creating topic %s: %w", p.Topic, err)
	}
	return r.c.waitInSync(ctx, p.Topic, r.cfg.Partitions, 30*time.Second)
}

// produceGrace bounds how long a run's records may wait for their
// acknowledgement past the run's end.
const produceGrace = time.Minute

// producerOpts are a throughput producer's settings: Kafka's producer
// defaults where kgo's differ (5 requests in flight per broker without
// idempotence, as max.in.flight.requests.per.connection), acks=1 without
// idempotence (which needs acks=all), acks=all with it (Kafka's default
// since 3.0).
func (r *runner) producerOpts(p Producing) []kgo.Opt {
	opts := []kgo.Opt{kgo.SeedBrokers(r.c.seeds()...), kgo.DefaultProduceTopic(p.Topic),
		kgo.ProducerLinger(r.cfg.Linger), kgo.ProducerBatchMaxBytes(int32(r.cfg.BatchBytes)),
		kgo.MaxBufferedBytes(r.cfg.BufferBytes), kgo.MaxBufferedRecords(1 << 20)}
	if p.Acks == "1" {
		opts = append(opts, kgo.RequiredAcks(kgo.LeaderAck()), kgo.DisableIdempotentWrite(), kgo.MaxProduceRequestsInflightPerBroker(5))
	} else {
		opts = append(opts, kgo.RequiredAcks(kgo.AllISRAcks()))
	}
	return opts
}

// produce runs one producer on p's topic for d: as fast as it goes when
// rate is 0, else at rate records/s.
func (r *runner) produce(ctx context.Context, p Producing, size int, rate float64, d time.Duration, round int) (ProduceRun, error) {
	mode := ModeMax
	if rate > 0 {
		mode = ModeRate
	}
	if round > 0 {
		r.cfg.Logf("replbench: %s, %d B, %s, round %d", p.Label(), size, mode, round)
	}
	// A record that cannot be delivered fails within the run's time and
	// produceGrace, as does the final flush: a broker that stopped taking
	// records (a full disk answers KAFKA_STORAGE_ERROR, which kgo retries
	// for ever) fails the run instead of hanging it.
	cl, err := kgo.NewClient(append(r.producerOpts(p), kgo.RecordDeliveryTimeout(d+produceGrace))...)
	if err != nil {
		return ProduceRun{}, err
	}
	defer cl.Close()
	// The first record outside the clock: metadata, connections and the
	// producer id.
	fctx, fcancel := context.WithTimeout(ctx, produceGrace)
	defer fcancel()
	if err := cl.ProduceSync(fctx, &kgo.Record{Value: make([]byte, size)}).FirstErr(); err != nil {
		return ProduceRun{}, fmt.Errorf("%s: first record: %w", p.Label(), err)
	}
	marks := r.logMarks()
	cpu := r.startCPU()
	payload := perf.NewPayload(size, uint64(round*1000+size))
	rec := perf.NewRecorder()
	pacer := perf.NewPacer(rate)
	n := int64(size)
	rec.MarkStart()
	end := time.Now().Add(d)
	for i := int64(0); ; i++ {
		if i%64 == 0 && (!time.Now().Before(end) || ctx.Err() != nil) {
			break
		}
		if err := pacer.Wait(ctx); err != nil {
			break
		}
		start := rec.Since()
		cl.Produce(ctx, &kgo.Record{Value: payload.Value(i)}, func(_ *kgo.Record, err error) {
			if err != nil {
				rec.Fail(err)
				return
			}
			rec.Record(rec.Since()-start, 1, n)
		})
	}
	flushCtx, flushCancel := context.WithTimeout(ctx, produceGrace)
	defer flushCancel()
	if err := cl.Flush(flushCtx); err != nil {
		failed, first := rec.Errors()
		return ProduceRun{}, fmt.Errorf("%s: flush: records still unacknowledged %v after the run (%d failed, the first with %v): %w",
			p.Label(), produceGrace, failed, first, err)
	}
	use := r.stopCPU(cpu)
	var res perf.Result
	rec.Result(&res, "send to ack")
	run := ProduceRun{Config: p.Name, Label: p.Label(), Size: size, Mode: mode, Round: round, Rate: rate,
		Records: res.Records, Seconds: res.Seconds, RecordsPerSec: res.RecordsPerSec, MBPerSec: res.MBPerSec,
		P50: res.Latency.P50, P99: res.Latency.P99, P999: res.Latency.P999, Max: res.Latency.Max,
		Errors: res.Errors, LoadAfter: hostinfo.LoadAverage(), CPU: use}
	if _, first := rec.Errors(); first != nil {
		run.FirstError = first.Error()
	}
	run.ISRShrinks = r.countSince(marks, "shrinking ISR")
	run.Fences = r.countSince(marks, "broker fenced")
	return run, nil
}

// logMarks are every broker's log lengths now.
func (r *runner) logMarks() []int {
	out := make([]int, len(r.c.nodes))
	for i, nd := range r.c.nodes {
		out[i] = nd.log.mark()
	}
	return out
}

// countSince counts the lines containing s every broker logged since
// marks.
func (r *runner) countSince(marks []int, s string) int {
	n := 0
	for i, nd := range r.c.nodes {
		n += nd.log.count(marks[i], s)
	}
	return n
}
