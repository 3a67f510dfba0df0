package partbench

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// writeLimit measures what spreading bytes over files costs the file
// system alone, the limit beside the broker's produce across partitions:
// the workload's record batch written with write(2) to each of n files in
// turn ("across"), against the same bytes written to one file in writes of
// topicParts batches each ("one"), as the one-partition produce requests
// carry them; rounds of each, alternating. The files go in a directory of
// their own under dir, removed afterwards.
func writeLimit(dir string, n, topicParts int, rec []byte, rounds int) (across, one Flow, err error) {
	dir, err = os.MkdirTemp(dir, "writelimit-")
	if err != nil {
		return across, one, err
	}
	defer os.RemoveAll(dir)
	open := func(name string) (*os.File, error) {
		return os.OpenFile(filepath.Join(dir, name), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	}
	files := make([]*os.File, n)
	defer func() {
		for _, f := range files {
			if f != nil {
				f.Close()
			}
		}
	}()
	for i := range files {
		if files[i], err = open(strconv.Itoa(i)); err != nil {
			return across, one, fmt.Errorf("write limit: %w", err)
		}
	}
	single, err := open("one")
	if err != nil {
		return across, one, fmt.Errorf("write limit: %w", err)
	}
	defer single.Close()
	chunk := make([]byte, 0, topicParts*len(rec))
	for range topicParts {
		chunk = append(chunk, rec...)
	}
	roundBytes := int64(n * len(rec))
	for range rounds {
		t0 := time.Now()
		for _, f := range files {
			if _, err := f.Write(rec); err != nil {
				return across, one, fmt.Errorf("write limit: %w", err)
			}
		}
		across.add(time.Since(t0), n, n, roundBytes)
		t0 = time.Now()
		writes := 0
		for left := n; left > 0; left -= topicParts {
			if _, err := single.Write(chunk[:min(left, topicParts)*len(rec)]); err != nil {
				return across, one, fmt.Errorf("write limit: %w", err)
			}
			writes++
		}
		one.add(time.Since(t0), writes, n, roundBytes)
	}
	return across, one, nil
}
