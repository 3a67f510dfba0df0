package metricsbench

import (
	"context"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sluicelog/sluice/bench/units"
)

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestSlotOrder(t *testing.T) {
	if got := SlotOrder(1); !slices.Equal(got, []string{Off, On, On, Off}) {
		t.Errorf("SlotOrder(1) = %v", got)
	}
	if got := SlotOrder(2); !slices.Equal(got, []string{On, Off, Off, On}) {
		t.Errorf("SlotOrder(2) = %v", got)
	}
}

func TestMedianAndSplit(t *testing.T) {
	for _, c := range []struct {
		xs   []float64
		want float64
	}{{nil, 0}, {[]float64{3}, 3}, {[]float64{5, 1, 3}, 3}, {[]float64{4, 1, 3, 2}, 2.5}} {
		if got := units.Median(c.xs); !near(got, c.want) {
			t.Errorf("units.Median(%v) = %v, want %v", c.xs, got, c.want)
		}
	}
	if got := split(10, 4); !slices.Equal(got, []int64{3, 3, 2, 2}) {
		t.Errorf("split(10, 4) = %v", got)
	}
	if s := units.SpreadOf([]float64{90, 100, 110}); !near(s.Width(), 0.2) || s.Median != 100 {
		t.Errorf("spread %+v, width %v", s, s.Width())
	}
}

// rounds makes rounds of one phase from MB/s figures in slot order, four
// a round (off, on, on, off, then on, off, off, on, ...), at 1 us of
// broker CPU per record off and cpuOn on.
func rounds(mbps []float64, cpuOn float64) []Round {
	var out []Round
	for i := 0; i+4 <= len(mbps); i += 4 {
		r := Round{Index: i/4 + 1, Order: SlotOrder(i/4 + 1)}
		for slot, mode := range r.Order {
			cpu := 1.0
			if mode == On {
				cpu = cpuOn
			}
			r.Phases = append(r.Phases, Phase{Name: "p", Slot: slot + 1, Mode: mode, Records: 1_000_000, MBps: mbps[i+slot], BrokerCPU: cpu},
				Phase{Name: "other", Slot: slot + 1, Mode: mode, Records: 1, MBps: 1})
		}
		out = append(out, r)
	}
	return out
}

func TestSummarize(t *testing.T) {
	// Round 1: off 100, on 98, on 96, off 100; round 2: on 110, off 100,
	// off 104, on 90.
	s := Summarize("p", rounds([]float64{100, 98, 96, 100, 110, 100, 104, 90}, 1.02))
	// off: 100 100 100 104 -> median 100; on: 98 96 110 90 -> median 97.
	if s.OffMBps.Median != 100 || s.OnMBps.Median != 97 || !near(s.MedianRatio, 0.97) {
		t.Fatalf("medians %+v / %+v, ratio %v", s.OffMBps, s.OnMBps, s.MedianRatio)
	}
	if s.OnMBps.Min != 90 || s.OnMBps.Max != 110 || s.Runs != 8 || s.Disturbed != 0 {
		t.Errorf("on range %+v, %d runs, %d disturbed", s.OnMBps, s.Runs, s.Disturbed)
	}
	// Rounds: (98+96)/2 / 100 = 0.97; (110+90)/2 / (100+104)/2 = 100/102.
	if len(s.Rounds) != 2 || !near(s.Rounds[0], 0.97) || !near(s.Rounds[1], 100.0/102) || !near(s.Ratio, (0.97+100.0/102)/2) {
		t.Errorf("rounds %v, ratio %v", s.Rounds, s.Ratio)
	}
	// Control: each mode's second slot over its first, off then on.
	if want := []float64{1, 96.0 / 98, 104.0 / 100, 90.0 / 110}; !slices.EqualFunc(s.Control, want, near) {
		t.Errorf("control %v, want %v", s.Control, want)
	}
	if !near(s.OffCPU.Median, 1) || !near(s.OnCPU.Median, 1.02) || !near(s.CPURatio, 1.02) || len(s.CPURounds) != 2 {
		t.Errorf("cpu %+v / %+v, ratio %v %v", s.OffCPU, s.OnCPU, s.CPURatio, s.CPURounds)
	}
	if !s.Met || s.Beyond || s.Verdict() != "met in the median (too few rounds for an interval)" {
		t.Errorf("met %v beyond %v verdict %q", s.Met, s.Beyond, s.Verdict())
	}
	if got := Summarize("absent", rounds([]float64{1, 1, 1, 1}, 1)); got.Ratio != 0 || len(got.Rounds) != 0 || got.Verdict() != "not measured" {
		t.Errorf("a phase no round has: %+v", got)
	}
}

// ratioRounds makes rounds whose ratios on/off are the given ones: off
// runs at 100 MB/s, on runs at 100 times the ratio.
func ratioRounds(ratios ...float64) []Round {
	var mbps []float64
	for i, x := range ratios {
		for _, mode := range SlotOrder(i + 1) {
			if mode == On {
				mbps = append(mbps, 100*x)
			} else {
				mbps = append(mbps, 100)
			}
		}
	}
	return rounds(mbps, 1)
}

