package main

// Results is what one process measured. A child sends it to its parent as
// JSON, and mergeResults adds children's results up, so every field is
// either a count, a rate (rates of processes running side by side add up),
// or a mergeable histogram.
type Results struct {
	ElapsedSec float64          `json:"elapsed_sec"`
	Procs      int              `json:"procs"`
	Conns      ConnStats        `json:"conns"`
	Messages   *MsgStats        `json:"messages,omitempty"`
	Memory     *MemStats        `json:"memory,omitempty"`
	REST       *RESTStats       `json:"rest,omitempty"`
	Server     *ServerStats     `json:"server,omitempty"`
	Attack     *AttackStats     `json:"attack,omitempty"`
	Fanout     *FanoutStats     `json:"fanout,omitempty"`
	Errors     map[string]int64 `json:"errors,omitempty"` // by reason, after connecting
}

// ConnStats covers connection setup and loss.
type ConnStats struct {
	Attempted        int64            `json:"attempted"`
	OK               int64            `json:"ok"`
	Failed           int64            `json:"failed"`
	Failures         map[string]int64 `json:"failures,omitempty"` // by reason
	DialSec          float64          `json:"dial_sec"`
	HandshakesPerSec float64          `json:"handshakes_per_sec"`
	Handshake        *Latency         `json:"handshake,omitempty"`
	ClosedByPeer     int64            `json:"closed_by_peer"` // before wsbench closed them
}

// MsgStats covers messages sent by the clients and echoed back.
type MsgStats struct {
	Sent       int64    `json:"sent"`
	Received   int64    `json:"received"`
	Lost       int64    `json:"lost"`      // sent, not echoed by the end of the drain
	Unrelated  int64    `json:"unrelated"` // received without wsbench's prefix for that connection, e.g. "Welcome"
	SentPerSec float64  `json:"sent_per_sec"`
	RecvPerSec float64  `json:"recv_per_sec"`
	RTT        *Latency `json:"rtt,omitempty"`
}

// MemStats is the target's memory before connecting and with all
// connections held (idle scenario).
type MemStats struct {
	PIDs              []int   `json:"pids,omitempty"`
	ConnsHeld         int64   `json:"conns_held"`
	RSSBeforeBytes    int64   `json:"rss_before_bytes,omitempty"`
	RSSAfterBytes     int64   `json:"rss_after_bytes,omitempty"`
	RSSPerConnBytes   float64 `json:"rss_per_conn_bytes,omitempty"`
	RSSPerConnKiB     float64 `json:"rss_per_conn_kib,omitempty"`
	TCPMemBeforePages int64   `json:"tcp_mem_before_pages"`
	TCPMemAfterPages  int64   `json:"tcp_mem_after_pages"`
	TCPMemPerConnB    float64 `json:"tcp_mem_per_conn_bytes"`
}

// RESTStats covers the rest-send scenario.
type RESTStats struct {
	Listed      int64            `json:"listed"`  // socket IDs the admin API listed
	Matched     int64            `json:"matched"` // of them, IDs mapped to this run's connections
	Requests    int64            `json:"requests"`
	OK          int64            `json:"ok"` // 2xx answers; with --batch, items answered null
	PerSec      float64          `json:"per_sec"`
	Batch       int              `json:"batch,omitempty"`    // messages per request, 0 for the single send route
	Messages    int64            `json:"messages,omitempty"` // with --batch: messages sent in the requests
	MsgsPerSec  float64          `json:"messages_per_sec"`   // messages sent per second (= per_sec without --batch)
	Latency     *Latency         `json:"latency,omitempty"`
	Status      map[string]int64 `json:"status,omitempty"` // by HTTP status, or "error:<reason>"
	Arrived     int64            `json:"arrived"`          // messages that reached the addressed connection
	Misrouted   int64            `json:"misrouted"`        // reached one of ours, but not the addressed one
	Lost        int64            `json:"lost"`             // 2xx but never arrived
	Delivery    *Latency         `json:"delivery,omitempty"`
	ArrivedPSec float64          `json:"arrived_per_sec"`
}

