package main

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lxzan/gws"
	"github.com/wsgw/wsgw/stomp"
)

func TestSeqTracker(t *testing.T) {
	tests := []struct {
		name     string
		seqs     []int64
		want     []seqKind
		received int64
		missing  []seqRange
	}{
		{"in order", []int64{1, 2, 3}, []seqKind{seqNext, seqNext, seqNext}, 3, nil},
		{"first ones missed", []int64{3, 4}, []seqKind{seqNext, seqNext}, 2, []seqRange{{1, 3}}},
		{"a gap", []int64{1, 4, 5}, []seqKind{seqNext, seqNext, seqNext}, 3, []seqRange{{2, 4}}},
		{"repeats", []int64{1, 1, 2, 2, 1}, []seqKind{seqNext, seqRepeat, seqNext, seqRepeat, seqRepeat}, 2, nil},
		{"swapped", []int64{1, 3, 2, 4}, []seqKind{seqNext, seqNext, seqLate, seqNext}, 4, nil},
		{"late, then again", []int64{2, 1, 1}, []seqKind{seqNext, seqLate, seqRepeat}, 2, nil},
		{"late at the start of a gap", []int64{1, 5, 2}, []seqKind{seqNext, seqNext, seqLate}, 3, []seqRange{{3, 5}}},
		{"late at the end of a gap", []int64{1, 5, 4}, []seqKind{seqNext, seqNext, seqLate}, 3, []seqRange{{2, 4}}},
		{"late inside a gap splits it", []int64{1, 6, 3}, []seqKind{seqNext, seqNext, seqLate}, 3, []seqRange{{2, 3}, {4, 6}}},
		{"every gap filled", []int64{1, 6, 3, 2, 5, 4}, []seqKind{seqNext, seqNext, seqLate, seqLate, seqLate, seqLate}, 6, nil},
		{"two gaps, a repeat, a late one", []int64{2, 5, 2, 1}, []seqKind{seqNext, seqNext, seqRepeat, seqLate}, 3, []seqRange{{3, 5}}},
		{"not a sequence number", []int64{0, -1, 1}, []seqKind{seqBad, seqBad, seqNext}, 1, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var tr seqTracker
			var got []seqKind
			for _, s := range tc.seqs {
				got = append(got, tr.observe(s))
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("kinds = %v, want %v", got, tc.want)
			}
			if r := tr.received(); r != tc.received {
				t.Errorf("received = %d, want %d", r, tc.received)
			}
			if len(tr.missing) != len(tc.missing) || len(tc.missing) > 0 && !reflect.DeepEqual(tr.missing, tc.missing) {
				t.Errorf("missing = %v, want %v", tr.missing, tc.missing)
			}
		})
	}
}

func TestPubMessageRoundTrip(t *testing.T) {
	for _, size := range []int{8, 64, 1024} {
		b := appendPub(nil, 42, 1_763_000_000_123_456_789, size)
		if len(b) < size {
			t.Errorf("publish of %d bytes, want at least %d", len(b), size)
		}
		seq, ts, ok := parsePub(b)
		if !ok || seq != 42 || ts != 1_763_000_000_123_456_789 {
			t.Errorf("parsePub(%q) = %d %d %v", b, seq, ts, ok)
		}
	}
	for _, s := range []string{"joined", "wsb:1:2:3:", "wsbpub:", "wsbpub:1", "wsbpub:1:2", "wsbpub:x:2:", "wsbpub:1:-2:"} {
		if _, _, ok := parsePub([]byte(s)); ok {
			t.Errorf("parsePub(%q) accepted", s)
		}
	}
}

// checkFanout asserts a clean fan-out: every measured member got every
// accepted publish exactly once, in order.
func checkFanout(t *testing.T, rep *Report, members int64) *FanoutStats {
	t.Helper()
	f := rep.Results.Fanout
	if f == nil {
		t.Fatal("no fanout section in the summary")
	}
	if f.Members != members || f.Ready != members {
		t.Fatalf("members %d, ready %d, want %d both", f.Members, f.Ready, members)
	}
	if f.Published == 0 || f.Accepted != f.Published {
		t.Fatalf("published %d, accepted %d (%v): want some, all accepted", f.Published, f.Accepted, f.PublishStatus)
	}
	want := members * f.Accepted
	if f.Expected != want || f.Deliveries != want || f.Distinct != want || f.Lost != 0 || f.Duplicates != 0 || f.OutOfOrder != 0 {
		t.Fatalf("expected %d, deliveries %d, distinct %d, lost %d, dups %d, out of order %d: want %d delivered once each, in order",
			f.Expected, f.Deliveries, f.Distinct, f.Lost, f.Duplicates, f.OutOfOrder, want)
	}
	if f.Latency == nil || f.Latency.Count != uint64(want) {
		t.Fatalf("latency samples %v, want one per delivery (%d)", f.Latency, want)
	}
	if f.DeliveriesPerSec <= 0 || f.FirstPublishUnixNs == 0 || f.LastDeliveryUnixNs < f.FirstPublishUnixNs {
		t.Fatalf("deliveries/s %v, first publish %d, last delivery %d", f.DeliveriesPerSec, f.FirstPublishUnixNs, f.LastDeliveryUnixNs)
	}
	if f.Unrelated != 0 || len(rep.Results.Errors) != 0 || rep.Results.Conns.ClosedByPeer != 0 {
		t.Fatalf("unrelated %d, errors %v, closed by peer %d: want none", f.Unrelated, rep.Results.Errors, rep.Results.Conns.ClosedByPeer)
	}
	return f
}

