package partbench

import (
	"fmt"
	"io"
	"strings"

	"github.com/sluicelog/sluice/bench/units"
)

// The targets of issue 19, stated for 100,000 partitions.
const (
	targetN            = 100_000
	targetCreateRate   = 10_000 // partitions a second
	targetRSSPerIdle   = 4096   // bytes
	targetCleanStart   = 3.0    // seconds
	targetKilledStart  = 20.0   // seconds
	targetFlowRatio    = 2.0    // one partition against the active ones
	targetMetaLinearly = 1.5    // growth of all-topics time over growth of N, at most
)

func verdict(ok bool) string {
	if ok {
		return "**met**"
	}
	return "**not met**"
}

func mib(n int64) float64 { return float64(n) / (1 << 20) }

// snapCell prints one figure of a snapshot, or "-" if not taken.
func snapCell(s Snap, f func(Snap) string) string {
	if !s.Taken {
		return "-"
	}
	return f(s)
}

func fds(s Snap) string  { return fmt.Sprint(s.FDs) }
func maps(s Snap) string { return fmt.Sprint(s.Maps) }
func rss(s Snap) string  { return fmt.Sprintf("%.1f", mib(s.RSS)) }

func secs(r Restart, f float64) string {
	if !r.Done || f < 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f", f)
}

// complete are the points measured to the end.
func (rep *Report) complete() []*Point {
	var out []*Point
	for _, p := range rep.Points {
		if !p.Failed() {
			out = append(out, p)
		}
	}
	return out
}

