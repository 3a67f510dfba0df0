package fuzz

import (
	"testing"

	"github.com/sluicelog/sluice/engine"
)

// FuzzEpochCheckpoint: the leader-epoch checkpoint a replica reads at start
// never panics its parser, whatever the file holds.
func FuzzEpochCheckpoint(f *testing.F) {
	for _, s := range []string{"0\n0\n", "0\n2\n3 0\n5 20\n", "0\n1\n1 2 3\n", "0\n99999999\n", "0\n2\n3 10\n2 20\n", ""} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		_ = engine.ParseEpochCheckpoint(raw)
	})
}
