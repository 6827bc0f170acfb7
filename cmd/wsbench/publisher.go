package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/lxzan/gws"
)

// publisher is fanout's one publisher: a WebSocket client of --pub-url
// whose every message the endpoint publishes to the group, or (--publisher
// rest) sequential POSTs to the admin API's group send. Either way one
// publish is in flight at a time, so the order of the sequence numbers is
// the order of publishing, which every member must see.
type publisher struct {
	r       *runner
	conn    *gws.Conn // ws
	api     *adminAPI // rest
	closing atomic.Bool
	gone    chan struct{} // ws: closed when the read loop ends; nil for rest

	// replies counts messages the ws endpoint sent back: scripts/bench/pub.js
	// answers a refused publish with its error object.
	replies atomic.Int64
	status  *reasons   // rest: answers by status
	lat     *Histogram // rest: request to answer
	sent    int64
	ok      int64 // rest: 2xx answers
	firstNs int64
	window  time.Duration
}

// startPublisher connects the ws publisher, or prepares the REST client.
func startPublisher(ctx context.Context, r *runner) (*publisher, error) {
	p := &publisher{r: r, gone: make(chan struct{}), status: newReasons("publish"), lat: newHistogram()}
	if r.cfg.Publisher == "rest" {
		p.api = newAdminAPI(r)
		p.gone = nil // never closes: a REST publisher has no connection to lose
		return p, nil
	}
	timeout := time.Duration(r.cfg.DialTimeout)
	conn, resp, err := gws.NewClient(p, &gws.ClientOption{
		Addr:             r.pub.URL,
		HandshakeTimeout: timeout,
		Logger:           gwsLogger{},
		NewDialer: func() (gws.Dialer, error) {
			return fixedDialer{sourceDialer(0, 1, timeout), r.pub.Addr.String()}, nil
		},
	})
	if err != nil {
		return nil, fmt.Errorf("fanout: connect the publisher to %s: %s: %w", r.pub.URL, classify(err, resp), err)
	}
	p.conn = conn
	go conn.ReadLoop()
	return p, nil
}

// run publishes at --rate for --duration, or until ctx ends or the
// connection fails. A publisher that falls behind (the target stops reading
// it, or a REST answer is slow) does not burst to catch up by more than
// catchUp: the achieved rate then falls below --rate, and the report shows it.
func (p *publisher) run(ctx context.Context) {
	const catchUp = 100 * time.Millisecond
	cfg := p.r.cfg
	window, cancel := context.WithTimeout(ctx, time.Duration(cfg.Duration))
	defer cancel()
	if p.conn != nil { // a write blocked by a target that stopped reading ends with the window
		_ = p.conn.SetWriteDeadline(time.Now().Add(time.Duration(cfg.Duration + cfg.DialTimeout)))
	}
	interval := time.Duration(float64(time.Second) / cfg.Rate)
	start := time.Now()
	next := start
	var t *time.Timer
	var buf []byte
	for seq := int64(1); window.Err() == nil; seq++ {
		now := time.Now()
		if seq == 1 {
			p.firstNs = now.UnixNano()
		}
		buf = appendPub(buf, seq, now.UnixNano(), cfg.Size)
		if !p.publish(ctx, buf) {
			break
		}
		p.sent++
		p.r.ctr.sent.Add(1)
		if next = next.Add(interval); time.Since(next) > catchUp {
			next = time.Now()
		}
		if t == nil {
			t = time.NewTimer(max(time.Until(next), 0))
			defer t.Stop()
		} else {
			t.Reset(max(time.Until(next), 0))
		}
		select {
		case <-t.C:
		case <-window.Done():
		case <-p.gone:
		}
	}
	p.window = time.Since(start)
}

