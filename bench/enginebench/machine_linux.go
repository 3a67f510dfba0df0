package enginebench

import (
	"bufio"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/sluicelog/sluice/bench/hostinfo"
)

// describePlatform reads the CPU model, memory and kernel from /proc and
// finds the mount that holds dir in /proc/self/mounts (the longest mount
// point that prefixes dir's real path).
func describePlatform(m *Machine, dir string) {
	pl := hostinfo.ReadPlatform()
	m.CPU, m.MemoryMiB, m.Kernel = pl.CPU, pl.MemoryMiB, pl.Kernel
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		real = dir
	}
	real, _ = filepath.Abs(real)
	f, err := os.Open("/proc/self/mounts")
	if err != nil {
		return
	}
	defer f.Close()
	best := -1
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 3 {
			continue
		}
		mp := unescapeMount(fields[1])
		if !under(real, mp) || len(mp) <= best {
			continue
		}
		best = len(mp)
		m.Device, m.MountPoint, m.FileSystem = unescapeMount(fields[0]), mp, fields[2]
		if len(fields) > 3 {
			m.MountOptions = fields[3]
		}
	}
}

// under reports whether path is mount point mp or inside it.
func under(path, mp string) bool {
	if mp == "/" {
		return true
	}
	return path == mp || strings.HasPrefix(path, mp+"/")
}

// unescapeMount undoes the octal escapes (\040 for a space, ...) of
// /proc/self/mounts.
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
