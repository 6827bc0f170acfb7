package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sort"
	"sync/atomic"
	"time"

	"github.com/wsgw/wsgw/stomp"
)

// runFanout measures the fan-out of one group. This process's share of
// --conns members connects to the --url targets in turn and joins the
// group: a plain member is in once it receives its first message that is
// not a publish (the /sub endpoint joins on open, then sends "joined"); a
// STOMP member once the RECEIPT of its SUBSCRIBE arrives. Then one
// publisher sends --rate publishes/s for --duration, each carrying its
// sequence number and send time, and every member records the
// publish-to-receive latency and checks its sequence for gaps, repeats and
// disorder. With --procs the parent runs the publisher while its children
// hold the members (runParent), and tells them how many publishes to wait for.
func runFanout(ctx context.Context, r *runner) (*Results, error) {
	start := time.Now()
	ms := newMemberSet(r)
	ms.f.dial(ctx, 0)
	ready := ms.awaitReady(time.Duration(r.cfg.DialTimeout))
	var pub *publisher
	var accepted int64
	var err error
	if r.link != nil {
		var rel []byte
		if rel, err = r.link.holdBarrier(ctx, ready); err == nil && len(rel) > 0 {
			var m releaseMsg
			if err = json.Unmarshal(rel, &m); err != nil {
				err = fmt.Errorf("read the parent's release: %w", err)
			}
			accepted = m.Accepted
		}
	} else if pub, _, err = publishPhase(ctx, r, ready); err == nil {
		accepted = pub.accepted()
	}
	if err == nil {
		ms.drain(accepted, time.Duration(r.cfg.Drain))
	}
	ms.f.closeAll()
	if pub != nil {
		pub.close()
	}
	if err != nil {
		return nil, err
	}
	res := ms.results(start)
	if pub != nil {
		res.Fanout = res.Fanout.add(pub.stats())
		res.Fanout.finalize()
	}
	return res, nil
}

// releaseMsg is what a parent writes to each fanout child once publishing
// is over: how many publishes every member should receive.
type releaseMsg struct {
	Accepted int64 `json:"accepted"`
}

// errNoMemberReady explains a fan-out in which no member joined the group.
func errNoMemberReady(cfg *Config) error {
	if cfg.STOMP {
		return fmt.Errorf("fanout: no member got the RECEIPT of its SUBSCRIBE to %q within --dial-timeout %s (is %s a STOMP endpoint?)",
			cfg.Group, cfg.DialTimeout, cfg.URL)
	}
	return fmt.Errorf("fanout: no member was told it joined within --dial-timeout %s: the endpoint at %s must join the group on open, then send a message (scripts/bench/sub.js sends %q)",
		cfg.DialTimeout, cfg.URL, readyMsg)
}

// memberSet is the members of one process. Each member's messages are
// handled by its own read loop, one at a time, so its state needs no lock;
// what other goroutines read (ready, measured and the totals) is atomic.
type memberSet struct {
	r         *runner
	f         *fleet
	m         []member // by connection index minus this process's offset
	lat       *Histogram
	readyN    atomic.Int64
	measuredN int64
	distinct  atomic.Int64
	unrelated atomic.Int64
}

// member is one member's state.
type member struct {
	ready    atomic.Bool // in the group
	measured atomic.Bool // was in the group when publishing began: only these count
	seq      seqTracker
	dups     int64
	late     int64
	recv     int64
	last     int64 // unix ns of the last publish received
	stomp    stomp.Decoder
}

func newMemberSet(r *runner) *memberSet {
	ms := &memberSet{r: r, m: make([]member, r.share.Conns), lat: newHistogram()}
	if r.cfg.STOMP {
		ms.f = newFleet(r, ms.onSTOMP)
		ms.f.header = stompHeader()
		ms.f.onOpen = ms.stompConnect
	} else {
		ms.f = newFleet(r, ms.onPlain)
	}
	return ms
}

func (ms *memberSet) member(c *client) *member { return &ms.m[c.id-int64(ms.r.share.Offset)] }

// setReady marks a member as in the group, once.
func (ms *memberSet) setReady(m *member) {
	if m.ready.CompareAndSwap(false, true) {
		ms.readyN.Add(1)
	}
}

// onPlain handles a message to a plain member: a publish, or before the
// first publish the message that says the member joined.
func (ms *memberSet) onPlain(c *client, data []byte, at time.Time) {
	m := ms.member(c)
	if seq, ts, ok := parsePub(data); ok {
		ms.deliver(m, seq, ts, at)
		return
	}
	if !m.ready.Load() {
		ms.setReady(m)
		return
	}
	ms.unrelated.Add(1)
}

