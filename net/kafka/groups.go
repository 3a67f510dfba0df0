package kafka

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// findCoordinatorKey is FindCoordinator's API key.
const findCoordinatorKey = 10

// Groups answers the consumer group APIs: JoinGroup, SyncGroup, Heartbeat,
// LeaveGroup, OffsetCommit, OffsetFetch, DescribeGroups, ListGroups,
// DeleteGroups and OffsetDelete. The listener answers FindCoordinator
// itself (this node coordinates every group) once a Groups is configured.
type Groups interface {
	// Versions lists the APIs and versions Handle answers; they are
	// advertised in ApiVersions, and only they are passed to Handle.
	Versions() []kmsg.ApiVersionsResponseApiKey
	// Handle answers one request, at the request's version, from the
	// client described. ctx ends when the client's connection closes or
	// the broker stops, so a call that waits (JoinGroup, SyncGroup)
	// returns. An error closes the connection.
	Handle(ctx context.Context, from Client, req kmsg.Request) (kmsg.Response, error)
}

// Client identifies the sender of a request, as DescribeGroups shows it.
type Client struct {
	ID   string // the request header's client id
	Host string // the connection's remote host
}

// findCoordinator names this node as the coordinator of every group.
// Transaction coordinators do not exist here.
func (s *Server) findCoordinator(r *kmsg.FindCoordinatorRequest) *kmsg.FindCoordinatorResponse {
	resp := r.ResponseKind().(*kmsg.FindCoordinatorResponse)
	answer := func(key string) (code int16, msg *string) {
		if r.CoordinatorType != 0 {
			m := "only group coordinators exist on this broker (no transactions)"
			return kerr.CoordinatorNotAvailable.Code, &m
		}
		return 0, nil
	}
	if r.Version < 4 {
		resp.ErrorCode, resp.ErrorMessage = answer(r.CoordinatorKey)
		resp.NodeID, resp.Host, resp.Port = s.cfg.NodeID, s.advertHost, s.advertPort
		if resp.ErrorCode != 0 {
			resp.NodeID, resp.Host, resp.Port = -1, "", -1
		}
		return resp
	}
	for _, key := range r.CoordinatorKeys {
		c := kmsg.NewFindCoordinatorResponseCoordinator()
		c.Key = key
		c.ErrorCode, c.ErrorMessage = answer(key)
		c.NodeID, c.Host, c.Port = s.cfg.NodeID, s.advertHost, s.advertPort
		if c.ErrorCode != 0 {
			c.NodeID, c.Host, c.Port = -1, "", -1
		}
		resp.Coordinators = append(resp.Coordinators, c)
	}
	return resp
}
