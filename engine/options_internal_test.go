package engine

import (
	"errors"
	"math"
	"testing"
	"time"
)

// TestCleanerOptionsConfig: Open fills the cleaner's options with Kafka's
// defaults (log.cleaner.*), takes Kafka's "unlimited" I/O rate for none,
// and refuses a negative rate or a dedupe buffer too small for its
// threads.
func TestCleanerOptionsConfig(t *testing.T) {
	open := func(opts Options) (Options, error) {
		t.Helper()
		e, err := Open(t.TempDir(), opts)
		if err != nil {
			return Options{}, err
		}
		defer e.Close()
		return e.opts, nil
	}
	got, err := open(Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got.CleanerDisabled || got.CleanerThreads != 1 || got.CleanerDedupeBufferSize != 128<<20 ||
		got.CleanerIOMaxBytesPerSecond != 0 || got.CleanerBackoff != 15*time.Second {
		t.Fatalf("defaults: threads %d, dedupe %d, io %v, backoff %v, disabled %v", got.CleanerThreads,
			got.CleanerDedupeBufferSize, got.CleanerIOMaxBytesPerSecond, got.CleanerBackoff, got.CleanerDisabled)
	}

	set := Options{CleanerDisabled: true, CleanerThreads: 4, CleanerDedupeBufferSize: 64 << 20,
		CleanerIOMaxBytesPerSecond: 10 << 20, CleanerBackoff: time.Second}
	if got, err = open(set); err != nil {
		t.Fatal(err)
	}
	if !got.CleanerDisabled || got.CleanerThreads != 4 || got.CleanerDedupeBufferSize != 64<<20 ||
		got.CleanerIOMaxBytesPerSecond != 10<<20 || got.CleanerBackoff != time.Second {
		t.Fatalf("set: %+v", got)
	}

	for _, unlimited := range []float64{math.MaxFloat64, math.Inf(1)} {
		if got, err = open(Options{CleanerIOMaxBytesPerSecond: unlimited}); err != nil || got.CleanerIOMaxBytesPerSecond != 0 {
			t.Errorf("io %v: %v, %v, want 0 (no limit)", unlimited, got.CleanerIOMaxBytesPerSecond, err)
		}
	}

	for name, bad := range map[string]Options{
		"negative io":           {CleanerIOMaxBytesPerSecond: -1},
		"NaN io":                {CleanerIOMaxBytesPerSecond: math.NaN()},
		"small dedupe":          {CleanerDedupeBufferSize: 1 << 19},
		"small share":           {CleanerThreads: 200},
		"small share, explicit": {CleanerThreads: 3, CleanerDedupeBufferSize: 3<<20 - 1},
	} {
		if _, err := open(bad); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%s: %v, want ErrInvalidConfig", name, err)
		}
	}
}
