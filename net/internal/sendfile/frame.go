package sendfile

import (
	"net"
	"os"
)

// Region is a run of bytes of a file: Len bytes from Pos.
type Region struct {
	File     *os.File
	Pos, Len int64
}

// WriteFrame writes a response frame whose record bytes live in files:
// frame holds everything else, and region(i) is sent just before
// frame[at[i]:], for each i in order (at ascending). The caller sets the
// connection's write deadline.
//
// Each piece of frame that a non-empty region follows is written with
// MSG_MORE, so the kernel holds it back and sends it in one segment with
// the region's first bytes: a fetch's framing costs no small segment of its
// own, and the reader no wake-up for it. The region's sendfile pushes what
// was held. Empty pieces are not written.
func WriteFrame(nc net.Conn, frame []byte, at []int, region func(i int) Region) error {
	prev := 0
	for i, cut := range at {
		r := region(i)
		if head := frame[prev:cut]; len(head) > 0 {
			var err error
			if r.Len > 0 {
				err = writeMore(nc, head)
			} else {
				_, err = nc.Write(head)
			}
			if err != nil {
				return err
			}
		}
		if r.Len > 0 {
			if err := Send(nc, r.File, r.Pos, r.Len); err != nil {
				return err
			}
		}
		prev = cut
	}
	if prev < len(frame) {
		_, err := nc.Write(frame[prev:])
		return err
	}
	return nil
}
