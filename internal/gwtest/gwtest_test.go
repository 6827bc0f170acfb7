package gwtest

import (
	"log/slog"
	"testing"
)

// TestLogSinkSharesRecordsWithDerivedLoggers: lines logged through
// logger.With reach Wait with their attributes, the parent keeps logging
// after them, and siblings do not see each other's attributes.
func TestLogSinkSharesRecordsWithDerivedLoggers(t *testing.T) {
	sink := NewLogSink()
	logger := slog.New(sink)
	parent := logger.With("node", "a")
	child := parent.With("socket_id", "s1")
	sibling := parent.With("socket_id", "s2")

	child.Info("from the child")
	got := sink.Wait(t, "the child's line", func(r map[string]any) bool { return r["msg"] == "from the child" })
	if got["node"] != "a" || got["socket_id"] != "s1" {
		t.Fatalf("child's line = %v, want node a and socket_id s1", got)
	}
	logger.Info("from the root") // panicked with "close of closed channel" when the child had a state of its own
	sibling.Info("from the sibling")
	got = sink.Wait(t, "the sibling's line", func(r map[string]any) bool { return r["msg"] == "from the sibling" })
	if got["socket_id"] != "s2" {
		t.Fatalf("sibling's line = %v, want socket_id s2", got)
	}
	if n := sink.Count(func(map[string]any) bool { return true }); n != 3 {
		t.Fatalf("the sink holds %d lines, want 3", n)
	}
	sink.WaitCount(t, "every line", 3, func(map[string]any) bool { return true })
}
