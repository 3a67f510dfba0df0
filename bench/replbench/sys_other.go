//go:build !linux

package replbench

import "os/exec"

// dieWithParent does nothing here: a broker can outlive an interrupted run.
func dieWithParent(*exec.Cmd) {}
