package serde

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/hamba/avro/v2"

	"github.com/sluicelog/sluice/net/schemareg/regclient"
)

// DefaultMaxArrayLen bounds the elements of one decoded array when
// AvroDeserializerConfig.Codec is nil. An array of nulls or of empty
// records takes no bytes per element, so without a bound a few hostile
// bytes could ask for a slice of any length.
const DefaultMaxArrayLen = 1 << 20

// AvroDeserializerConfig configures an AvroDeserializer.
type AvroDeserializerConfig struct {
	// Registry is the schema registry client. Required.
	Registry *regclient.Client
	// Schema is the reader's Avro schema, as JSON: each record is read as
	// this schema, whatever compatible schema it was written with. Empty
	// means each record is read as its writer's schema (best decoded into
	// a map[string]any).
	Schema string
	// Codec is the hamba/avro configuration values are decoded with. Nil
	// means one of the deserializer's own:
	// avro.Config{MaxSliceAllocSize: DefaultMaxArrayLen}.Freeze(), whose
	// strings and bytes are at most 1 MiB each (hamba's default
	// MaxByteSliceSize).
	Codec avro.API
}

// AvroDeserializer decodes Confluent wire-format values, each with the
// writer schema its id names, into Go values. Safe for concurrent use.
type AvroDeserializer struct {
	reg    *regclient.Client
	reader avro.Schema // nil: read as written
	compat *avro.SchemaCompatibility

	// schemas maps a writer schema id to the schema to decode its records
	// with (the writer's resolved against the reader's) or to the error
	// that says they cannot be: both are fixed for good, since an id's
	// schema never changes and the reader schema is the deserializer's.
	schemas sync.Map // int → resolution
	readers sync.Pool
}

type resolution struct {
	writer avro.Schema // the bytes' schema, which validate walks
	schema avro.Schema // what hamba decodes with: writer resolved to reader
	err    error
}

// NewAvroDeserializer checks cfg and parses the reader schema. It makes no
// request.
func NewAvroDeserializer(cfg AvroDeserializerConfig) (*AvroDeserializer, error) {
	if cfg.Registry == nil {
		return nil, errors.New("serde: AvroDeserializerConfig.Registry is nil")
	}
	d := &AvroDeserializer{reg: cfg.Registry, compat: avro.NewSchemaCompatibility()}
	if cfg.Schema != "" {
		s, err := regclient.ParseAvro(cfg.Schema)
		if err != nil {
			return nil, fmt.Errorf("serde: reader schema: %w", err)
		}
		d.reader = s
	}
	api := cfg.Codec
	if api == nil {
		api = avro.Config{MaxSliceAllocSize: DefaultMaxArrayLen}.Freeze()
	}
	d.readers.New = func() any { return avro.NewReader(nil, 0, avro.WithReaderConfig(api)) }
	return d, nil
}

// Deserialize decodes data into v: a pointer to a struct (fields tagged
// `avro:"name"`), to a map[string]any, or to an any. The writer schema is
// fetched by id the first time it is met (with the registry client's
// timeout) and kept. nil data is ErrNull; see the package documentation
// for the other errors. It never panics, whatever data holds.
func (d *AvroDeserializer) Deserialize(data []byte, v any) error {
	id, body, err := ParseHeader(data)
	if err != nil {
		return err
	}
	res, err := d.schemaFor(id)
	if err != nil {
		return err
	}
	if err := validate(res.writer, body); err != nil {
		return fmt.Errorf("%w: writer schema %d: %w", ErrDecode, id, err)
	}
	return d.decode(id, res.schema, body, v)
}

// schemaFor returns the schemas of id's records.
func (d *AvroDeserializer) schemaFor(id int) (resolution, error) {
	if r, ok := d.schemas.Load(id); ok {
		res := r.(resolution)
		return res, res.err
	}
	writer, err := d.reg.AvroSchemaByID(context.Background(), id)
	if err != nil {
		// Not kept: a registry that is down now may answer later, and an
		// id unknown now may be assigned later.
		if errors.Is(err, regclient.ErrSchemaNotFound) {
			return resolution{}, fmt.Errorf("%w: id %d: %w", ErrUnknownSchema, id, err)
		}
		return resolution{}, fmt.Errorf("serde: writer schema %d: %w", id, err)
	}
	res := resolution{writer: writer, schema: writer}
	if d.reader != nil {
		resolved, err := d.compat.Resolve(d.reader, writer)
		if err != nil {
			res = resolution{err: fmt.Errorf("%w: writer schema %d: %w", ErrIncompatible, id, err)}
		} else {
			res.schema = resolved
		}
	}
	actual, _ := d.schemas.LoadOrStore(id, res)
	res = actual.(resolution)
	return res, res.err
}

// decode decodes body, which validate accepted, with schema into v.
func (d *AvroDeserializer) decode(id int, schema avro.Schema, body []byte, v any) (err error) {
	r := d.readers.Get().(*avro.Reader)
	defer func() {
		// validate keeps the hostile inputs known to crash or hang
		// hamba/avro from it; should another one get through, it is an
		// error here, not a crash of the consumer.
		if p := recover(); p != nil {
			err = fmt.Errorf("%w: writer schema %d: decoder failed: %v", ErrDecode, id, p)
		}
		r.Reset(nil) // drop the caller's bytes
		r.Error = nil
		d.readers.Put(r)
	}()
	r.Reset(body)
	r.Error = nil
	r.ReadVal(schema, v)
	if r.Error != nil {
		// Even io.EOF: hamba's varint readers report a number cut short by
		// the end of the data as io.EOF (which its own Unmarshal takes for
		// success), while a whole value never reads past its last byte.
		return fmt.Errorf("%w: writer schema %d: %w", ErrDecode, id, r.Error)
	}
	return nil
}
