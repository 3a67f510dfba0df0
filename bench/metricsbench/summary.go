package metricsbench

import (
	"fmt"
	"math"
	"slices"

	"github.com/sluicelog/sluice/bench/units"
)

// Modes of a run.
const (
	Off = "off" // metrics.listeners empty: the default
	On  = "on"  // metrics.listeners=http://127.0.0.1:0, scraped
)

// SlotOrder is the modes of a round's four slots: off, on, on, off in odd
// rounds, on, off, off, on in even ones. Within a round the two modes'
// mean slot positions are the same, so a drift that is linear over the
// four slots cancels from the round's ratio; from round to round the
// mode that goes first alternates.
func SlotOrder(round int) []string {
	if round%2 == 0 {
		return []string{On, Off, Off, On}
	}
	return []string{Off, On, On, Off}
}

// Interval is a distribution-free confidence interval of a median: the
// k-th smallest and k-th largest of n independent figures hold the
// median of their distribution between them with probability
// 1 - 2 P(Binomial(n, 1/2) <= k-1), whatever that distribution is.
type Interval struct {
	Low        float64 `json:"low"`
	High       float64 `json:"high"`
	Confidence float64 `json:"confidence"`
}

// MedianInterval returns the narrowest such interval of xs whose
// confidence is at least level, or the whole range (with its confidence)
// when not even that reaches level.
func MedianInterval(xs []float64, level float64) Interval {
	n := len(xs)
	if n == 0 {
		return Interval{}
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	// cdf[j] is P(Binomial(n, 1/2) <= j).
	cdf := make([]float64, n+1)
	c, total := 1.0, 0.0 // C(n, j), sum of C(n, 0..j)
	for j := 0; j <= n; j++ {
		total += c
		cdf[j] = total / math.Pow(2, float64(n))
		c = c * float64(n-j) / float64(j+1)
	}
	k := 1
	for k+1 <= (n+1)/2 && 1-2*cdf[k] >= level {
		k++
	}
	return Interval{Low: s[k-1], High: s[n-k], Confidence: max(1-2*cdf[k-1], 0)}
}

// Level is the confidence the report's intervals aim for.
const Level = 0.95

// Summary is one phase over every round: each mode's figures, and on
// against off.
type Summary struct {
	Phase string `json:"phase"`
	// OffMBps and OnMBps are the runs' payload MB/s in each mode, two a
	// round; MedianRatio is OnMBps.Median / OffMBps.Median.
	OffMBps     units.Spread `json:"off_mb_per_s"`
	OnMBps      units.Spread `json:"on_mb_per_s"`
	MedianRatio float64      `json:"median_ratio"`
	// Rounds are each round's ratio: the mean of its on runs' MB/s over
	// the mean of its off runs', which were made seconds apart. Ratio,
	// their median, is the target's figure; Interval says how far the
	// machine's noise leaves it uncertain.
	Rounds   []float64 `json:"round_ratios"`
	Ratio    float64   `json:"ratio"`
	Interval Interval  `json:"interval"`
	// Control is each mode against itself, round by round: its second
	// run over its first. Its spread is what two runs of the same broker
	// differ by here.
	Control       []float64    `json:"control_ratios"`
	ControlSpread units.Spread `json:"control_spread"`
	// OffCPU and OnCPU are the broker's CPU per record in each mode, in
	// microseconds of one core; CPURounds each round's ratio of their
	// means on/off, CPURatio their median and CPUInterval its interval.
	OffCPU      units.Spread `json:"off_broker_cpu_us_per_record"`
	OnCPU       units.Spread `json:"on_broker_cpu_us_per_record"`
	CPURounds   []float64    `json:"broker_cpu_round_ratios"`
	CPURatio    float64      `json:"broker_cpu_ratio"`
	CPUInterval Interval     `json:"broker_cpu_interval"`
	// Others is the share of the machine's CPU other work took during
	// the runs; Disturbed counts the runs where it passed DisturbedShare,
	// of Runs.
	Others    units.Spread `json:"others_share"`
	Disturbed int          `json:"disturbed"`
	Runs      int          `json:"runs"`
	// Met says Ratio >= TargetRatio; Beyond that the miss is beyond this
	// run's noise: Interval.High below TargetRatio too, at a confidence of
	// 90% or more (five rounds or more).
	Met    bool `json:"met"`
	Beyond bool `json:"beyond_noise"`
}

// TargetRatio is the requirement: throughput with metrics on at least 97%
// of throughput with them off.
const TargetRatio = 0.97

// Summarize computes the phase's summary from the rounds.
func Summarize(phase string, rounds []Round) Summary {
	s := Summary{Phase: phase}
	var mb, cpu [2][]float64 // [off, on]
	var others []float64
	for _, r := range rounds {
		var in, inCPU [2][]float64 // this round's, by mode, in slot order
		for _, ph := range r.slots(phase) {
			m := 0
			if ph.Mode == On {
				m = 1
			}
			s.Runs++
			others = append(others, ph.OthersShare)
			if ph.Disturbed {
				s.Disturbed++
			}
			mb[m] = append(mb[m], ph.MBps)
			in[m] = append(in[m], ph.MBps)
			if ph.Records > 0 {
				c := ph.BrokerCPU / float64(ph.Records) * 1e6
				cpu[m] = append(cpu[m], c)
				inCPU[m] = append(inCPU[m], c)
			}
		}
		if len(in[0]) > 0 && len(in[1]) > 0 {
			s.Rounds = append(s.Rounds, units.Ratio(mean(in[1]), mean(in[0])))
		}
		if len(inCPU[0]) > 0 && len(inCPU[1]) > 0 {
			s.CPURounds = append(s.CPURounds, units.Ratio(mean(inCPU[1]), mean(inCPU[0])))
		}
		for _, xs := range in {
			if len(xs) >= 2 {
				s.Control = append(s.Control, units.Ratio(xs[len(xs)-1], xs[0]))
			}
		}
	}
	s.OffMBps, s.OnMBps = units.SpreadOf(mb[0]), units.SpreadOf(mb[1])
	s.MedianRatio = units.Ratio(s.OnMBps.Median, s.OffMBps.Median)
	s.Ratio, s.Interval = units.Median(s.Rounds), MedianInterval(s.Rounds, Level)
	s.ControlSpread = units.SpreadOf(s.Control)
	s.Others = units.SpreadOf(others)
	s.OffCPU, s.OnCPU = units.SpreadOf(cpu[0]), units.SpreadOf(cpu[1])
	s.CPURatio, s.CPUInterval = units.Median(s.CPURounds), MedianInterval(s.CPURounds, Level)
	s.Met = len(s.Rounds) > 0 && s.Ratio >= TargetRatio
	s.Beyond = !s.Met && s.Interval.Confidence >= 0.9 && s.Interval.High < TargetRatio
	return s
}

// Verdict says whether the target was met, and how the noise bears on it.
func (s Summary) Verdict() string {
	iv := s.Interval
	enough := iv.Confidence >= 0.9 // five rounds or more
	switch {
	case len(s.Rounds) == 0:
		return "not measured"
	case s.Met && !enough:
		return "met in the median (too few rounds for an interval)"
	case s.Met && iv.Low >= TargetRatio:
		return fmt.Sprintf("met (the %.0f%% interval is above the target)", 100*iv.Confidence)
	case s.Met:
		return fmt.Sprintf("met in the median; the %.0f%% interval reaches %.3f, so this run cannot rule out a loss of more than 3%%", 100*iv.Confidence, iv.Low)
	case !enough:
		return "**NOT met** in the median (too few rounds to tell it from noise)"
	case s.Beyond:
		return fmt.Sprintf("**NOT met**, beyond this run's noise (the %.0f%% interval is below the target)", 100*iv.Confidence)
	default:
		return fmt.Sprintf("**NOT met** in the median, within this run's noise (the %.0f%% interval reaches %.3f)", 100*iv.Confidence, iv.High)
	}
}

func mean(xs []float64) float64 {
	var t float64
	for _, x := range xs {
		t += x
	}
	return units.Ratio(t, float64(len(xs)))
}
