package gateway

import (
	"testing"
	"time"
)

func TestBusyAfterMessagesBackToBack(t *testing.T) {
	const near, far = int64(time.Millisecond), int64(time.Second)
	for _, tc := range []struct {
		name string
		gaps []int64
		busy bool
	}{
		{"first message", []int64{near}, false},
		{"two back to back", []int64{near, near}, false},
		{"three back to back", []int64{near, near, near}, true},
		{"many back to back", []int64{near, near, near, near, near, near}, true},
		{"a pause ends it", []int64{near, near, near, far}, false},
		{"busy again after a pause", []int64{near, near, near, far, near, near, near}, true},
		{"quiet", []int64{far, far, far, far}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var c conn
			for _, gap := range tc.gaps {
				c.countStreak(gap)
			}
			if c.busy() != tc.busy {
				t.Fatalf("busy = %v, want %v", c.busy(), tc.busy)
			}
		})
	}
}
