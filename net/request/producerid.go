package request

import "context"

// InitProducerID gives an idempotent producer its id and epoch: a new id
// at epoch 0 for producerID -1, or the next epoch of the id given, which
// fences older instances. Transactions do not exist here, so a
// transactional producer is refused (ErrTransactions). On failure the id
// and epoch are -1.
func (h *Handler) InitProducerID(ctx context.Context, transactional bool, producerID int64, epoch int16) (int64, int16, error) {
	if transactional {
		return -1, -1, ErrTransactions
	}
	id, e, err := h.cluster.InitProducerID(ctx, producerID, epoch)
	if err != nil {
		return -1, -1, err
	}
	return id, e, nil
}
