package fsys_test

import (
	"errors"
	"fmt"
	"os"
	"syscall"

	"github.com/sluicelog/sluice/segment"
	"github.com/sluicelog/sluice/segment/batch"
	"github.com/sluicelog/sluice/segment/fsys"
)

// A segment on a Faulty file system: the disk fills up under an append,
// which fails and leaves the segment as it was; once there is room again,
// appends carry on.
func ExampleFaulty() {
	dir, err := os.MkdirTemp("", "fsys-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)

	fs := fsys.NewFaulty(nil)
	s, err := segment.Create(dir, 0, segment.Options{FS: fs})
	if err != nil {
		panic(err)
	}
	defer s.Close()
	b := batch.NewBuilder(batch.None)
	b.Append(1_700_000_000_000, nil, []byte("hello"), nil)
	data, err := b.Build()
	if err != nil {
		panic(err)
	}

	fs.Inject(fsys.Fault{Ops: fsys.OpWrite, Err: syscall.ENOSPC, Path: fsys.PathSuffix(".log"), Short: 20})
	err = s.Append(data)
	fmt.Println("full disk:", errors.Is(err, syscall.ENOSPC), "size", s.Size(), "next", s.NextOffset())

	fs.Clear()
	err = s.Append(data)
	fmt.Println("room again:", err, "next", s.NextOffset())
	// Output:
	// full disk: true size 0 next 0
	// room again: <nil> next 1
}