func TestFanoutAgainstBaseline(t *testing.T) {
	tests := []struct {
		name  string
		extra func(addr string) []string
		procs bool
	}{
		{"websocket publisher", func(string) []string { return nil }, false},
		{"REST publisher", func(addr string) []string { return []string{"--publisher", "rest", "--admin", "http://" + addr} }, false},
		{"members over two processes", func(string) []string { return []string{"--procs", "2"} }, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := startBaseline(t)
			if tc.procs {
				t.Setenv(execEnv, "1") // children are this test binary running main
			}
			args := append([]string{"fanout", "--url", "ws://" + s.Addr() + "/sub", "--conns", "12",
				"--rate", "50", "--duration", "300ms", "--drain", "5s"}, tc.extra(s.Addr())...)
			rep := runJSON(t, args...)
			f := checkFanout(t, rep, 12)
			if got := s.published.Load(); got != f.Published {
				t.Errorf("the baseline broadcast %d publishes, the publisher sent %d", got, f.Published)
			}
			if tc.procs && rep.Results.Procs != 2 {
				t.Errorf("procs = %d, want 2", rep.Results.Procs)
			}
		})
	}
}

// TestFanoutFailsWhenNoMemberJoins: an endpoint that never says the member
// joined (an echo without a greeting) ends the run with an error that says
// what the member endpoint must do, within --dial-timeout.
func TestFanoutFailsWhenNoMemberJoins(t *testing.T) {
	s, err := startEchoServer("127.0.0.1:0", false, false, &counters{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	var stdout, stderr bytes.Buffer
	err = run(t.Context(), []string{"fanout", "--url", "ws://" + s.Addr() + "/echo", "--conns", "3", "--rate", "10",
		"--duration", "200ms", "--dial-timeout", "500ms"}, &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "sub.js") {
		t.Fatalf("err = %v, want one that names scripts/bench/sub.js", err)
	}
	if stdout.Len() != 0 {
		t.Errorf("printed a summary: %s", stdout.String())
	}
}

// TestConnectionsSpreadOverURLs: with --url given twice, connections go to
// the two targets in turn.
func TestConnectionsSpreadOverURLs(t *testing.T) {
	a, b := startBaseline(t), startBaseline(t)
	rep := runJSON(t, "connect", "--url", "ws://"+a.Addr()+"/", "--url", "ws://"+b.Addr()+"/", "--conns", "9")
	if c := rep.Results.Conns; c.OK != 9 {
		t.Fatalf("ok = %d, want 9 (%v)", c.OK, c.Failures)
	}
	// The servers count an upgrade a moment after the client sees it done.
	waitUntil(5*time.Second, func() bool { return a.accepted.Load()+b.accepted.Load() >= 9 })
	if na, nb := a.accepted.Load(), b.accepted.Load(); na != 5 || nb != 4 {
		t.Fatalf("accepted %d and %d, want 5 and 4", na, nb)
	}
	if rep.Params.URL.String() != "ws://"+a.Addr()+"/,ws://"+b.Addr()+"/" {
		t.Errorf("params url = %q", rep.Params.URL)
	}
}

// mangler is a fan-out server that breaks the rules on purpose: it drops
// every publish n with n%5 == 2, sends n%5 == 3 twice, and sends n%5 == 4
// only after the next one, so that the members' accounting can be checked.
type mangler struct {
	mu      sync.Mutex
	members map[*gws.Conn]struct{}
	held    []byte
}

func (m *mangler) OnOpen(c *gws.Conn) {
	if c.Session() != nil {
		if v, _ := c.Session().Load("sub"); v == true {
			m.mu.Lock()
			m.members[c] = struct{}{}
			m.mu.Unlock()
			_ = c.WriteString(readyMsg)
		}
	}
}
func (m *mangler) OnClose(c *gws.Conn, _ error) {
	m.mu.Lock()
	delete(m.members, c)
	m.mu.Unlock()
}
func (m *mangler) OnPing(*gws.Conn, []byte) {}
func (m *mangler) OnPong(*gws.Conn, []byte) {}
func (m *mangler) OnMessage(_ *gws.Conn, msg *gws.Message) {
	defer msg.Close()
	seq, _, ok := parsePub(msg.Bytes())
	if !ok {
		return
	}
	payload := bytes.Clone(msg.Bytes())
	m.mu.Lock()
	defer m.mu.Unlock()
	var out [][]byte
	switch seq % 5 {
	case 2:
	case 3:
		out = [][]byte{payload, payload}
	case 4:
		m.held = payload
	case 0:
		out = [][]byte{payload}
		if m.held != nil {
			out = append(out, m.held)
			m.held = nil
		}
	default:
		out = [][]byte{payload}
	}
	for c := range m.members {
		for _, b := range out {
			_ = c.WriteMessage(gws.OpcodeText, b)
		}
	}
}

func TestFanoutCountsLossRepeatsAndDisorder(t *testing.T) {
	m := &mangler{members: map[*gws.Conn]struct{}{}}
	up := gws.NewUpgrader(m, &gws.ServerOption{
		Authorize: func(r *http.Request, s gws.SessionStorage) bool {
			s.Store("sub", r.URL.Path == "/sub")
			return true
		},
	})
	addr := serveGWS(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c, err := up.Upgrade(w, r); err == nil {
			go c.ReadLoop()
		}
	}))
	rep := runJSON(t, "fanout", "--url", "ws://"+addr+"/sub", "--conns", "3", "--rate", "100",
		"--duration", "300ms", "--drain", "1s")
	f := rep.Results.Fanout
	n := f.Published
	if n < 10 {
		t.Fatalf("published %d, want at least 10 for the pattern to show", n)
	}
	count := func(rem int64) int64 { // numbers 1..n with k%5 == rem
		c := n / 5
		if rem != 0 && n%5 >= rem {
			c++
		}
		return c
	}
	lost := count(2)
	if n%5 == 4 {
		lost++ // the last one is held for a next that never comes
	}
	perMember := struct{ lost, dups, late, deliveries int64 }{
		lost: lost, dups: count(3), late: count(0),
	}
	perMember.deliveries = n - lost + perMember.dups
	want := FanoutStats{Lost: 3 * perMember.lost, Duplicates: 3 * perMember.dups, OutOfOrder: 3 * perMember.late, Deliveries: 3 * perMember.deliveries}
	got := FanoutStats{Lost: f.Lost, Duplicates: f.Duplicates, OutOfOrder: f.OutOfOrder, Deliveries: f.Deliveries}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("after %d publishes to 3 members: lost/dups/out of order/deliveries = %d/%d/%d/%d, want %d/%d/%d/%d",
			n, got.Lost, got.Duplicates, got.OutOfOrder, got.Deliveries, want.Lost, want.Duplicates, want.OutOfOrder, want.Deliveries)
	}
}

