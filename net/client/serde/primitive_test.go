package serde_test

import (
	"bytes"
	"errors"
	"math"
	"testing"

	"github.com/sluicelog/sluice/net/client/serde"
)

// The vectors are what Kafka's Java serializers write.
func TestInt32(t *testing.T) {
	for _, tc := range []struct {
		v int32
		b []byte
	}{
		{0, []byte{0, 0, 0, 0}},
		{1, []byte{0, 0, 0, 1}},
		{-1, []byte{0xff, 0xff, 0xff, 0xff}},
		{256, []byte{0, 0, 1, 0}},
		{math.MaxInt32, []byte{0x7f, 0xff, 0xff, 0xff}},
		{math.MinInt32, []byte{0x80, 0, 0, 0}},
	} {
		if got := serde.EncodeInt32(tc.v); !bytes.Equal(got, tc.b) {
			t.Errorf("EncodeInt32(%d) = % x, want % x", tc.v, got, tc.b)
		}
		if got := serde.AppendInt32([]byte{9}, tc.v); !bytes.Equal(got, append([]byte{9}, tc.b...)) {
			t.Errorf("AppendInt32(%d) = % x", tc.v, got)
		}
		if got, err := serde.DecodeInt32(tc.b); err != nil || got != tc.v {
			t.Errorf("DecodeInt32(% x) = %d, %v", tc.b, got, err)
		}
	}
	checkLengths(t, "DecodeInt32", 4, func(b []byte) error { _, err := serde.DecodeInt32(b); return err })
}

func TestInt64(t *testing.T) {
	for _, tc := range []struct {
		v int64
		b []byte
	}{
		{0, []byte{0, 0, 0, 0, 0, 0, 0, 0}},
		{1, []byte{0, 0, 0, 0, 0, 0, 0, 1}},
		{-2, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe}},
		{1 << 40, []byte{0, 0, 1, 0, 0, 0, 0, 0}},
		{math.MinInt64, []byte{0x80, 0, 0, 0, 0, 0, 0, 0}},
	} {
		if got := serde.EncodeInt64(tc.v); !bytes.Equal(got, tc.b) {
			t.Errorf("EncodeInt64(%d) = % x, want % x", tc.v, got, tc.b)
		}
		if got := serde.AppendInt64(nil, tc.v); !bytes.Equal(got, tc.b) {
			t.Errorf("AppendInt64(%d) = % x", tc.v, got)
		}
		if got, err := serde.DecodeInt64(tc.b); err != nil || got != tc.v {
			t.Errorf("DecodeInt64(% x) = %d, %v", tc.b, got, err)
		}
	}
	checkLengths(t, "DecodeInt64", 8, func(b []byte) error { _, err := serde.DecodeInt64(b); return err })
}

func TestFloat64(t *testing.T) {
	for _, tc := range []struct {
		v float64
		b []byte
	}{
		{0, []byte{0, 0, 0, 0, 0, 0, 0, 0}},
		{math.Copysign(0, -1), []byte{0x80, 0, 0, 0, 0, 0, 0, 0}},
		{1, []byte{0x3f, 0xf0, 0, 0, 0, 0, 0, 0}},
		{-2.5, []byte{0xc0, 0x04, 0, 0, 0, 0, 0, 0}},
		{math.Inf(1), []byte{0x7f, 0xf0, 0, 0, 0, 0, 0, 0}},
	} {
		if got := serde.EncodeFloat64(tc.v); !bytes.Equal(got, tc.b) {
			t.Errorf("EncodeFloat64(%g) = % x, want % x", tc.v, got, tc.b)
		}
		if got, err := serde.DecodeFloat64(tc.b); err != nil || math.Float64bits(got) != math.Float64bits(tc.v) {
			t.Errorf("DecodeFloat64(% x) = %g, %v", tc.b, got, err)
		}
	}
	// Every NaN is Java's canonical one, so equal keys have equal bytes.
	canonical := []byte{0x7f, 0xf8, 0, 0, 0, 0, 0, 0}
	for _, nan := range []float64{math.NaN(), math.Float64frombits(0x7ff0000000000001), math.Float64frombits(0xfff8000000000000)} {
		if got := serde.AppendFloat64(nil, nan); !bytes.Equal(got, canonical) {
			t.Errorf("AppendFloat64(NaN %#x) = % x, want % x", math.Float64bits(nan), got, canonical)
		}
	}
	if got, err := serde.DecodeFloat64(canonical); err != nil || !math.IsNaN(got) {
		t.Errorf("DecodeFloat64(NaN) = %g, %v", got, err)
	}
	checkLengths(t, "DecodeFloat64", 8, func(b []byte) error { _, err := serde.DecodeFloat64(b); return err })
}

