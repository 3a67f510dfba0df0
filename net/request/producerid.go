package request

import "context"

// transactionsRefusal is what a transactional producer is told, by
// FindCoordinator (key type 1), InitProducerId and Produce alike: a code
// Kafka clients treat as fatal (TRANSACTIONAL_ID_AUTHORIZATION_FAILED), so
// they stop at once instead of retrying, and words that say why and what
// to do instead.
const transactionsRefusal = "transactions are not supported by this broker (Sluice has no transaction coordinator): " +
	"unset transactional.id; an idempotent producer (enable.idempotence) keeps exactly-once writes per partition"

// InitProducerID gives an idempotent producer its id and epoch: a new id
// at epoch 0 for producerID -1, or the next epoch of the id given, which
// fences older instances. Transactions do not exist here, so a
// transactional producer is refused (ErrTransactions). On failure the id
// and epoch are -1.
func (h *Handler) InitProducerID(ctx context.Context, transactional bool, producerID int64, epoch int16) (int64, int16, error) {
	if transactional {
		return -1, -1, Refuse(ErrTransactions, transactionsRefusal)
	}
	id, e, err := h.cluster.InitProducerID(ctx, producerID, epoch)
	if err != nil {
		return -1, -1, err
	}
	return id, e, nil
}
