package regclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

const (
	contentType = "application/vnd.schemaregistry.v1+json"
	// accept lists the media types a registry may answer with, preferred first.
	accept = "application/vnd.schemaregistry.v1+json, application/vnd.schemaregistry+json; q=0.9, application/json; q=0.5"

	// DefaultTimeout bounds one request to one URL when Config.Timeout is 0.
	DefaultTimeout = 30 * time.Second

	// maxAnswer bounds an answer's body: a registry's largest answers are
	// schemas and subject lists, far below this; more means a wrong server.
	maxAnswer = 64 << 20
	// maxErrorText is how much of an error answer that is not the
	// registry's JSON the error keeps.
	maxErrorText = 200
)

// Config configures a Client. Zero fields take the defaults noted.
type Config struct {
	// URLs are the registry's base URLs (http or https, with any path
	// prefix), tried in turn when one cannot be reached. An entry may hold
	// several, comma-separated, as Kafka's schema.registry.url does.
	// Required.
	URLs []string
	// HTTPClient sends the requests. Nil means one of the Client's own,
	// over a clone of http.DefaultTransport, which Close releases.
	HTTPClient *http.Client
	// Timeout bounds each request to one URL, answer included
	// (DefaultTimeout when 0, none when negative). It applies within the
	// caller's context, which bounds the whole call.
	Timeout time.Duration
	// Header is added to every request, e.g. Authorization.
	Header http.Header
}

// Client talks to a schema registry. See the package documentation for
// failover and caching. Safe for concurrent use.
type Client struct {
	urls    []string // base URLs without a trailing slash
	hc      *http.Client
	ownHC   bool
	timeout time.Duration
	header  http.Header

	// last is the index in urls of the URL that last answered, where the
	// next request starts, so a dead first URL costs one failed dial, not
	// one per request.
	last atomic.Uint32

	mu      sync.Mutex
	fetches map[int]*fetch // schema fetches by id in flight, under mu

	byID     sync.Map // int → Schema; ids are immutable
	parsedID sync.Map // int → avro.Schema; ids are immutable
	ids      sync.Map // idKey → int; dropped for a subject this client deletes
}

// New checks cfg and returns a Client. It makes no request.
func New(cfg Config) (*Client, error) {
	var urls []string
	for _, entry := range cfg.URLs {
		for _, raw := range strings.Split(entry, ",") {
			raw = strings.TrimSpace(raw)
			if raw == "" {
				continue
			}
			u, err := url.Parse(raw)
			if err != nil {
				return nil, fmt.Errorf("regclient: registry URL %q: %w", raw, err)
			}
			if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				return nil, fmt.Errorf("regclient: registry URL %q: want http://host[:port][/path] or https://...", raw)
			}
			if u.RawQuery != "" || u.Fragment != "" {
				return nil, fmt.Errorf("regclient: registry URL %q: a base URL takes no query or fragment", raw)
			}
			urls = append(urls, strings.TrimRight(raw, "/"))
		}
	}
	if len(urls) == 0 {
		return nil, errors.New("regclient: Config.URLs names no registry")
	}
	c := &Client{urls: urls, hc: cfg.HTTPClient, timeout: cfg.Timeout, header: cfg.Header.Clone(),
		fetches: map[int]*fetch{}}
	if c.hc == nil {
		// Not http.DefaultClient: Close must be able to release the idle
		// connections without touching anyone else's.
		c.hc = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
		c.ownHC = true
	}
	if c.timeout == 0 {
		c.timeout = DefaultTimeout
	}
	return c, nil
}

// URLs returns the base URLs the client tries, in order.
func (c *Client) URLs() []string { return append([]string(nil), c.urls...) }

// Close releases the idle connections of the client's own HTTP client; a
// Config.HTTPClient is the caller's to manage. The Client stays usable.
func (c *Client) Close() {
	if c.ownHC {
		c.hc.CloseIdleConnections()
	}
}

// do sends one request (in, when not nil, as its JSON body) to the URL that
// answered last, failing over to the others on transport errors, and
// decodes a 2xx answer's JSON into out when out is not nil. path starts
// with '/' and is already escaped; query may be empty.
func (c *Client) do(ctx context.Context, method, path, query string, in, out any) error {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return fmt.Errorf("regclient: %s %s: encoding request: %w", method, path, err)
		}
	}
	if query != "" {
		path += "?" + query
	}
	n := uint32(len(c.urls))
	start := c.last.Load() % n
	var failures []error
	for i := range n {
		idx := (start + i) % n
		target := c.urls[idx] + path
		status, answer, ctype, err := c.roundTrip(ctx, method, target, body)
		if err != nil {
			if ctx.Err() != nil {
				// The caller gave up: another URL would fare no better.
				return fmt.Errorf("regclient: %s %s: %w", method, target, err)
			}
			failures = append(failures, err)
			continue
		}
		if i != 0 {
			c.last.Store(idx)
		}
		if status < 200 || status > 299 {
			return fmt.Errorf("regclient: %s %s: %w", method, target, answerError(status, answer))
		}
		if out == nil {
			return nil
		}
		if err := json.Unmarshal(answer, out); err != nil {
			return fmt.Errorf("regclient: %s %s: decoding the answer (Content-Type %q): %w", method, target, ctype, err)
		}
		return nil
	}
	return fmt.Errorf("%w: %w", ErrUnavailable, errors.Join(failures...))
}

// roundTrip sends one request to one URL and reads the whole answer, all
// within the per-request timeout. A transport error comes back as err (it
// names the method and URL, as *url.Error does); an HTTP status is not one.
func (c *Client) roundTrip(ctx context.Context, method, target string, body []byte) (status int, answer []byte, ctype string, err error) {
	if c.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, rd)
	if err != nil {
		return 0, nil, "", err
	}
	for k, vs := range c.header {
		req.Header[k] = vs
	}
	req.Header.Set("Accept", accept)
	if body != nil {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, nil, "", err
	}
	defer resp.Body.Close()
	answer, err = io.ReadAll(io.LimitReader(resp.Body, maxAnswer+1))
	if err != nil {
		return 0, nil, "", fmt.Errorf("%s %q: reading the answer: %w", method, target, err)
	}
	if len(answer) > maxAnswer {
		return 0, nil, "", fmt.Errorf("%s %q: answer longer than %d bytes", method, target, maxAnswer)
	}
	return resp.StatusCode, answer, resp.Header.Get("Content-Type"), nil
}

// answerError makes an *Error of a non-2xx answer: the registry's code and
// message when the body is its JSON, else the status and the body's start.
func answerError(status int, body []byte) *Error {
	var reply struct {
		Code    int    `json:"error_code"`
		Message string `json:"message"`
	}
	if err := json.Unmarshal(body, &reply); err == nil && (reply.Code != 0 || reply.Message != "") {
		if reply.Code == 0 {
			reply.Code = status
		}
		return &Error{Status: status, Code: reply.Code, Message: reply.Message}
	}
	text := strings.TrimSpace(string(body))
	if len(text) > maxErrorText {
		text = text[:maxErrorText] + "..."
	}
	return &Error{Status: status, Code: status, Message: text}
}
