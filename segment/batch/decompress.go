package batch

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/snappy"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
)

// DefaultMaxDecompressedSize bounds what one batch may decompress to when a
// Reader does not set its own bound. Kafka caps batches at message.max.bytes
// (1 MiB by default, rarely raised past a few hundred MiB) and compression
// ratios of real data stay far below 256:1 for such sizes, so 256 MiB leaves
// room for any honest batch while stopping a few-KiB zip bomb from taking
// gigabytes.
const DefaultMaxDecompressedSize = 256 << 20

// errTooLarge reports a payload that decompresses past the bound.
var errTooLarge = errors.New("decompressed size exceeds the bound")

// decompressor holds one decoder per codec, made on first use and reused.
type decompressor struct {
	src   bytes.Reader // what the streaming decoders read from
	gz    gzip.Reader
	lz    *lz4.Reader
	zs    *zstd.Decoder
	zsMax int // the bound zs was built with
}

// decompress appends the decompressed form of src to dst[:0], refusing to
// produce more than limit bytes.
func (d *decompressor) decompress(dst, src []byte, codec Codec, limit int) ([]byte, error) {
	dst = dst[:0]
	switch codec {
	case Gzip:
		d.src.Reset(src)
		if err := d.gz.Reset(&d.src); err != nil {
			return dst, err
		}
		return readBounded(dst, &d.gz, limit, len(src))
	case LZ4:
		d.src.Reset(src)
		if d.lz == nil {
			d.lz = lz4.NewReader(&d.src)
		} else {
			d.lz.Reset(&d.src)
		}
		return readBounded(dst, d.lz, limit, len(src))
	case Snappy:
		return decodeSnappy(dst, src, limit)
	case Zstd:
		if d.zs == nil || d.zsMax != limit {
			if d.zs != nil {
				d.zs.Close()
			}
			// The decoder enforces the bound itself: it refuses a
			// frame that declares a larger size before allocating,
			// and stops one that outgrows it while decoding.
			zs, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(uint64(limit)))
			if err != nil {
				return dst, fmt.Errorf("creating zstd decoder: %w", err)
			}
			d.zs, d.zsMax = zs, limit
		}
		out, err := d.zs.DecodeAll(src, dst)
		if errors.Is(err, zstd.ErrDecoderSizeExceeded) || errors.Is(err, zstd.ErrWindowSizeExceeded) {
			return dst, fmt.Errorf("%w (%d bytes): %w", errTooLarge, limit, err)
		}
		return out, err
	}
	return dst, fmt.Errorf("cannot decompress codec %v", codec)
}

// readBounded reads r to its end into dst, failing once more than limit
// bytes come out. It grows dst geometrically from a guess based on the
// compressed size, but never past limit+1, so a bomb costs at most the
// bound.
func readBounded(dst []byte, r io.Reader, limit, compressed int) ([]byte, error) {
	if cap(dst) == 0 {
		dst = make([]byte, 0, min(limit+1, max(4*compressed, 64<<10)))
	}
	for {
		if len(dst) == cap(dst) {
			if len(dst) > limit {
				return dst, fmt.Errorf("%w (%d bytes)", errTooLarge, limit)
			}
			nb := make([]byte, len(dst), min(limit+1, 2*cap(dst)))
			copy(nb, dst)
			dst = nb
		}
		n, err := r.Read(dst[len(dst):cap(dst)])
		dst = dst[:len(dst)+n]
		if len(dst) > limit {
			return dst, fmt.Errorf("%w (%d bytes)", errTooLarge, limit)
		}
		if err == io.EOF {
			return dst, nil
		}
		if err != nil {
			return dst, err
		}
	}
}

var errXerial = errors.New("malformed xerial snappy framing")

// decodeSnappy decodes raw snappy or the xerial framing, telling them apart
// by the xerial magic as Kafka's Java reader does. Decoded sizes are
// declared up front in snappy, so the bound is checked before allocating.
// We decode strictly: s2's extensions are not snappy and no Kafka client
// could read them.
func decodeSnappy(dst, src []byte, limit int) ([]byte, error) {
	if len(src) < len(xerialMagic) || !bytes.Equal(src[:len(xerialMagic)], xerialMagic[:]) {
		n, err := snappy.DecodedLen(src)
		if err != nil {
			return dst, err
		}
		if n > limit {
			return dst, fmt.Errorf("%w (%d bytes): snappy block declares %d", errTooLarge, limit, n)
		}
		return snappy.DecodeStrict(grow(dst, n), src)
	}
	if len(src) < xerialHeaderSize {
		return dst, errXerial
	}
	blocks := src[xerialHeaderSize:]
	// First walk the block headers, so the total is bounded and dst grows
	// once.
	total := 0
	for rest := blocks; len(rest) > 0; {
		block, next, err := xerialBlock(rest)
		if err != nil {
			return dst, err
		}
		n, err := snappy.DecodedLen(block)
		if err != nil {
			return dst, err
		}
		if total += n; total > limit {
			return dst, fmt.Errorf("%w (%d bytes): xerial blocks declare more", errTooLarge, limit)
		}
		rest = next
	}
	dst = grow(dst, total)
	for len(blocks) > 0 {
		block, next, _ := xerialBlock(blocks)
		n, _ := snappy.DecodedLen(block)
		at := len(dst)
		if _, err := snappy.DecodeStrict(dst[at:at+n:at+n], block); err != nil {
			return dst, err
		}
		dst = dst[:at+n]
		blocks = next
	}
	return dst, nil
}

// xerialBlock cuts the first length-prefixed block off b.
func xerialBlock(b []byte) (block, rest []byte, err error) {
	if len(b) < 4 {
		return nil, nil, errXerial
	}
	n := binary.BigEndian.Uint32(b)
	if uint64(n) > uint64(len(b)-4) {
		return nil, nil, errXerial
	}
	return b[4 : 4+n], b[4+n:], nil
}