// WriteMarkdown writes the report as a section of BENCHMARKS.md.
func (rep *Report) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	cfg := rep.Config
	m := rep.Machine
	p("## Partition scale: descriptors, mappings, memory, start-up, metadata and traffic against the partition count (issue 19)\n\n")
	if cfg.Smoke {
		p("**Smoke run: tiny sizes to test the harness; the figures say little.**\n\n")
	}
	p("Produced by `%s` (%.0f s), %s; each point a fresh data directory and broker: `%s`.\n", rep.Command, rep.Seconds, rep.Build, rep.BrokerCommand)
	p("Machine: %s, %d cores, %d MiB, %s, kernel %s, %s; started %s, load %s -> %s.\n\n",
		m.CPU, m.Cores, m.MemMiB, m.OS, m.Kernel, m.Go, rep.Started.Format("2006-01-02T15:04:05Z"), rep.LoadBefore, rep.LoadAfter)
	limit := "the machine's"
	if cfg.NoFile > 0 {
		limit = fmt.Sprintf("set by `ulimit -n %d`", cfg.NoFile)
	}
	nofile := rep.NoFile
	if nofile == "" {
		nofile = "not read (no broker started)"
	}
	p("Limits: the broker's descriptor limit (soft / hard, from /proc/PID/limits, %s) %s; vm.max_map_count %d. Data under `%s`, %.1f GiB free at the start; a point runs only if the previous point's disk use per partition says it leaves %.0f GB free.\n\n",
		limit, nofile, rep.MaxMapCount, rep.DataDir, gib(rep.FreeAtStart), float64(cfg.Reserve)/1e9)
	if rep.IdleSetting != "" {
		p("Idle: the broker's idle close-down was set with `--override %s`; the idle figures are taken %s after the creates, once a second passed without the descriptor count falling.\n\n", rep.IdleSetting, cfg.Idle)
	} else {
		p("Idle: **no broker property sets the idle close-down** (no name with \"segment\" and \"idle\" in `sluiced --help-config`), so the idle figures are taken after %s without requests, once a second passed without the descriptor count falling; they show a close-down only if the broker's own interval is shorter.\n\n", cfg.Idle)
	}
	p("Each point: start sluiced on an empty directory (the empty broker's figures), create topics of %d partitions one CreateTopics request each (the admin client, as `sluice topics create` sends them), then the descriptors (/proc/PID/fd), mappings (/proc/PID/maps lines), VmRSS and du of the data directory; idle; Metadata for one topic and for all, each the median of up to %d requests on one connection; produce and fetch of %d B records across the first %d partitions (every partition of a smaller point), one record per partition in requests of one topic, against the same bytes (as many one-record batches, back to back) to one partition, alternating, %d rounds; a clean shutdown and restart; a record to every active partition, kill -9 and restart. A restart is timed from exec to the `broker started` line and to the first all-topics Metadata answer that lists every partition; `engine_opened` is the engine's own figure from its log line.\n\n",
		cfg.TopicPartitions, cfg.MetaRequests, cfg.RecordSize, cfg.Active, cfg.Rounds)

	p("### Create, descriptors, mappings, memory and disk\n\n")
	p("| N | created | create s | partitions/s | fds after create / idle / active | maps after create / idle / active | VmRSS MiB empty / idle | VmRSS per idle partition | du MiB after create / active | du per partition KiB after create | free GiB |\n")
	p("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, pt := range rep.Points {
		perPart := "-"
		if pt.Created > 0 && pt.DiskUsed > 0 {
			perPart = fmt.Sprintf("%.0f", float64(pt.DiskUsed)/1024/float64(pt.Created))
		}
		rssPer := "-"
		if pt.AfterIdle.Taken {
			rssPer = fmt.Sprintf("%.0f B", pt.RSSPerPartition())
		}
		created := fmt.Sprint(pt.Created)
		if pt.CreateErr != "" {
			created += " (refused)"
		}
		active := "-"
		if pt.Active.Taken {
			active = fmt.Sprintf("%.1f", mib(pt.DiskActive))
		}
		p("| %d | %s | %.2f | %.0f | %s / %s / %s | %s / %s / %s | %s / %s | %s | %.1f / %s | %s | %.1f |\n", pt.N, created, pt.CreateSeconds, pt.CreateRate(),
			snapCell(pt.AfterCreate, fds), snapCell(pt.AfterIdle, fds), snapCell(pt.Active, fds),
			snapCell(pt.AfterCreate, maps), snapCell(pt.AfterIdle, maps), snapCell(pt.Active, maps),
			snapCell(pt.Base, rss), snapCell(pt.AfterIdle, rss), rssPer, mib(pt.DiskUsed), active, perPart, gib(pt.DiskFree))
	}
	p("\nThe empty broker held %s descriptors and %s mappings.\n\n", firstSnap(rep, fds), firstSnap(rep, maps))

	p("### Start-up\n\n")
	p("| N | clean shutdown s | clean restart: started / serves / engine_opened s | kill -9 restart: started / serves / engine_opened s | partitions recovered after kill -9 |\n")
	p("|---:|---:|---:|---:|---:|\n")
	for _, pt := range rep.Points {
		rec := "-"
		if pt.Killed.Done && pt.Killed.Recovered >= 0 {
			rec = fmt.Sprint(pt.Killed.Recovered)
		}
		stop := "-"
		if pt.StopSeconds > 0 {
			stop = fmt.Sprintf("%.2f", pt.StopSeconds)
		}
		p("| %d | %s | %s / %s / %s | %s / %s / %s | %s |\n", pt.N, stop,
			secs(pt.Clean, pt.Clean.Started), secs(pt.Clean, pt.Clean.Serves), secs(pt.Clean, pt.Clean.EngineTook),
			secs(pt.Killed, pt.Killed.Started), secs(pt.Killed, pt.Killed.Serves), secs(pt.Killed, pt.Killed.EngineTook), rec)
	}

	p("\n### Metadata: one topic against all topics\n\n")
	p("Growth is the all-topics time's growth from the previous point over N's growth: about 1 is linear, well above 1 worse than linear.\n\n")
	p("| N | one topic median us | all topics median us | all topics us per 1,000 partitions | growth | all-topics answer KiB | requests one / all |\n")
	p("|---:|---:|---:|---:|---:|---:|---:|\n")
	var prev *Point
	for _, pt := range rep.Points {
		if pt.MetaAll.Requests == 0 {
			continue
		}
		growth := "-"
		if prev != nil {
			growth = fmt.Sprintf("%.2f", growthOf(prev, pt))
		}
		p("| %d | %.0f | %.0f | %.1f | %s | %.1f | %d / %d |\n", pt.N, pt.MetaOne.MedianUs, pt.MetaAll.MedianUs,
			pt.MetaAll.MedianUs*1000/float64(max(pt.MetaAll.Partitions, 1)), growth, float64(pt.MetaAll.Bytes)/1024,
			pt.MetaOne.Requests, pt.MetaAll.Requests)
		prev = pt
	}

	p("\n### Produce and fetch across the active partitions against one partition\n\n")
	p("The ratio is one partition's MB/s over the active partitions' (2 means spreading the same bytes over them halves throughput).\n\n")
	p("The first round across the partitions, right after the idle wait, is timed apart (partitions parked while idle reopen in it, and ones never written to get their files); the rounds after it are the steady figures.\n\n")
	p("The limits beside them: the same batches written with write(2) straight to as many files as active partitions, one batch to each, against to one file in writes of as many batches as a request to one partition carries, then read back with pread(2) the same two ways (no broker, no network); their ratios are what the file system alone charges for spreading the same bytes over a file per partition on this machine (the broker's one-partition side costs more than one write, so its own ratios can come out lower).\n\n")
	p("| N | active partitions | requests a side | first round across MB/s | produce across MB/s | produce to one MB/s | ratio | write(2) across / to one MB/s | write(2) ratio | fetch across MB/s | fetch from one MB/s | ratio | pread(2) across / from one MB/s | pread(2) ratio |\n")
	p("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, pt := range rep.Points {
		if pt.FetchOne.Requests == 0 {
			continue
		}
		p("| %d | %d | %d | %.2f | %.2f | %.2f | **%.2f** | %.1f / %.1f | %.2f | %.2f | %.2f | **%.2f** | %.1f / %.1f | %.2f |\n", pt.N, pt.ActivePartitions, pt.ProduceMany.Requests,
			pt.FirstRound.MBps(), pt.ProduceMany.MBps(), pt.ProduceOne.MBps(), units.Ratio(pt.ProduceOne.MBps(), pt.ProduceMany.MBps()),
			pt.Files.WriteAcross.MBps(), pt.Files.WriteOne.MBps(), units.Ratio(pt.Files.WriteOne.MBps(), pt.Files.WriteAcross.MBps()),
			pt.FetchMany.MBps(), pt.FetchOne.MBps(), units.Ratio(pt.FetchOne.MBps(), pt.FetchMany.MBps()),
			pt.Files.ReadAcross.MBps(), pt.Files.ReadOne.MBps(), units.Ratio(pt.Files.ReadOne.MBps(), pt.Files.ReadAcross.MBps()))
	}

	if rep.Stopped != "" {
		p("\n### Where the sweep stopped\n\n")
		failed := false
		for _, pt := range rep.Points {
			if pt.Failed() {
				failed = true
				p("The sweep stopped at N=%d, after the figures above:\n\n```text\n%s\n```\n", pt.N, strings.TrimSpace(pt.Failure()))
			}
		}
		if !failed {
			p("The sweep stopped %s.\n", firstLine(rep.Stopped))
		}
	}
	rep.writeTargets(p)
	_, err := io.WriteString(w, b.String())
	return err
}

