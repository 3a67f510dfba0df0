//go:build !linux

package cleanbench

import (
	"os/exec"

	"github.com/sluicelog/sluice/bench/hostinfo"
)

// dieWithParent does nothing here: a broker can outlive an interrupted run.
func dieWithParent(*exec.Cmd) {}

// syncAll does nothing here.
func syncAll() {}

// settle does nothing here: the page cache is left as it is.
func settle() bool { return false }

// processCPU is a process's user+system time in seconds, where /proc has
// it.
func processCPU(pid int) float64 { return hostinfo.ProcessCPU(pid) }
