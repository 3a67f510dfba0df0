package protocol_test

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/sluicelog/sluice/net/protocol"
)

// A client sends a request, a server decodes it and answers, the client
// decodes the answer. A bytes.Buffer stands in for each direction of a
// TCP connection.
func Example() {
	var toServer, toClient bytes.Buffer

	// Client: one frame per request, each with its own correlation id.
	toServer.Write(protocol.AppendRequestFrame(nil, 1, &protocol.MetadataRequest{Topics: []string{"orders"}}))

	// Server: read a frame, parse its header, dispatch on the key.
	frame, _ := protocol.ReadFrame(&toServer, nil, protocol.DefaultMaxFrameSize)
	hdr, body, _ := protocol.ParseRequestHeader(frame)
	req, _ := protocol.NewRequest(hdr.APIKey)
	if err := req.DecodeFrom(body); err != nil {
		toClient.Write(protocol.AppendErrorResponseFrame(nil, hdr.CorrelationID, protocol.ErrInvalidRequest))
		return
	}
	md := req.(*protocol.MetadataRequest)
	resp := &protocol.MetadataResponse{
		Brokers: []protocol.MetadataResponseBroker{{NodeID: 0, Host: "localhost", Port: 9092}},
		Topics: []protocol.MetadataResponseTopic{
			{Name: md.Topics[0], ErrorCode: protocol.ErrUnknownTopicOrPartition},
		},
	}
	toClient.Write(protocol.AppendResponseFrame(nil, hdr.CorrelationID, resp))

	// Client: match the correlation id, decode with the API it asked.
	frame, _ = protocol.ReadFrame(&toClient, nil, 0)
	id, body, _ := protocol.ParseResponseHeader(frame)
	var got protocol.MetadataResponse
	if err := got.DecodeFrom(body); err != nil {
		panic(err)
	}
	fmt.Println(id, got.TopError().String(), got.Brokers[0].Host, got.Topics[0].Name, got.Topics[0].ErrorCode.String())
	// Output: 1 NONE localhost orders UNKNOWN_TOPIC_OR_PARTITION
}

// A server's read loop: refuse oversized frames by closing the connection,
// answer what it cannot serve with an error-only response.
func ExampleReadFrame() {
	var conn bytes.Buffer // the client's side of a connection
	conn.Write(protocol.AppendRequestFrame(nil, 7, &protocol.APIVersionsRequest{}))
	conn.Write(protocol.AppendRequestFrame(nil, 8, &protocol.FetchRequest{}))
	conn.Write([]byte{0, 0, 0, 10, 0, 99, 0, 0, 0, 0, 0, 9, 1, 2}) // key 99, correlation id 9

	var buf, out []byte
	for {
		frame, err := protocol.ReadFrame(&conn, buf, 1<<20)
		if err != nil {
			break // close: io.EOF (the client left), a torn frame, or ErrFrameTooLarge
		}
		buf = frame
		hdr, body, err := protocol.ParseRequestHeader(frame)
		if err != nil {
			break // no correlation id to answer with
		}
		if !protocol.Supported(hdr.APIKey, hdr.Version) {
			fmt.Printf("%d: %v is not supported\n", hdr.CorrelationID, hdr.APIKey)
			out = protocol.AppendErrorResponseFrame(out, hdr.CorrelationID, protocol.ErrUnsupportedVersion)
			continue
		}
		req, _ := protocol.NewRequest(hdr.APIKey)
		if err := req.DecodeFrom(body); err != nil {
			out = protocol.AppendErrorResponseFrame(out, hdr.CorrelationID, protocol.ErrInvalidRequest)
			continue
		}
		fmt.Printf("%d: %v request\n", hdr.CorrelationID, req.Key())
	}
	// Output:
	// 7: ApiVersions request
	// 8: Fetch request
	// 9: APIKey(99) is not supported
}

// A broker sends fetched records from segment files: the frame leaves them
// out, and each Splice says where a file region goes.
func ExampleAppendFetchResponseFrame() {
	resp := &protocol.FetchResponse{Topics: []protocol.FetchResponseTopic{{
		Name: "orders",
		Partitions: []protocol.FetchResponsePartition{
			{Partition: 0, HighWatermark: 42, RecordsLen: 3}, // 3 bytes in a segment file
			{Partition: 1, ErrorCode: protocol.ErrOffsetOutOfRange},
		},
	}}}
	segments := map[int]string{0: "abc"} // partition -> its region's bytes

	frame, splices := protocol.AppendFetchResponseFrame(nil, 5, resp)
	var conn strings.Builder
	pos := 0
	for _, s := range splices {
		conn.Write(frame[pos:s.At])
		conn.WriteString(segments[s.Partition]) // sendfile(conn, file, &off, s.Len)
		pos = s.At
	}
	conn.Write(frame[pos:])

	fmt.Println(len(splices), "splice;", conn.Len()-protocol.LengthSize, "bytes framed")
	frame, _ = protocol.ReadFrame(strings.NewReader(conn.String()), nil, 0)
	_, body, _ := protocol.ParseResponseHeader(frame)
	var got protocol.FetchResponse
	_ = got.DecodeFrom(body)
	fmt.Printf("%q %s\n", got.Topics[0].Partitions[0].Records, got.Topics[0].Partitions[1].ErrorCode.String())
	// Output:
	// 1 splice; 97 bytes framed
	// "abc" OFFSET_OUT_OF_RANGE
}

// Error codes from responses become Go errors that callers branch on.
func ExampleErrorCode_Err() {
	p := protocol.ProduceResponsePartition{ErrorCode: protocol.ErrNotLeaderOrFollower}
	err := p.ErrorCode.Err()
	if err != nil {
		err = fmt.Errorf("produce to orders-0: %w", err)
	}
	fmt.Println(errors.Is(err, protocol.ErrNotLeaderOrFollower), protocol.ErrNotLeaderOrFollower.Retriable())
	fmt.Println(protocol.NoError.Err() == nil)
	fmt.Println(err)
	// Output:
	// true true
	// true
	// produce to orders-0: NOT_LEADER_OR_FOLLOWER (6): this broker does not lead (or replicate) the partition; refresh metadata
}
