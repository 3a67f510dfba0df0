package serdebench

import (
	"bytes"
	"context"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hamba/avro/v2"

	"github.com/sluicelog/sluice/net/client/serde"
	"github.com/sluicelog/sluice/net/schemareg/regclient"
)

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestRoundOrder(t *testing.T) {
	if got := RoundOrder(1); !slices.Equal(got, []string{Raw, Avro}) {
		t.Errorf("RoundOrder(1) = %v", got)
	}
	if got := RoundOrder(2); !slices.Equal(got, []string{Avro, Raw}) {
		t.Errorf("RoundOrder(2) = %v", got)
	}
}

func TestGrouped(t *testing.T) {
	for x, want := range map[float64]string{0: "0", 999.4: "999", 999.5: "1,000", 1234567.8: "1,234,568", -1234: "-1,234", 100000: "100,000"} {
		if got := grouped(x); got != want {
			t.Errorf("grouped(%v) = %q, want %q", x, got, want)
		}
	}
	if got := times(2.54); got != "2.5x" {
		t.Errorf("times(2.54) = %q", got)
	}
	if got := times(1838.2); got != "1,838x" {
		t.Errorf("times(1838.2) = %q", got)
	}
}

func TestRegistryURLLine(t *testing.T) {
	line := `time=2026-01-01T00:00:00.000Z level=INFO msg="listener bound" event=listener_bound protocol=http addr=127.0.0.1:40123 schema_registry=http://127.0.0.1:40123`
	if m := registryURLRe.FindStringSubmatch(line); m == nil || m[1] != "http://127.0.0.1:40123" {
		t.Errorf("registry URL from %q: %v", line, m)
	}
	ops := `time=2026-01-01T00:00:00.000Z level=INFO msg="listener bound" event=listener_bound protocol=http addr=127.0.0.1:9644 metrics=http://127.0.0.1:9644/metrics`
	if m := registryURLRe.FindStringSubmatch(ops); m != nil {
		t.Errorf("the operations listener's line taken for the registry's: %v", m)
	}
}

// TestOrders checks that the orders are the same every time, fit the
// schema and come back whole from hamba/avro, as the serializer writes
// them (its body, after the header).
func TestOrders(t *testing.T) {
	a, b := newOrders(), newOrders()
	if len(a) != Distinct || !sameOrder(&a[Distinct-1], &b[Distinct-1]) || sameOrder(&a[0], &a[1]) {
		t.Fatalf("orders not deterministic or not distinct: %+v, %+v", a[Distinct-1], b[Distinct-1])
	}
	schema, err := regclient.ParseAvro(OrderSchema)
	if err != nil {
		t.Fatal(err)
	}
	notes, tags := 0, 0
	for i := range 1000 {
		body, err := avro.Marshal(schema, &a[i])
		if err != nil {
			t.Fatalf("order %d: %v", i, err)
		}
		var got Order
		if err := avro.Unmarshal(schema, body, &got); err != nil || !sameOrder(&got, &a[i]) {
			t.Fatalf("order %d: %+v (%v), want %+v", i, got, err, a[i])
		}
		if len(body) < 30 || len(body) > 120 {
			t.Errorf("order %d: %d bytes of Avro", i, len(body))
		}
		if a[i].Note != nil {
			notes++
		}
		tags += len(a[i].Tags)
	}
	if notes < 150 || notes > 350 || tags < 1200 || tags > 1800 {
		t.Errorf("%d notes and %d tags in 1000 orders", notes, tags)
	}
	if _, err := regclient.ParseAvro(emptySchema); err != nil {
		t.Error(err)
	}
}

func TestBytesOf(t *testing.T) {
	w := &workload{raw: make([][]byte, Distinct)}
	for i := range w.raw {
		w.raw[i] = make([]byte, 1+i%3)
		w.total += int64(len(w.raw[i]))
	}
	for _, n := range []int64{0, 1, 4, Distinct, Distinct + 2, 3*Distinct + 5} {
		var want int64
		for i := range n {
			want += int64(len(w.raw[i%Distinct]))
		}
		if got := w.bytesOf(n); got != want {
			t.Errorf("bytesOf(%d) = %d, want %d", n, got, want)
		}
	}
}

// report makes a report of rounds whose runs have the given records a
// second: raw, then Avro, for produce, then consume, a round per row.
func report(rows ...[4]float64) *Report {
	rep := &Report{Command: "serdebench test", Config: Config{Records: 1000, Rounds: len(rows), LookupDuration: time.Second, Goroutines: 4},
		SchemaID: 1, EmptySchemaID: 2, Values: Values{Distinct: Distinct, MeanBytes: 60, MinBytes: 40, MaxBytes: 100},
		Build: "sluiced", BrokerCommand: "sluiced --config x"}
	for i, row := range rows {
		r := Round{Index: i + 1, Order: RoundOrder(i + 1)}
		for _, mode := range r.Order {
			k := 0
			if mode == Avro {
				k = 1
			}
			r.Produce = append(r.Produce, Phase{Kind: Produce, Mode: mode, Records: 1000, RecordsPerSec: row[k], MBps: row[k] * 60 / 1e6,
				CPU: CPU{Seconds: 1000 / row[k], ClientCPU: 0.5 * 1000 / row[k]}})
			r.Consume = append(r.Consume, Phase{Kind: Consume, Mode: mode, Records: 1000, RecordsPerSec: row[2+k], MBps: row[2+k] * 60 / 1e6,
				CPU: CPU{Seconds: 1000 / row[2+k], ClientCPU: 1000 / row[2+k]}})
		}
		r.ProduceRatio, r.ConsumeRatio = row[1]/row[0], row[3]/row[2]
		for j, kind := range LookupKinds {
			per := []float64{2e7, 6e6, 1.5e7, 1e4}[j] * float64(i+1)
			r.Lookups = append(r.Lookups, Lookup{Kind: kind, Goroutines: 4, Calls: int64(per), PerSec: per, CPU: CPU{Seconds: 1, ClientCPU: 1, BrokerCPU: 0.5}})
		}
		rep.Rounds = append(rep.Rounds, r)
	}
	return rep
}

