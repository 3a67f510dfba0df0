package replbench

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// FailoverRound is one kill -9 of a partition's leader.
type FailoverRound struct {
	Round int    `json:"round"`
	Topic string `json:"topic"`
	// Killed is the leader killed; Controller says it was the active
	// controller too, so the quorum had to elect a new one first.
	Killed     int32 `json:"killed"`
	Controller bool  `json:"controller"`
	NewLeader  int32 `json:"new_leader"`
	// AcksBefore is how many acks=all produces the producer had made
	// before the kill.
	AcksBefore int `json:"acks_before"`
	// ControllerMs is from the kill until a surviving broker names another
	// active controller (controller rounds only).
	ControllerMs float64 `json:"controller_ms,omitempty"`
	// MetadataMs is from the kill until a surviving broker's Metadata names
	// another leader for the partition: failure detection and election.
	MetadataMs float64 `json:"metadata_ms"`
	// AckMs is the failover time: from the kill until the first acks=all
	// produce acknowledged after it (which only the new leader can do).
	AckMs float64 `json:"ack_ms"`
	// FailedProduces are the produces that returned an error between the
	// kill and AckMs (the producer retries retriable errors itself).
	FailedProduces int    `json:"failed_produces"`
	FirstError     string `json:"first_error,omitempty"`
	// RejoinMs is from the killed broker's restart until every replica of
	// the partition is in its ISR again.
	RejoinMs float64 `json:"rejoin_ms"`
}

// failoverTimeout bounds every wait of a failover round.
const failoverTimeout = 30 * time.Second

// failovers runs Config.FailoverRounds rounds that kill a leader which is
// not the active controller, then Config.ControllerRounds that kill the
// active controller as a leader. Each round has a topic of its own, one
// partition of RF 3, min.insync.replicas=2, whose assignment makes the
// broker to kill its leader.
func (r *runner) failovers(ctx context.Context) error {
	total := r.cfg.FailoverRounds + r.cfg.ControllerRounds
	if total == 0 {
		return nil
	}
	adm, err := kgo.NewClient(kgo.SeedBrokers(r.c.seeds()...))
	if err != nil {
		return err
	}
	defer adm.Close()
	kills := map[int32]int{}
	for round := 1; round <= total; round++ {
		ctrl, err := r.controller(ctx)
		if err != nil {
			return err
		}
		onController := round > r.cfg.FailoverRounds
		target := ctrl
		if !onController {
			// The broker killed least often so far, among those that are
			// not the controller.
			others := slices.DeleteFunc(r.c.ids(), func(id int32) bool { return id == ctrl })
			target = slices.MinFunc(others, func(a, b int32) int { return kills[a]*100 + int(a) - kills[b]*100 - int(b) })
		}
		kills[target]++
		replicas := []int32{target}
		for _, id := range r.c.ids() {
			if id != target {
				replicas = append(replicas, id)
			}
		}
		topic := fmt.Sprintf("failover-%d", round)
		if err := createAssigned(ctx, adm, topic, replicas, 2); err != nil {
			return err
		}
		if err := r.c.waitInSync(ctx, topic, 1, failoverTimeout); err != nil {
			return err
		}
		r.cfg.Logf("replbench: failover round %d: kill -9 broker %d, leader of %s%s", round, target, topic, map[bool]string{true: " and the active controller"}[onController])
		fr, err := r.failover(ctx, topic, target, onController)
		if err != nil {
			return fmt.Errorf("failover round %d: %w", round, err)
		}
		fr.Round = round
		r.cfg.Logf("replbench: failover round %d: new leader %d, metadata after %.0f ms, first ack after %.0f ms, back in sync %.0f ms after restart",
			round, fr.NewLeader, fr.MetadataMs, fr.AckMs, fr.RejoinMs)
		r.rep.Failover = append(r.rep.Failover, fr)
	}
	return nil
}

// controller asks the live brokers for the active controller until they
// agree on a live one.
func (r *runner) controller(ctx context.Context) (int32, error) {
	if err := r.c.waitBrokers(ctx, r.c.ids(), failoverTimeout); err != nil {
		return -1, err
	}
	md, err := r.c.metadata(ctx, 1)
	if err != nil {
		return -1, err
	}
	return md.ControllerID, nil
}

// createAssigned creates a topic of one partition on replicas, the first
// its leader.
func createAssigned(ctx context.Context, cl *kgo.Client, topic string, replicas []int32, minISR int) error {
	req := kmsg.NewPtrCreateTopicsRequest()
	req.TimeoutMillis = 30000
	t := kmsg.NewCreateTopicsRequestTopic()
	t.Topic, t.NumPartitions, t.ReplicationFactor = topic, -1, -1
	a := kmsg.NewCreateTopicsRequestTopicReplicaAssignment()
	a.Partition, a.Replicas = 0, replicas
	t.ReplicaAssignment = append(t.ReplicaAssignment, a)
	c := kmsg.NewCreateTopicsRequestTopicConfig()
	c.Name, c.Value = "min.insync.replicas", kmsg.StringPtr(fmt.Sprint(minISR))
	t.Configs = append(t.Configs, c)
	req.Topics = append(req.Topics, t)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return fmt.Errorf("creating %s: %w", topic, err)
	}
	for _, rt := range resp.Topics {
		if err := kerr.ErrorForCode(rt.ErrorCode); err != nil {
			return fmt.Errorf("creating %s on %v: %w", topic, replicas, err)
		}
	}
	return nil
}

