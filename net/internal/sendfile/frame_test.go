package sendfile

import (
	"bytes"
	"io"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// pair returns the two ends of a loopback TCP connection.
func pair(t *testing.T) (*net.TCPConn, *net.TCPConn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	w, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	r := <-accepted
	if r == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { w.Close(); r.Close() })
	return w.(*net.TCPConn), r.(*net.TCPConn)
}

func tempFile(t *testing.T, data []byte) *os.File {
	t.Helper()
	path := filepath.Join(t.TempDir(), "segment.log")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// TestWriteFrame checks that the pieces and regions arrive whole and in
// order, whatever mix of empty regions, empty pieces and trailing bytes a
// frame has: bytes held back by MSG_MORE must always be pushed.
func TestWriteFrame(t *testing.T) {
	file := make([]byte, 300<<10)
	for i := range file {
		file[i] = byte(i * 7)
	}
	f := tempFile(t, file)
	frame := []byte("0123456789abcdefghij")
	var fw Writer // one for every case, as a connection keeps one
	for _, tc := range []struct {
		name    string
		at      []int
		regions []Region
	}{
		{"one region at the end", []int{20}, []Region{{f, 5, 1000}}},
		{"regions between pieces", []int{4, 9, 15}, []Region{{f, 0, 100}, {f, 100 << 10, 200 << 10}, {f, 7, 1}}},
		{"an empty region last", []int{20}, []Region{{f, 0, 0}}},
		{"an empty region between pieces", []int{3, 10}, []Region{{f, 0, 0}, {f, 11, 64}}},
		{"regions back to back", []int{6, 6, 20}, []Region{{f, 1, 10}, {f, 50, 10}, {f, 0, 0}}},
		{"no regions", nil, nil},
		{"small, large, small", []int{2, 5, 19}, []Region{{f, 3, 500}, {f, 10, 100 << 10}, {f, 1 << 10, 16 << 10}}},
		{"small regions past the gathering bound", []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20},
			[]Region{{f, 0, 16 << 10}, {f, 1, 16 << 10}, {f, 2, 16 << 10}, {f, 3, 16 << 10}, {f, 4, 16 << 10}, {f, 5, 16 << 10},
				{f, 6, 16 << 10}, {f, 7, 16 << 10}, {f, 8, 16 << 10}, {f, 9, 16 << 10}, {f, 10, 16 << 10}, {f, 11, 16 << 10},
				{f, 12, 16 << 10}, {f, 13, 16 << 10}, {f, 14, 16 << 10}, {f, 15, 16 << 10}, {f, 16, 16 << 10}, {f, 17, 16 << 10},
				{f, 18, 16 << 10}, {f, 19, 16<<10 + 1}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, r := pair(t)
			var want bytes.Buffer
			prev := 0
			for i, cut := range tc.at {
				want.Write(frame[prev:cut])
				reg := tc.regions[i]
				want.Write(file[reg.Pos : reg.Pos+reg.Len])
				prev = cut
			}
			want.Write(frame[prev:])
			errc := make(chan error, 1)
			go func() {
				errc <- fw.WriteFrame(w, frame, tc.at, func(i int) Region { return tc.regions[i] })
			}()
			// Read exactly what was sent, without the writer closing: a
			// piece held back and never pushed shows as a timeout.
			got := make([]byte, want.Len())
			r.SetReadDeadline(time.Now().Add(10 * time.Second))
			if _, err := io.ReadFull(r, got); err != nil {
				t.Fatalf("read %d bytes: %v", want.Len(), err)
			}
			if err := <-errc; err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want.Bytes()) {
				t.Fatalf("got %d bytes that differ from the %d sent", len(got), want.Len())
			}
		})
	}
}

// TestWriteFrameFileEndsEarly: a region past the file's end is an error,
// not a short frame the peer waits on forever, whether it is read into
// memory or sent with sendfile.
func TestWriteFrameFileEndsEarly(t *testing.T) {
	f := tempFile(t, make([]byte, 100<<10))
	for _, r := range []Region{{f, 50 << 10, 20 << 10}, {f, 90 << 10, 20 << 10}, {f, 100<<10 - 10, 100}} {
		w, _ := pair(t)
		var fw Writer
		err := fw.WriteFrame(w, []byte("head"), []int{4}, func(int) Region { return r })
		if r.Pos+r.Len <= 100<<10 {
			if err != nil {
				t.Fatalf("region %d+%d inside the file: %v", r.Pos, r.Len, err)
			}
			continue
		}
		if err == nil {
			t.Fatalf("WriteFrame of region %d+%d past the end of the file succeeded", r.Pos, r.Len)
		}
	}
}
