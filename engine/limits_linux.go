package engine

import (
	"bytes"
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// readSysLimits reads the soft RLIMIT_NOFILE, vm.max_map_count and the
// process's current mapping count (the lines of /proc/self/maps).
func readSysLimits() (sysLimits, error) {
	s := sysLimits{openFiles: -1, maxMapCount: -1, mappings: -1}
	var rl unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &rl); err != nil {
		return s, fmt.Errorf("engine: RLIMIT_NOFILE: %w", err)
	}
	if rl.Cur != unix.RLIM_INFINITY && rl.Cur < 1<<62 {
		s.openFiles = int64(rl.Cur)
	}
	// Both files are absent in some containers and sandboxes: then the
	// mapping budget is unknown, not an error.
	if raw, err := os.ReadFile("/proc/sys/vm/max_map_count"); err == nil {
		if n, err := strconv.ParseInt(string(bytes.TrimSpace(raw)), 10, 64); err == nil {
			s.maxMapCount = n
		}
	}
	if s.maxMapCount >= 0 {
		raw, err := os.ReadFile("/proc/self/maps")
		if err != nil {
			s.maxMapCount = -1
		} else {
			s.mappings = int64(bytes.Count(raw, []byte{'\n'}))
		}
	}
	return s, nil
}

// readDiskSpace reports what an unprivileged process may still use of the
// file system holding dir.
func readDiskSpace(dir string) (diskSpace, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return diskSpace{}, err
	}
	d := diskSpace{freeBytes: int64(st.Bavail) * int64(st.Bsize), freeInodes: -1}
	if st.Files > 0 { // btrfs and some others report no inode counts
		d.freeInodes = int64(st.Ffree)
	}
	return d, nil
}
