package cleanbench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/sluicelog/sluice/bench/hostinfo"
	"github.com/sluicelog/sluice/bench/sluicedproc"
	"github.com/sluicelog/sluice/bench/units"
	"github.com/sluicelog/sluice/engine"
)

// The two sides of a cleaning round.
const (
	SidePlain = "plain read"
	SideClean = "clean"
)

// cleanOrder is the order of a cleaning round's sides: the plain read
// first in odd rounds, the cleaning first in even ones.
func cleanOrder(round int) []string {
	if round%2 == 0 {
		return []string{SideClean, SidePlain}
	}
	return []string{SidePlain, SideClean}
}

// ReadResult is a plain read of the cleanable segments.
type ReadResult struct {
	Segments int     `json:"segments"`
	Bytes    int64   `json:"bytes"`
	Seconds  float64 `json:"seconds"`
	MBps     float64 `json:"mb_per_s"`
}

// CleanResult is one Partition.Clean of a fresh copy of the partition.
type CleanResult struct {
	// The fields of engine.CleanStats.
	FirstDirty     int64   `json:"first_dirty"`
	End            int64   `json:"end"`
	Groups         int     `json:"groups"`
	BytesRead      int64   `json:"bytes_read"`
	BytesWritten   int64   `json:"bytes_written"`
	RecordsKept    int64   `json:"records_kept"`
	RecordsRemoved int64   `json:"records_removed"`
	Seconds        float64 `json:"seconds"`
	// LogBytes is the size of the segments cleaned; LogMBps, the log
	// cleaned a second, is LogBytes / Seconds. The cleaner reads those
	// segments twice (its offset map, then the copy), so ReadMBps,
	// BytesRead / Seconds, is twice as much.
	LogBytes int64   `json:"log_bytes"`
	LogMBps  float64 `json:"log_mb_per_s"`
	ReadMBps float64 `json:"read_mb_per_s"`
	// WrittenShare is BytesWritten / LogBytes.
	WrittenShare float64 `json:"written_share"`
	// CPUSeconds is this process's CPU time during the cleaning (the
	// cleaning's own, mostly: nothing else runs).
	CPUSeconds float64 `json:"cpu_seconds"`
}

// CleanRound is a fresh copy of the partition cleaned, beside a plain read
// of the same segments.
type CleanRound struct {
	Index       int         `json:"index"`
	Order       []string    `json:"order"`
	CopySeconds float64     `json:"copy_seconds"`
	Plain       ReadResult  `json:"plain"`
	Clean       CleanResult `json:"clean"`
	// Ratio is Clean.LogMBps / Plain.MBps.
	Ratio     float64 `json:"ratio"`
	LoadAfter string  `json:"load_after"`
	// Profile is the file of the cleaning's CPU profile, if taken.
	Profile string `json:"-"`
}

