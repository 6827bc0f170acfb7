package main

import (
	"context"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// runEcho measures message throughput and round-trip latency through an echo
// endpoint. With --rate 0 each connection plays ping-pong (the next message
// goes out when the previous echo is back: a closed loop that measures what
// the target can turn around); with --rate R each connection sends R msg/s
// on its own timer (an open loop that shows latency and loss at a fixed
// load). RTT comes from the send timestamp inside each message.
func runEcho(ctx context.Context, r *runner) (*Results, error) {
	rtt := newHistogram()
	// stopping guards the ping-pong's check-then-send: once the stopper holds
	// it, no reply is midway between "not stopped" and counting its send, so
	// the drain below sees every message that will go out.
	var stopping sync.RWMutex
	stopped := false
	var unrelated atomic.Int64
	size, pingPong := r.cfg.Size, r.cfg.Rate == 0
	f := newFleet(r, func(c *client, data []byte, at time.Time) {
		conn, _, ts, ok := parseMsg(data)
		if !ok || conn != c.id {
			unrelated.Add(1)
			return
		}
		rtt.Record(at.Sub(time.Unix(0, ts)))
		r.ctr.recv.Add(1)
		if pingPong {
			stopping.RLock()
			if !stopped {
				_ = c.send(size)
			}
			stopping.RUnlock()
		}
	})
	f.dial(ctx, 0)

	clients := f.connected()
	start := time.Now()
	sendCtx, cancel := context.WithTimeout(ctx, time.Duration(r.cfg.Duration))
	defer cancel()
	var wg sync.WaitGroup
	var attack *attackers
	if r.cfg.Attackers > 0 {
		attack = &attackers{r: r, target: r.attack, closes: map[string]int64{}}
		wg.Go(func() { attack.run(sendCtx) })
	}
	if pingPong {
		for _, c := range clients {
			_ = c.send(size)
		}
	} else {
		interval := time.Duration(float64(time.Second) / r.cfg.Rate)
		for _, c := range clients {
			wg.Go(func() { sendAtRate(sendCtx, c, interval, size) })
		}
	}
	<-sendCtx.Done()
	stopping.Lock()
	stopped = true
	stopping.Unlock()
	wg.Wait()
	window := time.Since(start)
	waitUntil(time.Duration(r.cfg.Drain), func() bool { return r.ctr.recv.Load() >= r.ctr.sent.Load() })
	f.closeAll()

	sent, recv := r.ctr.sent.Load(), r.ctr.recv.Load()
	res := &Results{
		ElapsedSec: window.Seconds(),
		Procs:      1,
		Conns:      f.connStats(),
		Messages: &MsgStats{
			Sent:       sent,
			Received:   recv,
			Lost:       max(sent-recv, 0),
			Unrelated:  unrelated.Load(),
			SentPerSec: float64(sent) / window.Seconds(),
			RecvPerSec: float64(recv) / window.Seconds(),
			RTT:        rtt.Snapshot(),
		},
		Errors: f.errs.counts(),
	}
	if attack != nil {
		res.Attack = attack.stats()
	}
	return res, nil
}

// sendAtRate sends one message per interval until ctx ends. The first send
// is delayed by a random fraction of the interval so that thousands of
// connections do not fire in bursts.
func sendAtRate(ctx context.Context, c *client, interval time.Duration, size int) {
	t := time.NewTimer(rand.N(interval) + 1)
	defer t.Stop()
	var next time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			if next.IsZero() || now.Sub(next) > interval {
				next = now // first send, or behind schedule: do not burst to catch up
			}
		}
		if c.send(size) != nil {
			return
		}
		next = next.Add(interval)
		t.Reset(max(time.Until(next), 0))
	}
}

// waitUntil polls done until it holds or grace has passed. It polls because
// replies arrive on thousands of read loops, and a signal per reply would
// cost more than a 10ms tick.
func waitUntil(grace time.Duration, done func() bool) {
	deadline := time.Now().Add(grace)
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for !done() && time.Now().Before(deadline) {
		<-t.C
	}
}
