package main

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/sluicelog/sluice/bench/perf"
)

// Limit is one physical limit of the machine, measured in the run.
type Limit struct {
	Name string `json:"name"`
	// What says what exactly was timed.
	What  string  `json:"what"`
	Bytes int64   `json:"bytes"`
	Chunk int     `json:"chunk"`
	MBps  float64 `json:"mb_per_sec"` // the median run
	// Runs are the MB/s of every run.
	Runs []float64 `json:"runs"`
}

const limitRuns = 3

// median runs f limitRuns times and keeps the median.
func median(name, what string, n int64, chunk int, f func() (time.Duration, error)) (Limit, error) {
	l := Limit{Name: name, What: what, Bytes: n, Chunk: chunk}
	for range limitRuns {
		d, err := f()
		if err != nil {
			return l, fmt.Errorf("limit %s: %w", name, err)
		}
		l.Runs = append(l.Runs, float64(n)/d.Seconds()/1e6)
	}
	s := slices.Clone(l.Runs)
	slices.Sort(s)
	l.MBps = s[len(s)/2]
	return l, nil
}

// fileWrite writes n bytes of payload to a new file in dir in chunks;
// sync 0 times the writes only, 1 adds one fdatasync at the end, 2 does an
// fdatasync after every chunk.
func fileWrite(dir string, n int64, chunk int, sync int) (time.Duration, error) {
	buf := perf.NewPayload(chunk, 7).Value(0)
	path := filepath.Join(dir, "limit-write")
	f, err := os.Create(path)
	if err != nil {
		return 0, err
	}
	defer os.Remove(path)
	defer f.Close()
	start := time.Now()
	for done := int64(0); done < n; done += int64(chunk) {
		if _, err := f.Write(buf[:min(int64(chunk), n-done)]); err != nil {
			return 0, err
		}
		if sync == 2 {
			if err := fdatasync(f); err != nil {
				return 0, err
			}
		}
	}
	if sync == 1 {
		if err := fdatasync(f); err != nil {
			return 0, err
		}
	}
	return time.Since(start), nil
}

// sink is a child process that reads and discards each connection and
// answers with the byte count.
type sink struct{ c *child }

// serveSink accepts connections, reads each to EOF and writes back the
// count as 8 bytes.
func serveSink() (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	go func() {
		buf := make([]byte, 256<<10)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			var n int64
			for {
				k, err := c.Read(buf)
				n += int64(k)
				if err != nil {
					break
				}
			}
			var out [8]byte
			binary.LittleEndian.PutUint64(out[:], uint64(n))
			c.Write(out[:])
			c.Close()
		}
	}()
	return ln.Addr().String(), func() { ln.Close() }, nil
}

// blast connects to the sink, sends n bytes with send, half-closes and
// waits for the sink's count; the time includes the sink's confirmation.
func (s sink) blast(n int64, send func(*net.TCPConn) error) (time.Duration, error) {
	c, err := net.Dial("tcp", s.c.addr)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	tc := c.(*net.TCPConn)
	start := time.Now()
	if err := send(tc); err != nil {
		return 0, err
	}
	if err := tc.CloseWrite(); err != nil {
		return 0, err
	}
	var got [8]byte
	if _, err := io.ReadFull(tc, got[:]); err != nil {
		return 0, fmt.Errorf("reading the sink's count: %w", err)
	}
	d := time.Since(start)
	if m := int64(binary.LittleEndian.Uint64(got[:])); m != n {
		return 0, fmt.Errorf("sink read %d bytes, want %d", m, n)
	}
	return d, nil
}

// measureLimits measures every limit for a volume of n bytes written in
// chunks of chunk bytes, and the fdatasync-per-chunk limit over durableN.
func measureLimits(ctx context.Context, dir string, n, durableN int64, chunk int) ([]Limit, error) {
	var out []Limit
	add := func(l Limit, err error) error {
		if err != nil {
			return err
		}
		out = append(out, l)
		return nil
	}
	cs := fmt.Sprintf("%d KiB", chunk>>10)
	if err := add(median("file write", "write(2) of "+cs+" chunks to a new file, timed to the last write (page cache)", n, chunk,
		func() (time.Duration, error) { return fileWrite(dir, n, chunk, 0) })); err != nil {
		return nil, err
	}
	if err := add(median("file write + fdatasync", "the same writes and one fdatasync at the end", n, chunk,
		func() (time.Duration, error) { return fileWrite(dir, n, chunk, 1) })); err != nil {
		return nil, err
	}
	if err := add(median("file write, fdatasync each", "write(2) of "+cs+" then fdatasync, chunk after chunk", durableN, chunk,
		func() (time.Duration, error) { return fileWrite(dir, durableN, chunk, 2) })); err != nil {
		return nil, err
	}
	sc, err := startServer(ctx, "sink", "", false)
	if err != nil {
		return nil, err
	}
	defer sc.stop()
	s := sink{sc}
	buf := perf.NewPayload(chunk, 9).Value(0)
	if err := add(median("tcp loopback", "write(2) of "+cs+" chunks to a socket, another process reads and discards; until it confirms the count", n, chunk,
		func() (time.Duration, error) {
			return s.blast(n, func(c *net.TCPConn) error {
				for done := int64(0); done < n; done += int64(chunk) {
					if _, err := c.Write(buf[:min(int64(chunk), n-done)]); err != nil {
						return err
					}
				}
				return nil
			})
		})); err != nil {
		return nil, err
	}
	// sendfile from a file that is in the page cache.
	path := filepath.Join(dir, "limit-sendfile")
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	defer os.Remove(path)
	defer f.Close()
	for done := int64(0); done < n; done += int64(chunk) {
		if _, err := f.Write(buf[:min(int64(chunk), n-done)]); err != nil {
			return nil, err
		}
	}
	if _, err := io.Copy(io.Discard, io.NewSectionReader(f, 0, n)); err != nil {
		return nil, err
	}
	if err := add(median("sendfile", "sendfile(2) of a page-cache file to a socket, another process reads and discards", n, 0,
		func() (time.Duration, error) {
			return s.blast(n, func(c *net.TCPConn) error { return sendfileAll(c, f, n) })
		})); err != nil {
		return nil, err
	}
	return out, nil
}
