package regclient_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicelog/sluice/net/schemareg/regclient"
)

// exchange is one request a test expects and the answer it gets.
type exchange struct {
	method, uri string // uri as sent: escaped path and query
	body        string // the request's JSON body; "" for none
	status      int    // 200 when 0
	answer      string
}

// script serves exchanges in order and fails the test on any other
// request: it pins down the client's wire shape, not a registry's logic
// (the serde tests run against a small working registry).
type script struct {
	t    *testing.T
	mu   sync.Mutex
	next []exchange
}

func (s *script) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.next) == 0 {
		s.t.Errorf("unexpected request %s %s", r.Method, r.RequestURI)
		http.Error(w, "unexpected", http.StatusTeapot)
		return
	}
	ex := s.next[0]
	s.next = s.next[1:]
	body, _ := io.ReadAll(r.Body)
	if r.Method != ex.method || r.RequestURI != ex.uri {
		s.t.Errorf("request %s %s, want %s %s", r.Method, r.RequestURI, ex.method, ex.uri)
	}
	if string(body) != ex.body {
		s.t.Errorf("%s %s: body %s, want %s", r.Method, r.RequestURI, body, ex.body)
	}
	if ex.body != "" && r.Header.Get("Content-Type") != "application/vnd.schemaregistry.v1+json" {
		s.t.Errorf("%s %s: Content-Type %q", r.Method, r.RequestURI, r.Header.Get("Content-Type"))
	}
	if a := r.Header.Get("Accept"); !strings.Contains(a, "application/vnd.schemaregistry.v1+json") || !strings.Contains(a, "application/json") {
		s.t.Errorf("%s %s: Accept %q", r.Method, r.RequestURI, a)
	}
	status := ex.status
	if status == 0 {
		status = http.StatusOK
	}
	w.Header().Set("Content-Type", "application/vnd.schemaregistry.v1+json")
	w.WriteHeader(status)
	io.WriteString(w, ex.answer)
}

func (s *script) expect(ex ...exchange) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.next) != 0 {
		s.t.Fatalf("%d expected requests never came: %v", len(s.next), s.next)
	}
	s.next = ex
}

func (s *script) done() {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.next) != 0 {
		s.t.Errorf("%d expected requests never came: %v", len(s.next), s.next)
	}
}

