package schemareg

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/sluicelog/sluice/net/schemareg/compat"
)

// contentType is the registry API's media type; clients accept it and
// application/json alike.
const contentType = "application/vnd.schemaregistry.v1+json"

// MaxBodyBytes bounds a request's body: a schema of a few thousand fields
// is well under it.
const MaxBodyBytes = 4 << 20

// forwardedHeader marks a request one broker passed to the leader's
// registry, which must not pass it on again.
const forwardedHeader = "X-Sluice-Forwarded"

// offsetHeader is the leader's answer to a write: the offset of the
// schemas topic its state held after it.
const offsetHeader = "X-Sluice-Schemas-Offset"

// Handler returns the registry's REST API: Confluent Schema Registry's
// routes, answers and error codes.
func (r *Registry) Handler() http.Handler {
	mux := http.NewServeMux()
	h := func(pattern string, fn func(w http.ResponseWriter, q *http.Request, body []byte) (any, error)) {
		mux.HandleFunc(pattern, func(w http.ResponseWriter, q *http.Request) { r.serve(w, q, fn) })
	}
	h("GET /{$}", func(http.ResponseWriter, *http.Request, []byte) (any, error) { return struct{}{}, nil })
	h("GET /schemas/types", func(http.ResponseWriter, *http.Request, []byte) (any, error) { return []string{typeAvro}, nil })
	h("GET /schemas/ids/{id}", r.getSchemaByID)
	h("GET /schemas/ids/{id}/schema", r.getRawSchemaByID)
	h("GET /schemas/ids/{id}/versions", r.getVersionsByID)
	h("GET /schemas/ids/{id}/subjects", r.getSubjectsByID)
	h("GET /subjects", r.listSubjects)
	h("POST /subjects/{subject}", r.lookup)
	h("DELETE /subjects/{subject}", r.deleteSubject)
	h("GET /subjects/{subject}/versions", r.listVersions)
	h("POST /subjects/{subject}/versions", r.register)
	h("GET /subjects/{subject}/versions/{version}", r.getVersion)
	h("GET /subjects/{subject}/versions/{version}/schema", r.getRawVersion)
	h("DELETE /subjects/{subject}/versions/{version}", r.deleteVersion)
	h("POST /compatibility/subjects/{subject}/versions", r.compatibility)
	h("POST /compatibility/subjects/{subject}/versions/{version}", r.compatibility)
	h("GET /config", r.getConfig)
	h("PUT /config", r.putConfig)
	h("GET /config/{subject}", r.getConfig)
	h("PUT /config/{subject}", r.putConfig)
	h("DELETE /config/{subject}", r.deleteConfig)
	h("GET /mode", r.getMode)
	h("GET /mode/{subject}", r.getMode)
	mux.HandleFunc("/", func(w http.ResponseWriter, q *http.Request) {
		// A route that takes the path with another method: 405, as
		// Confluent answers.
		for _, m := range []string{"GET", "POST", "PUT", "DELETE"} {
			other := q.Clone(q.Context())
			other.Method = m
			if _, pattern := mux.Handler(other); pattern != "/" && pattern != "" {
				writeError(w, apiErr(http.StatusMethodNotAllowed, codeMethodNotAllowed, "HTTP 405 Method Not Allowed: %s %s", q.Method, q.URL.Path))
				return
			}
		}
		writeError(w, apiErr(http.StatusNotFound, codeNotFound, "HTTP 404 Not Found: %s %s", q.Method, q.URL.Path))
	})
	return mux
}

