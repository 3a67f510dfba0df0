package latbench

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/sluicelog/sluice/bench/units"
)

// The targets of issue 17.
const (
	targetDurableRatio = 0.8 // durable produce against write+fdatasync
	targetSyncRatio    = 1.3 // what durability adds against one fdatasync
	targetE2EP99       = 1.0 // ms, at targetRate
	targetE2EP999      = 2.0 // ms, at targetRate
	targetProduceP99   = 0.5 // ms, at targetRate
	targetHalfP99      = 3.0 // ms, e2e at half of the produce peak
)

// col gathers one figure from every round.
func (rep *Report) col(f func(*Round) float64) []float64 {
	out := make([]float64, len(rep.Rounds))
	for i := range rep.Rounds {
		out[i] = f(&rep.Rounds[i])
	}
	return out
}

func (rep *Report) med(f func(*Round) float64) float64 { return units.Median(rep.col(f)) }

func verdict(ok bool) string {
	if ok {
		return "**met**"
	}
	return "**not met**"
}

// WriteMarkdown writes the report as a section of BENCHMARKS.md.
func (rep *Report) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	m := rep.Machine
	p("## Latency and durable produce: e2e and produce-to-ack at fixed rates, durable produce against the disk\n\n")
	if rep.Quick {
		p("**Quick mode: tiny volumes to test the harness; the figures mean nothing.**\n\n")
	}
	p("Produced by `%s` (rounds: %d, %.0f s), %s; one `%s`.\n", rep.Command, len(rep.Rounds), rep.Seconds, rep.Build, rep.BrokerCommand)
	p("Machine: %s, %d cores, %d MiB, %s, kernel %s, %s; started %s, load %s -> %s.\n\n",
		m.CPU, m.Cores, m.MemMiB, m.OS, m.Kernel, m.Go, rep.Started.Format("2006-01-02T15:04:05Z"), rep.LoadBefore, rep.LoadAfter)
	p("Each round measures the disk's limits in the broker's file system first, then every run against the one broker, each on a topic of its own (1 partition, deleted after its run); the client is this process (`bench/perf`, what `sluice bench` runs). Figures are medians over the rounds; every round is shown.\n\n")

	p("### Durable produce through the broker against write+fdatasync\n\n")
	p("Produce of %d B records in %d KiB batches (linger 5ms, acks=all) to a topic with `flush.on.ack=true`: every acknowledged record is on disk (fdatasync) before its answer. The limit is write(2) of %d KiB chunks each followed by fdatasync, into a new file in the same directory.\n\n",
		durableRecord, durableBatch>>10, durableBatch>>10)
	p("| round | limit MB/s |")
	for _, n := range Producers {
		p(" %d producer(s) MB/s | ratio |", n)
	}
	p("\n|---:|---:|")
	for range Producers {
		p("---:|---:|")
	}
	p("\n")
	ratio := func(r *Round, i int) float64 { return r.Durable[i].MBPerSec / r.ChunkLimit }
	for i := range rep.Rounds {
		r := &rep.Rounds[i]
		p("| %d | %.1f |", i+1, r.ChunkLimit)
		for j := range Producers {
			p(" %.1f | %.2f |", r.Durable[j].MBPerSec, ratio(r, j))
		}
		p("\n")
	}
	p("| median | %.1f |", rep.med(func(r *Round) float64 { return r.ChunkLimit }))
	allMet := true
	for j := range Producers {
		rt := rep.med(func(r *Round) float64 { return ratio(r, j) })
		allMet = allMet && rt >= targetDurableRatio
		p(" %.1f | **%.2f** |", rep.med(func(r *Round) float64 { return r.Durable[j].MBPerSec }), rt)
	}
	p("\n\nTarget: at least %.1f of the limit with 1, 4 and 16 producers: %s.\n\n", targetDurableRatio, verdict(allMet))

	p("### Durable produce latency at %d records/s against one fdatasync\n\n", lowRate)
	p("acks=all, linger 0, %d B records, one producer, to a topic with and without `flush.on.ack`. One fdatasync is write(2) of %d B and fdatasync to a new file, %d ms apart (the disk idle between, as at this rate). What durability adds is the p50 with flush.on.ack less the p50 without.\n\n", durableRecord, durableRecord, 1)
	p("| round | fdatasync p50 / p99 ms | without flush p50 / p99 ms | flush.on.ack p50 / p99 ms | added p50 ms | added / fdatasync | flush.on.ack p50 / fdatasync |\n|---:|---:|---:|---:|---:|---:|---:|\n")
	added := func(r *Round) float64 { return r.DurableLow.Latency.P50 - r.PlainLow.Latency.P50 }
	for i := range rep.Rounds {
		r := &rep.Rounds[i]
		p("| %d | %.3f / %.3f | %.3f / %.3f | %.3f / %.3f | %.3f | %.2f | %.2f |\n", i+1, r.SyncP50, r.SyncP99,
			r.PlainLow.Latency.P50, r.PlainLow.Latency.P99, r.DurableLow.Latency.P50, r.DurableLow.Latency.P99,
			added(r), added(r)/r.SyncP50, r.DurableLow.Latency.P50/r.SyncP50)
	}
	addRatio := rep.med(func(r *Round) float64 { return added(r) / r.SyncP50 })
	totalRatio := rep.med(func(r *Round) float64 { return r.DurableLow.Latency.P50 / r.SyncP50 })
	p("| median | %.3f | %.3f | %.3f | %.3f | **%.2f** | **%.2f** |\n\n",
		rep.med(func(r *Round) float64 { return r.SyncP50 }), rep.med(func(r *Round) float64 { return r.PlainLow.Latency.P50 }),
		rep.med(func(r *Round) float64 { return r.DurableLow.Latency.P50 }), rep.med(added), addRatio, totalRatio)
	p("Target: latency within %.1fx of one fdatasync: what durability adds, %s (%.2fx); the whole send-to-ack, which also holds the loopback round trip that acks=1 pays, %s (%.2fx).\n\n",
		targetSyncRatio, verdict(addRatio <= targetSyncRatio), addRatio, verdict(totalRatio <= targetSyncRatio), totalRatio)

	p("### Latency at %d records/s with the latency settings\n\n", targetRate)
	p("%d B records, acks=1, linger 0 (a batch leaves as soon as the sender is free), batch.size 16 KiB, fetch max wait the client's default. Produce-to-ack is send to acknowledgement; e2e is send to receipt by a consumer of the same process.\n\n", smallRecord)
	p("| round | produce records/s | produce-to-ack p50 / p99 / p99.9 ms | e2e records/s | e2e p50 / p99 / p99.9 ms |\n|---:|---:|---:|---:|---:|\n")
	for i := range rep.Rounds {
		r := &rep.Rounds[i]
		p("| %d | %.0f | %.3f / %.3f / %.3f | %.0f | %.3f / %.3f / %.3f |\n", i+1, r.Produce.RecordsPerSec,
			r.Produce.Latency.P50, r.Produce.Latency.P99, r.Produce.Latency.P999, r.E2E.RecordsPerSec,
			r.E2E.Latency.P50, r.E2E.Latency.P99, r.E2E.Latency.P999)
	}
	pp99 := rep.med(func(r *Round) float64 { return r.Produce.Latency.P99 })
	ep99 := rep.med(func(r *Round) float64 { return r.E2E.Latency.P99 })
	ep999 := rep.med(func(r *Round) float64 { return r.E2E.Latency.P999 })
	p("| median | | %.3f / **%.3f** / %.3f | | %.3f / **%.3f** / **%.3f** |\n\n",
		rep.med(func(r *Round) float64 { return r.Produce.Latency.P50 }), pp99, rep.med(func(r *Round) float64 { return r.Produce.Latency.P999 }),
		rep.med(func(r *Round) float64 { return r.E2E.Latency.P50 }), ep99, ep999)
	p("Targets: e2e p99 under %.0f ms %s, p99.9 under %.0f ms %s; produce-to-ack p99 under %.1f ms %s.\n\n",
		targetE2EP99, verdict(ep99 < targetE2EP99), targetE2EP999, verdict(ep999 < targetE2EP999), targetProduceP99, verdict(pp99 < targetProduceP99))

	p("### e2e at half of the produce peak\n\n")
	p("The peak is produce of %d B records as fast as one producer goes (acks=1, linger 5ms, batch.size %d KiB), measured in the same round; e2e then runs at half of it with the same settings, which batch enough to keep up (smaller batches cost more CPU per record on this machine, and the queue grows).\n\n", smallRecord, peakBatch>>10)
	p("| round | peak records/s | e2e records/s | e2e p50 / p99 / p99.9 / max ms |\n|---:|---:|---:|---:|\n")
	for i := range rep.Rounds {
		r := &rep.Rounds[i]
		p("| %d | %.0f | %.0f | %.3f / %.3f / %.3f / %.3f |\n", i+1, r.Peak.RecordsPerSec, r.E2EHalf.RecordsPerSec,
			r.E2EHalf.Latency.P50, r.E2EHalf.Latency.P99, r.E2EHalf.Latency.P999, r.E2EHalf.Latency.Max)
	}
	hp99 := rep.med(func(r *Round) float64 { return r.E2EHalf.Latency.P99 })
	p("| median | %.0f | %.0f | %.3f / **%.3f** / %.3f / %.3f |\n\n", rep.med(func(r *Round) float64 { return r.Peak.RecordsPerSec }),
		rep.med(func(r *Round) float64 { return r.E2EHalf.RecordsPerSec }), rep.med(func(r *Round) float64 { return r.E2EHalf.Latency.P50 }),
		hp99, rep.med(func(r *Round) float64 { return r.E2EHalf.Latency.P999 }), rep.med(func(r *Round) float64 { return r.E2EHalf.Latency.Max }))
	p("Target: p99 under %.0f ms: %s.\n\n", targetHalfP99, verdict(hp99 < targetHalfP99))

	p("### Commands\n\nEach run of round 1, as `sluice bench` runs it against the broker (ADDR), each on a topic of its own:\n\n```text\n")
	if len(rep.Rounds) > 0 {
		r := &rep.Rounds[0]
		runs := append(slices.Clone(r.Durable), r.PlainLow, r.DurableLow, r.Produce, r.E2E, r.Peak, r.E2EHalf)
		for _, res := range runs {
			p("$ %s\n", res.Command)
		}
	}
	p("```\n")
	_, err := io.WriteString(w, b.String())
	return err
}
