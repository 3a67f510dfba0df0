package batch_test

import (
	"io"
	"testing"

	"github.com/sluicelog/sluice/segment/batch"
)

// The hot paths promise no allocation once warm. AllocsPerRun runs the
// function once before measuring, which is the warm-up.

func TestAppendDoesNotAllocate(t *testing.T) {
	recs := sampleRecords(200)
	b := batch.NewBuilder(batch.None)
	allocs := testing.AllocsPerRun(50, func() {
		b.Reset()
		for _, r := range recs {
			b.Append(r.ts, r.key, r.value, r.headers)
		}
	})
	if allocs != 0 {
		t.Fatalf("Append allocates %v times per 200 records", allocs)
	}
}

func TestBuildDoesNotAllocate(t *testing.T) {
	recs := sampleRecords(200)
	for _, codec := range allCodecs {
		if raceEnabled && codec == batch.LZ4 {
			// lz4 keeps its blocks in a sync.Pool, which drops
			// items at random under -race.
			continue
		}
		b := batch.NewBuilder(codec)
		allocs := testing.AllocsPerRun(20, func() {
			b.Reset()
			for _, r := range recs {
				b.Append(r.ts, r.key, r.value, r.headers)
			}
			if _, err := b.Build(); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("%v: Append and Build allocate %v times per batch", codec, allocs)
		}
	}
}

func TestValidateDoesNotAllocate(t *testing.T) {
	for _, codec := range allCodecs {
		b := buildBatch(t, codec, sampleRecords(100))
		allocs := testing.AllocsPerRun(100, func() {
			if _, err := batch.Validate(b); err != nil {
				t.Fatal(err)
			}
			if _, err := batch.ParseHeader(b); err != nil {
				t.Fatal(err)
			}
			if _, _, err := batch.Split(b); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("%v: Validate, ParseHeader and Split allocate %v times", codec, allocs)
		}
	}
}

func TestReaderDoesNotAllocate(t *testing.T) {
	for _, codec := range allCodecs {
		if raceEnabled && codec != batch.None {
			continue // the decoders pool internally; see TestBuildDoesNotAllocate
		}
		b := buildBatch(t, codec, sampleRecords(200))
		var r batch.Reader
		allocs := testing.AllocsPerRun(20, func() {
			if _, err := r.Reset(b); err != nil {
				t.Fatal(err)
			}
			for {
				if _, err := r.Next(); err == io.EOF {
					break
				} else if err != nil {
					t.Fatal(err)
				}
			}
		})
		// Uncompressed reading is the promise; the codecs are
		// reported so a regression in them is seen too.
		if allocs != 0 {
			t.Errorf("%v: Reset and Next over 200 records allocate %v times", codec, allocs)
		}
	}
}
