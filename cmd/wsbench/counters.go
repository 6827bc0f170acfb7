package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/lxzan/gws"
)

// counters are the live totals of one process, read by the progress line.
type counters struct {
	conns  atomic.Int64 // open now
	sent   atomic.Int64
	recv   atomic.Int64
	errors atomic.Int64
}

// progressSnap is a copy of counters; a child sends one to its parent each
// second.
type progressSnap struct {
	Conns  int64 `json:"conns"`
	Sent   int64 `json:"sent"`
	Recv   int64 `json:"recv"`
	Errors int64 `json:"errors"`
}

func (c *counters) snap() progressSnap {
	return progressSnap{Conns: c.conns.Load(), Sent: c.sent.Load(), Recv: c.recv.Load(), Errors: c.errors.Load()}
}

// reasons counts events by reason and logs the first error of each reason
// in full, so a summary can say "refused: 120" and the log says why.
type reasons struct {
	name string
	mu   sync.Mutex
	m    map[string]int64
}

func newReasons(name string) *reasons { return &reasons{name: name, m: map[string]int64{}} }

func (r *reasons) add(reason string, err error) {
	r.mu.Lock()
	r.m[reason]++
	first := r.m[reason] == 1
	r.mu.Unlock()
	if first && err != nil {
		slog.Warn(r.name, "reason", reason, "err", err)
	}
}

// counts returns a copy, nil when empty.
func (r *reasons) counts() map[string]int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return addCounts(r.m, nil)
}

// classify turns an error from dialing, a handshake or a request into a
// short reason; resp is the handshake's HTTP response when there was one.
func classify(err error, resp *http.Response) string {
	var nerr net.Error
	switch {
	case resp != nil && resp.StatusCode != http.StatusSwitchingProtocols:
		return fmt.Sprintf("http_%d", resp.StatusCode)
	case errors.Is(err, gws.ErrSubprotocolNegotiation):
		return "no_subprotocol"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "refused"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return "reset"
	case errors.Is(err, syscall.EADDRNOTAVAIL), errors.Is(err, syscall.EADDRINUSE):
		return "no_ephemeral_port"
	case errors.Is(err, syscall.EMFILE), errors.Is(err, syscall.ENFILE):
		return "too_many_open_files"
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded),
		errors.As(err, &nerr) && nerr.Timeout():
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "eof"
	default:
		return "other"
	}
}
