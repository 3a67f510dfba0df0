package schemareg_test

// Where Confluent clients would notice a difference: levels not set,
// deletes repeated, one schema written two ways, a restart.

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// GET /config/{subject} of a subject without a level of its own is 404
// 40408 unless ?defaultToGlobal=true, as Confluent's.
func TestConfigOfSubjectWithoutOne(t *testing.T) {
	_, url := startRegistry(t, "")
	expect(t, "POST", url+"/subjects/s/versions", schemaBody(userV1), 200, 0, "")
	expect(t, "GET", url+"/config/s", nil, 404, 40408, "")
}

// Soft-deleting a version that is soft-deleted already is 404 40406, as
// Confluent's.
func TestSoftDeleteVersionTwice(t *testing.T) {
	_, url := startRegistry(t, "")
	expect(t, "POST", url+"/subjects/s/versions", schemaBody(userV1), 200, 0, "")
	expect(t, "POST", url+"/subjects/s/versions", schemaBody(userV2), 200, 0, "")
	expect(t, "DELETE", url+"/subjects/s/versions/1", nil, 200, 0, "")
	expect(t, "DELETE", url+"/subjects/s/versions/1", nil, 404, 40406, "")
}

// Key order and {"type":"string"} against "string" do not make another
// schema, as Confluent compares Avro's canonical string.
func TestSameSchemaWrittenAnotherWay(t *testing.T) {
	_, url := startRegistry(t, "")
	a := `{"type":"record","name":"R","fields":[{"name":"a","type":"int"}]}`
	b := `{"name":"R","type":"record","fields":[{"type":"int","name":"a"}]}`
	id1 := idOf(t, expect(t, "POST", url+"/subjects/s/versions", schemaBody(a), 200, 0, ""))
	// A client that writes keys in another order looks it up: Confluent finds it.
	expect(t, "POST", url+"/subjects/s", schemaBody(b), 200, 0, "")
	id2 := idOf(t, expect(t, "POST", url+"/subjects/s/versions", schemaBody(b), 200, 0, ""))
	if id1 != id2 {
		t.Fatalf("the same schema with keys reordered got id %d, then %d", id1, id2)
	}
	p1 := idOf(t, expect(t, "POST", url+"/subjects/p/versions", schemaBody(`"string"`), 200, 0, ""))
	p2 := idOf(t, expect(t, "POST", url+"/subjects/p/versions", schemaBody(`{"type":"string"}`), 200, 0, ""))
	if p1 != p2 {
		t.Fatalf(`"string" got id %d and {"type":"string"} id %d`, p1, p2)
	}
}

// A restarted broker serves the registry only once its applier has
// replayed _schemas: its first answer for the last id is the schema.
func TestRestartServesOnceLoaded(t *testing.T) {
	dir := t.TempDir()
	b, url := startRegistry(t, dir)
	expect(t, "PUT", url+"/config", map[string]string{"compatibility": "NONE"}, 200, 0, "")
	last := 0
	for i := 0; i < 1500; i++ {
		s := fmt.Sprintf(`{"type":"record","name":"R%d","fields":[{"name":"a%d","type":"int"}]}`, i, i)
		last = idOf(t, expect(t, "POST", url+"/subjects/s/versions", schemaBody(s), 200, 0, ""))
	}
	b.Close(t.Context())
	_, url = startRegistry(t, dir)
	got, _, raw := call(t, "GET", fmt.Sprintf("%s/schemas/ids/%d", url, last), nil)
	if got != 200 {
		for i := 0; i < 100; i++ {
			if g, _, _ := call(t, "GET", fmt.Sprintf("%s/schemas/ids/%d", url, last), nil); g == 200 {
				t.Logf("served after %d polls of 10 ms", i+1)
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		t.Fatalf("right after a restart GET /schemas/ids/%d is %d %s: served before the state was replayed", last, got, raw)
	}
}

// TestSchemasTopicIsInternal: the registry's topic cannot be deleted or
// given more partitions through the Kafka API: that would lose every
// schema, and a registry starting its ids again would reuse them.
func TestSchemasTopicIsInternal(t *testing.T) {
	b, url := startRegistry(t, "")
	expect(t, "POST", url+"/subjects/s/versions", schemaBody(userV1), 200, 0, "")
	kc, err := kgo.NewClient(kgo.SeedBrokers(b.KafkaAddr().String()))
	if err != nil {
		t.Fatal(err)
	}
	defer kc.Close()
	adm := kadm.NewClient(kc)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := adm.DeleteTopics(ctx, "_schemas")
	if err == nil {
		err = resp.Error()
	}
	if err == nil || !strings.Contains(err.Error(), "INVALID_TOPIC") {
		t.Fatalf("deleting _schemas: %v, want INVALID_TOPIC_EXCEPTION", err)
	}
	cp, err := adm.CreatePartitions(ctx, 2, "_schemas")
	if err == nil {
		err = cp.Error()
	}
	if err == nil {
		t.Fatal("adding a partition to _schemas was accepted")
	}
	expect(t, "GET", url+"/subjects/s/versions/1", nil, 200, 0, "")
}