func newScripted(t *testing.T) (*regclient.Client, *script) {
	t.Helper()
	s := &script{t: t}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	c, err := regclient.New(regclient.Config{URLs: []string{srv.URL + "/"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c, s
}

const userV1 = `{"type":"record","name":"User","fields":[{"name":"name","type":"string"}]}`

// TestRequests checks each call's method, escaped URI and body, and its
// decoding of the answer.
func TestRequests(t *testing.T) {
	ctx := context.Background()
	c, s := newScripted(t)
	avroS := regclient.Schema{Schema: userV1}
	const subj = "a/b c-value" // escaping: '/' and ' ' must not reach the path raw
	const esc = "/subjects/a%2Fb%20c-value"
	regBody := `{"schema":"{\"type\":\"record\",\"name\":\"User\",\"fields\":[{\"name\":\"name\",\"type\":\"string\"}]}"}`

	s.expect(exchange{method: "POST", uri: esc + "/versions", body: regBody, answer: `{"id":7}`})
	if id, err := c.Register(ctx, subj, avroS); err != nil || id != 7 {
		t.Fatalf("Register = %d, %v", id, err)
	}
	s.done()

	s.expect(exchange{method: "POST", uri: "/subjects/p-value/versions", body: `{"schema":"syntax = \"proto3\";","schemaType":"PROTOBUF"}`, answer: `{"id":8}`})
	if id, err := c.Register(ctx, "p-value", regclient.Schema{Schema: `syntax = "proto3";`, Type: regclient.Protobuf}); err != nil || id != 8 {
		t.Fatalf("Register protobuf = %d, %v", id, err)
	}
	s.done()

	s.expect(exchange{method: "POST", uri: esc, body: regBody,
		answer: `{"subject":"a/b c-value","id":7,"version":3,"schema":` + jsonString(userV1) + `}`})
	got, err := c.Lookup(ctx, subj, avroS)
	want := regclient.SubjectSchema{Subject: subj, ID: 7, Version: 3, Schema: avroS}
	if err != nil || got != want {
		t.Fatalf("Lookup = %+v, %v; want %+v", got, err, want)
	}
	s.done()

	s.expect(exchange{method: "GET", uri: "/schemas/ids/7", answer: `{"schema":` + jsonString(userV1) + `}`})
	if got, err := c.SchemaByID(ctx, 7); err != nil || got != avroS {
		t.Fatalf("SchemaByID = %+v, %v", got, err)
	}
	s.done()

	s.expect(exchange{method: "GET", uri: "/subjects", answer: `["a","b"]`})
	if got, err := c.Subjects(ctx); err != nil || !reflect.DeepEqual(got, []string{"a", "b"}) {
		t.Fatalf("Subjects = %v, %v", got, err)
	}
	s.done()

	s.expect(exchange{method: "GET", uri: esc + "/versions", answer: `[1,2]`})
	if got, err := c.Versions(ctx, subj); err != nil || !reflect.DeepEqual(got, []int{1, 2}) {
		t.Fatalf("Versions = %v, %v", got, err)
	}
	s.done()

	s.expect(
		exchange{method: "GET", uri: "/subjects?deleted=true", answer: `["a","gone"]`},
		exchange{method: "GET", uri: esc + "/versions?deleted=true", answer: `[1,2,3]`},
		exchange{method: "GET", uri: esc + "/versions/1?deleted=true", answer: `{"subject":"a/b c-value","id":7,"version":1,"schema":"\"string\""}`},
	)
	if got, err := c.Subjects(ctx, regclient.IncludeDeleted()); err != nil || len(got) != 2 {
		t.Fatalf("Subjects(IncludeDeleted) = %v, %v", got, err)
	}
	if got, err := c.Versions(ctx, subj, regclient.IncludeDeleted()); err != nil || len(got) != 3 {
		t.Fatalf("Versions(IncludeDeleted) = %v, %v", got, err)
	}
	if got, err := c.Version(ctx, subj, 1, regclient.IncludeDeleted()); err != nil || got.ID != 7 {
		t.Fatalf("Version(1, IncludeDeleted) = %+v, %v", got, err)
	}
	s.done()

	s.expect(
		exchange{method: "GET", uri: esc + "/versions/latest",
			answer: `{"subject":"a/b c-value","id":9,"version":2,"schema":"\"int\"","schemaType":"AVRO"}`},
		exchange{method: "GET", uri: esc + "/versions/1",
			answer: `{"subject":"a/b c-value","id":7,"version":1,"schema":"\"string\""}`},
	)
	if got, err := c.Version(ctx, subj, regclient.Latest); err != nil || got.ID != 9 || got.Version != 2 || got.Schema.Schema != `"int"` || got.Type != regclient.Avro {
		t.Fatalf("Version(latest) = %+v, %v", got, err)
	}
	if got, err := c.Version(ctx, subj, 1); err != nil || got.ID != 7 || !got.IsAvro() {
		t.Fatalf("Version(1) = %+v, %v", got, err)
	}
	s.done()

	s.expect(
		exchange{method: "POST", uri: "/compatibility" + esc + "/versions/latest?verbose=true", body: regBody,
			answer: `{"is_compatible":false,"messages":["field x lacks a default"]}`},
		exchange{method: "POST", uri: "/compatibility" + esc + "/versions/2?verbose=true", body: regBody,
			answer: `{"is_compatible":true}`},
		exchange{method: "POST", uri: "/compatibility" + esc + "/versions?verbose=true", body: regBody,
			answer: `{"is_compatible":true}`},
	)
	if got, err := c.CheckCompatibility(ctx, subj, regclient.Latest, avroS); err != nil || got.Compatible || len(got.Messages) != 1 {
		t.Fatalf("CheckCompatibility(latest) = %+v, %v", got, err)
	}
	if got, err := c.CheckCompatibility(ctx, subj, 2, avroS); err != nil || !got.Compatible {
		t.Fatalf("CheckCompatibility(2) = %+v, %v", got, err)
	}
	if got, err := c.CheckCompatibility(ctx, subj, regclient.AllVersions, avroS); err != nil || !got.Compatible {
		t.Fatalf("CheckCompatibility(AllVersions) = %+v, %v", got, err)
	}
	s.done()

	s.expect(
		exchange{method: "GET", uri: "/config", answer: `{"compatibilityLevel":"BACKWARD"}`},
		exchange{method: "PUT", uri: "/config/a%2Fb%20c-value", body: `{"compatibility":"FULL"}`, answer: `{"compatibility":"FULL"}`},
	)
	if got, err := c.CompatibilityLevel(ctx, ""); err != nil || got != regclient.Backward {
		t.Fatalf("CompatibilityLevel = %q, %v", got, err)
	}
	if got, err := c.SetCompatibilityLevel(ctx, subj, regclient.Full); err != nil || got != regclient.Full {
		t.Fatalf("SetCompatibilityLevel = %q, %v", got, err)
	}
	s.done()

	s.expect(
		exchange{method: "PUT", uri: "/config", body: `{"compatibility":"NONE"}`, answer: `{"compatibility":"NONE"}`},
		exchange{method: "GET", uri: "/config/x", answer: `{"compatibilityLevel":"FORWARD_TRANSITIVE"}`},
	)
	if got, err := c.SetCompatibilityLevel(ctx, "", regclient.None); err != nil || got != regclient.None {
		t.Fatalf("SetCompatibilityLevel global = %q, %v", got, err)
	}
	if got, err := c.CompatibilityLevel(ctx, "x"); err != nil || got != regclient.ForwardTransitive {
		t.Fatalf("CompatibilityLevel(x) = %q, %v", got, err)
	}
	s.done()

	s.expect(
		exchange{method: "DELETE", uri: esc, answer: `[1,2]`},
		exchange{method: "DELETE", uri: esc + "?permanent=true", answer: `[1,2]`},
		exchange{method: "DELETE", uri: esc + "/versions/2", answer: `2`},
		exchange{method: "DELETE", uri: esc + "/versions/latest?permanent=true", answer: `3`},
	)
	if got, err := c.DeleteSubject(ctx, subj, false); err != nil || !reflect.DeepEqual(got, []int{1, 2}) {
		t.Fatalf("DeleteSubject = %v, %v", got, err)
	}
	if got, err := c.DeleteSubject(ctx, subj, true); err != nil || !reflect.DeepEqual(got, []int{1, 2}) {
		t.Fatalf("DeleteSubject permanent = %v, %v", got, err)
	}
	if got, err := c.DeleteVersion(ctx, subj, 2, false); err != nil || got != 2 {
		t.Fatalf("DeleteVersion = %v, %v", got, err)
	}
	if got, err := c.DeleteVersion(ctx, subj, regclient.Latest, true); err != nil || got != 3 {
		t.Fatalf("DeleteVersion latest permanent = %v, %v", got, err)
	}
	s.done()
}

func jsonString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		if r == '"' || r == '\\' {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	b.WriteByte('"')
	return b.String()
}

// TestErrors checks that refusals become *Error values that match the
// sentinels by code, whatever their message, and that an answer that is not
// the registry's JSON still gives a useful error.
func TestErrors(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		status   int
		answer   string
		sentinel error
		code     int
		retry    bool
	}{
		{404, `{"error_code":40401,"message":"Subject 'x' not found."}`, regclient.ErrSubjectNotFound, 40401, false},
		{404, `{"error_code":40402,"message":"Version 9 not found."}`, regclient.ErrVersionNotFound, 40402, false},
		{404, `{"error_code":40403,"message":"Schema 99 not found"}`, regclient.ErrSchemaNotFound, 40403, false},
		{404, `{"error_code":40408,"message":"no level"}`, regclient.ErrCompatibilityNotSet, 40408, false},
		{409, `{"error_code":409,"message":"incompatible"}`, regclient.ErrIncompatible, 409, false},
		{422, `{"error_code":42201,"message":"bad schema"}`, regclient.ErrInvalidSchema, 42201, false},
		{422, `{"error_code":42202,"message":"bad version"}`, regclient.ErrInvalidVersion, 42202, false},
		{422, `{"error_code":42203,"message":"bad level"}`, regclient.ErrInvalidCompatibilityLevel, 42203, false},
		{500, `{"error_code":50001,"message":"store down"}`, regclient.ErrBackend, 50001, true},
		{409, `{"message":"no code"}`, regclient.ErrIncompatible, 409, false},
		{502, `<html>Bad Gateway</html>`, nil, 502, true},
	}
	for _, tc := range cases {
		c, s := newScripted(t)
		s.expect(exchange{method: "GET", uri: "/schemas/ids/99", status: tc.status, answer: tc.answer})
		_, err := c.SchemaByID(ctx, 99)
		s.done()
		var e *regclient.Error
		if !errors.As(err, &e) {
			t.Fatalf("%s: error %v is no *Error", tc.answer, err)
		}
		if e.Status != tc.status || e.Code != tc.code || e.Retriable() != tc.retry {
			t.Errorf("%s: got %+v (retriable %v)", tc.answer, e, e.Retriable())
		}
		if tc.sentinel != nil && !errors.Is(err, tc.sentinel) {
			t.Errorf("%s: errors.Is(%v, %v) is false", tc.answer, err, tc.sentinel)
		}
		for _, other := range []error{regclient.ErrSubjectNotFound, regclient.ErrSchemaNotFound, regclient.ErrBackend} {
			if other != tc.sentinel && errors.Is(err, other) {
				t.Errorf("%s: matches %v too", tc.answer, other)
			}
		}
		if !strings.Contains(err.Error(), "/schemas/ids/99") {
			t.Errorf("error %q does not name the URL", err)
		}
	}
}

// TestSchemaByIDCached: ids are immutable, so a second call asks nothing;
// a miss is not cached.
func TestSchemaByIDCached(t *testing.T) {
	ctx := context.Background()
	c, s := newScripted(t)
	s.expect(
		exchange{method: "GET", uri: "/schemas/ids/3", status: 404, answer: `{"error_code":40403,"message":"not yet"}`},
		exchange{method: "GET", uri: "/schemas/ids/3", answer: `{"schema":` + jsonString(userV1) + `}`},
	)
	if _, err := c.AvroSchemaByID(ctx, 3); !errors.Is(err, regclient.ErrSchemaNotFound) {
		t.Fatalf("first AvroSchemaByID: %v", err)
	}
	a, err := c.AvroSchemaByID(ctx, 3)
	if err != nil {
		t.Fatal(err)
	}
	s.done()
	for range 3 {
		b, err := c.AvroSchemaByID(ctx, 3)
		if err != nil || b != a {
			t.Fatalf("cached AvroSchemaByID = %v, %v", b, err)
		}
		if raw, err := c.SchemaByID(ctx, 3); err != nil || raw.Schema != userV1 {
			t.Fatalf("cached SchemaByID = %v, %v", raw, err)
		}
	}
	if a.Type() != "record" {
		t.Fatalf("parsed %v", a)
	}
}

// TestRegisterCached: a schema registered once is not registered again,
// even spelt differently; a changed default is another schema; deleting the
// subject forgets.
func TestRegisterCached(t *testing.T) {
	ctx := context.Background()
	c, s := newScripted(t)
	v2 := `{"type":"record","name":"User","fields":[{"name":"name","type":"string"},{"name":"age","type":"int","default":0}]}`
	v2b := `{"type":"record","name":"User","fields":[{"name":"name","type":"string"},{"name":"age","type":"int","default":1}]}`
	spaced := "{ \"name\": \"User\",\n \"type\": \"record\", \"fields\": [ {\"type\": \"string\", \"name\": \"name\"} ] }"
	s.expect(
		exchange{method: "POST", uri: "/subjects/s/versions", body: `{"schema":` + jsonString(userV1) + `}`, answer: `{"id":1}`},
		exchange{method: "POST", uri: "/subjects/s/versions", body: `{"schema":` + jsonString(v2) + `}`, answer: `{"id":2}`},
		exchange{method: "POST", uri: "/subjects/s/versions", body: `{"schema":` + jsonString(v2b) + `}`, answer: `{"id":3}`},
	)
	for _, tc := range []struct {
		schema string
		id     int
	}{{userV1, 1}, {spaced, 1}, {v2, 2}, {userV1, 1}, {v2b, 3}, {v2, 2}} {
		id, err := c.Register(ctx, "s", regclient.Schema{Schema: tc.schema})
		if err != nil || id != tc.id {
			t.Fatalf("Register(%s) = %d, %v; want %d", tc.schema, id, err, tc.id)
		}
	}
	if id, err := c.LookupID(ctx, "s", regclient.Schema{Schema: spaced}); err != nil || id != 1 {
		t.Fatalf("LookupID = %d, %v", id, err)
	}
	s.done()

	s.expect(
		exchange{method: "DELETE", uri: "/subjects/s", answer: `[1,2,3]`},
		exchange{method: "POST", uri: "/subjects/s", body: `{"schema":` + jsonString(userV1) + `}`,
			answer: `{"subject":"s","id":1,"version":4,"schema":` + jsonString(userV1) + `}`},
	)
	if _, err := c.DeleteSubject(ctx, "s", false); err != nil {
		t.Fatal(err)
	}
	if id, err := c.LookupID(ctx, "s", regclient.Schema{Schema: userV1}); err != nil || id != 1 {
		t.Fatalf("LookupID after delete = %d, %v", id, err)
	}
	s.done()
}

// deadURL returns a URL nothing listens on.
func deadURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := "http://" + l.Addr().String()
	l.Close()
	return u
}

// TestFailover: a dead URL and a URL whose server drops connections are
// passed over; the next request starts at the URL that answered.
func TestFailover(t *testing.T) {
	ctx := context.Background()
	var drops atomic.Int64
	dropper := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		drops.Add(1)
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
	}))
	defer dropper.Close()
	var hits atomic.Int64
	good := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		io.WriteString(w, `["x"]`)
	}))
	defer good.Close()

	c, err := regclient.New(regclient.Config{URLs: []string{deadURL(t) + " , " + dropper.URL, good.URL}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if n := len(c.URLs()); n != 3 {
		t.Fatalf("URLs = %v", c.URLs())
	}
	for i := range 3 {
		if got, err := c.Subjects(ctx); err != nil || len(got) != 1 {
			t.Fatalf("request %d: %v, %v", i, got, err)
		}
	}
	if hits.Load() != 3 {
		t.Errorf("good URL answered %d requests, want 3", hits.Load())
	}
	// Only the first request tried the dropper (which the client may try
	// twice: net/http retries an idempotent request on a fresh connection).
	if d := drops.Load(); d < 1 || d > 2 {
		t.Errorf("dropping URL saw %d requests, want 1 or 2", d)
	}
}

// TestUnavailable: when no URL answers, the error wraps ErrUnavailable and
// names every URL.
func TestUnavailable(t *testing.T) {
	a, b := deadURL(t), deadURL(t)
	c, err := regclient.New(regclient.Config{URLs: []string{a, b}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.SchemaByID(context.Background(), 1)
	if !errors.Is(err, regclient.ErrUnavailable) {
		t.Fatalf("error %v is not ErrUnavailable", err)
	}
	for _, u := range []string{a, b} {
		if !strings.Contains(err.Error(), u) {
			t.Errorf("error %q does not name %s", err, u)
		}
	}
}

// TestTimeout: a URL that does not answer within Timeout is passed over;
// the caller's own deadline ends the call without failing over.
func TestTimeout(t *testing.T) {
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer slow.Close()
	defer close(release)
	good := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `[1]`)
	}))
	defer good.Close()

	c, err := regclient.New(regclient.Config{URLs: []string{slow.URL, good.URL}, Timeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := c.Versions(context.Background(), "s"); err != nil || len(got) != 1 {
		t.Fatalf("Versions = %v, %v", got, err)
	}

	c2, err := regclient.New(regclient.Config{URLs: []string{slow.URL, good.URL}, Timeout: -1})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := c2.Versions(ctx, "s"); !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), slow.URL) {
		t.Fatalf("Versions past the caller's deadline: %v", err)
	}
}

