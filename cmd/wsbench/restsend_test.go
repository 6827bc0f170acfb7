package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/lxzan/gws"
)

// fakeGateway is a minimal stand-in for wsgw: WebSocket sockets get IDs,
// and the admin API lists them (in pages of at most pageMax, to exercise
// the cursor) and sends text messages to them. Like a real gateway may, it
// registers a socket just after the handshake has completed, so a client
// can be connected before it is listed; opened receives each new ID.
type fakeGateway struct {
	gws.BuiltinEventHandler
	token    string
	upgrader *gws.Upgrader
	mu       sync.Mutex
	sockets  map[string]*gws.Conn
	next     int
	opened   chan string
}

const pageMax = 3

func newFakeGateway(t *testing.T, token string) (*httptest.Server, *fakeGateway) {
	g := &fakeGateway{token: token, sockets: map[string]*gws.Conn{}, opened: make(chan string, 64)}
	g.upgrader = gws.NewUpgrader(g, nil)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ws", func(w http.ResponseWriter, r *http.Request) {
		socket, err := g.upgrader.Upgrade(w, r)
		if err != nil {
			return
		}
		g.mu.Lock()
		g.next++
		id := fmt.Sprintf("sock-%03d", g.next)
		g.sockets[id] = socket
		g.mu.Unlock()
		g.opened <- id
		go socket.ReadLoop()
	})
	mux.HandleFunc("GET /api/v1/websocket/sockets", g.auth(g.list))
	mux.HandleFunc("POST /api/v1/websocket/sockets/{id}/send", g.auth(g.send))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, g
}

func (g *fakeGateway) auth(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+g.token {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		h(w, r)
	}
}

func (g *fakeGateway) list(w http.ResponseWriter, r *http.Request) {
	limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
	from, _ := strconv.Atoi(r.URL.Query().Get("cursor"))
	limit = min(max(limit, 1), pageMax)
	g.mu.Lock()
	ids := make([]string, 0, len(g.sockets))
	for id := range g.sockets {
		ids = append(ids, id)
	}
	g.mu.Unlock()
	slices.Sort(ids)
	from = min(from, len(ids))
	to := min(from+limit, len(ids))
	if to < len(ids) {
		w.Header().Set("X-Next-Cursor", strconv.Itoa(to))
	}
	_ = json.NewEncoder(w).Encode(ids[from:to])
}

func (g *fakeGateway) send(w http.ResponseWriter, r *http.Request) {
	var body sendBody
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.Type != "data-text" {
		http.Error(w, "bad body", http.StatusBadRequest)
		return
	}
	g.mu.Lock()
	socket := g.sockets[r.PathValue("id")]
	g.mu.Unlock()
	if socket == nil {
		http.NotFound(w, r)
		return
	}
	if err := socket.WriteString(body.Message); err != nil {
		http.Error(w, err.Error(), http.StatusGone)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func TestRESTSendAgainstFakeGateway(t *testing.T) {
	srv, g := newFakeGateway(t, "s3cret")
	wsURL := "ws" + srv.URL[len("http"):] + "/ws"
	// Sockets of someone else: listed and probed, but never ours.
	for range 2 {
		c, _, err := gws.NewClient(gws.BuiltinEventHandler{}, &gws.ClientOption{Addr: wsURL})
		if err != nil {
			t.Fatal(err)
		}
		go c.ReadLoop()
		t.Cleanup(func() { _ = c.WriteClose(1000, nil) })
		<-g.opened // listed before wsbench starts
	}

	rep := runJSON(t, "rest-send", "--url", wsURL, "--admin", srv.URL, "--token", "s3cret",
		"--conns", "5", "--rest-concurrency", "2", "--duration", "200ms", "--drain", "2s")
	x := rep.Results.REST
	if x.Listed != 7 || x.Matched != 5 {
		t.Fatalf("listed %d, matched %d: want 7 listed (2 foreign), 5 matched", x.Listed, x.Matched)
	}
	if x.Requests == 0 || x.OK != x.Requests || x.Status["204"] != x.Requests {
		t.Fatalf("requests %d, ok %d, status %v: want all 204", x.Requests, x.OK, x.Status)
	}
	if x.Arrived != x.OK || x.Lost != 0 || x.Misrouted != 0 {
		t.Fatalf("arrived %d of %d, lost %d, misrouted %d", x.Arrived, x.OK, x.Lost, x.Misrouted)
	}
	t.Logf("%d requests (%.0f/s), %d arrived; REST p50 %s, delivery p50 %s",
		x.Requests, x.PerSec, x.Arrived, fmtNs(x.Latency.P50Ns), fmtNs(x.Delivery.P50Ns))
	if x.Latency.Count != uint64(x.Requests) || x.Delivery.Count != uint64(x.Arrived) {
		t.Fatalf("latency samples %d/%d, want %d/%d", x.Latency.Count, x.Delivery.Count, x.Requests, x.Arrived)
	}
}

func TestRESTSendFailsWithWrongToken(t *testing.T) {
	srv, _ := newFakeGateway(t, "right")
	wsURL := "ws" + srv.URL[len("http"):] + "/ws"
	err := run(t.Context(), []string{"rest-send", "--url", wsURL, "--admin", srv.URL, "--token", "wrong",
		"--conns", "1", "--duration", "100ms"}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "HTTP 401") {
		t.Fatalf("rest-send with a wrong token: %v, want HTTP 401", err)
	}
}
