//go:build !unix

package quorum

import "net"

func alive(c net.Conn) bool { return aliveByDeadline(c) }
