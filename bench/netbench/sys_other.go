//go:build !linux

package netbench

import (
	"errors"
	"net/netip"
	"os/exec"
	"syscall"
)

type tcpCounters struct {
	Acked    uint64
	Received uint64
}

const tcpCountersSupported = false

func connCounters(netip.AddrPort) (map[string]tcpCounters, error) {
	return nil, errors.New("TCP_INFO counters are read on Linux only")
}

func freeBytes(string) int64 { return -1 }

func dieWithParent(*exec.Cmd, syscall.Signal) {}
