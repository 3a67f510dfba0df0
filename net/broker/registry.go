package broker

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"time"

	"github.com/sluicelog/sluice/engine"
	"github.com/sluicelog/sluice/net/cluster"
	"github.com/sluicelog/sluice/net/ops"
	"github.com/sluicelog/sluice/net/schemareg"
)

// registryListener is the listener name brokers advertise their schema
// registry under in the cluster's metadata, so that a broker that does not
// write the registry knows where to pass writes.
const registryListener = "SCHEMA_REGISTRY"

// startRegistry starts the schema registry on schema.registry.listeners,
// when configured: its applier and its HTTP listener, which has the
// operations listener's connection limits.
func (b *Broker) startRegistry(cfg Config) error {
	if cfg.SchemaRegistryListen == "" && cfg.SchemaRegistryListener == nil {
		return nil
	}
	var backend schemareg.Backend = schemareg.EngineBackend{Engine: b.Engine}
	if b.member != nil {
		backend = &clusterRegistry{m: b.member, eng: b.Engine, self: cfg.NodeID, timeout: schemareg.DefaultTimeout}
	}
	reg := schemareg.New(schemareg.Config{Backend: backend, Logger: b.logger.With("component", "schema-registry")})
	srv := ops.New(ops.Config{Addr: cfg.SchemaRegistryListen, Listener: cfg.SchemaRegistryListener, Handler: reg.Handler(),
		Logger: b.logger.With("component", "schema-registry")})
	if err := srv.Listen(); err != nil {
		return fmt.Errorf("schema.registry.listeners: %w", err)
	}
	reg.Start()
	b.registry, b.registrySrv = reg, srv
	if b.member != nil {
		host, port, _ := net.SplitHostPort(srv.Addr().String())
		p, _ := strconv.ParseInt(port, 10, 32)
		if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
			// Bound to every interface: the others reach it by name, as
			// the Kafka listener is advertised.
			if name, err := os.Hostname(); err == nil {
				host = name
			}
		}
		b.member.Advertise(registryListener, host, int32(p))
	}
	// Requests wait in the listen backlog until the state is loaded, as
	// Confluent's registry serves only once its reader is at the end.
	ctx, cancel := context.WithTimeout(context.Background(), 2*schemareg.DefaultTimeout)
	err := reg.WaitReady(ctx)
	cancel()
	if err != nil {
		b.logger.Warn("the schema registry serves before its schemas are loaded (it answers 503 until then)", "err", err)
	}
	go func() {
		if err := srv.Serve(); err != nil {
			b.done <- fmt.Errorf("schema registry listener: %w", err)
		}
	}()
	b.logger.Info("listener bound", "event", "listener_bound", "protocol", "http",
		"addr", srv.Addr().String(), "schema_registry", "http://"+srv.Addr().String())
	return nil
}

// SchemaRegistryAddr is the schema registry's bound address, nil when it
// is off.
func (b *Broker) SchemaRegistryAddr() net.Addr {
	if b.registrySrv == nil {
		return nil
	}
	return b.registrySrv.Addr()
}

// stopRegistry stops the registry's listener (requests in flight finish
// until ctx ends) and its applier.
func (b *Broker) stopRegistry(ctx context.Context) error {
	if b.registrySrv == nil {
		return nil
	}
	err := b.registrySrv.Shutdown(ctx)
	b.registry.Close()
	return err
}

// clusterRegistry is a broker's schemareg.Backend in a cluster: the
// _schemas topic replicated like any other, written by its leader with
// acks=all.
type clusterRegistry struct {
	m       *cluster.Member
	eng     *engine.Engine
	self    int32
	timeout time.Duration
}

func (c *clusterRegistry) Log() *engine.Partition {
	p, err := c.eng.Partition(schemareg.Topic, 0)
	if err != nil {
		return nil
	}
	return p
}

func (c *clusterRegistry) Leader() (string, error) {
	t, err := c.m.Topic(schemareg.Topic)
	if err != nil {
		return "", err
	}
	if len(t.Partitions) == 0 || t.Partitions[0].Leader < 0 {
		return "", errors.New("the schemas topic has no leader")
	}
	leader := t.Partitions[0].Leader
	if leader == c.self {
		if _, err := c.m.LeaderEpoch(schemareg.Topic, 0); err != nil {
			return "", err // the image says so, the leadership map not yet
		}
		return "", nil
	}
	for _, br := range c.m.Brokers(registryListener) {
		if br.ID == leader {
			return "http://" + net.JoinHostPort(br.Host, strconv.Itoa(int(br.Port))), nil
		}
	}
	return "", fmt.Errorf("broker %d leads the schemas topic but has no schema registry listener", leader)
}

// Create creates the topic with one partition and min(3, live brokers)
// replicas, as Confluent's registry creates _schemas.
func (c *clusterRegistry) Create(ctx context.Context) error {
	return c.m.CreateSchemasTopic(ctx, schemareg.TopicConfigs)
}

func (c *clusterRegistry) Append(ctx context.Context, records []byte) (int64, error) {
	p := c.Log()
	if p == nil {
		return 0, errors.New("no local replica of the schemas topic")
	}
	if _, err := c.m.LeaderEpoch(schemareg.Topic, 0); err != nil {
		return 0, err
	}
	if err := c.m.CheckInSync(schemareg.Topic, 0); err != nil {
		return 0, err
	}
	res, err := p.Append(records)
	if err != nil {
		return 0, err
	}
	c.m.Appended(p)
	end := res.LastOffset + 1
	if err := c.m.AwaitReplicated(ctx, p, end, res.LeaderEpoch, c.timeout); err != nil {
		return 0, err
	}
	return end, nil
}
