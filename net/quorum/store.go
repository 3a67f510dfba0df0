package quorum

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"log/slog"
	"math"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/hashicorp/raft"
)

// Store is raft's LogStore and StableStore in one pebble database. Its keys:
//
//	"l" + uint64 big-endian index   an encoded raft.Log (encodeLog below)
//	"s" + key                       a stable-store value, as given
//	"s" + key                       for SetUint64: 8 bytes big-endian
//
// Big-endian indexes make pebble's key order the log order, so FirstIndex and
// LastIndex are one seek each and DeleteRange is one range tombstone. Every
// write is synced: raft acknowledges entries and votes as durable.
type Store struct {
	db *pebble.DB
}

const (
	logPrefix    = 'l'
	stablePrefix = 's'
	// logVersion is the first byte of every encoded log entry.
	logVersion = 1
)

// errNotFound is what the stable store returns for a missing key. raft checks
// err.Error() == "not found" literally (api.go, raft.go), so the text matters.
var errNotFound = errors.New("not found")

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// OpenStore opens (creating if needed) the pebble database in dir.
func OpenStore(dir string, logger *slog.Logger) (*Store, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	db, err := pebble.Open(dir, &pebble.Options{Logger: pebbleLogger{logger}})
	if err != nil {
		return nil, fmt.Errorf("quorum: raft store %s: %w", dir, err)
	}
	return &Store{db: db}, nil
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

func logKey(index uint64) []byte {
	k := make([]byte, 9)
	k[0] = logPrefix
	binary.BigEndian.PutUint64(k[1:], index)
	return k
}

// logBounds are the lower and upper bounds of the log key space.
var logLower, logUpper = []byte{logPrefix}, []byte{logPrefix + 1}

// FirstIndex returns the first index written, 0 for an empty log.
func (s *Store) FirstIndex() (uint64, error) {
	return s.edgeIndex(true)
}

// LastIndex returns the last index written, 0 for an empty log.
func (s *Store) LastIndex() (uint64, error) {
	return s.edgeIndex(false)
}

func (s *Store) edgeIndex(first bool) (uint64, error) {
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: logLower, UpperBound: logUpper})
	if err != nil {
		return 0, fmt.Errorf("quorum: raft store iterator: %w", err)
	}
	defer it.Close()
	ok := false
	if first {
		ok = it.First()
	} else {
		ok = it.Last()
	}
	if !ok {
		return 0, it.Error()
	}
	k := it.Key()
	if len(k) != 9 {
		return 0, fmt.Errorf("quorum: raft store: malformed log key %x", k)
	}
	return binary.BigEndian.Uint64(k[1:]), nil
}

// GetLog reads the entry at index into log; raft.ErrLogNotFound if absent.
func (s *Store) GetLog(index uint64, log *raft.Log) error {
	v, closer, err := s.db.Get(logKey(index))
	if errors.Is(err, pebble.ErrNotFound) {
		return raft.ErrLogNotFound
	}
	if err != nil {
		return fmt.Errorf("quorum: raft store get log %d: %w", index, err)
	}
	defer closer.Close()
	l, err := decodeLog(v) // copies out of pebble's buffer
	if err != nil {
		return fmt.Errorf("quorum: raft store log %d: %w", index, err)
	}
	if l.Index != index {
		return fmt.Errorf("quorum: raft store: key %d holds log %d", index, l.Index)
	}
	*log = l
	return nil
}

// StoreLog stores one entry.
func (s *Store) StoreLog(log *raft.Log) error { return s.StoreLogs([]*raft.Log{log}) }

// StoreLogs stores entries in one synced batch.
func (s *Store) StoreLogs(logs []*raft.Log) error {
	b := s.db.NewBatch()
	defer b.Close()
	var buf []byte
	for _, l := range logs {
		buf = appendLog(buf[:0], l)
		if err := b.Set(logKey(l.Index), buf, nil); err != nil {
			return fmt.Errorf("quorum: raft store log %d: %w", l.Index, err)
		}
	}
	if err := b.Commit(pebble.Sync); err != nil {
		return fmt.Errorf("quorum: raft store append %d entries: %w", len(logs), err)
	}
	return nil
}

// DeleteRange deletes entries min through max, inclusive.
func (s *Store) DeleteRange(min, max uint64) error {
	if min > max {
		return nil
	}
	end := logUpper
	if max < math.MaxUint64 {
		end = logKey(max + 1)
	}
	if err := s.db.DeleteRange(logKey(min), end, pebble.Sync); err != nil {
		return fmt.Errorf("quorum: raft store delete %d-%d: %w", min, max, err)
	}
	return nil
}

func stableKey(k []byte) []byte { return append([]byte{stablePrefix}, k...) }

// Set stores a stable-store value.
func (s *Store) Set(key, val []byte) error {
	if err := s.db.Set(stableKey(key), val, pebble.Sync); err != nil {
		return fmt.Errorf("quorum: raft store set %q: %w", key, err)
	}
	return nil
}

// Get returns a stable-store value; an error reading "not found" if absent.
func (s *Store) Get(key []byte) ([]byte, error) {
	v, closer, err := s.db.Get(stableKey(key))
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, errNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("quorum: raft store get %q: %w", key, err)
	}
	defer closer.Close()
	return append([]byte(nil), v...), nil
}

