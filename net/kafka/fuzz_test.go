package kafka

import (
	"io"
	"net"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicelog/sluice/engine"
	"github.com/sluicelog/sluice/net/request"
	"github.com/sluicelog/sluice/segment/batch"
)

// fuzzSeeds are well-formed request frames (without the size) of every API
// answered, at their lowest and highest versions.
func fuzzSeeds(t testing.TB) [][]byte {
	b := batch.NewBuilder(batch.None)
	b.Append(1, []byte("k"), []byte("v"), nil)
	recs, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	topic := "fuzz"
	reqs := []kmsg.Request{
		kmsg.NewPtrApiVersionsRequest(),
		func() kmsg.Request {
			r := kmsg.NewPtrMetadataRequest()
			r.Topics = []kmsg.MetadataRequestTopic{{Topic: &topic}}
			return r
		}(),
		func() kmsg.Request {
			r := kmsg.NewPtrProduceRequest()
			r.Acks = 1
			r.Topics = []kmsg.ProduceRequestTopic{{Topic: topic, Partitions: []kmsg.ProduceRequestTopicPartition{{Records: recs}}}}
			return r
		}(),
		func() kmsg.Request {
			r := kmsg.NewPtrFetchRequest()
			r.Topics = []kmsg.FetchRequestTopic{{Topic: topic, Partitions: []kmsg.FetchRequestTopicPartition{{PartitionMaxBytes: 1 << 20}}}}
			return r
		}(),
		func() kmsg.Request {
			r := kmsg.NewPtrListOffsetsRequest()
			r.Topics = []kmsg.ListOffsetsRequestTopic{{Topic: topic, Partitions: []kmsg.ListOffsetsRequestTopicPartition{{Timestamp: -1}}}}
			return r
		}(),
		func() kmsg.Request {
			r := kmsg.NewPtrCreateTopicsRequest()
			r.Topics = []kmsg.CreateTopicsRequestTopic{{Topic: "made", NumPartitions: 2, ReplicationFactor: 1}}
			return r
		}(),
		func() kmsg.Request {
			r := kmsg.NewPtrDeleteTopicsRequest()
			r.TopicNames = []string{"made"}
			r.Topics = []kmsg.DeleteTopicsRequestTopic{{Topic: &topic}}
			return r
		}(),
		func() kmsg.Request {
			r := kmsg.NewPtrCreatePartitionsRequest()
			r.Topics = []kmsg.CreatePartitionsRequestTopic{{Topic: topic, Count: 3}}
			return r
		}(),
		func() kmsg.Request {
			r := kmsg.NewPtrDescribeConfigsRequest()
			r.Resources = []kmsg.DescribeConfigsRequestResource{{ResourceType: kmsg.ConfigResourceType(2), ResourceName: topic}}
			return r
		}(),
		func() kmsg.Request {
			r := kmsg.NewPtrAlterConfigsRequest()
			v := "1000"
			r.Resources = []kmsg.AlterConfigsRequestResource{{ResourceType: kmsg.ConfigResourceType(2), ResourceName: topic,
				Configs: []kmsg.AlterConfigsRequestResourceConfig{{Name: "retention.ms", Value: &v}}}}
			return r
		}(),
		func() kmsg.Request {
			r := kmsg.NewPtrIncrementalAlterConfigsRequest()
			r.Resources = []kmsg.IncrementalAlterConfigsRequestResource{{ResourceType: kmsg.ConfigResourceType(2), ResourceName: topic,
				Configs: []kmsg.IncrementalAlterConfigsRequestResourceConfig{{Name: "retention.ms", Op: 1}}}}
			return r
		}(),
		kmsg.NewPtrInitProducerIDRequest(),
		kmsg.NewPtrFindCoordinatorRequest(),
	}
	var seeds [][]byte
	f := kmsg.NewRequestFormatter(kmsg.FormatterClientID("fuzz"))
	for _, r := range reqs {
		vr, ok := ownAPIs[r.Key()]
		if !ok {
			vr = versionRange{0, r.MaxVersion()}
		}
		for _, v := range []int16{vr.min, vr.max} {
			r.SetVersion(v)
			seeds = append(seeds, f.AppendRequest(nil, r, 1)[4:])
		}
	}
	return seeds
}

// FuzzRequest feeds arbitrary bytes to the request path: header parsing,
// decoding and, for whatever decodes, the handlers over a real engine. No
// input may panic; a bad request may only close its connection.
func FuzzRequest(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	f.Add([]byte{})
	f.Add([]byte{0, 18, 0x7f, 0, 0, 0, 0, 1, 0, 0})
	eng, err := engine.Open(f.TempDir(), engine.Options{MaxPartitions: 4, RetentionCheckInterval: -1})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { eng.Close() })
	local, err := request.NewLocal(eng, request.LocalConfig{})
	if err != nil {
		f.Fatal(err)
	}
	local.Advertise(request.ListenerKafka, "127.0.0.1", 9092)
	s := New(eng, Config{Handler: request.New(eng, local, request.Config{AutoCreateTopics: true, DeleteTopicEnable: true})})
	f.Fuzz(func(t *testing.T, frame []byte) {
		r, err := s.decodeRequest(append([]byte(nil), frame...))
		if err != nil {
			return
		}
		if fr, ok := r.msg.(*kmsg.FetchRequest); ok {
			fr.MaxWaitMillis = 0 // no long polls in a fuzz run
		}
		client, server := net.Pipe()
		go io.Copy(io.Discard, client)
		c := newConn(s, server)
		_, _ = c.handle(r)
		c.writer.Close()
		c.cancel()
		server.Close()
		client.Close()
		// Topics the inputs created pile up over a long run: start afresh.
		if names := eng.Topics(); len(names) > 16 {
			for _, n := range names {
				eng.DeleteTopic(n)
			}
		}
	})
}
