package protocol

// Sample messages with non-trivial values: negative numbers, nulls beside
// empties, several elements per array. Every non-nullable array here is
// either nil or non-empty, so that each sample decodes back to itself.

func sampleRequests() []Request {
	return []Request{
		&APIVersionsRequest{},
		&MetadataRequest{Topics: []string{"orders", "", "payments.v2"}, AllowAutoTopicCreation: true},
		&MetadataRequest{Topics: nil},        // every topic
		&MetadataRequest{Topics: []string{}}, // no topic
		&CreateTopicsRequest{
			Topics: []CreateTopicsRequestTopic{
				{Name: "orders", NumPartitions: 12, ReplicationFactor: 3, Configs: []CreateTopicsRequestConfig{
					{Name: "retention.ms", Value: new("86400000")},
					{Name: "cleanup.policy", Value: nil},
					{Name: "segment.bytes", Value: new("")},
				}},
				{Name: "defaults", NumPartitions: -1, ReplicationFactor: -1},
			},
			TimeoutMs:    30000,
			ValidateOnly: true,
		},
		&DeleteTopicsRequest{Names: []string{"a", "b-c"}, TimeoutMs: -1},
		&DeleteTopicsRequest{},
		&DeleteRecordsRequest{Topics: []DeleteRecordsRequestTopic{
			{Name: "orders", Partitions: []DeleteRecordsRequestPartition{{Partition: 0, Offset: 42}, {Partition: 3, Offset: -1}}},
			{Name: "x"},
		}, TimeoutMs: 30000},
		&DeleteRecordsRequest{},
		&CreatePartitionsRequest{Topics: []CreatePartitionsRequestTopic{{Name: "orders", Count: 12}, {Name: "x", Count: -1}}, TimeoutMs: 30000, ValidateOnly: true},
		&CreatePartitionsRequest{},
		&DescribeConfigsRequest{Resources: []DescribeConfigsRequestResource{
			{ResourceType: ResourceTopic, ResourceName: "orders", ConfigNames: nil},
			{ResourceType: ResourceTopic, ResourceName: "payments", ConfigNames: []string{}},
			{ResourceType: ResourceBroker, ResourceName: "1", ConfigNames: []string{"log.retention.ms", "num.partitions"}},
		}},
		&AlterConfigsRequest{
			Resources: []AlterConfigsRequestResource{
				{ResourceType: ResourceTopic, ResourceName: "orders", Configs: []AlterConfigsRequestConfig{
					{Name: "retention.ms", Op: AlterConfigSet, Value: new("1000")},
					{Name: "segment.ms", Op: AlterConfigDelete, Value: nil},
				}},
				{ResourceType: ResourceBroker, ResourceName: "0"},
			},
			ValidateOnly: true,
		},
		&ProduceRequest{Acks: AcksAll, TimeoutMs: 1500, Topics: []ProduceRequestTopic{
			{Name: "orders", Partitions: []ProduceRequestPartition{
				{Partition: 0, Records: []byte{0, 0, 0, 0, 0, 0, 0, 7, 1, 2, 3}},
				{Partition: 5, Records: nil},
				{Partition: -1, Records: []byte{}},
			}},
			{Name: "payments", Partitions: []ProduceRequestPartition{{Partition: 2, Records: []byte("x")}}},
		}},
		&FetchRequest{MaxWaitMs: 500, MinBytes: 1, MaxBytes: 52428800, IsolationLevel: ReadCommitted, Topics: []FetchRequestTopic{
			{Name: "orders", Partitions: []FetchRequestPartition{
				{Partition: 0, FetchOffset: 1 << 40, PartitionMaxBytes: 1 << 20},
				{Partition: 1, FetchOffset: -1, PartitionMaxBytes: 0},
			}},
			{Name: "empty"},
		}},
		&ListOffsetsRequest{IsolationLevel: ReadUncommitted, Topics: []ListOffsetsRequestTopic{
			{Name: "orders", Partitions: []ListOffsetsRequestPartition{
				{Partition: 0, Timestamp: LatestTimestamp},
				{Partition: 1, Timestamp: EarliestTimestamp},
				{Partition: 2, Timestamp: 1700000000000},
			}},
		}},
		&InitProducerIDRequest{TransactionalID: nil, TransactionTimeoutMs: 60000, ProducerID: -1, ProducerEpoch: -1},
		&InitProducerIDRequest{TransactionalID: new("txn-1"), TransactionTimeoutMs: 1, ProducerID: 42, ProducerEpoch: 3},
		&OffsetForLeaderEpochRequest{ReplicaID: -1, Topics: []OffsetForLeaderEpochRequestTopic{
			{Name: "orders", Partitions: []OffsetForLeaderEpochRequestPartition{
				{Partition: 0, CurrentLeaderEpoch: 7, LeaderEpoch: 5},
				{Partition: 3, CurrentLeaderEpoch: -1, LeaderEpoch: 1 << 30},
			}},
			{Name: "empty"},
		}},
		&OffsetForLeaderEpochRequest{ReplicaID: 2},
		&DescribeClusterRequest{},
		&FindCoordinatorRequest{CoordinatorKey: "billing", KeyType: CoordinatorKeyGroup},
		&JoinGroupRequest{GroupID: "billing", SessionTimeoutMs: 45000, RebalanceTimeoutMs: 300000, MemberID: "",
			GroupInstanceID: new("host-1"), ProtocolType: ConsumerProtocolType, ClientID: "app",
			Protocols: []JoinGroupRequestProtocol{{Name: "cooperative-sticky", Metadata: []byte{0, 0}}, {Name: "range", Metadata: []byte{}}}},
		&SyncGroupRequest{GroupID: "billing", GenerationID: 3, MemberID: "app-1", Assignments: []SyncGroupRequestAssignment{
			{MemberID: "app-1", Assignment: []byte{1, 2}}, {MemberID: "app-2", Assignment: nil}}},
		&HeartbeatRequest{GroupID: "billing", GenerationID: 3, MemberID: "app-1", GroupInstanceID: new("host-1")},
		&LeaveGroupRequest{GroupID: "billing", Members: []LeaveGroupRequestMember{{MemberID: "app-1"}, {GroupInstanceID: new("host-2")}}},
		&OffsetCommitRequest{GroupID: "billing", GenerationID: -1, Topics: []OffsetCommitRequestTopic{
			{Name: "orders", Partitions: []OffsetCommitRequestPartition{{Partition: 0, Offset: 42, LeaderEpoch: -1, Metadata: new("m")}, {Partition: 1, Offset: 7, LeaderEpoch: 2}}},
		}},
		&OffsetFetchRequest{GroupID: "billing", Topics: []OffsetFetchRequestTopic{{Name: "orders", Partitions: []int32{0, 1}}}},
		&OffsetFetchRequest{GroupID: "billing", Topics: nil},
		&OffsetFetchRequest{GroupID: "billing", Topics: []OffsetFetchRequestTopic{}},
		&ListGroupsRequest{},
		&DescribeGroupsRequest{Groups: []string{"billing", "audit"}},
		&DeleteGroupsRequest{Groups: []string{"old"}},
	}
}

