package metricsbench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
)

// scrape is one GET of /metrics.
type scrape struct {
	at    time.Time
	took  time.Duration
	bytes int64
	err   error
}

// scraper GETs a /metrics page every interval, as a Prometheus would, and
// only reads the page: what it costs is the broker's.
type scraper struct {
	url    string
	client *http.Client
	start  time.Time
	first  time.Duration
	stop   chan struct{}
	done   chan struct{}

	mu      sync.Mutex
	scrapes []scrape
}

// startScraper scrapes url after first and then every interval until
// close.
func startScraper(url string, first, interval time.Duration) *scraper {
	s := &scraper{url: url, client: &http.Client{Timeout: 10 * time.Second}, start: time.Now(), first: first,
		stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		t := time.NewTimer(first)
		defer t.Stop()
		for {
			select {
			case <-s.stop:
				return
			case <-t.C:
			}
			s.once()
			t.Reset(interval)
		}
	}()
	return s
}

// due is how long after close the next scrape would have come: the next
// slot's first, so that a broker that works in slots is scraped once per
// interval of its working time.
func (s *scraper) due(interval time.Duration) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n := len(s.scrapes); n > 0 {
		return max(interval-time.Since(s.scrapes[n-1].at), 0)
	}
	return max(s.first-time.Since(s.start), 0)
}

func (s *scraper) once() {
	start := time.Now()
	n, err := s.get(context.Background(), io.Discard)
	s.mu.Lock()
	s.scrapes = append(s.scrapes, scrape{at: start, took: time.Since(start), bytes: n, err: err})
	s.mu.Unlock()
}

// get writes the page to w.
func (s *scraper) get(ctx context.Context, w io.Writer) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url, nil)
	if err != nil {
		return 0, err
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	n, err := io.Copy(w, resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("GET %s: %s", s.url, resp.Status)
	}
	return n, err
}

// close stops the scraping and waits for a scrape in progress; scrapes
// is complete from then on.
func (s *scraper) close() {
	close(s.stop)
	<-s.done
}

// page fetches the page once more, outside the schedule.
func (s *scraper) page(ctx context.Context) ([]byte, error) {
	var b bytes.Buffer
	_, err := s.get(ctx, &b)
	return b.Bytes(), err
}

// Page is a parsed /metrics page (Prometheus text exposition).
type Page map[string]*dto.MetricFamily

// ParsePage parses a /metrics page.
func ParsePage(b []byte) (Page, error) {
	var p expfmt.TextParser
	fams, err := p.TextToMetricFamilies(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	return Page(fams), nil
}

// Value returns the value of the series of family name whose labels
// include every name=value pair of labels (a counter's, gauge's or untyped
// value), summed when several match, and whether any did.
func (p Page) Value(name string, labels ...string) (float64, bool) {
	fam := p[name]
	if fam == nil || len(labels)%2 != 0 {
		return 0, false
	}
	var sum float64
	found := false
	for _, m := range fam.GetMetric() {
		if !hasLabels(m, labels) {
			continue
		}
		switch {
		case m.Counter != nil:
			sum += m.Counter.GetValue()
		case m.Gauge != nil:
			sum += m.Gauge.GetValue()
		case m.Untyped != nil:
			sum += m.Untyped.GetValue()
		case m.Histogram != nil:
			sum += float64(m.Histogram.GetSampleCount())
		default:
			continue
		}
		found = true
	}
	return sum, found
}

func hasLabels(m *dto.Metric, want []string) bool {
	for i := 0; i < len(want); i += 2 {
		ok := false
		for _, l := range m.GetLabel() {
			if l.GetName() == want[i] && l.GetValue() == want[i+1] {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}
