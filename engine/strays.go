package engine

// Stray partition directories: what a create that failed, or that a crash
// cut short, left in the data directory.
//
// A create is committed by one synced pebble batch (the topic's record
// with its new partition count), and makes no directory: each partition
// makes its own on its first append (createPartition, segment.CreateLazy),
// which only a committed partition can take. So a create that fails or is
// killed leaves nothing on disk, and Open takes a stored partition without
// a directory for an empty one. What follows guards against directories
// that exist anyway (left by older versions, a failed removal, or a
// partition dropped from this broker):
//
//   - the create stores an intent,
//     creating/<topic> = {id, from, to}; the commit deletes it in the same
//     batch that writes the topic;
//   - a create that fails drops its intent;
//   - Open removes the directories of every intent left (those the topic
//     as stored does not have), then sweeps the data directory for strays:
//     <topic>-<n> directories whose topic is not stored, or whose n is not
//     one of its partitions stored here.
//
// The intent is written without a sync (the commit's sync makes it
// durable, in order): a crash that loses it lost the directories' creation
// too, or left them to the sweep. Strays are renamed to a -delete name
// before they are removed, as deleted topics are, so a crash mid-removal
// leaves a name Open finishes removing. The sweep removes only directories
// whose every entry is a partition's (segments, indexes, the leader-epoch
// checkpoint, a cleaning's work): anything else is logged and left alone.

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

const creatingPrefix = "creating/"

// createIntent is a create of partitions [From, To) of a topic that has
// not committed yet.
type createIntent struct {
	Topic string   `json:"topic"`
	ID    [16]byte `json:"id"`
	From  int32    `json:"from"`
	To    int32    `json:"to"`
}

// beginCreate stores the intent to create partitions [from, to) of a
// topic and drops whatever per-partition keys those partitions have (a
// late flush of a deleted topic of the same name may have left some), so
// that the new partitions never trust stale recovery points.
func (m *metaStore) beginCreate(in createIntent) error {
	v, err := json.Marshal(in)
	if err != nil {
		return err
	}
	b := m.db.NewBatch()
	defer b.Close()
	if in.From == 0 {
		err = deleteRecoveryPoints(b, in.Topic)
	} else {
		for id := in.From; id < in.To && err == nil; id++ {
			err = deletePartitionKeys(b, in.Topic, id)
		}
	}
	if err != nil {
		return err
	}
	if err := b.Set([]byte(creatingPrefix+in.Topic), v, nil); err != nil {
		return err
	}
	if err := b.Commit(pebble.NoSync); err != nil {
		return fmt.Errorf("meta: begin create of %s: %w", in.Topic, err)
	}
	return nil
}

// commitCreate writes the topic and drops its create intent, in one synced
// batch: the create's commit point.
func (m *metaStore) commitCreate(t *topicMeta) error {
	v, err := json.Marshal(t)
	if err != nil {
		return err
	}
	b := m.db.NewBatch()
	defer b.Close()
	if err := b.Set([]byte(topicPrefix+t.Name), v, nil); err != nil {
		return err
	}
	if err := b.Delete([]byte(creatingPrefix+t.Name), nil); err != nil {
		return err
	}
	if err := b.Commit(pebble.Sync); err != nil {
		return fmt.Errorf("meta: put topic %s: %w", t.Name, err)
	}
	return nil
}

// endCreate drops a create intent once its directories are gone.
func (m *metaStore) endCreate(topic string) error {
	return m.db.Delete([]byte(creatingPrefix+topic), pebble.NoSync)
}

func (m *metaStore) createIntents() ([]createIntent, error) {
	it, err := m.db.NewIter(&pebble.IterOptions{
		LowerBound: []byte(creatingPrefix),
		UpperBound: []byte("creating0"), // '0' follows '/'
	})
	if err != nil {
		return nil, err
	}
	defer it.Close()
	var out []createIntent
	for it.First(); it.Valid(); it.Next() {
		var in createIntent
		if err := json.Unmarshal(it.Value(), &in); err != nil {
			return nil, fmt.Errorf("meta: create intent %q: %w", it.Key(), err)
		}
		out = append(out, in)
	}
	return out, it.Error()
}

