package protocol

import "strconv"

// APIKey names an API. Sluice uses Kafka's numbers, so a key means the same
// operation here as in Kafka; the fields of Sluice's messages are its own
// (see docs/PROTOCOL.md).
type APIKey int16

// The APIs this package implements, all at version 0.
const (
	Produce      APIKey = 0
	Fetch        APIKey = 1
	ListOffsets  APIKey = 2
	Metadata     APIKey = 3
	APIVersions  APIKey = 18 // Kafka's ApiVersions
	CreateTopics APIKey = 19
	DeleteTopics APIKey = 20
	// DeleteRecords moves partitions' log start offsets forward.
	DeleteRecords  APIKey = 21
	InitProducerID APIKey = 22
	// OffsetForLeaderEpoch finds where a leader's log ends a leader epoch.
	OffsetForLeaderEpoch APIKey = 23
	// CreatePartitions raises topics' partition counts.
	CreatePartitions APIKey = 37
	DescribeConfigs  APIKey = 32
	// AlterConfigs is incremental: each config is set or deleted on its
	// own, as in Kafka's IncrementalAlterConfigs, whose key it uses.
	// (Kafka's whole-set AlterConfigs, key 33, has no Sluice counterpart.)
	AlterConfigs APIKey = 44
	// DescribeCluster lists the cluster's brokers, fenced ones included.
	DescribeCluster APIKey = 60

	// The consumer-group APIs, with Kafka's keys.
	OffsetCommit    APIKey = 8
	OffsetFetch     APIKey = 9
	FindCoordinator APIKey = 10
	JoinGroup       APIKey = 11
	Heartbeat       APIKey = 12
	LeaveGroup      APIKey = 13
	SyncGroup       APIKey = 14
	DescribeGroups  APIKey = 15
	ListGroups      APIKey = 16
	DeleteGroups    APIKey = 42
)

var apiNames = map[APIKey]string{
	Produce:              "Produce",
	Fetch:                "Fetch",
	ListOffsets:          "ListOffsets",
	Metadata:             "Metadata",
	OffsetCommit:         "OffsetCommit",
	OffsetFetch:          "OffsetFetch",
	FindCoordinator:      "FindCoordinator",
	JoinGroup:            "JoinGroup",
	Heartbeat:            "Heartbeat",
	LeaveGroup:           "LeaveGroup",
	SyncGroup:            "SyncGroup",
	DescribeGroups:       "DescribeGroups",
	ListGroups:           "ListGroups",
	APIVersions:          "ApiVersions",
	CreateTopics:         "CreateTopics",
	DeleteTopics:         "DeleteTopics",
	DeleteRecords:        "DeleteRecords",
	InitProducerID:       "InitProducerId",
	OffsetForLeaderEpoch: "OffsetForLeaderEpoch",
	CreatePartitions:     "CreatePartitions",
	DescribeConfigs:      "DescribeConfigs",
	DeleteGroups:         "DeleteGroups",
	AlterConfigs:         "AlterConfigs",
	DescribeCluster:      "DescribeCluster",
}

// String is the API's name as Kafka's documentation spells it ("ApiVersions",
// "InitProducerId"), or "APIKey(<n>)" for a key with no name here.
func (k APIKey) String() string {
	if s, ok := apiNames[k]; ok {
		return s
	}
	return "APIKey(" + strconv.Itoa(int(k)) + ")"
}

// supportedAPIs is what an ApiVersions response lists: exactly the APIs
// NewRequest and NewResponse know, in key order.
var supportedAPIs = [...]APIVersionsResponseKey{
	{APIKey: Produce},
	{APIKey: Fetch},
	{APIKey: ListOffsets},
	{APIKey: Metadata},
	{APIKey: OffsetCommit},
	{APIKey: OffsetFetch},
	{APIKey: FindCoordinator},
	{APIKey: JoinGroup},
	{APIKey: Heartbeat},
	{APIKey: LeaveGroup},
	{APIKey: SyncGroup},
	{APIKey: DescribeGroups},
	{APIKey: ListGroups},
	{APIKey: APIVersions},
	{APIKey: CreateTopics},
	{APIKey: DeleteTopics},
	{APIKey: DeleteRecords},
	{APIKey: InitProducerID},
	{APIKey: OffsetForLeaderEpoch},
	{APIKey: DescribeConfigs},
	{APIKey: CreatePartitions},
	{APIKey: DeleteGroups},
	{APIKey: AlterConfigs},
	{APIKey: DescribeCluster},
}

// SupportedAPIs returns the APIs and version ranges this package
// implements, in key order, ready for an [APIVersionsResponse]. The slice
// is the caller's.
func SupportedAPIs() []APIVersionsResponseKey {
	s := supportedAPIs
	return s[:]
}

// Supported reports whether this package implements the API at that
// version. A server answers anything else with UNSUPPORTED_VERSION.
func Supported(key APIKey, version int16) bool {
	for _, a := range supportedAPIs {
		if a.APIKey == key {
			return version >= a.MinVersion && version <= a.MaxVersion
		}
	}
	return false
}
