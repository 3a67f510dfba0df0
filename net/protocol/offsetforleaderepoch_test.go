package protocol

import (
	"bytes"
	"encoding/hex"
	"errors"
	"testing"
)

// The wire layout of OffsetForLeaderEpoch, byte for byte as
// docs/PROTOCOL.md lists its fields; and every strict prefix of it is
// refused as malformed, never read as something shorter.
func TestOffsetForLeaderEpochLayout(t *testing.T) {
	for _, tc := range []struct {
		msg  message
		want string
	}{
		{&OffsetForLeaderEpochRequest{ReplicaID: -1, Topics: []OffsetForLeaderEpochRequestTopic{
			{Name: "ev", Partitions: []OffsetForLeaderEpochRequestPartition{{Partition: 2, CurrentLeaderEpoch: 7, LeaderEpoch: 5}}}}},
			"ffffffff" + // ReplicaID -1
				"00000001" + "0002" + "6576" + // one topic, "ev"
				"00000001" + "00000002" + "00000007" + "00000005"}, // one partition: 2, current 7, asked 5
		{&OffsetForLeaderEpochResponse{Topics: []OffsetForLeaderEpochResponseTopic{
			{Name: "ev", Partitions: []OffsetForLeaderEpochResponsePartition{{Partition: 2, ErrorCode: ErrFencedLeaderEpoch, LeaderEpoch: 4, EndOffset: 300}}}}},
			"0000" + // ErrorCode
				"00000001" + "0002" + "6576" +
				"00000001" + "00000002" + "004a" + "00000004" + "000000000000012c"}, // 2, FENCED_LEADER_EPOCH (74), epoch 4, end 300
	} {
		body := tc.msg.AppendTo(nil)
		if got := hex.EncodeToString(body); got != tc.want {
			t.Fatalf("%T:\ngot  %s\nwant %s", tc.msg, got, tc.want)
		}
		_, isResp := tc.msg.(Response)
		for n := range len(body) {
			if isResp && n == 2 {
				continue // an error-only response body is valid for every API
			}
			m := newMessage(t, tc.msg.Key(), isResp)
			if err := m.DecodeFrom(body[:n]); !errors.Is(err, ErrMalformed) {
				t.Fatalf("%T: %d of %d bytes decoded: %v", tc.msg, n, len(body), err)
			}
		}
		if m := newMessage(t, tc.msg.Key(), isResp); m.DecodeFrom(append(bytes.Clone(body), 0)) == nil {
			t.Fatalf("%T: a trailing byte was accepted", tc.msg)
		}
	}
}
