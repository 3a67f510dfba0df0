package perf

import (
	"encoding/json"
	"fmt"
	"io"
	"time"
)

// Result is one run's outcome, what --json prints: one document with the
// configuration, the machine, the throughput and the latency percentiles.
type Result struct {
	// System is what was measured: "sluice", "sluice-engine", or a peer
	// ("kfake", "nats-jetstream") or limit in bench/peers.
	System   string    `json:"system"`
	Workload string    `json:"workload"`
	Command  string    `json:"command,omitempty"`
	Config   Config    `json:"config"`
	Machine  Machine   `json:"machine"`
	Date     time.Time `json:"date"`
	// LoadBefore and LoadAfter are /proc/loadavg around the run.
	LoadBefore string `json:"load_before"`
	LoadAfter  string `json:"load_after"`
	// Seconds runs from the start to the last completed record.
	Seconds       float64 `json:"seconds"`
	Records       int64   `json:"records"`
	Bytes         int64   `json:"bytes"`
	RecordsPerSec float64 `json:"records_per_sec"`
	// MBPerSec is payload (keys and values) in 10^6 bytes per second.
	MBPerSec float64 `json:"mb_per_sec"`
	Errors   int64   `json:"errors"`
	Latency  Latency `json:"latency"`
	// Notes are remarks on how the figures were taken.
	Notes []string `json:"notes,omitempty"`
}

// WriteJSON writes the result as one indented JSON document.
func (r *Result) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("perf: encoding the result: %w", err)
	}
	return nil
}

// WriteText writes the human summary: the run, throughput, percentiles.
func (r *Result) WriteText(w io.Writer) error {
	c := &r.Config
	fmt.Fprintf(w, "%s %s: %d records of %d B in %.3f s: %.0f records/s, %.2f MB/s\n",
		r.System, r.Workload, r.Records, c.RecordSize, r.Seconds, r.RecordsPerSec, r.MBPerSec)
	switch r.Workload {
	case Consume:
		fmt.Fprintf(w, "  config: topic %s, partitions %d, consumers %d, fetch %d B per partition\n",
			c.Topic, c.Partitions, min(c.Consumers, int(c.Partitions)), c.FetchBytes)
	case Engine:
		fmt.Fprintf(w, "  config: topic %s, partitions %d, producers %d, compression %s, batch %d B, keys %d, throughput cap %s\n",
			c.Topic, c.Partitions, c.Producers, c.Compression, c.BatchSize, c.KeyCardinality, rateString(c.Throughput))
	default:
		fmt.Fprintf(w, "  config: topic %s, partitions %d, producers %d, consumers %d, acks %s, compression %s, linger %v, batch %d B, keys %d, throughput cap %s\n",
			c.Topic, c.Partitions, c.Producers, c.Consumers, c.Acks, c.Compression, max(c.Linger, 0), c.BatchSize, c.KeyCardinality, rateString(c.Throughput))
	}
	if len(c.TopicConfigs) > 0 {
		fmt.Fprintf(w, "  topic configs: %v\n", c.TopicConfigs)
	}
	l := r.Latency
	fmt.Fprintf(w, "  latency (%s, %d samples): mean %.3f ms, p50 %.3f ms, p95 %.3f ms, p99 %.3f ms, p99.9 %.3f ms, max %.3f ms\n",
		l.What, l.Count, l.Mean, l.P50, l.P95, l.P99, l.P999, l.Max)
	if r.Errors > 0 {
		fmt.Fprintf(w, "  errors: %d records failed\n", r.Errors)
	}
	for _, n := range r.Notes {
		fmt.Fprintf(w, "  note: %s\n", n)
	}
	_, err := fmt.Fprintf(w, "  machine: %s; %s; load %s -> %s\n", r.Machine, r.Date.UTC().Format(time.RFC3339), r.LoadBefore, r.LoadAfter)
	return err
}

func rateString(r float64) string {
	if r <= 0 {
		return "none"
	}
	return fmt.Sprintf("%.0f records/s", r)
}
