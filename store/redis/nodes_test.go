package redis_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wsgw/wsgw"
	"github.com/wsgw/wsgw/deploy"
	"github.com/wsgw/wsgw/gateway"
	"github.com/wsgw/wsgw/handlers"
	"github.com/wsgw/wsgw/internal/gwtest"
	"github.com/wsgw/wsgw/internal/redistest"
	"github.com/wsgw/wsgw/metrics"
	"github.com/wsgw/wsgw/service"
	"github.com/wsgw/wsgw/store"
	redisstore "github.com/wsgw/wsgw/store/redis"
)

// waitFor bounds every wait, so that a broken cluster fails a test instead
// of hanging it.
const waitFor = 15 * time.Second

// relayScript tells a client its socket_id, then runs the Websocket
// operation that each message names and answers with its result, so that a
// test can drive script calls across nodes from a client:
// {"op": "send", "to": id, "message": "..."} answers {"result": null}.
const relayScript = `
if (websocketInfo.type === "open") return websocketInfo.socket_id;
if (websocketInfo.type === "data") {
  var c = JSON.parse(websocketInfo.message), r;
  if (c.op === "echo") return c.message;
  if (c.op === "send") r = Websocket.send({socket_id: c.to, message: c.message});
  if (c.op === "close") r = Websocket.close({socket_id: c.to, code: c.code, reason: c.reason});
  if (c.op === "info") r = Websocket.info({socket_id: c.to});
  if (c.op === "closeAll") r = Websocket.closeAll();
  if (c.op === "join") r = c.to ? Websocket.join({socket_id: c.to, group: c.group}) : websocketInfo.join(c.group);
  if (c.op === "leave") r = Websocket.leave({socket_id: c.to, group: c.group});
  if (c.op === "publish") r = Websocket.publish({group: c.group, message: c.message, exclude: c.exclude});
  if (c.op === "broadcast") r = Websocket.broadcast({message: c.message, exclude: c.exclude});
  if (c.op === "list") r = Websocket.list(c.args);
  if (c.op === "setUser") r = websocketInfo.setUser(c.user);
  if (c.op === "sendToUser") r = Websocket.sendToUser({user_id: c.user, message: c.message});
  if (c.op === "closeUser") r = Websocket.closeUser({user_id: c.user, code: c.code});
  if (c.op === "count") { websocketInfo.state.n = (websocketInfo.state.n || 0) + 1; r = websocketInfo.state.n; }
  return JSON.stringify({result: r === undefined ? null : r});
}`

// node is one in-process gateway node: the gateway on an httptest server,
// its admin REST API on another, and its Redis store.
type node struct {
	t        testing.TB
	id       string
	store    *parts // nil on the memory store
	registry store.Registry
	svc      *service.Service
	deploys  *deploy.Manager
	public   *httptest.Server
	admin    *httptest.Server
	metrics  *metrics.Metrics
}

// startNode starts node id of the cluster under prefix on b.
func (b backend) startNode(t testing.TB, prefix, id string) *node {
	t.Helper()
	return b.startNodeWith(t, prefix, id, testHeartbeat)
}

// startNodeWith starts a node that heartbeats every heartbeat.
func (b backend) startNodeWith(t testing.TB, prefix, id string, heartbeat time.Duration) *node {
	t.Helper()
	return b.startNodeOpts(t, prefix, id, nodeOptions{heartbeat: heartbeat})
}

// nodeOptions are the store settings a test may change; zero is the default.
type nodeOptions struct {
	heartbeat      time.Duration
	requestTimeout time.Duration
	logger         *slog.Logger
}

func (b backend) startNodeOpts(t testing.TB, prefix, id string, o nodeOptions) *node {
	t.Helper()
	logger := o.logger
	if logger == nil {
		logger = testLogger()
	}
	m := metrics.New(prometheus.NewRegistry())
	st := b.open(t, prefix, id, redisstore.Options{Logger: logger, Metrics: m, HeartbeatInterval: o.heartbeat, RequestTimeout: o.requestTimeout})
	n := newNode(t, id, gwtest.Options{Registry: st.registry, NewBus: func(l store.Local) store.Bus { return st.serve(l) }, Deploys: st.deploys}, logger, m)
	n.store = st
	return n
}

// startMemoryNode starts a single node on the embedded memory store.
func startMemoryNode(t testing.TB) *node {
	return newNode(t, "memory", gwtest.Options{}, testLogger(), metrics.New(prometheus.NewRegistry()))
}

