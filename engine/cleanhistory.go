package engine

import (
	"encoding/binary"
	"errors"
)

// cleanHistory says when each stretch of a partition's log was first
// cleaned, for delete.retention.ms: a tombstone must stay readable for that
// long after the first cleaning that saw it, so that a consumer reading
// the log from the start meanwhile sees the delete (Kafka's delete horizon,
// KIP-534). Kafka stamps the horizon into the cleaned batches; keeping it
// beside the log instead leaves batches as their producers wrote them,
// timestamps included.
//
// Entry i covers offsets [end of entry i-1, end of entry i): they were
// first cleaned at entry i's time. Ends and times ascend. Cleanings within
// one time bucket (a 64th of delete.retention.ms) share an entry whose time
// is the bucket's end, later than any of them, so a tombstone is never
// removed early and the history stays short; entries past the horizon
// collapse into the first.
type cleanHistory []cleanedTo

type cleanedTo struct {
	end int64 // offsets below were cleaned by then
	at  int64 // unix milliseconds, rounded up to the bucket's end
}

// horizon returns the offset below which tombstones are past
// delete.retention.ms (retention, in ms) at now.
func (h cleanHistory) horizon(now, retention int64) int64 {
	var end int64
	for _, c := range h {
		if c.at >= now-retention {
			break
		}
		end = c.end
	}
	return end
}

// add records a cleaning at now of everything below end.
func (h cleanHistory) add(end, now, retention int64) cleanHistory {
	bucket := max(retention/64, 1)
	at := (now/bucket + 1) * bucket
	switch n := len(h); {
	case n > 0 && end <= h[n-1].end:
	case n > 0 && h[n-1].at == at:
		h[n-1].end = end
	default:
		h = append(h, cleanedTo{end: end, at: at})
	}
	// Entries past the horizon all say the same: keep the last of them.
	j := 0
	for j+1 < len(h) && h[j+1].at < now-retention {
		j++
	}
	return append(h[:0], h[j:]...)
}

// truncate forgets cleanings of offsets from offset on: a follower cut its
// log there, and what it fetches next is dirty.
func (h cleanHistory) truncate(offset int64) cleanHistory {
	out := h[:0]
	for _, c := range h {
		c.end = min(c.end, offset)
		if c.end <= 0 || len(out) > 0 && out[len(out)-1].end == c.end {
			continue
		}
		out = append(out, c)
	}
	return out
}

const cleanedToBytes = 16

func (h cleanHistory) marshal() []byte {
	b := make([]byte, 0, len(h)*cleanedToBytes)
	for _, c := range h {
		b = binary.BigEndian.AppendUint64(b, uint64(c.end))
		b = binary.BigEndian.AppendUint64(b, uint64(c.at))
	}
	return b
}

var errBadCleanHistory = errors.New("clean history: malformed")

// unmarshalCleanHistory decodes what marshal wrote; anything else (a torn
// or foreign value) is an error, never a panic.
func unmarshalCleanHistory(b []byte) (cleanHistory, error) {
	if len(b)%cleanedToBytes != 0 {
		return nil, errBadCleanHistory
	}
	h := make(cleanHistory, 0, len(b)/cleanedToBytes)
	for ; len(b) > 0; b = b[cleanedToBytes:] {
		c := cleanedTo{end: int64(binary.BigEndian.Uint64(b)), at: int64(binary.BigEndian.Uint64(b[8:]))}
		if c.end <= 0 || len(h) > 0 && (c.end <= h[len(h)-1].end || c.at < h[len(h)-1].at) {
			return nil, errBadCleanHistory
		}
		h = append(h, c)
	}
	return h, nil
}
