package broker

import (
	"context"
	"log/slog"
	"time"
)

// StartContext is Start that gives up when ctx ends: a broker asked to stop
// while it recovers its logs or waits for its quorum closes what it opened
// (cleanly: the logs are flushed and marked) and returns ctx's error.
func StartContext(ctx context.Context, cfg Config, logger *slog.Logger) (*Broker, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	b, err := Start(cfg, logger)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		cctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		b.Close(cctx)
		return nil, err
	}
	return b, nil
}
