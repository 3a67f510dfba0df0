package segment_test

import (
	"testing"
	"time"
)

func TestCloseIdle(t *testing.T) {
	dir := t.TempDir()
	g := newGen(11)
	var m model
	s := create(t, dir, 0, smallOpts())
	g.fill(t, s, &m, 30)
	if s.CloseIdle(time.Now().Add(time.Hour)) {
		t.Fatal("closed the files of a writable segment")
	}
	if err := s.Seal(); err != nil {
		t.Fatal(err)
	}
	checkAll(t, s, &m, 4096)

	// A held region keeps the files open.
	r, err := s.Read(m.batches[3].base, 1000, -1)
	if err != nil {
		t.Fatal(err)
	}
	if s.CloseIdle(time.Now().Add(time.Hour)) {
		t.Fatal("closed the files under a live region")
	}
	r.Release()

	// Recently used: kept; idle: closed, then reopened by the next read.
	if s.CloseIdle(time.Now().Add(-time.Hour)) {
		t.Fatal("closed a segment used within the idle window")
	}
	if !s.CloseIdle(time.Now().Add(time.Hour)) || s.HasOpenFiles() {
		t.Fatal("idle sealed segment kept its files open")
	}
	if s.CloseIdle(time.Now().Add(time.Hour)) {
		t.Fatal("second CloseIdle closed something again")
	}
	checkAll(t, s, &m, 4096)
	checkTimestamps(t, s, &m, m.tsTargets())
	if !s.HasOpenFiles() {
		t.Fatal("read did not reopen the files")
	}
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	closeSeg(t, s)
}

// TestCloseIdleRacesReaders closes a segment's files over and over while
// readers read it: under -race this checks the reference protocol.
func TestCloseIdleRacesReaders(t *testing.T) {
	dir := t.TempDir()
	g := newGen(12)
	var m model
	s := create(t, dir, 0, smallOpts())
	g.fill(t, s, &m, 40)
	if err := s.Seal(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 200; i++ {
			s.CloseIdle(time.Now().Add(time.Hour))
		}
	}()
	for i := 0; i < 20; i++ {
		checkAll(t, s, &m, 2048)
	}
	<-done
	closeSeg(t, s)
}