func TestVerdicts(t *testing.T) {
	for _, c := range []struct {
		name        string
		ratios      []float64
		met, beyond bool
		want        string
	}{
		{"met", []float64{1, 0.99, 1.01, 1, 0.98}, true, false, "met (the 94% interval is above the target)"},
		{"met, wide", []float64{1, 1, 1.02, 0.95, 1.01}, true, false, "met in the median; the 94% interval reaches 0.950, so this run cannot rule out"},
		{"missed beyond noise", []float64{0.9, 0.92, 0.95, 0.91, 0.93}, false, true, "**NOT met**, beyond this run's noise (the 94% interval"},
		{"missed within noise", []float64{0.9, 0.92, 0.95, 1.0, 1.01}, false, false, "**NOT met** in the median, within this run's noise (the 94% interval reaches 1.010)"},
		{"too few", []float64{0.9, 0.9}, false, false, "**NOT met** in the median (too few rounds"},
	} {
		s := Summarize("p", ratioRounds(c.ratios...))
		if s.Met != c.met || s.Beyond != c.beyond || !strings.HasPrefix(s.Verdict(), c.want) {
			t.Errorf("%s: ratio %.3f rounds %v: met %v beyond %v verdict %q", c.name, s.Ratio, s.Rounds, s.Met, s.Beyond, s.Verdict())
		}
	}
}

func TestMedianInterval(t *testing.T) {
	for _, c := range []struct {
		n         int
		low, high float64 // of the values 1..n
		conf      float64
	}{
		{1, 1, 1, 0},
		{5, 1, 5, 1 - 2.0/32},
		{7, 1, 7, 1 - 2.0/128},         // k=2 would be 0.875
		{9, 2, 8, 1 - 2*10.0/512},      // 0.961
		{15, 4, 12, 1 - 2*576.0/32768}, // 0.965
	} {
		xs := make([]float64, c.n)
		for i := range xs {
			xs[len(xs)-1-i] = float64(i + 1) // unsorted
		}
		iv := MedianInterval(xs, 0.95)
		if iv.Low != c.low || iv.High != c.high || !near(iv.Confidence, c.conf) {
			t.Errorf("n=%d: %+v, want [%v, %v] at %v", c.n, iv, c.low, c.high, c.conf)
		}
	}
	if iv := MedianInterval(nil, 0.95); iv != (Interval{}) {
		t.Errorf("no figures: %+v", iv)
	}
}

const page = `# HELP sluice_topic_records_in_total Records producers appended, by topic.
# TYPE sluice_topic_records_in_total counter
sluice_topic_records_in_total{topic="metricsbench-1"} 4e+06
sluice_topic_records_in_total{topic="metricsbench-n"} 3.000001e+06
sluice_topic_records_in_total{topic="odd \"name\"\\x"} 7
# HELP sluice_partitions Partitions whose log this broker's engine stores.
# TYPE sluice_partitions gauge
sluice_partitions 5
# HELP sluice_request_duration_seconds Time from a request's last byte read to its response written.
# TYPE sluice_request_duration_seconds histogram
sluice_request_duration_seconds_bucket{api="Produce",listener="native",le="0.001"} 20000
sluice_request_duration_seconds_bucket{api="Produce",listener="native",le="+Inf"} 27027
sluice_request_duration_seconds_sum{api="Produce",listener="native"} 12.5
sluice_request_duration_seconds_count{api="Produce",listener="native"} 27027
sluice_request_duration_seconds_bucket{api="Fetch",listener="native",le="+Inf"} 120
sluice_request_duration_seconds_sum{api="Fetch",listener="native"} 1.5
sluice_request_duration_seconds_count{api="Fetch",listener="native"} 120
# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.
# TYPE process_cpu_seconds_total counter
process_cpu_seconds_total 3.14
`

func TestParsePage(t *testing.T) {
	p, err := ParsePage([]byte(page))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
		ok     bool
	}{
		{"sluice_topic_records_in_total", []string{"topic", "metricsbench-1"}, 4_000_000, true},
		{"sluice_topic_records_in_total", []string{"topic", "metricsbench-n"}, 3_000_001, true},
		{"sluice_topic_records_in_total", []string{"topic", `odd "name"\x`}, 7, true},
		{"sluice_topic_records_in_total", []string{"topic", "absent"}, 0, false},
		{"sluice_topic_records_in_total", nil, 7_000_008, true}, // every series
		{"sluice_partitions", nil, 5, true},
		{"sluice_request_duration_seconds", []string{"listener", "native", "api", "Produce"}, 27027, true},
		{"sluice_request_duration_seconds", []string{"listener", "native"}, 27147, true},
		{"process_cpu_seconds_total", nil, 3.14, true},
		{"sluice_topic_records_out_total", nil, 0, false},
		{"sluice_partitions", []string{"odd"}, 0, false}, // labels not in pairs
	} {
		got, ok := p.Value(c.name, c.labels...)
		if ok != c.ok || !near(got, c.want) {
			t.Errorf("Value(%s, %q) = %v, %v; want %v, %v", c.name, c.labels, got, ok, c.want, c.ok)
		}
	}
	if _, err := ParsePage([]byte("sluice_partitions{topic=\"x} 1\n")); err == nil {
		t.Error("a broken label parsed")
	}
}

