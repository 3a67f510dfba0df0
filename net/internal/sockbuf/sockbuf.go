// Package sockbuf sizes a TCP connection's kernel buffers: Kafka's
// socket.send.buffer.bytes and socket.receive.buffer.bytes on the broker,
// send.buffer.bytes and receive.buffer.bytes on clients. On Linux, OfPeer
// reads back the sizes of this process's sockets, for tests that hold no
// handle to them.
//
// Invariant: a size of zero or less leaves that buffer to the operating
// system, which on Linux grows it with the connection's needs
// (autotuning); a positive size fixes it, as SO_SNDBUF and SO_RCVBUF do,
// and the kernel caps it at net.core.wmem_max and net.core.rmem_max.
package sockbuf

import (
	"fmt"
	"net"
)

// Sizes are a connection's send and receive buffer sizes in bytes; zero
// or less means the operating system's default.
type Sizes struct {
	Send, Receive int
}

// Apply sets the sizes on nc when it is a TCP connection.
func (s Sizes) Apply(nc net.Conn) error {
	tc, ok := nc.(*net.TCPConn)
	if !ok {
		return nil
	}
	if s.Send > 0 {
		if err := tc.SetWriteBuffer(s.Send); err != nil {
			return fmt.Errorf("send buffer of %d bytes: %w", s.Send, err)
		}
	}
	if s.Receive > 0 {
		if err := tc.SetReadBuffer(s.Receive); err != nil {
			return fmt.Errorf("receive buffer of %d bytes: %w", s.Receive, err)
		}
	}
	return nil
}
