// Package gateway is the WebSocket server: the upgrade, each connection's
// lifecycle, rate limit and frame checks, the hand-off of its events to
// the script engine, and the table of this node's connections (Conns),
// which the bus and the socket service reach sockets through.
package gateway

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/netip"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lxzan/gws"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"

	"github.com/wsgw/wsgw"
	"github.com/wsgw/wsgw/deploy"
	"github.com/wsgw/wsgw/internal/httperr"
	"github.com/wsgw/wsgw/metrics"
	"github.com/wsgw/wsgw/runtime"
	"github.com/wsgw/wsgw/store"
)

// Options configure a Gateway. Zero fields get defaults from setDefaults.
type Options struct {
	NodeID string
	Limits Limits
	// Conns is the table of this node's connections: the same that its Bus
	// carries other nodes' commands to (required).
	Conns *Conns
	// Engine runs the endpoints' scripts (required).
	Engine *runtime.Engine
	// Registry records the sockets of every node (required).
	Registry store.Registry
	// Routes are the deployed endpoints (required): the deploy manager.
	Routes  Routes
	Logger  *slog.Logger
	Metrics *metrics.Metrics
}

func (o *Options) setDefaults() {
	o.Limits = o.Limits.WithDefaults()
	if o.NodeID == "" {
		o.NodeID = "node-" + newSocketID()[:8]
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Metrics == nil {
		o.Metrics = metrics.New(nil)
	}
	l := &o.Limits
	pool := o.Engine.PoolSize()
	if l.ScriptWorkersPerEndpoint <= 0 {
		l.ScriptWorkersPerEndpoint = (pool + 1) / 2
	}
	l.ScriptWorkersPerEndpoint = min(l.ScriptWorkersPerEndpoint, pool)
	if l.InterruptedWorkers <= 0 {
		l.InterruptedWorkers = max(1, pool/8)
	}
}

// Routes are the deployed endpoints, as the gateway asks for them: the
// endpoint of a request path, and the event handler (deploy.Manager).
type Routes interface {
	Match(escapedPath string) (*deploy.Endpoint, map[string]string)
	EventHandler() *runtime.Handler
}

// Gateway serves the WebSocket endpoints.
type Gateway struct {
	opts     Options
	log      *slog.Logger
	metrics  gatewayMetrics
	upgrader *gws.Upgrader
	// subprotocols holds an upgrader per subprotocol agreed on (upgraderFor).
	subprotocols sync.Map
	// stompIDs numbers the MESSAGE frames of this node (message-id).
	stompIDs atomic.Uint64
	conns    *Conns

	perIP    sync.Map        // clientKey -> *atomic.Int64, when max_connections_per_ip is set; an entry lives while its client has a connection
	upgrades *upgradeLimiter // nil when upgrades_per_ip_per_second is 0
	expiries *expiryQueue
	open     atomic.Int64
	closing  atomic.Bool
	active   sync.WaitGroup // one per connection between upgrade and the end of its close event
	lifeMu   sync.Mutex     // orders active.Add (enter) before Shutdown's Wait
	stop     chan struct{}  // closed when Shutdown starts
	halted   chan struct{}  // closed when Shutdown ends: events wait for no more runtimes
	// interrupted is the lane of connections whose last event was
	// interrupted (fairshare.go).
	interrupted semaphore

	routes Routes
	slots  sync.Map     // endpoint path -> its semaphore: its share of the script workers (fairshare.go)
	storms storms       // memory released after connect storms (storm.go)
	states *stateWrites // changed states on their way to the registry (statewrites.go)
	hops   *hops        // runs the read loops' callbacks off their stacks (readloop.go)
}

// gatewayMetrics are the collectors the gateway touches per message,
// resolved once.
type gatewayMetrics struct {
	*metrics.Metrics
	refusedClosing, refusedBackpressure prometheus.Counter
	rejected                            func(reason string)
}

// New builds a gateway that serves the endpoints of opts.Routes. It starts
// the idle sweeper; call Shutdown to stop.
func New(opts Options) (*Gateway, error) {
	for name, missing := range map[string]bool{
		"Conns": opts.Conns == nil, "Engine": opts.Engine == nil, "Registry": opts.Registry == nil,
		"Routes": opts.Routes == nil,
	} {
		if missing {
			return nil, fmt.Errorf("gateway: Options.%s is required", name)
		}
	}
	opts.setDefaults()
	if opts.Limits.MaxMessageBytes > MaxMessageBytesLimit {
		return nil, fmt.Errorf("max_message_bytes %d is above %d", opts.Limits.MaxMessageBytes, MaxMessageBytesLimit)
	}
	switch opts.Limits.OnExceed {
	case ExceedDrop, ExceedClose, ExceedDelay:
	default:
		return nil, fmt.Errorf("on_exceed %q: want drop, close or delay", opts.Limits.OnExceed)
	}
	g := &Gateway{
		opts:   opts,
		conns:  opts.Conns,
		routes: opts.Routes,
		log:    opts.Logger,
		stop:   make(chan struct{}),
		halted: make(chan struct{}),
		metrics: gatewayMetrics{
			Metrics:             opts.Metrics,
			refusedClosing:      opts.Metrics.SendsRefused.WithLabelValues("closing"),
			refusedBackpressure: opts.Metrics.SendsRefused.WithLabelValues("backpressure"),
			rejected:            func(r string) { opts.Metrics.ConnectionsRejected.WithLabelValues(r).Inc() },
		},
	}
	g.interrupted = newSemaphore(opts.Limits.InterruptedWorkers)
	g.expiries = newExpiryQueue()
	g.states = newStateWrites()
	if l := opts.Limits; l.UpgradesPerIPPerSecond > 0 {
		g.upgrades = newUpgradeLimiter(l.UpgradesPerIPPerSecond, l.UpgradesPerIPBurst, maxTrackedClients)
	}
	g.hops = newHops(events{g}, g.stop)
	g.upgrader = g.newUpgrader("")
	go g.sweep()
	go g.expiries.run(g.stop, g.expire)
	go g.states.run(g.stop, opts.Registry, func(c *conn, err error) { g.indexed("set_state", c, err) })
	go g.storms.watch(g.stop, func(took time.Duration) {
		g.log.Info("memory released after a connect storm", "took", took, "connections", g.conns.len())
	})
	return g, nil
}

// newUpgrader makes the upgrader of connections that agree on subprotocol
// ("" for none).
func (g *Gateway) newUpgrader(subprotocol string) *gws.Upgrader {
	opt := &gws.ServerOption{
		ReadMaxPayloadSize: g.opts.Limits.MaxMessageBytes,
		// 128-byte read buffers: a frame larger than the buffer is read straight
		// into its message buffer, and idle connections stay small.
		ReadBufferSize:   128,
		HandshakeTimeout: g.opts.Limits.HandshakeTimeout,
		CheckUtf8Enabled: true,
		Recovery:         gws.Recovery,
		Logger:           gwsLogger{g.log},
		NewSession:       func() gws.SessionStorage { return &session{} },
	}
	if subprotocol != "" {
		opt.SubProtocols = []string{subprotocol}
	}
	return gws.NewUpgrader(g.hops, opt)
}

// upgraderFor returns the upgrader that names subprotocol in its answer.
// gws negotiates one list for all its connections, in its own order; the
// gateway picks the protocol per endpoint (deploy.Settings.Subprotocol) and
// hands gws a list of just that one. There are as many upgraders as distinct
// protocols the endpoints list.
func (g *Gateway) upgraderFor(subprotocol string) *gws.Upgrader {
	if subprotocol == "" {
		return g.upgrader
	}
	if u, ok := g.subprotocols.Load(subprotocol); ok {
		return u.(*gws.Upgrader)
	}
	u, _ := g.subprotocols.LoadOrStore(subprotocol, g.newUpgrader(subprotocol))
	return u.(*gws.Upgrader)
}

// NodeID is the name of this node in the cluster.
func (g *Gateway) NodeID() string { return g.opts.NodeID }

// ServeHTTP upgrades requests for an endpoint; everything is checked before
// the upgrade, so a refusal is a plain HTTP answer.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ep, pathParams := g.routes.Match(r.URL.EscapedPath())
	if ep == nil {
		g.refuse(w, r, "no_endpoint", wsgw.Errorf(wsgw.ENotFound, "no WebSocket endpoint at %s", r.URL.Path))
		return
	}
	if !isUpgrade(r) {
		w.Header().Set("Upgrade", "websocket")
		w.Header().Set("Connection", "Upgrade")
		g.refuse(w, r, "not_websocket", wsgw.Errorf(wsgw.EUpgradeRequired, "this is a WebSocket endpoint: connect with a WebSocket client"))
		return
	}
	if g.closing.Load() {
		g.refuse(w, r, "shutting_down", errShuttingDown)
		return
	}
	key := clientKey(r.RemoteAddr)
	if g.upgrades != nil {
		if ok, wait := g.upgrades.allow(key, time.Now()); !ok {
			w.Header().Set("Retry-After", strconv.Itoa(max(1, int(math.Ceil(wait.Seconds())))))
			g.refuse(w, r, "upgrade_rate", wsgw.Errorf(wsgw.ETooManyRequests, "too many connection attempts from your address; retry later"))
			return
		}
	}
	set := ep.Settings() // one deploy's origins and auth together
	if !set.AllowsOrigin(r.Header.Get("Origin")) {
		g.refuse(w, r, "origin", wsgw.Errorf(wsgw.EForbidden, "origin %s is not allowed", r.Header.Get("Origin")))
		return
	}
	var ip netip.Addr // stays invalid when the per-IP limit is off
	if g.opts.Limits.MaxConnectionsPerIP > 0 {
		ip = key
	}
	if reason := g.admit(ip); reason != "" {
		g.refuse(w, r, reason, wsgw.Errorf(wsgw.EUnavailable, "too many connections"))
		return
	}
	var id wsgw.Identity
	var refused *refusal
	if a := set.Auth(); a != nil {
		id, refused = g.authenticate(a, r)
	}
	if !g.enter() {
		g.release(ip)
		g.refuse(w, r, "shutting_down", errShuttingDown)
		return
	}
	c := g.newConn(r, ep, pathParams, ip)
	c.claims, c.refusal = id.Claims, refused
	if wsgw.ValidUser(id.UserID) == nil { // else a claim no user ID can be: the socket starts unbound
		c.authUser = id.UserID
	}
	if !id.Expires.IsZero() {
		c.expires = id.Expires.UnixNano()
	}
	offered := r.Header.Values("Sec-WebSocket-Protocol")
	c.info.Subprotocol = set.Subprotocol(offered)
	if c.info.Subprotocol != "" && len(offered) > 1 {
		r.Header.Set("Sec-WebSocket-Protocol", c.info.Subprotocol) // gws reads the first line only
	}
	if st := set.STOMP(); st != nil {
		c.stomp = newStompSession(c, st, g.opts.Limits.MaxMessageBytes)
	}
	socket, err := g.upgraderFor(c.info.Subprotocol).Upgrade(guardedWriter{w, &c.guard}, r)
	if err != nil {
		g.active.Done()
		g.release(ip)
		g.metrics.rejected("handshake")
		g.log.Debug("upgrade failed", "remote", r.RemoteAddr, "err", err)
		return
	}
	socket.Session().(*session).conn = c
	c.ws = socket
	c.offLoop = true         // this goroutine ends after the upgrade: its stack may grow
	events{g}.OnOpen(socket) // here, not on the read loop (readloop.go)
	c.offLoop = false
	g.serve(c)
}

