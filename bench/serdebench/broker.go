package serdebench

import (
	"context"
	"regexp"
	"sync"
	"time"

	"github.com/sluicelog/sluice/bench/sluicedproc"
)

// broker is a running sluiced and the schema registry URL it logged.
type broker struct {
	*sluicedproc.Proc

	mu       sync.Mutex
	registry string // "" until the registry's listener line
}

// registryURLRe finds the schema registry's URL in its listener_bound
// line.
var registryURLRe = regexp.MustCompile(`\bevent=listener_bound\b.*\bschema_registry=(http://\S+)`)

// startBroker runs bin on dataDir with the properties file config and the
// overrides, and waits for its "broker started" line. The registry's
// listener binds before the client listeners, so its line comes first.
func startBroker(ctx context.Context, bin, dataDir, config string, overrides []string) (*broker, error) {
	b := &broker{}
	p, err := sluicedproc.Start(ctx, sluicedproc.Options{Bin: bin, DataDir: dataDir, Config: config, Overrides: overrides,
		OnLine: func(line string, _ time.Time) {
			if m := registryURLRe.FindStringSubmatch(line); m != nil {
				b.mu.Lock()
				b.registry = m[1]
				b.mu.Unlock()
			}
		}})
	if err != nil {
		return nil, err
	}
	b.Proc = p
	return b, nil
}

// registryURL is the registry's base URL, "" if the broker logged none.
func (b *broker) registryURL() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.registry
}