// serve reads a request's body (bounded), runs fn, forwards a write to
// the leader's registry when fn says so, and writes the answer.
func (r *Registry) serve(w http.ResponseWriter, q *http.Request, fn func(http.ResponseWriter, *http.Request, []byte) (any, error)) {
	body, err := io.ReadAll(http.MaxBytesReader(w, q.Body, MaxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, apiErr(http.StatusRequestEntityTooLarge, codeRequestEntityTooLarge, "request body larger than %d bytes", MaxBodyBytes))
			return
		}
		writeError(w, apiErr(http.StatusBadRequest, codeBadRequest, "reading the request body: %v", err))
		return
	}
	forwarded := q.Header.Get(forwardedHeader) != ""
	if !forwarded && r.cfg.Backend.Log() == nil {
		// No replica here: the broker that writes the registry reads it.
		if url, err := r.cfg.Backend.Leader(); err == nil && url != "" {
			r.forward(w, q, body, url)
			return
		}
	}
	if !r.ready.Load() {
		writeError(w, apiErr(http.StatusServiceUnavailable, codeTimeout, "The schema registry is loading its schemas from %s; retry", Topic))
		return
	}
	out, err := fn(w, q, body)
	var fwd *errForward
	var apiE *Error
	switch {
	case errors.As(err, &fwd):
		if forwarded {
			writeError(w, apiErr(http.StatusInternalServerError, codeForwarding, "Error while forwarding the request to the leader: %s sent it here, but this broker does not write the registry (leadership moved); retry", q.RemoteAddr))
			return
		}
		r.forward(w, q, body, fwd.url)
		return
	case errors.As(err, &apiE) && apiE.Status == http.StatusNotFound && !forwarded:
		// Not here yet may be there already: a schema registered through
		// another broker a moment ago. The leader's state holds every
		// acknowledged write.
		if url, lerr := r.cfg.Backend.Leader(); lerr == nil && url != "" {
			r.forward(w, q, body, url)
			return
		}
	}
	if err != nil {
		writeError(w, asError(err))
		return
	}
	if q.Method != http.MethodGet {
		// What a broker that forwarded the write waits for before it
		// answers, so that its client then reads what it wrote there.
		w.Header().Set(offsetHeader, strconv.FormatInt(r.appliedOffset(), 10))
	}
	if raw, ok := out.(rawSchema); ok {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, string(raw))
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// rawSchema is an answer written as it is: a schema's own JSON.
type rawSchema string

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error_code":50001,"message":"encoding the answer failed"}`)
	}
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(status)
	w.Write(b)
}

func writeError(w http.ResponseWriter, e *Error) { writeJSON(w, e.Status, e) }

// forward passes a write to the registry of the broker that leads the
// topic and relays its answer.
func (r *Registry) forward(w http.ResponseWriter, q *http.Request, body []byte, base string) {
	u := strings.TrimSuffix(base, "/") + q.URL.RequestURI()
	req, err := http.NewRequestWithContext(q.Context(), q.Method, u, bytes.NewReader(body))
	if err != nil {
		writeError(w, apiErr(http.StatusInternalServerError, codeForwarding, "Error while forwarding the request to the leader %s: %v", base, err))
		return
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set(forwardedHeader, "1")
	client := http.Client{Timeout: r.cfg.Timeout + 5*time.Second}
	resp, err := client.Do(req)
	if err != nil {
		writeError(w, apiErr(http.StatusInternalServerError, codeForwarding, "Error while forwarding the request to the leader %s: %v", base, err))
		return
	}
	defer resp.Body.Close()
	if off, err := strconv.ParseInt(resp.Header.Get(offsetHeader), 10, 64); err == nil {
		// Read your writes here too: wait (bounded) until this broker's
		// state holds the write before answering.
		if p := r.cfg.Backend.Log(); p != nil {
			ctx, cancel := context.WithTimeout(q.Context(), r.cfg.Timeout)
			r.waitApplied(ctx, p, off)
			cancel()
		}
	}
	for _, k := range []string{"Content-Type"} {
		if v := resp.Header.Get(k); v != "" {
			w.Header().Set(k, v)
		}
	}
	w.WriteHeader(resp.StatusCode)
	io.Copy(w, io.LimitReader(resp.Body, MaxBodyBytes))
}

// decodeBody reads a JSON body into v.
func decodeBody(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return apiErr(http.StatusUnprocessableEntity, codeUnprocessable, "Unprocessable Entity: the request has no body")
	}
	if err := json.Unmarshal(body, v); err != nil {
		return apiErr(http.StatusUnprocessableEntity, codeUnprocessable, "Unprocessable Entity: malformed JSON: %v", err)
	}
	return nil
}

