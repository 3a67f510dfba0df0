package quorum

import (
	"bytes"
	"encoding/binary"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

// FuzzDecodeLog: decodeLog never panics, and whatever it accepts re-encodes
// to the same bytes (the encoding is canonical).
func FuzzDecodeLog(f *testing.F) {
	f.Add(appendLog(nil, &raft.Log{}))
	f.Add(appendLog(nil, &raft.Log{Index: 9, Term: 2, Type: raft.LogCommand, Data: []byte("cmd"), Extensions: []byte("e"), AppendedAt: time.Unix(1, 2)}))
	f.Add([]byte{1, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		l, err := decodeLog(b)
		if err != nil {
			return
		}
		if again := appendLog(nil, &l); !bytes.Equal(again, b) {
			t.Fatalf("decodeLog(%x) = %+v re-encodes as %x", b, l, again)
		}
	})
}

// FuzzReadHello: readHello never panics, never reads past the hello, and
// what it accepts re-encodes to the bytes it consumed.
func FuzzReadHello(f *testing.F) {
	for _, h := range []hello{
		{Kind: kindRaft, NodeID: 1, ClusterID: "MkU3OEVBNTcwNTJENDM2Qk", Voters: "1@127.0.0.1:9301,2@127.0.0.1:9302"},
		{Kind: kindCall, NodeID: -1},
	} {
		b, err := h.append(nil)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("SLQR\x01\x01\x00\x00\x00\x01\xff\xff"))
	f.Fuzz(func(t *testing.T, b []byte) {
		r := bytes.NewReader(b)
		h, err := readHello(r)
		if err != nil {
			return
		}
		consumed := b[:len(b)-r.Len()]
		again, err := h.append(nil)
		if err != nil {
			t.Fatalf("accepted hello %+v does not encode: %v", h, err)
		}
		if !bytes.Equal(again, consumed) {
			t.Fatalf("readHello(%x) = %+v re-encodes as %x", consumed, h, again)
		}
	})
}

// FuzzCallFrames: the leader-call decoders never panic and round-trip.
func FuzzCallFrames(f *testing.F) {
	f.Add((&callRequest{Op: opPropose, TimeoutMs: 500, Payload: []byte("x")}).frame()[4:])
	f.Add((&callResponse{Status: statusOK, Index: 7, Payload: []byte("r")}).frame()[4:])
	f.Fuzz(func(t *testing.T, b []byte) {
		if req, err := decodeCallRequest(b); err == nil {
			if again := req.frame()[4:]; !bytes.Equal(again, b) {
				t.Fatalf("request %x re-encodes as %x", b, again)
			}
		}
		if resp, err := decodeCallResponse(b); err == nil {
			if again := resp.frame()[4:]; !bytes.Equal(again, b) {
				t.Fatalf("response %x re-encodes as %x", b, again)
			}
		}
		if len(b) > 0xffff {
			return
		}
		framed := append([]byte{0, 0, byte(len(b) >> 8), byte(len(b))}, b...)
		if got, err := readFrame(bytes.NewReader(framed), 1<<16); err == nil && !bytes.Equal(got, b) {
			t.Fatalf("readFrame = %x, want %x", got, b)
		}
	})
}

// FuzzSnapshotRestore: a snapshot read from disk or sent by the leader is
// refused or restored, never a panic; a restored one hands the state
// machine exactly the bytes after its header, and sets the applied index
// the header names.
func FuzzSnapshotRestore(f *testing.F) {
	f.Add(append([]byte{snapshotVersion, 0, 0, 0, 0, 0, 0, 0, 7}, "a\nb"...))
	f.Add([]byte{snapshotVersion})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		sm := &listSM{}
		fs := newFSM(sm)
		if err := fs.Restore(io.NopCloser(bytes.NewReader(b))); err != nil {
			return
		}
		if got := strings.Join(sm.list(), "\n"); got != string(b[9:]) {
			t.Fatalf("state machine got %q from %x", got, b)
		}
		if fs.appliedIndex() != binary.BigEndian.Uint64(b[1:9]) {
			t.Fatalf("applied index %d from %x", fs.appliedIndex(), b)
		}
	})
}
