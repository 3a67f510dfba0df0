package ops_test

import (
	"bufio"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/sluicelog/sluice/net/ops"
)

// start serves cfg on 127.0.0.1:0 until the test ends and returns its
// base URL.
func start(t *testing.T, cfg ops.Config) string {
	t.Helper()
	_, base := serve(t, cfg)
	return base
}

// serve is start that returns the server too. The cleanup that shuts it
// down (again, if the test did) fails the test if that takes over 5 s.
func serve(t *testing.T, cfg ops.Config) (*ops.Server, string) {
	t.Helper()
	cfg.Addr = "127.0.0.1:0"
	s := ops.New(cfg)
	if err := s.Listen(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve() }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return s, "http://" + s.Addr().String()
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}

func TestHealthz(t *testing.T) {
	base := start(t, ops.Config{})
	code, body := get(t, base+"/healthz")
	if code != http.StatusOK || strings.TrimSpace(body) != `{"status":"ok"}` {
		t.Fatalf("%d %s", code, body)
	}
}

func TestReadyz(t *testing.T) {
	var ready atomic.Bool
	base := start(t, ops.Config{Ready: func() (bool, map[string]string) {
		if ready.Load() {
			return true, nil
		}
		return false, map[string]string{"engine": "recovering logs"}
	}})

	code, body := get(t, base+"/readyz")
	var got struct {
		Ready   bool              `json:"ready"`
		Reasons map[string]string `json:"reasons"`
	}
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	if code != http.StatusServiceUnavailable || got.Ready || got.Reasons["engine"] != "recovering logs" {
		t.Fatalf("not ready: %d %s", code, body)
	}

	ready.Store(true)
	code, body = get(t, base+"/readyz")
	if code != http.StatusOK || strings.TrimSpace(body) != `{"ready":true}` {
		t.Fatalf("ready: %d %s", code, body)
	}
}

func TestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "sluice_test_answer", Help: "A test gauge.",
	}, func() float64 { return 42 }))
	base := start(t, ops.Config{Registry: reg})

	code, body := get(t, base+"/metrics")
	if code != http.StatusOK {
		t.Fatalf("%d %s", code, body)
	}
	for _, want := range []string{"\ngo_goroutines ", "# HELP sluice_test_answer A test gauge.", "\nsluice_test_answer 42\n"} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

func TestPprof(t *testing.T) {
	base := start(t, ops.Config{})
	code, body := get(t, base+"/debug/pprof/")
	if code != http.StatusOK || !strings.Contains(body, "goroutine") || !strings.Contains(body, "mutex") {
		t.Fatalf("index: %d %.200s", code, body)
	}
	code, body = get(t, base+"/debug/pprof/goroutine?debug=1")
	if code != http.StatusOK || !strings.Contains(body, "goroutine profile: total") {
		t.Fatalf("goroutine: %d %.200s", code, body)
	}
}

// getFresh is get on a connection of its own, closed after the answer,
// as a scraper's first request is.
func getFresh(t *testing.T, url string) (int, string) {
	t.Helper()
	tr := &http.Transport{DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}

// hangGuard bounds a wait that should end far sooner, so that a broken
// server fails the test instead of hanging it. It is never what a test
// asserts.
const hangGuard = 30 * time.Second

// eventually polls cond until it holds, or fails the test after
// hangGuard.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(hangGuard)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("still not so after %v: %s", hangGuard, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// rawRequest sends req on a connection of its own and reads the answer.
// The request is written on a goroutine of its own, since a server that
// stops reading a huge request makes the write block or fail; what it
// returns is the answer's status, or 0 and the error if the server closed
// the connection without one.
func rawRequest(t *testing.T, addr, req string) (int, error) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	wrote := make(chan struct{})
	go func() {
		defer close(wrote)
		io.WriteString(c, req) // may fail: the server hangs up
	}()
	defer func() {
		c.Close()
		<-wrote
	}()
	c.SetReadDeadline(time.Now().Add(hangGuard))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatalf("no answer and no close after %v", hangGuard)
		}
		return 0, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// TestHugeRequest: a request line or headers past 16 KiB gets 431 (or