// publish sends one publish and says whether to go on.
func (p *publisher) publish(ctx context.Context, msg []byte) bool {
	if p.api == nil {
		select {
		case <-p.gone:
			return false
		default:
		}
		if err := p.conn.WriteMessage(gws.OpcodeText, msg); err != nil {
			p.r.ctr.errors.Add(1)
			p.status.add("write_"+classify(err, nil), err)
			return false
		}
		return true
	}
	t0 := time.Now()
	code, err := p.api.publish(ctx, p.r.cfg.Group, string(msg))
	p.lat.Record(time.Since(t0))
	switch {
	case err != nil && ctx.Err() != nil:
		return false // stopped (SIGINT) during the request: not a publish
	case err != nil:
		p.r.ctr.errors.Add(1)
		p.status.add("error:"+classify(err, nil), err)
	case code/100 == 2:
		p.ok++
		p.status.add(strconv.Itoa(code), nil)
	default:
		p.r.ctr.errors.Add(1)
		p.status.add(strconv.Itoa(code), fmt.Errorf("publish to %q: HTTP %d", p.r.cfg.Group, code))
	}
	return true
}

// accepted is how many publishes the target took: for ws every one written
// that was not answered with an error, for rest every 2xx.
func (p *publisher) accepted() int64 {
	if p.api != nil {
		return p.ok
	}
	return max(p.sent-p.replies.Load(), 0)
}

// close closes the ws publisher's connection; call it once the members
// drained, so that the target never sees the publisher leave early.
func (p *publisher) close() {
	if p.conn == nil {
		return
	}
	p.closing.Store(true)
	_ = p.conn.SetWriteDeadline(time.Now().Add(time.Second))
	_ = p.conn.WriteClose(1000, nil)
	t := time.NewTimer(time.Duration(p.r.cfg.DialTimeout))
	defer t.Stop()
	select {
	case <-p.gone:
	case <-t.C:
	}
}

// stats reports the publisher's side of the fan-out.
func (p *publisher) stats() *FanoutStats {
	s := &FanoutStats{
		Published:          p.sent,
		Accepted:           p.accepted(),
		PublishSec:         p.window.Seconds(),
		PublishStatus:      p.status.counts(),
		FirstPublishUnixNs: p.firstNs,
	}
	if p.window > 0 {
		s.PublishPerSec = float64(p.sent) / p.window.Seconds()
	}
	if n := p.replies.Load(); n > 0 {
		s.PublishStatus = addCounts(s.PublishStatus, map[string]int64{"error_reply": n})
	}
	if p.api != nil {
		s.PublishLatency = p.lat.Snapshot()
	}
	return s
}

func (p *publisher) OnOpen(*gws.Conn) {}

func (p *publisher) OnClose(_ *gws.Conn, err error) {
	if !p.closing.Load() {
		p.r.ctr.errors.Add(1)
		p.status.add("closed_by_peer", fmt.Errorf("the publisher's connection closed: %w", err))
	}
	close(p.gone)
}

func (p *publisher) OnPing(socket *gws.Conn, payload []byte) { _ = socket.WritePong(payload) }

func (p *publisher) OnPong(*gws.Conn, []byte) {}

// OnMessage counts a reply of the publish endpoint as a refused publish and
// logs the first.
func (p *publisher) OnMessage(_ *gws.Conn, m *gws.Message) {
	if p.replies.Add(1) == 1 {
		slog.Warn("the publish endpoint answered a publish; every answer counts as a refused publish",
			"answer", truncate(m.Bytes(), 300))
	}
	p.r.ctr.errors.Add(1)
	_ = m.Close()
}

// truncate returns b as a string of at most n bytes.
func truncate(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "..."
	}
	return string(b)
}

// publishBody is the JSON body of POST .../groups/{group}/send.
type publishBody struct {
	Message string `json:"message"`
}

// publish posts one text message to a group and returns the HTTP status.
func (a *adminAPI) publish(ctx context.Context, group, msg string) (int, error) {
	body, err := json.Marshal(publishBody{Message: msg})
	if err != nil {
		return 0, fmt.Errorf("encode publish body: %w", err)
	}
	u := a.base + "/api/v1/websocket/groups/" + url.PathEscape(group) + "/send"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return 0, fmt.Errorf("publish to %q: %w", group, err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := a.do(req)
	if err != nil {
		return 0, fmt.Errorf("publish to %q: %w", group, err)
	}
	_, _ = io.Copy(io.Discard, resp.Body) // drain so the connection is reused
	_ = resp.Body.Close()
	return resp.StatusCode, nil
}
