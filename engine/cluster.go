package engine

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
)

// clusterIDKey holds the cluster id in the meta store: 22 characters of
// URL-safe base64 (16 random bytes), the shape of Kafka's cluster ids.
const clusterIDKey = "cluster/id"

// ClusterID returns the data directory's cluster id, creating it on first
// use. It is stored in the meta store (synced), so it survives restarts
// and changes only with the data directory.
func (e *Engine) ClusterID() (string, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return "", ErrClosed
	}
	v, closer, err := e.meta.db.Get([]byte(clusterIDKey))
	switch {
	case err == nil:
		id := string(v)
		closer.Close()
		return id, nil
	case !errors.Is(err, pebble.ErrNotFound):
		return "", fmt.Errorf("cluster id: %w", err)
	}
	var raw [16]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", fmt.Errorf("cluster id: %w", err)
	}
	id := base64.RawURLEncoding.EncodeToString(raw[:])
	if err := e.meta.db.Set([]byte(clusterIDKey), []byte(id), pebble.Sync); err != nil {
		return "", fmt.Errorf("cluster id: %w", err)
	}
	return id, nil
}
