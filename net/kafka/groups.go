package kafka

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicelog/sluice/net/request"
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

// findCoordinator names the broker coordinating each group, as the request
// layer's cluster says. Transaction coordinators do not exist here.
func (s *Server) findCoordinator(r *kmsg.FindCoordinatorRequest) *kmsg.FindCoordinatorResponse {
	resp := r.ResponseKind().(*kmsg.FindCoordinatorResponse)
	if r.Version < 4 {
		b, err := s.h.FindCoordinator(request.ListenerKafka, r.CoordinatorType, r.CoordinatorKey)
		resp.ErrorCode, resp.ErrorMessage = errorCode(err), errorMessage(err)
		resp.NodeID, resp.Host, resp.Port = b.ID, b.Host, b.Port
		return resp
	}
	for _, key := range r.CoordinatorKeys {
		c := kmsg.NewFindCoordinatorResponseCoordinator()
		b, err := s.h.FindCoordinator(request.ListenerKafka, r.CoordinatorType, key)
		c.Key, c.ErrorCode, c.ErrorMessage = key, errorCode(err), errorMessage(err)
		c.NodeID, c.Host, c.Port = b.ID, b.Host, b.Port
		resp.Coordinators = append(resp.Coordinators, c)
	}
	return resp
}