func firstSnap(rep *Report, f func(Snap) string) string {
	for _, pt := range rep.Points {
		if pt.Base.Taken {
			return f(pt.Base)
		}
	}
	return "-"
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// growthOf is how much faster than N the all-topics Metadata time grew
// from a to b.
func growthOf(a, b *Point) float64 {
	return units.Ratio(b.MetaAll.MedianUs/a.MetaAll.MedianUs, float64(b.MetaAll.Partitions)/float64(max(a.MetaAll.Partitions, 1)))
}

// writeTargets gives issue 19's verdicts on the largest point measured to
// the end; the targets are stated at 100,000 partitions, so a smaller
// point's verdict is only a lower bound on the work left.
func (rep *Report) writeTargets(p func(string, ...any)) {
	done := rep.complete()
	p("\n### Targets (issue 19)\n\n")
	if len(done) == 0 {
		p("No point was measured to the end, so no target can be judged.\n")
		return
	}
	pt := done[len(done)-1]
	at := fmt.Sprintf("N=%d", pt.N)
	if pt.N < targetN {
		at += ", the largest point measured to the end; the targets are stated at 100,000 partitions"
	}
	p("On the point %s:\n\n", at)
	minRate := pt.CreateRate()
	for _, q := range done {
		minRate = min(minRate, q.CreateRate())
	}
	p("- create at least %d partitions/s: slowest point %.0f/s, %s.\n", targetCreateRate, minRate, verdict(minRate >= targetCreateRate))
	idleFDs := pt.AfterIdle.FDs - pt.Base.FDs
	p("- descriptors of %d idle partitions: %d over the empty broker (%.2f per partition); with %d active: %d (%.2f per active partition).\n",
		pt.Created, idleFDs, float64(idleFDs)/float64(pt.Created), pt.ActivePartitions, pt.Active.FDs-pt.Base.FDs,
		float64(pt.Active.FDs-pt.Base.FDs)/float64(max(pt.ActivePartitions, 1)))
	idleMaps := pt.AfterIdle.Maps - pt.Base.Maps
	p("- mappings of idle partitions: %d over the empty broker (%.2f per partition; vm.max_map_count %d).\n", idleMaps,
		float64(idleMaps)/float64(pt.Created), rep.MaxMapCount)
	p("- memory per idle partition under %d B: %.0f B, %s.\n", targetRSSPerIdle, pt.RSSPerPartition(), verdict(pt.RSSPerPartition() < targetRSSPerIdle))
	p("- start-up under %.0f s after a clean shutdown: %.2f s to serve, %s; under %.0f s after kill -9: %.2f s, %s.\n",
		targetCleanStart, pt.Clean.Serves, verdict(pt.Clean.Serves < targetCleanStart), targetKilledStart, pt.Killed.Serves,
		verdict(pt.Killed.Serves < targetKilledStart))
	pr := units.Ratio(pt.ProduceOne.MBps(), pt.ProduceMany.MBps())
	fr := units.Ratio(pt.FetchOne.MBps(), pt.FetchMany.MBps())
	p("- produce and fetch across %d partitions within %.0fx of one partition: produce %.2fx %s, fetch %.2fx %s; write(2) alone, to a file per partition against one file, is %.2fx here, and pread(2) %.2fx.\n",
		pt.ActivePartitions, targetFlowRatio, pr, verdict(pr <= targetFlowRatio), fr, verdict(fr <= targetFlowRatio),
		units.Ratio(pt.Files.WriteOne.MBps(), pt.Files.WriteAcross.MBps()), units.Ratio(pt.Files.ReadOne.MBps(), pt.Files.ReadAcross.MBps()))
	if len(done) > 1 {
		worst := 0.0
		for i := 1; i < len(done); i++ {
			worst = max(worst, growthOf(done[i-1], done[i]))
		}
		p("- all-topics Metadata grows linearly (growth at most %.1f between points): worst %.2f, %s; one topic at N=%d %.0f us against %.0f us at N=%d.\n",
			targetMetaLinearly, worst, verdict(worst <= targetMetaLinearly), pt.N, pt.MetaOne.MedianUs, done[0].MetaOne.MedianUs, done[0].N)
	}
}
