package kafka

import (
	"encoding/binary"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// Fetch responses are written by hand around the record bytes, because the
// records come from the segment files by sendfile and never sit in a
// buffer. The layout, for the versions answered (4 to 12; flexible from
// 12, where arrays, strings and bytes carry uvarint(length+1) and every
// struct ends with a tag section, always empty here):
//
//	size int32 | correlation id int32 | [tags]
//	throttle ms int32 | error code int16 (v7+) | session id int32 (v7+)
//	topics array:
//	  name string | partitions array:
//	    partition int32 | error code int16 | high watermark int64
//	    last stable offset int64 | log start offset int64 (v5+)
//	    aborted transactions array (null) | preferred read replica int32 (v11+)
//	    records bytes: length, then the bytes themselves | [tags]
//	  [tags]
//	[tags]
//
// The tests check that this framing, with the records put in place,
// decodes with kmsg into the response encoded here, field for field.

// appendFetchFrame appends the frame of resp to dst, leaving out the
// records: recordLens holds the length of each partition's records, in
// response order (partitions without records have 0). It returns the frame
// and, for each partition with records, the frame position at which its
// bytes go; the size field already counts them.
func appendFetchFrame(dst []byte, h header, resp *kmsg.FetchResponse, recordLens []int64, splices []int) ([]byte, []int) {
	v, flex := resp.Version, resp.IsFlexible()
	start := len(dst)
	dst = appendHeader(dst, h)
	dst = binary.BigEndian.AppendUint32(dst, uint32(resp.ThrottleMillis))
	if v >= 7 {
		dst = binary.BigEndian.AppendUint16(dst, uint16(resp.ErrorCode))
		dst = binary.BigEndian.AppendUint32(dst, uint32(resp.SessionID))
	}
	var records int64
	i := 0
	dst = appendArrayLen(dst, len(resp.Topics), flex)
	for ti := range resp.Topics {
		t := &resp.Topics[ti]
		dst = appendString(dst, t.Topic, flex)
		dst = appendArrayLen(dst, len(t.Partitions), flex)
		for pi := range t.Partitions {
			p := &t.Partitions[pi]
			dst = binary.BigEndian.AppendUint32(dst, uint32(p.Partition))
			dst = binary.BigEndian.AppendUint16(dst, uint16(p.ErrorCode))
			dst = binary.BigEndian.AppendUint64(dst, uint64(p.HighWatermark))
			dst = binary.BigEndian.AppendUint64(dst, uint64(p.LastStableOffset))
			if v >= 5 {
				dst = binary.BigEndian.AppendUint64(dst, uint64(p.LogStartOffset))
			}
			dst = appendArrayLen(dst, -1, flex) // no aborted transactions
			if v >= 11 {
				dst = binary.BigEndian.AppendUint32(dst, uint32(p.PreferredReadReplica))
			}
			n := recordLens[i]
			i++
			if flex {
				dst = binary.AppendUvarint(dst, uint64(n)+1)
			} else {
				dst = binary.BigEndian.AppendUint32(dst, uint32(n))
			}
			if n > 0 {
				splices = append(splices, len(dst))
				records += n
			}
			if flex {
				dst = append(dst, 0)
			}
		}
		if flex {
			dst = append(dst, 0)
		}
	}
	if flex {
		dst = append(dst, 0)
	}
	binary.BigEndian.PutUint32(dst[start:], uint32(int64(len(dst)-start-4)+records))
	return dst, splices
}

// appendArrayLen appends an array length; n < 0 is a null array.
func appendArrayLen(dst []byte, n int, flexible bool) []byte {
	if flexible {
		return binary.AppendUvarint(dst, uint64(n+1))
	}
	return binary.BigEndian.AppendUint32(dst, uint32(int32(n)))
}

func appendString(dst []byte, s string, flexible bool) []byte {
	if flexible {
		dst = binary.AppendUvarint(dst, uint64(len(s))+1)
	} else {
		dst = binary.BigEndian.AppendUint16(dst, uint16(len(s)))
	}
	return append(dst, s...)
}
