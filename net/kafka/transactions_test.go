package kafka_test

import (
	"bytes"
	"context"
	"errors"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// refusalBound is how soon a transactional producer must be told no:
// far below franz-go's and librdkafka's own timeouts (tens of seconds to
// a minute), which a retriable refusal would run into.
const refusalBound = 5 * time.Second

// TestTransactionalProducerRefused: a franz-go transactional producer
// fails fast with TRANSACTIONAL_ID_AUTHORIZATION_FAILED, non-retriable,
// and the broker neither advertises the transaction APIs nor answers a
// transaction coordinator lookup with a retriable code.
func TestTransactionalProducerRefused(t *testing.T) {
	_, addr := startBroker(t, nil)
	createTopic(t, newAdmin(t, addr), "txn", 1, nil)

	cl := newClient(t, addr, kgo.TransactionalID("app-1"), kgo.DefaultProduceTopic("txn"),
		kgo.TransactionTimeout(10*time.Second))
	c, cancel := context.WithTimeout(context.Background(), refusalBound)
	defer cancel()
	start := time.Now()
	err := cl.BeginTransaction()
	if err == nil {
		err = cl.ProduceSync(c, &kgo.Record{Value: []byte("v")}).FirstErr()
	}
	if !errors.Is(err, kerr.TransactionalIDAuthorizationFailed) {
		t.Fatalf("transactional produce after %v: %v, want TRANSACTIONAL_ID_AUTHORIZATION_FAILED", time.Since(start), err)
	}

	// The coordinator lookup says why, with a fatal code, at every version.
	plain := newClient(t, addr)
	for _, v := range []int16{1, 3, 4} {
		req := kmsg.NewPtrFindCoordinatorRequest()
		req.Version, req.CoordinatorType = v, 1
		req.CoordinatorKey, req.CoordinatorKeys = "app-1", []string{"app-1"}
		resp, err := req.RequestWith(ctx(t), plain)
		if err != nil {
			t.Fatal(err)
		}
		code, msg := resp.ErrorCode, resp.ErrorMessage
		if v >= 4 {
			code, msg = resp.Coordinators[0].ErrorCode, resp.Coordinators[0].ErrorMessage
		}
		if err := kerr.ErrorForCode(code); !errors.Is(err, kerr.TransactionalIDAuthorizationFailed) || kerr.IsRetriable(err) ||
			msg == nil || !strings.Contains(*msg, "transactions are not supported") {
			t.Fatalf("FindCoordinator v%d for a transactional id: %v %v", v, err, msg)
		}
	}
	vreq := kmsg.NewPtrApiVersionsRequest()
	vresp, err := vreq.RequestWith(ctx(t), plain)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range vresp.ApiKeys {
		switch k.ApiKey {
		case 24, 25, 26, 28: // AddPartitionsToTxn, AddOffsetsToTxn, EndTxn, TxnOffsetCommit
			t.Errorf("ApiVersions advertises transaction API %s", kmsg.NameForKey(k.ApiKey))
		}
	}
}

// TestKcatTransactionalRefused: librdkafka's init_transactions() fails at
// once with the broker's reason instead of timing out.
func TestKcatTransactionalRefused(t *testing.T) {
	kcat, err := exec.LookPath("kcat")
	if err != nil {
		t.Skip("kcat not in PATH")
	}
	_, addr := startBroker(t, nil)
	createTopic(t, newAdmin(t, addr), "txn", 1, nil)
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(c, kcat, "-b", addr, "-X", "transactional.id=app-1", "-P", "-t", "txn")
	cmd.Stdin = strings.NewReader("v\n")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start := time.Now()
	err = cmd.Run()
	took := time.Since(start)
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() == 0 {
		t.Fatalf("kcat transactional produce: %v\n%s", err, stderr.String())
	}
	if took > refusalBound || !strings.Contains(stderr.String(), "transactions are not supported by this broker") {
		t.Fatalf("kcat took %v to fail, or not with the broker's reason:\n%s", took, stderr.String())
	}
}
