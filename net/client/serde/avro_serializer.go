package serde

import (
	"context"
	"errors"
	"fmt"
	"math"
	"reflect"
	"sync"
	"sync/atomic"

	"github.com/hamba/avro/v2"

	"github.com/sluicelog/sluice/net/schemareg/regclient"
)

// maxPooledWriter is the largest buffer a pooled Avro writer keeps: a rare
// huge value should not pin its buffer for good.
const maxPooledWriter = 1 << 20

// AvroSerializerConfig configures an AvroSerializer.
type AvroSerializerConfig struct {
	// Registry is the schema registry client. Required.
	Registry *regclient.Client
	// Subject is the schema's subject, ValueSubject(topic) or
	// KeySubject(topic) for Kafka's TopicNameStrategy. Required.
	Subject string
	// Schema is the writer's Avro schema, as JSON. Required.
	Schema string
	// AutoRegister registers Schema under Subject on first use (which the
	// registry refuses when it breaks the subject's compatibility level).
	// Off (the default), the schema must be registered already and is only
	// looked up, so a producer never changes the registry by accident.
	AutoRegister bool
	// Codec is the hamba/avro configuration values are encoded with.
	// Nil means one of the serializer's own, avro.Config{}.Freeze().
	Codec avro.API
}

// AvroSerializer encodes Go values with one Avro schema into Confluent's
// wire format. Values are structs (fields tagged `avro:"name"`) or pointers
// to them, or map[string]any, as hamba/avro encodes them. Safe for
// concurrent use.
type AvroSerializer struct {
	reg          *regclient.Client
	subject      string
	text         regclient.Schema
	schema       avro.Schema
	autoRegister bool

	// id is the schema's registry id, -1 until known. Once known it never
	// changes: an id names its schema for good.
	id atomic.Int64
	// idLock (a one-slot semaphore, so a waiter can give up with its
	// context) lets one goroutine at a time ask the registry.
	idLock chan struct{}

	writers sync.Pool // *avro.Writer
}

// NewAvroSerializer checks cfg and parses the schema. It makes no request:
// the registry is first asked by ID or the first Serialize.
func NewAvroSerializer(cfg AvroSerializerConfig) (*AvroSerializer, error) {
	switch {
	case cfg.Registry == nil:
		return nil, errors.New("serde: AvroSerializerConfig.Registry is nil")
	case cfg.Subject == "":
		return nil, errors.New("serde: AvroSerializerConfig.Subject is empty")
	}
	schema, err := regclient.ParseAvro(cfg.Schema)
	if err != nil {
		return nil, fmt.Errorf("serde: schema of subject %q: %w", cfg.Subject, err)
	}
	api := cfg.Codec
	if api == nil {
		api = avro.Config{}.Freeze()
	}
	s := &AvroSerializer{
		reg:          cfg.Registry,
		subject:      cfg.Subject,
		text:         regclient.Schema{Schema: cfg.Schema},
		schema:       schema,
		autoRegister: cfg.AutoRegister,
		idLock:       make(chan struct{}, 1),
	}
	s.id.Store(-1)
	s.writers.New = func() any { return avro.NewWriter(nil, 512, avro.WithWriterConfig(api)) }
	return s, nil
}

// Schema returns the parsed writer schema.
func (s *AvroSerializer) Schema() avro.Schema { return s.schema }

// ID returns the schema's registry id, asking the registry (registering or
// looking the schema up) only the first time it succeeds. Call it at
// start-up to fail early and within ctx; Serialize asks it otherwise, with
// the registry client's timeout.
func (s *AvroSerializer) ID(ctx context.Context) (int, error) {
	if id := s.id.Load(); id >= 0 {
		return int(id), nil
	}
	select {
	case s.idLock <- struct{}{}:
	case <-ctx.Done():
		return 0, fmt.Errorf("serde: schema id of subject %q: %w", s.subject, ctx.Err())
	}
	defer func() { <-s.idLock }()
	if id := s.id.Load(); id >= 0 {
		return int(id), nil
	}
	var id int
	var err error
	if s.autoRegister {
		id, err = s.reg.Register(ctx, s.subject, s.text)
	} else {
		id, err = s.reg.LookupID(ctx, s.subject, s.text)
	}
	if err != nil {
		return 0, fmt.Errorf("serde: schema id of subject %q: %w", s.subject, err)
	}
	if id < 0 || id > math.MaxInt32 {
		return 0, fmt.Errorf("serde: subject %q: registry gave schema id %d, outside the wire format's 32 bits", s.subject, id)
	}
	s.id.Store(int64(id))
	return id, nil
}

// Serialize returns v in the wire format, in a new slice of the exact
// size. A nil v (or nil pointer) is null: Serialize returns nil, as Kafka's
// serializers do.
func (s *AvroSerializer) Serialize(v any) ([]byte, error) {
	if isNil(v) {
		return nil, nil
	}
	id, w, err := s.encode(v)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, HeaderSize+len(w.Buffer()))
	out = append(AppendHeader(out, id), w.Buffer()...)
	s.putWriter(w)
	return out, nil
}

// Append appends v in the wire format to dst and returns the extended
// slice, allocating nothing of its own when dst has room. A nil v (or nil
// pointer) appends nothing: null has no bytes, and is a nil Value. On error
// dst is returned as it was.
func (s *AvroSerializer) Append(dst []byte, v any) ([]byte, error) {
	if isNil(v) {
		return dst, nil
	}
	id, w, err := s.encode(v)
	if err != nil {
		return dst, err
	}
	dst = append(AppendHeader(dst, id), w.Buffer()...)
	s.putWriter(w)
	return dst, nil
}

// encode writes v's Avro body into a pooled writer, which the caller
// returns with putWriter once it has copied the body out.
func (s *AvroSerializer) encode(v any) (int, *avro.Writer, error) {
	id, err := s.ID(context.Background())
	if err != nil {
		return 0, nil, err
	}
	w := s.writers.Get().(*avro.Writer)
	w.Reset(nil)
	w.WriteVal(s.schema, v)
	if err := w.Error; err != nil {
		s.putWriter(w)
		return 0, nil, fmt.Errorf("%w: subject %q: %w", ErrEncode, s.subject, err)
	}
	return id, w, nil
}

func (s *AvroSerializer) putWriter(w *avro.Writer) {
	w.Error = nil
	if cap(w.Buffer()) <= maxPooledWriter {
		s.writers.Put(w)
	}
}

// isNil reports whether v is nil or a nil pointer. (A nil map is not null:
// for an Avro map it is an empty one.)
func isNil(v any) bool {
	if v == nil {
		return true
	}
	rv := reflect.ValueOf(v)
	return rv.Kind() == reflect.Pointer && rv.IsNil()
}
