// Package gcfloor keeps the garbage collector's heap goal at or above a
// floor. With GOGC alone the goal is twice the live heap, and a gateway's
// live heap is small until it holds many connections: at 1,000 sockets it
// is about 4 MB, so message traffic was collected every 5 MB of garbage,
// five times a second, and every collection scans every connection's
// goroutine stack (docs/BENCHMARKS.md, "The collector's floor"). Above the
// floor GOGC applies unchanged; the memory limit (GOMEMLIMIT,
// runtime.memory_limit) still wins over both.
package gcfloor

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
)

var (
	mu      sync.Mutex
	floor   uint64 // bytes; 0 = none
	base    int    // GOGC as it was before the floor first took over
	armed   bool   // a sentinel waits for the next collection
	held    int    // Hold calls not yet released: the floor is lifted meanwhile
	samples = []metrics.Sample{
		{Name: "/gc/heap/live:bytes"},
		{Name: "/gc/scan/stack:bytes"},
		{Name: "/gc/scan/globals:bytes"},
	}
	// adjusted is called after each adjustment made after a collection;
	// tests wait on it.
	adjusted = func() {}
)

// Set makes min the process's heap floor in bytes and returns the previous
// one; 0 removes the floor and gives GOGC back its own value. With GOGC=off
// there is nothing to raise, and Set changes nothing.
func Set(min uint64) uint64 {
	mu.Lock()
	defer mu.Unlock()
	prev := floor
	if min == 0 && prev == 0 {
		return 0 // no floor, and none to remove: GOGC is left untouched
	}
	if prev == 0 {
		base = debug.SetGCPercent(100)
		debug.SetGCPercent(base)
	}
	floor = min
	if base < 0 {
		floor = 0
		return prev
	}
	adjustLocked()
	if floor > 0 && !armed {
		arm()
	}
	return prev
}

// Hold lifts the floor until as many calls of Release, leaving GOGC alone
// to pace the collector. A connect storm wants that: collected at GOGC's
// pace, what each upgrade drops is reused for the next connections; left
// until the floor is reached, it is freed all at once, scattered between
// the connections that stay, and the spans it leaves half-empty are never
// returned (docs/BENCHMARKS.md, "The collector's floor").
func Hold() { addHold(1) }

// Release ends a Hold.
func Release() { addHold(-1) }

// addHold counts a Hold (+1) or Release (-1), and resets GOGC when the
// floor is lifted or comes back.
func addHold(n int) {
	mu.Lock()
	defer mu.Unlock()
	was := held > 0
	held += n
	if was != (held > 0) && floor > 0 {
		adjustLocked()
	}
}

// sentinel is an object only a collection's cleanup sees: its pointer
// field keeps it out of the tiny allocator, whose blocks may outlive it.
type sentinel struct {
	_ *byte
	_ [8]byte
}

// arm asks for a call of collected after the next collection.
func arm() {
	armed = true
	runtime.AddCleanup(new(sentinel), collected, 0)
}

// collected runs after each collection while a floor is set.
func collected(int) {
	mu.Lock()
	armed = false
	if floor > 0 {
		adjustLocked()
		arm()
	}
	mu.Unlock()
	adjusted()
}

// adjustLocked sets GOGC for the live heap the last collection found.
func adjustLocked() {
	if floor == 0 || held > 0 {
		debug.SetGCPercent(base)
		return
	}
	metrics.Read(samples)
	debug.SetGCPercent(percentFor(floor, samples[0].Value.Uint64(), samples[1].Value.Uint64()+samples[2].Value.Uint64(), base))
}

// percentFor is the GOGC that puts the heap goal at floor, and never below
// base. The runtime's goal is live + (live + roots) × GOGC/100, roots being
// the stacks and globals the last collection scanned.
func percentFor(floor, live, roots uint64, base int) int {
	if floor <= live {
		return base
	}
	work := live + roots
	if work == 0 {
		work = 1
	}
	p := (floor - live) * 100
	p = (p + work - 1) / work
	const most = 1 << 30 // SetGCPercent's int32 bound, with room
	if p > most {
		p = most
	}
	return max(base, int(p))
}
