package engine

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// epochFile is the leader-epoch checkpoint in a partition's directory
// (Kafka's leader-epoch-checkpoint, same text format): which leader epoch
// wrote the log from which offset on.
const epochFile = "leader-epoch-checkpoint"

// epochEntry says that leader epoch Epoch wrote the log from StartOffset
// until the next entry's start (or the log end).
type epochEntry struct {
	Epoch       int32
	StartOffset int64
}

// epochCache is a partition's leader-epoch history, ascending in both
// epoch and start offset. It is guarded by Partition.mu for writes;
// readers take epochMu. Every change is written to the checkpoint before
// the log holds a batch of the new epoch, so after a crash the file knows
// every epoch in the log; entries past the log end are trimmed at open.
type epochCache struct {
	path    string
	entries []epochEntry
}

// loadEpochs reads the checkpoint of dir; a missing file is an empty
// history. A damaged one is an error that names the file: replication
// cannot tell where its log diverged without it.
func loadEpochs(dir string) (*epochCache, error) {
	c := &epochCache{path: filepath.Join(dir, epochFile)}
	raw, err := os.ReadFile(c.path)
	if errors.Is(err, os.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return nil, err
	}
	entries, err := parseEpochs(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", c.path, err)
	}
	c.entries = entries
	return c, nil
}

// ParseEpochCheckpoint decodes a leader-epoch checkpoint: a version line
// (0), a count line, then one "epoch startOffset" line per entry, both
// ascending. It is exported for fuzzing.
func ParseEpochCheckpoint(raw []byte) error {
	_, err := parseEpochs(raw)
	return err
}

func parseEpochs(raw []byte) ([]epochEntry, error) {
	sc := bufio.NewScanner(bytes.NewReader(raw))
	line := func() (string, bool) {
		if !sc.Scan() {
			return "", false
		}
		return strings.TrimSpace(sc.Text()), true
	}
	v, ok := line()
	if !ok || v != "0" {
		return nil, fmt.Errorf("leader epoch checkpoint: version %q, want 0", v)
	}
	n, ok := line()
	count, err := strconv.Atoi(n)
	if !ok || err != nil || count < 0 || count > 1<<20 {
		return nil, fmt.Errorf("leader epoch checkpoint: bad count %q", n)
	}
	entries := make([]epochEntry, 0, min(count, 1024))
	for i := 0; i < count; i++ {
		l, ok := line()
		if !ok {
			return nil, fmt.Errorf("leader epoch checkpoint: %d entries, file ends after %d", count, i)
		}
		f := strings.Fields(l)
		if len(f) != 2 {
			return nil, fmt.Errorf("leader epoch checkpoint: bad entry %q", l)
		}
		epoch, err1 := strconv.ParseInt(f[0], 10, 32)
		start, err2 := strconv.ParseInt(f[1], 10, 64)
		if err1 != nil || err2 != nil || epoch < 0 || start < 0 {
			return nil, fmt.Errorf("leader epoch checkpoint: bad entry %q", l)
		}
		if k := len(entries); k > 0 && (int32(epoch) <= entries[k-1].Epoch || start < entries[k-1].StartOffset) {
			return nil, fmt.Errorf("leader epoch checkpoint: entry %q not after %d %d", l, entries[k-1].Epoch, entries[k-1].StartOffset)
		}
		entries = append(entries, epochEntry{Epoch: int32(epoch), StartOffset: start})
	}
	if _, extra := line(); extra {
		return nil, fmt.Errorf("leader epoch checkpoint: more than %d entries", count)
	}
	return entries, nil
}

func (c *epochCache) encode() []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "0\n%d\n", len(c.entries))
	for _, e := range c.entries {
		fmt.Fprintf(&b, "%d %d\n", e.Epoch, e.StartOffset)
	}
	return b.Bytes()
}

// save writes the checkpoint atomically: a temporary file, fsynced, then
// renamed over the old one, and the directory synced.
func (c *epochCache) save() error {
	// A partition never appended to has no directory yet (lazy create).
	if err := os.MkdirAll(filepath.Dir(c.path), 0o755); err != nil {
		return err
	}
	tmp := c.path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(c.encode()); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, c.path); err != nil {
		return err
	}
	return syncDir(filepath.Dir(c.path))
}

// latest is the newest epoch, -1 when none is known.
func (c *epochCache) latest() int32 {
	if len(c.entries) == 0 {
		return -1
	}
	return c.entries[len(c.entries)-1].Epoch
}

// assign records that epoch writes from offset on, if it is newer than
// every epoch known, and reports whether the history changed. An older
// epoch changes nothing (a follower copying old batches).
func (c *epochCache) assign(epoch int32, offset int64) bool {
	if epoch < 0 || epoch <= c.latest() {
		return false
	}
	c.entries = append(c.entries, epochEntry{Epoch: epoch, StartOffset: offset})
	return true
}

// truncateFrom drops the entries that start at or after offset, for a log
// cut at offset; it reports whether any went.
func (c *epochCache) truncateFrom(offset int64) bool {
	n := len(c.entries)
	for n > 0 && c.entries[n-1].StartOffset >= offset {
		n--
	}
	if n == len(c.entries) {
		return false
	}
	c.entries = c.entries[:n]
	return true
}

// endOffsetFor answers OffsetForLeaderEpoch as Kafka does: for the newest
// epoch, the log end; for an older one, the start of the first epoch after
// it, with the largest known epoch not above the one asked; for an epoch
// older than all known, that epoch and the first known start; for one
// newer than all known, or none known, -1 and -1.
func (c *epochCache) endOffsetFor(epoch int32, logEnd int64) (int32, int64) {
	if epoch < 0 || len(c.entries) == 0 {
		return -1, -1
	}
	if epoch == c.latest() {
		return epoch, logEnd
	}
	// The first entry with a larger epoch.
	i := 0
	for i < len(c.entries) && c.entries[i].Epoch <= epoch {
		i++
	}
	if i == len(c.entries) {
		return -1, -1
	}
	if i == 0 {
		return epoch, c.entries[0].StartOffset
	}
	return c.entries[i-1].Epoch, c.entries[i].StartOffset
}

func (c *epochCache) clone() []epochEntry { return append([]epochEntry(nil), c.entries...) }
