package partbench

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// countFDs is the number of descriptors process pid holds (entries of
// /proc/PID/fd).
func countFDs(pid int) (int, error) {
	ents, err := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/fd")
	if err != nil {
		return 0, fmt.Errorf("counting descriptors: %w", err)
	}
	return len(ents), nil
}

// countMaps is the number of memory mappings of process pid (lines of
// /proc/PID/maps), what vm.max_map_count limits.
func countMaps(pid int) (int, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/maps")
	if err != nil {
		return 0, fmt.Errorf("counting mappings: %w", err)
	}
	return strings.Count(string(b), "\n"), nil
}

// statusKB reads a "Key:   123 kB" field of /proc/PID/status, in bytes.
func statusKB(pid int, key string) (int64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, err
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok || k != key {
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%s in /proc/%d/status: %w", key, pid, err)
		}
		return n << 10, nil
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", key, pid)
}

// nofileLimit is process pid's RLIMIT_NOFILE as /proc/PID/limits says it:
// "soft / hard".
func nofileLimit(pid int) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/limits")
	if err != nil {
		return "unknown"
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "Max open files"); ok {
			f := strings.Fields(rest)
			if len(f) >= 2 {
				return f[0] + " / " + f[1]
			}
		}
	}
	return "unknown"
}

// maxMapCount is vm.max_map_count, or 0 if it cannot be read.
func maxMapCount() int {
	b, err := os.ReadFile("/proc/sys/vm/max_map_count")
	if err != nil {
		return 0
	}
	n, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return n
}

// freeBytes is the space an unprivileged writer may still use in the file
// system holding dir.
func freeBytes(dir string) (int64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, fmt.Errorf("statfs %s: %w", dir, err)
	}
	return int64(st.Bavail) * int64(st.Bsize), nil
}

// diskUsage is what du reports for dir: the blocks every file under it
// occupies (fallocated space counts, holes do not), and the number of
// entries.
func diskUsage(dir string) (bytes int64, entries int, err error) {
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) {
				return nil // removed while walking (a segment deleted)
			}
			return err
		}
		info, err := d.Info()
		if err != nil {
			if os.IsNotExist(err) {
				return nil
			}
			return err
		}
		if st, ok := info.Sys().(*syscall.Stat_t); ok {
			bytes += st.Blocks * 512
		}
		entries++
		return nil
	})
	return bytes, entries, err
}
