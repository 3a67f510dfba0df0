package engine

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/sluicelog/sluice/segment"
)

// metaStore keeps the engine's metadata in pebble under <data>/meta:
//
//	topic/<name>                  JSON topicMeta (synced on write)
//	recovery/<topic>/<partition>  int64 big-endian: every offset below it is
//	                              on disk (fdatasync'd) with its indexes;
//	                              or 24: the offset, then the base of the
//	                              segment it is in and its position there;
//	                              or 48 bytes, when the log ended there: the
//	                              offset, then the active segment's base and
//	                              segment.State (size, max timestamp and its
//	                              offset, bytes since the last index entry),
//	                              all int64 big-endian, so that Open resumes
//	                              that segment without opening it
//	producers/<topic>/<partition> idempotent producer state snapshot
//	                              (producers.go has its format)
//	hw/<topic>/<partition>        int64 big-endian: the high watermark a
//	                              replicated partition last reported (Kafka's
//	                              replication-offset-checkpoint), not synced
//	logstart/<topic>/<partition>  int64 big-endian: the log start offset
//	                              DeleteRecords set, when it lies past the
//	                              first segment's base (synced)
//	producer-id/next              int64: the next producer id to hand out
//	creating/<topic>              JSON createIntent: a create of partitions
//	                              not committed yet (strays.go)
//	offsets/...                   committed group offsets (offsets.go)
//
// Topic names cannot contain '/', so the key spaces never collide.
// Recovery points are synced too: they move only when a segment was just
// fdatasync'd (on roll, flush.ms, flush.messages), so one more sync is cheap,
// and a point that a crash took away would make recovery scan far more.
type metaStore struct {
	db *pebble.DB
	// preloaded holds the per-partition keys Open read in one pass, while
	// it opens the partitions (nil otherwise).
	preloaded atomic.Pointer[preload]
}

// topicMeta is what the engine persists about a topic.
type topicMeta struct {
	Name       string            `json:"name"`
	ID         [16]byte          `json:"id"`
	Partitions int32             `json:"partitions"`
	Configs    map[string]string `json:"configs,omitempty"`
	CreatedMs  int64             `json:"created_ms"`
	// Hosted lists, sorted, the partitions this engine stores, when it
	// stores only some (a broker of a cluster holds its replicas alone);
	// nil means every partition, as a single node and older data do.
	Hosted []int32 `json:"hosted,omitempty"`
}

// hosts reports whether this engine stores partition id of the topic.
func (m *topicMeta) hosts(id int32) bool {
	if m.Hosted == nil {
		return true
	}
	_, found := slices.BinarySearch(m.Hosted, id)
	return found
}

const (
	topicPrefix     = "topic/"
	recoveryPrefix  = "recovery/"
	producersPrefix = "producers/"
	hwPrefix        = "hw/"
	cleanerPrefix   = "cleaner/"
	cleanTimePrefix = "cleantime/"
	logStartPrefix  = "logstart/"
	nextProducerKey = "producer-id/next"
)

func openMeta(dataDir string, logger *slog.Logger) (*metaStore, error) {
	dir := filepath.Join(dataDir, "meta")
	db, err := pebble.Open(dir, &pebble.Options{Logger: pebbleLogger{logger}, MaxOpenFiles: metaMaxOpenFiles})
	if err != nil {
		return nil, fmt.Errorf("meta %s: %w", dir, err)
	}
	return &metaStore{db: db}, nil
}

func (m *metaStore) close() error { return m.db.Close() }

func (m *metaStore) putTopic(t *topicMeta) error {
	v, err := json.Marshal(t)
	if err != nil {
		return err
	}
	if err := m.db.Set([]byte(topicPrefix+t.Name), v, pebble.Sync); err != nil {
		return fmt.Errorf("meta: put topic %s: %w", t.Name, err)
	}
	return nil
}

