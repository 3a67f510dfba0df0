package latbench

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"golang.org/x/sys/unix"
)

// chunkLimit is the durable limit of the disk for a chunk size: write(2)
// of size bytes then fdatasync(2), chunk after chunk into a new file, as
// an application that syncs every write would; MB/s of 10^6 bytes.
func chunkLimit(dir string, size, total int) (float64, error) {
	f, err := os.CreateTemp(dir, "chunk-limit-*")
	if err != nil {
		return 0, fmt.Errorf("chunk limit: %w", err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	buf := filler(size)
	start := time.Now()
	for n := 0; n < total; n += size {
		if _, err := f.Write(buf); err != nil {
			return 0, fmt.Errorf("chunk limit: write: %w", err)
		}
		if err := unix.Fdatasync(int(f.Fd())); err != nil {
			return 0, fmt.Errorf("chunk limit: fdatasync: %w", err)
		}
	}
	return float64(total) / time.Since(start).Seconds() / 1e6, nil
}

// syncLatency is what one fdatasync costs a lone writer: n appends of size
// bytes to a new file, each followed by fdatasync, gap apart (as records
// that arrive at 1/gap a second find the disk idle), timed from the
// write to the sync's return. It returns the p50 and p99 in milliseconds.
func syncLatency(dir string, size, n int, gap time.Duration) (p50, p99 float64, err error) {
	f, err := os.CreateTemp(dir, "sync-latency-*")
	if err != nil {
		return 0, 0, fmt.Errorf("sync latency: %w", err)
	}
	defer os.Remove(filepath.Clean(f.Name()))
	defer f.Close()
	buf := filler(size)
	lat := make([]time.Duration, 0, n)
	next := time.Now()
	for range n {
		next = next.Add(gap)
		if d := time.Until(next); d > 0 {
			time.Sleep(d)
		}
		t0 := time.Now()
		if _, err := f.Write(buf); err != nil {
			return 0, 0, fmt.Errorf("sync latency: write: %w", err)
		}
		if err := unix.Fdatasync(int(f.Fd())); err != nil {
			return 0, 0, fmt.Errorf("sync latency: fdatasync: %w", err)
		}
		lat = append(lat, time.Since(t0))
	}
	slices.Sort(lat)
	q := func(p float64) float64 {
		return float64(lat[min(int(p*float64(len(lat))), len(lat)-1)]) / 1e6
	}
	return q(0.50), q(0.99), nil
}

func filler(size int) []byte {
	b := make([]byte, size)
	for i := range b {
		b[i] = 'A' + byte(i%26)
	}
	return b
}
