package gateway

import (
	"fmt"
	"net/netip"
	"testing"
	"time"
)

func TestClientKey(t *testing.T) {
	tests := map[string]string{
		"192.0.2.7:5555":                 "192.0.2.7",
		"[::ffff:192.0.2.7]:5555":        "192.0.2.7", // v4-mapped is the v4 client
		"[2001:db8:1:2:3:4:5:6]:443":     "2001:db8:1:2::",
		"[2001:db8:1:2:ffff::1]:443":     "2001:db8:1:2::", // same /64, same client
		"[2001:db8:1:3::1]:443":          "2001:db8:1:3::",
		"[fe80::1%eth0]:80":              "fe80::",
		"2001:db8::1":                    "2001:db8::",
		"@":                              "invalid IP",
		"not an address":                 "invalid IP",
		"[2001:db8::1%25weird]:notaport": "invalid IP",
	}
	for remote, want := range tests {
		if got := clientKey(remote).String(); got != want {
			t.Errorf("clientKey(%q) = %s, want %s", remote, got, want)
		}
	}
}

func TestUpgradeLimiterBucket(t *testing.T) {
	l := newUpgradeLimiter(2, 3, 100)
	key := netip.MustParseAddr("192.0.2.1")
	now := time.Unix(1000, 0)
	for i := range 3 {
		if ok, _ := l.allow(key, now); !ok {
			t.Fatalf("request %d of the burst refused", i+1)
		}
	}
	ok, wait := l.allow(key, now)
	if ok || wait != 500*time.Millisecond {
		t.Fatalf("past the burst: allowed %v, wait %v; want refused, 500ms until the next token", ok, wait)
	}
	if ok, _ := l.allow(netip.MustParseAddr("192.0.2.2"), now); !ok {
		t.Fatal("another client was refused")
	}
	if ok, _ := l.allow(key, now.Add(500*time.Millisecond)); !ok {
		t.Fatal("refused after a token was refilled")
	}
	if ok, _ := l.allow(key, now.Add(500*time.Millisecond)); ok {
		t.Fatal("allowed twice on one refilled token")
	}
}

// TestUpgradeLimiterTableIsBounded floods the limiter from ten times more
// addresses than its table holds: it never holds more than its cap, and the
// sweeper's prune empties it once the buckets have refilled.
func TestUpgradeLimiterTableIsBounded(t *testing.T) {
	const max = 1000
	l := newUpgradeLimiter(1, 2, max)
	now := time.Unix(1000, 0)
	for i := range 10 * max {
		key := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		l.allow(key, now)
		if n := len(l.buckets); n > max {
			t.Fatalf("after %d addresses the table holds %d buckets, more than its cap %d", i+1, n, max)
		}
	}
	// A client that is being limited keeps its bucket through a prune...
	busy := netip.MustParseAddr("192.0.2.9")
	l.allow(busy, now.Add(time.Second))
	l.allow(busy, now.Add(time.Second))
	l.prune(now.Add(time.Second))
	if _, ok := l.buckets[busy]; !ok || len(l.buckets) != 1 {
		t.Fatalf("after a prune: %d buckets, busy kept %v; want only the busy one", len(l.buckets), ok)
	}
	// ...until its bucket has refilled too.
	l.prune(now.Add(time.Minute))
	if n := len(l.buckets); n != 0 {
		t.Fatalf("%d buckets left after every bucket refilled", n)
	}
}

func BenchmarkUpgradeLimiter(b *testing.B) {
	l := newUpgradeLimiter(10, 10, maxTrackedClients)
	keys := make([]netip.Addr, 4*maxTrackedClients)
	for i := range keys {
		keys[i] = netip.MustParseAddr(fmt.Sprintf("10.%d.%d.%d", i>>16, byte(i>>8), byte(i)))
	}
	now := time.Now()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		l.allow(keys[i%len(keys)], now)
	}
}