func boolParam(q *http.Request, name string) bool {
	v, _ := strconv.ParseBool(q.URL.Query().Get(name))
	return v
}

// parseID reads a schema id from the path.
func parseID(q *http.Request) (int, error) {
	id, err := strconv.Atoi(q.PathValue("id"))
	if err != nil || id < 1 {
		return 0, apiErr(http.StatusNotFound, codeSchemaNotFound, "Schema %.40q not found", q.PathValue("id"))
	}
	return id, nil
}

// latest marks "latest" (or -1) where a version number goes.
const latest = -1

// parseVersion reads a version from the path: a number from 1, or
// "latest" (-1 too, as Confluent accepts).
func parseVersion(q *http.Request) (int, error) {
	s := q.PathValue("version")
	if s == "latest" || s == "-1" {
		return latest, nil
	}
	v, err := strconv.Atoi(s)
	if err != nil || v < 1 || v > math.MaxInt32 {
		return 0, apiErr(http.StatusUnprocessableEntity, codeInvalidVersion,
			"The specified version '%.40s' is not a valid version id. Allowed values are between [1, 2^31-1] and the string \"latest\"", s)
	}
	return v, nil
}

// findVersion finds a subject's version (latest: the newest live one).
func (s *state) findVersion(subject string, v int, deleted bool) (version, error) {
	all := s.subjects[subject]
	if len(all) == 0 {
		return version{}, subjectNotFound(subject)
	}
	live := s.live(subject, deleted)
	if len(live) == 0 {
		return version{}, subjectNotFound(subject)
	}
	if v == latest {
		return live[len(live)-1], nil
	}
	i := sort.Search(len(all), func(i int) bool { return all[i].version >= v })
	if i == len(all) || all[i].version != v || (all[i].deleted && !deleted) {
		return version{}, versionNotFound(subject, v)
	}
	return all[i], nil
}

// SubjectVersion is a version as the API shows it.
type SubjectVersion struct {
	Subject    string `json:"subject"`
	Version    int    `json:"version"`
	ID         int    `json:"id"`
	SchemaType string `json:"schemaType,omitempty"`
	Schema     string `json:"schema"`
}

func (s *state) show(subject string, v version) SubjectVersion {
	info := s.schemas[v.id]
	out := SubjectVersion{Subject: subject, Version: v.version, ID: v.id, Schema: info.text}
	if info.typ != typeAvro {
		out.SchemaType = info.typ
	}
	return out
}

func (r *Registry) getSchemaByID(_ http.ResponseWriter, q *http.Request, _ []byte) (any, error) {
	id, err := parseID(q)
	if err != nil {
		return nil, err
	}
	var out struct {
		Schema     string `json:"schema"`
		SchemaType string `json:"schemaType,omitempty"`
	}
	err = r.read(func(st *state) error {
		info, ok := st.schemas[id]
		if !ok {
			return schemaNotFound()
		}
		out.Schema = info.text
		if info.typ != typeAvro {
			out.SchemaType = info.typ
		}
		return nil
	})
	return out, err
}

func (r *Registry) getRawSchemaByID(_ http.ResponseWriter, q *http.Request, _ []byte) (any, error) {
	id, err := parseID(q)
	if err != nil {
		return nil, err
	}
	var out rawSchema
	err = r.read(func(st *state) error {
		info, ok := st.schemas[id]
		if !ok {
			return schemaNotFound()
		}
		out = rawSchema(info.text)
		return nil
	})
	return out, err
}

