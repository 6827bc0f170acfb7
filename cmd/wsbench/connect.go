package main

import (
	"context"
	"time"
)

// runConnect measures connection setup: it opens this process's share of
// --conns at --rate handshakes/s with --concurrency dialers, then closes
// them. Messages the target sends meanwhile (such as "Welcome") are ignored.
func runConnect(ctx context.Context, r *runner) (*Results, error) {
	start := time.Now()
	f := newFleet(r, func(*client, []byte, time.Time) {})
	f.dial(ctx, r.share.Rate)
	f.closeAll()
	return &Results{
		ElapsedSec: time.Since(start).Seconds(),
		Procs:      1,
		Conns:      f.connStats(),
		Errors:     f.errs.counts(),
	}, nil
}
