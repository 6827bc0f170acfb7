package gateway

import (
	"testing"
	"time"

	"github.com/wsgw/wsgw/runtime"
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

// TestSlotWaitIsNotRunTime: an event that waited long for its endpoint's
// slot but ran quickly leaves its connection neither slow nor heavy, so
// that under load, when every event queues for a slot, busy connections
// still run their events on their read loops; an event that ran long
// leaves it both.
func TestSlotWaitIsNotRunTime(t *testing.T) {
	eng := runtime.New(runtime.Options{PoolSize: 1})
	defer eng.Close()
	g := &Gateway{halted: make(chan struct{}), interrupted: newSemaphore(1), opts: Options{Engine: eng}}
	compile := func(src string) *runtime.Handler {
		h, err := runtime.Compile("test.js", src)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	quick := compile(`var x = 1;`)
	long := compile(`var end = Date.now() + 30; while (Date.now() < end) {}`)

	c := &conn{slots: newSemaphore(1), offLoop: true}
	if err := g.handOff(c, quick, &runtime.Event{Type: runtime.Data, Conn: c}); err != nil {
		t.Fatal(err) // the engine makes its runtime: that run is long
	}
	// Another event holds the endpoint's one slot for 30 ms. A run of the
	// quick script takes well under heavyEvent; a preempted one may not,
	// so it has three tries.
	for try := 1; ; try++ {
		c.slots <- struct{}{}
		released := make(chan struct{})
		go func() {
			defer close(released)
			time.Sleep(3 * waitedLong)
			c.slots.release()
		}()
		if err := g.handOff(c, quick, &runtime.Event{Type: runtime.Data, Conn: c}); err != nil {
			t.Fatal(err)
		}
		<-released
		if !c.slow && !c.heavy {
			break
		}
		if try == 3 {
			t.Fatalf("after a long wait and a quick run: slow %v, heavy %v; want neither", c.slow, c.heavy)
		}
	}
	if err := g.handOff(c, long, &runtime.Event{Type: runtime.Data, Conn: c}); err != nil {
		t.Fatal(err)
	}
	if !c.slow || !c.heavy {
		t.Fatalf("after a 30 ms run: slow %v, heavy %v; want both", c.slow, c.heavy)
	}
}
