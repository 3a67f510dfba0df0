package metadata

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
)

// decodeBinary reads a version 2 snapshot (see snapshot.go). Every count
// is checked against the bytes left before anything is allocated for it
// (each element takes at least one byte), so a corrupt length cannot ask
// for more memory than the snapshot's own size.
func decodeBinary(b []byte) (Image, error) {
	if len(b) < 5 {
		return Image{}, fmt.Errorf("binary snapshot of %d bytes", len(b))
	}
	body, sum := b[:len(b)-4], binary.BigEndian.Uint32(b[len(b)-4:])
	if got := crc32.Checksum(body, castagnoli); got != sum {
		return Image{}, fmt.Errorf("checksum %08x, stored %08x", got, sum)
	}
	d := snapReader{b: body[1:]}
	var im Image
	im.ClusterID = d.str()
	im.NextProducerID = d.varint()
	im.AppliedIndex = d.uvarint()
	if n := d.count(); n > 0 {
		im.Brokers = make([]Broker, n)
		for i := range im.Brokers {
			br := &im.Brokers[i]
			br.ID = d.int32()
			br.Incarnation = d.str()
			br.Fenced = d.bool()
			br.RegisteredAt = d.uvarint()
			br.Listeners = d.strMap()
		}
	}
	lists := make([][]int32, d.count())
	for i := range lists {
		l := make([]int32, d.count())
		for j := range l {
			l[j] = d.int32()
		}
		lists[i] = l
	}
	list := func() []int32 {
		i := d.uvarint()
		if i >= uint64(len(lists)) {
			d.fail(fmt.Errorf("list %d of %d", i, len(lists)))
			return nil
		}
		return lists[i]
	}
	if n := d.count(); n > 0 {
		im.Topics = make([]Topic, n)
		for i := range im.Topics {
			t := &im.Topics[i]
			t.Name = d.str()
			copy(t.ID[:], d.bytes(16))
			t.Configs = d.strMap()
			t.Partitions = make([]Partition, d.count())
			for j := range t.Partitions {
				p := &t.Partitions[j]
				p.Replicas = list()
				p.ISR = list()
				p.Leader = d.int32()
				p.LeaderEpoch = d.int32()
				p.PartitionEpoch = d.int32()
			}
			if d.err != nil {
				break
			}
		}
	}
	if d.err == nil && len(d.b) > 0 {
		d.err = fmt.Errorf("%d bytes after the image", len(d.b))
	}
	return im, d.err
}

// snapReader reads varints and strings off b; the first error sticks and
// every read after it yields zero values.
type snapReader struct {
	b   []byte
	err error
}

var errShort = errors.New("snapshot ends early")

func (d *snapReader) fail(err error) {
	if d.err == nil {
		d.err = err
	}
	d.b = nil
}

func (d *snapReader) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail(errShort)
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *snapReader) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail(errShort)
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *snapReader) int32() int32 {
	v := d.varint()
	if v < math.MinInt32 || v > math.MaxInt32 {
		d.fail(fmt.Errorf("%d is out of int32 range", v))
		return 0
	}
	return int32(v)
}

// count is a number of elements that follow, each of at least one byte.
func (d *snapReader) count() int {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.fail(fmt.Errorf("count %d with %d bytes left", n, len(d.b)))
		return 0
	}
	return int(n)
}

func (d *snapReader) bytes(n int) []byte {
	if n > len(d.b) {
		d.fail(errShort)
		return make([]byte, n)
	}
	out := d.b[:n]
	d.b = d.b[n:]
	return out
}

func (d *snapReader) str() string {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.fail(errShort)
		return ""
	}
	return string(d.bytes(int(n)))
}

func (d *snapReader) bool() bool {
	switch b := d.bytes(1)[0]; b {
	case 0:
		return false
	case 1:
		return true
	default:
		d.fail(fmt.Errorf("flag byte %d", b))
		return false
	}
}

// strMap reads (key, value) pairs, nil when none; keys must be strictly
// increasing, as the encoder writes them, so an encoding is canonical.
func (d *snapReader) strMap() map[string]string {
	n := d.count()
	if n == 0 {
		return nil
	}
	m := make(map[string]string, n)
	prev := ""
	for i := range n {
		k, v := d.str(), d.str()
		if d.err != nil {
			return nil
		}
		if i > 0 && k <= prev {
			d.fail(fmt.Errorf("map keys %q then %q: not sorted", prev, k))
			return nil
		}
		m[k], prev = v, k
	}
	return m
}
