package client

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/sluicelog/sluice/net/protocol"
)

// A group's requests (OffsetCommit, OffsetFetch, DescribeGroups,
// DeleteGroups) go to its coordinator: in a cluster only that broker holds
// the group's members and offsets, and the others refuse the group with
// NOT_COORDINATOR. The client finds the coordinator with FindCoordinator,
// which any broker answers, keeps the answer for coordinatorMaxAge, and
// forgets it as soon as the broker named says it is not (or no longer) the
// coordinator, or cannot be reached: the next attempt looks it up again.
//
// The GroupConsumer's membership calls keep a coordinator of their own, on
// their own connection (group_member.go); its commits and offset reads come
// through here.

// coordinatorMaxAge bounds how long a FindCoordinator answer is used
// without a refusal to say it is wrong.
const coordinatorMaxAge = 30 * time.Second

// coordinators is one client's cache: group id -> where its coordinator was.
type coordinators struct {
	mu sync.Mutex
	m  map[string]coordinatorEntry
}

type coordinatorEntry struct {
	addr string
	at   time.Time
}

// coordinator returns the address of group's coordinator, from the cache
// or asking any broker.
func (cl *Client) coordinator(ctx context.Context, group string) (string, error) {
	cache := &cl.coords
	cache.mu.Lock()
	e, ok := cache.m[group]
	cache.mu.Unlock()
	if ok && time.Since(e.at) < coordinatorMaxAge {
		return e.addr, nil
	}
	var resp protocol.FindCoordinatorResponse
	req := &protocol.FindCoordinatorRequest{CoordinatorKey: group, KeyType: protocol.CoordinatorKeyGroup}
	if err := cl.call(ctx, "", req, &resp, true); err != nil {
		return "", err
	}
	if err := brokerErr(protocol.FindCoordinator, resp.ErrorCode, "", -1, resp.ErrorMessage); err != nil {
		return "", err
	}
	addr := net.JoinHostPort(resp.Host, strconv.Itoa(int(resp.Port)))
	cache.mu.Lock()
	cache.m[group] = coordinatorEntry{addr: addr, at: time.Now()}
	cache.mu.Unlock()
	return addr, nil
}

// forgetCoordinator drops group's cached coordinator if it is still addr
// (a newer answer stays).
func (cl *Client) forgetCoordinator(group, addr string) {
	cache := &cl.coords
	cache.mu.Lock()
	defer cache.mu.Unlock()
	if e, ok := cache.m[group]; ok && e.addr == addr {
		delete(cache.m, group)
	}
}

// coordinatorMoved reports whether an answer's code means "ask the
// coordinator again": this broker is not it, none is available yet, or
// the one named is still loading the group (a broker that just took the
// group over; asking which it is costs one FindCoordinator).
func coordinatorMoved(code protocol.ErrorCode) bool {
	return code == protocol.ErrNotCoordinator || code == protocol.ErrCoordinatorNotAvailable ||
		code == protocol.ErrCoordinatorLoadInProgress
}

// groupCall sends a request about group to its coordinator and decodes the
// answer into resp. code picks the answer's error for the group: the
// top-level code, or the group's entry in a batched answer. When that is
// NOT_COORDINATOR, COORDINATOR_NOT_AVAILABLE or
// COORDINATOR_LOAD_IN_PROGRESS, or the coordinator cannot
// be reached, the coordinator is forgotten, found again and the request
// sent there, after a short backoff, until ctx ends or RequestTimeout has
// passed. A refused request did nothing, so resending it is always safe; a
// request whose connection broke after it was written is resent only if
// idempotent says repeating it cannot change its outcome.
//
// When the time runs out on refusals, the last answer is in resp and the
// error is nil: the caller reports its code as for any other.
func (cl *Client) groupCall(ctx context.Context, group string, req protocol.Request, resp protocol.Response,
	idempotent bool, code func() protocol.ErrorCode) error {
	budget := time.Now().Add(cl.cfg.RequestTimeout)
	backoff := 50 * time.Millisecond
	for {
		answered := false
		addr, err := cl.coordinator(ctx, group)
		if err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("%v: %w", req.Key(), ctx.Err())
			}
			// The lookup went to any broker, which call retries on
			// connection failures; a cluster without a live
			// coordinator yet says COORDINATOR_NOT_AVAILABLE.
			var refused protocol.ErrorCode
			if !errors.Is(err, ErrNetwork) && !(errors.As(err, &refused) && coordinatorMoved(refused)) {
				return fmt.Errorf("%v: find the coordinator of group %s: %w", req.Key(), group, err)
			}
		} else {
			var c *conn
			if c, err = cl.pool.get(ctx, addr); err == nil {
				err = c.roundTrip(ctx, req, resp, cl.cfg.RequestTimeout)
			}
			if err == nil && !coordinatorMoved(code()) {
				return nil
			}
			answered = err == nil
			cl.forgetCoordinator(group, addr)
			if ctx.Err() != nil {
				return fmt.Errorf("%v: %w", req.Key(), ctx.Err())
			}
			var ne *netError
			if err != nil && (!errors.As(err, &ne) || !idempotent && ne.op != "dial" && ne.op != "write") {
				return fmt.Errorf("%v: %w", req.Key(), err)
			}
		}
		if time.Now().Add(backoff).After(budget) {
			if answered {
				return nil
			}
			return fmt.Errorf("%v: %w", req.Key(), err)
		}
		cl.logger.Debug("finding the group coordinator again", "group", group, "api", req.Key().String(), "broker", addr, "err", err)
		if err := sleep(ctx, backoff); err != nil {
			return fmt.Errorf("%v: %w", req.Key(), err)
		}
		backoff = min(2*backoff, time.Second)
	}
}
