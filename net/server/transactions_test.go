package server_test

import (
	"strings"
	"testing"

	"github.com/sluicelog/sluice/net/broker"
	"github.com/sluicelog/sluice/net/protocol"
)

// TestTransactionalRefusedOverTheWire: the native listener refuses a
// transactional producer as the Kafka one does: a non-retriable code,
// and the reason where the message has room for one.
func TestTransactionalRefusedOverTheWire(t *testing.T) {
	b := broker.StartTest(t, nil)
	c := dial(t, b.Addr().String())
	var fc protocol.FindCoordinatorResponse
	c.call(&protocol.FindCoordinatorRequest{CoordinatorKey: "tx", KeyType: 1}, &fc)
	if fc.ErrorCode != protocol.ErrTransactionalIDAuthorizationFailed || fc.ErrorCode.Retriable() ||
		!strings.Contains(deref(fc.ErrorMessage), "transactions are not supported") {
		t.Fatalf("transaction coordinator lookup: %v %q", fc.ErrorCode, deref(fc.ErrorMessage))
	}
	var ip protocol.InitProducerIDResponse
	c.call(&protocol.InitProducerIDRequest{TransactionalID: ptr("tx"), ProducerID: -1, ProducerEpoch: -1}, &ip)
	if ip.ErrorCode != protocol.ErrTransactionalIDAuthorizationFailed || ip.ProducerID != -1 {
		t.Fatalf("transactional init producer id: %+v", ip)
	}
}
