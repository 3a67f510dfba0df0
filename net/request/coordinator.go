package request

import (
	"github.com/sluicelog/sluice/engine"
)

// FindCoordinator's key types, as in Kafka.
const (
	// CoordinatorGroup asks for a consumer group's coordinator, the only
	// coordinators there are.
	CoordinatorGroup = 0
	// CoordinatorTransaction asks for a transactional id's coordinator:
	// transactions do not exist here, and the answer says so with a code
	// clients treat as fatal (ErrTransactions), not a retriable
	// COORDINATOR_NOT_AVAILABLE that a transactional producer would
	// retry until its own timeout.
	CoordinatorTransaction = 1
)

// FindCoordinator names the broker coordinating a consumer group, with
// its address on listener. On failure the broker is {-1, "", -1}.
func (h *Handler) FindCoordinator(listener string, keyType int8, key string) (Broker, error) {
	none := Broker{ID: -1, Port: -1}
	switch keyType {
	case CoordinatorGroup:
	case CoordinatorTransaction:
		return none, Refuse(ErrTransactions, transactionsRefusal)
	default:
		return none, Refuse(ErrInvalidRequest, "unknown coordinator key type: 0 is a consumer group")
	}
	if err := engine.ValidateGroupID(key); err != nil {
		return none, err
	}
	b, err := h.cluster.Coordinator(key, listener)
	if err != nil {
		return none, err
	}
	return b, nil
}
