package fuzz

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/sluicelog/sluice/engine"
)

// FuzzOffsetValue feeds arbitrary bytes to the decoder of stored group
// offsets (what the engine reads back from pebble): nothing may panic,
// every failure wraps ErrCorruptOffset, and what decodes encodes back to
// the same bytes.
func FuzzOffsetValue(f *testing.F) {
	f.Add(engine.AppendOffsetValue(nil, engine.CommittedOffset{Offset: 42, LeaderEpoch: -1, Metadata: "m", CommitTime: time.UnixMilli(1_700_000_000_000)}))
	f.Add([]byte{})
	f.Add([]byte{1})
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := engine.DecodeOffsetValue(data)
		if err != nil {
			if !errors.Is(err, engine.ErrCorruptOffset) {
				t.Fatalf("error %v does not wrap ErrCorruptOffset", err)
			}
			return
		}
		if again := engine.AppendOffsetValue(nil, c); !bytes.Equal(again, data) {
			t.Fatalf("re-encoding differs:\n%x\n%x", data, again)
		}
	})
}
