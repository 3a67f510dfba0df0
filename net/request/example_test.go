package request_test

import (
	"context"
	"fmt"
	"os"

	"github.com/sluicelog/sluice/engine"
	"github.com/sluicelog/sluice/net/request"
	"github.com/sluicelog/sluice/segment/batch"
)

// The request layer without a listener: a single node's cluster (Local)
// and the handlers over its engine, as both listeners use them.
func Example() {
	dir, _ := os.MkdirTemp("", "sluice-request")
	defer os.RemoveAll(dir)
	eng, err := engine.Open(dir, engine.Options{})
	if err != nil {
		panic(err)
	}
	defer eng.Close()
	local, err := request.NewLocal(eng, request.LocalConfig{NodeID: 1})
	if err != nil {
		panic(err)
	}
	h := request.New(eng, local, request.Config{AutoCreateTopics: true})

	b := batch.NewBuilder(batch.None)
	b.Append(0, nil, []byte("hello"), nil)
	records, _ := b.Build()
	var p request.Produce // a connection's, reused from request to request
	p.Reset(1, false)
	p.Add("greetings", 0, records)
	h.Produce(context.Background(), &p)
	fmt.Println(p.Partitions[0].BaseOffset, request.CodeOf(p.Partitions[0].Err))

	res := h.CreateTopics(context.Background(), []request.NewTopic{{Name: "wide", Partitions: 1, ReplicationFactor: 3}})
	fmt.Println(request.CodeOf(res[0].Err), res[0].Err)
	// Output:
	// 0 NONE
	// INVALID_REPLICATION_FACTOR replication factor 3 is larger than the 1 available broker
}
