// Package hostinfo reads the machine facts the benchmark harnesses print
// beside every figure: fields of /proc files and the load average. Where
// /proc does not exist the answers are "not found" and "unknown".
package hostinfo

import (
	"bufio"
	"os"
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
