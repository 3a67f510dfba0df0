package netbench

import (
	"encoding/json"
	"fmt"
	"github.com/sluicelog/sluice/bench/units"
	"io"
	"maps"
	"slices"
	"strings"
)

// WriteJSON writes the report as indented JSON.
func (rep *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

// WriteText writes the report for people: the setting, each phase with its
// command line, and the ratios.
func (rep *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	m, wl := rep.Machine, rep.Workload
	p("netbench: Sluice over loopback vs the loopback limit, same run, producer and broker in separate processes")
	p("command:  %s", rep.Command)
	p("  (all settings: %s)", rep.FullCommand)
	p("machine:  %s, %d cores (GOMAXPROCS %d), %d MiB RAM, %s, kernel %s, %s, host %s", m.CPU, m.Cores, m.GOMAXPROCS, m.MemoryMiB, m.OS, m.Kernel, m.GoVersion, m.Hostname)
	p("date:     %s; load average (1m 5m 15m run/total) before %s, after %s", m.Date, rep.LoadBefore, rep.LoadAfter)
	if rep.Broker.Build != "" {
		p("build:    %s (%.1fs)", rep.Broker.Build, rep.Broker.BuildSeconds)
	}
	p("broker:   %s", rep.Broker.Command)
	p("          pid %d, listening on %s; temporary files in %s (removed)", rep.Broker.PID, rep.Broker.Listen, rep.Dir)
	cfgs := ""
	for k, v := range wl.TopicConfigs {
		cfgs += fmt.Sprintf(", %s=%s", k, v)
	}
	p("workload: topic %s, %d partition%s; %d records of %d B random values (null keys, %d distinct, prebuilt)",
		wl.Topic, wl.Partitions, plural(wl.Partitions), wl.Records, wl.RecordSize, wl.DistinctValues)
	p("producer: acks=%s linger=%s batch.size=%s compression=%s max.request.size=%s (other settings: net/client defaults%s)",
		wl.Acks, wl.Linger, units.FormatSize(int64(wl.BatchSize)), wl.Compression, units.FormatSize(int64(wl.MaxRequestSize)), cfgs)
	recvBuf := "the OS's (autotuned)"
	if wl.ReceiveBuffer > 0 {
		recvBuf = units.FormatSize(int64(wl.ReceiveBuffer)) + ", also the raw fetches' and the consume limits' readers'"
	}
	p("consumer: max.partition.fetch.bytes=%s receive.buffer.bytes=%s (net/client defaults otherwise)", units.FormatSize(int64(wl.FetchBytes)), recvBuf)
	if wl.SendBuffer > 0 {
		p("broker:   socket.send.buffer.bytes=%s, also the consume limits' sources'", units.FormatSize(int64(wl.SendBuffer)))
	}
	p("units:    MB = 10^6 bytes; wire = every byte on the connection, framing included; cpu in core-seconds from /proc (10 ms ticks)")
	p("")

	pr, pl := rep.Produce, rep.ProduceLimit
	p("1. produce (this process -> broker process)")
	p("   sluice producer   %d records in %.3fs (last Send at %.3fs): %.0f records/s, %.1f MB/s payload, %.1f MB/s wire",
		pr.Acked, pr.Seconds, pr.SendSeconds, pr.RecordsPerSec, pr.PayloadMBps, pr.WireMBps)
	p("                     wire %d B (%s) in %d requests of %.0f B avg (%.0f records/batch); stored log %d B; answers %d B",
		pr.WireBytes, wireFrom(pr.WireBytesFrom), pr.Batches, pr.AvgRequestBytes, pr.AvgBatchRecords, pr.StoredBytes, pr.ResponseBytes)
	p("                     %s", cpuLine(pr.CPU, "broker", pr.Seconds, m.Cores))
	p("   loopback limit    %d B in %.3fs: %.1f MB/s, median of %s (writes of %d B, sink reads of %d B, until the sink confirms the count)",
		pl.Bytes, pl.Seconds, pl.MBps, runs(pl.RunsMBps), pl.WriteSize, pl.ReadSize)
	p("                     %s", cpuLine(pl.CPU, "sink", pl.Seconds, m.Cores))
	p("                     sink: %s", pl.Command)
	p("   ratio producer/limit: %.3f (wire MB/s over the same bytes)", rep.ProduceRatio)
	p("")

	c, bc, bb, rf, cl := rep.Consume, rep.Borrowed, rep.Batches, rep.RawFetch, rep.ConsumeLimit
	p("2. consume from page cache (broker sendfile -> this process), whole partition from offset 0,")
	p("   in %d rounds of every mode then the limit; figures are the median run's, ratios the median of the rounds'", len(cl.RunsMBps))
	p("   sluice consumer   %d records in %.3fs: %.0f records/s, %.1f MB/s payload, %.1f MB/s wire (%d B, %s); runs %s",
		c.Records, c.Seconds, c.RecordsPerSec, c.PayloadMBps, c.WireMBps, c.WireBytes, wireFrom(c.WireBytesFrom), runs(c.RunsMBps))
	p("                     %d fetches of %.0f B avg, PollInto: records copied out (the caller owns them) into its reused slice, every record's offset and value checked",
		c.Fetches+c.EmptyFetches, c.AvgFetchBytes)
	p("                     %s", cpuLine(c.CPU, "broker", c.Seconds, m.Cores))
	rc := rep.Recycled
	p("   ... recycled      %d records in %.3fs: %.0f records/s, %.1f MB/s payload, %.1f MB/s wire (%d B, %s); runs %s",
		rc.Records, rc.Seconds, rc.RecordsPerSec, rc.PayloadMBps, rc.WireMBps, rc.WireBytes, wireFrom(rc.WireBytesFrom), runs(rc.RunsMBps))
	p("                     %d fetches of %.0f B avg, PollInto and then Recycle: owned records whose memory is given back once checked, so fetches copy into reused memory",
		rc.Fetches+rc.EmptyFetches, rc.AvgFetchBytes)
	p("                     %s", cpuLine(rc.CPU, "broker", rc.Seconds, m.Cores))
	p("   ... borrowed      %d records in %.3fs: %.0f records/s, %.1f MB/s payload, %.1f MB/s wire (%d B, %s); runs %s",
		bc.Records, bc.Seconds, bc.RecordsPerSec, bc.PayloadMBps, bc.WireMBps, bc.WireBytes, wireFrom(bc.WireBytesFrom), runs(bc.RunsMBps))
	p("                     %d fetches of %.0f B avg, BorrowRecords (records point into the fetch buffer until the next Poll), every record's offset and value checked",
		bc.Fetches+bc.EmptyFetches, bc.AvgFetchBytes)
	p("                     %s", cpuLine(bc.CPU, "broker", bc.Seconds, m.Cores))
	p("   ... batches       %d records in %.3fs: %.0f records/s, %.1f MB/s payload, %.1f MB/s wire (%d B, %s); runs %s",
		bb.Records, bb.Seconds, bb.RecordsPerSec, bb.PayloadMBps, bb.WireMBps, bb.WireBytes, wireFrom(bb.WireBytesFrom), runs(bb.RunsMBps))
	p("                     %d fetches of %.0f B avg, PollBatches (whole batches lent until the next poll, CRC-checked, records not decoded), offsets checked",
		bb.Fetches+bb.EmptyFetches, bb.AvgFetchBytes)
	p("                     %s", cpuLine(bb.CPU, "broker", bb.Seconds, m.Cores))
	bn := rep.BatchesNoCRC
	p("   ... no CRC check  %d records in %.3fs: %.0f records/s, %.1f MB/s payload, %.1f MB/s wire (%d B, %s); runs %s",
		bn.Records, bn.Seconds, bn.RecordsPerSec, bn.PayloadMBps, bn.WireMBps, bn.WireBytes, wireFrom(bn.WireBytesFrom), runs(bn.RunsMBps))
	p("                     %d fetches of %.0f B avg, PollBatches with check.crcs=false (framing checked, CRCs not computed), offsets checked",
		bn.Fetches+bn.EmptyFetches, bn.AvgFetchBytes)
	p("                     %s", cpuLine(bn.CPU, "broker", bn.Seconds, m.Cores))
	p("   raw fetch         %d records in %.3fs: %.0f records/s, %.1f MB/s payload, %.1f MB/s wire (%d B); runs %s",
		rf.Records, rf.Seconds, rf.RecordsPerSec, rf.PayloadMBps, rf.WireMBps, rf.WireBytes, runs(rf.RunsMBps))
	p("                     %d fetches of %.0f B avg into one reused buffer, %d batch headers walked, records not decoded",
		rf.Fetches+rf.EmptyFetches, rf.AvgFetchBytes, rf.Batches)
	p("                     %s", cpuLine(rf.CPU, "broker", rf.Seconds, m.Cores))
	p("   loopback limit    %d B in %.3fs: %.1f MB/s, median of %s",
		cl.Bytes, cl.Seconds, cl.MBps, runs(cl.RunsMBps))
	p("                     (source writes of %d B; reads as the client's: 4 B + rest of %d B frames via a 64 KiB bufio.Reader)", cl.WriteSize, cl.ReadSize)
	p("                     %s", cpuLine(cl.CPU, "source", cl.Seconds, m.Cores))
	p("                     source: %s", cl.Command)
	sf := rep.SendfileLimit
	p("   sendfile limit    %d B in %.3fs: %.1f MB/s, median of %s",
		sf.Bytes, sf.Seconds, sf.MBps, runs(sf.RunsMBps))
	p("                     (the same, but the source sends a segment file of the partition with sendfile(2), as the broker does)")
	p("                     %s", cpuLine(sf.CPU, "source", sf.Seconds, m.Cores))
	p("                     source: %s", sf.Command)
	cp := rep.CopyLimit
	p("   copy limit        %d B in %.3fs: %.1f MB/s, median of %s",
		cp.Bytes, cp.Seconds, cp.MBps, runs(cp.RunsMBps))
	p("                     (the same file, but read with pread into one reused buffer and written from it: a file server without sendfile)")
	p("                     %s", cpuLine(cp.CPU, "source", cp.Seconds, m.Cores))
	p("                     source: %s", cp.Command)
	verdict := func(r float64) string {
		if r >= rep.TargetConsumeRatio {
			return "MET"
		}
		return "NOT MET"
	}
	p("   ratio consumer/limit:  %.3f (target >= %.2f: %s; rounds %s)", rep.ConsumeRatio, rep.TargetConsumeRatio, verdict(rep.ConsumeRatio), ratios(rep.RatioRuns[c.Name]))
	p("   ratio recycled/limit:  %.3f (target >= %.2f: %s; rounds %s)", rep.RecycledRatio, rep.TargetConsumeRatio, verdict(rep.RecycledRatio), ratios(rep.RatioRuns[rc.Name]))
	p("   ratio borrowed/limit:  %.3f (target >= %.2f: %s; rounds %s)", rep.BorrowedRatio, rep.TargetConsumeRatio, verdict(rep.BorrowedRatio), ratios(rep.RatioRuns[bc.Name]))
	p("   ratio batches/limit:   %.3f (target >= %.2f: %s; rounds %s)", rep.BatchesRatio, rep.TargetConsumeRatio, verdict(rep.BatchesRatio), ratios(rep.RatioRuns[bb.Name]))
	p("   ratio no-CRC/limit:    %.3f (target >= %.2f: %s; rounds %s)", rep.BatchesNoCRCRatio, rep.TargetConsumeRatio, verdict(rep.BatchesNoCRCRatio), ratios(rep.RatioRuns[bn.Name]))
	p("   ratio raw fetch/limit: %.3f (rounds %s)", rep.RawFetchRatio, ratios(rep.RatioRuns[rf.Name]))
	p("   against the sendfile limit: consumer %.3f, recycled %.3f, borrowed %.3f, batches %.3f, no CRC %.3f, raw fetch %.3f (medians of the rounds' ratios)",
		rep.SendfileRatios[c.Name], rep.SendfileRatios[rc.Name], rep.SendfileRatios[bc.Name], rep.SendfileRatios[bb.Name], rep.SendfileRatios[bn.Name], rep.SendfileRatios[rf.Name])
	p("   ceiling sendfile/limit: %.3f (rounds %s): what sendfile itself reaches here; a consumer served by sendfile gets about this far, within the runs' noise",
		rep.SendfileCeiling, ratios(rep.SendfileCeilingRuns))
	p("   ceiling copy/limit:     %.3f (rounds %s): the same for a file server that copies the stored bytes through a buffer",
		rep.CopyCeiling, ratios(rep.CopyCeilingRuns))
	p("")
	lt := rep.Latency
	p("3. produce latency at %.0f%% of the peak rate above (send call to acknowledgement callback, HdrHistogram)", LatencyFraction*100)
	p("   sluice producer   %d records in %.3fs to topic %s: %.0f records/s (asked %.0f), %d failed",
		lt.Records, lt.Seconds, lt.Topic, lt.Rate, lt.TargetRate, lt.Failed)
	p("                     latency p50 %.0f us, p99 %.0f us, p99.9 %.0f us, max %.0f us, mean %.0f us",
		lt.P50Us, lt.P99Us, lt.P999Us, lt.MaxUs, lt.MeanUs)
	p("                     %s", cpuLine(lt.CPU, "broker", lt.Seconds, m.Cores))
	p("")
	p("broker:   SIGTERM -> exit code %d in %.3fs", rep.Broker.ExitCode, rep.Broker.StopSeconds)
	for _, l := range rep.Broker.Warnings {
		p("          logged: %s", l)
	}
	for _, phase := range slices.Sorted(maps.Keys(rep.PerfFiles)) {
		f := rep.PerfFiles[phase]
		p("perf:     %s: %s (perf report -i %s)", phase, f, f)
	}
	for _, n := range rep.Notes {
		p("note:     %s", n)
	}
	if len(rep.Problems) == 0 {
		p("checks:   all passed (counts, offsets, values, wire bytes vs stored log, limit byte counts, broker exit 0)")
	} else {
		for _, pr := range rep.Problems {
			p("PROBLEM:  %s", pr)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// cpuLine says who used the CPU during a phase of secs seconds.
func cpuLine(u CPUUse, peer string, secs float64, cores int) string {
	if u.Machine == 0 {
		return "cpu: not measured (no /proc)"
	}
	return fmt.Sprintf("cpu: this process %.2fs, %s %.2fs, softirq %.2fs, others %.2fs; machine busy %.2f of %.2f core-s; this process allocated %.1f MB in %d GCs",
		u.ThisProcess, peer, u.Peer, u.Softirq, u.Others, u.Machine, secs*float64(cores), float64(u.AllocBytes)/1e6, u.GCs)
}

func runs(mbps []float64) string {
	s := make([]string, len(mbps))
	for i, v := range mbps {
		s[i] = fmt.Sprintf("%.0f", v)
	}
	return "[" + strings.Join(s, " ") + "] MB/s"
}

func ratios(rs []float64) string {
	s := make([]string, len(rs))
	for i, v := range rs {
		s[i] = fmt.Sprintf("%.2f", v)
	}
	return "[" + strings.Join(s, " ") + "]"
}

func wireFrom(s string) string {
	switch s {
	case "tcp_info":
		return "kernel TCP_INFO of the connection"
	case "frames":
		return "frames read"
	case "raw fetch frames":
		return "the raw fetch's frames: no TCP_INFO here"
	case "computed":
		return "computed: stored log + request framing"
	}
	return s
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