// enter counts a connection about to be upgraded in active, unless Shutdown
// has begun: the check and the count are one step under lifeMu, so Shutdown's
// wait never races a late Add.
func (g *Gateway) enter() bool {
	g.lifeMu.Lock()
	defer g.lifeMu.Unlock()
	if g.closing.Load() {
		return false
	}
	g.active.Add(1)
	return true
}

func isUpgrade(r *http.Request) bool {
	return strings.EqualFold(r.Header.Get("Upgrade"), "websocket") &&
		strings.Contains(strings.ToLower(r.Header.Get("Connection")), "upgrade")
}

// errShuttingDown refuses upgrades once Shutdown has begun.
var errShuttingDown = wsgw.Errorf(wsgw.EUnavailable, "the gateway is shutting down")

// refuse answers an upgrade request with err as an HTTP error; reason
// labels the rejection metric. The log line is at debug level: refusals come
// in floods, and the metric is the signal that costs nothing per request.
func (g *Gateway) refuse(w http.ResponseWriter, r *http.Request, reason string, err *wsgw.Error) {
	g.metrics.rejected(reason)
	g.log.Debug("upgrade refused", "remote", r.RemoteAddr, "path", r.URL.Path, "status", httperr.Status(err), "reason", reason)
	httperr.Write(w, err)
}

