package serde_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"testing"

	"github.com/sluicelog/sluice/net/client/serde"
)

func FuzzParseHeader(f *testing.F) {
	f.Add([]byte{0, 0, 0, 0, 1, 2, 3})
	f.Add([]byte{0, 0xff, 0xff, 0xff, 0xff})
	f.Add([]byte{1, 0, 0, 0, 1})
	f.Add([]byte{0, 0})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		id, body, err := serde.ParseHeader(b)
		if err != nil {
			if !errors.Is(err, serde.ErrShortInput) && !errors.Is(err, serde.ErrMagicByte) && !errors.Is(err, serde.ErrNull) {
				t.Fatalf("ParseHeader(% x): untyped error %v", b, err)
			}
			if len(b) >= serde.HeaderSize && b[0] == serde.MagicByte {
				t.Fatalf("ParseHeader(% x) refused a valid header: %v", b, err)
			}
			return
		}
		// The header is exactly what AppendHeader writes for the id.
		if again := append(serde.AppendHeader(nil, id), body...); !bytes.Equal(again, b) {
			t.Fatalf("ParseHeader(% x) = %d, % x; re-encoded % x", b, id, body, again)
		}
	})
}

// fixedWidth is the fuzz body for a fixed-width decoder: it accepts
// exactly n bytes, and what it accepts encodes back to the same bytes.
func fixedWidth(t *testing.T, b []byte, n int, roundTrip func([]byte) ([]byte, error)) {
	again, err := roundTrip(b)
	if len(b) != n {
		if err == nil || (!errors.Is(err, serde.ErrLength) && !errors.Is(err, serde.ErrNull)) {
			t.Fatalf("% x (%d bytes): error %v, want ErrLength or ErrNull", b, len(b), err)
		}
		return
	}
	if err != nil {
		t.Fatalf("% x: %v", b, err)
	}
	if !bytes.Equal(again, b) {
		t.Fatalf("% x decoded and encoded again is % x", b, again)
	}
}

func FuzzDecodeInt32(f *testing.F) {
	f.Add([]byte{0, 0, 0, 1})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff})
	f.Add([]byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, b []byte) {
		fixedWidth(t, b, 4, func(b []byte) ([]byte, error) {
			v, err := serde.DecodeInt32(b)
			return serde.AppendInt32(nil, v), err
		})
	})
}

func FuzzDecodeInt64(f *testing.F) {
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 1})
	f.Add([]byte{0x80, 0, 0, 0, 0, 0, 0, 0})
	f.Add([]byte{1, 2, 3, 4})
	f.Fuzz(func(t *testing.T, b []byte) {
		fixedWidth(t, b, 8, func(b []byte) ([]byte, error) {
			v, err := serde.DecodeInt64(b)
			return serde.AppendInt64(nil, v), err
		})
	})
}

func FuzzDecodeFloat64(f *testing.F) {
	f.Add([]byte{0x3f, 0xf0, 0, 0, 0, 0, 0, 0})
	f.Add([]byte{0x7f, 0xf8, 0, 0, 0, 0, 0, 1}) // a NaN with a payload
	f.Add([]byte{0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		fixedWidth(t, b, 8, func(b []byte) ([]byte, error) {
			v, err := serde.DecodeFloat64(b)
			if err == nil && math.IsNaN(v) {
				// Encoding makes every NaN the canonical one; compare with
				// the canonical NaN of the same sign-free kind.
				if got := serde.AppendFloat64(nil, v); binary.BigEndian.Uint64(got) != 0x7ff8000000000000 {
					t.Fatalf("NaN % x encoded as % x", b, got)
				}
				return b, nil
			}
			return serde.AppendFloat64(nil, v), err
		})
	})
}

const (
	// eventWriter covers every Avro kind, including arrays whose elements
	// take no bytes (nulls), which a hostile block count could make huge.
	eventWriter = `{"type":"record","name":"Event","fields":[
		{"name":"id","type":"long"},
		{"name":"name","type":"string"},
		{"name":"tags","type":{"type":"array","items":"string"}},
		{"name":"attrs","type":{"type":"map","values":"int"}},
		{"name":"note","type":["null","string"],"default":null},
		{"name":"kind","type":{"type":"enum","name":"Kind","symbols":["A","B","C"]}},
		{"name":"hash","type":{"type":"fixed","name":"Hash","size":4}},
		{"name":"nulls","type":{"type":"array","items":"null"}},
		{"name":"score","type":"double"},
		{"name":"ok","type":"boolean"},
		{"name":"blob","type":"bytes"}]}`
	// eventReader drops tags and blob (skipped on read; not nulls: hamba
	// cannot skip a null-typed schema), promotes attrs' ints to longs and
	// adds a field with a default.
	eventReader = `{"type":"record","name":"Event","fields":[
		{"name":"id","type":"long"},
		{"name":"name","type":"string"},
		{"name":"attrs","type":{"type":"map","values":"long"}},
		{"name":"note","type":["null","string"],"default":null},
		{"name":"kind","type":{"type":"enum","name":"Kind","symbols":["A","B","C"]}},
		{"name":"hash","type":{"type":"fixed","name":"Hash","size":4}},
		{"name":"nulls","type":{"type":"array","items":"null"}},
		{"name":"score","type":"double"},
		{"name":"ok","type":"boolean"},
		{"name":"extra","type":"string","default":"x"}]}`
)

