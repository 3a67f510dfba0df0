package metabench

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/hashicorp/raft"

	"github.com/sluicelog/sluice/net/quorum"
)

// measureSyncs times n synced appends of one small entry to the quorum's
// own log store, then n write+fdatasync calls of 128 bytes to a file, both
// in dir.
func measureSyncs(dir string, n int) (SyncRun, error) {
	var r SyncRun
	st, err := quorum.OpenStore(filepath.Join(dir, "raft"), nil)
	if err != nil {
		return r, err
	}
	data := make([]byte, 100) // about a PartitionChange record
	start := time.Now()
	for i := 1; i <= n; i++ {
		l := &raft.Log{Index: uint64(i), Term: 1, Type: raft.LogCommand, Data: data, AppendedAt: time.Now()}
		if err := st.StoreLogs([]*raft.Log{l}); err != nil {
			st.Close()
			return r, err
		}
	}
	r.LogStorePS = float64(n) / time.Since(start).Seconds()
	if err := st.Close(); err != nil {
		return r, err
	}

	f, err := os.Create(filepath.Join(dir, "fdatasync"))
	if err != nil {
		return r, err
	}
	defer f.Close()
	buf := make([]byte, 128)
	start = time.Now()
	for range n {
		if _, err := f.Write(buf); err != nil {
			return r, err
		}
		if err := fdatasync(f); err != nil {
			return r, fmt.Errorf("fdatasync: %w", err)
		}
	}
	r.FdatasyncPS = float64(n) / time.Since(start).Seconds()
	return r, nil
}
