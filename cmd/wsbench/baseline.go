package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/lxzan/gws"
)

// echoServer is the baseline: a bare gws server with gws's defaults and no
// scripts, store or rate limit, so that a wsgw figure can be read against
// the cost of the WebSocket library alone. Every path upgrades and echoes,
// so the same --url (e.g. /echo) works against both, except:
//   - /sub and /pub, fanout's two endpoints: a /sub socket is a member of
//     the one group, and every message a /pub socket sends is written to
//     every member with gws's Broadcaster (see broadcast);
//   - the routes of wsgw's admin API that rest-send and fanout's REST
//     publisher use, which a bare net/http handler serves on the same
//     listener (see serveREST).
type echoServer struct {
	ctr       *counters
	welcome   bool
	upgrader  *gws.Upgrader // echo
	subUp     *gws.Upgrader // fan-out members
	pubUp     *gws.Upgrader // fan-out publishers
	ln        net.Listener
	srv       *http.Server
	sockets   sync.Map // *gws.Conn -> socket ID: open sockets, closed on shutdown
	ids       sync.Map // socket ID -> *gws.Conn, for the send route
	nextID    atomic.Int64
	accepted  atomic.Int64
	peak      atomic.Int64
	echoed    atomic.Int64
	mu        sync.RWMutex
	members   map[*gws.Conn]struct{}
	published atomic.Int64
	fannedOut atomic.Int64
}

// readyMsg is what a fan-out member receives once it is in the group: the
// baseline's /sub sends it, and so does wsgw's scripts/bench/sub.js.
const readyMsg = "joined"

// soReusePort is SO_REUSEPORT on Linux (not in package syscall): several
// processes bind one port and the kernel spreads connections over them.
const soReusePort = 0xf

// startEchoServer listens on addr (with SO_REUSEPORT when several baseline
// processes share the port) and serves until Close.
func startEchoServer(addr string, reusePort, welcome bool, ctr *counters) (*echoServer, error) {
	lc := net.ListenConfig{}
	if reusePort {
		lc.Control = func(_, _ string, c syscall.RawConn) error {
			var serr error
			if err := c.Control(func(fd uintptr) {
				serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, soReusePort, 1)
			}); err != nil {
				return err
			}
			return serr
		}
	}
	ln, err := lc.Listen(context.Background(), "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("baseline listen on %s: %w", addr, err)
	}
	s := &echoServer{ctr: ctr, welcome: welcome, ln: ln, members: map[*gws.Conn]struct{}{}}
	s.upgrader = gws.NewUpgrader(s, &gws.ServerOption{Logger: gwsLogger{}})
	s.subUp = gws.NewUpgrader(memberHandler{s}, &gws.ServerOption{Logger: gwsLogger{}})
	s.pubUp = gws.NewUpgrader(publisherHandler{s}, &gws.ServerOption{Logger: gwsLogger{}})
	s.srv = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			slog.Error("baseline server stopped", "err", err)
		}
	}()
	return s, nil
}

// Addr is the address the server listens on.
func (s *echoServer) Addr() string { return s.ln.Addr().String() }

// Close stops accepting and closes every open socket.
func (s *echoServer) Close() {
	_ = s.srv.Close() // hijacked WebSocket connections are not the server's to close
	s.sockets.Range(func(k, _ any) bool {
		socket := k.(*gws.Conn)
		_ = socket.SetWriteDeadline(time.Now().Add(time.Second))
		_ = socket.WriteClose(1001, nil)
		return true
	})
}

func (s *echoServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	up := s.upgrader
	switch {
	case strings.HasPrefix(r.URL.Path, socketsPath):
		s.serveREST(w, r)
		return
	case strings.HasPrefix(r.URL.Path, groupsPath):
		s.serveGroupSend(w, r)
		return
	case r.URL.Path == "/sub":
		up = s.subUp
	case r.URL.Path == "/pub":
		up = s.pubUp
	}
	socket, err := up.Upgrade(w, r)
	if err != nil {
		slog.Debug("baseline upgrade failed", "remote", r.RemoteAddr, "err", err)
		return
	}
	s.accepted.Add(1)
	go socket.ReadLoop()
}