// admit counts a new connection against max_connections and
// max_connections_per_ip, returning the reason when one is full.
func (g *Gateway) admit(ip netip.Addr) string {
	l := g.opts.Limits
	if n := g.open.Add(1); l.MaxConnections > 0 && n > int64(l.MaxConnections) {
		g.open.Add(-1)
		return "max_connections"
	}
	if ip.IsValid() {
		v, _ := g.perIP.LoadOrStore(ip, new(atomic.Int64))
		if v.(*atomic.Int64).Add(1) > int64(l.MaxConnectionsPerIP) {
			g.release(ip)
			return "max_connections_per_ip"
		}
	}
	return ""
}

func (g *Gateway) release(ip netip.Addr) {
	g.open.Add(-1)
	if !ip.IsValid() {
		return
	}
	if v, ok := g.perIP.Load(ip); ok && v.(*atomic.Int64).Add(-1) <= 0 {
		g.perIP.CompareAndDelete(ip, v)
	}
}

// newConn builds the connection's record before the upgrade, while the
// request is at hand.
func (g *Gateway) newConn(r *http.Request, ep *deploy.Endpoint, pathParams map[string]string, ip netip.Addr) *conn {
	now := time.Now()
	params := map[string]string{}
	for k, vs := range r.URL.Query() {
		if len(vs) > 0 {
			params[k] = vs[0]
		}
	}
	for k, v := range pathParams {
		params[k] = v
	}
	headers := make(map[string]string, len(r.Header))
	for k, vs := range r.Header {
		headers[lowerHeader(k)] = strings.Join(vs, ", ")
	}
	if r.Host != "" {
		headers["host"] = r.Host
	}
	c := &conn{
		g:        g,
		endpoint: ep,
		slots:    g.endpointSlots(ep.Path()),
		remote:   r.RemoteAddr,
		ip:       ip,
		opened:   now,
		info: &wsgw.SocketInfo{
			ID:         newSocketID(),
			Node:       g.opts.NodeID,
			URI:        requestURI(r),
			Route:      ep.Path(),
			Headers:    headers,
			Parameters: params,
			Timestamp:  now.UnixMilli(),
		},
	}
	if l := g.opts.Limits; l.MessagesPerSecond > 0 {
		c.limiter = rate.NewLimiter(rate.Limit(l.MessagesPerSecond), l.Burst)
	}
	c.written = c.onWritten
	c.broadcasted = c.onBroadcast
	c.guard.c = c
	c.guard.max = uint32(g.opts.Limits.MaxMessageBytes)
	c.expiryIndex = -1
	c.lastSeen.Store(now.UnixNano())
	return c
}

