package handlers_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wsgw/wsgw/gateway"
	"github.com/wsgw/wsgw/handlers"
	"github.com/wsgw/wsgw/internal/gwtest"
	"github.com/wsgw/wsgw/metrics"
)

// statsServer serves the admin API with the gateway's metrics in reg, behind
// a server whose read and write timeouts are far shorter than the stream's
// one-second samples, as the admin listener's are shorter than a console
// stays open.
func statsServer(t *testing.T, token string, done <-chan struct{}) (*httptest.Server, *metrics.Metrics) {
	t.Helper()
	reg := prometheus.NewRegistry()
	m := metrics.New(reg)
	h := gwtest.New(t, gwtest.Options{Scripts: map[string]string{"/x": idScript}, Limits: gateway.Limits{MaxMessageBytes: 1024}})
	srv := httptest.NewUnstartedServer(handlers.Admin(handlers.AdminOptions{
		Service: h.Service, Health: h.GW.Health, Gatherer: reg, Token: token, Done: done, MaxMessageBytes: 1024,
	}))
	srv.Config.ReadTimeout = 300 * time.Millisecond
	srv.Config.WriteTimeout = 300 * time.Millisecond
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, m
}

// sse reads a Server-Sent Events stream.
type sse struct {
	t    *testing.T
	resp *http.Response
	r    *bufio.Reader
}

func openStats(t *testing.T, ctx context.Context, url, token string) *sse {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, "GET", url+"/api/v1/stats/stream", nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return &sse{t: t, resp: resp, r: bufio.NewReader(resp.Body)}
}

// next returns the next event's fields (a field given twice keeps the last),
// failing the test if none comes within gwtest.WaitFor.
func (s *sse) next() map[string]string {
	s.t.Helper()
	type result struct {
		fields map[string]string
		err    error
	}
	ch := make(chan result, 1)
	go func() {
		fields := map[string]string{}
		for {
			line, err := s.r.ReadString('\n')
			if err != nil {
				ch <- result{fields, err}
				return
			}
			line = strings.TrimSuffix(line, "\n")
			if line == "" {
				ch <- result{fields, nil}
				return
			}
			name, value, _ := strings.Cut(line, ":")
			fields[name] = strings.TrimPrefix(value, " ")
		}
	}()
	select {
	case res := <-ch:
		if res.err != nil {
			s.t.Fatalf("stats stream ended: %v", res.err)
		}
		return res.fields
	case <-time.After(gwtest.WaitFor):
		s.t.Fatalf("no stats event within %v", gwtest.WaitFor)
		return nil
	}
}

func (s *sse) nextStats() handlers.Stats {
	s.t.Helper()
	ev := s.next()
	if ev["event"] != "stats" {
		s.t.Fatalf("event %q, want stats: %v", ev["event"], ev)
	}
	var st handlers.Stats
	if err := json.Unmarshal([]byte(ev["data"]), &st); err != nil {
		s.t.Fatalf("stats data %q: %v", ev["data"], err)
	}
	return st
}

