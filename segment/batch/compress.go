package batch

import (
	"encoding/binary"
	"fmt"
	"io"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
)

// xerialMagic opens a snappy payload in the xerial framing of snappy-java,
// which Kafka's Java producer writes. The header continues with two
// big-endian int32s, the format version and the oldest compatible version,
// and then come blocks, each a big-endian int32 length and a raw snappy
// block.
var xerialMagic = [8]byte{0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0}

const (
	xerialHeaderSize = 16
	// xerialBlockSize is snappy-java's default block size, so our frames
	// have the shape Java consumers meet every day.
	xerialBlockSize = 32 << 10
)

// compressor holds one encoder per codec, made on first use and reused, so
// that a Builder compresses without allocating once warm.
type compressor struct {
	sink appendWriter
	gz   *gzip.Writer
	lz   *lz4.Writer
	zs   *zstd.Encoder
}

// appendWriter is an io.Writer over a byte slice we own; streaming encoders
// write into it, and the result stays in our buffer.
type appendWriter struct{ b []byte }

func (w *appendWriter) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	return len(p), nil
}

// compress appends the compressed form of src to dst.
func (c *compressor) compress(dst, src []byte, codec Codec) ([]byte, error) {
	switch codec {
	case None:
		return append(dst, src...), nil
	case Gzip:
		if c.gz == nil {
			// Java's GZIPOutputStream uses the default level too.
			c.gz, _ = gzip.NewWriterLevel(nil, gzip.DefaultCompression)
		}
		return c.stream(dst, src, c.gz)
	case LZ4:
		if c.lz == nil {
			c.lz = lz4.NewWriter(nil)
			// Frame the way Kafka's Java client does: independent
			// 64 KiB blocks and no content checksum. Java readers
			// have varied in how they treat that checksum, so a
			// frame without one is the safe common ground, and small
			// blocks keep the encoder's buffers small too.
			err := c.lz.Apply(lz4.BlockSizeOption(lz4.Block64Kb), lz4.ChecksumOption(false))
			if err != nil {
				return dst, fmt.Errorf("batch: configuring lz4: %w", err)
			}
		}
		return c.stream(dst, src, c.lz)
	case Snappy:
		return appendXerial(dst, src), nil
	case Zstd:
		if c.zs == nil {
			var err error
			// One encoder state is enough: a Builder compresses one
			// batch at a time.
			c.zs, err = zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1))
			if err != nil {
				return dst, fmt.Errorf("batch: creating zstd encoder: %w", err)
			}
		}
		return c.zs.EncodeAll(src, dst), nil
	}
	return dst, fmt.Errorf("%w: cannot compress with %v", ErrBadCodec, codec)
}

// streamEncoder is what the gzip and lz4 writers have in common.
type streamEncoder interface {
	io.Writer
	Reset(w io.Writer)
	Close() error
}

// stream runs src through a streaming encoder into dst.
func (c *compressor) stream(dst, src []byte, enc streamEncoder) ([]byte, error) {
	c.sink.b = dst
	enc.Reset(&c.sink)
	_, err := enc.Write(src)
	if err == nil {
		err = enc.Close()
	}
	dst, c.sink.b = c.sink.b, nil
	if err != nil {
		return dst, fmt.Errorf("batch: compressing: %w", err)
	}
	return dst, nil
}

// appendXerial appends src snappy-compressed in the xerial framing. Every
// block is independent, so there is no encoder state to keep.
func appendXerial(dst, src []byte) []byte {
	dst = append(dst, xerialMagic[:]...)
	dst = binary.BigEndian.AppendUint32(dst, 1) // version
	dst = binary.BigEndian.AppendUint32(dst, 1) // oldest compatible version
	for len(src) > 0 {
		n := min(len(src), xerialBlockSize)
		at := len(dst)
		dst = grow(dst, 4+s2.MaxEncodedLen(n))
		// EncodeSnappy writes plain snappy (no s2 extensions) in place
		// when given room, which grow just made.
		block := s2.EncodeSnappy(dst[at+4:cap(dst)], src[:n])
		binary.BigEndian.PutUint32(dst[at:at+4], uint32(len(block)))
		dst = dst[:at+4+len(block)]
		src = src[n:]
	}
	return dst
}

// grow returns b with room for at least n more bytes past len(b).
func grow(b []byte, n int) []byte {
	if cap(b)-len(b) >= n {
		return b
	}
	nb := make([]byte, len(b), max(len(b)+n, 2*cap(b)))
	copy(nb, b)
	return nb
}
