package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"syscall"

	"golang.org/x/sys/unix"
)

// setDeathSignal makes the kernel stop cmd when this process dies.
func setDeathSignal(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
}

// waitForSignal blocks until SIGTERM or SIGINT.
func waitForSignal() {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGTERM, syscall.SIGINT)
	<-ch
	signal.Stop(ch)
}

// sendfileAll sends n bytes of f from offset 0 to conn with sendfile(2).
func sendfileAll(conn *net.TCPConn, f *os.File, n int64) error {
	raw, err := conn.SyscallConn()
	if err != nil {
		return err
	}
	var off int64
	var serr error
	werr := raw.Write(func(fd uintptr) bool {
		for off < n {
			k, err := unix.Sendfile(int(fd), int(f.Fd()), &off, int(min(n-off, 1<<30)))
			if err == unix.EAGAIN {
				return false // the poller waits until the socket drains
			}
			if err != nil {
				serr = err
				return true
			}
			if k == 0 {
				serr = fmt.Errorf("sendfile: no progress at %d of %d", off, n)
				return true
			}
		}
		return true
	})
	if werr != nil {
		return werr
	}
	return serr
}

// fdatasync flushes f's data.
func fdatasync(f *os.File) error { return unix.Fdatasync(int(f.Fd())) }