func TestSummarize(t *testing.T) {
	rep := report([4]float64{1e6, 8e5, 4e6, 8e5}, [4]float64{2e6, 1e6, 5e6, 1e6}, [4]float64{1.5e6, 9e5, 3e6, 9e5})
	s := rep.Summarize()
	if s.Produce.Raw.RecordsPerSec.Median != 1.5e6 || s.Produce.Avro.RecordsPerSec.Median != 9e5 {
		t.Errorf("produce medians %+v / %+v", s.Produce.Raw.RecordsPerSec, s.Produce.Avro.RecordsPerSec)
	}
	// The rounds' ratios 0.8, 0.5, 0.6: median 0.6, not 9e5/1.5e6.
	if !near(s.Produce.Ratio.Median, 0.6) || !near(s.Produce.Ratio.Min, 0.5) || !near(s.Produce.Ratio.Max, 0.8) {
		t.Errorf("produce ratio %+v", s.Produce.Ratio)
	}
	if !near(s.Consume.Ratio.Median, 0.2) || !near(s.Consume.Raw.ClientUsPerRecord.Median, 0.25) || !near(s.Consume.Raw.ClientCores.Median, 1) {
		t.Errorf("consume %+v", s.Consume)
	}
	if len(s.Lookups) != len(LookupKinds) || s.Lookups[0].PerSec.Median != 4e7 || !near(s.Lookups[0].OverHTTP, 2000) ||
		!near(s.Lookups[3].OverHTTP, 1) || !near(s.Lookups[3].BrokerCore.Median, 0.5) {
		t.Errorf("lookups %+v", s.Lookups)
	}
}

func TestWriteMarkdown(t *testing.T) {
	rep := report([4]float64{1e6, 8e5, 4e6, 8e5}, [4]float64{2e6, 1e6, 5e6, 1e6})
	rep.Problems = []string{"round 1: a\nb"}
	var b bytes.Buffer
	if err := rep.WriteMarkdown(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"## Avro serializers", "`serdebench test`", "avro/raw = 0.650**", "avro/raw = 0.200**",
		"| 2 | avro, raw | 2,000,000 (120.0) | 1,000,000 (60.0) | **0.500** | 0.250 / 0.500 |",
		"| **median** | | 1,500,000 (90.0) | 900,000 (54.0) | **0.650** |",
		"| **median** | **30,000,000** | **9,000,000** | **22,500,000** | **15,000** | 1.00 / 0.50 |",
		"| **/ HTTP** | **2,000x** | **600x** | **1,500x** | **1.0x** | |",
		"serializer ID() 30,000,000/s (2,000x the HTTP rate)", "**1 check(s) failed:**", "- round 1: a b"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("markdown lacks %q:\n%s", want, b.String())
		}
	}
	b.Reset()
	if err := rep.WriteJSON(&b); err != nil || !strings.Contains(b.String(), `"over_http"`) {
		t.Errorf("JSON: %v\n%s", err, b.String())
	}
}

// TestRunTiny runs the whole harness at a tiny size: it builds sluiced,
// starts it with its registry and makes two rounds. It checks the counts
// and the checks, not the timings.
func TestRunTiny(t *testing.T) {
	if testing.Short() {
		t.Skip("builds sluiced and starts it")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	rep, err := Run(ctx, Config{Dir: t.TempDir(), Rounds: 2, Records: 3000, LookupDuration: 20 * time.Millisecond, Goroutines: 4,
		Command: "serdebench test", Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Problems) > 0 {
		t.Fatalf("problems: %q", rep.Problems)
	}
	if len(rep.Rounds) != 2 || len(rep.Warmup) != 4 || rep.ExitCode != 0 || rep.SchemaID <= 0 || rep.EmptySchemaID == rep.SchemaID {
		t.Fatalf("%d rounds, %d warm-up runs, exit %d, ids %d and %d", len(rep.Rounds), len(rep.Warmup), rep.ExitCode, rep.SchemaID, rep.EmptySchemaID)
	}
	for _, r := range rep.Rounds {
		for _, ph := range append(slices.Clone(r.Produce), r.Consume...) {
			if ph.Records != 3000 || ph.RecordsPerSec <= 0 || ph.Bytes < 3000*serde.HeaderSize || ph.FirstOffset != int64(r.Index-1)*3000 {
				t.Errorf("round %d: %+v", r.Index, ph)
			}
		}
		if r.phase(Produce, Raw).Bytes != r.phase(Consume, Avro).Bytes || len(r.Lookups) != len(LookupKinds) {
			t.Errorf("round %d: bytes produced raw %d, read Avro %d; %d lookups", r.Index, r.phase(Produce, Raw).Bytes,
				r.phase(Consume, Avro).Bytes, len(r.Lookups))
		}
		for _, l := range r.Lookups {
			if l.Calls <= 0 || l.PerSec <= 0 {
				t.Errorf("round %d: %+v", r.Index, l)
			}
		}
	}
}