// stompResponder is the smallest STOMP server the members need: it answers
// CONNECT with CONNECTED and a valid SUBSCRIBE with its RECEIPT, and turns
// every message on /pub into a MESSAGE frame to each subscription of the
// group, as a wsgw STOMP endpoint does. It checks the client's frames with
// the codec's own rules and answers anything wrong with ERROR.
type stompResponder struct {
	group  string
	refuse bool // answer SUBSCRIBE with ERROR

	mu   sync.Mutex
	subs map[*gws.Conn]string // subscription id
	bad  []string             // what the clients got wrong
}

func (s *stompResponder) fail(c *gws.Conn, why string) {
	s.mu.Lock()
	s.bad = append(s.bad, why)
	s.mu.Unlock()
	f := stomp.ErrorFrame(why, "", "")
	_ = c.WriteMessage(gws.OpcodeText, stomp.Append(nil, stomp.V12, &f))
}

func (s *stompResponder) OnOpen(*gws.Conn) {}
func (s *stompResponder) OnClose(c *gws.Conn, _ error) {
	s.mu.Lock()
	delete(s.subs, c)
	s.mu.Unlock()
}
func (s *stompResponder) OnPing(*gws.Conn, []byte) {}
func (s *stompResponder) OnPong(*gws.Conn, []byte) {}
func (s *stompResponder) OnMessage(c *gws.Conn, msg *gws.Message) {
	defer msg.Close()
	if v, _ := c.Session().Load("pub"); v == true {
		t := stomp.NewMessageTemplate(stomp.Message{Destination: s.group, ContentType: "text/plain", Body: msg.Bytes()})
		s.mu.Lock()
		defer s.mu.Unlock()
		for member, id := range s.subs {
			_ = member.WriteMessage(gws.OpcodeText, t.Append(nil, stomp.V12, id, "m"))
		}
		return
	}
	if c.SubProtocol() != stompSubprotocol {
		s.fail(c, "no subprotocol")
		return
	}
	var d stomp.Decoder
	for f, err := range d.Frames(msg.Bytes()) {
		if err != nil {
			s.fail(c, err.Error())
			return
		}
		if err := stomp.Validate(stomp.V12, &f); err != nil {
			s.fail(c, err.Error())
			return
		}
		switch f.Command {
		case stomp.CmdConnect:
			if v, err := stomp.NegotiateVersion(f.Get("accept-version")); err != nil || v != stomp.V12 || f.Get("heart-beat") != "0,0" {
				s.fail(c, "CONNECT without accept-version 1.2 and heart-beat 0,0")
				return
			}
			cf := stomp.ConnectedFrame(stomp.V12, stomp.HeartBeat{}, "test", "s")
			_ = c.WriteMessage(gws.OpcodeText, stomp.Append(nil, stomp.V12, &cf))
		case stomp.CmdSubscribe:
			if s.refuse || f.Get("destination") != s.group {
				s.fail(c, "refused")
				return
			}
			s.mu.Lock()
			s.subs[c] = f.Get("id")
			s.mu.Unlock()
			rf := stomp.ReceiptFrame(f.Get("receipt"))
			_ = c.WriteMessage(gws.OpcodeText, stomp.Append(nil, stomp.V12, &rf))
		default:
			s.fail(c, "unexpected "+f.Command)
		}
	}
}

