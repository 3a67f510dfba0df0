package main

// sluice log dump: kafka-dump-log's job, offline. It reads a segment's
// .log, .index and .timeindex files directly (package segment/dump) and
// needs no broker; for files of a running broker, the active segment's
// indexes are read as they are at that moment, preallocated zeros and all.

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/sluicelog/sluice/segment"
	"github.com/sluicelog/sluice/segment/batch"
	"github.com/sluicelog/sluice/segment/dump"
)

func newLogCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "log",
		Short: "Inspect a partition's segment files offline",
	}
	cmd.AddCommand(logDump(g))
	return cmd
}

type logDumpOptions struct {
	files           []string
	printDataLog    bool
	verifyIndexOnly bool
}

func logDump(g *globals) *cobra.Command {
	var o logDumpOptions
	cmd := &cobra.Command{
		Use:   "dump --files FILE[,FILE...] [--print-data-log] [--verify-index-only]",
		Short: "Print the batches of .log files and the entries of .index and .timeindex files (kafka-dump-log)",
		Long: "Read segment files directly, like kafka-dump-log; no broker is needed.\n" +
			"  .log        each batch: offsets, count, position, timestamps, producer id and\n" +
			"              epoch, sequences, codec, size and whether its CRC is valid;\n" +
			"              --print-data-log adds each record's offset, timestamp, key and value\n" +
			"              (printable text as is, anything else quoted with escapes).\n" +
			"  .index      each entry (offset -> position); .timeindex (timestamp -> offset).\n" +
			"              When the segment's .log is beside it, every entry is checked against\n" +
			"              the log and mismatches are listed; --verify-index-only prints only those.\n" +
			"Damage (a torn or corrupt batch, a bad CRC, index entries out of order or not\n" +
			"matching the log) is reported where it starts and the exit status is 1, e.g.\n" +
			"  sluice log dump --files data/orders-0/00000000000000000000.log --print-data-log",
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			files := append(splitFiles(o.files), args...)
			if len(files) == 0 {
				return errors.New("give the files to dump with --files a.log,b.index,c.timeindex")
			}
			damaged := 0
			for _, path := range files {
				bad, err := dumpFile(g.stdout, path, o)
				if err != nil {
					fmt.Fprintf(g.stderr, "sluice: %s: %v\n", path, err)
					bad = true
				}
				if bad {
					damaged++
				}
			}
			if damaged > 0 {
				return fmt.Errorf("damage or mismatches found in %d of %d files", damaged, len(files))
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringSliceVar(&o.files, "files", nil, "comma-separated .log, .index and .timeindex files (repeatable)")
	f.BoolVar(&o.printDataLog, "print-data-log", false, "print each record of a .log file")
	f.BoolVar(&o.verifyIndexOnly, "verify-index-only", false, "print only problems: index entries that do not match the log, damaged batches")
	return cmd
}

func splitFiles(in []string) []string {
	var out []string
	for _, f := range in {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// dumpFile prints one file and reports whether it found damage.
func dumpFile(w io.Writer, path string, o logDumpOptions) (bool, error) {
	switch filepath.Ext(path) {
	case ".log":
		return dumpLog(w, path, o)
	case ".index", ".timeindex":
		return dumpIndex(w, path, o)
	}
	return true, errors.New("not a segment file: want .log, .index or .timeindex")
}

func dumpLog(w io.Writer, path string, o logDumpOptions) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return true, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return true, err
	}
	fmt.Fprintf(w, "Dumping %s\n", path)
	if base, err := dump.BaseOffset(path); err == nil {
		fmt.Fprintf(w, "Log starting offset: %d\n", base)
	}
	bad := false
	var sb strings.Builder
	err = dump.WalkLog(f, st.Size(), func(b *dump.Batch, raw []byte) error {
		if len(b.Problems) > 0 {
			bad = true
		}
		if o.verifyIndexOnly && len(b.Problems) == 0 {
			return nil
		}
		sb.Reset()
		writeBatch(&sb, b)
		for _, p := range b.Problems {
			fmt.Fprintf(&sb, "  problem at position %d: %v\n", b.Position, p)
		}
		if o.printDataLog && !o.verifyIndexOnly {
			err := dump.Records(raw, func(r *batch.Record) error {
				writeRecord(&sb, &b.Header, r)
				return nil
			})
			if err != nil {
				bad = true
				fmt.Fprintf(&sb, "  problem at position %d: records: %v\n", b.Position, err)
			}
		}
		_, err := io.WriteString(w, sb.String())
		return err
	})
	var d *dump.Damage
	if errors.As(err, &d) {
		fmt.Fprintf(w, "Damage at position %d: %v; the last %d bytes were not read\n", d.Position, d.Err, st.Size()-d.Position)
		return true, nil
	}
	return bad, err
}

func writeBatch(sb *strings.Builder, b *dump.Batch) {
	h := &b.Header
	lastSeq := int32(-1)
	if h.BaseSequence >= 0 {
		lastSeq = h.BaseSequence + h.LastOffsetDelta
	}
	fmt.Fprintf(sb, "baseOffset: %d lastOffset: %d count: %d baseSequence: %d lastSequence: %d producerId: %d producerEpoch: %d "+
		"partitionLeaderEpoch: %d isTransactional: %t isControl: %t position: %d %s: %d baseTimestamp: %d size: %d magic: %d "+
		"compresscodec: %s crc: %d isvalid: %t\n",
		h.BaseOffset, h.LastOffset(), h.RecordCount, h.BaseSequence, lastSeq, h.ProducerID, h.ProducerEpoch,
		h.PartitionLeaderEpoch, h.Transactional(), h.Control(), b.Position, h.TimestampType(), h.MaxTimestamp, h.BaseTimestamp,
		h.Size(), h.Magic, codecName(h.Codec()), h.CRC, b.CRCValid)
}

// codecName is the codec's name, or its number when Kafka defines none.
func codecName(c batch.Codec) string {
	if c.Valid() {
		return c.String()
	}
	return "unknown(" + strconv.Itoa(int(c)) + ")"
}

func writeRecord(sb *strings.Builder, h *batch.Header, r *batch.Record) {
	seq := int64(-1)
	if h.BaseSequence >= 0 {
		seq = int64(h.BaseSequence) + int64(r.OffsetDelta)
	}
	keys := make([]string, len(r.Headers))
	for i, hd := range r.Headers {
		keys[i] = printable(hd.Key)
	}
	fmt.Fprintf(sb, "| offset: %d %s: %d keySize: %d valueSize: %d sequence: %d headerKeys: [%s] key: %s value: %s\n",
		r.Offset, h.TimestampType(), r.Timestamp, size(r.Key), size(r.Value), seq, strings.Join(keys, ","), printable(r.Key), printable(r.Value))
}

// size is Kafka's size of a nullable byte string: -1 for null.
func size(b []byte) int {
	if b == nil {
		return -1
	}
	return len(b)
}

// printable shows bytes as they are when they are printable UTF-8 text
// without leading or trailing spaces, and as a Go-quoted string otherwise,
// so that any key or value stays on one line and can be told apart: null
// prints as null, the text "null" as "null" in quotes.
func printable(b []byte) string {
	if b == nil {
		return "null"
	}
	s := string(b)
	if s == "" || s == "null" || !utf8.ValidString(s) || strings.TrimSpace(s) != s {
		return strconv.Quote(s)
	}
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return strconv.Quote(s)
		}
	}
	return s
}

