package sluicedproc

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"

	"github.com/sluicelog/sluice/bench/hostinfo"
)

// dieWithParent makes the kernel kill the broker if the harness dies
// first, so that no broker outlives an interrupted run.
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

// SyncAll asks the kernel to write back every dirty page (sync(2)).
func SyncAll() { syscall.Sync() }

// Settle gives a run a cold page cache to start from: nothing dirty and,
// as root, nothing cached. It reports whether the cache was dropped.
func Settle() bool {
	syscall.Sync()
	return os.WriteFile("/proc/sys/vm/drop_caches", []byte("1"), 0) == nil
}

// ProcessCPU is a process's CPU time in seconds: the run time of its
// threads in nanoseconds from /proc/PID/task/*/schedstat, or, where that
// says nothing, user+system time at the kernel's 10 ms tick. Threads that
// exited are not counted; a Go process keeps its threads.
func ProcessCPU(pid int) float64 {
	tasks, err := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/task")
	var ns int64
	for _, t := range tasks {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/task/" + t.Name() + "/schedstat")
		if err != nil {
			continue
		}
		f := strings.Fields(string(b))
		if len(f) == 0 {
			continue
		}
		n, _ := strconv.ParseInt(f[0], 10, 64)
		ns += n
	}
	if err != nil || ns == 0 {
		return hostinfo.ProcessCPU(pid)
	}
	return float64(ns) / 1e9
}
