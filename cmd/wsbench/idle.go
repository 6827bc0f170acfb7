package main

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"
)

// runIdle opens and holds connections to measure what an idle connection
// costs the target: RSS of --pid and kernel TCP memory, before connecting and
// with all held. With --warm each connection first sends one message and
// waits for its echo, so that the target has touched its per-connection
// buffers as a live connection would.
func runIdle(ctx context.Context, r *runner) (*Results, error) {
	start := time.Now()
	var before memSample
	if r.link == nil { // in a child process, the parent samples once for all children
		var err error
		if before, err = sampleMem(r.cfg.PIDs); err != nil {
			return nil, err
		}
	}
	var warmLeft atomic.Int64
	warmed := make(chan struct{})
	var unrelated atomic.Int64
	f := newFleet(r, func(c *client, data []byte, _ time.Time) {
		if conn, _, _, ok := parseMsg(data); !ok || conn != c.id {
			unrelated.Add(1)
			return
		}
		r.ctr.recv.Add(1)
		if c.done.CompareAndSwap(false, true) && warmLeft.Add(-1) == 0 {
			close(warmed)
		}
	})
	f.dial(ctx, r.share.Rate)
	if clients := f.connected(); r.cfg.Warm && len(clients) > 0 {
		warmLeft.Store(int64(len(clients)))
		for _, c := range clients {
			if c.send(r.cfg.Size) != nil && warmLeft.Add(-1) == 0 {
				close(warmed)
			}
		}
		t := time.NewTimer(time.Duration(r.cfg.Drain))
		select {
		case <-warmed:
		case <-t.C:
			slog.Warn("warm-up echoes missing after --drain", "missing", warmLeft.Load())
		case <-ctx.Done():
		}
		t.Stop()
	}

	held := r.ctr.conns.Load()
	var mem *MemStats
	var err error
	if r.link != nil {
		_, err = r.link.holdBarrier(ctx, held)
	} else {
		mem, err = holdPhase(ctx, r.cfg, before, held)
	}
	f.closeAll()
	if err != nil {
		return nil, err
	}
	sent, recv := r.ctr.sent.Load(), r.ctr.recv.Load()
	return &Results{
		ElapsedSec: time.Since(start).Seconds(),
		Procs:      1,
		Conns:      f.connStats(),
		Messages:   &MsgStats{Sent: sent, Received: recv, Lost: max(sent-recv, 0), Unrelated: unrelated.Load()},
		Memory:     mem,
		Errors:     f.errs.counts(),
	}, nil
}