// checkLengths: nil is ErrNull, any other wrong length ErrLength.
func checkLengths(t *testing.T, name string, want int, decode func([]byte) error) {
	t.Helper()
	if err := decode(nil); !errors.Is(err, serde.ErrNull) {
		t.Errorf("%s(nil) = %v, want ErrNull", name, err)
	}
	for _, n := range []int{0, 1, want - 1, want + 1, 2 * want} {
		if err := decode(make([]byte, n)); !errors.Is(err, serde.ErrLength) {
			t.Errorf("%s(%d bytes) = %v, want ErrLength", name, n, err)
		}
	}
}

func TestStringAndBytes(t *testing.T) {
	if got := serde.EncodeString("héllo"); !bytes.Equal(got, []byte("h\xc3\xa9llo")) {
		t.Errorf("EncodeString = % x", got)
	}
	// An empty string is not null: never nil, from either form.
	if got := serde.EncodeString(""); got == nil || len(got) != 0 {
		t.Errorf("EncodeString(\"\") = %#v", got)
	}
	if got := serde.AppendString(nil, ""); got == nil {
		t.Errorf("AppendString(nil, \"\") is nil")
	}
	if got := serde.AppendBytes(nil, nil); got == nil {
		t.Errorf("AppendBytes(nil, nil) is nil")
	}
	if got := serde.AppendString([]byte("a"), "bc"); string(got) != "abc" {
		t.Errorf("AppendString = %q", got)
	}
	if got, err := serde.DecodeString([]byte{}); err != nil || got != "" {
		t.Errorf("DecodeString(empty) = %q, %v", got, err)
	}
	if _, err := serde.DecodeString(nil); !errors.Is(err, serde.ErrNull) {
		t.Errorf("DecodeString(nil) = %v", err)
	}
	if got, err := serde.DecodeString([]byte("x\xffy")); err != nil || got != "x\xffy" {
		t.Errorf("DecodeString(invalid UTF-8) = %q, %v", got, err)
	}
	if _, err := serde.DecodeBytes(nil); !errors.Is(err, serde.ErrNull) {
		t.Errorf("DecodeBytes(nil) = %v", err)
	}
	if got, err := serde.DecodeBytes([]byte{1}); err != nil || !bytes.Equal(got, []byte{1}) {
		t.Errorf("DecodeBytes = %v, %v", got, err)
	}
}

// TestAppendAllocs: the Append forms and fixed-width decoders allocate
// nothing when the buffer has room.
func TestAppendAllocs(t *testing.T) {
	buf := make([]byte, 0, 64)
	var sink int64
	allocs := testing.AllocsPerRun(100, func() {
		b := serde.AppendInt32(buf[:0], 7)
		b = serde.AppendInt64(b, 7)
		b = serde.AppendFloat64(b, 7)
		b = serde.AppendString(b, "seven")
		b = serde.AppendBytes(b, []byte("7"))
		b = serde.AppendHeader(b, 7)
		v, _ := serde.DecodeInt64(b[4:12])
		sink += v
	})
	if allocs != 0 {
		t.Errorf("%v allocations per run, want 0", allocs)
	}
}

func TestHeader(t *testing.T) {
	b := serde.AppendHeader([]byte("x"), 0x01020304)
	if !bytes.Equal(b, []byte{'x', 0, 1, 2, 3, 4}) {
		t.Fatalf("AppendHeader = % x", b)
	}
	b = append(b, 'v')
	id, body, err := serde.ParseHeader(b[1:])
	if err != nil || id != 0x01020304 || string(body) != "v" {
		t.Fatalf("ParseHeader = %d, %q, %v", id, body, err)
	}
	if id, _, err := serde.ParseHeader([]byte{0, 0xff, 0xff, 0xff, 0xfe}); err != nil || id != -2 {
		t.Fatalf("ParseHeader of a negative id = %d, %v", id, err)
	}
	for _, tc := range []struct {
		b    []byte
		want error
	}{
		{nil, serde.ErrNull},
		{[]byte{}, serde.ErrShortInput},
		{[]byte{0, 0, 0, 1}, serde.ErrShortInput},
		{[]byte{1, 0, 0, 0, 1}, serde.ErrMagicByte},
		{[]byte("hello world"), serde.ErrMagicByte},
	} {
		if _, _, err := serde.ParseHeader(tc.b); !errors.Is(err, tc.want) {
			t.Errorf("ParseHeader(% x) = %v, want %v", tc.b, err, tc.want)
		}
	}
	if serde.ValueSubject("t") != "t-value" || serde.KeySubject("t") != "t-key" {
		t.Errorf("subjects %q %q", serde.ValueSubject("t"), serde.KeySubject("t"))
	}
}
