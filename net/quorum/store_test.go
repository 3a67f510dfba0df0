package quorum

import (
	"bytes"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	raftbench "github.com/hashicorp/raft/bench"
)

func openTestStore(t testing.TB, dir string) *Store {
	t.Helper()
	s, err := OpenStore(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func testLog(i uint64) *raft.Log {
	l := &raft.Log{Index: i, Term: i/3 + 1, Type: raft.LogCommand, Data: []byte{byte(i), 'x'}}
	if i%2 == 0 {
		l.Extensions = []byte("ext")
		l.AppendedAt = time.Unix(1_700_000_000+int64(i), int64(i)*1001).UTC()
	}
	if i%5 == 0 {
		l.Type = raft.LogConfiguration
	}
	return l
}

func sameLog(a, b *raft.Log) bool {
	return a.Index == b.Index && a.Term == b.Term && a.Type == b.Type &&
		bytes.Equal(a.Data, b.Data) && bytes.Equal(a.Extensions, b.Extensions) &&
		a.AppendedAt.Equal(b.AppendedAt)
}

func checkBounds(t *testing.T, s *Store, first, last uint64) {
	t.Helper()
	f, err := s.FirstIndex()
	if err != nil || f != first {
		t.Fatalf("FirstIndex = %d, %v; want %d", f, err, first)
	}
	l, err := s.LastIndex()
	if err != nil || l != last {
		t.Fatalf("LastIndex = %d, %v; want %d", l, err, last)
	}
}

// TestStoreEmpty: what raft expects of a store it has never written.
func TestStoreEmpty(t *testing.T) {
	s := openTestStore(t, t.TempDir())
	defer s.Close()
	checkBounds(t, s, 0, 0)
	var l raft.Log
	if err := s.GetLog(1, &l); !errors.Is(err, raft.ErrLogNotFound) {
		t.Fatalf("GetLog on empty store: %v, want ErrLogNotFound", err)
	}
	// raft compares the text, not the value.
	if _, err := s.Get([]byte("CurrentTerm")); err == nil || err.Error() != "not found" {
		t.Fatalf(`Get of a missing key: %v, want "not found"`, err)
	}
	if v, err := s.GetUint64([]byte("CurrentTerm")); err == nil || err.Error() != "not found" || v != 0 {
		t.Fatalf(`GetUint64 of a missing key: %d, %v, want 0, "not found"`, v, err)
	}
	if err := s.DeleteRange(1, 10); err != nil {
		t.Fatalf("DeleteRange on empty store: %v", err)
	}
}

func TestStoreLogs(t *testing.T) {
	dir := t.TempDir()
	s := openTestStore(t, dir)
	if err := s.StoreLog(testLog(1)); err != nil {
		t.Fatal(err)
	}
	var batch []*raft.Log
	for i := uint64(2); i <= 20; i++ {
		batch = append(batch, testLog(i))
	}
	if err := s.StoreLogs(batch); err != nil {
		t.Fatal(err)
	}
	checkBounds(t, s, 1, 20)
	for i := uint64(1); i <= 20; i++ {
		var got raft.Log
		if err := s.GetLog(i, &got); err != nil {
			t.Fatalf("GetLog(%d): %v", i, err)
		}
		if want := testLog(i); !sameLog(&got, want) {
			t.Fatalf("GetLog(%d) = %+v, want %+v", i, got, want)
		}
	}

	// raft deletes a prefix after snapshots and a suffix on conflicts.
	if err := s.DeleteRange(1, 5); err != nil {
		t.Fatal(err)
	}
	checkBounds(t, s, 6, 20)
	if err := s.DeleteRange(15, math.MaxUint64); err != nil {
		t.Fatal(err)
	}
	checkBounds(t, s, 6, 14)
	var l raft.Log
	for _, i := range []uint64{1, 5, 15, 20} {
		if err := s.GetLog(i, &l); !errors.Is(err, raft.ErrLogNotFound) {
			t.Fatalf("GetLog(%d) after delete: %v", i, err)
		}
	}
	// Overwriting an index replaces the entry.
	repl := &raft.Log{Index: 14, Term: 99, Type: raft.LogNoop}
	if err := s.StoreLog(repl); err != nil {
		t.Fatal(err)
	}

	// Everything survives a reopen.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openTestStore(t, dir)
	defer s.Close()
	checkBounds(t, s, 6, 14)
	if err := s.GetLog(14, &l); err != nil || !sameLog(&l, repl) {
		t.Fatalf("GetLog(14) after reopen = %+v, %v; want %+v", l, err, repl)
	}
	if err := s.GetLog(6, &l); err != nil || !sameLog(&l, testLog(6)) {
		t.Fatalf("GetLog(6) after reopen = %+v, %v", l, err)
	}
}

func TestStoreStable(t *testing.T) {
	dir := t.TempDir()
	s := openTestStore(t, dir)
	if err := s.Set([]byte("LastVoteCand"), []byte("node-2")); err != nil {
		t.Fatal(err)
	}
	if err := s.SetUint64([]byte("CurrentTerm"), 42); err != nil {
		t.Fatal(err)
	}
	// A stable key never collides with a log index.
	if err := s.StoreLog(testLog(7)); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = openTestStore(t, dir)
	defer s.Close()
	if v, err := s.Get([]byte("LastVoteCand")); err != nil || string(v) != "node-2" {
		t.Fatalf("Get = %q, %v", v, err)
	}
	if v, err := s.GetUint64([]byte("CurrentTerm")); err != nil || v != 42 {
		t.Fatalf("GetUint64 = %d, %v", v, err)
	}
	checkBounds(t, s, 7, 7)
}

func TestLogEncoding(t *testing.T) {
	cases := []*raft.Log{
		{},
		{Index: math.MaxUint64, Term: math.MaxUint64, Type: raft.LogBarrier},
		{Index: 1, Term: 1, Data: bytes.Repeat([]byte("d"), 1000), Extensions: []byte{0}},
		{Index: 3, AppendedAt: time.Unix(-5, 999_999_999)},
		{Index: 4, AppendedAt: time.Now()},
	}
	for _, l := range cases {
		b := appendLog(nil, l)
		got, err := decodeLog(b)
		if err != nil {
			t.Fatalf("decodeLog(appendLog(%+v)): %v", l, err)
		}
		if !sameLog(&got, l) {
			t.Fatalf("round trip: got %+v, want %+v", got, l)
		}
		// Any single flipped bit is caught, by the checksum or the framing.
		for i := range b {
			c := bytes.Clone(b)
			c[i] ^= 0x10
			if _, err := decodeLog(c); err == nil {
				t.Fatalf("decodeLog accepted %x with byte %d flipped", c, i)
			}
		}
		if _, err := decodeLog(b[:len(b)-1]); err == nil {
			t.Fatalf("decodeLog accepted a truncated entry")
		}
	}
}

func benchStore(b *testing.B, f func(*testing.B, raft.LogStore)) {
	s := openTestStore(b, b.TempDir())
	defer s.Close()
	f(b, s)
}

func BenchmarkStoreFirstIndex(b *testing.B) { benchStore(b, raftbench.FirstIndex) }
func BenchmarkStoreLastIndex(b *testing.B)  { benchStore(b, raftbench.LastIndex) }
func BenchmarkStoreGetLog(b *testing.B)     { benchStore(b, raftbench.GetLog) }
func BenchmarkStoreStoreLog(b *testing.B)   { benchStore(b, raftbench.StoreLog) }
func BenchmarkStoreStoreLogs(b *testing.B)  { benchStore(b, raftbench.StoreLogs) }

func BenchmarkAppendLog(b *testing.B) {
	l := &raft.Log{Index: 123456, Term: 7, Type: raft.LogCommand, Data: make([]byte, 200), AppendedAt: time.Now()}
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	b.SetBytes(int64(len(appendLog(nil, l))))
	for b.Loop() {
		buf = appendLog(buf[:0], l)
	}
}
