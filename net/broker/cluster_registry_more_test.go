package broker_test

import (
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/sluicelog/sluice/net/broker"
	"github.com/sluicelog/sluice/net/schemareg"
)

// A broker that holds no replica of _schemas-0 (a 4th broker: RF is 3)
// serves the registry through the leader: a write through it, then a read
// of the id it returned.
func TestClusterRegistryBrokerWithoutReplica(t *testing.T) {
	bs := broker.StartTestClusterRoles(t, 3, 1, func(c *broker.Config) { c.SchemaRegistryListen = "127.0.0.1:0" })
	urls := make([]string, len(bs))
	for i, b := range bs {
		urls[i] = "http://" + b.SchemaRegistryAddr().String()
	}
	s := `{"type":"record","name":"R","fields":[{"name":"a","type":"int"}]}`
	id := registerUntil(t, urls[0], "s-value", s)
	top, err := bs[0].Member().Topic(schemareg.Topic)
	if err != nil {
		t.Fatal(err)
	}
	in := map[int32]bool{}
	for _, r := range top.Partitions[0].Replicas {
		in[r] = true
	}
	for i, url := range urls {
		if in[int32(i+1)] {
			continue
		}
		// Also through the non-replica broker itself: forwarded, 200.
		id2 := registerUntil(t, url, "t-value", s)
		deadline := time.Now().Add(5 * time.Second)
		for {
			st, raw := registryCall("GET", fmt.Sprintf("%s/schemas/ids/%d", url, id), nil)
			if st == 200 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("broker %d (no replica of %s; replicas %v) registered id %d through itself but still answers %d %s for id %d after 5 s",
					i+1, schemareg.Topic, top.Partitions[0].Replicas, id2, st, raw, id)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// Read your writes through one broker: register through a follower of
// _schemas-0 (forwarded to the leader), then at once GET the id from that
// same follower.
func TestClusterRegistryReadYourWrites(t *testing.T) {
	bs := broker.StartTestCluster(t, 3, func(c *broker.Config) { c.SchemaRegistryListen = "127.0.0.1:0" })
	urls := make([]string, len(bs))
	for i, b := range bs {
		urls[i] = "http://" + b.SchemaRegistryAddr().String()
	}
	registerUntil(t, urls[0], "warm", `"string"`)
	top, _ := bs[0].Member().Topic(schemareg.Topic)
	follower := urls[0]
	for i := range urls {
		if int32(i+1) != top.Partitions[0].Leader {
			follower = urls[i]
			break
		}
	}
	misses := 0
	var worst time.Duration
	for i := 0; i < 10; i++ {
		s := fmt.Sprintf(`{"type":"record","name":"R%d","fields":[{"name":"a","type":"int"}]}`, i)
		id := registerUntil(t, follower, fmt.Sprintf("ryw-%d", i), s)
		if st, _ := registryCall("GET", fmt.Sprintf("%s/schemas/ids/%d", follower, id), nil); st != 200 {
			misses++
			start := time.Now()
			for {
				if st, _ := registryCall("GET", fmt.Sprintf("%s/schemas/ids/%d", follower, id), nil); st == 200 {
					break
				}
				time.Sleep(5 * time.Millisecond)
			}
			if lag := time.Since(start); lag > worst {
				worst = lag
			}
		}
	}
	if misses > 0 {
		t.Fatalf("%d of 10 registrations through a follower were followed by a 404 for the returned id from that same broker (served up to %v later)", misses, worst)
	}
}

// schema.registry.listeners=http://0.0.0.0:PORT advertises the host name,
// not 0.0.0.0, which other hosts would take for themselves.
func TestClusterRegistryAdvertisesHostName(t *testing.T) {
	bs := broker.StartTestCluster(t, 3, func(c *broker.Config) { c.SchemaRegistryListen = "0.0.0.0:0" })
	for _, br := range bs[0].Member().Brokers("SCHEMA_REGISTRY") {
		if ip := net.ParseIP(br.Host); ip != nil && ip.IsUnspecified() {
			t.Fatalf("broker %d advertises its registry at %s:%d: another host forwards writes to itself", br.ID, br.Host, br.Port)
		}
	}
}
