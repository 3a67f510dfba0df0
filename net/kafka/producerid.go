package kafka

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// initProducerID answers InitProducerId through the request layer: a new
// id at epoch 0, or (v3+, with the id and epoch it had) the next epoch of
// the same id. A transactional id is refused.
func (s *Server) initProducerID(ctx context.Context, r *kmsg.InitProducerIDRequest) *kmsg.InitProducerIDResponse {
	resp := r.ResponseKind().(*kmsg.InitProducerIDResponse)
	id, epoch := int64(-1), int16(-1)
	if r.Version >= 3 {
		id, epoch = r.ProducerID, r.ProducerEpoch
	}
	var err error
	resp.ProducerID, resp.ProducerEpoch, err = s.h.InitProducerID(ctx, r.TransactionalID != nil, id, epoch)
	resp.ErrorCode = errorCode(err)
	return resp
}