// lowerHeaders are the lower-case names of the headers every upgrade
// carries, by their canonical form, so that each connection's headers do
// not hold a copy of each (docs/BENCHMARKS.md, "Memory per idle
// connection").
var lowerHeaders = func() map[string]string {
	m := map[string]string{}
	for _, k := range []string{"Host", "Upgrade", "Connection", "Origin", "User-Agent", "Authorization", "Cookie",
		"Accept-Encoding", "Accept-Language", "Cache-Control", "Pragma", "X-Forwarded-For", "X-Real-Ip",
		"Sec-Websocket-Key", "Sec-Websocket-Version", "Sec-Websocket-Extensions", "Sec-Websocket-Protocol"} {
		m[k] = strings.ToLower(k)
	}
	return m
}()

func lowerHeader(canonical string) string {
	if k, ok := lowerHeaders[canonical]; ok {
		return k
	}
	return strings.ToLower(canonical)
}

func requestURI(r *http.Request) string {
	scheme := "ws"
	if r.TLS != nil {
		scheme = "wss"
	}
	return scheme + "://" + r.Host + r.URL.RequestURI()
}

// newSocketID returns 128 random bits, URL-safe base64 (22 characters).
func newSocketID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// serve starts the connection's read loop. Our callbacks recover their own
// panics (events.go), and the engine those in scripts' bindings; a panic
// inside gws's frame reading, or one that escaped a callback, is recovered
// here, so one bad connection never takes the process down. The goroutine
// is a closure, not a call of a method with arguments, which would add a
// wrapper's frame: the read loop parks close to the limit of its stack
// (readloop.go).
func (g *Gateway) serve(c *conn) {
	go func() {
		defer g.recoverReadLoop(c)
		c.ws.ReadLoop()
	}()
}

func (g *Gateway) recoverReadLoop(c *conn) {
	if p := recover(); p != nil {
		g.panicked(c, "read loop", p, debug.Stack())
		c.abort(1011, "internal error")
		g.finish(c, 1011, "internal error")
	}
}

