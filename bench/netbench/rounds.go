package netbench

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// phaseFunc runs f as the named phase (pprof label, broker perf).
type phaseFunc func(name string, f func(ctx context.Context) error) error

// consumeRounds measures the consume side in Config.Runs rounds. A round
// reads the whole partition once in every mode (owned records, owned and
// recycled records, borrowed records, batches, raw fetches) and then measures the consume limits once
// each: the loopback limit, the sendfile limit and the copying file server.
// On a shared machine the throughput a run sees drifts by a factor of two
// within a minute; a ratio of runs made seconds apart, round by round, is
// far steadier than one Sluice run against a limit measured at another
// moment. Each result is the median run; each ratio the median of the
// rounds' ratios.
func (r *runner) consumeRounds(rep *Report, phase phaseFunc) error {
	logf := r.cfg.Logf
	modes := []struct {
		phase string
		out   *ConsumeResult
		ratio *float64
		run   func(ctx context.Context) (ConsumeResult, error)
	}{
		{"sluice-consume", &rep.Consume, &rep.ConsumeRatio, func(ctx context.Context) (ConsumeResult, error) { return r.consume(ctx, ownedRecords) }},
		{"sluice-consume-recycled", &rep.Recycled, &rep.RecycledRatio, func(ctx context.Context) (ConsumeResult, error) { return r.consume(ctx, recycledRecords) }},
		{"sluice-consume-borrowed", &rep.Borrowed, &rep.BorrowedRatio, func(ctx context.Context) (ConsumeResult, error) { return r.consume(ctx, borrowedRecords) }},
		{"sluice-consume-batches", &rep.Batches, &rep.BatchesRatio, func(ctx context.Context) (ConsumeResult, error) { return r.consume(ctx, wholeBatches) }},
		{"sluice-consume-batches-nocrc", &rep.BatchesNoCRC, &rep.BatchesNoCRCRatio, func(ctx context.Context) (ConsumeResult, error) { return r.consume(ctx, trustedBatches) }},
		{"sluice-rawfetch", &rep.RawFetch, &rep.RawFetchRatio, r.rawFetch},
	}
	runs := make([][]ConsumeResult, len(modes))
	segment, err := largestSegment(filepath.Join(r.dataDir, r.work.topic+"-0"))
	if err != nil {
		return err
	}
	var limits, sendfiles, copies []LimitResult
	var limitBytes int64
	var frame float64
	for round := range r.cfg.Runs {
		for i, m := range modes {
			var res ConsumeResult
			if err := phase(m.phase, func(ctx context.Context) (err error) {
				res, err = m.run(ctx)
				return err
			}); err != nil {
				return err
			}
			runs[i] = append(runs[i], res)
		}
		raw := runs[len(modes)-1][round]
		for i := range len(modes) - 1 {
			c := &runs[i][round]
			if c.WireBytes == 0 {
				// No TCP_INFO here: the raw fetches asked for the same
				// data with the same limits, so their frames are the
				// consumer's bytes.
				c.WireBytes, c.WireBytesFrom = raw.WireBytes, "raw fetch frames"
				c.WireMBps = mbps(c.WireBytes, time.Duration(c.Seconds*float64(time.Second)))
				c.AvgFetchBytes = raw.AvgFetchBytes
			}
		}
		if round == 0 {
			limitBytes, frame = runs[0][0].WireBytes, runs[0][0].AvgFetchBytes
		}
		var lim, sf, cp LimitResult
		for _, l := range []struct {
			phase string
			src   limitSource
			out   *LimitResult
		}{{"limit-consume", fromMemory, &lim}, {"limit-sendfile", bySendfile, &sf}, {"limit-filecopy", byCopy, &cp}} {
			if err := phase(l.phase, func(ctx context.Context) (err error) {
				*l.out, err = r.consumeLimit(ctx, limitBytes, int(frame+0.5), l.src, segment)
				return err
			}); err != nil {
				return err
			}
		}
		limits, sendfiles, copies = append(limits, lim), append(sendfiles, sf), append(copies, cp)
		logf("netbench: consume round %d of %d: consumer %.0f, recycled %.0f, borrowed %.0f, batches %.0f (no CRC %.0f), raw fetch %.0f, limit %.0f, sendfile limit %.0f, copy limit %.0f MB/s",
			round+1, r.cfg.Runs, runs[0][round].WireMBps, runs[1][round].WireMBps, runs[2][round].WireMBps, runs[3][round].WireMBps, runs[4][round].WireMBps, raw.WireMBps, lim.MBps, sf.MBps, cp.MBps)
	}

	limitMBps, sendfileMBps, copyMBps := runsMBps(limits), runsMBps(sendfiles), runsMBps(copies)
	rep.ConsumeLimit = medianRun(limits, func(l LimitResult) float64 { return l.MBps })
	rep.ConsumeLimit.RunsMBps = limitMBps
	rep.SendfileLimit = medianRun(sendfiles, func(l LimitResult) float64 { return l.MBps })
	rep.SendfileLimit.RunsMBps = sendfileMBps
	rep.CopyLimit = medianRun(copies, func(l LimitResult) float64 { return l.MBps })
	rep.CopyLimit.RunsMBps = copyMBps
	// The ceilings: what a source serving the stored bytes reaches, round
	// by round, against the loopback limit of the same round. A consumer
	// the broker serves with sendfile gets about as far as the sendfile
	// ceiling, and no further than the runs' noise.
	rep.SendfileCeilingRuns, rep.CopyCeilingRuns = make([]float64, len(limits)), make([]float64, len(limits))
	for j := range limits {
		if limitMBps[j] > 0 {
			rep.SendfileCeilingRuns[j] = sendfileMBps[j] / limitMBps[j]
			rep.CopyCeilingRuns[j] = copyMBps[j] / limitMBps[j]
		}
	}
	rep.SendfileCeiling, rep.CopyCeiling = median(rep.SendfileCeilingRuns), median(rep.CopyCeilingRuns)
	rep.RatioRuns, rep.SendfileRatios = map[string][]float64{}, map[string]float64{}
	for i, m := range modes {
		mb := make([]float64, len(runs[i]))
		ratios := make([]float64, len(runs[i]))
		sfRatios := make([]float64, len(runs[i]))
		for j, c := range runs[i] {
			mb[j] = c.WireMBps
			if limitMBps[j] > 0 {
				ratios[j] = c.WireMBps / limitMBps[j]
			}
			if sendfileMBps[j] > 0 {
				sfRatios[j] = c.WireMBps / sendfileMBps[j]
			}
		}
		*m.out = medianRun(runs[i], func(c ConsumeResult) float64 { return c.WireMBps })
		m.out.RunsMBps = mb
		*m.ratio = median(ratios)
		rep.RatioRuns[m.out.Name] = ratios
		rep.SendfileRatios[m.out.Name] = median(sfRatios)
	}
	return nil
}

func runsMBps(runs []LimitResult) []float64 {
	mb := make([]float64, len(runs))
	for i, l := range runs {
		mb[i] = l.MBps
	}
	return mb
}

// largestSegment is the biggest log file in a partition's directory: the
// sendfile limit sends its bytes, which the consumer has just read and
// the page cache therefore holds.
func largestSegment(dir string) (string, error) {
	names, err := filepath.Glob(filepath.Join(dir, "*.log"))
	if err != nil {
		return "", err
	}
	best, size := "", int64(0)
	for _, n := range names {
		if st, err := os.Stat(n); err == nil && st.Size() > size {
			best, size = n, st.Size()
		}
	}
	if best == "" {
		return "", fmt.Errorf("no log segment with data in %s", dir)
	}
	return best, nil
}

// medianRun returns the run whose key is the median (the lower middle
// one for an even count).
func medianRun[T any](runs []T, key func(T) float64) T {
	sorted := slices.Clone(runs)
	slices.SortStableFunc(sorted, func(a, b T) int { return cmp.Compare(key(a), key(b)) })
	return sorted[(len(sorted)-1)/2]
}

// median is medianRun for plain numbers.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	return medianRun(xs, func(x float64) float64 { return x })
}
