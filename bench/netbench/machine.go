package netbench

import (
	"bufio"
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
	if v, ok := procField("/proc/cpuinfo", "model name"); ok {
		m.CPU = v
	}
	if v, ok := procField("/proc/meminfo", "MemTotal"); ok {
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

// procField returns the value of the first "key : value" line of a /proc file.
func procField(path, key string) (string, bool) {
	f, err := os.Open(path)
	if err != nil {
		return "", false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v), true
		}
	}
	return "", false
}

// loadAverage returns the 1, 5 and 15 minute load averages and the
// running/total task count, as /proc/loadavg gives them.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 4 {
		return "unknown"
	}
	return strings.Join(f[:4], " ")
}