// newNode wires node id on the store parts of o, as cmd/gateway does, with
// the relay endpoint deployed and its admin REST API on a server of its own.
func newNode(t testing.TB, id string, o gwtest.Options, logger *slog.Logger, m *metrics.Metrics) *node {
	t.Helper()
	o.NodeID, o.Logger, o.Metrics, o.Timeout = id, logger, m, 5*time.Second
	h := gwtest.New(t, o)
	if _, err := h.Deploys.DeployConfig(context.Background(), wsgw.Deployment{Path: "/relay", Script: relayScript, Name: "relay.js", Source: "config"}); err != nil {
		t.Fatal(err)
	}
	n := &node{t: t, id: id, registry: h.Registry, svc: h.Service, deploys: h.Deploys, metrics: m, public: h.Srv,
		admin: httptest.NewServer(handlers.Admin(handlers.AdminOptions{
			Service: h.Service, Deployer: h.Deploys, Health: h.GW.Health, MaxMessageBytes: gateway.DefaultMaxMessageBytes,
		})),
	}
	t.Cleanup(n.admin.Close)
	return n
}

// startNodes starts nodes node-0 … node-(count-1) sharing a fresh prefix.
func (b backend) startNodes(t testing.TB, count int) []*node {
	return b.startNodesWith(t, count, testHeartbeat)
}

func (b backend) startNodesWith(t testing.TB, count int, heartbeat time.Duration) []*node {
	prefix := redistest.Prefix()
	nodes := make([]*node, count)
	for i := range nodes {
		nodes[i] = b.startNodeWith(t, prefix, fmt.Sprintf("node-%d", i), heartbeat)
	}
	return nodes
}

// kill stops the node as SIGKILL would: the store stops without leaving
// the registry, and every client connection drops.
func (n *node) kill() {
	n.store.close(false)
	n.public.CloseClientConnections()
}

// client is a real WebSocket client of one node, that knows its socket ID.
type client struct {
	*gwtest.Client
	t  testing.TB
	id string
}

func (n *node) url(path string) string {
	return "ws" + strings.TrimPrefix(n.public.URL, "http") + path
}

func (n *node) dial() *client {
	n.t.Helper()
	c := &client{Client: gwtest.Dial(n.t, n.url("/relay"), nil), t: n.t}
	c.id = c.ReadText()
	return c
}

// call runs a Websocket operation in the script of c's node and returns
// its result as JSON.
func (c *client) call(op map[string]any) string {
	c.t.Helper()
	data, _ := json.Marshal(op)
	c.Send(string(data))
	var answer struct{ Result json.RawMessage }
	if err := json.Unmarshal([]byte(c.ReadText()), &answer); err != nil {
		c.t.Fatalf("script answer: %v", err)
	}
	return string(answer.Result)
}

// rest calls the node's admin API and returns the status and body.
func (n *node) rest(method, path, body string) (int, string) {
	n.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, n.admin.URL+path, strings.NewReader(body))
	if err != nil {
		n.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		n.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(data)
}

// list is every socket ID the node's REST API lists, sorted.
func (n *node) list() []string {
	n.t.Helper()
	status, body := n.rest("GET", "/api/v1/websocket/sockets", "")
	if status != http.StatusOK {
		n.t.Fatalf("list on %s: %d %s", n.id, status, body)
	}
	var ids []string
	if err := json.Unmarshal([]byte(body), &ids); err != nil {
		n.t.Fatalf("list on %s: %v", n.id, err)
	}
	slices.Sort(ids)
	return ids
}

func (n *node) info(id string) (int, wsgw.Socket) {
	n.t.Helper()
	status, body := n.rest("GET", "/api/v1/websocket/sockets/"+url.PathEscape(id), "")
	var s wsgw.Socket
	if status == http.StatusOK {
		if err := json.Unmarshal([]byte(body), &s); err != nil {
			n.t.Fatalf("info: %v", err)
		}
	}
	return status, s
}

func (n *node) send(id, message string) (int, string) {
	n.t.Helper()
	body, _ := json.Marshal(map[string]string{"message": message, "type": wsgw.MessageText})
	return n.rest("POST", "/api/v1/websocket/sockets/"+url.PathEscape(id)+"/send", string(body))
}

// health is the node's health probe, as both listeners answer it.
func (n *node) health() (int, string) {
	n.t.Helper()
	return n.rest("GET", "/api/v1/solution/health", "")
}

// flushAll makes every node's registrations visible to every other.
func flushAll(t testing.TB, nodes ...*node) {
	t.Helper()
	for _, n := range nodes {
		ctx, cancel := context.WithTimeout(context.Background(), waitFor)
		err := n.registry.Flush(ctx)
		cancel()
		if err != nil {
			t.Fatalf("flush on %s: %v", n.id, err)
		}
	}
}

// ids returns the sorted socket IDs of clients.
func ids(clients ...*client) []string {
	out := make([]string, len(clients))
	for i, c := range clients {
		out[i] = c.id
	}
	slices.Sort(out)
	return out
}

// eventually polls cond, for state that has no signal of its own.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// tryList is list for moments when the registry may fail: it returns the
// status instead of failing the test.
func (n *node) tryList() ([]string, int) {
	n.t.Helper()
	status, body := n.rest("GET", "/api/v1/websocket/sockets", "")
	var ids []string
	if status == http.StatusOK {
		_ = json.Unmarshal([]byte(body), &ids)
	}
	slices.Sort(ids)
	return ids, status
}
