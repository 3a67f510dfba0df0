package regclient

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
)

// SchemaType names a schema language. The empty type means Avro, as an
// absent schemaType does on the wire.
type SchemaType string

// The registry's schema types.
const (
	Avro     SchemaType = "AVRO"
	Protobuf SchemaType = "PROTOBUF"
	JSON     SchemaType = "JSON"
)

// Schema is a schema as the registry holds it: its text (for Avro, the
// schema's JSON) and its language.
type Schema struct {
	Schema string     `json:"schema"`
	Type   SchemaType `json:"schemaType,omitempty"`
}

// IsAvro reports whether s is an Avro schema (Type empty or AVRO).
func (s Schema) IsAvro() bool { return s.Type == "" || s.Type == Avro }

// SubjectSchema is one version of a subject.
type SubjectSchema struct {
	Subject string `json:"subject"`
	ID      int    `json:"id"`
	Version int    `json:"version"`
	Schema
}

// Latest stands for a subject's latest version where a version is asked.
const Latest = -1

// AllVersions stands, in CheckCompatibility, for every version the
// subject's compatibility level checks a registration against.
const AllVersions = -2

// Level is a compatibility level.
type Level string

// The compatibility levels.
const (
	Backward           Level = "BACKWARD"
	BackwardTransitive Level = "BACKWARD_TRANSITIVE"
	Forward            Level = "FORWARD"
	ForwardTransitive  Level = "FORWARD_TRANSITIVE"
	Full               Level = "FULL"
	FullTransitive     Level = "FULL_TRANSITIVE"
	None               Level = "NONE"
)

// CompatibilityResult is the answer to a compatibility check.
type CompatibilityResult struct {
	Compatible bool `json:"is_compatible"`
	// Messages says why not, when the registry tells.
	Messages []string `json:"messages,omitempty"`
}

// Register registers s under subject (POST /subjects/{subject}/versions)
// and returns its id; registering a schema the subject holds already
// returns its id again. The answer is cached: the same (subject, schema)
// is not asked again.
func (c *Client) Register(ctx context.Context, subject string, s Schema) (int, error) {
	key := newIDKey(subject, s)
	if id, ok := c.ids.Load(key); ok {
		return id.(int), nil
	}
	var reply struct {
		ID int `json:"id"`
	}
	if err := c.do(ctx, "POST", subjectPath(subject)+"/versions", "", s, &reply); err != nil {
		return 0, err
	}
	c.ids.Store(key, reply.ID)
	return reply.ID, nil
}

// Lookup asks whether subject holds s (POST /subjects/{subject}) and
// returns that version. It always asks; the id it learns is cached for
// Register and LookupID. Not registered: errors.Is(err,
// ErrSubjectNotFound) or ErrSchemaNotFound.
func (c *Client) Lookup(ctx context.Context, subject string, s Schema) (SubjectSchema, error) {
	var reply SubjectSchema
	if err := c.do(ctx, "POST", subjectPath(subject), "", s, &reply); err != nil {
		return SubjectSchema{}, err
	}
	c.ids.Store(newIDKey(subject, s), reply.ID)
	return reply, nil
}

// LookupID is Lookup for the id alone, answered from the cache when
// possible.
func (c *Client) LookupID(ctx context.Context, subject string, s Schema) (int, error) {
	if id, ok := c.ids.Load(newIDKey(subject, s)); ok {
		return id.(int), nil
	}
	v, err := c.Lookup(ctx, subject, s)
	return v.ID, err
}

// SchemaByID returns the schema with the given id (GET
// /schemas/ids/{id}), cached for good: ids are immutable.
//
// Concurrent calls for an id not yet cached share one request, so that a
// cold consumer's goroutines meeting a new id ask the registry once.
func (c *Client) SchemaByID(ctx context.Context, id int) (Schema, error) {
	for {
		if s, ok := c.byID.Load(id); ok {
			return s.(Schema), nil
		}
		c.mu.Lock()
		f, waiting := c.fetches[id]
		if !waiting {
			f = &fetch{done: make(chan struct{})}
			c.fetches[id] = f
		}
		c.mu.Unlock()
		if !waiting {
			var reply Schema
			f.err = c.do(ctx, "GET", "/schemas/ids/"+strconv.Itoa(id), "", nil, &reply)
			f.abandoned = ctx.Err() != nil
			if f.err == nil {
				// Cached before the fetch is forgotten, so no later call
				// can miss both.
				c.byID.Store(id, reply)
			}
			c.mu.Lock()
			delete(c.fetches, id)
			c.mu.Unlock()
			close(f.done)
			return reply, f.err
		}
		select {
		case <-f.done:
		case <-ctx.Done():
			return Schema{}, fmt.Errorf("regclient: waiting for schema %d: %w", id, ctx.Err())
		}
		if f.err != nil && !f.abandoned {
			return Schema{}, f.err
		}
		// Cached now, or the fetching caller gave up (its context, not
		// the registry): look again.
	}
}

// fetch is a request for a schema by id that other callers wait for.
type fetch struct {
	done      chan struct{} // closed when err and abandoned are set
	err       error
	abandoned bool // the fetching caller's context ended
}

// ReadOption changes what a listing or a version read returns.
type ReadOption func(*readOptions)

type readOptions struct{ deleted bool }