func sampleResponses() []Response {
	return []Response{
		&APIVersionsResponse{APIKeys: SupportedAPIs()},
		&APIVersionsResponse{ErrorCode: ErrUnsupportedVersion, APIKeys: []APIVersionsResponseKey{{APIKey: Produce, MinVersion: 0, MaxVersion: 9}}},
		&MetadataResponse{
			Brokers: []MetadataResponseBroker{
				{NodeID: 0, Host: "localhost", Port: 9092},
				{NodeID: 7, Host: "", Port: -1},
			},
			ControllerID: 7,
			Topics: []MetadataResponseTopic{
				{Name: "orders", TopicID: [16]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}, Partitions: []MetadataResponsePartition{
					{Partition: 0, Leader: 0, LeaderEpoch: 4, Replicas: []int32{0, 7}, ISR: []int32{0}},
					{ErrorCode: ErrLeaderNotAvailable, Partition: 1, Leader: -1, LeaderEpoch: -1},
				}},
				{ErrorCode: ErrUnknownTopicOrPartition, Name: "missing"},
			},
		},
		&CreateTopicsResponse{Topics: []CreateTopicsResponseTopic{
			{Name: "orders", NumPartitions: 12, ReplicationFactor: 1},
			{Name: "bad name", ErrorCode: ErrInvalidTopic, ErrorMessage: new("illegal character ' '"), NumPartitions: -1, ReplicationFactor: -1},
			{Name: "dup", ErrorCode: ErrTopicAlreadyExists, ErrorMessage: new("")},
		}},
		&CreatePartitionsResponse{Topics: []CreatePartitionsResponseTopic{
			{Name: "orders"},
			{Name: "x", ErrorCode: ErrInvalidPartitions, ErrorMessage: new("topic x has 3 partitions, asked for 2")},
		}},
		&CreatePartitionsResponse{ErrorCode: ErrInvalidRequest},
		&DeleteRecordsResponse{Topics: []DeleteRecordsResponseTopic{
			{Name: "orders", Partitions: []DeleteRecordsResponsePartition{
				{Partition: 0, LowWatermark: 42},
				{Partition: 3, LowWatermark: -1, ErrorCode: ErrOffsetOutOfRange, ErrorMessage: new("offset 99 past the high watermark 50")},
			}},
			{Name: "missing", Partitions: []DeleteRecordsResponsePartition{{Partition: 0, LowWatermark: -1, ErrorCode: ErrUnknownTopicOrPartition, ErrorMessage: new("")}}},
		}},
		&DeleteRecordsResponse{ErrorCode: ErrInvalidRequest},
		&DeleteTopicsResponse{ErrorCode: ErrTopicDeletionDisabled, Topics: []DeleteTopicsResponseTopic{
			{Name: "a", ErrorCode: ErrTopicDeletionDisabled, ErrorMessage: new("delete.topic.enable is false")},
			{Name: "b"},
		}},
		&DescribeConfigsResponse{Results: []DescribeConfigsResponseResult{
			{ResourceType: ResourceTopic, ResourceName: "orders", Configs: []DescribeConfigsResponseConfig{
				{Name: "retention.ms", Value: new("86400000"), Source: ConfigSourceDynamicTopic, Documentation: new("How long to keep a segment.")},
				{Name: "segment.bytes", Value: new("1073741824"), IsDefault: true, Source: ConfigSourceDefault},
				{Name: "secret", Value: nil, ReadOnly: true, Source: ConfigSourceStaticBroker, Sensitive: true, Documentation: new("")},
			}},
			{ErrorCode: ErrUnknownTopicOrPartition, ErrorMessage: new("no topic missing"), ResourceType: ResourceTopic, ResourceName: "missing"},
		}},
		&AlterConfigsResponse{Results: []AlterConfigsResponseResult{
			{ResourceType: ResourceTopic, ResourceName: "orders"},
			{ErrorCode: ErrInvalidConfig, ErrorMessage: new("retention.ms: not a number"), ResourceType: ResourceBroker, ResourceName: "0"},
		}},
		&ProduceResponse{ThrottleTimeMs: 10, Topics: []ProduceResponseTopic{
			{Name: "orders", Partitions: []ProduceResponsePartition{
				{Partition: 0, BaseOffset: 1 << 33, LogAppendTimeMs: -1, LogStartOffset: 17},
				{Partition: 5, ErrorCode: ErrCorruptMessage, ErrorMessage: new("CRC mismatch"), BaseOffset: -1, LogAppendTimeMs: -1, LogStartOffset: -1},
			}},
		}},
		&FetchResponse{ThrottleTimeMs: 0, Topics: []FetchResponseTopic{
			{Name: "orders", Partitions: []FetchResponsePartition{
				{Partition: 0, HighWatermark: 100, LastStableOffset: 100, LogStartOffset: 3, Records: []byte{9, 8, 7, 6, 5}},
				{Partition: 1, ErrorCode: ErrOffsetOutOfRange, HighWatermark: -1, LastStableOffset: -1, LogStartOffset: -1, Records: nil},
				{Partition: 2, HighWatermark: 5, LastStableOffset: 5, Records: []byte{}},
			}},
			{Name: "idle"},
		}},
		&ListOffsetsResponse{Topics: []ListOffsetsResponseTopic{
			{Name: "orders", Partitions: []ListOffsetsResponsePartition{
				{Partition: 0, Timestamp: -1, Offset: 100},
				{Partition: 1, ErrorCode: ErrUnknownTopicOrPartition, Timestamp: -1, Offset: -1},
			}},
		}},
		&OffsetForLeaderEpochResponse{Topics: []OffsetForLeaderEpochResponseTopic{
			{Name: "orders", Partitions: []OffsetForLeaderEpochResponsePartition{
				{Partition: 0, LeaderEpoch: 4, EndOffset: 1 << 40},
				{Partition: 3, LeaderEpoch: -1, EndOffset: -1},
				{Partition: 4, ErrorCode: ErrFencedLeaderEpoch, LeaderEpoch: -1, EndOffset: -1},
			}},
		}},
		&OffsetForLeaderEpochResponse{ErrorCode: ErrUnsupportedVersion},
		&InitProducerIDResponse{ThrottleTimeMs: 1, ProducerID: 1 << 50, ProducerEpoch: 2},
		&InitProducerIDResponse{ErrorCode: ErrCoordinatorNotAvailable, ProducerID: -1, ProducerEpoch: -1},
		&DescribeClusterResponse{ClusterID: "q1Bj8Xw9RkWzLZ1Yc2n3dA", ControllerID: 2, Brokers: []DescribeClusterBroker{
			{NodeID: 1, Host: "127.0.0.1", Port: 9192}, {NodeID: 2, Host: "127.0.0.1", Port: 9193, Fenced: true}, {NodeID: 3}}},
		&DescribeClusterResponse{ErrorCode: ErrCoordinatorNotAvailable, ControllerID: -1},
		&FindCoordinatorResponse{NodeID: 0, Host: "127.0.0.1", Port: 9192},
		&FindCoordinatorResponse{ErrorCode: ErrCoordinatorNotAvailable, ErrorMessage: new("starting"), NodeID: -1},
		&JoinGroupResponse{GenerationID: 4, ProtocolType: ConsumerProtocolType, ProtocolName: "range", Leader: "app-1", MemberID: "app-1",
			Members: []JoinGroupResponseMember{{MemberID: "app-1", Metadata: []byte{0, 0}}, {MemberID: "app-2", GroupInstanceID: new("h2"), Metadata: []byte{}}}},
		&JoinGroupResponse{ErrorCode: ErrMemberIDRequired, ErrorMessage: new("rejoin"), GenerationID: -1, MemberID: "app-9"},
		&SyncGroupResponse{Assignment: []byte{0, 0, 0, 0, 0, 0}},
		&SyncGroupResponse{ErrorCode: ErrRebalanceInProgress},
		&HeartbeatResponse{ErrorCode: ErrIllegalGeneration, ErrorMessage: new("generation 3, group at 4")},
		&LeaveGroupResponse{Members: []LeaveGroupResponseMember{{MemberID: "app-1"}, {GroupInstanceID: new("h2"), ErrorCode: ErrUnknownMemberID}}},
		&OffsetCommitResponse{Topics: []OffsetCommitResponseTopic{{Name: "orders", Partitions: []OffsetCommitResponsePartition{{Partition: 0}, {Partition: 9, ErrorCode: ErrUnknownTopicOrPartition}}}}},
		&OffsetCommitResponse{ErrorCode: ErrIllegalGeneration, ErrorMessage: new("stale")},
		&OffsetFetchResponse{Topics: []OffsetFetchResponseTopic{{Name: "orders", Partitions: []OffsetFetchResponsePartition{
			{Partition: 0, Offset: 42, LeaderEpoch: -1, Metadata: new(""), CommitTimestamp: 1700000000000},
			{Partition: 1, Offset: -1, LeaderEpoch: -1, CommitTimestamp: -1}}}}},
		&ListGroupsResponse{Groups: []ListGroupsResponseGroup{{GroupID: "billing", ProtocolType: "consumer", State: "Stable"}, {GroupID: "old", State: "Empty"}}},
		&DescribeGroupsResponse{Groups: []DescribeGroupsResponseGroup{
			{GroupID: "billing", State: "Stable", ProtocolType: "consumer", Protocol: "range", GenerationID: 4, Leader: "app-1", Members: []DescribeGroupsResponseMember{
				{MemberID: "app-1", ClientID: "app", ClientHost: "/127.0.0.1", Metadata: []byte{0}, Assignment: []byte{1}},
				{MemberID: "app-2", GroupInstanceID: new("h2"), Metadata: nil, Assignment: []byte{}}}},
			{ErrorCode: ErrInvalidGroupID, GroupID: "", State: "Dead"}}},
		&DeleteGroupsResponse{Results: []DeleteGroupsResponseResult{{GroupID: "old"}, {GroupID: "busy", ErrorCode: ErrNonEmptyGroup}}},
	}
}