// serveGWS serves h on a free loopback port for the test.
func serveGWS(t *testing.T, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String()
}

func startSTOMPResponder(t *testing.T, refuse bool) (*stompResponder, string) {
	t.Helper()
	s := &stompResponder{group: "/topic/bench", refuse: refuse, subs: map[*gws.Conn]string{}}
	members := gws.NewUpgrader(s, &gws.ServerOption{SubProtocols: []string{stompSubprotocol}})
	pubs := gws.NewUpgrader(s, &gws.ServerOption{Authorize: func(_ *http.Request, ss gws.SessionStorage) bool {
		ss.Store("pub", true)
		return true
	}})
	addr := serveGWS(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		up := members
		if r.URL.Path == "/pub" {
			if r.URL.Query().Get("group") != s.group {
				http.Error(w, "wrong group", http.StatusBadRequest)
				return
			}
			up = pubs
		}
		if c, err := up.Upgrade(w, r); err == nil {
			go c.ReadLoop()
		}
	}))
	return s, addr
}

func TestFanoutSTOMP(t *testing.T) {
	s, addr := startSTOMPResponder(t, false)
	rep := runJSON(t, "fanout", "--stomp", "--url", "ws://"+addr+"/stomp", "--conns", "8", "--rate", "50",
		"--duration", "300ms", "--drain", "5s")
	checkFanout(t, rep, 8)
	if rep.Params.Group != "/topic/bench" {
		t.Errorf("group = %q, want the STOMP default /topic/bench", rep.Params.Group)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.bad) != 0 {
		t.Errorf("the responder refused frames: %v", s.bad)
	}
}

func TestFanoutSTOMPRefusedSubscribe(t *testing.T) {
	_, addr := startSTOMPResponder(t, true)
	var stdout, stderr bytes.Buffer
	err := run(t.Context(), []string{"fanout", "--stomp", "--url", "ws://" + addr + "/stomp", "--conns", "2",
		"--rate", "10", "--duration", "200ms", "--dial-timeout", "1s"}, &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "RECEIPT") {
		t.Fatalf("err = %v, want no member subscribed", err)
	}
	if !strings.Contains(stderr.String(), "stomp_error") || !strings.Contains(stderr.String(), "refused") {
		t.Errorf("the ERROR frame is not logged:\n%s", stderr.String())
	}
}

// TestSTOMPMemberNeedsTheSubprotocol: a server that names no subprotocol
// fails the STOMP member's handshake, as it fails stomp.js.
func TestSTOMPMemberNeedsTheSubprotocol(t *testing.T) {
	s := startBaseline(t) // gws with no subprotocols
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	err := run(ctx, []string{"fanout", "--stomp", "--url", "ws://" + s.Addr() + "/sub", "--conns", "2",
		"--rate", "10", "--duration", "200ms", "--dial-timeout", "1s"}, &stdout, &stderr)
	if err == nil {
		t.Fatal("fanout ran without a subprotocol")
	}
	if !strings.Contains(stderr.String(), "no_subprotocol") {
		t.Errorf("failures not classified as no_subprotocol:\n%s", stderr.String())
	}
}