// the connection closed) rather than the server buffering them, and the
// server goes on answering. A 1 MiB URL is within what net/http buffers
// by default (1 MiB + 4 KiB), so without the limit it would be served.
func TestHugeRequest(t *testing.T) {
	base := start(t, ops.Config{})
	addr := strings.TrimPrefix(base, "http://")
	for _, tc := range []struct {
		name string
		req  string
		want int // 431 also allows a close without an answer
	}{
		{"8KiBURL", "GET /healthz?" + strings.Repeat("a", 8<<10) + " HTTP/1.1\r\nHost: ops\r\nConnection: close\r\n\r\n", http.StatusOK},
		{"1MiBURL", "GET /metrics?" + strings.Repeat("a", 1<<20) + " HTTP/1.1\r\nHost: ops\r\nConnection: close\r\n\r\n", http.StatusRequestHeaderFieldsTooLarge},
		{"64KiBHeader", "GET /metrics HTTP/1.1\r\nHost: ops\r\nX-Big: " + strings.Repeat("a", 64<<10) + "\r\nConnection: close\r\n\r\n", http.StatusRequestHeaderFieldsTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, err := rawRequest(t, addr, tc.req)
			switch {
			case code == tc.want:
			case code == 0 && tc.want == http.StatusRequestHeaderFieldsTooLarge:
				t.Logf("closed without an answer: %v", err)
			default:
				t.Fatalf("got %d (%v), want %d", code, err, tc.want)
			}
			if code, body := getFresh(t, base+"/healthz"); code != http.StatusOK {
				t.Fatalf("healthz after: %d %s", code, body)
			}
		})
	}
}

// slowloris opens n connections to addr that each send the start of a
// request line and nothing more, and returns how many of them the server
// has closed so far (a read on them ended, with EOF or a reset). The
// connections close when the test ends.
func slowloris(t *testing.T, addr string, n int) (closed func() int) {
	t.Helper()
	var ended atomic.Int64
	var wg sync.WaitGroup
	conns := make([]net.Conn, 0, n)
	t.Cleanup(func() {
		for _, c := range conns {
			c.Close()
		}
		wg.Wait()
	})
	for range n {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		if _, err := io.WriteString(c, "GET /metr"); err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			// The server never answers a request it has not read: the
			// read ends only when it closes the connection (or the
			// cleanup does).
			io.Copy(io.Discard, c)
			ended.Add(1)
		}()
	}
	return func() int { return int(ended.Load()) }
}

// TestSlowlorisCap: 300 slow connections against the cap of 256, with a
// header timeout too long to play a part. The server holds 256 open and
// has closed the rest; fresh scrapes are still answered, the first taking
// the slot of a slow connection; and Shutdown does not wait for the slow
// ones.
func TestSlowlorisCap(t *testing.T) {
	const slow, max = 300, 256
	s, base := serve(t, ops.Config{ReadHeaderTimeout: time.Hour, MaxConns: max})
	closed := slowloris(t, strings.TrimPrefix(base, "http://"), slow)

	eventually(t, "the server closed the slow connections past the cap", func() bool {
		return closed() >= slow-max
	})
	eventually(t, "the server holds the cap's worth of slow connections", func() bool {
		open, waiting := s.ConnStats()
		return open == max && waiting == max
	})
	for range 5 {
		if code, body := getFresh(t, base+"/healthz"); code != http.StatusOK {
			t.Fatalf("healthz: %d %s", code, body)
		}
		if code, body := getFresh(t, base+"/metrics"); code != http.StatusOK {
			t.Fatalf("metrics: %d %s", code, body)
		}
		if open, _ := s.ConnStats(); open > max {
			t.Fatalf("%d connections open, cap %d", open, max)
		}
	}
	// The first fresh connection displaced a slow one; the others took
	// the slot the previous one gave back.
	eventually(t, "the first scrape displaced a slow connection", func() bool {
		return closed() >= slow-max+1
	})
	if got := closed(); got == slow {
		t.Fatalf("all %d slow connections closed: the header timeout played a part", got)
	}

	// Shutdown, with the slow connections still open, closes them at
	// once. (http.Server alone would wait for them until they are over
	// 5 s old, past this context's 4 s; with the limiter it takes
	// milliseconds.)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown with slow connections open: %v", err)
	}
	eventually(t, "the slow connections closed", func() bool {
		return closed() == slow
	})
}

