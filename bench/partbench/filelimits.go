package partbench

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// fileLimits is what spreading bytes over files costs the file system
// alone: the limits beside the broker's produce and fetch across
// partitions.
type fileLimits struct {
	WriteAcross, WriteOne Flow
	ReadAcross, ReadOne   Flow
}

// measureFileLimits writes the workload's record batch with write(2) to
// each of n files in turn ("across"), against the same bytes to one file
// in writes of topicParts batches each ("one"), as the one-partition
// produce requests carry them; rounds of each, alternating. Then it reads
// them back the same way with pread(2), as the fetches do: a batch from
// each file in turn, against topicParts batches a read from the one file.
// The files go in a directory of their own under dir, removed afterwards.
func measureFileLimits(dir string, n, topicParts int, rec []byte, rounds int) (l fileLimits, err error) {
	across, one := &l.WriteAcross, &l.WriteOne
	dir, err = os.MkdirTemp(dir, "writelimit-")
	if err != nil {
		return l, err
	}
	defer os.RemoveAll(dir)
	open := func(name string) (*os.File, error) {
		return os.OpenFile(filepath.Join(dir, name), os.O_CREATE|os.O_RDWR|os.O_APPEND, 0o644)
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
			return l, fmt.Errorf("file limits: %w", err)
		}
	}
	single, err := open("one")
	if err != nil {
		return l, fmt.Errorf("file limits: %w", err)
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
				return l, fmt.Errorf("file limits: %w", err)
			}
		}
		across.add(time.Since(t0), n, n, roundBytes)
		t0 = time.Now()
		writes := 0
		for left := n; left > 0; left -= topicParts {
			if _, err := single.Write(chunk[:min(left, topicParts)*len(rec)]); err != nil {
				return l, fmt.Errorf("file limits: %w", err)
			}
			writes++
		}
		one.add(time.Since(t0), writes, n, roundBytes)
	}
	buf := make([]byte, len(chunk))
	for r := range rounds {
		t0 := time.Now()
		for _, f := range files {
			if _, err := f.ReadAt(buf[:len(rec)], int64(r*len(rec))); err != nil {
				return l, fmt.Errorf("file limits: %w", err)
			}
		}
		l.ReadAcross.add(time.Since(t0), n, n, roundBytes)
		t0 = time.Now()
		reads := 0
		for off, left := int64(r)*roundBytes, n; left > 0; left -= topicParts {
			m := min(left, topicParts) * len(rec)
			if _, err := single.ReadAt(buf[:m], off); err != nil {
				return l, fmt.Errorf("file limits: %w", err)
			}
			off += int64(m)
			reads++
		}
		l.ReadOne.add(time.Since(t0), reads, n, roundBytes)
	}
	return l, nil
}
