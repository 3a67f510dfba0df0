package engine_test

import (
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/sluicelog/sluice/engine"
	"github.com/sluicelog/sluice/segment/batch"
)

// segmentBases lists the base offsets of a partition's segment files.
func segmentBases(t *testing.T, dir, topic string) []int64 {
	t.Helper()
	var out []int64
	for _, f := range segmentFiles(t, dir, topic, 0) {
		n, err := strconv.ParseInt(strings.TrimSuffix(filepath.Base(f), ".log"), 10, 64)
		if err != nil {
			t.Fatalf("segment file %s: %v", f, err)
		}
		out = append(out, n)
	}
	return out
}

// appendBatches appends n batches of 5 records each.
func appendBatches(t *testing.T, p *engine.Partition, prefix string, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		if _, err := p.Append(buildBatch(t, batch.None, fmt.Sprintf("%s%d", prefix, i), 5, 1000)); err != nil {
			t.Fatal(err)
		}
	}
}

// checkLogStart asserts the log start everywhere a client sees it: the
// accessor, ListOffsets earliest, and reads on either side of it. It
// returns the records from the log start on.
func checkLogStart(t *testing.T, p *engine.Partition, want int64) []record {
	t.Helper()
	if got := p.LogStartOffset(); got != want {
		t.Fatalf("log start %d, want %d", got, want)
	}
	if got, err := p.ListOffset(engine.Earliest); err != nil || got != want {
		t.Fatalf("ListOffset(earliest) = %d, %v; want %d", got, err, want)
	}
	if want > 0 {
		if _, err := p.Read(want-1, 1<<20); !errors.Is(err, engine.ErrOffsetOutOfRange) {
			t.Fatalf("read at %d below the log start: %v, want ErrOffsetOutOfRange", want-1, err)
		}
	}
	return readAll(t, p, want)
}

func TestDeleteRecordsBefore(t *testing.T) {
	dir := t.TempDir()
	e := openEngine(t, dir, engine.Options{RetentionCheckInterval: -1})
	if err := e.CreateTopic("t", 1, map[string]string{"segment.bytes": "400"}); err != nil {
		t.Fatal(err)
	}
	p, _ := e.Partition("t", 0)
	appendBatches(t, p, "a", 10) // offsets 0..49
	before := segmentBases(t, dir, "t")
	if len(before) < 4 {
		t.Fatalf("want several segments to delete from, have %v", before)
	}

	start, err := p.DeleteRecordsBefore(23)
	if err != nil || start != 23 {
		t.Fatalf("DeleteRecordsBefore(23) = %d, %v", start, err)
	}
	if recs := checkLogStart(t, p, 23); len(recs) == 0 || recs[0].offset > 23 || recs[len(recs)-1].offset != 49 {
		t.Fatalf("records from the log start 23: %v", recs)
	}
	for _, b := range segmentBases(t, dir, "t") {
		if next := nextBase(before, b); next >= 0 && next <= 23 {
			t.Fatalf("segment %d lies wholly below the log start 23 but is still on disk (%v)", b, segmentBases(t, dir, "t"))
		}
	}
	if got := segmentBases(t, dir, "t"); got[0] > 23 {
		t.Fatalf("segment holding offset 23 deleted: %v", got)
	}

	// Backwards is no change; out of range is refused and changes nothing.
	if start, err := p.DeleteRecordsBefore(10); err != nil || start != 23 {
		t.Fatalf("DeleteRecordsBefore(10) = %d, %v; want 23, nil", start, err)
	}
	for _, bad := range []int64{51, -2, -100} {
		if start, err := p.DeleteRecordsBefore(bad); !errors.Is(err, engine.ErrOffsetOutOfRange) || start != 23 {
			t.Fatalf("DeleteRecordsBefore(%d) = %d, %v; want 23, ErrOffsetOutOfRange", bad, start, err)
		}
	}
	checkLogStart(t, p, 23)

	// -1 is the high watermark: everything goes, appends carry on.
	if start, err := p.DeleteRecordsBefore(engine.Latest); err != nil || start != 50 {
		t.Fatalf("DeleteRecordsBefore(-1) = %d, %v; want 50", start, err)
	}
	checkLogStart(t, p, 50)
	if b, err := p.ReadBytes(nil, 50, 1<<20); err != nil || len(b) != 0 {
		t.Fatalf("read at the high watermark after deleting everything: %d bytes, %v", len(b), err)
	}
	appendBatches(t, p, "b", 1)
	if recs := readAll(t, p, 50); len(recs) != 5 || recs[0].value != "b0-0" {
		t.Fatalf("records after deleting all: %v", recs)
	}
}

// nextBase is the base following b in bases, -1 for the last.
func nextBase(bases []int64, b int64) int64 {
	for i, x := range bases {
		if x == b && i+1 < len(bases) {
			return bases[i+1]
		}
	}
	return -1
}

