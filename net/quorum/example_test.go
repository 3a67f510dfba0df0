package quorum_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/sluicelog/sluice/net/quorum"
)

func ExampleParseVoters() {
	voters, err := quorum.ParseVoters("1@broker-1:9093,2@broker-2:9093,3@broker-3:9093")
	if err != nil {
		panic(err)
	}
	fmt.Println(len(voters), voters[1].ID, voters[1].Addr)
	_, err = quorum.ParseVoters("1@broker-1:9093,1@broker-2:9093")
	fmt.Println(err)
	// Output:
	// 3 2 broker-2:9093
	// controller.quorum.voters: duplicate id 1 (broker-1:9093 and broker-2:9093)
}

// counter is a StateMachine counting the commands it applied.
type counter struct {
	mu sync.Mutex
	n  int
}

func (c *counter) Apply(cmd []byte) []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n++
	return []byte(strconv.Itoa(c.n))
}

func (c *counter) Snapshot() ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return []byte(strconv.Itoa(c.n)), nil
}

func (c *counter) Restore(b []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	n, err := strconv.Atoi(string(b))
	c.n = n
	return err
}

// A quorum of one: the node elects itself and applies its own proposals.
func ExampleStart() {
	dir, _ := os.MkdirTemp("", "quorum-example")
	defer os.RemoveAll(dir)
	ln, _ := net.Listen("tcp", "127.0.0.1:0") // learn a free port first
	n, err := quorum.Start(quorum.Config{
		NodeID:       1,
		Dir:          dir,
		Listener:     ln,
		Voters:       []quorum.Voter{{ID: 1, Addr: ln.Addr().String()}},
		StateMachine: &counter{},
		LeaderHandler: func(ctx context.Context, kind uint8, payload []byte) ([]byte, error) {
			return append([]byte("heartbeat ok: "), payload...), nil
		},
		HeartbeatTimeout: 100 * time.Millisecond,
	})
	if err != nil {
		panic(err)
	}
	defer n.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := n.WaitReady(ctx); err != nil {
		panic(err)
	}
	res, err := n.Propose(ctx, []byte("topic created"))
	fmt.Printf("%s %v\n", res, err)
	res, err = n.LeaderCall(ctx, 1, []byte("broker 1"))
	fmt.Printf("%s %v\n", res, err)
	// Output:
	// 1 <nil>
	// heartbeat ok: broker 1 <nil>
}
