package client

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/sluicelog/sluice/net/client/assign"
	"github.com/sluicelog/sluice/net/protocol"
)

// GroupListing is one group in ListGroups.
type GroupListing struct {
	Group        string
	ProtocolType string // "consumer"; empty for a group with only offsets
	State        string // Kafka's names: Empty, Stable, PreparingRebalance, ...
}

// ListGroups lists the groups of the cluster, sorted by id. Each broker
// lists the groups it holds, so the client asks every broker the cluster
// names and merges their answers; it fails if any broker does not answer.
func (cl *Client) ListGroups(ctx context.Context) ([]GroupListing, error) {
	md, err := cl.refreshMetadata(ctx, []string{}, false)
	if err != nil {
		return nil, fmt.Errorf("list groups: %w", err)
	}
	addrs := make([]string, 0, len(md.Brokers))
	for _, b := range md.Brokers {
		addrs = append(addrs, net.JoinHostPort(b.Host, strconv.Itoa(int(b.Port))))
	}
	if len(addrs) == 0 {
		addrs = []string{""} // any broker: it knows of no others
	}
	resps := make([]protocol.ListGroupsResponse, len(addrs))
	errs := make([]error, len(addrs))
	var wg sync.WaitGroup
	for i, addr := range addrs {
		wg.Go(func() {
			if err := cl.call(ctx, addr, &protocol.ListGroupsRequest{}, &resps[i], true); err != nil {
				errs[i] = err
				return
			}
			errs[i] = brokerErr(protocol.ListGroups, resps[i].ErrorCode, "", -1, nil)
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("list groups: %w", err)
	}
	// A group is listed by its coordinator; another broker may still hold
	// offsets of it from before the group moved, listed as Empty: the
	// listing with members wins.
	byID := map[string]GroupListing{}
	for _, resp := range resps {
		for _, g := range resp.Groups {
			l := GroupListing{Group: g.GroupID, ProtocolType: g.ProtocolType, State: g.State}
			if have, ok := byID[l.Group]; !ok || have.State == "Empty" && l.State != "Empty" {
				byID[l.Group] = l
			}
		}
	}
	out := make([]GroupListing, 0, len(byID))
	for _, l := range byID {
		out = append(out, l)
	}
	slices.SortFunc(out, func(a, b GroupListing) int { return strings.Compare(a.Group, b.Group) })
	return out, nil
}

// GroupDescription is a group's state and members.
type GroupDescription struct {
	Group        string
	State        string
	ProtocolType string
	Protocol     string // the assignor in use
	Generation   int32
	Leader       string
	Members      []GroupMember
}

// GroupMember is one member and what it owns. A member with no partitions
// is idle (the group has more members than partitions).
type GroupMember struct {
	MemberID   string
	InstanceID string
	ClientID   string
	Host       string
	Topics     []string         // its subscription, when readable
	Partitions []TopicPartition // its assignment, sorted
}

// DescribeGroup describes a group, as its coordinator knows it. An unknown
// group comes back with State "Dead" and no members, as from Kafka.
func (cl *Client) DescribeGroup(ctx context.Context, group string) (GroupDescription, error) {
	var resp protocol.DescribeGroupsResponse
	if err := cl.groupCall(ctx, group, &protocol.DescribeGroupsRequest{Groups: []string{group}}, &resp, true, func() protocol.ErrorCode {
		for _, g := range resp.Groups {
			if g.GroupID == group && resp.ErrorCode == protocol.NoError {
				return g.ErrorCode
			}
		}
		return resp.ErrorCode // the whole request's, or none
	}); err != nil {
		return GroupDescription{}, fmt.Errorf("describe group %s: %w", group, err)
	}
	if err := brokerErr(protocol.DescribeGroups, resp.ErrorCode, "", -1, nil); err != nil {
		return GroupDescription{}, err
	}
	for _, g := range resp.Groups {
		if g.GroupID != group {
			continue
		}
		if err := brokerErr(protocol.DescribeGroups, g.ErrorCode, "", -1, nil); err != nil {
			return GroupDescription{}, fmt.Errorf("describe group %q: %w", group, err)
		}
		d := GroupDescription{Group: g.GroupID, State: g.State, ProtocolType: g.ProtocolType, Protocol: g.Protocol,
			Generation: g.GenerationID, Leader: g.Leader}
		for _, m := range g.Members {
			gm := GroupMember{MemberID: m.MemberID, ClientID: m.ClientID, Host: m.ClientHost}
			if m.GroupInstanceID != nil {
				gm.InstanceID = *m.GroupInstanceID
			}
			if g.ProtocolType == protocol.ConsumerProtocolType {
				var sub protocol.ConsumerSubscription
				if sub.DecodeFrom(m.Metadata) == nil {
					gm.Topics = sub.Topics
				}
				var a protocol.ConsumerAssignment
				if a.DecodeFrom(m.Assignment) == nil {
					for _, t := range a.Partitions {
						for _, p := range t.Partitions {
							gm.Partitions = append(gm.Partitions, TopicPartition{Topic: t.Topic, Partition: p})
						}
					}
				}
				slices.SortFunc(gm.Partitions, assign.Compare)
			}
			d.Members = append(d.Members, gm)
		}
		return d, nil
	}
	return GroupDescription{}, fmt.Errorf("describe group %s: the broker's answer did not mention it", group)
}

// DeleteGroup deletes a group without members and its committed offsets.
// It fails wrapping protocol.ErrNonEmptyGroup while the group has members
// and protocol.ErrGroupIDNotFound for an unknown group.
func (cl *Client) DeleteGroup(ctx context.Context, group string) error {
	var resp protocol.DeleteGroupsResponse
	if err := cl.groupCall(ctx, group, &protocol.DeleteGroupsRequest{Groups: []string{group}}, &resp, false, func() protocol.ErrorCode {
		for _, r := range resp.Results {
			if r.GroupID == group && resp.ErrorCode == protocol.NoError {
				return r.ErrorCode
			}
		}
		return resp.ErrorCode
	}); err != nil {
		return fmt.Errorf("delete group %s: %w", group, err)
	}
	if err := brokerErr(protocol.DeleteGroups, resp.ErrorCode, "", -1, nil); err != nil {
		return err
	}
	for _, r := range resp.Results {
		if r.GroupID == group {
			if err := brokerErr(protocol.DeleteGroups, r.ErrorCode, "", -1, nil); err != nil {
				return fmt.Errorf("delete group %q: %w", group, err)
			}
			return nil
		}
	}
	return fmt.Errorf("delete group %s: the broker's answer did not mention it", group)
}

// CommitGroupOffsets commits offsets for a group from outside it (as
// `sluice groups reset-offsets` does). The coordinator accepts this only
// while the group has no members; otherwise the error wraps
// protocol.ErrUnknownMemberID.
func (cl *Client) CommitGroupOffsets(ctx context.Context, group string, offsets map[TopicPartition]int64) error {
	if len(offsets) == 0 {
		return nil
	}
	return cl.commit(ctx, &protocol.OffsetCommitRequest{GroupID: group, GenerationID: -1, Topics: commitTopics(offsets)})
}