// subjectVersion names one version of a subject.
type subjectVersion struct {
	Subject string `json:"subject"`
	Version int    `json:"version"`
}

// usesOf lists the versions that use schema id, by subject and version.
func (s *state) usesOf(id int, deleted bool) []subjectVersion {
	out := []subjectVersion{}
	for subject := range s.subjects {
		for _, v := range s.live(subject, deleted) {
			if v.id == id {
				out = append(out, subjectVersion{subject, v.version})
			}
		}
	}
	slices.SortFunc(out, func(a, b subjectVersion) int {
		if c := strings.Compare(a.Subject, b.Subject); c != 0 {
			return c
		}
		return a.Version - b.Version
	})
	return out
}

func (r *Registry) getVersionsByID(_ http.ResponseWriter, q *http.Request, _ []byte) (any, error) {
	id, err := parseID(q)
	if err != nil {
		return nil, err
	}
	var out []subjectVersion
	err = r.read(func(st *state) error {
		if _, ok := st.schemas[id]; !ok {
			return schemaNotFound()
		}
		out = st.usesOf(id, boolParam(q, "deleted"))
		return nil
	})
	return out, err
}

func (r *Registry) getSubjectsByID(_ http.ResponseWriter, q *http.Request, _ []byte) (any, error) {
	id, err := parseID(q)
	if err != nil {
		return nil, err
	}
	out := []string{}
	err = r.read(func(st *state) error {
		if _, ok := st.schemas[id]; !ok {
			return schemaNotFound()
		}
		for _, sv := range st.usesOf(id, boolParam(q, "deleted")) {
			if len(out) == 0 || out[len(out)-1] != sv.Subject {
				out = append(out, sv.Subject)
			}
		}
		return nil
	})
	return out, err
}

func (r *Registry) listSubjects(_ http.ResponseWriter, q *http.Request, _ []byte) (any, error) {
	deleted := boolParam(q, "deleted")
	prefix := q.URL.Query().Get("subjectPrefix")
	out := []string{}
	r.read(func(st *state) error {
		for subject := range st.subjects {
			if strings.HasPrefix(subject, prefix) && len(st.live(subject, deleted)) > 0 {
				out = append(out, subject)
			}
		}
		return nil
	})
	slices.Sort(out)
	return out, nil
}

func (r *Registry) listVersions(_ http.ResponseWriter, q *http.Request, _ []byte) (any, error) {
	subject, deleted := q.PathValue("subject"), boolParam(q, "deleted")
	out := []int{}
	err := r.read(func(st *state) error {
		live := st.live(subject, deleted)
		if len(live) == 0 {
			return subjectNotFound(subject)
		}
		for _, v := range live {
			out = append(out, v.version)
		}
		return nil
	})
	return out, err
}

func (r *Registry) getVersion(_ http.ResponseWriter, q *http.Request, _ []byte) (any, error) {
	subject := q.PathValue("subject")
	v, err := parseVersion(q)
	if err != nil {
		return nil, err
	}
	var out SubjectVersion
	err = r.read(func(st *state) error {
		found, err := st.findVersion(subject, v, boolParam(q, "deleted"))
		if err != nil {
			return err
		}
		out = st.show(subject, found)
		return nil
	})
	return out, err
}

func (r *Registry) getRawVersion(w http.ResponseWriter, q *http.Request, body []byte) (any, error) {
	out, err := r.getVersion(w, q, body)
	if err != nil {
		return nil, err
	}
	return rawSchema(out.(SubjectVersion).Schema), nil
}

func (r *Registry) register(_ http.ResponseWriter, q *http.Request, body []byte) (any, error) {
	var req SchemaRequest
	if err := decodeBody(body, &req); err != nil {
		return nil, err
	}
	return r.Register(q.PathValue("subject"), &req)
}

