// Package hostinfo reads what the benchmark harnesses print beside every
// figure: the machine's facts (fields of /proc files, the load average)
// and the command that made it. Where /proc does not exist the answers are
// "not found" and "unknown".
package hostinfo

import (
	"bufio"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// ProcField returns the value of the first "key : value" line of a /proc
// file (/proc/cpuinfo, /proc/meminfo).
func ProcField(path, key string) (string, bool) {
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

// LoadAverage returns the 1, 5 and 15 minute load averages and the
// running/total task count, as /proc/loadavg gives them.
func LoadAverage() string {
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

// CommandLine is how this process was invoked, quoted for a shell; a
// binary that sits in go run's build cache is named `go run ./pkg`, the
// command that repeats the run.
func CommandLine(pkg string) string {
	exe := os.Args[0]
	if strings.Contains(filepath.ToSlash(exe), "/go-build") {
		exe = "go run " + pkg
	}
	args := []string{exe}
	for _, a := range os.Args[1:] {
		if strings.ContainsAny(a, " '\"$\\") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		args = append(args, a)
	}
	return strings.Join(args, " ")
}

// Platform is the machine's CPU model, memory and kernel release, from
// /proc; "unknown" (and 0 MiB) where /proc does not say.
type Platform struct {
	CPU       string
	MemoryMiB int64
	Kernel    string
}

// ReadPlatform reads the Platform.
func ReadPlatform() Platform {
	p := Platform{CPU: "unknown", Kernel: "unknown"}
	if v, ok := ProcField("/proc/cpuinfo", "model name"); ok {
		p.CPU = v
	}
	if v, ok := ProcField("/proc/meminfo", "MemTotal"); ok {
		if kb, err := strconv.ParseInt(strings.TrimSuffix(v, " kB"), 10, 64); err == nil {
			p.MemoryMiB = kb / 1024
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		p.Kernel = strings.TrimSpace(string(b))
	}
	return p
}

// clockTick is USER_HZ, the unit of /proc's CPU times: 100 on every Linux
// architecture Go supports.
const clockTick = 100

// ProcessCPU is a process's user+system CPU time in seconds, from
// /proc/PID/stat (a zombie's too, until it is reaped), or 0 where /proc
// does not say.
func ProcessCPU(pid int) float64 {
	if pid <= 0 {
		return 0
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	// The command name may hold spaces; the fields after it are fixed.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseFloat(f[11], 64)
	stime, _ := strconv.ParseFloat(f[12], 64)
	return (utime + stime) / clockTick
}

// MachineBusy is the busy time of all CPUs since boot in seconds (user,
// nice, system, irq, softirq, steal: everything but idle and iowait), from
// /proc/stat, or 0.
func MachineBusy() float64 {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return 0
	}
	var busy float64
	for i, v := range f[1:9] {
		if i == 3 || i == 4 { // idle, iowait
			continue
		}
		n, _ := strconv.ParseFloat(v, 64)
		busy += n
	}
	return busy / clockTick
}