// deliver accounts for one publish received by m at time at.
func (ms *memberSet) deliver(m *member, seq, sentUnixNs int64, at time.Time) {
	if !m.measured.Load() {
		return // joined too late to be measured (or a publish of an earlier run)
	}
	ms.r.ctr.recv.Add(1)
	m.recv++
	m.last = at.UnixNano()
	ms.lat.Record(at.Sub(time.Unix(0, sentUnixNs)))
	switch m.seq.observe(seq) {
	case seqNext:
		ms.distinct.Add(1)
	case seqLate:
		ms.distinct.Add(1)
		m.late++
	case seqRepeat:
		m.dups++
	}
}

// awaitReady waits up to grace for every connected member to be in the
// group (or closed), then fixes the set that is measured and returns its size.
func (ms *memberSet) awaitReady(grace time.Duration) int64 {
	conns := int64(len(ms.f.connected()))
	waitUntil(grace, func() bool { return ms.readyN.Load()+ms.f.closedByPeer.Load() >= conns })
	for i := range ms.m {
		if ms.m[i].ready.Load() {
			ms.m[i].measured.Store(true)
			ms.measuredN++
		}
	}
	if ms.measuredN < conns {
		slog.Warn("some members did not join the group in time and are left out of the figures",
			"connected", conns, "joined", ms.measuredN, "dial_timeout", grace)
	}
	return ms.measuredN
}

// drain waits up to grace for every measured member to have received every
// accepted publish.
func (ms *memberSet) drain(accepted int64, grace time.Duration) {
	want := ms.measuredN * accepted
	waitUntil(grace, func() bool { return ms.distinct.Load() >= want })
}

// results reports the members' side; call it after the fleet is closed.
func (ms *memberSet) results(start time.Time) *Results {
	fs := &FanoutStats{
		Members:   int64(len(ms.f.connected())),
		Ready:     ms.measuredN,
		Unrelated: ms.unrelated.Load(),
		Latency:   ms.lat.Snapshot(),
	}
	for i := range ms.m {
		m := &ms.m[i]
		fs.Deliveries += m.recv
		fs.Distinct += m.seq.received()
		fs.Duplicates += m.dups
		fs.OutOfOrder += m.late
		fs.LastDeliveryUnixNs = max(fs.LastDeliveryUnixNs, m.last)
	}
	return &Results{
		ElapsedSec: time.Since(start).Seconds(),
		Procs:      1,
		Conns:      ms.f.connStats(),
		Fanout:     fs,
		Errors:     ms.f.errs.counts(),
	}
}

// seqTracker follows the sequence numbers (1, 2, ...) that one member
// receives from the publisher. Publishes arrive in order, so normally only
// next moves; a gap is kept as a range of missing numbers until they arrive
// late or the run ends. Memory is one range per gap, whatever the count.
type seqTracker struct {
	next    int64      // one past the highest number seen, 0 before the first
	missing []seqRange // ascending, disjoint
}

// seqRange is the numbers lo..hi-1.
type seqRange struct{ lo, hi int64 }

// seqKind says how a received sequence number relates to those before it.
type seqKind int

const (
	seqNext   seqKind = iota // not seen before, higher than all before (in order, maybe after a gap)
	seqLate                  // not seen before, but lower than one seen before: out of order
	seqRepeat                // seen before: a duplicate
	seqBad                   // not a sequence number (below 1)
)

// observe records seq and says what it was.
func (t *seqTracker) observe(seq int64) seqKind {
	switch {
	case seq < 1:
		return seqBad
	case t.next == 0:
		t.next = 1
		fallthrough
	case seq >= t.next:
		if seq > t.next {
			t.missing = append(t.missing, seqRange{t.next, seq})
		}
		t.next = seq + 1
		return seqNext
	}
	i := sort.Search(len(t.missing), func(i int) bool { return t.missing[i].hi > seq })
	if i == len(t.missing) || t.missing[i].lo > seq {
		return seqRepeat
	}
	switch g := t.missing[i]; {
	case g.lo == seq && g.hi == seq+1:
		t.missing = append(t.missing[:i], t.missing[i+1:]...)
	case g.lo == seq:
		t.missing[i].lo++
	case g.hi == seq+1:
		t.missing[i].hi--
	default: // split the gap around seq
		t.missing = append(t.missing[:i+1], t.missing[i:]...)
		t.missing[i].hi, t.missing[i+1].lo = seq, seq+1
	}
	return seqLate
}

// received is how many distinct numbers were seen.
func (t *seqTracker) received() int64 {
	n := max(t.next-1, 0)
	for _, g := range t.missing {
		n -= g.hi - g.lo
	}
	return n
}