// A log start inside a segment survives a clean restart, and retention
// that runs after it never moves it back.
func TestDeleteRecordsSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	e, err := engine.Open(dir, engine.Options{RetentionCheckInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.CreateTopic("t", 1, map[string]string{"segment.bytes": "400", "retention.ms": "-1", "retention.bytes": "100000"}); err != nil {
		t.Fatal(err)
	}
	p, _ := e.Partition("t", 0)
	appendBatches(t, p, "a", 10)
	if _, err := p.DeleteRecordsBefore(27); err != nil {
		t.Fatal(err)
	}
	if _, err := p.EnforceRetention(); err != nil {
		t.Fatal(err)
	}
	checkLogStart(t, p, 27)
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}

	e = openEngine(t, dir, engine.Options{RetentionCheckInterval: -1})
	p, err = e.Partition("t", 0)
	if err != nil {
		t.Fatal(err)
	}
	checkLogStart(t, p, 27)
	if p.LogEndOffset() != 50 {
		t.Fatalf("log end %d after restart, want 50", p.LogEndOffset())
	}
	if _, err := p.ListOffset(0); err != nil {
		t.Fatal(err)
	}
	if off, _ := p.ListOffset(0); off != 27 {
		t.Fatalf("ListOffset by time 0 = %d, want the log start 27", off)
	}
}

// Deleting the topic forgets its log start: a new topic of the same name
// starts at 0.
func TestDeleteRecordsForgottenWithTopic(t *testing.T) {
	dir := t.TempDir()
	e := openEngine(t, dir, engine.Options{RetentionCheckInterval: -1})
	if err := e.CreateTopic("t", 1, nil); err != nil {
		t.Fatal(err)
	}
	p, _ := e.Partition("t", 0)
	appendBatches(t, p, "a", 2)
	if _, err := p.DeleteRecordsBefore(7); err != nil {
		t.Fatal(err)
	}
	if err := e.DeleteTopic("t"); err != nil {
		t.Fatal(err)
	}
	if err := e.CreateTopic("t", 1, nil); err != nil {
		t.Fatal(err)
	}
	p, _ = e.Partition("t", 0)
	appendBatches(t, p, "b", 2)
	checkLogStart(t, p, 0)
}

// A topic that only compacts refuses DeleteRecords, as Kafka does (its
// log keeps every key's newest record); on one that compacts and deletes
// the log start moves, and cleaning keeps it.
func TestDeleteRecordsCompacted(t *testing.T) {
	dir := t.TempDir()
	e, err := engine.Open(dir, engine.Options{RetentionCheckInterval: -1, CleanerDisabled: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.CreateTopic("only", 1, map[string]string{"cleanup.policy": "compact"}); err != nil {
		t.Fatal(err)
	}
	only, _ := e.Partition("only", 0)
	appendBatches(t, only, "a", 2)
	if start, err := only.DeleteRecordsBefore(3); !errors.Is(err, engine.ErrPolicyViolation) || start != 0 {
		t.Fatalf("DeleteRecordsBefore on a compact-only topic = %d, %v; want 0, ErrPolicyViolation", start, err)
	}
	checkLogStart(t, only, 0)
	if err := e.CreateTopic("c", 1, map[string]string{"cleanup.policy": "compact,delete", "segment.bytes": "400"}); err != nil {
		t.Fatal(err)
	}
	p, _ := e.Partition("c", 0)
	appendBatches(t, p, "a", 10) // keys k0..k4 again and again
	if start, err := p.DeleteRecordsBefore(33); err != nil || start != 33 {
		t.Fatalf("DeleteRecordsBefore(33) = %d, %v", start, err)
	}
	if _, err := p.Clean(); err != nil {
		t.Fatal(err)
	}
	// The newest record of each key k0..k4 survives cleaning.
	recs := checkLogStart(t, p, 33)
	if len(recs) < 5 || recs[len(recs)-5].offset != 45 || recs[len(recs)-1].offset != 49 {
		t.Fatalf("compacted records from the log start 33: %v", recs)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	e = openEngine(t, dir, engine.Options{RetentionCheckInterval: -1, CleanerDisabled: true})
	p, _ = e.Partition("c", 0)
	checkLogStart(t, p, 33)
}

// A follower takes its leader's log start, never past its own high
// watermark; a client may not delete past it either.
func TestFollowLogStart(t *testing.T) {
	dir := t.TempDir()
	e := openEngine(t, dir, engine.Options{Replicated: true, RetentionCheckInterval: -1})
	if err := e.CreateTopic("t", 1, map[string]string{"segment.bytes": "400"}); err != nil {
		t.Fatal(err)
	}
	p, _ := e.Partition("t", 0)
	appendBatches(t, p, "a", 6) // 30 records, none committed yet
	if _, err := p.DeleteRecordsBefore(5); !errors.Is(err, engine.ErrOffsetOutOfRange) {
		t.Fatalf("delete past the high watermark 0: %v", err)
	}
	p.SetHighWatermark(20)
	if start, err := p.FollowLogStart(25); err != nil || start != 20 {
		t.Fatalf("FollowLogStart(25) with high watermark 20 = %d, %v; want 20", start, err)
	}
	if start, err := p.FollowLogStart(3); err != nil || start != 20 {
		t.Fatalf("FollowLogStart(3) = %d, %v; want 20 (never back)", start, err)
	}
	checkLogStart(t, p, 20)
}
