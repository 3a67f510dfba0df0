package netbench

import (
	"os"
	"runtime"
	"time"

	"github.com/sluicelog/sluice/bench/hostinfo"
)

// Machine describes where a run happened.
type Machine struct {
	CPU        string `json:"cpu"`        // model name from /proc/cpuinfo
	Cores      int    `json:"cores"`      // logical CPUs (runtime.NumCPU)
	GOMAXPROCS int    `json:"gomaxprocs"` // of this process; the broker and helpers use their default
	MemoryMiB  int64  `json:"memory_mib"` // MemTotal, 0 if unknown
	GoVersion  string `json:"go_version"`
	OS         string `json:"os"`     // GOOS/GOARCH
	Kernel     string `json:"kernel"` // kernel release
	Hostname   string `json:"hostname"`
	Date       string `json:"date"` // start of the run, UTC, RFC 3339
}

// DescribeMachine gathers the facts of this machine.
func DescribeMachine() Machine {
	m := Machine{
		CPU:        "unknown",
		Kernel:     "unknown",
		Cores:      runtime.NumCPU(),
		GOMAXPROCS: runtime.GOMAXPROCS(0),
		GoVersion:  runtime.Version(),
		OS:         runtime.GOOS + "/" + runtime.GOARCH,
		Date:       time.Now().UTC().Format(time.RFC3339),
	}
	pl := hostinfo.ReadPlatform()
	m.CPU, m.MemoryMiB, m.Kernel = pl.CPU, pl.MemoryMiB, pl.Kernel
	m.Hostname, _ = os.Hostname()
	return m
}
