package broker_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/sluicelog/sluice/net/broker"
	"github.com/sluicelog/sluice/net/schemareg"
)

// registryCall posts or gets JSON on a registry and returns the status
// and body; a transport error is status 0.
func registryCall(method, url string, body any) (int, []byte) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		return 0, []byte(err.Error())
	}
	req.Header.Set("Content-Type", "application/vnd.schemaregistry.v1+json")
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		return 0, []byte(err.Error())
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, raw
}

// registerUntil registers schema under subject through url, retrying
// (bounded) while the cluster moves the registry's leadership.
func registerUntil(t *testing.T, url, subject, schema string) int {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		st, raw := registryCall("POST", url+"/subjects/"+subject+"/versions", map[string]string{"schema": schema})
		if st == 200 {
			var r struct{ ID int }
			if err := json.Unmarshal(raw, &r); err != nil || r.ID < 1 {
				t.Fatalf("register %s: %s", subject, raw)
			}
			return r.ID
		}
		if st != 0 && st < 500 {
			t.Fatalf("register %s through %s: %d %s", subject, url, st, raw)
		}
		if time.Now().After(deadline) {
			t.Fatalf("register %s through %s: still %d %s", subject, url, st, raw)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitSchema waits (bounded) until url serves id as schema.
func waitSchema(t *testing.T, url string, id int, schema string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		st, raw := registryCall("GET", fmt.Sprintf("%s/schemas/ids/%d", url, id), nil)
		var r struct{ Schema string }
		if st == 200 && json.Unmarshal(raw, &r) == nil && r.Schema == schema {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never served id %d as %s: %d %s", url, id, schema, st, raw)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestClusterSchemaRegistry: every broker of a cluster serves the
// registry; writes through any broker land on the leader of _schemas-0
// (forwarded), ids are unique, every broker reads every schema from its
// replica, and after the leader is killed the others still serve every
// schema and id, and hand out new ids past the old ones.
func TestClusterSchemaRegistry(t *testing.T) {
	bs := broker.StartTestCluster(t, 3, func(c *broker.Config) { c.SchemaRegistryListen = "127.0.0.1:0" })
	urls := make([]string, len(bs))
	for i, b := range bs {
		urls[i] = "http://" + b.SchemaRegistryAddr().String()
	}
	schemas := map[int]string{}
	for i := 0; i < 6; i++ {
		s := fmt.Sprintf(`{"type":"record","name":"R%d","fields":[{"name":"a","type":"int"}]}`, i)
		id := registerUntil(t, urls[i%3], fmt.Sprintf("subject-%d", i), s)
		if _, dup := schemas[id]; dup {
			t.Fatalf("id %d handed out twice", id)
		}
		schemas[id] = s
	}
	for _, url := range urls {
		for id, s := range schemas {
			waitSchema(t, url, id, s)
		}
	}
	top, err := bs[0].Member().Topic(schemareg.Topic)
	if err != nil {
		t.Fatal(err)
	}
	leader := top.Partitions[0].Leader
	if len(top.Partitions[0].Replicas) != 3 {
		t.Fatalf("%s has replicas %v, want 3", schemareg.Topic, top.Partitions[0].Replicas)
	}
	t.Logf("broker %d leads %s-0: killing it", leader, schemareg.Topic)
	kill(bs[leader-1])
	var alive []string
	for i, url := range urls {
		if int32(i+1) != leader {
			alive = append(alive, url)
		}
	}
	maxID := 0
	for id := range schemas {
		maxID = max(maxID, id)
	}
	for i, url := range alive {
		s := fmt.Sprintf(`{"type":"record","name":"After%d","fields":[{"name":"b","type":"long"}]}`, i)
		id := registerUntil(t, url, fmt.Sprintf("after-%d", i), s)
		if id <= maxID {
			t.Fatalf("after the failover a new schema got id %d, not past %d", id, maxID)
		}
		schemas[id] = s
		maxID = id
	}
	for _, url := range alive {
		for id, s := range schemas {
			waitSchema(t, url, id, s)
		}
	}
}
