package cluster

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// FuzzMetaProperties: any meta.properties either reads or is refused with
// an error, never a panic; what reads writes back and reads the same.
func FuzzMetaProperties(f *testing.F) {
	f.Add([]byte("version=1\nnode.id=2\ncluster.id=q1Bj8Xw9RkWzLZ1Yc2n3dA\n"))
	f.Add([]byte("#comment\nnode.id=0\n"))
	f.Add([]byte("node.id=-1\n"))
	f.Add([]byte("node.id\n"))
	f.Add([]byte("node.id=99999999999\ncluster.id=\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, metaPropertiesFile), b, 0o644); err != nil {
			t.Fatal(err)
		}
		mp, ok, err := readMetaProperties(dir)
		if err != nil || !ok {
			return
		}
		if err := writeMetaProperties(dir, mp); err != nil {
			t.Fatal(err)
		}
		again, ok, err := readMetaProperties(dir)
		if err != nil || !ok || !reflect.DeepEqual(again, mp) {
			t.Fatalf("read %+v, wrote and read %+v (%v)", mp, again, err)
		}
	})
}

// FuzzControllerCalls: the controller's decoders of brokers' calls and the
// brokers' decoder of its answers take any bytes without panicking, and
// what decodes encodes and decodes the same.
func FuzzControllerCalls(f *testing.F) {
	f.Add([]byte(`{"id":1,"incarnation":"abc","listeners":{"SLUICE":"127.0.0.1:9192"}}`))
	f.Add([]byte(`{"id":2,"incarnation":"x"}`))
	f.Add([]byte(`{"code":101,"message":"taken","reregister":true,"fenced":true}`))
	f.Add([]byte(`{"id":"one"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		roundTrip(t, b, &registerRequest{})
		roundTrip(t, b, &heartbeatRequest{})
		roundTrip(t, b, &callResponse{})
	})
}

func roundTrip[T any](t *testing.T, b []byte, v *T) {
	if json.Unmarshal(b, v) != nil {
		return
	}
	enc, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var again T
	if err := json.Unmarshal(enc, &again); err != nil || !reflect.DeepEqual(&again, v) {
		t.Fatalf("%+v encoded %s decoded %+v (%v)", v, enc, again, err)
	}
}
