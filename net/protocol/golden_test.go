package protocol

import (
	"bytes"
	"encoding/hex"
	"reflect"
	"strings"
	"testing"
)

// Golden layouts, written out by hand from the spec in docs/PROTOCOL.md
// rather than produced by the encoder: they pin the byte order, the field
// order and the null encodings.

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	var clean strings.Builder
	for line := range strings.Lines(s) {
		line, _, _ = strings.Cut(line, "#")
		clean.WriteString(strings.Join(strings.Fields(line), ""))
	}
	b, err := hex.DecodeString(clean.String())
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestGoldenFrameHeaders(t *testing.T) {
	req := AppendRequestFrame(nil, 0x0a0b0c0d, &APIVersionsRequest{})
	want := unhex(t, `
		00000008   # length: the header and an empty body
		0012       # apiKey 18, ApiVersions
		0000       # version 0
		0a0b0c0d   # correlationId`)
	if !bytes.Equal(req, want) {
		t.Fatalf("request header\ngot  %x\nwant %x", req, want)
	}
	h, body, err := ParseRequestHeader(want[LengthSize:])
	if err != nil || h != (RequestHeader{APIKey: APIVersions, CorrelationID: 0x0a0b0c0d}) || len(body) != 0 {
		t.Fatalf("parsed %+v %x %v", h, body, err)
	}

	// A key with the top bit set reads back as a negative APIKey, which
	// no API uses.
	h, _, _ = ParseRequestHeader(unhex(t, "ffff 0001 ffffffff"))
	if h != (RequestHeader{APIKey: -1, Version: 1, CorrelationID: -1}) {
		t.Fatalf("parsed %+v", h)
	}

	resp := AppendErrorResponseFrame(nil, 0x01020304, ErrUnsupportedVersion)
	want = unhex(t, `
		00000006   # length
		01020304   # correlationId
		0023       # errorCode 35, UNSUPPORTED_VERSION`)
	if !bytes.Equal(resp, want) {
		t.Fatalf("error response\ngot  %x\nwant %x", resp, want)
	}
}

func TestGoldenProduceRequest(t *testing.T) {
	req := &ProduceRequest{Acks: AcksAll, TimeoutMs: 1500, Topics: []ProduceRequestTopic{
		{Name: "ev", Partitions: []ProduceRequestPartition{
			{Partition: 3, Records: []byte{0xde, 0xad}},
			{Partition: 4, Records: nil},
		}},
	}}
	want := unhex(t, `
		0000002c   # length 44: 8 of header, 36 of body
		0000       # apiKey 0, Produce
		0000       # version 0
		00000007   # correlationId 7
		ffff       # acks -1
		000005dc   # timeoutMs 1500
		00000001   # topics: 1
		0002 6576    # name "ev"
		00000002     # partitions: 2
		00000003       # partition 3
		00000002       # records: 2 bytes
		dead
		00000004       # partition 4
		ffffffff       # records: null`)
	got := AppendRequestFrame(nil, 7, req)
	if !bytes.Equal(got, want) {
		t.Fatalf("produce request\ngot  %x\nwant %x", got, want)
	}
	var dec ProduceRequest
	if err := dec.DecodeFrom(want[LengthSize+RequestHeaderSize:]); err != nil || !reflect.DeepEqual(&dec, req) {
		t.Fatalf("decoded %+v, %v", dec, err)
	}
}

func TestGoldenFetchResponse(t *testing.T) {
	resp := &FetchResponse{Topics: []FetchResponseTopic{
		{Name: "ev", Partitions: []FetchResponsePartition{
			{Partition: 0, ErrorCode: ErrOffsetOutOfRange, HighWatermark: 10, LastStableOffset: 10, LogStartOffset: 2, Records: []byte{0xab}},
		}},
	}}
	want := unhex(t, `
		00000039           # length 57: 4 of header, 53 of body
		00000009           # correlationId 9
		0000               # errorCode 0
		00000000           # throttleTimeMs 0
		00000001           # topics: 1
		0002 6576            # name "ev"
		00000001             # partitions: 1
		00000000               # partition 0
		0001                   # errorCode 1, OFFSET_OUT_OF_RANGE
		000000000000000a       # highWatermark 10
		000000000000000a       # lastStableOffset 10
		0000000000000002       # logStartOffset 2
		00000001               # records: 1 byte
		ab`)
	got := AppendResponseFrame(nil, 9, resp)
	if !bytes.Equal(got, want) {
		t.Fatalf("fetch response\ngot  %x\nwant %x", got, want)
	}
	// The same frame with the records spliced: everything but the last
	// byte, and a splice there.
	resp.Topics[0].Partitions[0].Records = nil
	resp.Topics[0].Partitions[0].RecordsLen = 1
	frame, splices := AppendFetchResponseFrame(nil, 9, resp)
	if !bytes.Equal(frame, want[:len(want)-1]) || !reflect.DeepEqual(splices, []Splice{{At: len(want) - 1, Len: 1}}) {
		t.Fatalf("spliced fetch response\ngot  %x %+v\nwant %x", frame, splices, want[:len(want)-1])
	}
}