// deleteTopic removes a topic, its recovery points and every group's
// committed offsets of it in one synced batch.
func (m *metaStore) deleteTopic(name string) error {
	b := m.db.NewBatch()
	defer b.Close()
	if err := b.Delete([]byte(topicPrefix+name), nil); err != nil {
		return err
	}
	if err := deleteRecoveryPoints(b, name); err != nil {
		return err
	}
	if err := m.deleteTopicOffsets(b, name); err != nil {
		return err
	}
	if err := b.Commit(pebble.Sync); err != nil {
		return fmt.Errorf("meta: delete topic %s: %w", name, err)
	}
	return nil
}

// clearRecoveryPoints drops any recovery point left under a topic name (a
// late flush of a deleted topic may write one), so that a new topic of the
// same name never trusts unflushed segments.
func (m *metaStore) clearRecoveryPoints(name string) error {
	b := m.db.NewBatch()
	defer b.Close()
	if err := deleteRecoveryPoints(b, name); err != nil {
		return err
	}
	return b.Commit(pebble.Sync)
}

// deleteRecoveryPoints drops every per-partition key of a topic: recovery
// points and producer snapshots.
func deleteRecoveryPoints(b *pebble.Batch, topic string) error {
	for _, prefix := range partitionPrefixes {
		lo := []byte(prefix + topic + "/")
		hi := []byte(prefix + topic + "0") // '0' follows '/'
		if err := b.DeleteRange(lo, hi, nil); err != nil {
			return err
		}
	}
	return nil
}

func producersKey(topic string, partition int32) []byte {
	return []byte(fmt.Sprintf("%s%s/%d", producersPrefix, topic, partition))
}

func (m *metaStore) putProducers(topic string, partition int32, snapshot []byte) error {
	return m.db.Set(producersKey(topic, partition), snapshot, pebble.Sync)
}

// producers returns the stored producer snapshot, or nil.
func (m *metaStore) producers(topic string, partition int32) ([]byte, error) {
	return m.get(producersKey(topic, partition))
}

// allocateProducerID hands out the next producer id, durably, so that no id
// is ever given twice. Callers serialise.
func (m *metaStore) allocateProducerID() (int64, error) {
	next := int64(0)
	v, closer, err := m.db.Get([]byte(nextProducerKey))
	switch {
	case errors.Is(err, pebble.ErrNotFound):
	case err != nil:
		return 0, err
	default:
		if len(v) == 8 {
			next = int64(binary.BigEndian.Uint64(v))
		}
		closer.Close()
	}
	var buf [8]byte
	binary.BigEndian.PutUint64(buf[:], uint64(next+1))
	if err := m.db.Set([]byte(nextProducerKey), buf[:], pebble.Sync); err != nil {
		return 0, err
	}
	return next, nil
}

func (m *metaStore) topics() ([]*topicMeta, error) {
	it, err := m.db.NewIter(&pebble.IterOptions{
		LowerBound: []byte(topicPrefix),
		UpperBound: []byte("topic0"),
	})
	if err != nil {
		return nil, err
	}
	defer it.Close()
	var out []*topicMeta
	for it.First(); it.Valid(); it.Next() {
		t := new(topicMeta)
		if err := json.Unmarshal(it.Value(), t); err != nil {
			return nil, fmt.Errorf("meta: topic %q: %w", it.Key(), err)
		}
		out = append(out, t)
	}
	return out, it.Error()
}

func recoveryKey(topic string, partition int32) []byte {
	return []byte(fmt.Sprintf("%s%s/%d", recoveryPrefix, topic, partition))
}

func (m *metaStore) putRecoveryPoint(topic string, partition int32, offset int64) error {
	return m.putInt64(recoveryKey(topic, partition), offset, pebble.Sync)
}

// putRecoveryPos stores a recovery point with its position (synced).
func (m *metaStore) putRecoveryPos(topic string, partition int32, offset, segBase, pos int64) error {
	return m.db.Set(recoveryKey(topic, partition), encodeRecoveryPos(offset, segBase, pos), pebble.Sync)
}