// SetUint64 stores a stable-store integer.
func (s *Store) SetUint64(key []byte, val uint64) error {
	return s.Set(key, binary.BigEndian.AppendUint64(nil, val))
}

// GetUint64 returns a stable-store integer; 0 and "not found" if absent.
func (s *Store) GetUint64(key []byte) (uint64, error) {
	v, err := s.Get(key)
	if err != nil {
		return 0, err
	}
	if len(v) != 8 {
		return 0, fmt.Errorf("quorum: raft store %q: %d bytes, want 8", key, len(v))
	}
	return binary.BigEndian.Uint64(v), nil
}

// appendLog appends the encoding of l:
//
//	byte     version (1)
//	uvarint  Index
//	uvarint  Term
//	byte     Type
//	uvarint  len(Data), Data
//	uvarint  len(Extensions), Extensions
//	byte     1 if AppendedAt is set, else 0; if 1:
//	varint   AppendedAt Unix seconds
//	uvarint  AppendedAt nanoseconds (< 1e9)
//	uint32   CRC-32C (Castagnoli) of everything before, big-endian
//
// AppendedAt keeps its instant, not its location or monotonic reading.
func appendLog(b []byte, l *raft.Log) []byte {
	start := len(b)
	b = append(b, logVersion)
	b = binary.AppendUvarint(b, l.Index)
	b = binary.AppendUvarint(b, l.Term)
	b = append(b, byte(l.Type))
	b = binary.AppendUvarint(b, uint64(len(l.Data)))
	b = append(b, l.Data...)
	b = binary.AppendUvarint(b, uint64(len(l.Extensions)))
	b = append(b, l.Extensions...)
	if l.AppendedAt.IsZero() {
		b = append(b, 0)
	} else {
		b = append(b, 1)
		b = binary.AppendVarint(b, l.AppendedAt.Unix())
		b = binary.AppendUvarint(b, uint64(l.AppendedAt.Nanosecond()))
	}
	return binary.BigEndian.AppendUint32(b, crc32.Checksum(b[start:], castagnoli))
}

// decodeLog decodes what appendLog wrote. The result shares no memory with b.
func decodeLog(b []byte) (raft.Log, error) {
	var l raft.Log
	if len(b) < 5 {
		return l, fmt.Errorf("log entry of %d bytes is too short", len(b))
	}
	body, sum := b[:len(b)-4], binary.BigEndian.Uint32(b[len(b)-4:])
	if got := crc32.Checksum(body, castagnoli); got != sum {
		return l, fmt.Errorf("log entry checksum %08x, stored %08x", got, sum)
	}
	if body[0] != logVersion {
		return l, fmt.Errorf("log entry version %d, want %d", body[0], logVersion)
	}
	d := decoder{b: body[1:]}
	l.Index = d.uvarint()
	l.Term = d.uvarint()
	l.Type = raft.LogType(d.byte())
	l.Data = d.bytes()
	l.Extensions = d.bytes()
	switch flag := d.byte(); {
	case d.err != nil || flag == 0:
	case flag != 1:
		d.err = fmt.Errorf("log entry AppendedAt flag %d, want 0 or 1", flag)
	default:
		sec := d.varint()
		nsec := d.uvarint()
		if d.err == nil && nsec >= 1e9 {
			d.err = fmt.Errorf("log entry AppendedAt nanoseconds %d out of range", nsec)
		}
		l.AppendedAt = time.Unix(sec, int64(nsec))
	}
	if d.err == nil && len(d.b) != 0 {
		d.err = fmt.Errorf("log entry has %d trailing bytes", len(d.b))
	}
	if d.err != nil {
		return raft.Log{}, d.err
	}
	return l, nil
}

// decoder reads the varint-framed fields of a log entry; the first error sticks.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("log entry truncated in %s", what)
	}
	d.b = nil
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail("a uvarint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail("a varint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) byte() byte {
	if len(d.b) < 1 {
		d.fail("a byte")
		return 0
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}

func (d *decoder) bytes() []byte {
	n := d.uvarint()
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.b)) {
		d.fail("a byte string")
		return nil
	}
	if n == 0 {
		return nil
	}
	v := append([]byte(nil), d.b[:n]...)
	d.b = d.b[n:]
	return v
}

// pebbleLogger sends pebble's logs to slog, its info lines at debug.
type pebbleLogger struct{ l *slog.Logger }

func (p pebbleLogger) Infof(format string, args ...any) {
	p.l.Debug(fmt.Sprintf(format, args...), "module", "pebble")
}

func (p pebbleLogger) Errorf(format string, args ...any) {
	p.l.Error(fmt.Sprintf(format, args...), "module", "pebble")
}

// Fatalf logs and panics: a library must not exit the process.
func (p pebbleLogger) Fatalf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	p.l.Error(msg, "module", "pebble")
	panic("pebble: " + msg)
}

var (
	_ raft.LogStore    = (*Store)(nil)
	_ raft.StableStore = (*Store)(nil)
)
