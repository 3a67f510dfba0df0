package serdebench

import (
	"os"
	"slices"
	"time"

	"github.com/sluicelog/sluice/bench/sluicedproc"
)

// ratio is a / b, or 0 when b is 0.
func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
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

// Spread is the median and range of a list of figures.
type Spread struct {
	Median float64 `json:"median"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
}

// spreadOf summarises xs; zeros for none.
func spreadOf(xs []float64) Spread {
	if len(xs) == 0 {
		return Spread{}
	}
	return Spread{Median: median(xs), Min: slices.Min(xs), Max: slices.Max(xs)}
}

// cpuMeter takes the clock and the CPU counters at the start of a timed
// run: this process's and the broker's (their threads' run time).
type cpuMeter struct {
	broker          int
	start           time.Time
	self, brokerCPU float64
}

func startCPU(broker int) cpuMeter {
	return cpuMeter{broker: broker, self: sluicedproc.ProcessCPU(os.Getpid()), brokerCPU: sluicedproc.ProcessCPU(broker), start: time.Now()}
}

// CPU is a timed run's length and the CPU time spent in it.
type CPU struct {
	Seconds float64 `json:"seconds"`
	// ClientCPU and BrokerCPU are this process's and the broker's CPU
	// time in the run, in seconds of one core.
	ClientCPU float64 `json:"client_cpu_s"`
	BrokerCPU float64 `json:"broker_cpu_s"`
}

func (m cpuMeter) stop() CPU {
	s := time.Since(m.start).Seconds()
	return CPU{Seconds: s, ClientCPU: sluicedproc.ProcessCPU(os.Getpid()) - m.self, BrokerCPU: sluicedproc.ProcessCPU(m.broker) - m.brokerCPU}
}

// ClientCores and BrokerCores are the cores each kept busy on average.
func (c CPU) ClientCores() float64 { return ratio(c.ClientCPU, c.Seconds) }
func (c CPU) BrokerCores() float64 { return ratio(c.BrokerCPU, c.Seconds) }
