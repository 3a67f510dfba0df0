package serdebench

import (
	"os"
	"runtime"
	"time"

	"github.com/sluicelog/sluice/bench/hostinfo"
	"github.com/sluicelog/sluice/bench/sluicedproc"
	"github.com/sluicelog/sluice/bench/units"
)

// cpuMeter takes the clock and the CPU counters at the start of a timed
// run: this process's and the broker's (their threads' run time), and
// the machine's busy time.
type cpuMeter struct {
	broker                 int
	start                  time.Time
	self, brokerCPU, total float64
}

func startCPU(broker int) cpuMeter {
	return cpuMeter{broker: broker, self: sluicedproc.ProcessCPU(os.Getpid()), brokerCPU: sluicedproc.ProcessCPU(broker),
		total: hostinfo.MachineBusy(), start: time.Now()}
}

// CPU is a timed run's length and the CPU time spent in it.
type CPU struct {
	Seconds float64 `json:"seconds"`
	// ClientCPU and BrokerCPU are this process's and the broker's CPU
	// time in the run, in seconds of one core.
	ClientCPU float64 `json:"client_cpu_s"`
	BrokerCPU float64 `json:"broker_cpu_s"`
	// OthersShare is the share of the machine's cores that the rest of
	// the machine kept busy in the run (/proc/stat, 10 ms ticks: other
	// processes, kernel threads such as writeback, a VM's steal time).
	OthersShare float64 `json:"others_share"`
}

func (m cpuMeter) stop() CPU {
	c := CPU{Seconds: time.Since(m.start).Seconds(), ClientCPU: sluicedproc.ProcessCPU(os.Getpid()) - m.self,
		BrokerCPU: sluicedproc.ProcessCPU(m.broker) - m.brokerCPU}
	others := max(hostinfo.MachineBusy()-m.total-c.ClientCPU-c.BrokerCPU, 0)
	c.OthersShare = units.Ratio(others, float64(runtime.NumCPU())*c.Seconds)
	return c
}

// ClientCores and BrokerCores are the cores each kept busy on average.
func (c CPU) ClientCores() float64 { return units.Ratio(c.ClientCPU, c.Seconds) }
func (c CPU) BrokerCores() float64 { return units.Ratio(c.BrokerCPU, c.Seconds) }
