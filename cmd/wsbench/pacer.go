package main

import (
	"context"
	"sync/atomic"
	"time"
)

// pacer spaces events for an open-loop rate shared by several workers: the
// i-th event is due at start + i/rate, whichever worker takes it. A slow
// worker therefore does not lower the offered rate while others are free,
// and no token-bucket goroutine is needed. Rate 0 means no spacing; limit 0
// means no limit on the number of events.
type pacer struct {
	start    time.Time
	interval time.Duration
	limit    int64
	next     atomic.Int64
}

func newPacer(rate float64, limit int64) *pacer {
	p := &pacer{start: time.Now(), limit: limit}
	if rate > 0 {
		p.interval = time.Duration(float64(time.Second) / rate)
	}
	return p
}

// wait takes the next event number and blocks until it is due; it returns
// false when the limit is reached or ctx ends first.
func (p *pacer) wait(ctx context.Context) (int64, bool) {
	i := p.next.Add(1) - 1
	if p.limit > 0 && i >= p.limit {
		return i, false
	}
	if p.interval > 0 {
		if d := time.Until(p.start.Add(time.Duration(i) * p.interval)); d > 0 {
			t := time.NewTimer(d)
			defer t.Stop()
			select {
			case <-t.C:
			case <-ctx.Done():
				return i, false
			}
		}
	}
	return i, ctx.Err() == nil
}
