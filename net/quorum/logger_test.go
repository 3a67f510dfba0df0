package quorum

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

func TestHclogLevels(t *testing.T) {
	var buf bytes.Buffer
	l := newHclog(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo})), "raft")
	l.Info("entering follower state", "term", 3)
	l.Debug("chatty")
	l.Named("transport").With("peer", "2").Warn("heartbeat timeout reached")
	l.Error("failed to appendEntries to", "error", &RefusalError{PeerID: 3, Err: ErrClusterIDMismatch})
	l.Error("failed to appendEntries to", "error", errors.New("connection refused"))
	// Per-peer retries (peerHealth logs the outage), routine elections and
	// catch-up, our own shutdown: debug.
	l.Error("failed to heartbeat to", "peer", raft.ServerAddress("127.0.0.1:9"), "error", errors.New("dial refused"))
	l.Warn("failed to contact", "server-id", raft.ServerID("3"), "time", time.Second)
	l.Warn("heartbeat timeout reached, starting election", "last-leader-addr", raft.ServerAddress(""), "last-leader-id", raft.ServerID(""))
	l.Warn("heartbeat timeout reached, starting election", "last-leader-addr", raft.ServerAddress("127.0.0.1:7"), "last-leader-id", raft.ServerID("2"))
	l.Warn("Election timeout reached, restarting election")
	l.Warn("failed to get previous log", "previous-index", 5, "last-index", 0, "error", raft.ErrLogNotFound)
	l.Named("transport").Error("failed to decode incoming command", "error", raft.ErrTransportShutdown)
	l.Warn("installSnapshot rejected to", "peer", raft.Server{ID: "3", Address: "127.0.0.1:9"})
	out := buf.String()
	for _, gone := range []string{"entering follower state", "chatty", "ErrClusterIDMismatch", "refused our connection",
		"failed to heartbeat", "failed to contact", "last-leader-addr=\"\"", "restarting election", "previous log", "decode"} {
		if strings.Contains(out, gone) {
			t.Errorf("%q logged at info level or above:\n%s", gone, out)
		}
	}
	for _, kept := range []string{
		`level=WARN msg="heartbeat timeout reached" module=raft.transport peer=2`,
		`level=ERROR msg="failed to appendEntries to" module=raft error="connection refused"`,
		`level=WARN msg="heartbeat timeout reached, starting election" module=raft last-leader-addr=127.0.0.1:7 last-leader-id=2`,
		`level=WARN msg="installSnapshot rejected to" module=raft peer=`,
	} {
		if !strings.Contains(out, kept) {
			t.Errorf("missing %q in:\n%s", kept, out)
		}
	}
	if l.IsInfo() || !l.IsWarn() {
		t.Errorf("IsInfo %v IsWarn %v, want false true", l.IsInfo(), l.IsWarn())
	}
}