// failoverProducer is the producer of the failover rounds: acks=all,
// idempotent, one record at a time to partition 0, with Kafka's client
// retry.backoff.ms (constant, as before Kafka 3.7) and a metadata refresh
// allowed as often.
func (r *runner) failoverProducer(topic string) (*kgo.Client, error) {
	backoff := r.cfg.RetryBackoff
	return kgo.NewClient(kgo.SeedBrokers(r.c.seeds()...), kgo.DefaultProduceTopic(topic),
		kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.ProducerLinger(0), kgo.RetryBackoffFn(func(int) time.Duration { return backoff }),
		kgo.MetadataMinAge(r.cfg.MetadataMinAge), kgo.RecordDeliveryTimeout(failoverTimeout))
}

// failover kills topic's leader while a producer sends to it, times the
// failover, restarts the broker and waits until it is back in the ISR.
//
// The producer sends one record at a time (ProduceSync), and the kill
// happens between two of them: nothing is in flight at the kill, so the
// first produce acknowledged after it was sent after it, and only a live
// leader can have acknowledged it.
func (r *runner) failover(ctx context.Context, topic string, target int32, onController bool) (FailoverRound, error) {
	fr := FailoverRound{Topic: topic, Killed: target, Controller: onController, NewLeader: -1}
	cl, err := r.failoverProducer(topic)
	if err != nil {
		return fr, err
	}
	defer cl.Close()
	value := make([]byte, 100)
	send := func() error {
		sctx, cancel := context.WithTimeout(ctx, failoverTimeout)
		defer cancel()
		return cl.ProduceSync(sctx, &kgo.Record{Partition: 0, Value: value}).FirstErr()
	}
	// Steady state first: half a second of acknowledged produces.
	for warm := time.Now(); time.Since(warm) < 500*time.Millisecond || fr.AcksBefore < 20; fr.AcksBefore++ {
		if err := send(); err != nil {
			return fr, fmt.Errorf("before the kill: %w", err)
		}
	}

	survivors := slices.DeleteFunc(r.c.ids(), func(id int32) bool { return id == target })
	nd := r.c.node(target)
	pctx, stopPoll := context.WithCancel(ctx)
	var wg sync.WaitGroup
	killed := time.Now()
	wg.Go(func() { r.pollLeader(pctx, topic, target, survivors, killed, onController, &fr) })
	nd.kill9()

	for {
		err := send()
		if err == nil {
			fr.AckMs = msSince(killed)
			break
		}
		if fr.FailedProduces++; fr.FailedProduces == 1 {
			fr.FirstError = err.Error()
		}
		if time.Since(killed) > failoverTimeout {
			stopPoll()
			wg.Wait()
			return fr, fmt.Errorf("no produce acknowledged within %v of the kill: %w", failoverTimeout, err)
		}
	}
	// A few more, to see the partition stay writable.
	for range 20 {
		if err := send(); err != nil {
			stopPoll()
			wg.Wait()
			return fr, fmt.Errorf("after the failover: %w", err)
		}
	}
	// The poller stops once it has seen the new leader (it may lag the
	// producer by a poll); give it until the timeout.
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(failoverTimeout):
	}
	stopPoll()
	<-done
	if fr.NewLeader < 0 {
		return fr, fmt.Errorf("no surviving broker named a new leader of %s", topic)
	}

	mark := nd.log.mark()
	restarted := time.Now()
	if err := r.c.start(nd); err != nil {
		return fr, err
	}
	if err := r.c.waitStarted(ctx, nd, mark, failoverTimeout); err != nil {
		return fr, err
	}
	if err := r.c.waitInSync(ctx, topic, 1, failoverTimeout); err != nil {
		return fr, err
	}
	fr.RejoinMs = msSince(restarted)
	return fr, nil
}

// pollLeader asks the survivors every 5 ms who leads topic's partition
// (and, when the controller was killed, who the controller is) and
// records when another broker first appears.
func (r *runner) pollLeader(ctx context.Context, topic string, killed int32, survivors []int32, since time.Time, controllerToo bool, fr *FailoverRound) {
	needCtrl := controllerToo
	for i := 0; ctx.Err() == nil; i++ {
		id := survivors[i%len(survivors)]
		ps, ctrl, err := r.c.partitions(ctx, id, topic)
		if err == nil {
			if needCtrl && ctrl >= 0 && ctrl != killed {
				fr.ControllerMs = msSince(since)
				needCtrl = false
			}
			if p, ok := ps[0]; ok && fr.NewLeader < 0 && p.leader >= 0 && p.leader != killed {
				fr.MetadataMs = msSince(since)
				fr.NewLeader = p.leader
			}
			if fr.NewLeader >= 0 && !needCtrl {
				return
			}
		}
		sleep(ctx, 5*time.Millisecond)
	}
}

func msSince(t time.Time) float64 { return float64(time.Since(t).Microseconds()) / 1e3 }
