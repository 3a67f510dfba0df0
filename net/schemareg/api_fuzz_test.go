package schemareg

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sluicelog/sluice/engine"
)

// FuzzAPI sends arbitrary requests (method, path, body) to the registry's
// handler over one engine: never a panic, every answer a status the API
// uses (or the mux's redirect to a clean path), and every error a JSON
// body with an error code.
func FuzzAPI(f *testing.F) {
	eng, err := engine.Open(f.TempDir(), engine.Options{})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { eng.Close() })
	reg := New(Config{Backend: EngineBackend{Engine: eng}})
	reg.Start()
	f.Cleanup(reg.Close)
	h := reg.Handler()
	body := func(schema string) []byte {
		b, _ := json.Marshal(map[string]string{"schema": schema})
		return b
	}
	f.Add(uint8(1), "/subjects/s/versions", body(`{"type":"record","name":"R","fields":[{"name":"a","type":"int"}]}`))
	f.Add(uint8(1), "/subjects/s/versions", body(`{"type":"record","name":"R","fields":[{"name":"a","type":"int"},{"name":"b","type":"string","default":"x"}]}`))
	f.Add(uint8(1), "/subjects/s", body(`"string"`))
	f.Add(uint8(0), "/subjects/s/versions/latest", []byte(nil))
	f.Add(uint8(0), "/schemas/ids/1", []byte(nil))
	f.Add(uint8(2), "/config/s", []byte(`{"compatibility":"FULL_TRANSITIVE"}`))
	f.Add(uint8(3), "/subjects/s/versions/1", []byte(nil))
	f.Add(uint8(3), "/subjects/s?permanent=true", []byte(nil))
	f.Add(uint8(1), "/compatibility/subjects/s/versions/latest?verbose=true", body(`{"type":"enum","name":"E","symbols":["A"]}`))
	methods := []string{"GET", "POST", "PUT", "DELETE"}
	f.Fuzz(func(t *testing.T, m uint8, path string, b []byte) {
		if !strings.HasPrefix(path, "/") || strings.ContainsAny(path, " \r\n\t#") || len(path) > 512 {
			return
		}
		req, err := http.NewRequest(methods[int(m)%len(methods)], "http://registry"+path, bytes.NewReader(b))
		if err != nil {
			return
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		switch code := w.Code; {
		case code == 200:
		case code == 301 || code == 307 || code == 308:
			// net/http's mux sends an unclean path (/a/../b, //x) to
			// its clean form.
		case code >= 400 && code < 600:
			var e Error
			if json.Unmarshal(w.Body.Bytes(), &e) != nil || e.Code == 0 {
				t.Fatalf("%s %s: %d without an error code: %q", req.Method, path, code, w.Body.String())
			}
		default:
			t.Fatalf("%s %s: status %d", req.Method, path, code)
		}
	})
}
