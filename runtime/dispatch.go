package runtime

import "context"

// dispatch carries one event from its caller to a worker and back.
type dispatch struct {
	h    *Handler
	ev   Event
	err  error
	done chan struct{}
}

// Dispatch runs h for ev on one of the engine's worker goroutines (one per
// runtime of the pool) and waits for it, so that the caller's events stay
// serial. Scripts run on the workers' stacks rather than the callers': a
// gateway calls from each connection's read loop, and goja's deep frames
// would otherwise grow every idle connection's goroutine stack, which
// costs more memory across many connections than the hand-off costs time
// (docs/BENCHMARKS.md, "Memory per idle connection"). It returns ErrClosed
// once the engine is closed.
func (e *Engine) Dispatch(h *Handler, ev *Event) error {
	d := e.dispatches.Get().(*dispatch)
	d.h, d.ev = h, *ev
	defer func() {
		d.h, d.ev, d.err = nil, Event{}, nil
		e.dispatches.Put(d)
	}()
	select {
	case e.work <- d:
	case <-e.done:
		return ErrClosed
	}
	<-d.done
	return d.err
}

// worker runs dispatched events until the engine closes.
func (e *Engine) worker() {
	for {
		select {
		case d := <-e.work:
			d.err = e.Run(context.Background(), d.h, &d.ev)
			d.done <- struct{}{}
		case <-e.done:
			return
		}
	}
}
