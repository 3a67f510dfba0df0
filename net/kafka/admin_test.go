package kafka_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicelog/sluice/net/broker"
)

// TestAdminTopics drives the topic admin APIs through kadm: create (and
// its errors), metadata, create partitions, delete.
func TestAdminTopics(t *testing.T) {
	_, addr := startBroker(t, nil)
	cl := newClient(t, addr)
	adm := kadm.NewClient(cl)
	c := ctx(t)

	resp, err := adm.CreateTopics(c, 4, 1, nil, "orders", "events")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range resp.Sorted() {
		if r.Err != nil || r.NumPartitions != 4 || r.ID == [16]byte{} {
			t.Fatalf("create %s: %+v", r.Topic, r)
		}
	}
	checks := []struct {
		name       string
		partitions int32
		rf         int16
		topic      string
		want       *kerr.Error
	}{
		{"exists", 1, 1, "orders", kerr.TopicAlreadyExists},
		{"bad name", 1, 1, "bad/name", kerr.InvalidTopicException},
		{"replication", 1, 3, "replicated", kerr.InvalidReplicationFactor},
		{"no partitions", 0, 1, "empty", kerr.InvalidPartitions},
	}
	for _, ch := range checks {
		r, err := adm.CreateTopic(c, ch.partitions, ch.rf, nil, ch.topic)
		if err == nil {
			err = r.Err
		}
		if !errors.Is(err, ch.want) {
			t.Errorf("%s: %v, want %s", ch.name, err, ch.want.Message)
		}
	}

	md, err := adm.Metadata(c)
	if err != nil {
		t.Fatal(err)
	}
	if len(md.Brokers) != 1 || md.Brokers[0].NodeID != 0 || md.Controller != 0 || md.Cluster == "" {
		t.Fatalf("metadata brokers %+v controller %d cluster %q", md.Brokers, md.Controller, md.Cluster)
	}
	orders := md.Topics["orders"]
	if len(orders.Partitions) != 4 || len(md.Topics) != 2 {
		t.Fatalf("metadata topics %+v", md.Topics)
	}
	for _, p := range orders.Partitions {
		if p.Leader != 0 || len(p.Replicas) != 1 || len(p.ISR) != 1 || p.Err != nil {
			t.Fatalf("partition %+v", p)
		}
	}

	cp, err := adm.UpdatePartitions(c, 6, "orders")
	if err != nil || cp["orders"].Err != nil {
		t.Fatalf("update partitions: %v %+v", err, cp)
	}
	cp, err = adm.UpdatePartitions(c, 2, "orders")
	if err != nil || !errors.Is(cp["orders"].Err, kerr.InvalidPartitions) {
		t.Fatalf("shrinking partitions: %v %+v", err, cp)
	}
	md, err = adm.Metadata(c, "orders")
	if err != nil || len(md.Topics["orders"].Partitions) != 6 {
		t.Fatalf("after create partitions: %v %+v", err, md.Topics)
	}

	dr, err := adm.DeleteTopics(c, "events", "missing")
	if err != nil {
		t.Fatal(err)
	}
	if dr["events"].Err != nil || !errors.Is(dr["missing"].Err, kerr.UnknownTopicOrPartition) {
		t.Fatalf("delete: %+v", dr)
	}
	// A direct Metadata request: kadm's answers come from kgo's cache.
	mresp, err := kmsg.NewPtrMetadataRequest().RequestWith(c, cl)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, mt := range mresp.Topics {
		names = append(names, *mt.Topic)
	}
	if len(names) != 1 || names[0] != "orders" {
		t.Fatalf("topics after delete: %v", names)
	}
}

// TestDeleteTopicDisabled: delete.topic.enable=false answers
// TOPIC_DELETION_DISABLED.
func TestDeleteTopicDisabled(t *testing.T) {
	_, addr := startBroker(t, func(c *broker.Config) { c.DeleteTopicEnable = false })
	adm := newAdmin(t, addr)
	createTopic(t, adm, "keep", 1, nil)
	dr, err := adm.DeleteTopics(ctx(t), "keep")
	if err != nil || !errors.Is(dr["keep"].Err, kerr.TopicDeletionDisabled) {
		t.Fatalf("delete: %v %+v", err, dr)
	}
}