// AttackStats covers the echo scenario's --attackers.
type AttackStats struct {
	Attackers  int              `json:"attackers"`
	Dials      int64            `json:"dials"` // connections opened, first ones and reconnections
	DialFailed int64            `json:"dial_failed"`
	Sent       int64            `json:"sent"`
	Closes     map[string]int64 `json:"closes,omitempty"` // by the close code the attacker saw
}

// ServerStats covers the baseline server.
type ServerStats struct {
	Accepted  int64   `json:"accepted"`
	PeakConns int64   `json:"peak_conns"`
	Echoed    int64   `json:"echoed"`
	PerSec    float64 `json:"echoed_per_sec"`
	Published int64   `json:"published,omitempty"`  // messages received on /pub (and REST group sends)
	FannedOut int64   `json:"fanned_out,omitempty"` // frames they queued to members
}

// FanoutStats covers the fanout scenario: the publisher's side (one
// process) and the members' (summed over processes), and the figures
// derived from both by finalize.
type FanoutStats struct {
	Members            int64            `json:"members"`                   // connected
	Ready              int64            `json:"ready"`                     // in the group when publishing began: the members measured
	Published          int64            `json:"published"`                 // publishes sent
	Accepted           int64            `json:"accepted"`                  // of them, not refused (ws: not answered; rest: 2xx)
	PublishSec         float64          `json:"publish_sec"`               // the publishing window
	PublishPerSec      float64          `json:"publish_per_sec"`           // published over the window
	PublishStatus      map[string]int64 `json:"publish_status,omitempty"`  // rest: by HTTP status; error_reply, write and close errors
	PublishLatency     *Latency         `json:"publish_latency,omitempty"` // rest: request to answer
	FirstPublishUnixNs int64            `json:"first_publish_unix_ns"`
	LastDeliveryUnixNs int64            `json:"last_delivery_unix_ns"`
	Deliveries         int64            `json:"deliveries"`   // publishes received by measured members, repeats included
	Distinct           int64            `json:"distinct"`     // without repeats
	Expected           int64            `json:"expected"`     // ready × accepted
	Lost               int64            `json:"lost"`         // expected − distinct
	Duplicates         int64            `json:"duplicates"`   // a member received a publish again
	OutOfOrder         int64            `json:"out_of_order"` // a member received a publish after a later one
	Unrelated          int64            `json:"unrelated"`    // other messages to members after they joined
	DeliverySec        float64          `json:"delivery_sec"` // first publish to last delivery
	DeliveriesPerSec   float64          `json:"deliveries_per_sec"`
	Latency            *Latency         `json:"latency,omitempty"` // publish to receive, per delivery
}

func (f *FanoutStats) add(o *FanoutStats) *FanoutStats {
	if f == nil || o == nil {
		return firstNonNil(f, o)
	}
	first := f.FirstPublishUnixNs
	if first == 0 || o.FirstPublishUnixNs != 0 && o.FirstPublishUnixNs < first {
		first = o.FirstPublishUnixNs
	}
	return &FanoutStats{
		Members:            f.Members + o.Members,
		Ready:              f.Ready + o.Ready,
		Published:          f.Published + o.Published,
		Accepted:           f.Accepted + o.Accepted,
		PublishSec:         max(f.PublishSec, o.PublishSec),
		PublishPerSec:      f.PublishPerSec + o.PublishPerSec,
		PublishStatus:      addCounts(f.PublishStatus, o.PublishStatus),
		PublishLatency:     mergeLatency(f.PublishLatency, o.PublishLatency),
		FirstPublishUnixNs: first,
		LastDeliveryUnixNs: max(f.LastDeliveryUnixNs, o.LastDeliveryUnixNs),
		Deliveries:         f.Deliveries + o.Deliveries,
		Distinct:           f.Distinct + o.Distinct,
		Duplicates:         f.Duplicates + o.Duplicates,
		OutOfOrder:         f.OutOfOrder + o.OutOfOrder,
		Unrelated:          f.Unrelated + o.Unrelated,
		Latency:            mergeLatency(f.Latency, o.Latency),
	}
}

