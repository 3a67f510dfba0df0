package main

import (
	"net"
	"testing"
	"time"

	"github.com/sluicelog/sluice/net/protocol"
)

type rawConn struct {
	t  *testing.T
	nc net.Conn
}

func dialRaw(t *testing.T, addr string) *rawConn {
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	return &rawConn{t: t, nc: nc}
}

func (c *rawConn) call(req protocol.Request, resp protocol.Response) {
	c.nc.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.nc.Write(protocol.AppendRequestFrame(nil, 1, req)); err != nil {
		c.t.Fatal(err)
	}
	frame, err := protocol.ReadFrame(c.nc, nil, 0)
	if err != nil {
		c.t.Fatal(err)
	}
	_, body, err := protocol.ParseResponseHeader(frame)
	if err != nil {
		c.t.Fatal(err)
	}
	if err := resp.DecodeFrom(body); err != nil {
		c.t.Fatal(err)
	}
}
