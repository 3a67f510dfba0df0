package serde

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/hamba/avro/v2"
)

// maxDepth bounds the nesting of records, arrays and maps in a value
// validate accepts: recursive schemas allow any depth, the stack does not.
const maxDepth = 1000

// validate checks that body is exactly one value of schema in Avro's binary
// encoding, in time bounded by len(body), before hamba/avro decodes it.
//
// hamba/avro (v2.31.0) trusts block counts. Its skip decoders (for fields
// the reader schema drops) loop over an array's or map's count without
// checking for errors, so an array of 2^62 elements in a few bytes keeps a
// consumer busy for good; and a count of -2^63, whose negation overflows,
// decodes without error into a slice whose length is -2^63, a corrupt
// slice header handed to the caller (both seen in FuzzAvroDeserialize's
// seeds). validate walks the bytes without decoding them, every element
// but zero-size ones consuming at least a byte; zero-size elements (null,
// records of nulls) are counted, not walked, and at most DefaultMaxArrayLen
// of them are allowed in one value. A block's byte size, when the writer
// gives one, must match its elements, so hamba's skipping by size and its
// decoding agree. It also finds bytes left after the value, which hamba
// does not.
//
// It reads the writer's schema, which describes the bytes, never the
// resolved one (whose defaulted fields are not in the bytes). It allocates
// nothing.
func validate(schema avro.Schema, body []byte) error {
	v := validator{buf: body, zeroBudget: DefaultMaxArrayLen}
	if err := v.value(schema, 0); err != nil {
		return err
	}
	if v.off != len(v.buf) {
		return fmt.Errorf("%d bytes left after the value", len(v.buf)-v.off)
	}
	return nil
}

var errShort = errors.New("data ends inside the value")

type validator struct {
	buf        []byte
	off        int
	zeroBudget int // zero-size array elements still allowed
}

func (v *validator) value(s avro.Schema, depth int) error {
	if depth > maxDepth {
		return fmt.Errorf("value nested deeper than %d", maxDepth)
	}
	switch s := s.(type) {
	case *avro.NullSchema:
		return nil
	case *avro.PrimitiveSchema:
		return v.primitive(s.Type())
	case *avro.RecordSchema:
		for _, f := range s.Fields() {
			if err := v.value(f.Type(), depth+1); err != nil {
				return err
			}
		}
		return nil
	case *avro.RefSchema:
		return v.value(s.Schema(), depth)
	case *avro.EnumSchema:
		i, err := v.varint(5)
		if err != nil {
			return err
		}
		if i < 0 || i >= int64(len(s.Symbols())) {
			return fmt.Errorf("enum %s: symbol index %d of %d", s.FullName(), i, len(s.Symbols()))
		}
		return nil
	case *avro.FixedSchema:
		return v.skip(s.Size())
	case *avro.UnionSchema:
		i, err := v.varint(10)
		if err != nil {
			return err
		}
		types := s.Types()
		if i < 0 || i >= int64(len(types)) {
			return fmt.Errorf("union branch %d of %d", i, len(types))
		}
		return v.value(types[i], depth)
	case *avro.ArraySchema:
		return v.blocks(s.Items(), false, depth)
	case *avro.MapSchema:
		return v.blocks(s.Values(), true, depth)
	}
	return fmt.Errorf("unexpected schema %s", s.Type())
}

func (v *validator) primitive(t avro.Type) error {
	switch t {
	case avro.Null:
		return nil
	case avro.Boolean:
		if v.off >= len(v.buf) {
			return errShort
		}
		if b := v.buf[v.off]; b > 1 {
			return fmt.Errorf("boolean byte %#02x", b)
		}
		v.off++
		return nil
	case avro.Int:
		_, err := v.varint(5)
		return err
	case avro.Long:
		_, err := v.varint(10)
		return err
	case avro.Float:
		return v.skip(4)
	case avro.Double:
		return v.skip(8)
	case avro.String, avro.Bytes:
		n, err := v.varint(10)
		if err != nil {
			return err
		}
		if n < 0 {
			return fmt.Errorf("%s length %d", t, n)
		}
		if n > int64(len(v.buf)-v.off) {
			return errShort
		}
		v.off += int(n)
		return nil
	}
	return fmt.Errorf("unexpected type %s", t)
}

// blocks walks an array's or a map's blocks: a count, negative when a byte
// size follows, then that many items (for a map, each after its key), until
// a count of 0.
func (v *validator) blocks(item avro.Schema, isMap bool, depth int) error {
	zero := !isMap && zeroSize(item, 0)
	for {
		n, err := v.varint(10)
		if err != nil {
			return err
		}
		if n == 0 {
			return nil
		}
		size := int64(-1)
		if n < 0 {
			if n == math.MinInt64 {
				return errors.New("block count -2^63")
			}
			n = -n
			if size, err = v.varint(10); err != nil {
				return err
			}
			if size < 0 || size > int64(len(v.buf)-v.off) {
				return fmt.Errorf("block size %d with %d bytes left", size, len(v.buf)-v.off)
			}
		}
		start := v.off
		if zero {
			// Nothing to walk: only the count, which hamba will loop over.
			if n > int64(v.zeroBudget) {
				return fmt.Errorf("more than %d zero-size array elements", DefaultMaxArrayLen)
			}
			v.zeroBudget -= int(n)
		} else {
			// Every item takes a byte at least (a map's key its length),
			// so this loop ends within the bytes left.
			for ; n > 0; n-- {
				if isMap {
					if err := v.primitive(avro.String); err != nil {
						return err
					}
				}
				if err := v.value(item, depth+1); err != nil {
					return err
				}
			}
		}
		if size >= 0 && int64(v.off-start) != size {
			return fmt.Errorf("block of %d bytes holds %d", size, v.off-start)
		}
	}
}

// zeroSize reports whether every value of s encodes in no bytes: null, a
// fixed of size 0, a record of such fields. Any other type takes a byte at
// least.
func zeroSize(s avro.Schema, depth int) bool {
	if depth > maxDepth {
		return false // a record that holds itself: no finite value
	}
	switch s := s.(type) {
	case *avro.NullSchema:
		return true
	case *avro.PrimitiveSchema:
		return s.Type() == avro.Null
	case *avro.FixedSchema:
		return s.Size() == 0
	case *avro.RefSchema:
		return zeroSize(s.Schema(), depth+1)
	case *avro.RecordSchema:
		for _, f := range s.Fields() {
			if !zeroSize(f.Type(), depth+1) {
				return false
			}
		}
		return true
	}
	return false
}

// varint reads a zig-zag varint of at most maxLen bytes (5 for an int, 10
// for a long, as hamba reads them).
func (v *validator) varint(maxLen int) (int64, error) {
	rest := v.buf[v.off:]
	if len(rest) > maxLen {
		rest = rest[:maxLen]
	}
	u, n := binary.Uvarint(rest)
	switch {
	case n > 0:
		v.off += n
		return int64(u>>1) ^ -int64(u&1), nil
	case n < 0 || len(rest) == maxLen:
		return 0, errors.New("varint too long")
	}
	return 0, errShort
}

func (v *validator) skip(n int) error {
	if n > len(v.buf)-v.off {
		return errShort
	}
	v.off += n
	return nil
}
