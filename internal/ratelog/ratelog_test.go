package ratelog

import (
	"testing"
	"time"
)

func TestLimiterLetsOneLinePerIntervalWithACount(t *testing.T) {
	l := &Limiter{Interval: time.Second}
	t0 := time.Unix(1000, 0)
	steps := []struct {
		at        time.Duration
		ok        bool
		wantCount int
	}{
		{0, true, 1},                        // the first failure: a line
		{100 * time.Millisecond, false, 0},  // held
		{500 * time.Millisecond, false, 0},  // held
		{999 * time.Millisecond, false, 0},  // held
		{time.Second, true, 4},              // a line for itself and the 3 held
		{1500 * time.Millisecond, false, 0}, // held
		{5 * time.Second, true, 2},          // long after: a line at once
		{5*time.Second + time.Millisecond, false, 0},
	}
	for i, s := range steps {
		ok, count := l.allow(t0.Add(s.at))
		if ok != s.ok || count != s.wantCount {
			t.Fatalf("step %d at %v: allow = %v, %d; want %v, %d", i, s.at, ok, count, s.ok, s.wantCount)
		}
	}
	if held := l.Reset(); held != 1 {
		t.Fatalf("Reset = %d held, want 1", held)
	}
	if ok, count := l.allow(t0.Add(5*time.Second + 2*time.Millisecond)); !ok || count != 1 {
		t.Fatalf("after Reset allow = %v, %d; want a line at once", ok, count)
	}
}

func TestZeroLimiterUsesTheDefaultInterval(t *testing.T) {
	var l Limiter
	t0 := time.Unix(1000, 0)
	if ok, _ := l.allow(t0); !ok {
		t.Fatal("the first call was held")
	}
	if ok, _ := l.allow(t0.Add(Interval - time.Millisecond)); ok {
		t.Fatal("a second line within Interval")
	}
	if ok, count := l.allow(t0.Add(Interval)); !ok || count != 2 {
		t.Fatalf("after Interval allow = %v, %d; want a line for 2", ok, count)
	}
}
