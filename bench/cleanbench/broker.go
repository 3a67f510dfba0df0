package cleanbench

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/sluicelog/sluice/bench/sluicedproc"
)

// broker is a running sluiced and the "log cleaned" lines it logs.
type broker struct {
	*sluicedproc.Proc
	// cleaned receives the broker's "log cleaned" lines, with the time
	// each was read.
	cleaned chan logLine
}

// logLine is a line the broker logged and when this process read it.
type logLine struct {
	text string
	at   time.Time
}

// startBroker runs bin on dataDir with the properties file config and the
// overrides, and waits for its "broker started" line.
func startBroker(ctx context.Context, bin, dataDir, config string, overrides []string) (*broker, error) {
	b := &broker{cleaned: make(chan logLine, 64)}
	p, err := sluicedproc.Start(ctx, sluicedproc.Options{Bin: bin, DataDir: dataDir, Config: config, Overrides: overrides,
		OnLine: func(line string, at time.Time) {
			if strings.Contains(line, `msg="log cleaned"`) {
				select {
				case b.cleaned <- logLine{text: line, at: at}:
				default: // nobody waits for this many
				}
			}
		}})
	if err != nil {
		return nil, err
	}
	b.Proc = p
	return b, nil
}

// waitCleaned waits up to d for the "log cleaned" line of topic's
// partition 0; it returns the cleaning and when the line was read.
func (b *broker) waitCleaned(ctx context.Context, topic string, d time.Duration) (BrokerClean, time.Time, error) {
	timer := time.NewTimer(d)
	defer timer.Stop()
	for {
		select {
		case l := <-b.cleaned:
			if c, ok := parseCleaned(l.text, topic); ok {
				return c, l.at, nil
			}
		case <-b.Done():
			return BrokerClean{}, time.Time{}, fmt.Errorf("the broker exited (%v):\n%s", b.WaitErr(), b.Tail())
		case <-timer.C:
			return BrokerClean{}, time.Time{}, fmt.Errorf("%w of %s within %v:\n%s", errNoEvent, topic, d, b.Tail())
		case <-ctx.Done():
			return BrokerClean{}, time.Time{}, ctx.Err()
		}
	}
}