type EventR struct {
	ID    int64            `avro:"id"`
	Name  string           `avro:"name"`
	Attrs map[string]int64 `avro:"attrs"`
	Note  *string          `avro:"note"`
	Kind  string           `avro:"kind"`
	Hash  [4]byte          `avro:"hash"`
	Nulls []any            `avro:"nulls"`
	Score float64          `avro:"score"`
	OK    bool             `avro:"ok"`
	Extra string           `avro:"extra"`
}

// FuzzAvroDeserialize feeds message bytes to deserializers of a writer
// schema registered in an in-process registry (id 1): read as the writer's
// schema into a map, and as an evolved reader schema into a struct. Any
// input must give a value or an error wrapping a sentinel, never a panic.
func FuzzAvroDeserialize(f *testing.F) {
	reg := startRegistry(f)
	c := reg.client(f)
	s := newSerializer(f, c, "events-value", eventWriter, true)
	asWritten := newDeserializer(f, c, "")
	evolved := newDeserializer(f, c, eventReader)
	note := "n"
	for _, v := range []map[string]any{
		{"id": int64(1), "name": "a", "tags": []string{"x", "y"}, "attrs": map[string]any{"k": 1},
			"note": &note, "kind": "B", "hash": [4]byte{1, 2, 3, 4}, "nulls": []any{nil, nil},
			"score": 1.5, "ok": true, "blob": []byte{9}},
		{"id": int64(-1), "name": "", "tags": []string{}, "attrs": map[string]any{},
			"note": nil, "kind": "A", "hash": [4]byte{}, "nulls": []any{},
			"score": 0.0, "ok": false, "blob": []byte{}},
	} {
		b, err := s.Serialize(v)
		if err != nil {
			f.Fatal(err)
		}
		var e EventR
		if err := evolved.Deserialize(b, &e); err != nil || e.Extra != "x" || e.Name != v["name"] {
			f.Fatalf("seed %v read as %+v, %v", v, e, err)
		}
		f.Add(b)
	}
	// Hostile block counts: -2^63 (its negation overflows), 2^62 nulls.
	minLong := []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}
	hugeLong := []byte{0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01}
	prefix := []byte{0, 0, 0, 0, 1, 2, 2, 'a', 0, 0, 0, 2, 0, 0, 0, 0}
	f.Add(append(append(append([]byte{}, prefix...), minLong...), 0))
	f.Add(append(append(append([]byte{}, prefix...), hugeLong...), 0))
	// 2^62 tags, which the evolved reader skips.
	f.Add(append(append([]byte{0, 0, 0, 0, 1, 2, 2, 'a'}, hugeLong...), 2, 'x'))
	f.Add([]byte{0, 0, 0, 0, 1, 2, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01})
	f.Add([]byte{0, 0, 0, 0, 2})
	f.Add([]byte{1})

	f.Fuzz(func(t *testing.T, b []byte) {
		var m map[string]any
		check(t, b, asWritten.Deserialize(b, &m))
		var a any
		check(t, b, asWritten.Deserialize(b, &a))
		var e EventR
		err := evolved.Deserialize(b, &e)
		check(t, b, err)
		if err == nil && (e.Kind < "A" || e.Kind > "C") {
			t.Fatalf("% x: enum decoded as %q", b, e.Kind)
		}
	})
}

func check(t *testing.T, b []byte, err error) {
	t.Helper()
	if err == nil {
		return
	}
	for _, want := range []error{serde.ErrNull, serde.ErrShortInput, serde.ErrMagicByte, serde.ErrUnknownSchema, serde.ErrDecode} {
		if errors.Is(err, want) {
			return
		}
	}
	t.Fatalf("Deserialize(% x): error %v wraps no sentinel", b, err)
}
