package metricsbench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluicelog/sluice/bench/hostinfo"
	"github.com/sluicelog/sluice/bench/sluicedproc"
	"github.com/sluicelog/sluice/net/client"
)

// Phase is one timed phase of a round, against one of its brokers.
type Phase struct {
	Name    string `json:"name"`
	Slot    int    `json:"slot"` // 1 to 4, in the round's order
	Mode    string `json:"mode"` // the broker's: Off or On
	Topic   string `json:"topic"`
	Records int64  `json:"records"`
	// Bytes is the payload (values), MBps it in 10^6 bytes per second.
	Bytes         int64   `json:"payload_bytes"`
	Seconds       float64 `json:"seconds"`
	MBps          float64 `json:"mb_per_s"`
	RecordsPerSec float64 `json:"records_per_s"`
	// BrokerCPU and ClientCPU are the broker's and this process's CPU
	// time during the phase (their threads' run time, /proc/PID/task/*/
	// schedstat), OthersCPU the rest of the machine's busy time (/proc/stat,
	// 10 ms ticks: other processes, the idle broker, kernel threads such
	// as writeback), in seconds of one core; OthersShare is OthersCPU's
	// share of what the machine's cores had, and Disturbed says it passed
	// DisturbedShare.
	BrokerCPU   float64 `json:"broker_cpu_s"`
	ClientCPU   float64 `json:"client_cpu_s"`
	OthersCPU   float64 `json:"others_cpu_s"`
	OthersShare float64 `json:"others_share"`
	Disturbed   bool    `json:"disturbed"`
	// Scrapes counts the scrapes of /metrics in the phase.
	Scrapes int `json:"scrapes"`
}

// values is a ring of prebuilt random record values.
type values struct {
	size int
	buf  []byte
	n    int
}

func newValues(size int) *values {
	n := 4096
	v := &values{size: size, n: n, buf: make([]byte, n*size)}
	r := rand.NewChaCha8([32]byte{'m', 'e', 't', 'r', 'i', 'c', 's'})
	r.Read(v.buf)
	return v
}

func (v *values) at(i int64) []byte {
	j := int(i % int64(v.n))
	return v.buf[j*v.size : (j+1)*v.size : (j+1)*v.size]
}

// cpuMeter takes the CPU counters at the start of a phase.
type cpuMeter struct {
	broker                 int
	start                  time.Time
	brokerCPU, self, total float64
}

func startCPU(broker int) cpuMeter {
	return cpuMeter{broker: broker, start: time.Now(), brokerCPU: sluicedproc.ProcessCPU(broker), self: sluicedproc.ProcessCPU(os.Getpid()), total: hostinfo.MachineBusy()}
}

// stop fills the phase's time and CPU figures.
func (m cpuMeter) stop(ph *Phase) {
	ph.Seconds = time.Since(m.start).Seconds()
	ph.BrokerCPU = sluicedproc.ProcessCPU(m.broker) - m.brokerCPU
	ph.ClientCPU = sluicedproc.ProcessCPU(os.Getpid()) - m.self
	ph.OthersCPU = max(hostinfo.MachineBusy()-m.total-ph.BrokerCPU-ph.ClientCPU, 0)
	if ph.Seconds > 0 {
		ph.OthersShare = ph.OthersCPU / (float64(runtime.NumCPU()) * ph.Seconds)
		ph.Disturbed = ph.OthersShare > DisturbedShare
		ph.MBps = float64(ph.Bytes) / 1e6 / ph.Seconds
		ph.RecordsPerSec = float64(ph.Records) / ph.Seconds
	}
}

// DisturbedShare is the share of the machine's CPU that other work may
// take during a phase before the phase is marked disturbed.
const DisturbedShare = 0.25

// split divides n records over parts partitions, the remainder to the
// first ones.
func split(n int64, parts int) []int64 {
	out := make([]int64, parts)
	for i := range out {
		out[i] = n / int64(parts)
		if int64(i) < n%int64(parts) {
			out[i]++
		}
	}
	return out
}

