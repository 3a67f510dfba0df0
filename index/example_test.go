package index_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/sluicelog/sluice/index"
)

func ExampleOpenOffset() {
	dir, err := os.MkdirTemp("", "index")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "00000000000000001000.index")

	// The active segment maps its index preallocated to 10 MiB.
	x, err := index.OpenOffset(path, 1000, 10<<20)
	if err != nil {
		log.Fatal(err)
	}
	// One entry per few KiB of log: the batch at offset 1040 starts at
	// byte 4200, the one at 1090 at byte 8500.
	x.Append(1040, 4200)
	x.Append(1090, 8500)

	// A fetch for offset 1075 starts its header scan at byte 4200.
	fmt.Println(x.Lookup(1075))
	fmt.Println(x.Lookup(1010))

	// Rolling the segment trims the file to its two entries.
	if err := x.Close(); err != nil {
		log.Fatal(err)
	}
	fi, _ := os.Stat(path)
	fmt.Println(fi.Size(), "bytes")
	// Output:
	// {1040 4200}
	// {1000 0}
	// 16 bytes
}

func ExampleOpenTime() {
	dir, err := os.MkdirTemp("", "index")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "00000000000000001000.timeindex")

	x, err := index.OpenTime(path, 1000, 12<<20)
	if err != nil {
		log.Fatal(err)
	}
	// The segment's largest timestamp reached 1700000000500 at offset 1040,
	// then 1700000009000 at offset 1090.
	x.Append(1700000000500, 1040)
	x.Append(1700000009000, 1090)
	fmt.Println(x.Lookup(1700000005000))
	x.Close()

	// Retention reads the last entry of an old segment without mapping it.
	last, ok, err := index.ReadLastTime(path, 1000)
	fmt.Println(last, ok, err)
	// Output:
	// {1700000000500 1040}
	// {1700000009000 1090} true <nil>
}
