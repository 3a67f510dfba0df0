package enginebench

import (
	"encoding/json"
	"fmt"
	"github.com/sluicelog/sluice/bench/units"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// Report is the outcome of Run. Its JSON form is the -json output.
type Report struct {
	Machine Machine `json:"machine"`
	// LoadBefore and LoadAfter are /proc/loadavg around the run: other
	// work on the machine shows up there.
	LoadBefore string `json:"load_before"`
	LoadAfter  string `json:"load_after"`
	Durable    bool   `json:"durable"`
	Codec      string `json:"codec"`
	// RecordBytes and BatchBytes are the workload's record value size and
	// the uncompressed size batches are filled up to.
	RecordBytes int `json:"record_bytes"`
	BatchBytes  int `json:"batch_bytes"`
	// RequestedBytes is the volume asked for; Bytes, Batches and Records
	// are what each run wrote (whole batches, so Bytes >= RequestedBytes).
	RequestedBytes int64   `json:"requested_bytes"`
	Bytes          int64   `json:"bytes"`
	Batches        int64   `json:"batches"`
	Records        int64   `json:"records"`
	AvgBatchBytes  float64 `json:"avg_batch_bytes"`
	Rounds         int     `json:"rounds"`
	TargetRatio    float64 `json:"target_ratio"`
	// TopicConfigs are the overrides the engine's topic was created with
	// beyond the defaults (max.message.bytes is always raised to fit).
	TopicConfigs map[string]string `json:"topic_configs,omitempty"`

	Builder BuilderResult `json:"builder"`
	// Runs holds, round by round, the plain run and then the engine runs
	// (whichever ran first in that round).
	Runs []Result `json:"runs"`
	// Summary has one line per engine configuration (producer count) with
	// medians over the rounds, and one for plain.
	Summary []Summary `json:"summary"`
}

// BuilderResult is the throughput of batch.Builder building the ring.
type BuilderResult struct {
	Codec             string  `json:"codec"`
	Batches           int     `json:"batches"`
	Records           int64   `json:"records"`
	UncompressedBytes int64   `json:"uncompressed_bytes"`
	Bytes             int64   `json:"bytes"` // as built (compressed)
	Seconds           float64 `json:"seconds"`
	MBps              float64 `json:"mb_per_s"` // uncompressed bytes in
	RecordsPerSec     float64 `json:"records_per_s"`
}

// Result is one timed run.
type Result struct {
	Round     int    `json:"round"`
	Name      string `json:"name"`
	Kind      string `json:"kind"` // "plain" or "engine"
	Producers int    `json:"producers"`
	Bytes     int64  `json:"bytes"`
	Batches   int64  `json:"batches"`
	Records   int64  `json:"records"`
	// StoredBytes is the plain file's size or the engine log's size after
	// the run; both must equal Bytes.
	StoredBytes int64 `json:"stored_bytes"`
	Segments    int   `json:"segments,omitempty"`
	// WriteSeconds runs to the last write or append returning; SyncSeconds
	// includes the final fdatasync (plain) or Partition.Flush (engine).
	WriteSeconds float64 `json:"write_seconds"`
	SyncSeconds  float64 `json:"sync_seconds"`
	WriteMBps    float64 `json:"write_mb_per_s"`
	SyncMBps     float64 `json:"sync_mb_per_s"`
	// RecordsPerSec is records over SyncSeconds.
	RecordsPerSec float64 `json:"records_per_s"`
	// Latency of one write or append call (with its fdatasync in durable
	// mode), in microseconds.
	LatencyP50us float64 `json:"latency_p50_us"`
	LatencyP99us float64 `json:"latency_p99_us"`
	LatencyMaxUs float64 `json:"latency_max_us"`
	// RatioSync and RatioWrite compare an engine run with the plain run of
	// the same round (engine MB/s / plain MB/s); zero for plain runs.
	RatioSync  float64 `json:"ratio_sync,omitempty"`
	RatioWrite float64 `json:"ratio_write,omitempty"`
}

// Summary is the median over the rounds of one configuration.
type Summary struct {
	Name          string  `json:"name"`
	Kind          string  `json:"kind"`
	Producers     int     `json:"producers"`
	WriteMBps     float64 `json:"write_mb_per_s"`
	SyncMBps      float64 `json:"sync_mb_per_s"`
	RecordsPerSec float64 `json:"records_per_s"`
	// RatioSync and RatioWrite are the medians of the per-round ratios;
	// MinRatioSync the worst round.
	RatioSync    float64 `json:"ratio_sync,omitempty"`
	RatioWrite   float64 `json:"ratio_write,omitempty"`
	MinRatioSync float64 `json:"min_ratio_sync,omitempty"`
}

func (r *Result) fill(p plan, written, total time.Duration) {
	r.Bytes, r.Batches, r.Records = p.bytes, p.count, p.records
	r.WriteSeconds, r.SyncSeconds = written.Seconds(), total.Seconds()
	r.WriteMBps, r.SyncMBps = mbps(p.bytes, written), mbps(p.bytes, total)
	if total > 0 {
		r.RecordsPerSec = float64(p.records) / total.Seconds()
	}
}

// latencies fills the latency percentiles from per-call durations.
func (r *Result) latencies(ds []time.Duration) {
	if len(ds) == 0 {
		return
	}
	slices.Sort(ds)
	at := func(q float64) float64 {
		return float64(ds[min(len(ds)-1, int(q*float64(len(ds))))].Nanoseconds()) / 1e3
	}
	r.LatencyP50us, r.LatencyP99us, r.LatencyMaxUs = at(0.5), at(0.99), at(1)
}

func (r *Result) compare(plain Result) {
	if plain.SyncMBps > 0 {
		r.RatioSync = r.SyncMBps / plain.SyncMBps
	}
	if plain.WriteMBps > 0 {
		r.RatioWrite = r.WriteMBps / plain.WriteMBps
	}
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if n := len(s); n%2 == 1 {
		return s[n/2]
	} else {
		return (s[n/2-1] + s[n/2]) / 2
	}
}

// summarize fills Summary from Runs.
func (rep *Report) summarize() {
	type key struct {
		kind      string
		producers int
	}
	var order []key
	groups := map[key][]Result{}
	for _, r := range rep.Runs {
		k := key{r.Kind, r.Producers}
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], r)
	}
	rep.Summary = nil
	for _, k := range order {
		rs := groups[k]
		col := func(f func(Result) float64) []float64 {
			out := make([]float64, len(rs))
			for i, r := range rs {
				out[i] = f(r)
			}
			return out
		}
		s := Summary{Name: rs[0].Name, Kind: k.kind, Producers: k.producers,
			WriteMBps:     median(col(func(r Result) float64 { return r.WriteMBps })),
			SyncMBps:      median(col(func(r Result) float64 { return r.SyncMBps })),
			RecordsPerSec: median(col(func(r Result) float64 { return r.RecordsPerSec })),
		}
		if k.kind == "engine" {
			ratios := col(func(r Result) float64 { return r.RatioSync })
			s.RatioSync = median(ratios)
			s.RatioWrite = median(col(func(r Result) float64 { return r.RatioWrite }))
			s.MinRatioSync = slices.Min(ratios)
		}
		rep.Summary = append(rep.Summary, s)
	}
}

