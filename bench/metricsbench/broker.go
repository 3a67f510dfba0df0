package metricsbench

import (
	"context"
	"regexp"
	"sync"
	"time"

	"github.com/sluicelog/sluice/bench/sluicedproc"
)

// broker is a running sluiced and the operations listener it logged.
type broker struct {
	*sluicedproc.Proc

	mu      sync.Mutex
	ops     string // the /metrics URL, "" when metrics are off
	opsSeen bool   // the broker logged an operations listener
}

var (
	// The operations listener's line: its metrics= URL, or else an
	// http listener's addr=.
	metricsURLRe = regexp.MustCompile(`\bmetrics=(http://\S+)`)
	httpAddrRe   = regexp.MustCompile(`\bprotocol=http\b.*\baddr=(\S+)|\baddr=(\S+).*\bprotocol=http\b`)
)

// startBroker runs bin on dataDir with the properties file config and the
// overrides, and waits for its "broker started" line. The operations
// listener binds before the client listeners, so its line comes first.
func startBroker(ctx context.Context, bin, dataDir, config, profile string, overrides []string) (*broker, error) {
	b := &broker{}
	p, err := sluicedproc.Start(ctx, sluicedproc.Options{Bin: bin, DataDir: dataDir, Config: config, Profile: profile,
		Overrides: overrides, OnLine: func(line string, _ time.Time) {
			b.mu.Lock()
			defer b.mu.Unlock()
			if m := metricsURLRe.FindStringSubmatch(line); m != nil {
				b.ops, b.opsSeen = m[1], true
			} else if m := httpAddrRe.FindStringSubmatch(line); m != nil {
				b.ops, b.opsSeen = "http://"+m[1]+m[2]+"/metrics", true
			}
		}})
	if err != nil {
		return nil, err
	}
	b.Proc = p
	return b, nil
}

func (b *broker) opsAddr() (string, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.ops, b.opsSeen
}