// IncludeDeleted makes Subjects, Versions and Version return soft-deleted
// subjects and versions too (?deleted=true).
func IncludeDeleted() ReadOption { return func(o *readOptions) { o.deleted = true } }

func readQuery(opts []ReadOption) string {
	var o readOptions
	for _, f := range opts {
		f(&o)
	}
	if o.deleted {
		return "deleted=true"
	}
	return ""
}

// Subjects lists the subjects (GET /subjects).
func (c *Client) Subjects(ctx context.Context, opts ...ReadOption) ([]string, error) {
	var reply []string
	if err := c.do(ctx, "GET", "/subjects", readQuery(opts), nil, &reply); err != nil {
		return nil, err
	}
	return reply, nil
}

// Versions lists a subject's versions (GET /subjects/{subject}/versions).
func (c *Client) Versions(ctx context.Context, subject string, opts ...ReadOption) ([]int, error) {
	var reply []int
	if err := c.do(ctx, "GET", subjectPath(subject)+"/versions", readQuery(opts), nil, &reply); err != nil {
		return nil, err
	}
	return reply, nil
}

// Version returns one version of a subject, or its latest with Latest
// (GET /subjects/{subject}/versions/{version}). Not cached: Latest moves,
// and a version may be deleted.
func (c *Client) Version(ctx context.Context, subject string, version int, opts ...ReadOption) (SubjectSchema, error) {
	var reply SubjectSchema
	if err := c.do(ctx, "GET", versionPath(subject, version), readQuery(opts), nil, &reply); err != nil {
		return SubjectSchema{}, err
	}
	return reply, nil
}

// CheckCompatibility tests s against a version of subject, its latest with
// Latest (POST /compatibility/subjects/{subject}/versions/{version}), or
// with AllVersions against every version the subject's level names, as a
// registration would be (POST .../versions), asking for the reasons of a
// refusal (verbose=true).
func (c *Client) CheckCompatibility(ctx context.Context, subject string, version int, s Schema) (CompatibilityResult, error) {
	var reply CompatibilityResult
	path := "/compatibility" + versionPath(subject, version)
	if version == AllVersions {
		path = "/compatibility" + subjectPath(subject) + "/versions"
	}
	if err := c.do(ctx, "POST", path, "verbose=true", s, &reply); err != nil {
		return CompatibilityResult{}, err
	}
	return reply, nil
}

// CompatibilityLevel returns a subject's compatibility level, or the
// global one for subject "" (GET /config[/{subject}]). A subject without a
// level of its own: errors.Is(err, ErrCompatibilityNotSet).
func (c *Client) CompatibilityLevel(ctx context.Context, subject string) (Level, error) {
	var reply levelReply
	if err := c.do(ctx, "GET", configPath(subject), "", nil, &reply); err != nil {
		return "", err
	}
	return reply.level(), nil
}

// SetCompatibilityLevel sets a subject's compatibility level, or the global
// one for subject "" (PUT /config[/{subject}]), and returns the level the
// registry confirms.
func (c *Client) SetCompatibilityLevel(ctx context.Context, subject string, level Level) (Level, error) {
	var reply levelReply
	in := struct {
		Compatibility Level `json:"compatibility"`
	}{level}
	if err := c.do(ctx, "PUT", configPath(subject), "", in, &reply); err != nil {
		return "", err
	}
	return reply.level(), nil
}

// levelReply decodes both spellings: PUT answers "compatibility", GET
// answers "compatibilityLevel".
type levelReply struct {
	Compatibility      Level `json:"compatibility"`
	CompatibilityLevel Level `json:"compatibilityLevel"`
}

func (r levelReply) level() Level {
	if r.CompatibilityLevel != "" {
		return r.CompatibilityLevel
	}
	return r.Compatibility
}

// DeleteSubject deletes a subject (DELETE /subjects/{subject}): softly, or
// for good with permanent (a registry wants a soft delete first), and
// returns the versions deleted. The client forgets the subject's cached
// ids.
func (c *Client) DeleteSubject(ctx context.Context, subject string, permanent bool) ([]int, error) {
	var reply []int
	err := c.do(ctx, "DELETE", subjectPath(subject), permanentQuery(permanent), nil, &reply)
	c.forgetSubject(subject)
	if err != nil {
		return nil, err
	}
	return reply, nil
}

// DeleteVersion deletes one version of a subject, or its latest with
// Latest (DELETE /subjects/{subject}/versions/{version}), and returns the
// version deleted. The client forgets the subject's cached ids.
func (c *Client) DeleteVersion(ctx context.Context, subject string, version int, permanent bool) (int, error) {
	var reply int
	err := c.do(ctx, "DELETE", versionPath(subject, version), permanentQuery(permanent), nil, &reply)
	c.forgetSubject(subject)
	if err != nil {
		return 0, err
	}
	return reply, nil
}

func subjectPath(subject string) string {
	return "/subjects/" + url.PathEscape(subject)
}

func versionPath(subject string, version int) string {
	v := "latest"
	if version != Latest {
		v = strconv.Itoa(version)
	}
	return fmt.Sprintf("%s/versions/%s", subjectPath(subject), v)
}

func configPath(subject string) string {
	if subject == "" {
		return "/config"
	}
	return "/config/" + url.PathEscape(subject)
}

func permanentQuery(permanent bool) string {
	if permanent {
		return "permanent=true"
	}
	return ""
}