// socketsPath is where wsgw's admin API lists sockets and sends to one.
const socketsPath = "/api/v1/websocket/sockets"

// serveREST is the floor of wsgw's REST send: what net/http, a JSON decode
// and one gws write cost, with no token check, registry or writer queue.
// GET socketsPath lists every socket ID in one page; POST
// socketsPath/{id}/send with {"message": "..."} writes the message to that
// socket and answers 204. With --procs above 1 a request may reach another
// process than the socket's, which answers 404: use one process.
func (s *echoServer) serveREST(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet && r.URL.Path == socketsPath {
		ids := []string{}
		s.ids.Range(func(k, _ any) bool { ids = append(ids, k.(string)); return true })
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(ids)
		return
	}
	if r.Method == http.MethodPost && r.URL.Path == socketsPath+"/send" {
		s.serveBatch(w, r)
		return
	}
	id, ok := strings.CutSuffix(strings.TrimPrefix(r.URL.Path, socketsPath+"/"), "/send")
	if r.Method != http.MethodPost || !ok {
		http.Error(w, "not a route of the baseline", http.StatusNotFound)
		return
	}
	var body struct {
		Message string `json:"message"`
		Type    string `json:"type"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	socket, ok := s.ids.Load(id)
	if !ok {
		http.Error(w, "no socket "+id, http.StatusNotFound)
		return
	}
	if err := socket.(*gws.Conn).WriteString(body.Message); err != nil {
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	s.ctr.sent.Add(1)
	w.WriteHeader(http.StatusNoContent)
}

// serveBatch is the floor of wsgw's batch send: a JSON array of
// {"socket_id", "message"} decoded, each message written to its socket,
// and an array of null (or an error string) answered.
func (s *echoServer) serveBatch(w http.ResponseWriter, r *http.Request) {
	var items []struct {
		SocketID string `json:"socket_id"`
		Message  string `json:"message"`
		Type     string `json:"type"`
	}
	if err := json.NewDecoder(r.Body).Decode(&items); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	answers := make([]any, len(items))
	for i, it := range items {
		socket, ok := s.ids.Load(it.SocketID)
		if !ok {
			answers[i] = "no socket " + it.SocketID
			continue
		}
		if err := socket.(*gws.Conn).WriteString(it.Message); err != nil {
			answers[i] = err.Error()
			continue
		}
		s.ctr.sent.Add(1)
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(answers)
}

// groupsPath is where wsgw's admin API addresses groups.
const groupsPath = "/api/v1/websocket/groups/"

// serveGroupSend is the floor of wsgw's REST publish: POST
// groupsPath{group}/send with {"message": "..."} writes the message to every
// /sub socket (the baseline has one group, whatever its name) and answers
// 202, as wsgw does.
func (s *echoServer) serveGroupSend(w http.ResponseWriter, r *http.Request) {
	if _, ok := strings.CutSuffix(strings.TrimPrefix(r.URL.EscapedPath(), groupsPath), "/send"); r.Method != http.MethodPost || !ok {
		http.Error(w, "not a route of the baseline", http.StatusNotFound)
		return
	}
	var body struct {
		Message string `json:"message"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.broadcast(gws.OpcodeText, []byte(body.Message))
	w.WriteHeader(http.StatusAccepted)
}

// broadcast writes one message to every member with gws's Broadcaster,
// which builds the frame once for all of them and queues it on each
// socket's own writer: the cheapest correct fan-out gws offers. payload
// must not be changed until the writes are done.
func (s *echoServer) broadcast(op gws.Opcode, payload []byte) {
	b := gws.NewBroadcaster(op, payload)
	var n int64
	s.mu.RLock()
	for m := range s.members {
		if b.Broadcast(m) == nil {
			n++
		}
	}
	s.mu.RUnlock()
	_ = b.Close() // the frame goes back to gws's pool once the last queued write is done
	s.published.Add(1)
	s.fannedOut.Add(n)
	s.ctr.sent.Add(n)
}

// register counts a new socket and keeps it for the REST routes and Close.
func (s *echoServer) register(socket *gws.Conn) {
	id := strconv.FormatInt(s.nextID.Add(1), 36)
	s.sockets.Store(socket, id)
	s.ids.Store(id, socket)
	n := s.ctr.conns.Add(1)
	for p := s.peak.Load(); n > p && !s.peak.CompareAndSwap(p, n); p = s.peak.Load() {
	}
}

func (s *echoServer) OnOpen(socket *gws.Conn) {
	s.register(socket)
	if s.welcome {
		if err := socket.WriteString("Welcome"); err == nil {
			s.ctr.sent.Add(1)
		}
	}
}

func (s *echoServer) OnClose(socket *gws.Conn, _ error) {
	if id, ok := s.sockets.LoadAndDelete(socket); ok {
		s.ids.Delete(id)
	}
	s.ctr.conns.Add(-1)
}

// memberHandler serves /sub: the socket joins the group, is told so with
// readyMsg, and leaves it when it closes. What it sends is ignored.
type memberHandler struct{ *echoServer }

func (h memberHandler) OnOpen(socket *gws.Conn) {
	h.register(socket)
	h.mu.Lock()
	h.members[socket] = struct{}{}
	h.mu.Unlock()
	if err := socket.WriteString(readyMsg); err == nil {
		h.ctr.sent.Add(1)
	}
}

func (h memberHandler) OnClose(socket *gws.Conn, err error) {
	h.mu.Lock()
	delete(h.members, socket)
	h.mu.Unlock()
	h.echoServer.OnClose(socket, err)
}

func (h memberHandler) OnMessage(_ *gws.Conn, m *gws.Message) {
	h.ctr.recv.Add(1)
	_ = m.Close()
}

// publisherHandler serves /pub: every message is broadcast to the members.
type publisherHandler struct{ *echoServer }

func (h publisherHandler) OnOpen(socket *gws.Conn) { h.register(socket) }

func (h publisherHandler) OnMessage(_ *gws.Conn, m *gws.Message) {
	h.ctr.recv.Add(1)
	h.broadcast(m.Opcode, bytes.Clone(m.Bytes())) // m's buffer goes back to a pool at Close
	_ = m.Close()
}

func (s *echoServer) OnPing(socket *gws.Conn, payload []byte) { _ = socket.WritePong(payload) }

func (s *echoServer) OnPong(*gws.Conn, []byte) {}

func (s *echoServer) OnMessage(socket *gws.Conn, m *gws.Message) {
	s.ctr.recv.Add(1)
	if err := socket.WriteMessage(m.Opcode, m.Bytes()); err == nil {
		s.ctr.sent.Add(1)
		s.echoed.Add(1)
	} else {
		s.ctr.errors.Add(1)
	}
	_ = m.Close()
}

// runBaseline serves until SIGINT/SIGTERM or --duration.
func runBaseline(ctx context.Context, r *runner) (*Results, error) {
	s, err := startEchoServer(r.listen.String(), r.cfg.Procs > 1, r.cfg.Welcome, &r.ctr)
	if err != nil {
		return nil, err
	}
	slog.Info("baseline echo and fan-out server listening", "addr", s.Addr(), "welcome", r.cfg.Welcome, "duration", r.cfg.Duration,
		"max_conns_per_process", r.maxSockets)
	start := time.Now()
	if r.cfg.Duration > 0 {
		sleepCtx(ctx, time.Duration(r.cfg.Duration))
	} else {
		<-ctx.Done()
	}
	s.Close()
	elapsed := time.Since(start).Seconds()
	return &Results{
		ElapsedSec: elapsed,
		Procs:      1,
		Server: &ServerStats{
			Accepted:  s.accepted.Load(),
			PeakConns: s.peak.Load(),
			Echoed:    s.echoed.Load(),
			PerSec:    float64(s.echoed.Load()) / elapsed,
			Published: s.published.Load(),
			FannedOut: s.fannedOut.Load(),
		},
	}, nil
}