// cleanRound copies the partition written in master to copyDir, then, in
// the round's order, each from a cold page cache: reads master's
// cleanable segments plainly, and cleans the copy with Partition.Clean.
func cleanRound(ctx context.Context, cfg Config, rep *Report, master, copyDir string, round *CleanRound) error {
	if err := os.RemoveAll(copyDir); err != nil {
		return err
	}
	defer os.RemoveAll(copyDir)
	start := time.Now()
	if err := copyTree(master, copyDir); err != nil {
		return fmt.Errorf("copying the partition: %w", err)
	}
	sluicedproc.SyncAll()
	round.CopySeconds = time.Since(start).Seconds()

	segs, err := segmentFiles(partitionDir(master))
	if err != nil {
		return err
	}
	segs = segs[:len(segs)-1] // the active segment is not cleanable
	e, err := engine.Open(copyDir, engine.Options{CleanerDisabled: true})
	if err != nil {
		return err
	}
	defer e.Close()
	p, err := e.Partition(topicName, 0)
	if err != nil {
		return err
	}
	for _, side := range round.Order {
		if err := ctx.Err(); err != nil {
			return err
		}
		if settleCache() {
			rep.CacheDropped = true
		}
		switch side {
		case SidePlain:
			if round.Plain, err = plainRead(segs, cfg.ChunkBytes); err != nil {
				return err
			}
		case SideClean:
			stopProfile, err := startProfile(round.Profile)
			if err != nil {
				return err
			}
			cpu := sluicedproc.ProcessCPU(os.Getpid())
			st, err := p.Clean()
			cpu = sluicedproc.ProcessCPU(os.Getpid()) - cpu
			if err := stopProfile(); err != nil {
				return err
			}
			if err != nil {
				return err
			}
			c := &round.Clean
			c.CPUSeconds = cpu
			c.FirstDirty, c.End, c.Groups = st.FirstDirty, st.End, st.Groups
			c.BytesRead, c.BytesWritten, c.RecordsKept, c.RecordsRemoved = st.BytesRead, st.BytesWritten, st.RecordsKept, st.RecordsRemoved
			c.Seconds = st.Took.Seconds()
			c.LogBytes = rep.Partition.CleanableBytes
			c.LogMBps = mbps(c.LogBytes, c.Seconds)
			c.ReadMBps = mbps(c.BytesRead, c.Seconds)
			c.WrittenShare = units.Ratio(float64(c.BytesWritten), float64(c.LogBytes))
		}
	}
	if err := e.Close(); err != nil {
		return err
	}
	round.Ratio = units.Ratio(round.Clean.LogMBps, round.Plain.MBps)
	round.LoadAfter = hostinfo.LoadAverage()
	checkClean(rep, round)
	return nil
}

// checkClean checks a round's cleaning against the partition written:
// it covered every cleanable segment, the plain read read the same bytes,
// and it kept exactly one record per distinct key.
func checkClean(rep *Report, round *CleanRound) {
	c, w := round.Clean, rep.Partition
	pre := fmt.Sprintf("cleaning round %d: ", round.Index)
	if c.FirstDirty != 0 || c.End != w.CleanableRecords {
		rep.problem(pre+"cleaned offsets [%d, %d), want [0, %d): the cleanable segments", c.FirstDirty, c.End, w.CleanableRecords)
	}
	if round.Plain.Bytes != w.CleanableBytes {
		rep.problem(pre+"the plain read read %d bytes, the cleanable segments hold %d", round.Plain.Bytes, w.CleanableBytes)
	}
	if c.BytesRead != 2*w.CleanableBytes {
		rep.problem(pre+"the cleaner read %d bytes, want twice the %d of the cleanable segments (offset map, then copy)", c.BytesRead, w.CleanableBytes)
	}
	if c.RecordsKept != rep.DistinctKeys {
		rep.problem(pre+"kept %d records, the cleanable segments hold %d distinct keys", c.RecordsKept, rep.DistinctKeys)
	}
	if c.RecordsKept+c.RecordsRemoved != w.CleanableRecords {
		rep.problem(pre+"kept %d and removed %d records of %d", c.RecordsKept, c.RecordsRemoved, w.CleanableRecords)
	}
}

// plainRead reads the segment files in order, chunk bytes at a time, with
// os.File.Read into one buffer: the read a cleaning cannot beat.
func plainRead(segs []segmentFile, chunk int) (ReadResult, error) {
	out := ReadResult{Segments: len(segs)}
	buf := make([]byte, chunk)
	start := time.Now()
	for _, s := range segs {
		f, err := os.Open(s.path)
		if err != nil {
			return out, err
		}
		for {
			n, err := f.Read(buf)
			out.Bytes += int64(n)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				f.Close()
				return out, err
			}
		}
		f.Close()
	}
	out.Seconds = time.Since(start).Seconds()
	out.MBps = mbps(out.Bytes, out.Seconds)
	return out, nil
}

// copyTree copies the directory tree src to dst (files by io.Copy, which
// Linux does in the kernel with copy_file_range).
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		in, err := os.Open(path)
		if err != nil {
			return err
		}
		defer in.Close()
		out, err := os.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, in); err != nil {
			out.Close()
			return err
		}
		return out.Close()
	})
}
