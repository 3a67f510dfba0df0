package serde_test

import (
	"testing"

	"github.com/sluicelog/sluice/net/client/serde"
)

// The Avro benchmarks run warm: the schema id and writer schema are cached
// before the timer starts, as on a producer's or consumer's hot path.

func BenchmarkAvroSerialize(b *testing.B) {
	reg := startRegistry(b)
	s := newSerializer(b, reg.client(b), "bench-value", userV2, true)
	u := UserV2{Name: "grace", ID: 1906, Email: "grace@example.com"}
	m := map[string]any{"name": "grace", "id": int64(1906), "email": "grace@example.com"}
	warm, err := s.Serialize(&u)
	if err != nil {
		b.Fatal(err)
	}
	run := func(name string, f func(dst []byte) ([]byte, error)) {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(warm)))
			buf := make([]byte, 0, 256)
			for b.Loop() {
				var err error
				if buf, err = f(buf[:0]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	run("AppendStructPtr", func(dst []byte) ([]byte, error) { return s.Append(dst, &u) })
	run("AppendStruct", func(dst []byte) ([]byte, error) { return s.Append(dst, u) })
	run("AppendMap", func(dst []byte) ([]byte, error) { return s.Append(dst, m) })
	run("SerializeStructPtr", func([]byte) ([]byte, error) { return s.Serialize(&u) })
}

func BenchmarkAvroDeserialize(b *testing.B) {
	reg := startRegistry(b)
	c := reg.client(b)
	rec2, err := newSerializer(b, c, "bench-value", userV2, true).Serialize(&UserV2{Name: "grace", ID: 1906, Email: "grace@example.com"})
	if err != nil {
		b.Fatal(err)
	}
	rec1, err := newSerializer(b, c, "bench-value", userV1, true).Serialize(&UserV1{Name: "grace", ID: 1906})
	if err != nil {
		b.Fatal(err)
	}
	d2 := newDeserializer(b, c, userV2)
	d0 := newDeserializer(b, c, "")
	run := func(name string, rec []byte, f func([]byte) error) {
		if err := f(rec); err != nil { // warm the caches
			b.Fatal(err)
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(rec)))
			for b.Loop() {
				if err := f(rec); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	var u UserV2
	run("Struct", rec2, func(rec []byte) error { return d2.Deserialize(rec, &u) })
	run("StructEvolvedV1toV2", rec1, func(rec []byte) error { return d2.Deserialize(rec, &u) })
	run("Map", rec2, func(rec []byte) error {
		var m map[string]any
		return d0.Deserialize(rec, &m)
	})
}

var (
	sinkBytes []byte
	sinkInt   int64
	sinkStr   string
)

func BenchmarkPrimitives(b *testing.B) {
	buf := make([]byte, 0, 64)
	i32, i64, str := serde.EncodeInt32(7), serde.EncodeInt64(7), serde.EncodeString("user-000042")
	b.Run("AppendInt32", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			sinkBytes = serde.AppendInt32(buf[:0], 7)
		}
	})
	b.Run("AppendInt64", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			sinkBytes = serde.AppendInt64(buf[:0], 7)
		}
	})
	b.Run("AppendFloat64", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			sinkBytes = serde.AppendFloat64(buf[:0], 7.5)
		}
	})
	b.Run("AppendString", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			sinkBytes = serde.AppendString(buf[:0], "user-000042")
		}
	})
	b.Run("EncodeString", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			sinkBytes = serde.EncodeString("user-000042")
		}
	})
	b.Run("DecodeInt32", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			v, _ := serde.DecodeInt32(i32)
			sinkInt += int64(v)
		}
	})
	b.Run("DecodeInt64", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			v, _ := serde.DecodeInt64(i64)
			sinkInt += v
		}
	})
	b.Run("DecodeString", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			sinkStr, _ = serde.DecodeString(str)
		}
	})
}
