package quorum

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/hashicorp/raft"
)

// A nonvoter (Config.Nonvoter, Kafka's process.roles=broker) has no bootstrap
// configuration: raft's leader replicates only to servers in its
// configuration, so the nonvoter asks to be added. At every Start it sends
// a join request (op 4 on a leader-call connection, payload: int32 node id,
// then its CONTROLLER address) to the voters in turn until one answers; a
// voter that is not the leader forwards the request to its leader, which
// runs raft's AddNonvoter. Joining is idempotent: a member with the same
// address is left alone, and a new address replaces the old one.
//
// Voters accept leader-call connections from node ids outside
// controller.quorum.voters for this; raft streams still come from voters only.

// opJoin asks the leader to add the node in the payload as a nonvoter.
const opJoin = 4

// errJoinRefused is a join no voter will ever accept (the id is a voter's).
var errJoinRefused = errors.New("quorum: join refused")

func joinPayload(id int32, addr string) []byte {
	b := binary.BigEndian.AppendUint32(nil, uint32(id))
	return append(b, addr...)
}

func decodeJoin(p []byte) (int32, string, error) {
	if len(p) < 5 {
		return 0, "", fmt.Errorf("join request of %d bytes: want a node id and an address", len(p))
	}
	return int32(binary.BigEndian.Uint32(p)), string(p[4:]), nil
}

// join asks the voters until one has the leader add this node. A refusal
// that retrying cannot fix ends it; WaitReady, Propose and LeaderCall then
// fail with it.
func (n *Node) join() {
	defer n.wg.Done()
	payload := joinPayload(n.cfg.NodeID, n.self.Addr)
	backoff := 10 * time.Millisecond
	var lastWarn time.Time
	for attempt := 0; ; attempt++ {
		v := n.cfg.Voters[attempt%len(n.cfg.Voters)]
		err := n.joinVia(v.Addr, payload)
		switch {
		case err == nil:
			n.cfg.Logger.Info("quorum: joined as a nonvoter", "node", n.cfg.NodeID, "addr", n.self.Addr, "via", v.ID)
			return
		case errors.Is(err, errJoinRefused):
			n.cfg.Logger.Error("quorum: join refused", "node", n.cfg.NodeID, "error", err)
			n.joinErr.Store(&err)
			return
		case n.ctx.Err() != nil:
			return
		}
		if attempt%len(n.cfg.Voters) == len(n.cfg.Voters)-1 {
			// Warned once in a while; every round at debug.
			lv := slog.LevelDebug
			if now := time.Now(); now.Sub(lastWarn) >= refusalLogEvery {
				lv, lastWarn = slog.LevelWarn, now
			}
			n.cfg.Logger.Log(n.ctx, lv, "quorum: no voter added this nonvoter yet; retrying", "node", n.cfg.NodeID, "error", err, "retry_in", backoff)
			select {
			case <-n.ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, time.Second)
		}
	}
}

// joinVia sends one join request to the voter at addr.
func (n *Node) joinVia(addr string, payload []byte) error {
	ctx, cancel := context.WithTimeout(n.ctx, max(n.cfg.IOTimeout, 4*n.cfg.ElectionTimeout))
	defer cancel()
	resp, _, err := n.roundTrip(ctx, addr, &callRequest{Op: opJoin, Payload: payload})
	switch {
	case err != nil:
		return err
	case resp.Status == statusOK:
		return nil
	case resp.Status == statusBadRequest:
		return fmt.Errorf("%w by %s: %s", errJoinRefused, addr, resp.Payload)
	default:
		return fmt.Errorf("quorum: join via %s: %s", addr, resp.Payload)
	}
}

// serveJoin serves a join request on a voter: refused for a voter's id,
// else run on the leader (forwarded when this node is not).
func (n *Node) serveJoin(ctx context.Context, payload []byte) callResponse {
	id, addr, err := decodeJoin(payload)
	if err != nil {
		return callResponse{Status: statusBadRequest, Payload: []byte(err.Error())}
	}
	for _, v := range n.cfg.Voters {
		if v.ID == id {
			return callResponse{Status: statusBadRequest, Payload: fmt.Appendf(nil,
				"node %d is in controller.quorum.voters (%s), so it cannot join as a nonvoter (process.roles=broker)", id, n.mux.votersText)}
		}
		if v.Addr == addr {
			return callResponse{Status: statusBadRequest, Payload: fmt.Appendf(nil,
				"node %d advertises %s, the address of voter %d", id, addr, v.ID)}
		}
	}
	req := &callRequest{Op: opJoin, Payload: payload}
	_, _, err = n.toLeader(ctx, req, true, func(ctx context.Context) (uint64, []byte, error) {
		err := n.addNonvoter(ctx, id, addr)
		if errors.Is(err, ErrOutcomeUnknown) && ctx.Err() == nil {
			err = fmt.Errorf("%w: %w", errRetry, err) // AddNonvoter is harmless to repeat
		}
		return 0, nil, err
	})
	if err != nil {
		return callResponse{Status: statusRetry, Payload: []byte(err.Error())}
	}
	return callResponse{Status: statusOK}
}

// addNonvoter adds (or re-addresses) a nonvoter on the leader, unless the
// configuration already has it at addr.
func (n *Node) addNonvoter(ctx context.Context, id int32, addr string) error {
	f := n.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return fmt.Errorf("%w: %w", errRetry, err)
	}
	sid := serverID(id)
	for _, s := range f.Configuration().Servers {
		if s.ID == sid && s.Suffrage == raft.Nonvoter && string(s.Address) == addr {
			return nil
		}
	}
	if err := n.await(ctx, n.raft.AddNonvoter(sid, raft.ServerAddress(addr), 0, untilDeadline(ctx))); err != nil {
		return err
	}
	n.cfg.Logger.Info("quorum: added a nonvoter", "node", n.cfg.NodeID, "nonvoter", strconv.Itoa(int(id)), "addr", addr)
	return nil
}

// joinFailed returns why this nonvoter's join was refused for good, or nil.
func (n *Node) joinFailed() error {
	if p := n.joinErr.Load(); p != nil {
		return *p
	}
	return nil
}
