package kafka

import (
	"reflect"
	"sort"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// versionRange is the versions of one API this broker answers.
type versionRange struct{ min, max int16 }

// apiTable maps API keys to the versions answered. It is built once per
// server and read-only after.
type apiTable map[int16]versionRange

// ownAPIs are the APIs this package answers itself, with their versions.
// The floors are where Kafka's v2 record batches (Produce v3, Fetch v4) or
// today's layouts begin; the ceilings are the newest versions whose
// semantics are fully implemented (Fetch v13+ and Produce v13 name topics
// by id; ListOffsets v7 asks for the max-timestamp offset; InitProducerId
// v5 is transactions v2).
var ownAPIs = map[int16]versionRange{
	0:  {3, 12}, // Produce
	1:  {4, 12}, // Fetch
	2:  {1, 6},  // ListOffsets
	3:  {0, 12}, // Metadata
	18: {0, 4},  // ApiVersions
	19: {0, 7},  // CreateTopics
	20: {0, 6},  // DeleteTopics
	21: {0, 2},  // DeleteRecords
	22: {0, 4},  // InitProducerId
	23: {0, 4},  // OffsetForLeaderEpoch
	32: {0, 4},  // DescribeConfigs
	33: {0, 2},  // AlterConfigs
	37: {0, 3},  // CreatePartitions
	44: {0, 1},  // IncrementalAlterConfigs
	60: {0, 2},  // DescribeCluster
}

func newAPITable(g Groups) apiTable {
	t := apiTable{}
	for k, v := range ownAPIs {
		t[k] = v
	}
	if g != nil {
		for _, k := range g.Versions() {
			if _, own := ownAPIs[k.ApiKey]; own || k.ApiKey == findCoordinatorKey {
				continue // answered here, never by Groups
			}
			t[k.ApiKey] = versionRange{k.MinVersion, k.MaxVersion}
		}
		// FindCoordinator is answered here (this node coordinates every
		// group), but only beside a coordinator.
		t[findCoordinatorKey] = versionRange{0, 4}
	}
	return t
}

func (t apiTable) supports(key, version int16) bool {
	r, ok := t[key]
	return ok && version >= r.min && version <= r.max
}

// apiVersions answers ApiVersions: the table, sorted by key.
func (s *Server) apiVersions() *kmsg.ApiVersionsResponse {
	resp := kmsg.NewPtrApiVersionsResponse()
	for k, r := range s.apis {
		key := kmsg.NewApiVersionsResponseApiKey()
		key.ApiKey, key.MinVersion, key.MaxVersion = k, r.min, r.max
		resp.ApiKeys = append(resp.ApiKeys, key)
	}
	sort.Slice(resp.ApiKeys, func(i, j int) bool { return resp.ApiKeys[i].ApiKey < resp.ApiKeys[j].ApiKey })
	return resp
}

// unsupportedResponse answers a request of a known API at a version this
// broker does not answer: UNSUPPORTED_VERSION on every partition of the
// data APIs (named as in the request), and in the top-level error code of
// the others that have one. Responses without either go back empty.
func unsupportedResponse(req kmsg.Request, version int16) kmsg.Response {
	code := kerr.UnsupportedVersion.Code
	switch r := req.(type) {
	case *kmsg.ProduceRequest:
		resp := r.ResponseKind().(*kmsg.ProduceResponse)
		for _, t := range r.Topics {
			rt := kmsg.NewProduceResponseTopic()
			rt.Topic, rt.TopicID = t.Topic, t.TopicID
			for _, p := range t.Partitions {
				rp := kmsg.NewProduceResponseTopicPartition()
				rp.Partition, rp.ErrorCode = p.Partition, code
				rt.Partitions = append(rt.Partitions, rp)
			}
			resp.Topics = append(resp.Topics, rt)
		}
		return resp
	case *kmsg.FetchRequest:
		resp := r.ResponseKind().(*kmsg.FetchResponse)
		resp.ErrorCode = code
		for _, t := range r.Topics {
			rt := kmsg.NewFetchResponseTopic()
			rt.Topic, rt.TopicID = t.Topic, t.TopicID
			for _, p := range t.Partitions {
				rp := kmsg.NewFetchResponseTopicPartition()
				rp.Partition, rp.ErrorCode, rp.HighWatermark = p.Partition, code, -1
				rt.Partitions = append(rt.Partitions, rp)
			}
			resp.Topics = append(resp.Topics, rt)
		}
		return resp
	case *kmsg.ListOffsetsRequest:
		resp := r.ResponseKind().(*kmsg.ListOffsetsResponse)
		for _, t := range r.Topics {
			rt := kmsg.NewListOffsetsResponseTopic()
			rt.Topic = t.Topic
			for _, p := range t.Partitions {
				rp := kmsg.NewListOffsetsResponseTopicPartition()
				rp.Partition, rp.ErrorCode = p.Partition, code
				rt.Partitions = append(rt.Partitions, rp)
			}
			resp.Topics = append(resp.Topics, rt)
		}
		return resp
	case *kmsg.OffsetCommitRequest:
		// No top-level code: the partitions carry it.
		resp := r.ResponseKind().(*kmsg.OffsetCommitResponse)
		for _, t := range r.Topics {
			rt := kmsg.NewOffsetCommitResponseTopic()
			rt.Topic, rt.TopicID = t.Topic, t.TopicID
			for _, p := range t.Partitions {
				rp := kmsg.NewOffsetCommitResponseTopicPartition()
				rp.Partition, rp.ErrorCode = p.Partition, code
				rt.Partitions = append(rt.Partitions, rp)
			}
			resp.Topics = append(resp.Topics, rt)
		}
		return resp
	case *kmsg.MetadataRequest:
		resp := r.ResponseKind().(*kmsg.MetadataResponse)
		resp.ErrorCode = code
		for _, t := range r.Topics {
			rt := kmsg.NewMetadataResponseTopic()
			rt.Topic, rt.TopicID, rt.ErrorCode = t.Topic, t.TopicID, code
			resp.Topics = append(resp.Topics, rt)
		}
		return resp
	}
	resp := req.ResponseKind()
	resp.SetVersion(version)
	if f := reflect.ValueOf(resp).Elem().FieldByName("ErrorCode"); f.IsValid() && f.Kind() == reflect.Int16 && f.CanSet() {
		f.SetInt(int64(code))
	}
	return resp
}