// TestAdminConfigs describes and alters topic configs, incrementally and
// with the legacy whole-set AlterConfigs, and describes the broker's.
func TestAdminConfigs(t *testing.T) {
	_, addr := startBroker(t, nil)
	adm := newAdmin(t, addr)
	c := ctx(t)
	ret := "3600000"
	createTopic(t, adm, "cfg", 1, map[string]*string{"retention.ms": &ret})

	value := func(key string) (string, bool) {
		t.Helper()
		rc, err := adm.DescribeTopicConfigs(c, "cfg")
		if err != nil {
			t.Fatal(err)
		}
		r, err := rc.On("cfg", nil)
		if err != nil || r.Err != nil {
			t.Fatalf("describe: %v %v", err, r.Err)
		}
		for _, cf := range r.Configs {
			if cf.Key == key {
				return *cf.Value, cf.Source == 1 // DYNAMIC_TOPIC_CONFIG
			}
		}
		t.Fatalf("no config %s", key)
		return "", false
	}
	if v, override := value("retention.ms"); v != ret || !override {
		t.Fatalf("retention.ms %s override %v", v, override)
	}
	if v, override := value("segment.bytes"); v != "1073741824" || override {
		t.Fatalf("segment.bytes %s override %v", v, override)
	}

	seg := "1048576"
	ar, err := adm.AlterTopicConfigs(c, []kadm.AlterConfig{
		{Op: kadm.SetConfig, Name: "segment.bytes", Value: &seg},
		{Op: kadm.DeleteConfig, Name: "retention.ms"},
	}, "cfg")
	if err != nil || ar[0].Err != nil {
		t.Fatalf("incremental alter: %v %+v", err, ar)
	}
	if v, override := value("segment.bytes"); v != seg || !override {
		t.Fatalf("segment.bytes %s override %v", v, override)
	}
	if v, override := value("retention.ms"); v == ret || override {
		t.Fatalf("retention.ms %s override %v after delete", v, override)
	}
	bad := "-5"
	ar, err = adm.AlterTopicConfigs(c, []kadm.AlterConfig{{Op: kadm.SetConfig, Name: "segment.bytes", Value: &bad}}, "cfg")
	if err != nil || !errors.Is(ar[0].Err, kerr.InvalidConfig) {
		t.Fatalf("invalid value: %v %+v", err, ar)
	}

	// Legacy AlterConfigs replaces the whole set of overrides.
	fm := "5"
	ar, err = adm.AlterTopicConfigsState(c, []kadm.AlterConfig{{Name: "flush.messages", Value: &fm}}, "cfg")
	if err != nil || ar[0].Err != nil {
		t.Fatalf("alter state: %v %+v", err, ar)
	}
	if v, override := value("flush.messages"); v != fm || !override {
		t.Fatalf("flush.messages %s override %v", v, override)
	}
	if v, override := value("segment.bytes"); v == seg || override {
		t.Fatalf("segment.bytes %s override %v survived a whole-set alter", v, override)
	}

	bc, err := adm.DescribeBrokerConfigs(c, 0)
	if err != nil {
		t.Fatal(err)
	}
	r, err := bc.On("0", nil)
	if err != nil || r.Err != nil || len(r.Configs) == 0 {
		t.Fatalf("broker configs: %v %+v", err, r)
	}
}

// TestListOffsets lists start, end and by-time offsets with kadm.
func TestListOffsets(t *testing.T) {
	_, addr := startBroker(t, nil)
	adm := newAdmin(t, addr)
	createTopic(t, adm, "lo", 1, nil)
	cl := newClient(t, addr, kgo.DefaultProduceTopic("lo"))
	base := time.Now().Add(-time.Hour).Truncate(time.Millisecond)
	for i := 0; i < 10; i++ {
		r := &kgo.Record{Value: []byte("v"), Timestamp: base.Add(time.Duration(i) * time.Minute)}
		if err := cl.ProduceSync(ctx(t), r).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	c := ctx(t)
	check := func(what string, lo kadm.ListedOffsets, err error, want int64) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		o, ok := lo.Lookup("lo", 0)
		if !ok || o.Err != nil || o.Offset != want {
			t.Fatalf("%s: %+v, want offset %d", what, o, want)
		}
	}
	start, err := adm.ListStartOffsets(c, "lo")
	check("start", start, err, 0)
	end, err := adm.ListEndOffsets(c, "lo")
	check("end", end, err, 10)
	after, err := adm.ListOffsetsAfterMilli(c, base.Add(4*time.Minute-time.Second).UnixMilli(), "lo")
	check("after 4 minutes", after, err, 4)
	if o, _ := after.Lookup("lo", 0); o.Timestamp != base.Add(4*time.Minute).UnixMilli() {
		t.Fatalf("timestamp of offset 4: %d, want %d", o.Timestamp, base.Add(4*time.Minute).UnixMilli())
	}
	late, err := adm.ListOffsetsAfterMilli(c, time.Now().Add(time.Hour).UnixMilli(), "lo")
	if o, _ := late.Lookup("lo", 0); err != nil || o.Err != nil || o.Offset != 10 && o.Offset != -1 {
		t.Fatalf("after every record: %v %+v", err, o)
	}
}

// TestClusterIDSurvivesRestart: the cluster id lives in the data directory.
func TestClusterIDSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	clusterID := func() string {
		cfg := broker.DefaultConfig()
		cfg.Listen, cfg.KafkaListen, cfg.DataDir = "127.0.0.1:0", "127.0.0.1:0", dir
		b, err := broker.Start(cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer func() {
			c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := b.Close(c); err != nil {
				t.Fatal(err)
			}
		}()
		cl, err := kgo.NewClient(kgo.SeedBrokers(b.KafkaAddr().String()))
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		md, err := kadm.NewClient(cl).Metadata(ctx(t))
		if err != nil {
			t.Fatal(err)
		}
		return md.Cluster
	}
	first, second := clusterID(), clusterID()
	if first == "" || first != second {
		t.Fatalf("cluster id %q, then %q after a restart", first, second)
	}
}
