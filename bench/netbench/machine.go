package netbench

import (
	"github.com/sluicelog/sluice/bench/hostinfo"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"
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
	if v, ok := hostinfo.ProcField("/proc/cpuinfo", "model name"); ok {
		m.CPU = v
	}
	if v, ok := hostinfo.ProcField("/proc/meminfo", "MemTotal"); ok {
		if kb, err := strconv.ParseInt(strings.TrimSuffix(v, " kB"), 10, 64); err == nil {
			m.MemoryMiB = kb / 1024
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	m.Hostname, _ = os.Hostname()
	return m
}