func deletePartitionKeys(b *pebble.Batch, topic string, id int32) error {
	for _, prefix := range partitionPrefixes {
		if err := b.Delete([]byte(fmt.Sprintf("%s%s/%d", prefix, topic, id)), nil); err != nil {
			return err
		}
	}
	return nil
}

// sweepDataDir runs at Open, before any partition opens: it finishes
// deletions a crash interrupted, undoes creates that did not commit, and
// removes stray partition directories. It returns how many strays it
// removed.
func (e *Engine) sweepDataDir(metas []*topicMeta) (int, error) {
	byName := make(map[string]*topicMeta, len(metas))
	for _, m := range metas {
		byName[m.Name] = m
	}
	kept := func(topic string, id int32) bool {
		m := byName[topic]
		return m != nil && id < m.Partitions && m.hosts(id)
	}
	removed := 0
	intents, err := e.meta.createIntents()
	if err != nil {
		return 0, err
	}
	for _, in := range intents {
		if m := byName[in.Topic]; m != nil && m.ID != in.ID {
			// Another topic of the name committed since: leave its
			// partitions to the sweep below, which keeps them.
			in.From = in.To
		}
		for id := in.From; id < in.To; id++ {
			if kept(in.Topic, id) {
				continue
			}
			dir := partitionDir(e.dir, in.Topic, id)
			if _, err := os.Lstat(dir); errors.Is(err, os.ErrNotExist) {
				continue
			}
			if err := removeStray(dir); err != nil {
				return removed, err
			}
			removed++
		}
		if err := e.meta.endCreate(in.Topic); err != nil {
			return removed, err
		}
		e.logger.Warn("undid a topic create that did not finish", "topic", in.Topic, "partitions_from", in.From, "partitions_to", in.To)
	}

	entries, err := os.ReadDir(e.dir)
	if err != nil {
		return removed, err
	}
	for _, ent := range entries {
		name := ent.Name()
		if !ent.IsDir() {
			continue
		}
		path := filepath.Join(e.dir, name)
		if strings.HasSuffix(name, deletedSuffix) {
			if err := os.RemoveAll(path); err != nil {
				return removed, err
			}
			continue
		}
		topic, id, ok := parsePartitionDir(name)
		if !ok || kept(topic, id) {
			continue
		}
		if !looksLikePartition(path) {
			e.logger.Warn("leaving a directory that is named like a partition but holds other files", "dir", path)
			continue
		}
		if err := removeStray(path); err != nil {
			return removed, err
		}
		removed++
		e.logger.Warn("removed a stray partition directory", "dir", path, "topic", topic, "partition", id)
	}
	return removed, nil
}

// parsePartitionDir splits a directory name <topic>-<n> (n a decimal
// partition id, without leading zeros).
func parsePartitionDir(name string) (string, int32, bool) {
	i := strings.LastIndexByte(name, '-')
	if i <= 0 || i == len(name)-1 {
		return "", 0, false
	}
	topic, num := name[:i], name[i+1:]
	n, err := strconv.ParseInt(num, 10, 32)
	if err != nil || n < 0 || strconv.FormatInt(n, 10) != num {
		return "", 0, false
	}
	if ValidateTopicName(topic) != nil {
		return "", 0, false
	}
	return topic, int32(n), true
}

// looksLikePartition reports whether every entry of dir is one a
// partition keeps: files named by a 20-digit offset (segments, indexes
// and their temporary forms), the leader-epoch checkpoint (and its
// temporary), and a cleaning's work directory.
func looksLikePartition(dir string) bool {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	for _, e := range entries {
		name := e.Name()
		switch {
		case name == cleaningDirName && e.IsDir():
		case strings.HasPrefix(name, epochFile) && !e.IsDir():
		case len(name) > 20 && isDigits(name[:20]) && name[20] == '.' && !e.IsDir():
		default:
			return false
		}
	}
	return true
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// removeStray renames dir to a -delete name, then removes it.
func removeStray(dir string) error {
	doomed := fmt.Sprintf("%s.%d%s", dir, time.Now().UnixNano(), deletedSuffix)
	if err := os.Rename(dir, doomed); err != nil {
		return fmt.Errorf("stray %s: %w", dir, err)
	}
	if err := os.RemoveAll(doomed); err != nil {
		return fmt.Errorf("stray %s: %w", dir, err)
	}
	return nil
}
