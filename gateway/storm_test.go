package gateway

import "testing"

// TestStormRelease: memory is released once after stormUpgrades upgrades
// when a tick sees fewer than stormOver new ones, never while they keep
// coming, and not again until another storm.
func TestStormRelease(t *testing.T) {
	var s storms
	for i, step := range []struct {
		upgrades int64 // new upgrades before this tick
		want     bool
	}{
		{stormUpgrades - 1, false},         // not a storm yet, however quiet
		{0, false},                         // still not one
		{stormOver, false},                 // a storm, still going
		{stormOver * 3, false},             // still going
		{stormOver - 1, true},              // over: release
		{0, false},                         // released once
		{stormUpgrades - stormOver, false}, // the next storm, going
		{stormOver, false},
		{0, true},
		{stormOver / 2, false},
	} {
		s.upgraded.Add(step.upgrades)
		if got := s.due(); got != step.want {
			t.Fatalf("tick %d (+%d upgrades): due = %v, want %v", i, step.upgrades, got, step.want)
		}
	}
}

// TestStormHoldsTheFloor: the collector's floor is held from the
// stormOver-th upgrade within a tick until a tick that saw fewer.
func TestStormHoldsTheFloor(t *testing.T) {
	var s storms
	upgrade := func(n int) {
		for range n {
			s.upgrade()
		}
	}
	for i, step := range []struct {
		upgrades int
		tick     bool // a tick after the upgrades
		want     bool
	}{
		{stormOver - 1, false, false}, // not yet a storm
		{1, false, true},              // stormOver in this tick
		{stormOver * 2, true, true},   // the tick saw a storm still going
		{stormOver, true, true},
		{stormOver - 1, true, false}, // a quiet tick ends it
		{stormOver - 1, false, false},
		{0, true, false},
	} {
		upgrade(step.upgrades)
		if step.tick {
			s.due()
		}
		if got := s.holding.Load(); got != step.want {
			t.Fatalf("step %d: holding = %v, want %v", i, got, step.want)
		}
	}
}