// TestHeaderAndHTTPClient: Config.Header reaches the registry, through the
// caller's http.Client.
func TestHeaderAndHTTPClient(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer t0k" {
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"error_code":40101,"message":"who are you"}`)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `[]`)
	}))
	defer srv.Close()
	c, err := regclient.New(regclient.Config{URLs: []string{srv.URL}, HTTPClient: srv.Client(),
		Header: http.Header{"Authorization": {"Bearer t0k"}}})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := c.Subjects(context.Background()); err != nil || len(got) != 0 {
		t.Fatalf("Subjects = %v, %v", got, err)
	}
}

func TestNewChecksURLs(t *testing.T) {
	for _, urls := range [][]string{nil, {""}, {" , "}, {"localhost:8081"}, {"ftp://h"}, {"http://h?x=1"}, {"http://%zz"}} {
		if _, err := regclient.New(regclient.Config{URLs: urls}); err == nil {
			t.Errorf("New(%q) accepted", urls)
		}
	}
	c, err := regclient.New(regclient.Config{URLs: []string{"http://a:1/prefix/, https://b"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := c.URLs(); !reflect.DeepEqual(got, []string{"http://a:1/prefix", "https://b"}) {
		t.Fatalf("URLs = %q", got)
	}
}

// TestSchemaByIDShared: concurrent calls for one id make one request; when
// the caller making it gives up, a waiting caller asks again itself.
func TestSchemaByIDShared(t *testing.T) {
	var hits atomic.Int64
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hits.Add(1) == 1 {
			select {
			case <-release:
			case <-r.Context().Done():
				return
			}
		}
		io.WriteString(w, `{"schema":"\"int\""}`)
	}))
	defer srv.Close()
	c, err := regclient.New(regclient.Config{URLs: []string{srv.URL}})
	if err != nil {
		t.Fatal(err)
	}

	// The first caller's context ends while its request hangs; the others
	// must not inherit its failure.
	ctx, cancel := context.WithCancel(context.Background())
	first := make(chan error, 1)
	go func() {
		_, err := c.SchemaByID(ctx, 5)
		first <- err
	}()
	for hits.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 10)
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := c.SchemaByID(context.Background(), 5)
			if err == nil && s.Schema != `"int"` {
				err = errors.New("wrong schema " + s.Schema)
			}
			errs <- err
		}()
	}
	time.Sleep(20 * time.Millisecond) // let them queue behind the first
	cancel()
	if err := <-first; !errors.Is(err, context.Canceled) {
		t.Fatalf("abandoned call: %v", err)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if n := hits.Load(); n != 2 {
		t.Errorf("%d requests, want 2 (the abandoned one and one retry)", n)
	}
	close(release)
}
