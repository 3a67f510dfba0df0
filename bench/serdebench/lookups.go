package serdebench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluicelog/sluice/bench/units"
	"github.com/sluicelog/sluice/net/client/serde"
	"github.com/sluicelog/sluice/net/schemareg/regclient"
)

// Lookup kinds, each a way to get a schema or its id.
const (
	LookupSerializerID = "serializer ID()"
	LookupDeserializer = "deserializer, schema by id"
	LookupClientByID   = "regclient AvroSchemaByID"
	LookupHTTP         = "HTTP GET /schemas/ids/{id}, uncached"
)

// LookupKinds are the lookups of a round, in order: the warm caches,
// then the registry itself.
var LookupKinds = []string{LookupSerializerID, LookupDeserializer, LookupClientByID, LookupHTTP}

// Lookup is one kind of lookup run by many goroutines at once for a
// while.
type Lookup struct {
	Kind       string  `json:"kind"`
	Goroutines int     `json:"goroutines"`
	Calls      int64   `json:"calls"`
	PerSec     float64 `json:"per_s"`
	CPU
}

// lookups holds what the lookups call: the warm serializer, a deserializer
// warm for the empty schema and a value of it (the header alone), the
// registry client with the order schema's id cached, and a plain HTTP
// client of the registry.
type lookups struct {
	ser      *serde.AvroSerializer
	emptyDe  *serde.AvroDeserializer
	emptyVal []byte
	reg      *regclient.Client
	id       int // the order schema's
	hc       *http.Client
	url      string // the registry's base URL
}

// call returns the function one goroutine calls for kind.
func (l *lookups) call(ctx context.Context, kind string) func() error {
	switch kind {
	case LookupSerializerID:
		return func() error {
			id, err := l.ser.ID(ctx)
			if err == nil && id != l.id {
				err = fmt.Errorf("ID() = %d, want %d", id, l.id)
			}
			return err
		}
	case LookupDeserializer:
		var v struct{}
		return func() error { return l.emptyDe.Deserialize(l.emptyVal, &v) }
	case LookupClientByID:
		return func() error {
			_, err := l.reg.AvroSchemaByID(ctx, l.id)
			return err
		}
	case LookupHTTP:
		u := l.url + "/schemas/ids/" + strconv.Itoa(l.id)
		return func() error { return l.get(ctx, u) }
	}
	panic("serdebench: unknown lookup " + kind)
}

// get asks the registry for a schema by id as a client without a cache
// would: a GET on a kept-alive connection, its JSON answer decoded.
func (l *lookups) get(ctx context.Context, u string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/vnd.schemaregistry.v1+json")
	resp, err := l.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("GET %s: %s: %s", u, resp.Status, b)
	}
	var s regclient.Schema
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		return fmt.Errorf("GET %s: %w", u, err)
	}
	if s.Schema == "" {
		return fmt.Errorf("GET %s: no schema in the answer", u)
	}
	_, err = io.Copy(io.Discard, resp.Body) // so that the connection is reused
	return err
}

// measure runs kind's call from goroutines goroutines at once for about d
// and counts the calls. Warm lookups are counted in batches of 256 calls
// between looks at the clock's flag; the HTTP ones one at a time.
func (l *lookups) measure(ctx context.Context, kind string, goroutines int, d time.Duration, brokerPID int) (Lookup, error) {
	res := Lookup{Kind: kind, Goroutines: goroutines}
	batch := 256
	if kind == LookupHTTP {
		batch = 1
	}
	var stop atomic.Bool
	var calls atomic.Int64
	var firstErr atomic.Pointer[error]
	var wg sync.WaitGroup
	meter := startCPU(brokerPID)
	for range goroutines {
		f := l.call(ctx, kind)
		wg.Go(func() {
			var n int64
			defer func() { calls.Add(n) }()
			for !stop.Load() {
				for range batch {
					if err := f(); err != nil {
						firstErr.CompareAndSwap(nil, &err)
						stop.Store(true)
						return
					}
				}
				n += int64(batch)
			}
		})
	}
	t := time.NewTimer(d)
	select {
	case <-t.C:
	case <-ctx.Done():
	}
	t.Stop()
	stop.Store(true)
	wg.Wait()
	res.CPU = meter.stop()
	if e := firstErr.Load(); e != nil {
		return res, fmt.Errorf("%s: %w", kind, *e)
	}
	if err := ctx.Err(); err != nil {
		return res, err
	}
	res.Calls = calls.Load()
	res.PerSec = units.Ratio(float64(res.Calls), res.Seconds)
	return res, nil
}
