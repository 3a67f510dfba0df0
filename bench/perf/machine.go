package perf

import (
	"os"
	"runtime"
	"strconv"
	"strings"

	"github.com/sluicelog/sluice/bench/hostinfo"
)

// Machine is the facts printed beside every figure.
type Machine struct {
	Host   string `json:"host"`
	CPU    string `json:"cpu"`
	Cores  int    `json:"cores"`
	MemMiB int64  `json:"mem_mib"`
	Kernel string `json:"kernel"`
	OS     string `json:"os"`
	Go     string `json:"go"`
}

// ReadMachine reads the machine's facts; unknown ones stay empty.
func ReadMachine() Machine {
	m := Machine{
		Cores: runtime.NumCPU(),
		OS:    runtime.GOOS + "/" + runtime.GOARCH,
		Go:    runtime.Version(),
	}
	m.Host, _ = os.Hostname()
	m.CPU, _ = hostinfo.ProcField("/proc/cpuinfo", "model name")
	if v, ok := hostinfo.ProcField("/proc/meminfo", "MemTotal"); ok {
		kb, _ := strconv.ParseInt(strings.TrimSuffix(v, " kB"), 10, 64)
		m.MemMiB = kb / 1024
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	return m
}

// String is the one-line form reports use.
func (m Machine) String() string {
	cpu := m.CPU
	if cpu == "" {
		cpu = "unknown CPU"
	}
	return cpu + ", " + strconv.Itoa(m.Cores) + " cores, " + strconv.FormatInt(m.MemMiB, 10) + " MiB, " +
		m.OS + ", kernel " + m.Kernel + ", " + m.Go
}
