package protocol

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Frame layout, all big-endian:
//
//	request:  length uint32 | apiKey uint16 | version uint16 | correlationId uint32 | body
//	response: length uint32 | correlationId uint32 | body
//
// length counts the bytes after itself.
const (
	// LengthSize is the size of the length prefix of every frame.
	LengthSize = 4
	// RequestHeaderSize is the size of a request header after the length.
	RequestHeaderSize = 8
	// ResponseHeaderSize is the size of a response header after the length.
	ResponseHeaderSize = 4
	// DefaultMaxFrameSize is the frame limit ReadFrame applies when given
	// none: 100 MiB, the default of Kafka's socket.request.max.bytes.
	DefaultMaxFrameSize = 100 << 20
)

// ErrFrameTooLarge is returned by ReadFrame for a length prefix above the
// limit. The frame's bytes are still on the wire, so the connection can no
// longer be read in step and must be closed.
var ErrFrameTooLarge = errors.New("protocol: frame larger than the limit")

// RequestHeader is what precedes every request body.
type RequestHeader struct {
	APIKey        APIKey
	Version       int16
	CorrelationID int32
}

// ReadFrame reads one length-prefixed frame from r and returns the bytes
// after the length prefix: a request's header and body, or a response's.
//
// The frame is read into buf, which is grown if it is too small; pass the
// previous frame back in to reuse its memory. Everything decoded from the
// frame without copying (record bytes) is only valid until the buffer is
// reused. A large frame's buffer grows as its bytes arrive, not when the
// length prefix announces them.
//
// maxSize is the largest frame accepted (socket.request.max.bytes);
// DefaultMaxFrameSize if maxSize <= 0. A longer frame fails with an error
// wrapping ErrFrameTooLarge. A stream that ends before a frame starts
// returns io.EOF; one that ends inside a frame, io.ErrUnexpectedEOF. On
// error the returned slice is empty but keeps buf's memory.
func ReadFrame(r io.Reader, buf []byte, maxSize int) ([]byte, error) {
	if maxSize <= 0 {
		maxSize = DefaultMaxFrameSize
	}
	if cap(buf) < LengthSize {
		buf = make([]byte, 0, 4096)
	}
	buf = buf[:LengthSize]
	if _, err := io.ReadFull(r, buf); err != nil {
		return buf[:0], err
	}
	n := uint64(binary.BigEndian.Uint32(buf))
	if n > uint64(maxSize) {
		return buf[:0], fmt.Errorf("%w: %d bytes, limit %d", ErrFrameTooLarge, n, maxSize)
	}
	size := int(n)
	have := 0
	for have < size {
		if cap(buf) <= have {
			grown := make([]byte, min(size, max(2*cap(buf), 64<<10)))
			copy(grown, buf[:have])
			buf = grown
		}
		end := min(size, cap(buf))
		m, err := io.ReadFull(r, buf[have:end])
		have += m
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return buf[:0], err
		}
	}
	return buf[:size], nil
}

// ParseRequestHeader splits a request frame (as ReadFrame returns it) into
// its header and body. It fails, wrapping ErrMalformed, only if the frame
// is shorter than a header; the key and version are not checked (see
// Supported). A frame too short for a header has no correlation id to
// answer with, so a server closes the connection.
func ParseRequestHeader(frame []byte) (RequestHeader, []byte, error) {
	if len(frame) < RequestHeaderSize {
		return RequestHeader{}, nil, fmt.Errorf("%w: request frame of %d bytes, shorter than the %d-byte header",
			ErrMalformed, len(frame), RequestHeaderSize)
	}
	h := RequestHeader{
		APIKey:        APIKey(binary.BigEndian.Uint16(frame)),
		Version:       int16(binary.BigEndian.Uint16(frame[2:])),
		CorrelationID: int32(binary.BigEndian.Uint32(frame[4:])),
	}
	return h, frame[RequestHeaderSize:], nil
}

// ParseResponseHeader splits a response frame (as ReadFrame returns it)
// into its correlation id and body. It fails, wrapping ErrMalformed, if the
// frame is shorter than a header.
func ParseResponseHeader(frame []byte) (correlationID int32, body []byte, err error) {
	if len(frame) < ResponseHeaderSize {
		return 0, nil, fmt.Errorf("%w: response frame of %d bytes, shorter than the %d-byte header",
			ErrMalformed, len(frame), ResponseHeaderSize)
	}
	return int32(binary.BigEndian.Uint32(frame)), frame[ResponseHeaderSize:], nil
}

// AppendRequestFrame appends a whole request frame to dst: the length
// prefix, the header (the request's key, version 0, correlationID) and the
// body.
func AppendRequestFrame(dst []byte, correlationID int32, req Request) []byte {
	start := len(dst)
	dst = appendInt32(dst, 0)
	dst = appendInt16(dst, int16(req.Key()))
	dst = appendInt16(dst, 0)
	dst = appendInt32(dst, correlationID)
	dst = req.AppendTo(dst)
	return patchLength(dst, start, 0)
}

// AppendResponseFrame appends a whole response frame to dst: the length
// prefix, correlationID and the body. A FetchResponse whose records the
// server sends itself goes through AppendFetchResponseFrame instead.
func AppendResponseFrame(dst []byte, correlationID int32, resp Response) []byte {
	start := len(dst)
	dst = appendInt32(dst, 0)
	dst = appendInt32(dst, correlationID)
	dst = resp.AppendTo(dst)
	return patchLength(dst, start, 0)
}

// AppendErrorResponseFrame appends a response frame whose body is only the
// top-level error code. It answers any API: the client decodes it into
// that API's response with every field but the error zero. Servers send it
// for an unknown key or version (ErrUnsupportedVersion) and for a body
// that does not decode (ErrInvalidRequest).
func AppendErrorResponseFrame(dst []byte, correlationID int32, code ErrorCode) []byte {
	dst = appendInt32(dst, ResponseHeaderSize+2)
	dst = appendInt32(dst, correlationID)
	return appendInt16(dst, int16(code))
}

// patchLength writes the length prefix of the frame that starts at start,
// counting extra bytes that are not in dst (spliced records).
func patchLength(dst []byte, start int, extra int64) []byte {
	binary.BigEndian.PutUint32(dst[start:], uint32(int64(len(dst)-start-LengthSize)+extra))
	return dst
}