// recoveryState is a stored recovery point. hasPos is set when it came
// with its position (segBase, pos), so that a crash recovery validates
// only the log after it; resume when it came with the state of the active
// segment the log ended in (pos is then its size).
type recoveryState struct {
	offset  int64
	hasPos  bool
	segBase int64
	pos     int64
	resume  bool
	seg     segment.State
}

const recoveryPosLen = 24

// encodeRecoveryPos encodes a recovery point at offset, which begins at
// position pos of the segment starting at segBase.
func encodeRecoveryPos(offset, segBase, pos int64) []byte {
	b := make([]byte, recoveryPosLen)
	for i, v := range []int64{offset, segBase, pos} {
		binary.BigEndian.PutUint64(b[i*8:], uint64(v))
	}
	return b
}

const recoveryStateLen = 48

// encodeRecovery encodes a recovery point at offset, the end of the log,
// whose active segment starting at segBase is in state st.
func encodeRecovery(offset, segBase int64, st segment.State) []byte {
	b := make([]byte, recoveryStateLen)
	for i, v := range []int64{offset, segBase, st.Size, st.MaxTimestamp, st.OffsetOfMaxTimestamp, st.SinceIndex} {
		binary.BigEndian.PutUint64(b[i*8:], uint64(v))
	}
	return b
}

// decodeRecovery decodes what putRecoveryPoint or encodeRecovery stored;
// any other length is no recovery point (0: scan everything).
func decodeRecovery(v []byte) recoveryState {
	get := func(i int) int64 { return int64(binary.BigEndian.Uint64(v[i*8:])) }
	switch len(v) {
	case 8:
		return recoveryState{offset: get(0)}
	case recoveryPosLen:
		return recoveryState{offset: get(0), hasPos: true, segBase: get(1), pos: get(2)}
	case recoveryStateLen:
		return recoveryState{offset: get(0), hasPos: true, segBase: get(1), pos: get(2), resume: true, seg: segment.State{
			Size: get(2), NextOffset: get(0), MaxTimestamp: get(3), OffsetOfMaxTimestamp: get(4), SinceIndex: get(5)}}
	}
	return recoveryState{}
}

// recoveryState returns the stored recovery point.
func (m *metaStore) recoveryState(topic string, partition int32) (recoveryState, error) {
	v, err := m.get(recoveryKey(topic, partition))
	if err != nil {
		return recoveryState{}, err
	}
	return decodeRecovery(v), nil
}

// get returns the value under key (a copy), or nil when there is none.
// While Open preloads per-partition keys (see preload), it answers from
// them.
func (m *metaStore) get(key []byte) ([]byte, error) {
	if pre := m.preloaded.Load(); pre != nil {
		if v, ok := pre.lookup(key); ok {
			return v, nil
		}
	}
	v, closer, err := m.db.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer closer.Close()
	return append([]byte(nil), v...), nil
}

// putInt64 stores v under key, big-endian.
func (m *metaStore) putInt64(key []byte, v int64, opts *pebble.WriteOptions) error {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(v))
	return m.db.Set(key, b[:], opts)
}

// int64At returns what putInt64 stored under key, or def when there is
// nothing there (or not 8 bytes).
func (m *metaStore) int64At(key []byte, def int64) (int64, error) {
	v, err := m.get(key)
	if err != nil {
		return 0, err
	}
	if len(v) != 8 {
		return def, nil
	}
	return int64(binary.BigEndian.Uint64(v)), nil
}

func hwKey(topic string, partition int32) []byte {
	return []byte(fmt.Sprintf("%s%s/%d", hwPrefix, topic, partition))
}

