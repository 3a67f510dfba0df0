package broker

import (
	"context"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/sluicelog/sluice/net/quorum"
)

// StartTestCluster starts a cluster of n brokers for a test, in this
// process: each broker is also a controller (process.roles=broker,controller),
// node ids 1..n, every listener (native, Kafka and CONTROLLER) on 127.0.0.1
// with a free port, each data directory temporary, and timers short enough
// that a lost broker is fenced in a few seconds. Everything is closed when
// the test ends. edit, if not nil, adjusts each broker's configuration
// first. The brokers start together, since none can join a quorum alone.
func StartTestCluster(t TB, n int, edit func(*Config)) []*Broker {
	t.Helper()
	return StartTestClusterRoles(t, n, 0, edit)
}

// StartTestClusterRoles is StartTestCluster with voters brokers that are
// also controllers (node ids 1..voters) and brokerOnly brokers outside the
// quorum's voters (process.roles=broker, node ids voters+1 on), which join
// it as raft nonvoters. All start together; edit may make voters
// controller-only (ProcessRoles = []string{"controller"}).
func StartTestClusterRoles(t TB, voters, brokerOnly int, edit func(*Config)) []*Broker {
	t.Helper()
	cfgs, err := TestClusterRolesConfigs(voters, brokerOnly, t.TempDir)
	if err != nil {
		t.Fatalf("test cluster: %v", err)
	}
	n := len(cfgs)
	brokers := make([]*Broker, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range cfgs {
		if edit != nil {
			edit(&cfgs[i])
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			brokers[i], errs[i] = StartContext(ctx, cfgs[i], nil)
		}()
	}
	wg.Wait()
	t.Cleanup(func() {
		for _, b := range brokers {
			if b == nil {
				continue
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			if err := b.Close(ctx); err != nil {
				t.Logf("test cluster broker close: %v", err)
			}
			cancel()
		}
	})
	for i, err := range errs {
		if err != nil {
			t.Fatalf("start test cluster broker %d: %v", i+1, err)
		}
	}
	return brokers
}

// TestClusterConfigs makes the configurations StartTestCluster uses: n
// brokers, node ids 1..n, each with a CONTROLLER listener already bound on
// 127.0.0.1:0 (so that every voter's address is known before any starts)
// and a data directory from tempDir. A broker restarted by a test gets a
// new controller listener on the same address (Config.ControllerListen).
func TestClusterConfigs(n int, tempDir func() string) ([]Config, error) {
	return TestClusterRolesConfigs(n, 0, tempDir)
}

// TestClusterRolesConfigs is TestClusterConfigs for voters brokers that are
// also controllers and, after them, brokerOnly brokers with
// process.roles=broker: node ids voters+1 on, outside
// controller.quorum.voters, each with a CONTROLLER listener of its own
// (bound on 127.0.0.1:0) where the quorum's leader sends it the log.
func TestClusterRolesConfigs(voters, brokerOnly int, tempDir func() string) ([]Config, error) {
	n := voters + brokerOnly
	var vs []quorum.Voter
	var lns []net.Listener
	for i := 1; i <= n; i++ {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			for _, l := range lns {
				l.Close()
			}
			return nil, fmt.Errorf("controller listener: %w", err)
		}
		lns = append(lns, ln)
		if i <= voters {
			vs = append(vs, quorum.Voter{ID: int32(i), Addr: ln.Addr().String()})
		}
	}
	cfgs := make([]Config, n)
	for i := range cfgs {
		c := DefaultConfig()
		c.NodeID = int32(i + 1)
		c.Listen = "127.0.0.1:0"
		c.KafkaListen = "127.0.0.1:0"
		c.DataDir = tempDir()
		c.ProcessRoles = []string{"broker", "controller"}
		if i >= voters {
			c.ProcessRoles = []string{"broker"}
		}
		c.QuorumVoters = vs
		c.ControllerListener = lns[i]
		c.ControllerListen = lns[i].Addr().String()
		c.BrokerSessionTimeout = 3 * time.Second
		c.BrokerHeartbeatInterval = 300 * time.Millisecond
		c.RaftHeartbeatTimeout = 400 * time.Millisecond
		c.RaftElectionTimeout = 800 * time.Millisecond
		c.GroupInitialDelay = 0
		cfgs[i] = c
	}
	return cfgs, nil
}
