package runtime_test

import (
	"testing"
	"time"

	"github.com/wsgw/wsgw/runtime"
)

// TestLimitsDefaults: WithDefaults fills every zero field and keeps the
// others.
func TestLimitsDefaults(t *testing.T) {
	want := runtime.Limits{Timeout: time.Second, MaxSendsPerEvent: 10000, MaxSendBytesPerEvent: 16 << 20, MaxMemory: 64 << 20, MaxStateBytes: 16 << 10}
	if got := (runtime.Limits{}).WithDefaults(); got != want {
		t.Fatalf("zero Limits with defaults = %+v, want %+v", got, want)
	}
	given := runtime.Limits{Timeout: time.Minute, MaxSendsPerEvent: 1, MaxSendBytesPerEvent: 2, MaxMemory: 3, MaxStateBytes: 4}
	if got := given.WithDefaults(); got != given {
		t.Fatalf("WithDefaults(%+v) = %+v, want it kept", given, got)
	}
}
