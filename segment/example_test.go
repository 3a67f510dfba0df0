package segment_test

import (
	"fmt"
	"os"

	"github.com/sluicelog/sluice/segment"
	"github.com/sluicelog/sluice/segment/batch"
)

// A segment takes batches whose offsets the caller assigned, and serves
// them back as a region of its file, ready for sendfile.
func Example() {
	dir, err := os.MkdirTemp("", "segment-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)

	s, err := segment.Create(dir, 0, segment.Options{})
	if err != nil {
		panic(err)
	}
	b := batch.NewBuilder(batch.None)
	for i := range 3 {
		b.Reset()
		b.Append(1_700_000_000_000+int64(i), nil, fmt.Appendf(nil, "hello %d", i), nil)
		data, err := b.Build()
		if err != nil {
			panic(err)
		}
		batch.SetBaseOffset(data, s.NextOffset())
		if err := s.Append(data); err != nil {
			panic(err)
		}
	}
	r, err := s.Read(1, 1<<20, -1)
	if err != nil {
		panic(err)
	}
	fmt.Println("region from offset", r.BaseOffset, "is", r.Len, "bytes")
	r.Release()
	s.Close()

	// After a crash, Recover keeps the whole batches and cuts the rest.
	s, err = segment.Open(dir, 0, segment.Options{})
	if err != nil {
		panic(err)
	}
	defer s.Close()
	rec, err := s.Recover()
	if err != nil {
		panic(err)
	}
	fmt.Println("recovered", rec.Batches, "batches; next offset", s.NextOffset())
	// Output:
	// region from offset 1 is 150 bytes
	// recovered 3 batches; next offset 3
}