// produce sends counts[i] records to partition i of topic, one producer
// per partition, all at once, and waits for every acknowledgement.
func produce(ctx context.Context, cl *client.Client, topic string, counts []int64, vals *values, brokerPID int, ph *Phase) error {
	var prods []*client.Producer
	defer func() {
		for _, p := range prods {
			p.Close(context.Background())
		}
	}()
	for range counts {
		// The native producer's defaults but acks: linger 5 ms, batch.size
		// 16 KiB, buffer.memory 32 MiB.
		p, err := cl.NewProducer(client.ProducerConfig{Partitioner: client.ManualPartitioner(), Acks: client.AcksLeader})
		if err != nil {
			return err
		}
		prods = append(prods, p)
	}
	var failed atomic.Int64
	var firstErr atomic.Pointer[error]
	cb := func(_ client.RecordMetadata, err error) {
		if err != nil {
			failed.Add(1)
			firstErr.CompareAndSwap(nil, &err)
		}
	}
	total := sum(counts)
	ph.Records, ph.Bytes = total, total*int64(vals.size)
	errs := make([]error, len(counts))
	var wg sync.WaitGroup
	meter := startCPU(brokerPID)
	for i, n := range counts {
		wg.Go(func() {
			p := prods[i]
			rec := client.Record{Topic: topic, Partition: int32(i)}
			for j := range n {
				rec.Value = vals.at(j)
				if err := p.Send(ctx, &rec, cb); err != nil {
					errs[i] = fmt.Errorf("partition %d: send record %d: %w", i, j, err)
					return
				}
			}
			if err := p.Flush(ctx); err != nil {
				errs[i] = fmt.Errorf("partition %d: flush: %w", i, err)
			}
		})
	}
	wg.Wait()
	meter.stop(ph)
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	if n := failed.Load(); n > 0 {
		return fmt.Errorf("%d of %d records failed; the first: %v", n, total, *firstErr.Load())
	}
	return nil
}

// consume reads counts[i] records from partition i of topic from the
// beginning, passes times over, one consumer per partition, all at once,
// checking that the offsets run 0, 1, 2, ... and that each value has the
// size and first byte produced.
func consume(ctx context.Context, cl *client.Client, topic string, counts []int64, passes int, vals *values, brokerPID int, ph *Phase) error {
	var ks []*client.Consumer
	defer func() {
		for _, k := range ks {
			k.Close()
		}
	}()
	for i := range counts {
		// 1 MiB fetches (max.partition.fetch.bytes, the default); records
		// lent, not copied, so that the client takes less of the cores.
		k := cl.NewConsumer(client.ConsumerConfig{BorrowRecords: true})
		ks = append(ks, k)
		k.Assign(topic, int32(i))
		if err := k.SeekToBeginning(ctx, topic, int32(i)); err != nil {
			return err
		}
	}
	ph.Records = int64(passes) * sum(counts)
	var bytes atomic.Int64
	errs := make([]error, len(counts))
	var wg sync.WaitGroup
	meter := startCPU(brokerPID)
	for i, n := range counts {
		wg.Go(func() {
			k := ks[i]
			for pass := range passes {
				if pass > 0 {
					k.Seek(topic, int32(i), 0)
				}
				got, err := readAll(ctx, k, n, vals)
				bytes.Add(got)
				if err != nil {
					errs[i] = fmt.Errorf("partition %d, pass %d: %w", i, pass+1, err)
					return
				}
			}
		})
	}
	wg.Wait()
	meter.stop(ph)
	ph.Bytes = bytes.Load()
	if ph.Seconds > 0 {
		ph.MBps = float64(ph.Bytes) / 1e6 / ph.Seconds
	}
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// readAll polls k from offset 0 up to offset n and returns the value bytes
// read.
func readAll(ctx context.Context, k *client.Consumer, n int64, vals *values) (int64, error) {
	var next, got int64
	empty := 0
	for next < n {
		recs, err := k.Poll(ctx)
		if err != nil {
			return got, fmt.Errorf("poll at offset %d: %w", next, err)
		}
		if len(recs) == 0 {
			if empty++; empty > 20 {
				return got, fmt.Errorf("no records after offset %d in 20 polls", next)
			}
			continue
		}
		for j := range recs {
			r := &recs[j]
			if r.Offset != next || len(r.Value) != vals.size || r.Value[0] != vals.at(next)[0] {
				return got, fmt.Errorf("record at offset %d (%d B), want offset %d as produced", r.Offset, len(r.Value), next)
			}
			got += int64(len(r.Value))
			next++
		}
	}
	return got, nil
}
