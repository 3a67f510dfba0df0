package quorum

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"strings"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
)

// hclogSlog routes hashicorp raft's hclog output to slog. raft logs every
// state change at info ("entering follower state", "vote granted"), which is
// noise to a broker operator, so info goes to slog's debug and trace/debug
// below it. Warnings and errors keep their level, except those about one
// peer (see namesPeer), which raft repeats on every retry while the peer is
// down: they go to debug, and peerHealth says once that the peer is
// unreachable and once that it is back. Refusals, which the mux logs, go to
// debug too.
type hclogSlog struct {
	l    *slog.Logger
	name string
	args []any
}

func newHclog(l *slog.Logger, name string) hclog.Logger {
	return &hclogSlog{l: l, name: name}
}

// slogLevel maps an hclog level to the slog level it is logged at.
func slogLevel(level hclog.Level) slog.Level {
	switch level {
	case hclog.Trace, hclog.Debug:
		return slog.LevelDebug - 4
	case hclog.Info, hclog.NoLevel:
		return slog.LevelDebug
	case hclog.Warn:
		return slog.LevelWarn
	default:
		return slog.LevelError
	}
}

func (h *hclogSlog) Log(level hclog.Level, msg string, args ...any) {
	if level == hclog.Off {
		return
	}
	lv := slogLevel(level)
	if lv >= slog.LevelWarn && (refusedArg(args) || namesPeer(msg, args) || routine(msg, args)) {
		// The mux already logged this refusal, rate limited, and
		// peerHealth logs a peer's outage once; raft would repeat either
		// on every retry. Routine protocol steps are no warnings.
		lv = slog.LevelDebug
	}
	ctx := context.Background()
	if !h.l.Enabled(ctx, lv) {
		return
	}
	all := make([]any, 0, 2+len(h.args)+len(args))
	all = append(all, "module", h.name) // "component" is the caller's (quorum)
	all = append(all, h.args...)
	all = append(all, args...)
	h.l.Log(ctx, lv, msg, all...)
}

func (h *hclogSlog) Trace(msg string, args ...any) { h.Log(hclog.Trace, msg, args...) }
func (h *hclogSlog) Debug(msg string, args ...any) { h.Log(hclog.Debug, msg, args...) }
func (h *hclogSlog) Info(msg string, args ...any)  { h.Log(hclog.Info, msg, args...) }
func (h *hclogSlog) Warn(msg string, args ...any)  { h.Log(hclog.Warn, msg, args...) }
func (h *hclogSlog) Error(msg string, args ...any) { h.Log(hclog.Error, msg, args...) }

func (h *hclogSlog) enabled(level hclog.Level) bool {
	return h.l.Enabled(context.Background(), slogLevel(level))
}

func (h *hclogSlog) IsTrace() bool { return h.enabled(hclog.Trace) }
func (h *hclogSlog) IsDebug() bool { return h.enabled(hclog.Debug) }
func (h *hclogSlog) IsInfo() bool  { return h.enabled(hclog.Info) }
func (h *hclogSlog) IsWarn() bool  { return h.enabled(hclog.Warn) }
func (h *hclogSlog) IsError() bool { return h.enabled(hclog.Error) }

func (h *hclogSlog) ImpliedArgs() []any { return h.args }

func (h *hclogSlog) With(args ...any) hclog.Logger {
	c := *h
	c.args = append(append([]any(nil), h.args...), args...)
	return &c
}

func (h *hclogSlog) Name() string { return h.name }

func (h *hclogSlog) Named(name string) hclog.Logger {
	c := *h
	if c.name != "" {
		name = c.name + "." + name
	}
	c.name = name
	return &c
}

func (h *hclogSlog) ResetNamed(name string) hclog.Logger {
	c := *h
	c.name = name
	return &c
}

// SetLevel is ignored: the slog handler decides what is kept.
func (h *hclogSlog) SetLevel(hclog.Level) {}

func (h *hclogSlog) GetLevel() hclog.Level {
	for _, lv := range []hclog.Level{hclog.Trace, hclog.Debug, hclog.Info, hclog.Warn} {
		if h.enabled(lv) {
			return lv
		}
	}
	return hclog.Error
}

func (h *hclogSlog) StandardLogger(opts *hclog.StandardLoggerOptions) *log.Logger {
	return log.New(h.StandardWriter(opts), "", 0)
}

// StandardWriter logs each write as one line at info (slog debug).
func (h *hclogSlog) StandardWriter(*hclog.StandardLoggerOptions) io.Writer {
	return writerFunc(func(p []byte) (int, error) {
		h.Info(strings.TrimRight(string(p), "\n"))
		return len(p), nil
	})
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// refusedArg reports whether a log line's arguments carry a RefusalError.
func refusedArg(args []any) bool {
	for _, a := range args {
		var re *RefusalError
		if err, ok := a.(error); ok && errors.As(err, &re) {
			return true
		}
	}
	return false
}

// routine reports whether a raft warning or error is the protocol at
// work, not news to an operator:
//   - the first election of a quorum (no leader was ever known), and a
//     candidate's retries after a split vote or while it cannot reach a
//     majority (peerHealth says why); losing a known leader ("heartbeat
//     timeout reached" with its address) stays a warning;
//   - a follower's log catching up with the leader's: the consistency
//     check failing on an entry it lacks or holds from an older term, and
//     entries it already has from a snapshot;
//   - this node's own transport shutting down under a connection.
func routine(msg string, args []any) bool {
	switch msg {
	case "Election timeout reached, restarting election",
		"failed to get previous log", "previous log term mis-match",
		"skipping application of old log":
		return true
	case "heartbeat timeout reached, starting election":
		for i := 0; i+1 < len(args); i += 2 {
			if k, _ := args[i].(string); k == "last-leader-addr" {
				return fmt.Sprint(args[i+1]) == ""
			}
		}
	}
	for _, a := range args {
		if err, ok := a.(error); ok && errors.Is(err, raft.ErrTransportShutdown) {
			return true
		}
	}
	return false
}
