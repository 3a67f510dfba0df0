package request

import (
	"github.com/sluicelog/sluice/engine"
)

// CoordinatorGroup is FindCoordinator's key type for consumer groups, the
// only coordinators there are (no transactions).
const CoordinatorGroup = 0

// FindCoordinator names the broker coordinating a consumer group, with
// its address on listener. On failure the broker is {-1, "", -1}.
func (h *Handler) FindCoordinator(listener string, keyType int8, key string) (Broker, error) {
	none := Broker{ID: -1, Port: -1}
	if keyType != CoordinatorGroup {
		return none, Refuse(ErrCoordinatorNotAvailable, "only group coordinators exist on this broker (no transactions)")
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