// panicked logs and counts a panic recovered on connection c.
func (g *Gateway) panicked(c *conn, where string, p any, stack []byte) {
	g.metrics.Panics.Inc()
	g.log.Error("panic recovered", "socket_id", c.info.ID, "route", c.info.Route, "where", where,
		"panic", fmt.Sprint(p), "stack", string(stack))
}

// runEvent runs one event of c on the read loop, one at a time per connection.
// A Go panic during the run (a bug in a binding, not the script) closes the
// connection with 1011; interrupted runs count towards closing it
// (fairshare.go).
func (g *Gateway) runEvent(c *conn, ev *runtime.Event) error {
	h := c.endpoint.Handler()
	if eh := g.routes.EventHandler(); eh != nil {
		h = eh
	}
	c.scriptVersion.Store(h.Version)
	ev.Conn = c
	c.beginEvent()
	defer c.endEvent()
	err := g.handOff(c, h, ev)
	if err == errGone {
		g.log.Debug("event of a gone connection not run", "socket_id", c.info.ID, "route", c.info.Route)
		return err
	}
	if ev.Type != runtime.Close {
		g.strike(c, err)
	}
	if err != nil && err != runtime.ErrRefused { // only here, so that pe costs no allocation per event
		var pe *runtime.PanicError
		if errors.As(err, &pe) {
			g.panicked(c, ev.Type.String()+" event", pe.Value, pe.Stack)
			_ = c.Close(1011, "internal error")
		} else {
			g.log.Warn("script error", "socket_id", c.info.ID, "route", c.info.Route, "event", ev.Type.String(), "err", err)
		}
	}
	return err
}

// handOff runs the event, once it has taken its share of the pool
// (fairshare.go), on the goroutine it is called on when that one's stack
// may grow: a busy connection's read loop, the upgrading goroutine (open)
// or a helper the read loop handed the message to (readloop.go). Else, on
// a quiet connection's read loop, it runs on one of the engine's workers
// (Engine.Dispatch), so that goja's deep frames do not grow the stack of
// every quiet connection (docs/BENCHMARKS.md, "Memory per idle
// connection"). Each inline run saves the hand-off's two goroutine
// switches.
//
// The time an event runs, from admission to its end, sets c.slow and
// c.heavy; the time it waited for admission does not. Under load every
// event waits in the queue for a slot: counted, that wait would make every
// connection heavy, hand every event off, and so lengthen the queue it
// measured.
func (g *Gateway) handOff(c *conn, h *runtime.Handler, ev *runtime.Event) error {
	gr, err := g.admitEvent(c, ev)
	if err != nil {
		return err
	}
	defer gr.release()
	start := time.Now()
	if c.offLoop || c.busy() {
		err = g.opts.Engine.Run(context.Background(), h, ev)
	} else {
		err = g.opts.Engine.Dispatch(h, ev)
	}
	ran := time.Since(start)
	c.slow = ran > waitedLong
	c.heavy = ran > heavyEvent
	return err
}

// A connection is busy when its last inlineAfter messages each came
// within busyGap of the one before, and its last event ran less than
// heavyEvent. Inline runs save a few microseconds an event;
// a long one (a publish to thousands of sockets) saves nothing by it, and
// measured, a publisher at 20 publishes/s to 5,000 members delivered 15%
// less run on its read loop than handed off (docs/BENCHMARKS.md).
const (
	busyGap     = 100 * time.Millisecond
	inlineAfter = 3
	heavyEvent  = time.Millisecond
)

// countStreak counts a message that came gap ns after the client's frame
// before it. It runs on the read loop, which owns c.streak.
func (c *conn) countStreak(gap int64) {
	switch {
	case gap > int64(busyGap):
		c.streak = 0
	case c.streak < inlineAfter:
		c.streak++
	}
}

func (c *conn) busy() bool { return c.streak >= inlineAfter && !c.heavy }

