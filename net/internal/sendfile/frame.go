package sendfile

import (
	"fmt"
	"io"
	"net"
	"os"
)

// Region is a run of bytes of a file: Len bytes from Pos.
type Region struct {
	File     *os.File
	Pos, Len int64
}

// smallRegion is the largest region WriteFrame reads into memory instead
// of sending with sendfile: a fetch across thousands of partitions, each
// with a record or two, would otherwise cost two socket calls per
// partition (the framing before it with MSG_MORE, then its sendfile),
// each dearer than the pread that now gathers it with its neighbours into
// one write.
const smallRegion = 16 << 10

// maxGather bounds the bytes gathered before they are written: a fetch of
// many small regions is sent in writes of about this much.
const maxGather = 256 << 10

// Writer writes fetch responses (WriteFrame) on one connection. It keeps
// the buffer small regions are gathered in from one response to the
// next, so it is not safe for concurrent use: one per connection.
type Writer struct {
	gather []byte
}

// WriteFrame writes a response frame whose record bytes live in files:
// frame holds everything else, and region(i) is sent just before
// frame[at[i]:], for each i in order (at ascending). The caller sets the
// connection's write deadline.
//
// Regions of up to smallRegion bytes are read (pread) into a buffer
// together with the framing around them and written in one go; larger
// ones are sent with sendfile. What is gathered before a sendfile is
// written with MSG_MORE, so the kernel holds it back and sends it in one
// segment with the region's first bytes: a fetch's framing costs no small
// segment of its own, and the reader no wake-up for it. The region's
// sendfile pushes what was held.
func (w *Writer) WriteFrame(nc net.Conn, frame []byte, at []int, region func(i int) Region) error {
	buf := w.gather[:0]
	defer func() {
		if cap(buf) <= 4*maxGather {
			w.gather = buf[:0]
		}
	}()
	prev := 0
	for i, cut := range at {
		r := region(i)
		buf = append(buf, frame[prev:cut]...)
		prev = cut
		switch {
		case r.Len <= 0:
		case r.Len <= smallRegion:
			var err error
			if buf, err = appendRegion(buf, r); err != nil {
				return err
			}
		default:
			if len(buf) > 0 {
				if err := writeMore(nc, buf); err != nil {
					return err
				}
				buf = buf[:0]
			}
			if err := Send(nc, r.File, r.Pos, r.Len); err != nil {
				return err
			}
		}
		if len(buf) >= maxGather {
			if err := writeMore(nc, buf); err != nil {
				return err
			}
			buf = buf[:0]
		}
	}
	buf = append(buf, frame[prev:]...)
	if len(buf) > 0 {
		if _, err := nc.Write(buf); err != nil {
			return err
		}
	}
	return nil
}

// appendRegion appends r's bytes, read with pread (never the file's
// shared offset), to buf.
func appendRegion(buf []byte, r Region) ([]byte, error) {
	n := len(buf)
	buf = append(buf, make([]byte, r.Len)...)
	m, err := r.File.ReadAt(buf[n:], r.Pos)
	if int64(m) == r.Len {
		return buf, nil
	}
	if err == nil || err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return buf[:n], fmt.Errorf("read region: file ended %d bytes early: %w", r.Len-int64(m), err)
}
