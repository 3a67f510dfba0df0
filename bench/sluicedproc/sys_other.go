//go:build !linux

package sluicedproc

import (
	"os/exec"

	"github.com/sluicelog/sluice/bench/hostinfo"
)

// dieWithParent does nothing here: a broker can outlive an interrupted run.
func dieWithParent(*exec.Cmd) {}

// SyncAll does nothing here.
func SyncAll() {}

// Settle does nothing here: the page cache is left as it is.
func Settle() bool { return false }

// ProcessCPU is a process's user+system time in seconds, where /proc has
// it.
func ProcessCPU(pid int) float64 { return hostinfo.ProcessCPU(pid) }