// finish ends a connection once: its close event, deregistration, metrics and
// the close log line. It runs on the read loop (from OnClose, or serve's
// recovery). The accounting is deferred so that a panic in the store or the
// close event cannot leak a connection slot.
func (g *Gateway) finish(c *conn, code int, reason string) {
	if !c.finished.CompareAndSwap(false, true) {
		return
	}
	defer g.active.Done()
	defer g.release(c.ip)
	c.closing.Store(true)
	if ours, why, ok := c.closedBy(); ok {
		code, reason = ours, why
	}
	if !c.counted {
		g.log.Debug("refused connection closed", "remote", c.remote, "route", c.info.Route, "code", code)
		return
	}
	if c.expires != 0 {
		g.expiries.remove(c)
	}
	g.conns.remove(c)
	g.conns.unindex(c)
	g.metrics.ConnectionsOpen.Dec()
	g.metrics.Closed(code)
	// Unregistered before the close event, so that what the event tells
	// others (a "left" notice) never reaches one who still lists the socket.
	if err := g.opts.Registry.Unregister(context.Background(), c.info.ID); err != nil {
		g.metrics.StoreErrors.WithLabelValues("unregister").Inc()
		g.log.Error("store unregister failed", "socket_id", c.info.ID, "err", err)
	}
	if c.openRan {
		ev := runtime.Event{Type: runtime.Close, Timestamp: time.Now().UnixMilli(), CloseCode: code, CloseReason: reason}
		_ = g.runEvent(c, &ev)
	}
	g.log.Info("connection closed", "socket_id", c.info.ID, "route", c.info.Route, "remote", c.remote,
		"duration_ms", time.Since(c.opened).Milliseconds(), "code", code, "reason", reason,
		"messages_in", c.in.Load(), "messages_out", c.out.Load(), "messages_dropped", c.dropped.Load())
}

// sweep pings connections that have been quiet for half the idle timeout and
// closes those quiet for all of it. One goroutine for the node costs less
// than a timer per connection; pings are written by a few pinger goroutines,
// not through each connection's async queue, so a ping round does not start
// a writer goroutine per connection.
func (g *Gateway) sweep() {
	idle := g.opts.Limits.IdleTimeout
	t := time.NewTicker(max(idle/4, 10*time.Millisecond))
	defer t.Stop()
	due := make(chan *conn, 1024)
	defer close(due)
	for range pingers {
		go func() {
			for c := range due {
				c.ping(idle / 2)
			}
		}()
	}
	for {
		select {
		case <-g.stop:
			return
		case now := <-t.C:
			if g.upgrades != nil {
				g.upgrades.prune(now)
			}
			g.conns.each(func(c *conn) {
				quiet := time.Duration(now.UnixNano() - c.lastSeen.Load())
				switch {
				case quiet >= idle:
					_ = c.Close(1001, "idle timeout")
				case quiet >= idle/2:
					select {
					case due <- c:
					case <-g.stop:
					}
				}
			})
		}
	}
}

// pingers is how many goroutines write pings; a client whose socket buffer
// is full holds one of them for at most the ping's write timeout.
const pingers = 4

// Shutdown stops accepting connections, closes every socket with 1001, and
// waits for their close events and deregistration until ctx ends. The
// engine is the caller's to close afterwards.
func (g *Gateway) Shutdown(ctx context.Context) error {
	g.lifeMu.Lock()
	started := g.closing.CompareAndSwap(false, true)
	g.lifeMu.Unlock()
	if !started {
		return errors.New("gateway: already shut down")
	}
	close(g.stop)
	g.conns.each(func(c *conn) { _ = c.Close(1001, "going away") })
	// Scripts running now would hold their sockets' close events back.
	g.opts.Engine.Interrupt()
	done := make(chan struct{})
	go func() { g.active.Wait(); close(done) }()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = fmt.Errorf("gateway: %d connections still closing: %w", g.conns.len(), ctx.Err())
		g.conns.each(func(c *conn) { _ = c.ws.NetConn().Close() })
	}
	close(g.halted)
	return err
}

// session is the gws session storage: it only carries our conn, so a
// connection costs no session map.
type session struct{ conn *conn }

func (*session) Len() int                     { return 0 }
func (*session) Load(string) (any, bool)      { return nil, false }
func (*session) Delete(string)                {}
func (*session) Store(string, any)            {}
func (*session) Range(func(string, any) bool) {}
func connOf(socket *gws.Conn) *conn           { return socket.Session().(*session).conn }
func (l gwsLogger) Error(v ...any)            { l.log.Error("gws", "detail", fmt.Sprint(v...)) }

// gwsLogger routes gws's own log lines to slog.
type gwsLogger struct{ log *slog.Logger }

// Health reports whether this node can serve: the store must answer.
func (g *Gateway) Health(ctx context.Context) error {
	if g.closing.Load() {
		return errors.New("shutting down")
	}
	if err := g.opts.Registry.Ping(ctx); err != nil {
		return err
	}
	return nil
}