// TestSlowlorisHeaderTimeout: slow connections under the cap are closed
// once ReadHeaderTimeout passes, and the server answers meanwhile.
func TestSlowlorisHeaderTimeout(t *testing.T) {
	const slow = 300
	s, base := serve(t, ops.Config{ReadHeaderTimeout: 300 * time.Millisecond, MaxConns: 2 * slow})
	closed := slowloris(t, strings.TrimPrefix(base, "http://"), slow)
	if code, body := getFresh(t, base+"/healthz"); code != http.StatusOK {
		t.Fatalf("healthz: %d %s", code, body)
	}
	eventually(t, "the server closed every slow connection", func() bool {
		return closed() == slow
	})
	eventually(t, "the server released their slots", func() bool {
		open, _ := s.ConnStats()
		return open == 0
	})
}

// TestIdleTimeout: a keep-alive connection that sends no second request
// is closed once IdleTimeout passes.
func TestIdleTimeout(t *testing.T) {
	s, base := serve(t, ops.Config{IdleTimeout: 200 * time.Millisecond})
	c, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: ops\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(hangGuard))
	r := bufio.NewReader(c)
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Close {
		t.Fatalf("%d, close %v: want a kept-alive 200", resp.StatusCode, resp.Close)
	}
	// The server closes the connection: the read ends with EOF (not the
	// hang guard's timeout).
	if n, err := r.Read(make([]byte, 1)); n != 0 || err != io.EOF {
		t.Fatalf("read %d bytes, %v: want the server's close", n, err)
	}
	eventually(t, "the server released the slot", func() bool {
		open, _ := s.ConnStats()
		return open == 0
	})
}

// TestPprofCPUProfile: a 1 s CPU profile streams through (the server has
// no write timeout to cut it) as a gzipped pprof protobuf.
func TestPprofCPUProfile(t *testing.T) {
	base := start(t, ops.Config{})
	code, body := get(t, base+"/debug/pprof/profile?seconds=1")
	if code != http.StatusOK {
		t.Fatalf("%d %.200s", code, body)
	}
	if !strings.HasPrefix(body, "\x1f\x8b") {
		t.Fatalf("not gzip: % x", body[:min(len(body), 16)])
	}
	zr, err := gzip.NewReader(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	strs, err := profileStrings(raw)
	if err != nil {
		t.Fatalf("not a pprof profile: %v", err)
	}
	if len(strs) == 0 || strs[0] != "" {
		t.Fatalf("string table %q: want it to start with \"\"", strs)
	}
	for _, want := range []string{"samples", "count", "cpu", "nanoseconds"} {
		if !slices.Contains(strs, want) {
			t.Errorf("string table lacks %q: %q", want, strs)
		}
	}
}

// profileStrings walks the protobuf wire format of a pprof Profile
// message (github.com/google/pprof/proto/profile.proto) and returns its
// string table, field 6. (The module that parses profiles is not a
// dependency; this checks the shape well enough.)
func profileStrings(b []byte) ([]string, error) {
	varint := func() (uint64, error) {
		var v uint64
		for i := 0; i < 10 && len(b) > 0; i++ {
			c := b[0]
			b = b[1:]
			v |= uint64(c&0x7f) << (7 * i)
			if c < 0x80 {
				return v, nil
			}
		}
		return 0, errors.New("bad varint")
	}
	var strs []string
	for len(b) > 0 {
		key, err := varint()
		if err != nil {
			return nil, err
		}
		field, wire := key>>3, key&7
		if field == 0 {
			return nil, errors.New("field 0")
		}
		var skip uint64
		switch wire {
		case 0:
			if _, err := varint(); err != nil {
				return nil, err
			}
		case 1:
			skip = 8
		case 2:
			if skip, err = varint(); err != nil {
				return nil, err
			}
		case 5:
			skip = 4
		default:
			return nil, fmt.Errorf("field %d: wire type %d", field, wire)
		}
		if skip > uint64(len(b)) {
			return nil, fmt.Errorf("field %d: %d bytes past the end", field, skip-uint64(len(b)))
		}
		if field == 6 && wire == 2 {
			strs = append(strs, string(b[:skip]))
		}
		b = b[skip:]
	}
	return strs, nil
}
