package protocol

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"testing"
	"testing/iotest"
)

func TestReadFrame(t *testing.T) {
	var stream []byte
	stream = AppendRequestFrame(stream, 1, &MetadataRequest{Topics: []string{"a"}})
	stream = AppendRequestFrame(stream, 2, &APIVersionsRequest{})
	stream = append(stream, 0, 0, 0, 0) // an empty frame is a frame
	// One byte at a time, to exercise short reads.
	r := iotest.OneByteReader(bytes.NewReader(stream))
	var buf []byte
	for i, want := range []int{8 + 4 + 2 + 1 + 1, 8, 0} {
		frame, err := ReadFrame(r, buf, 100)
		if err != nil || len(frame) != want {
			t.Fatalf("frame %d: %d bytes, %v; want %d", i, len(frame), err, want)
		}
		buf = frame
	}
	if frame, err := ReadFrame(r, buf, 100); err != io.EOF || len(frame) != 0 {
		t.Fatalf("at the end: %v, want io.EOF", err)
	}
}

func TestReadFrameErrors(t *testing.T) {
	frame := AppendRequestFrame(nil, 1, &MetadataRequest{Topics: []string{"abc"}})
	for _, tc := range []struct {
		name  string
		in    []byte
		limit int
		want  error
	}{
		{"empty stream", nil, 100, io.EOF},
		{"torn length", frame[:3], 100, io.ErrUnexpectedEOF},
		{"torn body", frame[:len(frame)-1], 100, io.ErrUnexpectedEOF},
		{"no body", frame[:LengthSize], 100, io.ErrUnexpectedEOF},
		{"too large", frame, len(frame) - LengthSize - 1, ErrFrameTooLarge},
		{"length 2^32-1", []byte{0xff, 0xff, 0xff, 0xff}, 0, ErrFrameTooLarge},
	} {
		buf := make([]byte, 10, 64)
		got, err := ReadFrame(bytes.NewReader(tc.in), buf, tc.limit)
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: err %v, want %v", tc.name, err, tc.want)
		}
		if len(got) != 0 || cap(got) < 64 {
			t.Errorf("%s: returned %d bytes, capacity %d; want empty, keeping the buffer", tc.name, len(got), cap(got))
		}
	}
	// Exactly at the limit is fine.
	if _, err := ReadFrame(bytes.NewReader(frame), nil, len(frame)-LengthSize); err != nil {
		t.Fatal(err)
	}
}

// A frame that announces a lot and sends little must not make ReadFrame
// allocate what it announced.
func TestReadFrameGrowsWithTheBytes(t *testing.T) {
	announced := []byte{0x03, 0, 0, 0} // 48 MiB
	in := append(announced, make([]byte, 1000)...)
	var err error
	n := allocated(func() { _, err = ReadFrame(bytes.NewReader(in), nil, 64<<20) })
	if err != io.ErrUnexpectedEOF {
		t.Fatal(err)
	}
	if n > 1<<20 {
		t.Fatalf("a 1000-byte stream announcing 48 MiB allocated %d bytes", n)
	}

	// A real large frame arrives whole.
	big := make([]byte, LengthSize+3<<20)
	binary.BigEndian.PutUint32(big, 3<<20)
	for i := LengthSize; i < len(big); i++ {
		big[i] = byte(i)
	}
	got, err := ReadFrame(bytes.NewReader(big), make([]byte, 0, 16), 0)
	if err != nil || !bytes.Equal(got, big[LengthSize:]) {
		t.Fatalf("large frame: %d bytes, %v", len(got), err)
	}
}

func TestReadFrameReusesBuffer(t *testing.T) {
	stream := AppendRequestFrame(nil, 1, &FetchRequest{Topics: []FetchRequestTopic{{Name: "x"}}})
	r := bytes.NewReader(stream)
	buf := make([]byte, 0, 1024)
	n := testing.AllocsPerRun(100, func() {
		r.Reset(stream)
		var err error
		if buf, err = ReadFrame(r, buf, 1024); err != nil {
			t.Fatal(err)
		}
	})
	if n != 0 {
		t.Fatalf("ReadFrame into a big enough buffer allocates %v times", n)
	}
}

func TestParseHeadersShort(t *testing.T) {
	for i := range RequestHeaderSize {
		if _, _, err := ParseRequestHeader(make([]byte, i)); !errors.Is(err, ErrMalformed) {
			t.Errorf("%d-byte request frame: %v", i, err)
		}
	}
	for i := range ResponseHeaderSize {
		if _, _, err := ParseResponseHeader(make([]byte, i)); !errors.Is(err, ErrMalformed) {
			t.Errorf("%d-byte response frame: %v", i, err)
		}
	}
}