// lookup answers whether a schema is registered under a subject.
func (r *Registry) lookup(_ http.ResponseWriter, q *http.Request, body []byte) (any, error) {
	var req SchemaRequest
	if err := decodeBody(body, &req); err != nil {
		return nil, err
	}
	subject, deleted := q.PathValue("subject"), boolParam(q, "deleted")
	text, _, e := parseSchema(&req)
	if e != nil {
		return nil, e
	}
	var out SubjectVersion
	err := r.read(func(st *state) error {
		live := st.live(subject, deleted)
		if len(live) == 0 {
			return subjectNotFound(subject)
		}
		norm := normalise(text)
		for _, v := range live {
			if st.schemas[v.id].norm == norm {
				out = st.show(subject, v)
				return nil
			}
		}
		return schemaNotFound()
	})
	return out, err
}

// compatibility answers whether a schema may follow a subject's version
// (or, without one, the versions its level names).
func (r *Registry) compatibility(_ http.ResponseWriter, q *http.Request, body []byte) (any, error) {
	var req SchemaRequest
	if err := decodeBody(body, &req); err != nil {
		return nil, err
	}
	subject := q.PathValue("subject")
	one := q.PathValue("version") != ""
	v := 0
	if one {
		var err error
		if v, err = parseVersion(q); err != nil {
			return nil, err
		}
	}
	_, cand, e := parseSchema(&req)
	if e != nil {
		return nil, e
	}
	type answer struct {
		IsCompatible bool     `json:"is_compatible"`
		Messages     []string `json:"messages,omitempty"`
	}
	out := answer{IsCompatible: true}
	err := r.read(func(st *state) error {
		live := st.live(subject, false)
		var against *version
		if one {
			found, err := st.findVersion(subject, v, false)
			if err != nil {
				return err
			}
			against = &found
		}
		err := st.check(st.level(subject), cand, live, against)
		var apiE *Error
		if errors.As(err, &apiE) && apiE.Code == codeIncompatible {
			out.IsCompatible = false
			if boolParam(q, "verbose") {
				out.Messages = apiE.details
			}
			return nil
		}
		return err
	})
	return out, err
}

func (r *Registry) deleteSubject(_ http.ResponseWriter, q *http.Request, _ []byte) (any, error) {
	subject, permanent := q.PathValue("subject"), boolParam(q, "permanent")
	var out []int
	err := r.write(func(st *state) (*pending, error) {
		all := st.subjects[subject]
		if len(all) == 0 {
			return nil, subjectNotFound(subject)
		}
		live := st.live(subject, false)
		w := &pending{}
		out = out[:0]
		switch {
		case !permanent && len(live) == 0:
			return nil, apiErr(http.StatusNotFound, codeSubjectSoftDeleted, "Subject '%s' was soft deleted. Set permanent=true to delete permanently", subject)
		case !permanent:
			for _, v := range live {
				w.add(schemaKey(subject, v.version), schemaValue{Subject: subject, Version: v.version, ID: v.id, Schema: st.schemas[v.id].text, Deleted: true})
				out = append(out, v.version)
			}
			if _, ok := st.configs[subject]; ok {
				w.add(configKey(subject), nil) // a deleted subject's level goes with it, as Confluent's
			}
		case len(live) > 0:
			return nil, apiErr(http.StatusNotFound, codeSubjectNotSoftDeleted, "Subject '%s' was not deleted first before being permanently deleted", subject)
		default:
			for _, v := range all {
				w.add(schemaKey(subject, v.version), nil)
				out = append(out, v.version)
			}
			if _, ok := st.configs[subject]; ok {
				w.add(configKey(subject), nil)
			}
		}
		return w, nil
	})
	return out, err
}