func dumpIndex(w io.Writer, path string, o logDumpOptions) (bool, error) {
	base, err := dump.BaseOffset(path)
	if err != nil {
		return true, err
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return true, err
	}
	timeIndex := filepath.Ext(path) == ".timeindex"
	logPath := filepath.Join(filepath.Dir(path), segment.FileName(base, ".log"))
	var layout *dump.Layout
	if lf, err := os.Open(logPath); err == nil {
		st, err := lf.Stat()
		if err == nil {
			layout, err = dump.ReadLayout(lf, st.Size())
		}
		lf.Close()
		if err != nil {
			return true, fmt.Errorf("read %s: %w", logPath, err)
		}
	} else if o.verifyIndexOnly {
		return true, fmt.Errorf("--verify-index-only checks an index against its log, and %w", err)
	}
	if o.verifyIndexOnly {
		fmt.Fprintf(w, "Verifying %s against %s\n", path, logPath)
	} else {
		fmt.Fprintf(w, "Dumping %s\n", path)
	}
	var entries int
	var problems, mismatches []error
	var damage *dump.Damage
	var prealloc int
	if timeIndex {
		x := dump.ReadTimeIndex(data, base)
		entries, problems, damage, prealloc = len(x.Entries), x.Problems, x.Damage, x.Preallocated
		if !o.verifyIndexOnly {
			for _, e := range x.Entries {
				fmt.Fprintf(w, "timestamp: %d offset: %d\n", e.Timestamp, e.Offset)
			}
		}
		if layout != nil {
			mismatches = dump.VerifyTimeIndex(x, layout)
		}
	} else {
		x := dump.ReadOffsetIndex(data, base)
		entries, problems, damage, prealloc = len(x.Entries), x.Problems, x.Damage, x.Preallocated
		if !o.verifyIndexOnly {
			for _, e := range x.Entries {
				fmt.Fprintf(w, "offset: %d position: %d\n", e.Offset, e.Position)
			}
		}
		if layout != nil {
			mismatches = dump.VerifyOffsetIndex(x, layout)
		}
	}
	if prealloc > 0 && !o.verifyIndexOnly {
		fmt.Fprintf(w, "(%d bytes of preallocated zeros after the %d entries: an active or unclean segment)\n", prealloc, entries)
	}
	for _, p := range problems {
		fmt.Fprintf(w, "Out of order: %v\n", p)
	}
	for _, m := range mismatches {
		fmt.Fprintf(w, "Mismatch with the log: %v\n", m)
	}
	if damage != nil {
		fmt.Fprintf(w, "Damage at position %d: %v\n", damage.Position, damage.Err)
	}
	bad := len(problems)+len(mismatches) > 0 || damage != nil
	switch {
	case layout == nil:
		fmt.Fprintf(w, "(%s not found: entries not checked against the log)\n", filepath.Base(logPath))
	case layout.Damage != nil:
		fmt.Fprintf(w, "(the log is damaged from position %d: %v)\n", layout.Damage.Position, layout.Damage.Err)
	case !bad:
		fmt.Fprintf(w, "%d entries, all match the log.\n", entries)
	}
	return bad, nil
}
