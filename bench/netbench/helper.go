package netbench

import (
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"time"
)

// HelperMain runs the hidden helper modes the loopback limits use when
// args (os.Args[1:]) start with -sink or -source, and returns their exit
// code and true; otherwise it returns false at once. A binary that calls
// Run must call it first thing, since Run re-executes that binary as the
// other end of the limit runs:
//
//	if code, ok := netbench.HelperMain(os.Args[1:]); ok {
//		os.Exit(code)
//	}
//
// -sink [-read-buffer N]: listen on 127.0.0.1:0, print "listen=ADDR",
// accept one connection, read and discard it with reads of N bytes until
// the peer half-closes, answer with the byte count (8 bytes, big-endian),
// print "bytes=COUNT" and exit.
//
// -source -bytes N [-chunk C] [-send-buffer B] [-file F [-copy]]: listen
// likewise, accept one connection (with SO_SNDBUF B, when B > 0), write
// N bytes to it in writes of C bytes as fast as it can, close, print
// "bytes=N" and exit. With -file the bytes are F's, sent
// with sendfile(2) from the page cache (from the start again at its end),
// as the broker sends fetched records; with -copy as well they are F's
// read (pread) into one reused buffer of C bytes and written from it, as
// a file server without sendfile would send them.
func HelperMain(args []string) (int, bool) {
	if len(args) == 0 || (args[0] != "-sink" && args[0] != "-source") {
		return 0, false
	}
	fs := flag.NewFlagSet("netbench helper", flag.ContinueOnError)
	sink := fs.Bool("sink", false, "read and discard one connection")
	source := fs.Bool("source", false, "write -bytes to one connection")
	n := fs.Int64("bytes", 0, "bytes to write (-source)")
	chunk := fs.Int("chunk", 1<<20, "write size (-source)")
	readBuf := fs.Int("read-buffer", 1<<20, "read size (-sink)")
	file := fs.String("file", "", "send this file's bytes with sendfile (-source)")
	sendBuf := fs.Int("send-buffer", 0, "SO_SNDBUF of the connection (-source); 0 for the OS's default")
	copyFile := fs.Bool("copy", false, "send -file's bytes with pread and write instead of sendfile")
	if err := fs.Parse(args); err != nil {
		return 2, true
	}
	var err error
	switch {
	case *sink:
		err = runSink(*readBuf, os.Stdout)
	case *source:
		switch {
		case *file != "":
			err = runFileSource(*file, *n, *chunk, *sendBuf, *copyFile, os.Stdout)
		default:
			err = runSource(*n, *chunk, *sendBuf, os.Stdout)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "netbench helper:", err)
		return 1, true
	}
	return 0, true
}

// acceptOne listens on a loopback port, prints it, and accepts one
// connection within a minute, with a send buffer of sndbuf bytes when that
// is positive.
func acceptOne(out io.Writer, sndbuf int) (*net.TCPConn, error) {
	ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, err
	}
	defer ln.Close()
	if _, err := fmt.Fprintf(out, "listen=%s\n", ln.Addr()); err != nil {
		return nil, err
	}
	ln.SetDeadline(time.Now().Add(time.Minute))
	c, err := ln.AcceptTCP()
	if err == nil && sndbuf > 0 {
		// As the broker sizes the connections it accepts.
		err = c.SetWriteBuffer(sndbuf)
	}
	return c, err
}

func runSink(readBuf int, out io.Writer) error {
	c, err := acceptOne(out, 0) // the sink only reads
	if err != nil {
		return err
	}
	defer c.Close()
	buf := make([]byte, max(readBuf, 1))
	var total int64
	for {
		m, err := c.Read(buf)
		total += int64(m)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
	}
	if _, err := c.Write(binary.BigEndian.AppendUint64(nil, uint64(total))); err != nil {
		return err
	}
	_, err = fmt.Fprintf(out, "bytes=%d\n", total)
	return err
}

func runSource(n int64, chunk, sndbuf int, out io.Writer) error {
	buf := randomBytes(max(chunk, 1), 2)
	c, err := acceptOne(out, sndbuf)
	if err != nil {
		return err
	}
	defer c.Close()
	var sent int64
	for sent < n {
		m, err := c.Write(buf[:min(int64(len(buf)), n-sent)])
		sent += int64(m)
		if err != nil {
			return err
		}
	}
	if err := c.Close(); err != nil {
		return err
	}
	_, err = fmt.Fprintf(out, "bytes=%d\n", sent)
	return err
}

// runFileSource is runSource with the bytes of a file, from the start
// again at its end. By default each chunk goes by TCPConn.ReadFrom, which
// uses sendfile(2) for a limited *os.File. With copyOut each chunk is read
// from the page cache with pread into one buffer and written from it, so
// this process copies the bytes out of the page cache and into the socket.
func runFileSource(path string, n int64, chunk, sndbuf int, copyOut bool, out io.Writer) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if st.Size() == 0 {
		return fmt.Errorf("%s is empty", path)
	}
	var buf []byte
	if copyOut {
		buf = make([]byte, max(chunk, 1))
	}
	c, err := acceptOne(out, sndbuf)
	if err != nil {
		return err
	}
	defer c.Close()
	var sent, pos int64
	for sent < n {
		if pos == st.Size() {
			if _, err := f.Seek(0, io.SeekStart); err != nil {
				return err
			}
			pos = 0
		}
		want := min(int64(max(chunk, 1)), n-sent, st.Size()-pos)
		var m int64
		if copyOut {
			if _, err := f.ReadAt(buf[:want], pos); err != nil {
				return fmt.Errorf("reading %s at %d: %w", path, pos, err)
			}
			var w int
			w, err = c.Write(buf[:want])
			m = int64(w)
		} else {
			// The file's own offset, which ReadFrom's sendfile advances.
			m, err = c.ReadFrom(io.LimitReader(f, want))
		}
		sent, pos = sent+m, pos+m
		if err != nil {
			return err
		}
		if m != want {
			return fmt.Errorf("sent %d of %d bytes from %s at %d", m, want, path, pos)
		}
	}
	if err := c.Close(); err != nil {
		return err
	}
	_, err = fmt.Fprintf(out, "bytes=%d\n", sent)
	return err
}

// randomBytes returns n bytes from a seeded generator: incompressible, and
// the same from run to run.
func randomBytes(n int, seed uint64) []byte {
	var key [32]byte
	binary.LittleEndian.PutUint64(key[:], seed)
	r := rand.NewChaCha8(key)
	b := make([]byte, n)
	r.Read(b)
	return b
}
