package main

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// target is a listed socket ID known to belong to one of our clients.
type target struct {
	id   string
	path string // sendPath(id), formatted once
	c    *client
}

// runRESTSend measures the admin API's send endpoint end to end. The admin
// list holds every socket of the gateway and nothing tells which are ours,
// so after connecting it sends a probe carrying a run nonce and the list
// index to every listed ID and maps each of our clients to the ID whose
// probe it received. It then posts messages to random mapped sockets with
// --rest-concurrency keep-alive clients at --rate for --duration, and counts
// what arrives at the addressed client.
func runRESTSend(ctx context.Context, r *runner) (*Results, error) {
	sm := newSocketMap(newNonce(r.share.Index))
	api := newAdminAPI(r)
	delivery := newHistogram()
	var arrived, misrouted, unrelated atomic.Int64
	f := newFleet(r, func(c *client, data []byte, at time.Time) {
		if idx, ok := parseProbe(data, sm.nonce); ok {
			sm.onProbe(c, idx)
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
	conns := len(f.connected())
	if conns == 0 {
		return nil, errors.New("rest-send: no WebSocket connection could be opened")
	}
	targets, listed, err := sm.build(ctx, api, conns, r.share.RESTConc, time.Duration(r.cfg.Drain))
	if err != nil {
		return nil, err
	}
	slog.Info("mapped socket IDs to this run's connections", "listed", listed, "matched", len(targets), "connections", conns)
	if len(targets) == 0 {
		return nil, fmt.Errorf("rest-send: none of the %d listed socket IDs reached this run's connections", listed)
	}

	lat := newHistogram()
	status := newReasons("REST send")
	var ok, requests atomic.Int64
	start := time.Now()
	sendCtx, cancel := context.WithTimeout(ctx, time.Duration(r.cfg.Duration))
	defer cancel()
	p := newPacer(r.share.Rate, 0)
	clients := make([]restClient, r.share.RESTConc)
	for i := range clients {
		if clients[i], err = newRESTClient(r, api); err != nil {
			return nil, err
		}
		defer clients[i].Close()
	}
	var wg sync.WaitGroup
	for _, rc := range clients {
		wg.Go(func() {
			var buf []byte
			items := make([]batchItem, r.cfg.Batch)
			for {
				seq, more := p.wait(sendCtx)
				if !more {
					return
				}
				requests.Add(1)
				if len(items) > 0 {
					for i := range items {
						t := targets[rand.IntN(len(targets))]
						items[i].t, items[i].msg = t, appendMsg(items[i].msg, t.c.id, seq, time.Now().UnixNano(), r.cfg.Size)
					}
					r.ctr.sent.Add(int64(len(items)))
					t0 := time.Now()
					queued, code, err := rc.sendBatch(ctx, items)
					lat.Record(time.Since(t0))
					ok.Add(int64(queued))
					if err == nil && queued < len(items) {
						err = fmt.Errorf("batch: %d of %d items refused", len(items)-queued, len(items))
					}
					countAnswer(r, status, code, err)
					continue
				}
				t := targets[rand.IntN(len(targets))]
				buf = appendMsg(buf, t.c.id, seq, time.Now().UnixNano(), r.cfg.Size)
				r.ctr.sent.Add(1)
				t0 := time.Now()
				code, err := rc.send(ctx, t, buf)
				lat.Record(time.Since(t0))
				if err == nil {
					ok.Add(1)
				}
				countAnswer(r, status, code, err)
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
			Listed:      int64(listed),
			Matched:     int64(len(targets)),
			Requests:    requests.Load(),
			OK:          ok.Load(),
			PerSec:      float64(requests.Load()) / window,
			Batch:       r.cfg.Batch,
			Messages:    r.ctr.sent.Load(),
			MsgsPerSec:  float64(r.ctr.sent.Load()) / window,
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

// countAnswer counts one request's answer by status: code, or the error of
// a request that failed or had items refused.
func countAnswer(r *runner, status *reasons, code int, err error) {
	switch {
	case err != nil && code == 0:
		r.ctr.errors.Add(1)
		status.add("error:"+classify(err, nil), err)
	case err != nil:
		r.ctr.errors.Add(1)
		status.add(strconv.Itoa(code), err)
	default:
		status.add(strconv.Itoa(code), nil)
	}
}

// mapRounds bounds how often the socket list is fetched and probed.
const mapRounds = 3

// socketMap learns which listed socket ID belongs to which client: probe i
// goes to ids[i], and the client that receives it owns that ID.
type socketMap struct {
	nonce   string
	mu      sync.Mutex
	want    int      // this run's connections
	ids     []string // every ID probed so far
	seen    map[string]bool
	known   []target
	matched int
	all     chan struct{} // closed when every connection is matched
}

func newSocketMap(nonce string) *socketMap {
	return &socketMap{nonce: nonce, seen: map[string]bool{}, all: make(chan struct{})}
}

// onProbe records that client c received probe idx.
func (m *socketMap) onProbe(c *client, idx int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if idx >= len(m.ids) || !c.done.CompareAndSwap(false, true) {
		return
	}
	m.known = append(m.known, target{id: m.ids[idx], path: sendPath(m.ids[idx]), c: c})
	if m.matched++; m.matched == m.want {
		close(m.all)
	}
}

// build lists the gateway's sockets, probes the IDs not probed yet with conc
// workers and waits up to grace for every connection to be matched. A
// gateway may list a socket only a little after its handshake completes, so
// while some connections are unmatched it lists and probes again, up to
// mapRounds times. It returns the matched sockets and how many were listed.
func (m *socketMap) build(ctx context.Context, api *adminAPI, want, conc int, grace time.Duration) ([]target, int, error) {
	m.mu.Lock()
	m.want = want
	m.mu.Unlock()
	for range mapRounds {
		listed, err := api.list(ctx)
		if err != nil {
			return nil, 0, err
		}
		m.mu.Lock()
		first := len(m.ids)
		for _, id := range listed {
			if !m.seen[id] {
				m.seen[id] = true
				m.ids = append(m.ids, id)
			}
		}
		fresh := m.ids[first:len(m.ids):len(m.ids)]
		m.mu.Unlock()
		if len(fresh) == 0 {
			break
		}
		if err := probe(ctx, api, fresh, first, m.nonce, conc); err != nil {
			return nil, 0, err
		}
		t := time.NewTimer(grace)
		select {
		case <-m.all:
		case <-t.C:
		case <-ctx.Done():
		}
		t.Stop()
		if m.done() {
			break
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.matched < m.want {
		slog.Warn("some connections received no probe and are left out", "unmatched", m.want-m.matched)
	}
	return slices.Clone(m.known), len(m.seen), nil
}

// done reports whether every connection is matched.
func (m *socketMap) done() bool {
	select {
	case <-m.all:
		return true
	default:
		return false
	}
}

// probe sends probe first+i to ids[i] with conc workers. Probes to sockets
// of others are expected; a refused probe matters only if it was one of
// ours, which then stays unmatched.
func probe(ctx context.Context, api *adminAPI, ids []string, first int, nonce string, conc int) error {
	p := newPacer(0, int64(len(ids)))
	var wg sync.WaitGroup
	for range conc {
		wg.Go(func() {
			for {
				i, more := p.wait(ctx)
				if !more {
					return
				}
				if code, err := api.send(ctx, ids[i], probeMsg(nonce, first+int(i))); err != nil || code/100 != 2 {
					slog.Debug("probe not accepted", "id", ids[i], "status", code, "err", err)
				}
			}
		})
	}
	wg.Wait()
	if ctx.Err() != nil {
		return fmt.Errorf("rest-send: probing interrupted: %w", ctx.Err())
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
