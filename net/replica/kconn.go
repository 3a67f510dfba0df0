package replica

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// maxResponse bounds a response frame from a leader.
const maxResponse = 64 << 20

// kconn is a follower's connection to a leader's Kafka-protocol listener:
// one request at a time, non-flexible versions only, which keeps the
// header handling to Kafka's request header v1 and response header v0.
type kconn struct {
	nc     net.Conn
	r      *bufio.Reader
	corr   int32
	client string
	wbuf   []byte
	rbuf   []byte
}

func dialKafka(addr, clientID string, timeout time.Duration) (*kconn, error) {
	nc, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return nil, err
	}
	return &kconn{nc: nc, r: bufio.NewReaderSize(nc, 64<<10), client: clientID}, nil
}

func (c *kconn) Close() error { return c.nc.Close() }

// roundTrip sends req and decodes its response into resp, within timeout.
func (c *kconn) roundTrip(req kmsg.Request, resp kmsg.Response, timeout time.Duration) error {
	if req.IsFlexible() {
		return fmt.Errorf("replica: %T v%d is flexible; only non-flexible versions are used", req, req.GetVersion())
	}
	c.corr++
	b := c.wbuf[:0]
	b = append(b, 0, 0, 0, 0)
	b = binary.BigEndian.AppendUint16(b, uint16(req.Key()))
	b = binary.BigEndian.AppendUint16(b, uint16(req.GetVersion()))
	b = binary.BigEndian.AppendUint32(b, uint32(c.corr))
	b = binary.BigEndian.AppendUint16(b, uint16(len(c.client)))
	b = append(b, c.client...)
	b = req.AppendTo(b)
	binary.BigEndian.PutUint32(b, uint32(len(b)-4))
	c.wbuf = b
	if err := c.nc.SetDeadline(time.Now().Add(timeout)); err != nil {
		return err
	}
	if _, err := c.nc.Write(b); err != nil {
		return err
	}
	var size [4]byte
	if _, err := io.ReadFull(c.r, size[:]); err != nil {
		return err
	}
	n := int(binary.BigEndian.Uint32(size[:]))
	if n < 4 || n > maxResponse {
		return fmt.Errorf("replica: response frame of %d bytes", n)
	}
	if cap(c.rbuf) < n {
		c.rbuf = make([]byte, n)
	}
	body := c.rbuf[:n]
	if _, err := io.ReadFull(c.r, body); err != nil {
		return err
	}
	if got := int32(binary.BigEndian.Uint32(body)); got != c.corr {
		return fmt.Errorf("replica: response correlation id %d, want %d", got, c.corr)
	}
	resp.SetVersion(req.GetVersion())
	// ReadFrom keeps slices into body (the records): callers use them
	// before the next round trip reuses the buffer.
	if err := resp.ReadFrom(body[4:]); err != nil {
		return fmt.Errorf("replica: decoding %T: %w", resp, err)
	}
	return nil
}
