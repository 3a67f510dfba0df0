package broker

import (
	"context"
	"fmt"
	"net"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicelog/sluice/engine"
	"github.com/sluicelog/sluice/engine/metadata"
	"github.com/sluicelog/sluice/net/metrics"
	"github.com/sluicelog/sluice/net/ops"
	"github.com/sluicelog/sluice/net/protocol"
)

// opsListener is the broker's operations HTTP listener (net/ops):
// /metrics, /debug/pprof/, /healthz and /readyz, on metrics.listeners.
// It starts first, so that /readyz can say why the broker is not serving
// yet while it recovers its logs or joins its quorum.
type opsListener struct {
	srv *ops.Server          // nil when metrics.listeners is empty
	reg *prometheus.Registry // nil when metrics.listeners is empty
	set *metrics.Set         // nil when metrics.listeners is empty
	// stage says what start-up is doing until every listener serves; ""
	// from then on.
	stage atomic.Pointer[string]
	// closing is set once Close begins.
	closing atomic.Bool
}

func (o *opsListener) setStage(s string) { o.stage.Store(&s) }

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

// startOps binds and serves the operations listener, when configured,
// with the request-path instruments and the Go runtime's; the broker's
// own collector joins once its parts are open (registerCollector).
func (b *Broker) startOps(cfg Config) error {
	b.ops.setStage("starting")
	if cfg.MetricsListen == "" && cfg.MetricsListener == nil {
		return nil
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	srv := ops.New(ops.Config{Addr: cfg.MetricsListen, Listener: cfg.MetricsListener, Registry: reg, Ready: b.ready,
		Logger: b.logger.With("component", "ops")})
	if err := srv.Listen(); err != nil {
		return fmt.Errorf("metrics.listeners: %w", err)
	}
	b.ops.srv, b.ops.reg, b.ops.set = srv, reg, metrics.New(reg)
	go func() {
		if err := srv.Serve(); err != nil {
			b.done <- fmt.Errorf("metrics listener: %w", err)
		}
	}()
	b.logger.Info("listener bound", "event", "listener_bound", "protocol", "http",
		"addr", srv.Addr().String(), "metrics", "http://"+srv.Addr().String()+"/metrics")
	return nil
}

// onFlush is the engine's fsync observer: nil with metrics off.
func (b *Broker) onFlush() func(time.Duration) {
	if b.ops.set == nil {
		return nil
	}
	return b.ops.set.ObserveFlush
}

// requestMetrics is the request layer's instruments: nil with metrics off.
func (b *Broker) requestMetrics() *metrics.Requests {
	if b.ops.set == nil {
		return nil
	}
	return b.ops.set.Requests()
}

// listenerMetrics returns the native ("native") or Kafka ("kafka")
// listener's instruments; with metrics off, only the slow-request rule.
func (b *Broker) listenerMetrics(name string, cfg Config) *metrics.Listener {
	if b.ops.set == nil {
		return metrics.Slow(cfg.SlowRequestThreshold)
	}
	if name == "kafka" {
		return b.ops.set.Listener(name, kmsg.MaxKey, func(k int16) string {
			if kmsg.RequestForKey(k) == nil {
				return ""
			}
			return kmsg.NameForKey(k)
		}, cfg.SlowRequestThreshold)
	}
	return b.ops.set.Listener(name, maxNativeKey, func(k int16) string {
		if _, ok := protocol.NewRequest(protocol.APIKey(k)); !ok {
			return ""
		}
		return protocol.APIKey(k).String()
	}, cfg.SlowRequestThreshold)
}

// maxNativeKey bounds the native protocol's API keys (DescribeCluster,
// 60, is the largest); a larger key is reported as "unknown".
const maxNativeKey = 127

// registerCollector adds the broker's scrape-time collector once the
// engine, the membership and the groups exist.
func (b *Broker) registerCollector(cfg Config) {
	if b.ops.reg == nil {
		return
	}
	src := metrics.Sources{NodeID: cfg.NodeID, Version: version(), Engine: b.Engine, PartitionSeries: cfg.MetricsPartitionSeries}
	if b.groups != nil {
		src.Groups = b.groupMetrics
	}
	if m := b.member; m != nil {
		node := m.Node()
		src.Raft = func() (metrics.Raft, bool) {
			st := node.Stats()
			return metrics.Raft{State: st.State, Term: st.Term, CommitIndex: st.CommitIndex,
				Applied: st.AppliedIndex, LastIndex: st.LastLogIndex, LastContact: st.LastContact}, true
		}
		src.OfflinePartitions = func() int { return offlinePartitions(m.State().Image()) }
		if b.Engine != nil {
			src.Replicas = func() []metrics.Replica { return ledReplicas(m.State().Image(), cfg.NodeID, b.Engine) }
		}
	}
	b.ops.reg.MustRegister(metrics.NewCollector(src))
}

// groupMetrics reports the groups this broker coordinates, with each
// committed offset's lag behind the partition's high watermark here (as
// `sluice groups describe` computes it); a partition this broker stores
// no replica of has no lag here.
func (b *Broker) groupMetrics() metrics.Groups {
	out := metrics.Groups{ByState: map[string]int{}}
	listing, err := b.groups.ListGroups()
	if err != nil {
		return out
	}
	for _, l := range listing {
		out.ByState[l.State.String()]++
		offs, err := b.groups.FetchOffsets(l.Group)
		if err != nil {
			continue
		}
		for tp, co := range offs {
			lag := int64(-1)
			if b.Engine != nil {
				if p, err := b.Engine.Partition(tp.Topic, tp.Partition); err == nil {
					lag = max(p.HighWatermark()-co.Offset, 0)
				}
			}
			out.Offsets = append(out.Offsets, metrics.GroupOffset{Group: l.Group, Topic: tp.Topic,
				Partition: tp.Partition, Committed: co.Offset, Lag: lag})
		}
	}
	return out
}

// ledReplicas lists the partitions node leads in the image, with each
// one's ISR, replica count and min.insync.replicas.
func ledReplicas(im metadata.Image, node int32, eng *engine.Engine) []metrics.Replica {
	var out []metrics.Replica
	for _, t := range im.Topics {
		minISR := -1
		for i, p := range t.Partitions {
			if p.Leader != node {
				continue
			}
			if minISR < 0 {
				minISR = 1
				if cfg, err := eng.TopicConfig(t.Name); err == nil {
					minISR = int(cfg.MinInsyncReplicas)
				}
			}
			out = append(out, metrics.Replica{Topic: t.Name, Partition: int32(i), ISR: len(p.ISR),
				Replicas: len(p.Replicas), MinInsync: minISR})
		}
	}
	return out
}

// offlinePartitions counts the image's leaderless partitions.
func offlinePartitions(im metadata.Image) int {
	n := 0
	for _, t := range im.Topics {
		for _, p := range t.Partitions {
			if p.Leader < 0 {
				n++
			}
		}
	}
	return n
}

// version is the module's version as the build recorded it.
func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "unknown"
}

// ready is /readyz: the engine open (its logs recovered), the listeners
// bound and serving and, in a cluster, this broker registered with the
// active controller and its session alive; and not shutting down.
func (b *Broker) ready() (bool, map[string]string) {
	reasons := map[string]string{}
	if b.ops.closing.Load() {
		reasons["broker"] = "shutting down"
	}
	if st := b.ops.stage.Load(); st != nil && *st != "" {
		reasons["startup"] = *st
	}
	if m := b.live.Load(); m != nil {
		if why := m.NotReady(); why != "" {
			reasons["cluster"] = why
		}
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
