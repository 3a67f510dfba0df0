package replbench

import (
	"os/exec"
	"syscall"
)

// dieWithParent makes the kernel kill the broker if this process dies
// first, so that no broker outlives an interrupted run.
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
