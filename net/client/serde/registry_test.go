package serde_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/hamba/avro/v2"

	"github.com/sluicelog/sluice/net/schemareg/regclient"
)

// testRegistry is the part of a schema registry these tests use, over real
// HTTP on 127.0.0.1: register (with a BACKWARD check against the latest
// version), look up, schemas by id, subject versions. It counts requests,
// so a test can see that a warm cache asks nothing.
type testRegistry struct {
	srv      *httptest.Server
	requests atomic.Int64

	mu       sync.Mutex
	schemas  []string       // schema id i+1's text
	parsed   []avro.Schema  // and parsed
	ids      map[string]int // normalised text → id
	subjects map[string][]int
}

func startRegistry(tb testing.TB) *testRegistry {
	tb.Helper()
	r := newTestRegistry()
	tb.Cleanup(r.srv.Close)
	return r
}

// newTestRegistry starts a registry the caller closes (for examples, which
// have no testing.TB).
func newTestRegistry() *testRegistry {
	r := &testRegistry{ids: map[string]int{}, subjects: map[string][]int{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /subjects/{subject}/versions", r.register)
	mux.HandleFunc("POST /subjects/{subject}", r.lookup)
	mux.HandleFunc("GET /schemas/ids/{id}", r.byID)
	mux.HandleFunc("GET /subjects/{subject}/versions/{version}", r.version)
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.requests.Add(1)
		w.Header().Set("Content-Type", "application/vnd.schemaregistry.v1+json")
		mux.ServeHTTP(w, req)
	}))
	return r
}

// client returns a new client of the registry, with cold caches.
func (r *testRegistry) client(tb testing.TB) *regclient.Client {
	tb.Helper()
	c, err := regclient.New(regclient.Config{URLs: []string{r.srv.URL}})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(c.Close)
	return c
}

func fail(w http.ResponseWriter, status, code int, format string, args ...any) {
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"error_code": code, "message": fmt.Sprintf(format, args...)})
}

// readSchema decodes a request's {"schema": ...} and parses it.
func readSchema(w http.ResponseWriter, req *http.Request) (text, norm string, s avro.Schema, ok bool) {
	var body regclient.Schema
	if err := json.NewDecoder(req.Body).Decode(&body); err != nil {
		fail(w, 422, 42201, "bad body: %v", err)
		return "", "", nil, false
	}
	if !body.IsAvro() {
		fail(w, 422, 42201, "only AVRO here, not %s", body.Type)
		return "", "", nil, false
	}
	s, err := regclient.ParseAvro(body.Schema)
	if err != nil {
		fail(w, 422, 42201, "invalid schema: %v", err)
		return "", "", nil, false
	}
	b, _ := json.Marshal(s)
	return body.Schema, string(b), s, true
}

func (r *testRegistry) register(w http.ResponseWriter, req *http.Request) {
	subject := req.PathValue("subject")
	text, norm, s, ok := readSchema(w, req)
	if !ok {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	id, known := r.ids[norm]
	versions := r.subjects[subject]
	if known && slices.Contains(versions, id) {
		json.NewEncoder(w).Encode(map[string]int{"id": id})
		return
	}
	if n := len(versions); n > 0 {
		// BACKWARD: the new schema must read what the latest wrote.
		if err := avro.NewSchemaCompatibility().Compatible(s, r.parsed[versions[n-1]-1]); err != nil {
			fail(w, 409, 409, "incompatible with version %d: %v", n, err)
			return
		}
	}
	if !known {
		r.schemas = append(r.schemas, text)
		r.parsed = append(r.parsed, s)
		id = len(r.schemas)
		r.ids[norm] = id
	}
	r.subjects[subject] = append(versions, id)
	json.NewEncoder(w).Encode(map[string]int{"id": id})
}

func (r *testRegistry) lookup(w http.ResponseWriter, req *http.Request) {
	subject := req.PathValue("subject")
	_, norm, _, ok := readSchema(w, req)
	if !ok {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	versions, found := r.subjects[subject]
	if !found {
		fail(w, 404, 40401, "Subject '%s' not found.", subject)
		return
	}
	id := r.ids[norm]
	v := slices.Index(versions, id)
	if id == 0 || v < 0 {
		fail(w, 404, 40403, "Schema not found")
		return
	}
	json.NewEncoder(w).Encode(regclient.SubjectSchema{Subject: subject, ID: id, Version: v + 1,
		Schema: regclient.Schema{Schema: r.schemas[id-1]}})
}

func (r *testRegistry) byID(w http.ResponseWriter, req *http.Request) {
	id, err := strconv.Atoi(req.PathValue("id"))
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil || id < 1 || id > len(r.schemas) {
		fail(w, 404, 40403, "Schema %s not found", req.PathValue("id"))
		return
	}
	json.NewEncoder(w).Encode(regclient.Schema{Schema: r.schemas[id-1]})
}

func (r *testRegistry) version(w http.ResponseWriter, req *http.Request) {
	subject := req.PathValue("subject")
	r.mu.Lock()
	defer r.mu.Unlock()
	versions, found := r.subjects[subject]
	if !found {
		fail(w, 404, 40401, "Subject '%s' not found.", subject)
		return
	}
	v := len(versions)
	if s := req.PathValue("version"); s != "latest" {
		var err error
		if v, err = strconv.Atoi(s); err != nil || v < 1 || v > len(versions) {
			fail(w, 404, 40402, "Version %s not found.", s)
			return
		}
	}
	id := versions[v-1]
	json.NewEncoder(w).Encode(regclient.SubjectSchema{Subject: subject, ID: id, Version: v,
		Schema: regclient.Schema{Schema: r.schemas[id-1]}})
}