func TestParseFocus(t *testing.T) {
	out := `File: sluiced
Type: cpu
Duration: 56.81s, Total samples = 11.64s (20.49%)
Active filters:
   focus=net/metrics
Showing nodes accounting for 0.10s, 0.86% of 11.64s total
      flat  flat%   sum%        cum   cum%
`
	if v, total, err := parseFocus(out); err != nil || !near(v, 0.86) || total != "11.64s" {
		t.Errorf("parseFocus = %v, %q, %v", v, total, err)
	}
	none := "Focus expression matched no samples\nDuration: 5s, Total samples = 1.50s (30%)\n"
	if v, total, err := parseFocus(none); err != nil || v != 0 || total != "1.50s" {
		t.Errorf("no match: %v, %q, %v", v, total, err)
	}
	if _, _, err := parseFocus("something else"); err == nil {
		t.Error("parsed output without totals")
	}
}

func TestWriteMarkdown(t *testing.T) {
	rs := rounds([]float64{100, 98, 96, 100, 110, 100, 104, 90}, 1.02)
	for i := range rs {
		rs[i].Brokers = []Broker{{Mode: Off, Command: "sluiced off"}, {Mode: On, Command: "sluiced on", Scrapes: 5, PageBytes: 20000,
			RecordsIn: map[string]int64{"metricsbench-1-s2": 1_000_000}, RecordsOut: map[string]int64{"metricsbench-1-s2": 2_000_000}}}
	}
	rep := &Report{Command: "metricsbench test", Config: Config{Rounds: 2, Records: 1_000_000, RecordSize: 100, Partitions: -1,
		ConsumePasses: 2, ScrapeInterval: time.Second}, Rounds: rs, Summaries: []Summary{Summarize("p", rs)}}
	var b strings.Builder
	if err := rep.WriteMarkdown(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"## Metrics overhead", "`metricsbench test`", "- metrics **on**: `sluiced on`",
		"| p | **0.975** [0.970, 0.980] | 100.0 [100.0, 104.0] | 97.0 [90.0, 110.0] | 0.970 |",
		"| 2 | p | on **110.0** (1.020 / 0.000, 0%, 0 scr.) | off **100.0** (1.000 / 0.000, 0%) |",
		"metricsbench-1-s2: 1000000 / 2000000", "Target >= 0.97: met in the median (too few rounds for an interval)."} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("markdown lacks %q:\n%s", want, b.String())
		}
	}
}

// TestRunTiny runs the whole harness at a tiny size: it builds sluiced
// and starts two pairs of brokers. It checks the counts and the checks,
// not the timings.
func TestRunTiny(t *testing.T) {
	if testing.Short() {
		t.Skip("builds sluiced and starts four brokers")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	rep, err := Run(ctx, Config{Dir: t.TempDir(), Rounds: 2, Records: 20_000, Partitions: 2, PartitionRecords: 10_000, ConsumePasses: 2,
		Profile: true, Command: "metricsbench test", Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Problems) > 0 {
		t.Fatalf("problems: %q", rep.Problems)
	}
	if len(rep.Rounds) != 2 || len(rep.Summaries) != 4 {
		t.Fatalf("%d rounds, %d summaries", len(rep.Rounds), len(rep.Summaries))
	}
	if p := rep.Profiles; p == nil || len(p.Costs) != len(costs) || p.OnSamples == "" || len(p.Files) != 4 {
		t.Errorf("profiles %+v", p)
	}
	for _, r := range rep.Rounds {
		if len(r.Phases) != 16 {
			t.Errorf("round %d: %d phases", r.Index, len(r.Phases))
		}
		scrapes := 0
		for _, ph := range r.Phases {
			if ph.MBps <= 0 || ph.Records <= 0 || ph.Mode != r.Order[ph.Slot-1] || ph.Mode == Off && ph.Scrapes > 0 {
				t.Errorf("round %d phase %+v", r.Index, ph)
			}
			scrapes += ph.Scrapes
		}
		for _, br := range r.Brokers {
			if br.ExitCode != 0 {
				t.Errorf("round %d: %+v", r.Index, br)
			}
			if br.Mode == Off {
				if br.RecordsIn != nil || br.Scrapes != 0 {
					t.Errorf("round %d, metrics off: scraped %v", r.Index, br.RecordsIn)
				}
				continue
			}
			// Two topics of each workload, 20000 and 10000 records,
			// consumed twice.
			if len(br.RecordsIn) != 4 || br.Scrapes < 1 || br.Scrapes != scrapes || br.ProduceTimed == 0 {
				t.Errorf("round %d, metrics on: in %v, %d scrapes, %d produce requests timed", r.Index, br.RecordsIn, br.Scrapes, br.ProduceTimed)
			}
			for topic, in := range br.RecordsIn {
				if br.RecordsOut[topic] != 2*in || in != 20_000 && in != 10_000 {
					t.Errorf("round %d, %s: in %d, out %d", r.Index, topic, in, br.RecordsOut[topic])
				}
			}
		}
	}
}
