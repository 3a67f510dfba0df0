package quorum

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
)

func TestHclogLevels(t *testing.T) {
	var buf bytes.Buffer
	l := newHclog(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo})), "raft")
	l.Info("entering follower state", "term", 3)
	l.Debug("chatty")
	l.Named("transport").With("peer", "2").Warn("heartbeat timeout reached")
	l.Error("failed to appendEntries to", "error", &RefusalError{PeerID: 3, Err: ErrClusterIDMismatch})
	l.Error("failed to appendEntries to", "error", errors.New("connection refused"))
	out := buf.String()
	for _, gone := range []string{"entering follower state", "chatty", "ErrClusterIDMismatch", "refused our connection"} {
		if strings.Contains(out, gone) {
			t.Errorf("%q logged at info level or above:\n%s", gone, out)
		}
	}
	for _, kept := range []string{
		`level=WARN msg="heartbeat timeout reached" module=raft.transport peer=2`,
		`level=ERROR msg="failed to appendEntries to" module=raft error="connection refused"`,
	} {
		if !strings.Contains(out, kept) {
			t.Errorf("missing %q in:\n%s", kept, out)
		}
	}
	if l.IsInfo() || !l.IsWarn() {
		t.Errorf("IsInfo %v IsWarn %v, want false true", l.IsInfo(), l.IsWarn())
	}
}