// Plain returns the plain runs, one per round.
func (rep *Report) Plain() []Result { return rep.runs("plain") }

// Engine returns the engine runs, round by round.
func (rep *Report) Engine() []Result { return rep.runs("engine") }

func (rep *Report) runs(kind string) []Result {
	var out []Result
	for _, r := range rep.Runs {
		if r.Kind == kind {
			out = append(out, r)
		}
	}
	return out
}

// TargetMet reports whether every engine configuration reached TargetRatio
// of the plain runs, fdatasync included, as the median over the rounds.
func (rep *Report) TargetMet() bool {
	n := 0
	for _, s := range rep.Summary {
		if s.Kind != "engine" {
			continue
		}
		n++
		if s.RatioSync < rep.TargetRatio {
			return false
		}
	}
	return n > 0
}

// WriteJSON writes the report as indented JSON.
func (rep *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

// WriteText writes the report as human-readable tables: the setting, every
// run, and with several rounds the medians.
func (rep *Report) WriteText(w io.Writer) error {
	m := rep.Machine
	var b strings.Builder
	fmt.Fprintf(&b, "machine:  %s, %d cores (GOMAXPROCS %d), %d MiB RAM\n", m.CPU, m.Cores, m.GOMAXPROCS, m.MemoryMiB)
	fmt.Fprintf(&b, "software: %s %s, kernel %s\n", m.GoVersion, m.OS, m.Kernel)
	fmt.Fprintf(&b, "disk:     %s on %s (mounted at %s), run in %s\n", m.FileSystem, m.Device, m.MountPoint, m.Dir)
	fmt.Fprintf(&b, "date:     %s; load average before %s, after %s\n", m.Date, rep.LoadBefore, rep.LoadAfter)
	mode := "page cache appends (Kafka's default), then one final fdatasync"
	if rep.Durable {
		mode = "durable: flush.on.ack=true, every append waits for fdatasync (group commit); plain syncs after every write"
	}
	fmt.Fprintf(&b, "workload: %s (%d batches, %d records) of %d-byte records in %s batches (avg %.0f B), codec %s\n",
		units.FormatSize(rep.Bytes), rep.Batches, rep.Records, rep.RecordBytes, units.FormatSize(int64(rep.BatchBytes)), rep.AvgBatchBytes, rep.Codec)
	fmt.Fprintf(&b, "mode:     %s; %d round(s), order alternating, plain first\n", mode, rep.Rounds)
	if len(rep.TopicConfigs) > 0 {
		keys := slices.Sorted(maps.Keys(rep.TopicConfigs))
		for i, k := range keys {
			keys[i] = k + "=" + rep.TopicConfigs[k]
		}
		fmt.Fprintf(&b, "configs:  %s\n", strings.Join(keys, ", "))
	}
	bl := rep.Builder
	fmt.Fprintf(&b, "builder:  %.0f MB/s uncompressed in, %.0f records/s (%d batches prebuilt, %s, outside the timed runs)\n\n",
		bl.MBps, bl.RecordsPerSec, bl.Batches, units.FormatSize(bl.Bytes))
	if _, err := io.WriteString(w, b.String()); err != nil {
		return err
	}

	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "round\trun\tproducers\tbytes\tsegments\twrite s\twrite MB/s\t+sync s\t+sync MB/s\trecords/s\tvs plain +sync\tvs plain write\tp50 us\tp99 us\tmax ms\t")
	for _, r := range rep.Runs {
		writeS, writeMB := fmt.Sprintf("%.3f", r.WriteSeconds), fmt.Sprintf("%.1f", r.WriteMBps)
		ratioSync, ratioWrite, segments := "-", "-", "-"
		if r.Kind == "engine" {
			ratioSync, ratioWrite = fmt.Sprintf("%.3f", r.RatioSync), fmt.Sprintf("%.3f", r.RatioWrite)
			segments = strconv.Itoa(r.Segments)
		}
		if rep.Durable {
			// Every write syncs: there is no write-only figure.
			writeS, writeMB, ratioWrite = "-", "-", "-"
		}
		fmt.Fprintf(tw, "%d\t%s\t%d\t%d\t%s\t%s\t%s\t%.3f\t%.1f\t%.0f\t%s\t%s\t%.0f\t%.0f\t%.1f\t\n",
			r.Round, r.Name, r.Producers, r.Bytes, segments, writeS, writeMB, r.SyncSeconds, r.SyncMBps, r.RecordsPerSec, ratioSync, ratioWrite,
			r.LatencyP50us, r.LatencyP99us, r.LatencyMaxUs/1e3)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if rep.Rounds > 1 {
		fmt.Fprintf(w, "\nmedians over %d rounds:\n", rep.Rounds)
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "run\tproducers\twrite MB/s\t+sync MB/s\trecords/s\tvs plain +sync\tworst round\tvs plain write\t")
		for _, s := range rep.Summary {
			writeMB, ratioSync, minSync, ratioWrite := fmt.Sprintf("%.1f", s.WriteMBps), "-", "-", "-"
			if s.Kind == "engine" {
				ratioSync, minSync, ratioWrite = fmt.Sprintf("%.3f", s.RatioSync), fmt.Sprintf("%.3f", s.MinRatioSync), fmt.Sprintf("%.3f", s.RatioWrite)
			}
			if rep.Durable {
				writeMB, ratioWrite = "-", "-"
			}
			fmt.Fprintf(tw, "%s\t%d\t%s\t%.1f\t%.0f\t%s\t%s\t%s\t\n", s.Name, s.Producers, writeMB, s.SyncMBps, s.RecordsPerSec, ratioSync, minSync, ratioWrite)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	verdict := "MET"
	if !rep.TargetMet() {
		verdict = "NOT MET"
	}
	_, err := fmt.Fprintf(w, "\ntarget:   engine >= %.0f%% of plain, fdatasync included (median over rounds): %s\n", rep.TargetRatio*100, verdict)
	return err
}
