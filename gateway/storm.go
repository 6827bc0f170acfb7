package gateway

import (
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wsgw/wsgw/internal/gcfloor"
)

// A connect storm leaves the heap full of what each upgrade allocated and
// dropped (net/http's per-connection buffers, the handshake's headers), and
// the runtime returns freed pages to the OS only gradually: 20 s after a
// storm of 15,000 connections, a quarter of the RSS per held connection was
// such memory (docs/BENCHMARKS.md, "Memory per idle connection"). So once
// a storm has passed, the gateway collects and returns it at once.
const (
	// stormUpgrades upgrades since the last release make a storm.
	stormUpgrades = 1000
	// stormOver: fewer upgrades than this in the last stormTick mean the
	// storm has passed.
	stormOver = 100
	stormTick = time.Second
)

// storms counts upgrades and decides when to release memory after a storm.
// It also lifts the collector's floor (runtime.gc_min_heap) while a storm
// lasts, from its stormOver-th upgrade in a tick to the first tick with
// fewer (gcfloor.Hold).
type storms struct {
	upgraded atomic.Int64
	last     atomic.Int64 // upgraded at the last tick; stored by the watching goroutine only
	holding  atomic.Bool  // the floor is held for a storm; set under holdMu
	holdMu   sync.Mutex   // pairs each gcfloor.Hold with one Release
	// Owned by the watching goroutine.
	atRelease int64
}

// upgrade counts an upgrade.
func (s *storms) upgrade() {
	n := s.upgraded.Add(1)
	if n-s.last.Load() >= stormOver && !s.holding.Load() {
		s.hold(true)
	}
}

// due is called every stormTick: it reports whether a storm has passed
// since the last release, and if so counts the release as done. A storm's
// hold on the floor ends on the first tick that saw fewer than stormOver
// upgrades.
func (s *storms) due() bool {
	n := s.upgraded.Load()
	quiet := n-s.last.Swap(n) < stormOver
	if quiet && s.holding.Load() {
		s.hold(false)
	}
	if quiet && n-s.atRelease >= stormUpgrades {
		s.atRelease = n
		return true
	}
	return false
}

// watch releases memory after each storm until stop is closed: a full
// collection, then every free page back to the OS (debug.FreeOSMemory).
// The collection marks the live heap once, concurrently with traffic
// (0.7–1 s of wall time for 15,000 connections on a busy 2-core box). Under a steady stream of upgrades it does
// nothing: the collector's own pacing serves that.
func (s *storms) watch(stop <-chan struct{}, released func(time.Duration)) {
	t := time.NewTicker(stormTick)
	defer t.Stop()
	for {
		select {
		case <-stop:
			s.hold(false)
			return
		case <-t.C:
		}
		if s.due() {
			start := time.Now()
			debug.FreeOSMemory()
			released(time.Since(start))
		}
	}
}

// hold starts or ends the storm's hold on the floor, once each.
func (s *storms) hold(on bool) {
	s.holdMu.Lock()
	defer s.holdMu.Unlock()
	if s.holding.Load() == on {
		return
	}
	s.holding.Store(on)
	if on {
		gcfloor.Hold()
	} else {
		gcfloor.Release()
	}
}
