package gateway

import "time"

// allow spends a token of c's bucket on a frame read at now. Without one,
// on_exceed decides: drop (false), close with 1008 (false), or delay, which
// holds the read loop until a token is free (true) and refuses the frame
// (false) only when the connection is closed meanwhile or has been held back
// for longer than max_delay. It runs on c's read loop.
func (g *Gateway) allow(c *conn, now time.Time) bool {
	l := g.opts.Limits
	if l.OnExceed != ExceedDelay {
		if c.limiter.AllowN(now, 1) {
			return true
		}
		if l.OnExceed == ExceedClose {
			_ = c.Close(1008, "rate limit exceeded")
		}
		return false
	}
	r := c.limiter.ReserveN(now, 1)
	wait := r.DelayFrom(now)
	if wait == 0 {
		c.heldSince = 0
		return true
	}
	if c.heldSince == 0 {
		c.heldSince = now.UnixNano()
	}
	if held := time.Duration(now.UnixNano() - c.heldSince); held+wait > l.MaxDelay {
		r.CancelAt(now)
		g.log.Info("rate limit: connection held back too long", "socket_id", c.info.ID, "route", c.info.Route,
			"held", held.Round(time.Millisecond), "max_delay", l.MaxDelay)
		_ = c.Close(1008, "rate limit exceeded")
		return false
	}
	g.metrics.MessagesDelayed.Inc()
	if !c.sleep(wait) {
		r.CancelAt(time.Now())
		return false
	}
	c.lastSeen.Store(time.Now().UnixNano()) // the client was not quiet: the gateway was not reading
	return true
}

// sleep holds the read loop for d, or until the connection closes; it
// reports whether d passed. The wake channel is made the first time a
// connection is held back, so connections that never are pay nothing.
func (c *conn) sleep(d time.Duration) bool {
	c.mu.Lock()
	if c.closeCode != 0 {
		c.mu.Unlock()
		return false
	}
	if c.wake == nil {
		c.wake = make(chan struct{})
	}
	wake := c.wake
	c.mu.Unlock()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-wake:
		return false
	}
}
