package main

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// target is a listed socket ID known to belong to one of our clients.
type target struct {
	id string
	c  *client
}

// runRESTSend measures the admin API's send endpoint end to end. The admin
// list holds every socket of the gateway and nothing tells which are ours,
// so after connecting it sends a probe carrying a run nonce and the list
// index to every listed ID and maps each of our clients to the ID whose
// probe it received. It then posts messages to random mapped sockets with
// --rest-concurrency keep-alive clients at --rate for --duration, and counts
// what arrives at the addressed client.
func runRESTSend(ctx context.Context, r *runner) (*Results, error) {
	nonce := newNonce(r.share.Index)
	api := newAdminAPI(r)
	delivery := newHistogram()
	var (
		mu                  sync.Mutex
		ids                 []string
		known               []target
		arrived, misrouted  atomic.Int64
		unrelated, matchedN atomic.Int64
	)
	allMatched := make(chan struct{})
	f := newFleet(r, func(c *client, data []byte, at time.Time) {
		if idx, ok := parseProbe(data, nonce); ok {
			mu.Lock()
			if idx < len(ids) && c.done.CompareAndSwap(false, true) {
				known = append(known, target{id: ids[idx], c: c})
				if matchedN.Add(1) == int64(len(c.f.connected())) {
					close(allMatched)
				}
			}
			mu.Unlock()
			return
		}
		conn, _, ts, ok := parseMsg(data)
		switch {
		case !ok:
			unrelated.Add(1)
		case conn != c.id:
			misrouted.Add(1)
		default:
			arrived.Add(1)
			r.ctr.recv.Add(1)
			delivery.Record(at.Sub(time.Unix(0, ts)))
		}
	})
	f.dial(ctx, 0)
	defer f.closeAll()
	if len(f.connected()) == 0 {
		return nil, errors.New("rest-send: no WebSocket connection could be opened")
	}

	listed, err := api.list(ctx)
	if err != nil {
		return nil, err
	}
	mu.Lock()
	ids = listed
	mu.Unlock()
	if err := probe(ctx, api, listed, nonce, r.share.RESTConc, time.Duration(r.cfg.Drain), allMatched); err != nil {
		return nil, err
	}
	mu.Lock()
	targets := known
	mu.Unlock()
	slog.Info("mapped socket IDs to this run's connections", "listed", len(listed), "matched", len(targets), "connections", len(f.connected()))
	if len(targets) == 0 {
		return nil, fmt.Errorf("rest-send: none of the %d listed socket IDs reached this run's connections", len(listed))
	}

	lat := newHistogram()
	status := newReasons("REST send")
	var ok atomic.Int64
	start := time.Now()
	sendCtx, cancel := context.WithTimeout(ctx, time.Duration(r.cfg.Duration))
	defer cancel()
	p := newPacer(r.share.Rate, 0)
	var wg sync.WaitGroup
	for range r.share.RESTConc {
		wg.Go(func() {
			var buf []byte
			for {
				seq, more := p.wait(sendCtx)
				if !more {
					return
				}
				t := targets[rand.IntN(len(targets))]
				buf = appendMsg(buf, t.c.id, seq, time.Now().UnixNano(), r.cfg.Size)
				r.ctr.sent.Add(1)
				t0 := time.Now()
				code, err := api.send(ctx, t.id, string(buf))
				lat.Record(time.Since(t0))
				switch {
				case err != nil:
					r.ctr.errors.Add(1)
					status.add("error:"+classify(err, nil), err)
				case code/100 == 2:
					ok.Add(1)
					status.add(strconv.Itoa(code), nil)
				default:
					r.ctr.errors.Add(1)
					status.add(strconv.Itoa(code), fmt.Errorf("send to %s: HTTP %d", t.id, code))
				}
			}
		})
	}
	wg.Wait()
	window := time.Since(start).Seconds()
	waitUntil(time.Duration(r.cfg.Drain), func() bool { return arrived.Load() >= ok.Load() })

	return &Results{
		ElapsedSec: window,
		Procs:      1,
		Conns:      f.connStats(),
		Messages:   &MsgStats{Received: arrived.Load(), Unrelated: unrelated.Load()},
		REST: &RESTStats{
			Listed:      int64(len(listed)),
			Matched:     int64(len(targets)),
			Requests:    r.ctr.sent.Load(),
			OK:          ok.Load(),
			PerSec:      float64(r.ctr.sent.Load()) / window,
			Latency:     lat.Snapshot(),
			Status:      status.counts(),
			Arrived:     arrived.Load(),
			Misrouted:   misrouted.Load(),
			Lost:        max(ok.Load()-arrived.Load(), 0),
			Delivery:    delivery.Snapshot(),
			ArrivedPSec: float64(arrived.Load()) / window,
		},
		Errors: f.errs.counts(),
	}, nil
}

// probe sends probe i to ids[i] with conc workers, then waits up to grace for
// every connection of this run to have received one. Probes to sockets of
// others are expected; a failed probe matters only if one of ours misses it.
func probe(ctx context.Context, api *adminAPI, ids []string, nonce string, conc int, grace time.Duration, allMatched <-chan struct{}) error {
	p := newPacer(0, int64(len(ids)))
	var failed atomic.Int64
	var wg sync.WaitGroup
	for range conc {
		wg.Go(func() {
			for {
				i, more := p.wait(ctx)
				if !more {
					return
				}
				if code, err := api.send(ctx, ids[i], probeMsg(nonce, int(i))); err != nil || code/100 != 2 {
					failed.Add(1)
					slog.Debug("probe not accepted", "id", ids[i], "status", code, "err", err)
				}
			}
		})
	}
	wg.Wait()
	if ctx.Err() != nil {
		return fmt.Errorf("rest-send: probing interrupted: %w", ctx.Err())
	}
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-allMatched:
	case <-t.C:
		slog.Warn("some connections received no probe; they are left out", "probes_refused", failed.Load())
	case <-ctx.Done():
	}
	return nil
}

// newNonce makes probes of this run and process distinguishable from any
// other's, including sibling child processes probing the same sockets.
func newNonce(proc int) string {
	var b [6]byte
	_, _ = crand.Read(b[:])
	return hex.EncodeToString(b[:]) + "-" + strconv.Itoa(proc)
}
