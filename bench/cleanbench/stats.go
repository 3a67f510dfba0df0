package cleanbench

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sluicelog/sluice/bench/sluicedproc"
)

// settleCache is called before every cold read: sluicedproc.Settle, but the tests
// leave the machine's page cache alone.
var settleCache = sluicedproc.Settle

// mbps is n bytes over seconds in MB/s (10^6 B/s), or 0.
func mbps(n int64, seconds float64) float64 {
	if seconds <= 0 {
		return 0
	}
	return float64(n) / 1e6 / seconds
}

// point is a counter's value at a time since a phase began.
type point struct {
	t time.Duration
	v float64
}

// series is a counter sampled over a phase, in time order.
type series []point

// at is the counter at t, interpolated linearly between the samples
// around it (the first or last sample's value outside them).
func (s series) at(t time.Duration) float64 {
	if len(s) == 0 {
		return 0
	}
	i, _ := slices.BinarySearchFunc(s, t, func(p point, t time.Duration) int {
		switch {
		case p.t < t:
			return -1
		case p.t > t:
			return 1
		}
		return 0
	})
	switch {
	case i == 0:
		return s[0].v
	case i == len(s):
		return s[len(s)-1].v
	case s[i].t == t:
		return s[i].v
	}
	a, b := s[i-1], s[i]
	return a.v + (b.v-a.v)*float64(t-a.t)/float64(b.t-a.t)
}

// rate is the counter's increase from a to b per second.
func (s series) rate(a, b time.Duration) float64 {
	if b <= a {
		return 0
	}
	return (s.at(b) - s.at(a)) / (b - a).Seconds()
}

// logAttrs reads the key=value pairs of a line of slog's text format
// (values with spaces or quotes are quoted, with Go's escapes).
func logAttrs(line string) map[string]string {
	out := map[string]string{}
	for s := strings.TrimSpace(line); s != ""; s = strings.TrimLeft(s, " ") {
		eq := strings.IndexByte(s, '=')
		sp := strings.IndexByte(s, ' ')
		if eq < 0 || (sp >= 0 && sp < eq) {
			// A word without a value: skip it.
			if sp < 0 {
				break
			}
			s = s[sp:]
			continue
		}
		key, rest := s[:eq], s[eq+1:]
		if strings.HasPrefix(rest, `"`) {
			if q, err := strconv.QuotedPrefix(rest); err == nil {
				v, _ := strconv.Unquote(q)
				out[key] = v
				s = rest[len(q):]
				continue
			}
		}
		end := strings.IndexByte(rest, ' ')
		if end < 0 {
			end = len(rest)
		}
		out[key] = rest[:end]
		s = rest[end:]
	}
	return out
}

// BrokerClean is a cleaning the broker logged ("log cleaned").
type BrokerClean struct {
	FirstDirty     int64   `json:"first_dirty"`
	End            int64   `json:"end"`
	Groups         int64   `json:"groups"`
	BytesRead      int64   `json:"bytes_read"`
	BytesWritten   int64   `json:"bytes_written"`
	RecordsKept    int64   `json:"records_kept"`
	RecordsRemoved int64   `json:"records_removed"`
	Seconds        float64 `json:"seconds"`
	// LogMBps is the log cleaned a second: half of BytesRead (the
	// cleaner reads a fully dirty section twice) over Seconds.
	LogMBps float64 `json:"log_mb_per_s"`
}

// parseCleaned reads the broker's "log cleaned" line of partition 0 of
// topic; ok is false for any other line.
func parseCleaned(line, topic string) (BrokerClean, bool) {
	if !strings.Contains(line, `msg="log cleaned"`) {
		return BrokerClean{}, false
	}
	a := logAttrs(line)
	if a["topic"] != topic || a["partition"] != "0" {
		return BrokerClean{}, false
	}
	num := func(k string) int64 { n, _ := strconv.ParseInt(a[k], 10, 64); return n }
	c := BrokerClean{FirstDirty: num("first_dirty"), End: num("end"), Groups: num("segments"), BytesRead: num("bytes_read"),
		BytesWritten: num("bytes_written"), RecordsKept: num("records_kept"), RecordsRemoved: num("records_removed")}
	took, err := time.ParseDuration(a["took"])
	if err != nil {
		return BrokerClean{}, false
	}
	c.Seconds = took.Seconds()
	c.LogMBps = mbps(c.BytesRead/2, c.Seconds)
	return c, true
}