// TestStatsStream: the stream samples the gateway's metrics, the first sample
// at once, then one a second with the totals' rates, and outlives the
// server's read and write timeouts.
func TestStatsStream(t *testing.T) {
	srv, m := statsServer(t, "", nil)
	m.ConnectionsOpen.Set(2)
	m.ConnectionsOpened.Add(5)
	m.ConnectionsClosed.WithLabelValues("1000").Add(2)
	m.ConnectionsClosed.WithLabelValues("1006").Add(1)
	m.MessagesIn.Add(10)
	m.MessagesOut.Add(11)
	m.MessagesDropped.Add(1)

	s := openStats(t, t.Context(), srv.URL, "")
	if ct := s.resp.Header.Get("Content-Type"); s.resp.StatusCode != 200 || ct != "text/event-stream" {
		t.Fatalf("stream: %d %q, want 200 text/event-stream", s.resp.StatusCode, ct)
	}
	if ev := s.next(); ev["retry"] != "2000" {
		t.Fatalf("first event %v, want retry: 2000", ev)
	}
	first := s.nextStats()
	want := handlers.Stats{
		Time:                   first.Time,
		ConnectionsOpen:        2,
		ConnectionsOpenedTotal: 5,
		ConnectionsClosedTotal: 3,
		MessagesInTotal:        10,
		MessagesOutTotal:       11,
		MessagesDroppedTotal:   1,
	}
	if first != want {
		t.Fatalf("first sample\n  %+v\nwant\n  %+v", first, want)
	}

	m.ConnectionsOpen.Set(4)
	m.ConnectionsOpened.Add(2)
	m.MessagesIn.Add(30)
	m.MessagesOut.Add(20)
	st := s.nextStats()
	if st.ConnectionsOpen != 4 || st.ConnectionsOpenedTotal != 7 || st.MessagesInTotal != 40 || st.MessagesOutTotal != 31 {
		t.Fatalf("second sample %+v, want 4 open, 7 opened, 40 in, 31 out", st)
	}
	if st.Seconds <= 0 || !st.Time.After(first.Time) {
		t.Fatalf("second sample %v after %v over %v s", st.Time, first.Time, st.Seconds)
	}
	for _, r := range []struct {
		name        string
		rate, delta float64
	}{
		{"connections_opened", st.PerSecond.ConnectionsOpened, 2},
		{"connections_closed", st.PerSecond.ConnectionsClosed, 0},
		{"messages_in", st.PerSecond.MessagesIn, 30},
		{"messages_out", st.PerSecond.MessagesOut, 20},
		{"messages_dropped", st.PerSecond.MessagesDropped, 0},
	} {
		if math.Abs(r.rate*st.Seconds-r.delta) > 1e-6 {
			t.Errorf("%s: %v/s over %vs, want an increase of %v", r.name, r.rate, st.Seconds, r.delta)
		}
	}
	if third := s.nextStats(); third.PerSecond != (handlers.StatRates{}) || third.MessagesInTotal != 40 {
		t.Fatalf("third sample, with nothing new: %+v, want the same totals and no rates", third)
	}
}

// TestStatsStreamToken: with a token the stream is refused without it.
func TestStatsStreamToken(t *testing.T) {
	srv, _ := statsServer(t, "s3cret", nil)
	s := openStats(t, t.Context(), srv.URL, "")
	if s.resp.StatusCode != 401 {
		t.Fatalf("stream without the token: %d, want 401", s.resp.StatusCode)
	}
	s = openStats(t, t.Context(), srv.URL, "s3cret")
	if s.resp.StatusCode != 200 {
		t.Fatalf("stream with the token: %d, want 200", s.resp.StatusCode)
	}
	s.next()
	s.nextStats()
}

// TestStatsStreamEnds: a stream ends when Done closes (the listener shutting
// down), and its handler returns when the client goes away.
func TestStatsStreamEnds(t *testing.T) {
	done := make(chan struct{})
	srv, _ := statsServer(t, "", done)
	s := openStats(t, t.Context(), srv.URL, "")
	s.next()
	s.nextStats()
	close(done)
	ended := make(chan error, 1)
	go func() {
		_, err := io.Copy(io.Discard, s.r)
		ended <- err
	}()
	select {
	case err := <-ended:
		if err != nil {
			t.Fatalf("stream ended with %v, want its end", err)
		}
	case <-time.After(gwtest.WaitFor):
		t.Fatal("the stream went on after Done closed")
	}

	srv2, _ := statsServer(t, "", nil)
	ctx, cancel := context.WithCancel(t.Context())
	s = openStats(t, ctx, srv2.URL, "")
	s.next()
	cancel()
	closed := make(chan struct{})
	go func() { srv2.Close(); close(closed) }() // Close waits for every handler
	select {
	case <-closed:
	case <-time.After(gwtest.WaitFor):
		t.Fatal("the stream's handler went on after its client left")
	}
}
