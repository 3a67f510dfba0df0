package kafka

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestFetchFrameMatchesKmsg checks the hand-written Fetch framing against
// kmsg at every version answered: with the records put in at the splice
// points, the frame must be byte for byte what kmsg encodes for the same
// response, and must decode back into it.
func TestFetchFrameMatchesKmsg(t *testing.T) {
	recs := [][]byte{
		bytes.Repeat([]byte{0xab}, 10),
		nil,
		bytes.Repeat([]byte{0xcd}, 300), // a uvarint length of two bytes
	}
	for v := ownAPIs[1].min; v <= ownAPIs[1].max; v++ {
		t.Run(fmt.Sprintf("v%d", v), func(t *testing.T) {
			resp := kmsg.NewPtrFetchResponse()
			resp.Version = v
			resp.ThrottleMillis, resp.ErrorCode, resp.SessionID = 7, 0, 0
			var lens []int64
			for ti, name := range []string{"alpha", "beta"} {
				rt := kmsg.NewFetchResponseTopic()
				rt.Topic = name
				for pi := range recs {
					p := kmsg.NewFetchResponseTopicPartition()
					p.Partition = int32(pi)
					p.ErrorCode = int16(ti)
					p.HighWatermark, p.LastStableOffset, p.LogStartOffset = 100+int64(pi), 100+int64(pi), int64(pi)
					rt.Partitions = append(rt.Partitions, p)
					lens = append(lens, int64(len(recs[pi])))
				}
				resp.Topics = append(resp.Topics, rt)
			}
			h := header{key: 1, version: v, correlationID: 42, flexible: resp.IsFlexible()}
			frame, splices := appendFetchFrame(nil, h, resp, lens, nil)

			// Put the records in.
			var full []byte
			prev, k := 0, 0
			for _, at := range splices {
				full = append(full, frame[prev:at]...)
				for lens[k] == 0 {
					k++
				}
				full = append(full, recs[k%len(recs)]...)
				k++
				prev = at
			}
			full = append(full, frame[prev:]...)

			// What kmsg encodes with the records inline.
			for ti := range resp.Topics {
				for pi := range resp.Topics[ti].Partitions {
					resp.Topics[ti].Partitions[pi].RecordBatches = append([]byte{}, recs[pi]...)
				}
			}
			want := appendHeader(nil, h)
			want = resp.AppendTo(want)
			binary.BigEndian.PutUint32(want, uint32(len(want)-4))
			if !bytes.Equal(full, want) {
				t.Fatalf("frame differs from kmsg's encoding:\n got %x\nwant %x", full, want)
			}
			got := kmsg.NewPtrFetchResponse()
			got.Version = v
			skip := 8
			if h.flexible {
				skip++
			}
			if err := got.ReadFrom(full[skip:]); err != nil {
				t.Fatalf("kmsg cannot decode the frame: %v", err)
			}
			if len(got.Topics) != 2 || !bytes.Equal(got.Topics[1].Partitions[2].RecordBatches, recs[2]) {
				t.Fatalf("decoded %+v", got.Topics)
			}
		})
	}
}
