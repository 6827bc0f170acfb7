package gcfloor

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"testing"
	"time"
)

func TestPercentFor(t *testing.T) {
	const mib = 1 << 20
	for _, tc := range []struct {
		name               string
		floor, live, roots uint64
		base, want         int
	}{
		{"small heap raised to the floor", 64 * mib, 4 * mib, 0, 100, 1500},
		{"roots count as work", 64 * mib, 4 * mib, 2 * mib, 100, 1000},
		{"rounded up, never short of the floor", 10, 3, 0, 100, 234},
		{"heap past the floor keeps GOGC", 64 * mib, 64 * mib, mib, 100, 100},
		{"GOGC above the floor's need wins", 64 * mib, 40 * mib, 0, 200, 200},
		{"nothing live yet", 64 * mib, 0, 0, 100, 1 << 30},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := percentFor(tc.floor, tc.live, tc.roots, tc.base); got != tc.want {
				t.Fatalf("percentFor(%d, %d, %d, %d) = %d, want %d", tc.floor, tc.live, tc.roots, tc.base, got, tc.want)
			}
		})
	}
}

func heapGoal() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/goal:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

func gcPercent() int {
	p := debug.SetGCPercent(100)
	debug.SetGCPercent(p)
	return p
}

// TestFloorHoldsAcrossCollections sets a floor far above this test's live
// heap: the goal must reach it at once, stay there after collections (each
// re-adjusts), and go back to GOGC's own when the floor is removed.
func TestFloorHoldsAcrossCollections(t *testing.T) {
	const floorBytes = 256 << 20
	before := gcPercent()
	done := make(chan struct{}, 16)
	adjusted = func() { done <- struct{}{} }
	t.Cleanup(func() { adjusted = func() {} })

	if prev := Set(floorBytes); prev != 0 {
		t.Fatalf("Set returned %d as the previous floor, want 0", prev)
	}
	if g := heapGoal(); g < floorBytes {
		t.Fatalf("heap goal %d right after Set, want >= %d", g, floorBytes)
	}
	for i := range 3 {
		runtime.GC()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("no adjustment after collection %d", i+1)
		}
		if g := heapGoal(); g < floorBytes {
			t.Fatalf("heap goal %d after collection %d, want >= %d", g, i+1, floorBytes)
		}
	}
	if prev := Set(0); prev != floorBytes {
		t.Fatalf("Set(0) returned %d as the previous floor, want %d", prev, floorBytes)
	}
	if p := gcPercent(); p != before {
		t.Fatalf("GOGC %d after the floor was removed, want %d as before", p, before)
	}
	if g := heapGoal(); g >= floorBytes {
		t.Fatalf("heap goal %d after the floor was removed, want the small heap's own", g)
	}
}

// TestHoldLiftsTheFloor: while held, GOGC alone sets the goal, and after
// collections too; the floor is back once every hold is released.
func TestHoldLiftsTheFloor(t *testing.T) {
	const floorBytes = 256 << 20
	before := gcPercent()
	Set(floorBytes)
	defer Set(0)
	Hold()
	Hold()
	runtime.GC()
	if g := heapGoal(); g >= floorBytes {
		t.Fatalf("heap goal %d while held, want the small heap's own", g)
	}
	if p := gcPercent(); p != before {
		t.Fatalf("GOGC %d while held, want %d", p, before)
	}
	Release()
	if g := heapGoal(); g >= floorBytes {
		t.Fatalf("heap goal %d with one hold left, want the small heap's own", g)
	}
	Release()
	if g := heapGoal(); g < floorBytes {
		t.Fatalf("heap goal %d once released, want >= %d", g, floorBytes)
	}
}

// Without a floor, a hold leaves GOGC as it is.
func TestHoldWithoutAFloor(t *testing.T) {
	old := debug.SetGCPercent(150)
	defer debug.SetGCPercent(old)
	Hold()
	Release()
	if p := gcPercent(); p != 150 {
		t.Fatalf("GOGC %d after a hold without a floor, want 150", p)
	}
}

// TestGOGCOffIsLeftAlone: with the collector off there is no goal to raise,
// and a floor must not turn it back on.
func TestGOGCOffIsLeftAlone(t *testing.T) {
	old := debug.SetGCPercent(-1)
	defer debug.SetGCPercent(old)
	Set(64 << 20)
	defer Set(0)
	if p := gcPercent(); p != -1 {
		t.Fatalf("GOGC %d with GOGC=off and a floor, want -1", p)
	}
}