// finalize derives loss and the delivery rate once the publisher's and
// every member's figures are in. Deliveries/s is over the publishing window
// or, when the last delivery came later, over the time from the first
// publish to it: a target that falls behind and catches up during --drain
// is charged with the time it took.
func (f *FanoutStats) finalize() {
	f.Expected = f.Ready * f.Accepted
	f.Lost = max(f.Expected-f.Distinct, 0)
	if f.FirstPublishUnixNs > 0 && f.LastDeliveryUnixNs > f.FirstPublishUnixNs {
		f.DeliverySec = float64(f.LastDeliveryUnixNs-f.FirstPublishUnixNs) / 1e9
	}
	if sec := max(f.DeliverySec, f.PublishSec); sec > 0 {
		f.DeliveriesPerSec = float64(f.Deliveries) / sec
	}
}

// mergeResults adds up the results of processes that ran side by side.
func mergeResults(rs []*Results) *Results {
	m := &Results{}
	for _, r := range rs {
		if r == nil {
			continue
		}
		m.ElapsedSec = max(m.ElapsedSec, r.ElapsedSec)
		m.Procs += max(r.Procs, 1)
		m.Conns.add(&r.Conns)
		m.Messages = m.Messages.add(r.Messages)
		m.REST = m.REST.add(r.REST)
		m.Server = m.Server.add(r.Server)
		m.Fanout = m.Fanout.add(r.Fanout)
		m.Errors = addCounts(m.Errors, r.Errors)
		if r.Memory != nil { // only a single process measures memory
			m.Memory = r.Memory
		}
	}
	return m
}

func (c *ConnStats) add(o *ConnStats) {
	c.Attempted += o.Attempted
	c.OK += o.OK
	c.Failed += o.Failed
	c.Failures = addCounts(c.Failures, o.Failures)
	c.DialSec = max(c.DialSec, o.DialSec)
	c.HandshakesPerSec += o.HandshakesPerSec
	c.Handshake = mergeLatency(c.Handshake, o.Handshake)
	c.ClosedByPeer += o.ClosedByPeer
}

func (m *MsgStats) add(o *MsgStats) *MsgStats {
	if m == nil || o == nil {
		return firstNonNil(m, o)
	}
	return &MsgStats{
		Sent:       m.Sent + o.Sent,
		Received:   m.Received + o.Received,
		Lost:       m.Lost + o.Lost,
		Unrelated:  m.Unrelated + o.Unrelated,
		SentPerSec: m.SentPerSec + o.SentPerSec,
		RecvPerSec: m.RecvPerSec + o.RecvPerSec,
		RTT:        mergeLatency(m.RTT, o.RTT),
	}
}

func (r *RESTStats) add(o *RESTStats) *RESTStats {
	if r == nil || o == nil {
		return firstNonNil(r, o)
	}
	return &RESTStats{
		Listed:      max(r.Listed, o.Listed), // every process lists the same gateway
		Matched:     r.Matched + o.Matched,
		Requests:    r.Requests + o.Requests,
		OK:          r.OK + o.OK,
		PerSec:      r.PerSec + o.PerSec,
		Latency:     mergeLatency(r.Latency, o.Latency),
		Status:      addCounts(r.Status, o.Status),
		Arrived:     r.Arrived + o.Arrived,
		Misrouted:   r.Misrouted + o.Misrouted,
		Lost:        r.Lost + o.Lost,
		Delivery:    mergeLatency(r.Delivery, o.Delivery),
		ArrivedPSec: r.ArrivedPSec + o.ArrivedPSec,
	}
}

func (s *ServerStats) add(o *ServerStats) *ServerStats {
	if s == nil || o == nil {
		return firstNonNil(s, o)
	}
	return &ServerStats{
		Accepted:  s.Accepted + o.Accepted,
		PeakConns: s.PeakConns + o.PeakConns, // an upper bound: peaks need not coincide
		Echoed:    s.Echoed + o.Echoed,
		PerSec:    s.PerSec + o.PerSec,
		Published: s.Published + o.Published,
		FannedOut: s.FannedOut + o.FannedOut,
	}
}

func firstNonNil[T any](a, b *T) *T {
	if a != nil {
		return a
	}
	return b
}

// addCounts returns a+b as a new map, nil when both are empty.
func addCounts(a, b map[string]int64) map[string]int64 {
	if len(a)+len(b) == 0 {
		return nil
	}
	m := make(map[string]int64, len(a)+len(b))
	for k, v := range a {
		m[k] += v
	}
	for k, v := range b {
		m[k] += v
	}
	return m
}
