package netbench

import (
	"cmp"
	"context"
	"slices"
	"time"
)

// phaseFunc runs f as the named phase (pprof label, broker perf).
type phaseFunc func(name string, f func(ctx context.Context) error) error

// consumeRounds measures the consume side in Config.Runs rounds. A round
// reads the whole partition once in every mode (owned records, borrowed
// records, batches, raw fetches) and then measures the consume limit once.
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
		{"sluice-consume-borrowed", &rep.Borrowed, &rep.BorrowedRatio, func(ctx context.Context) (ConsumeResult, error) { return r.consume(ctx, borrowedRecords) }},
		{"sluice-consume-batches", &rep.Batches, &rep.BatchesRatio, func(ctx context.Context) (ConsumeResult, error) { return r.consume(ctx, wholeBatches) }},
		{"sluice-rawfetch", &rep.RawFetch, &rep.RawFetchRatio, r.rawFetch},
	}
	runs := make([][]ConsumeResult, len(modes))
	var limits []LimitResult
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
		var lim LimitResult
		if err := phase("limit-consume", func(ctx context.Context) (err error) {
			lim, err = r.consumeLimit(ctx, limitBytes, int(frame+0.5))
			return err
		}); err != nil {
			return err
		}
		limits = append(limits, lim)
		logf("netbench: consume round %d of %d: consumer %.0f, borrowed %.0f, batches %.0f, raw fetch %.0f, limit %.0f MB/s",
			round+1, r.cfg.Runs, runs[0][round].WireMBps, runs[1][round].WireMBps, runs[2][round].WireMBps, raw.WireMBps, lim.MBps)
	}

	limitMBps := make([]float64, len(limits))
	for i, l := range limits {
		limitMBps[i] = l.MBps
	}
	rep.ConsumeLimit = medianRun(limits, func(l LimitResult) float64 { return l.MBps })
	rep.ConsumeLimit.RunsMBps = limitMBps
	rep.RatioRuns = map[string][]float64{}
	for i, m := range modes {
		mb := make([]float64, len(runs[i]))
		ratios := make([]float64, len(runs[i]))
		for j, c := range runs[i] {
			mb[j] = c.WireMBps
			if limitMBps[j] > 0 {
				ratios[j] = c.WireMBps / limitMBps[j]
			}
		}
		*m.out = medianRun(runs[i], func(c ConsumeResult) float64 { return c.WireMBps })
		m.out.RunsMBps = mb
		*m.ratio = median(ratios)
		rep.RatioRuns[m.out.Name] = ratios
	}
	return nil
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
