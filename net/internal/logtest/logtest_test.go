package logtest

import (
	"log/slog"
	"strconv"
	"sync"
	"testing"
	"time"
)

func TestRecorderKeepsWithAttrsAndEveryLevel(t *testing.T) {
	r := New()
	log := r.Logger("").With("at", "1")
	log.Debug("quiet", "event", "e", "n", 1)
	log.With("at", "2", "k", "v").WithGroup("g").Warn("loud", "event", "e", "n", 2)
	log.Info("plain")

	all := r.Records(nil)
	if len(all) != 3 {
		t.Fatalf("%d records: %v", len(all), all)
	}
	if got := all[0]; got.Level != slog.LevelDebug || got.Msg != "quiet" || got.Attrs["at"] != "1" || got.Attrs["n"] != "1" {
		t.Errorf("debug record: %v", got)
	}
	if got := all[1]; got.Level != slog.LevelWarn || got.Attrs["at"] != "2" || got.Attrs["k"] != "v" || got.Attrs["n"] != "2" {
		t.Errorf("warn record: %v", got)
	}
	if got := r.Records(Event("e", "at", "2")); len(got) != 1 || got[0].Msg != "loud" {
		t.Errorf("Event(e, at=2): %v", got)
	}
	if got := r.Records(Event("e")); len(got) != 2 {
		t.Errorf("Event(e): %v", got)
	}
	if got := r.Records(Event("")); len(got) != 1 || got[0].Msg != "plain" {
		t.Errorf("Event(\"\"): %v", got)
	}
	if got := r.Records(Message("quiet", "event", "e")); len(got) != 1 {
		t.Errorf("Message(quiet): %v", got)
	}
	if got := r.Records(Message("", "k", "")); len(got) != 2 {
		t.Errorf("Message(\"\", k=\"\"): %v", got)
	}
}

func TestWaitCountSeesConcurrentRecords(t *testing.T) {
	r := New()
	log := r.Logger("")
	const n = 50
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { log.Info("line", "event", "e", "i", strconv.Itoa(i)) })
	}
	if got := WaitCount(t, r, 10*time.Second, n, Event("e")); len(got) != n {
		t.Errorf("%d records, want %d", len(got), n)
	}
	wg.Wait()
	go func() {
		time.Sleep(20 * time.Millisecond)
		log.Warn("late", "event", "late")
	}()
	if got := WaitEvent(t, r, 10*time.Second, Event("late")); got.Level != slog.LevelWarn {
		t.Errorf("late record: %v", got)
	}
}

func TestAttrsPanicsOnOddPairs(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("no panic on an odd number of key, value strings")
		}
	}()
	Event("e", "key")
}
