package gateway

import (
	"math"
	"net/netip"
	"sync"
	"time"
)

// clientKey is what the per-IP limits count by: the IPv4 address, or the
// /64 prefix of an IPv6 address. One IPv6 host normally holds a whole /64;
// counting by address would let it spread over 2^64 keys. An address that
// does not parse (not TCP) gets the zero key, shared by all such clients.
func clientKey(remoteAddr string) netip.Addr {
	var a netip.Addr
	if ap, err := netip.ParseAddrPort(remoteAddr); err == nil {
		a = ap.Addr()
	} else if a, err = netip.ParseAddr(remoteAddr); err != nil {
		return netip.Addr{}
	}
	a = a.Unmap().WithZone("")
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.Addr()
	}
	return a
}

// maxTrackedClients bounds the upgrade limiter's table: 65536 buckets of
// about 60 bytes each, a few MiB at most whatever the number of addresses.
const maxTrackedClients = 1 << 16

// upgradeLimiter is a token bucket of upgrade requests per client key.
//
// Its table cannot grow without bound under a flood from many addresses: a
// bucket that has filled up again says nothing a missing bucket would not,
// so the sweeper prunes those; and when the table is full, a new client
// evicts an arbitrary one (Go randomises map iteration). The worst a flood
// from more addresses than the table holds can do is reset other clients'
// buckets, which lets them burst again; it cannot exhaust memory.
type upgradeLimiter struct {
	rate  float64 // tokens a second
	burst float64
	max   int

	mu      sync.Mutex
	buckets map[netip.Addr]bucket
}

type bucket struct {
	tokens float64
	last   int64 // Unix ns of the last refill
}

func newUpgradeLimiter(perSecond float64, burst, max int) *upgradeLimiter {
	return &upgradeLimiter{rate: perSecond, burst: float64(burst), max: max, buckets: make(map[netip.Addr]bucket)}
}

// allow takes a token for key, or reports how long until the next one.
func (l *upgradeLimiter) allow(key netip.Addr, now time.Time) (bool, time.Duration) {
	ns := now.UnixNano()
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[key]
	if !ok {
		if len(l.buckets) >= l.max {
			for k := range l.buckets {
				delete(l.buckets, k)
				break
			}
		}
		b = bucket{tokens: l.burst, last: ns}
	}
	b.tokens = l.refill(b, ns)
	b.last = ns
	if b.tokens < 1 {
		l.buckets[key] = b
		return false, time.Duration((1 - b.tokens) / l.rate * float64(time.Second))
	}
	b.tokens--
	l.buckets[key] = b
	return true, 0
}

func (l *upgradeLimiter) refill(b bucket, ns int64) float64 {
	elapsed := float64(max(ns-b.last, 0)) / float64(time.Second)
	return math.Min(l.burst, b.tokens+elapsed*l.rate)
}

// prune forgets the buckets that have filled up again.
func (l *upgradeLimiter) prune(now time.Time) {
	ns := now.UnixNano()
	l.mu.Lock()
	defer l.mu.Unlock()
	for k, b := range l.buckets {
		if l.refill(b, ns) >= l.burst {
			delete(l.buckets, k)
		}
	}
}
