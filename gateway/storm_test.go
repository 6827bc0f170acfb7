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