// putHighWatermark stores a replicated partition's high watermark without
// a sync: losing the latest one after a crash only makes the restarted
// replica hide a little more until its leader tells it the current one.
func (m *metaStore) putHighWatermark(topic string, partition int32, offset int64) error {
	return m.putInt64(hwKey(topic, partition), offset, pebble.NoSync)
}

// highWatermark returns the stored high watermark, or -1 when none.
func (m *metaStore) highWatermark(topic string, partition int32) (int64, error) {
	return m.int64At(hwKey(topic, partition), -1)
}

func cleanerKey(topic string, partition int32) []byte {
	return []byte(fmt.Sprintf("%s%s/%d", cleanerPrefix, topic, partition))
}

// partitionPrefixes are the prefixes of every per-partition key.
var partitionPrefixes = []string{recoveryPrefix, producersPrefix, hwPrefix, cleanerPrefix, cleanTimePrefix, logStartPrefix}

// clearPartition drops every key of one partition: a replica that comes
// back to the broker starts from nothing, and must not inherit the state of
// its earlier stint (a cleaner checkpoint above an empty log would leave
// the log it fetches anew never deduplicated).
func (m *metaStore) clearPartition(topic string, partition int32) error {
	b := m.db.NewBatch()
	defer b.Close()
	for _, prefix := range partitionPrefixes {
		if err := b.Delete([]byte(fmt.Sprintf("%s%s/%d", prefix, topic, partition)), nil); err != nil {
			return err
		}
	}
	return b.Commit(pebble.Sync)
}

func cleanTimeKey(topic string, partition int32) []byte {
	return []byte(fmt.Sprintf("%s%s/%d", cleanTimePrefix, topic, partition))
}

// putCleaned stores what a cleaning leaves for the next: the first dirty
// offset (Kafka's cleaner-offset-checkpoint) and the cleaning history,
// together. Unsynced: losing them only makes the next cleaning do more
// work, and keep tombstones longer.
func (m *metaStore) putCleaned(topic string, partition int32, firstDirty int64, h cleanHistory) error {
	b := m.db.NewBatch()
	defer b.Close()
	var v [8]byte
	binary.BigEndian.PutUint64(v[:], uint64(firstDirty))
	if err := b.Set(cleanerKey(topic, partition), v[:], nil); err != nil {
		return err
	}
	if err := b.Set(cleanTimeKey(topic, partition), h.marshal(), nil); err != nil {
		return err
	}
	return b.Commit(pebble.NoSync)
}

// cleanHistory returns the stored cleaning history, empty when there is
// none or it does not decode.
func (m *metaStore) cleanHistory(topic string, partition int32) (cleanHistory, error) {
	v, closer, err := m.db.Get(cleanTimeKey(topic, partition))
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer closer.Close()
	h, err := unmarshalCleanHistory(v)
	if err != nil {
		return nil, nil // the history only keeps tombstones longer
	}
	return h, nil
}

// cleanerCheckpoint returns the stored first dirty offset, or 0.
func (m *metaStore) cleanerCheckpoint(topic string, partition int32) (int64, error) {
	return m.int64At(cleanerKey(topic, partition), 0)
}

// flush makes the unsynced recovery points durable (at clean shutdown).
func (m *metaStore) flush() error {
	return m.db.LogData(nil, pebble.Sync)
}

// pebbleLogger sends pebble's messages to slog, quietly: pebble's info
// lines are about its own housekeeping.
type pebbleLogger struct{ l *slog.Logger }

func (p pebbleLogger) Infof(format string, args ...any) {
	p.l.Debug(fmt.Sprintf(format, args...), "component", "pebble")
}
func (p pebbleLogger) Errorf(format string, args ...any) {
	p.l.Error(fmt.Sprintf(format, args...), "component", "pebble")
}
func (p pebbleLogger) Fatalf(format string, args ...any) {
	p.l.Error(fmt.Sprintf(format, args...), "component", "pebble")
	os.Exit(1)
}

func nowMs(now time.Time) int64 { return now.UnixMilli() }
