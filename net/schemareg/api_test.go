package schemareg_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sluicelog/sluice/net/broker"
)

// startRegistry starts a single-node broker with its schema registry on
// 127.0.0.1:0 and returns the broker and the registry's base URL.
func startRegistry(t *testing.T, dir string) (*broker.Broker, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := broker.StartTest(t, func(c *broker.Config) {
		c.SchemaRegistryListener = ln
		if dir != "" {
			c.DataDir = dir
		}
	})
	return b, "http://" + ln.Addr().String()
}

// call sends a request with a JSON body (nil for none) and returns the
// status and the decoded answer.
func call(t *testing.T, method, url string, body any) (int, map[string]any, []byte) {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	case string:
		rd = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/vnd.schemaregistry.v1+json")
	client := http.Client{Timeout: 30 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	json.Unmarshal(raw, &m) // arrays and raw schemas leave m nil
	return resp.StatusCode, m, raw
}

// expect checks a call's status and, for errors, Confluent's error code
// and a piece of its message.
func expect(t *testing.T, method, url string, body any, status int, code int, msg string) []byte {
	t.Helper()
	got, m, raw := call(t, method, url, body)
	if got != status {
		t.Fatalf("%s %s: status %d (%s), want %d", method, url, got, raw, status)
	}
	if code != 0 {
		if c, _ := m["error_code"].(float64); int(c) != code {
			t.Fatalf("%s %s: error_code %v (%s), want %d", method, url, m["error_code"], raw, code)
		}
		if !strings.Contains(fmt.Sprint(m["message"]), msg) {
			t.Fatalf("%s %s: message %q, want it to say %q", method, url, m["message"], msg)
		}
	}
	return raw
}

func schemaBody(schema string) map[string]any { return map[string]any{"schema": schema} }

const (
	userV1 = `{"type":"record","name":"User","namespace":"com.acme","fields":[{"name":"id","type":"long"},{"name":"name","type":"string"}]}`
	// v2 adds a field with a default: BACKWARD compatible.
	userV2 = `{"type":"record","name":"User","namespace":"com.acme","fields":[{"name":"id","type":"long"},{"name":"name","type":"string"},{"name":"email","type":["null","string"],"default":null}]}`
	// v3 adds a field without a default: not BACKWARD compatible.
	userV3 = `{"type":"record","name":"User","namespace":"com.acme","fields":[{"name":"id","type":"long"},{"name":"name","type":"string"},{"name":"email","type":["null","string"],"default":null},{"name":"age","type":"int"}]}`
)

func idOf(t *testing.T, raw []byte) int {
	t.Helper()
	var r struct {
		ID int `json:"id"`
	}
	if err := json.Unmarshal(raw, &r); err != nil || r.ID < 1 {
		t.Fatalf("no id in %s: %v", raw, err)
	}
	return r.ID
}

// TestRegistryAPI walks Confluent's API over a real socket: register,
// re-register (same id), fetch by id and version, evolve under BACKWARD,
// a breaking change refused with 409, levels, look-ups, compatibility
// checks, soft and hard deletes.
func TestRegistryAPI(t *testing.T) {
	_, url := startRegistry(t, "")
	expect(t, "GET", url+"/subjects", nil, 200, 0, "")
	id1 := idOf(t, expect(t, "POST", url+"/subjects/users-value/versions", schemaBody(userV1), 200, 0, ""))
	// The same schema with other spacing is the same schema.
	spaced := strings.ReplaceAll(userV1, ",", ", ")
	if again := idOf(t, expect(t, "POST", url+"/subjects/users-value/versions", schemaBody(spaced), 200, 0, "")); again != id1 {
		t.Fatalf("re-registering gave id %d, want %d", again, id1)
	}
	raw := expect(t, "GET", fmt.Sprintf("%s/schemas/ids/%d", url, id1), nil, 200, 0, "")
	var byID struct{ Schema string }
	json.Unmarshal(raw, &byID)
	if byID.Schema != userV1 {
		t.Fatalf("schema by id: %s", raw)
	}
	if raw := expect(t, "GET", url+"/subjects/users-value/versions", nil, 200, 0, ""); string(raw) != "[1]" {
		t.Fatalf("versions: %s", raw)
	}

	id2 := idOf(t, expect(t, "POST", url+"/subjects/users-value/versions", schemaBody(userV2), 200, 0, ""))
	if id2 == id1 {
		t.Fatal("a new schema got the old id")
	}
	var v SubjectVersionJSON
	json.Unmarshal(expect(t, "GET", url+"/subjects/users-value/versions/latest", nil, 200, 0, ""), &v)
	if v.Version != 2 || v.ID != id2 || v.Subject != "users-value" || v.Schema != userV2 {
		t.Fatalf("latest: %+v", v)
	}
	if raw := expect(t, "GET", url+"/subjects/users-value/versions/1/schema", nil, 200, 0, ""); string(raw) != userV1 {
		t.Fatalf("raw schema of version 1: %s", raw)
	}
	// A breaking change: 409 with Confluent's code, naming the field.
	expect(t, "POST", url+"/subjects/users-value/versions", schemaBody(userV3), 409, 409, "age")
	// The compatibility API says the same without registering.
	_, m, raw := call(t, "POST", url+"/compatibility/subjects/users-value/versions/latest?verbose=true", schemaBody(userV3))
	if m["is_compatible"] != false || !strings.Contains(string(raw), "age") {
		t.Fatalf("compatibility of v3: %s", raw)
	}
	_, m, raw = call(t, "POST", url+"/compatibility/subjects/users-value/versions/1", schemaBody(userV2))
	if m["is_compatible"] != true {
		t.Fatalf("compatibility of v2 against 1: %s", raw)
	}
	// The same schema under another subject keeps its id.
	if other := idOf(t, expect(t, "POST", url+"/subjects/other-value/versions", schemaBody(userV2), 200, 0, "")); other != id2 {
		t.Fatalf("v2 under another subject: id %d, want %d", other, id2)
	}
	if raw := expect(t, "GET", fmt.Sprintf("%s/schemas/ids/%d/versions", url, id2), nil, 200, 0, ""); string(raw) != `[{"subject":"other-value","version":1},{"subject":"users-value","version":2}]` {
		t.Fatalf("versions of id %d: %s", id2, raw)
	}

	// Levels: the default, a subject's own, an invalid one.
	if _, m, _ := call(t, "GET", url+"/config", nil); m["compatibilityLevel"] != "BACKWARD" {
		t.Fatalf("default level %v", m)
	}
	expect(t, "PUT", url+"/config/users-value", map[string]string{"compatibility": "none"}, 200, 0, "")
	if _, m, _ := call(t, "GET", url+"/config/users-value", nil); m["compatibilityLevel"] != "NONE" {
		t.Fatalf("subject level %v", m)
	}
	expect(t, "PUT", url+"/config", map[string]string{"compatibility": "SIDEWAYS"}, 422, 42203, "Invalid compatibility level")
	id3 := idOf(t, expect(t, "POST", url+"/subjects/users-value/versions", schemaBody(userV3), 200, 0, ""))

	// Look-ups.
	_, m, raw = call(t, "POST", url+"/subjects/users-value", schemaBody(userV2))
	if m["version"] != float64(2) || m["id"] != float64(id2) {
		t.Fatalf("look-up of v2: %s", raw)
	}
	expect(t, "POST", url+"/subjects/users-value", schemaBody(`"string"`), 404, 40403, "Schema not found")
	expect(t, "POST", url+"/subjects/nobody", schemaBody(userV1), 404, 40401, "nobody")

	// Deletes: a version softly, then for good; then the subject.
	expect(t, "DELETE", url+"/subjects/users-value/versions/1?permanent=true", nil, 404, 40407, "not deleted first")
	expect(t, "DELETE", url+"/subjects/users-value/versions/1", nil, 200, 0, "")
	if raw := expect(t, "GET", url+"/subjects/users-value/versions", nil, 200, 0, ""); string(raw) != "[2,3]" {
		t.Fatalf("versions after a soft delete: %s", raw)
	}
	if raw := expect(t, "GET", url+"/subjects/users-value/versions?deleted=true", nil, 200, 0, ""); string(raw) != "[1,2,3]" {
		t.Fatalf("versions with the deleted: %s", raw)
	}
	expect(t, "GET", url+"/subjects/users-value/versions/1", nil, 404, 40402, "Version 1 not found")
	expect(t, "DELETE", url+"/subjects/users-value/versions/1?permanent=true", nil, 200, 0, "")
	// Version 1 was the only user of id1: it is gone, and never handed out again.
	expect(t, "GET", fmt.Sprintf("%s/schemas/ids/%d", url, id1), nil, 404, 40403, "Schema not found")
	expect(t, "DELETE", url+"/subjects/users-value", nil, 200, 0, "")
	expect(t, "DELETE", url+"/subjects/users-value", nil, 404, 40404, "soft deleted")
	if raw := expect(t, "GET", url+"/subjects", nil, 200, 0, ""); string(raw) != `["other-value"]` {
		t.Fatalf("subjects after a soft delete: %s", raw)
	}
	expect(t, "DELETE", url+"/subjects/users-value?permanent=true", nil, 200, 0, "")
	fresh := idOf(t, expect(t, "POST", url+"/subjects/users-value/versions", schemaBody(userV1), 200, 0, ""))
	if fresh == id1 || fresh <= id3 {
		t.Fatalf("v1 registered again got id %d: ids %d..%d were handed out before", fresh, id1, id3)
	}
}

// SubjectVersionJSON is GET /subjects/{s}/versions/{v}'s answer.
type SubjectVersionJSON struct {
	Subject string
	Version int
	ID      int
	Schema  string
}

// TestRegistryBadInput: malformed JSON, invalid Avro, unsupported types,
// huge bodies, unknown subjects, ids, versions and routes get Confluent's
// status and code, and the registry goes on serving.
func TestRegistryBadInput(t *testing.T) {
	_, url := startRegistry(t, "")
	expect(t, "POST", url+"/subjects/s/versions", `{"schema": `, 422, 422, "malformed JSON")
	expect(t, "POST", url+"/subjects/s/versions", ``, 422, 422, "no body")
	expect(t, "POST", url+"/subjects/s/versions", schemaBody(`{"type":"record","name":"X"}`), 422, 42201, "Invalid schema")
	expect(t, "POST", url+"/subjects/s/versions", schemaBody(`not json`), 422, 42201, "not JSON")
	expect(t, "POST", url+"/subjects/s/versions", map[string]any{"schema": `syntax = "proto3";`, "schemaType": "PROTOBUF"}, 422, 42201, "Unsupported schema type PROTOBUF")
	expect(t, "POST", url+"/subjects/s/versions", map[string]any{"schema": `{}`, "schemaType": "JSON"}, 422, 42201, "Unsupported schema type JSON")
	huge := `{"schema":"` + strings.Repeat("x", 5<<20) + `"}`
	expect(t, "POST", url+"/subjects/s/versions", huge, 413, 413, "larger than")
	expect(t, "GET", url+"/subjects/nobody/versions", nil, 404, 40401, "nobody")
	expect(t, "GET", url+"/subjects/nobody/versions/latest", nil, 404, 40401, "nobody")
	expect(t, "GET", url+"/schemas/ids/4242", nil, 404, 40403, "Schema not found")
	expect(t, "GET", url+"/schemas/ids/x", nil, 404, 40403, "not found")
	expect(t, "GET", url+"/subjects/s/versions/abc", nil, 422, 42202, "not a valid version")
	expect(t, "GET", url+"/subjects/s/versions/0", nil, 422, 42202, "not a valid version")
	expect(t, "GET", url+"/nowhere", nil, 404, 404, "Not Found")
	expect(t, "PUT", url+"/subjects", nil, 405, 405, "Method Not Allowed")
	expect(t, "DELETE", url+"/config/nobody", nil, 404, 40401, "nobody")
	// Still serving.
	idOf(t, expect(t, "POST", url+"/subjects/s/versions", schemaBody(`"string"`), 200, 0, ""))
	if raw := expect(t, "GET", url+"/schemas/types", nil, 200, 0, ""); string(raw) != `["AVRO"]` {
		t.Fatalf("types: %s", raw)
	}
}

// TestRegistrySurvivesRestart: schemas, ids, versions and levels are in
// the _schemas topic, and a restarted broker serves them again and hands
// out the next id after the last.
func TestRegistrySurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	b, url := startRegistry(t, dir)
	id1 := idOf(t, expect(t, "POST", url+"/subjects/users-value/versions", schemaBody(userV1), 200, 0, ""))
	id2 := idOf(t, expect(t, "POST", url+"/subjects/users-value/versions", schemaBody(userV2), 200, 0, ""))
	expect(t, "PUT", url+"/config/users-value", map[string]string{"compatibility": "FULL"}, 200, 0, "")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := b.Close(ctx); err != nil {
		t.Fatal(err)
	}
	_, url = startRegistry(t, dir)
	// The applier replays the topic on start: wait for it, bounded.
	deadline := time.Now().Add(20 * time.Second)
	for {
		if st, _, _ := call(t, "GET", fmt.Sprintf("%s/schemas/ids/%d", url, id2), nil); st == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the restarted registry never served id 2")
		}
		time.Sleep(20 * time.Millisecond)
	}
	var v SubjectVersionJSON
	json.Unmarshal(expect(t, "GET", url+"/subjects/users-value/versions/1", nil, 200, 0, ""), &v)
	if v.ID != id1 || v.Schema != userV1 {
		t.Fatalf("version 1 after a restart: %+v", v)
	}
	if _, m, _ := call(t, "GET", url+"/config/users-value", nil); m["compatibilityLevel"] != "FULL" {
		t.Fatalf("level after a restart: %v", m)
	}
	id3 := idOf(t, expect(t, "POST", url+"/subjects/x/versions", schemaBody(`"string"`), 200, 0, ""))
	if id3 <= id2 {
		t.Fatalf("a new schema after a restart got id %d, not past %d", id3, id2)
	}
}
