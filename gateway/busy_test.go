package gateway

import (
	"testing"
	"time"
)

// TestBusyAfterMessagesBackToBack: a connection's events run on its read
// loop once three messages came back to back, until a pause, or until one
// of its events took longer than heavyEvent (a big publish gains nothing
// from it).
func TestBusyAfterMessagesBackToBack(t *testing.T) {
	const near, far = int64(time.Millisecond), int64(time.Second)
	for _, tc := range []struct {
		name  string
		gaps  []int64
		heavy bool // the last event took longer than heavyEvent
		busy  bool
	}{
		{"first message", []int64{near}, false, false},
		{"two back to back", []int64{near, near}, false, false},
		{"three back to back", []int64{near, near, near}, false, true},
		{"many back to back", []int64{near, near, near, near, near, near}, false, true},
		{"a pause ends it", []int64{near, near, near, far}, false, false},
		{"busy again after a pause", []int64{near, near, near, far, near, near, near}, false, true},
		{"quiet", []int64{far, far, far, far}, false, false},
		{"back to back, but the last event was heavy", []int64{near, near, near, near}, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := conn{heavy: tc.heavy}
			for _, gap := range tc.gaps {
				c.countStreak(gap)
			}
			if c.busy() != tc.busy {
				t.Fatalf("busy = %v, want %v", c.busy(), tc.busy)
			}
		})
	}
}