func (r *Registry) deleteVersion(_ http.ResponseWriter, q *http.Request, _ []byte) (any, error) {
	subject, permanent := q.PathValue("subject"), boolParam(q, "permanent")
	v, err := parseVersion(q)
	if err != nil {
		return nil, err
	}
	var out int
	err = r.write(func(st *state) (*pending, error) {
		// A number names a version soft deleted or not; latest, the
		// newest live one (or, to delete for good, the newest at all).
		found, err := st.findVersion(subject, v, v != latest || permanent)
		if err != nil {
			return nil, err
		}
		out = found.version
		w := &pending{}
		switch {
		case !permanent && found.deleted:
			return nil, apiErr(http.StatusNotFound, codeVersionSoftDeleted, "Subject '%s' Version %d was soft deleted. Set permanent=true to delete permanently", subject, found.version)
		case !permanent:
			w.add(schemaKey(subject, found.version), schemaValue{Subject: subject, Version: found.version, ID: found.id, Schema: st.schemas[found.id].text, Deleted: true})
			if _, ok := st.configs[subject]; ok && len(st.live(subject, false)) == 1 {
				w.add(configKey(subject), nil) // its last live version: the subject goes, and its level with it, as Confluent's
			}
		case !found.deleted:
			return nil, apiErr(http.StatusNotFound, codeVersionNotSoftDeleted, "Subject '%s' Version %d was not deleted first before being permanently deleted", subject, found.version)
		default:
			w.add(schemaKey(subject, found.version), nil)
		}
		return w, nil
	})
	return out, err
}

func (r *Registry) getConfig(_ http.ResponseWriter, q *http.Request, _ []byte) (any, error) {
	subject := q.PathValue("subject")
	var out struct {
		CompatibilityLevel string `json:"compatibilityLevel"`
	}
	err := r.read(func(st *state) error {
		if subject != "" {
			if l, ok := st.configs[subject]; ok {
				out.CompatibilityLevel = l
				return nil
			}
			if !boolParam(q, "defaultToGlobal") {
				return apiErr(http.StatusNotFound, codeSubjectLevelNotSet, "Subject '%s' does not have subject-level compatibility configured", subject)
			}
		}
		out.CompatibilityLevel = st.level("")
		return nil
	})
	return out, err
}

// ConfigRequest is the body of PUT /config.
type ConfigRequest struct {
	Compatibility string `json:"compatibility"`
}

func (r *Registry) putConfig(_ http.ResponseWriter, q *http.Request, body []byte) (any, error) {
	var req ConfigRequest
	if err := decodeBody(body, &req); err != nil {
		return nil, err
	}
	lvl, err := compat.ParseLevel(req.Compatibility)
	if err != nil {
		return nil, apiErr(http.StatusUnprocessableEntity, codeInvalidCompatibility, "Invalid compatibility level. Valid values are none, backward, forward, full, backward_transitive, forward_transitive, and full_transitive (got %.40q)", req.Compatibility)
	}
	subject := q.PathValue("subject")
	if subject != "" {
		if e := checkSubject(subject); e != nil {
			return nil, e
		}
	}
	err = r.write(func(st *state) (*pending, error) {
		if cur, ok := st.configs[subject]; ok && cur == string(lvl) {
			return nil, nil
		}
		w := &pending{}
		w.add(configKey(subject), configValue{CompatibilityLevel: string(lvl)})
		return w, nil
	})
	return ConfigRequest{Compatibility: string(lvl)}, err
}

func (r *Registry) deleteConfig(_ http.ResponseWriter, q *http.Request, _ []byte) (any, error) {
	subject := q.PathValue("subject")
	var out struct {
		CompatibilityLevel string `json:"compatibilityLevel"`
	}
	err := r.write(func(st *state) (*pending, error) {
		l, ok := st.configs[subject]
		if !ok {
			return nil, apiErr(http.StatusNotFound, codeSubjectNotFound, "Subject '%s' not found (it has no compatibility level of its own).", subject)
		}
		out.CompatibilityLevel = l
		w := &pending{}
		w.add(configKey(subject), nil)
		return w, nil
	})
	return out, err
}

func (r *Registry) getMode(http.ResponseWriter, *http.Request, []byte) (any, error) {
	return map[string]string{"mode": "READWRITE"}, nil
}
