package broker

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/sluicelog/sluice/net/ops"
)

// opsListener is the broker's operations HTTP listener (net/ops):
// /metrics, /debug/pprof/, /healthz and /readyz, on metrics.listeners.
type opsListener struct {
	srv *ops.Server // nil when metrics.listeners is empty
	// serving is set once every listener serves (and, in a cluster, the
	// broker has registered); closing once Close begins.
	serving, closing atomic.Bool
}

// parseMetricsListeners reads metrics.listeners: one http://host:port, or
// empty for none.
func parseMetricsListeners(v string) (string, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return "", nil
	}
	if strings.Contains(v, ",") {
		return "", fmt.Errorf("one listener, got %q", v)
	}
	scheme, addr, ok := strings.Cut(v, "://")
	if !ok || !strings.EqualFold(scheme, "http") {
		return "", fmt.Errorf("%q is not http://host:port", v)
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return "", fmt.Errorf("%q: %v", v, err)
	}
	return addr, nil
}

// startOps binds and serves the operations listener, when configured. It
// runs once the client listeners are bound, so /readyz can tell a
// scraper why the broker is not serving yet while it joins its quorum.
func (b *Broker) startOps(cfg Config) error {
	if cfg.MetricsListen == "" {
		return nil
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if eng := b.Engine; eng != nil {
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "sluice_partitions",
			Help: "Partitions whose log this broker's engine stores (in a cluster, its replicas: led and followed).",
		}, func() float64 {
			n := 0
			for _, topic := range eng.Topics() {
				hosted, err := eng.Hosted(topic)
				if err == nil { // else deleted since Topics
					n += len(hosted)
				}
			}
			return float64(n)
		}))
	}
	srv := ops.New(ops.Config{Addr: cfg.MetricsListen, Registry: reg, Ready: b.ready,
		Logger: b.logger.With("component", "ops")})
	if err := srv.Listen(); err != nil {
		return fmt.Errorf("metrics.listeners: %w", err)
	}
	b.ops.srv = srv
	go func() {
		if err := srv.Serve(); err != nil {
			b.done <- fmt.Errorf("metrics listener: %w", err)
		}
	}()
	b.logger.Info("operations listener started", "metrics", "http://"+srv.Addr().String()+"/metrics")
	return nil
}

// ready is /readyz: the engine open (its logs recovered), the listeners
// bound and serving and, in a cluster, this broker registered with the
// active controller; and not shutting down.
func (b *Broker) ready() (bool, map[string]string) {
	reasons := map[string]string{}
	if b.ops.closing.Load() {
		reasons["broker"] = "shutting down"
	}
	if !b.ops.serving.Load() {
		reasons["listeners"] = "bound, not serving yet"
	}
	if m := b.member; m != nil && b.Engine != nil && !m.Registered() {
		reasons["cluster"] = "not registered with the active controller yet"
	}
	return len(reasons) == 0, reasons
}

// stopOps shuts the operations listener down.
func (b *Broker) stopOps(ctx context.Context) error {
	if b.ops.srv == nil {
		return nil
	}
	return b.ops.srv.Shutdown(ctx)
}

// MetricsAddr returns the operations listener's address, or nil when
// metrics.listeners is empty.
func (b *Broker) MetricsAddr() net.Addr {
	if b.ops.srv == nil {
		return nil
	}
	return b.ops.srv.Addr()
}
