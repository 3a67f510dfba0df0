package replbench

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	netcluster "github.com/sluicelog/sluice/net/cluster"
	"github.com/sluicelog/sluice/net/quorum"
	"github.com/sluicelog/sluice/net/replica"
)

// WriteJSON writes the report as indented JSON.
func (rep *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

// Ratio is RF 3 acks=all's throughput over RF 1 acks=1's at one record
// size: the median and the worst of the rounds' ratios, each round's two
// runs taken back to back.
type Ratio struct {
	Size               int
	Rounds             int
	BaselinePS, TargPS float64 // medians of the rounds' records/s
	Median, Worst      float64
	// BaselineCPU and TargCPU are the brokers' CPU time per acknowledged
	// record, in microseconds (medians of the rounds; 0 without /proc).
	BaselineCPU, TargCPU float64
}

// brokerCPUPerRecord is the brokers' CPU time per acknowledged record, in
// microseconds.
func (r ProduceRun) brokerCPUPerRecord() float64 {
	if r.Records == 0 {
		return 0
	}
	var t float64
	for _, b := range r.CPU.Brokers {
		t += b
	}
	return t * 1e6 / float64(r.Records)
}

// Ratios computes the RF 3 / RF 1 ratio of each record size measured
// with both configurations.
func (rep *Report) Ratios() []Ratio {
	var out []Ratio
	for _, size := range rep.Config.Sizes {
		var base, targ, ratios, baseCPU, targCPU []float64
		for round := 1; round <= rep.Config.Rounds; round++ {
			b, okb := rep.find(size, ModeMax, round, func(p Producing) bool { return p.Baseline })
			t, okt := rep.find(size, ModeMax, round, func(p Producing) bool { return p.Target })
			if !okb || !okt || b.RecordsPerSec == 0 {
				continue
			}
			base, targ = append(base, b.RecordsPerSec), append(targ, t.RecordsPerSec)
			ratios = append(ratios, t.RecordsPerSec/b.RecordsPerSec)
			baseCPU, targCPU = append(baseCPU, b.brokerCPUPerRecord()), append(targCPU, t.brokerCPUPerRecord())
		}
		if len(ratios) > 0 {
			out = append(out, Ratio{Size: size, Rounds: len(ratios), BaselinePS: median(base), TargPS: median(targ),
				Median: median(ratios), Worst: slices.Min(ratios), BaselineCPU: median(baseCPU), TargCPU: median(targCPU)})
		}
	}
	return out
}

func (rep *Report) find(size int, mode string, round int, which func(Producing) bool) (ProduceRun, bool) {
	for _, r := range rep.Produce {
		if r.Size != size || r.Mode != mode || r.Round != round {
			continue
		}
		for _, p := range Configurations {
			if p.Name == r.Config && which(p) {
				return r, true
			}
		}
	}
	return ProduceRun{}, false
}

// FailoverStats are the failover times of one kind of round, in ms.
type FailoverStats struct {
	Controller       bool
	Rounds           int
	Min, Median, Max float64
}

// FailoverSummary gives the failover times of the rounds that killed a
// leader only and of those that killed the controller too.
func (rep *Report) FailoverSummary() []FailoverStats {
	var out []FailoverStats
	for _, ctrl := range []bool{false, true} {
		var ms []float64
		for _, f := range rep.Failover {
			if f.Controller == ctrl {
				ms = append(ms, f.AckMs)
			}
		}
		if len(ms) > 0 {
			out = append(out, FailoverStats{Controller: ctrl, Rounds: len(ms), Min: slices.Min(ms), Median: median(ms), Max: slices.Max(ms)})
		}
	}
	return out
}

// writeProfile renders one profiled run.
func (rep *Report) writeProfile(p func(string, ...any), pr Profile) {
	c := rep.Config
	r := pr.Run
	p("#### Where the brokers' CPU goes: RF 3 acks=all, %d B", pr.Size)
	p("")
	p("The ratio missed the target at %d B, so the harness ran RF 3 acks=all again on a fresh cluster with the same settings, "+
		"its brokers started with `sluiced --cpuprofile`: %s at full speed after %s of warm-up, then a graceful stop. That run: "+
		"%.0f records/s, %.1f MB/s, p99 %.2f ms; CPU brokers 1, 2, 3 / client / others %s %% of the cores. The three brokers' "+
		"profiles merged hold %s of CPU samples; the share of them spent in each function below and what it calls (pprof's cum%%):",
		pr.Size, c.Duration, c.Duration/4, r.RecordsPerSec, r.MBPerSec, r.P99, r.CPU.shares(rep.Machine.Cores), pr.Total)
	p("")
	p("| where | function | share of the brokers' CPU |")
	p("|---|---|---:|")
	for _, b := range pr.Buckets {
		p("| %s | `%s` | %.1f %% |", b.What, b.Func, b.Share)
	}
	p("")
	p("```text")
	p("$ %s", pr.Command)
	p("%s", pr.Top)
	p("```")
	p("")
}

// shares renders the CPU use as percentages of what the machine's cores
// had over the run's wall time.
func (u CPUUse) shares(cores int) string {
	if u.Wall <= 0 || cores <= 0 {
		return "-"
	}
	pct := func(s float64) string { return fmt.Sprintf("%.0f", 100*s/(u.Wall*float64(cores))) }
	var bs []string
	for _, b := range u.Brokers {
		bs = append(bs, pct(b))
	}
	return strings.Join(bs, ", ") + " / " + pct(u.Client) + " / " + pct(u.Others)
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "**NOT met**"
}

func ms(d time.Duration) string { return fmt.Sprint(d.Milliseconds()) }

// WriteMarkdown writes the report as a section of BENCHMARKS.md.
func (rep *Report) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	m, c := rep.Machine, rep.Config
	t := c.Timeouts
	p("## Replication: RF 3 acks=all beside RF 1 acks=1, and leader failover")
	p("")
	p("Generated by `%s` from %s to %s (%.0f s), on %s, %d cores, %d MiB, %s, kernel %s, %s; data directories under `%s` (removed).",
		rep.Command, rep.Start.Format(time.RFC3339), rep.End.Format(time.RFC3339), rep.End.Sub(rep.Start).Seconds(),
		m.CPU, m.Cores, m.MemoryMiB, m.OS, m.Kernel, m.GoVersion, m.Dir)
	p("Load average %s before, %s after. Brokers: `%s`. Nothing here is typed by hand: the command prints this section from its measurements.",
		rep.LoadBefore, rep.LoadAfter, rep.Build)
	p("")
	p("`bench/cmd/replbench` starts %d `sluiced` processes on this machine, each a broker and a controller (a voter of the metadata "+
		"quorum), on free ports of 127.0.0.1 with fresh data directories, as `make cluster` runs them, and drives them through their Kafka "+
		"listeners with franz-go's kgo client in its own process: all four processes share the %d cores. Timeouts, Kafka's property names "+
		"tuned for a local cluster:", Size, m.Cores)
	p("")
	p("| setting | Kafka's default | here |")
	p("|---|---:|---:|")
	p("| `broker.session.timeout.ms` | %s | **%s** |", ms(netcluster.DefaultSessionTimeout), ms(t.SessionTimeout))
	p("| `broker.heartbeat.interval.ms` | %s | **%s** |", ms(netcluster.DefaultHeartbeatInterval), ms(t.HeartbeatInterval))
	p("| `replica.lag.time.max.ms` | %s | **%s** |", ms(replica.DefaultLagMax), ms(t.ReplicaLagMax))
	p("| `replica.fetch.backoff.ms` | %s | **%s** |", ms(replica.DefaultFetchBackoff), ms(t.ReplicaFetchBackoff))
	p("| `replica.fetch.wait.max.ms` | %s | %s (default) |", ms(replica.DefaultFetchWait), ms(replica.DefaultFetchWait))
	p("| `auto.leader.rebalance.enable` | true | **false** (no leader moves inside a measurement) |")
	p("| `controller.quorum.fetch.timeout.ms` / `controller.quorum.election.timeout.ms` (the metadata quorum's raft heartbeat and election timeouts; Sluice's own defaults are %s / %s) | 2000 / 1000 | **%s / %s** |",
		ms(quorum.DefaultHeartbeatTimeout), ms(quorum.DefaultElectionTimeout), ms(t.QuorumFetchTimeout), ms(t.QuorumElectionTimeout))
	p("")
	p("Every broker property the harness set besides listeners, node ids and voters: `%s`.", strings.Join(rep.Properties, "`, `"))
	p("")

	if len(rep.Produce) > 0 {
		p("### Produce throughput")
		p("")
		p("One producer (one kgo client), unkeyed records of random capital letters spread over %d partitions by kgo's sticky partitioner, "+
			"`linger.ms` %s, batches up to %d KiB, `buffer.memory` %d MiB; acks=1 without idempotence and 5 requests in flight per broker "+
			"(Kafka's `max.in.flight.requests.per.connection`), acks=all idempotent (Kafka's default since 3.0). RF 3 topics have "+
			"`min.insync.replicas=2`. Each run produces as fast as the client goes for %s; records/s count acknowledged records from the "+
			"first send to the last acknowledgement, MB/s is payload in 10^6 bytes/s; latency is from `Produce` to the acknowledgement, "+
			"so at full speed it includes the wait in the producer's buffer. The configurations run back to back in each round, in "+
			"reverse order every other round, each after a sync(2)%s, so that none pays for the pages the runs before it left in "+
			"the page cache (with it full, every page written means reclaiming one inside pwrite, and RF 3's three copies ran at "+
			"under half the rate they reach on a fresh cluster when they followed the RF 1 runs). RF 1 acks=all is not part of the target: it separates what acks=all and idempotence cost "+
			"from what replication costs.",
			c.Partitions, c.Linger, c.BatchBytes>>10, c.BufferBytes>>20, c.Duration, dropped(rep.CacheDropped))
		p("")
		p("| record | configuration | round | records/s | MB/s | p50 ms | p99 ms | p99.9 ms | max ms | errors | ISR shrinks / fences | CPU: brokers 1, 2, 3 / client / others, %% of the cores | 1-min load after |")
		p("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|")
		for _, r := range rep.Produce {
			if r.Mode == ModeMax {
				p("| %d B | %s | %d | %.0f | %.1f | %.2f | %.2f | %.2f | %.2f | %d | %d / %d | %s | %s |", r.Size, r.Label, r.Round, r.RecordsPerSec, r.MBPerSec,
					r.P50, r.P99, r.P999, r.Max, r.Errors, r.ISRShrinks, r.Fences, r.CPU.shares(m.Cores), strings.Fields(r.LoadAfter + " -")[0])
			}
		}
		p("")
		for _, r := range rep.Ratios() {
			cpu := ""
			if r.BaselineCPU > 0 && r.TargCPU > 0 {
				cpu = fmt.Sprintf(" The brokers spent %.1f us of CPU per acknowledged record with RF 3 acks=all, %.1f us with RF 1 acks=1 (%.1fx).",
					r.TargCPU, r.BaselineCPU, r.TargCPU/r.BaselineCPU)
			}
			p("- **%d B: RF 3 acks=all / RF 1 acks=1 = %.2f** (median of %d rounds' ratios; worst %.2f): %.0f against %.0f records/s (medians). Target >= %.2f: %s.%s",
				r.Size, r.Median, r.Rounds, r.Worst, r.TargPS, r.BaselinePS, TargetRatio, verdict(r.Median >= TargetRatio), cpu)
		}
		for _, r := range rep.Produce {
			if r.FirstError != "" {
				p("- %s, %d B, round %d: first error: `%s`", r.Label, r.Size, r.Round, r.FirstError)
			}
		}
		p("")
		p("The CPU column splits the machine's busy time during each run (from /proc, in shares of what its %d cores had): each "+
			"broker process, the client (this harness's process), and everything else: other processes on the machine, and "+
			"kernel threads such as writeback and softirq work no process is charged for. At full speed the machine is busy "+
			"throughout, so a configuration's records/s is what its CPU cost per record allows in the share the rest leaves.", m.Cores)
		p("")
		for _, pr := range rep.Profile {
			rep.writeProfile(p, pr)
		}
		p("### Produce latency at a fixed rate")
		p("")
		p("The same producer paced at %.0f MB/s of payload for %s, every configuration and size at the same byte rate.", c.RateMBs, c.RateDuration)
		p("")
		p("| record | configuration | target records/s | achieved records/s | p50 ms | p99 ms | p99.9 ms | max ms | errors | ISR shrinks / fences |")
		p("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|")
		for _, r := range rep.Produce {
			if r.Mode == ModeRate {
				achieved := fmt.Sprintf("%.0f", r.RecordsPerSec)
				if r.RecordsPerSec < 0.95*r.Rate {
					achieved += " (**could not keep up**)"
				}
				p("| %d B | %s | %.0f | %s | %.2f | %.2f | %.2f | %.2f | %d | %d / %d |", r.Size, r.Label, r.Rate, achieved, r.P50, r.P99, r.P999, r.Max,
					r.Errors, r.ISRShrinks, r.Fences)
			}
		}
		p("")
	}

	if len(rep.Failover) > 0 {
		p("### Failover: kill -9 of a partition leader")
		p("")
		p("Each round creates a topic of one partition, RF 3, `min.insync.replicas=2`, assigned so that the broker to kill leads it, "+
			"waits until all three replicas are in the ISR, and runs a producer that sends one 100 B record at a time with acks=all "+
			"(idempotent, `retry.backoff.ms` %s constant, metadata refreshed at most every %s, no linger). After at least 0.5 s of "+
			"acknowledged produces it sends SIGKILL to the leader's process between two produces, so nothing is in flight; the "+
			"**failover time** is from the kill to the first produce acknowledged after it, which only the new leader can acknowledge. "+
			"A poller asks the surviving brokers every 5 ms who leads the partition (the detection and election, as the cluster "+
			"publishes it) and, when the killed broker was the active controller, who the controller is. The killed broker is "+
			"then restarted on its data directory, and the round ends once it is back in the ISR. The first %d rounds kill a "+
			"leader that is not the active controller (whichever broker was killed least); the last %d kill the active controller "+
			"as the leader, so the quorum must elect a new controller before anyone can be fenced.",
			c.RetryBackoff, c.MetadataMinAge, c.FailoverRounds, c.ControllerRounds)
		p("")
		p("| round | killed | was controller | new controller after ms | new leader | new leader in Metadata after ms | **first ack after ms** | failed produces | back in ISR ms after restart |")
		p("|---:|---:|---|---:|---:|---:|---:|---:|---:|")
		for _, f := range rep.Failover {
			ctrl := "-"
			if f.Controller {
				ctrl = fmt.Sprintf("%.0f", f.ControllerMs)
			}
			p("| %d | %d | %v | %s | %d | %.0f | **%.0f** | %d | %.0f |", f.Round, f.Killed, f.Controller, ctrl, f.NewLeader, f.MetadataMs, f.AckMs, f.FailedProduces, f.RejoinMs)
		}
		p("")
		for _, s := range rep.FailoverSummary() {
			what := "leader only"
			if s.Controller {
				what = "leader and active controller"
			}
			p("- **Failover, %s: min %.0f ms, median %.0f ms, max %.0f ms** over %d rounds. Target < %s: %s.",
				what, s.Min, s.Median, s.Max, s.Rounds, TargetFailover, verdict(s.Max < float64(TargetFailover.Milliseconds())))
		}
		for _, f := range rep.Failover {
			if f.FirstError != "" {
				p("- Round %d: the first failed produce said `%s`.", f.Round, f.FirstError)
			}
		}
		p("")
		p("Where a leader-only failover's time goes: the active controller fences a broker once its last heartbeat is older than "+
			"`broker.session.timeout.ms` (%s), checking every eighth of it; fencing moves the leadership to the first in-sync replica "+
			"and drops the dead broker from the ISR in the same committed record; the producer learns the new leader on its next "+
			"metadata refresh after a failed send (`retry.backoff.ms` apart). The heartbeat interval only bounds how stale the "+
			"last heartbeat already was at the kill. When the controller dies too, the raft quorum first needs a new leader "+
			"(fetch timeout %s, election timeout %s), and the new controller gives every broker, the dead one's included, a "+
			"first session of three heartbeat intervals or half a session timeout, whichever is longer, before it fences.",
			t.SessionTimeout, t.QuorumFetchTimeout, t.QuorumElectionTimeout)
		p("")
	}
	if len(rep.Profiles) > 0 {
		p("CPU profiles written by the brokers: `%s`.", strings.Join(rep.Profiles, "`, `"))
		p("")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// dropped is how the report says the page cache was dropped between runs.
func dropped(ok bool) string {
	if ok {
		return " and with the page cache dropped (`/proc/sys/vm/drop_caches`)"
	}
	return " (the page cache could not be dropped: not root)"
}
