package redis_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/wsgw/wsgw"
	"github.com/wsgw/wsgw/deploy"
	"github.com/wsgw/wsgw/gateway"
	"github.com/wsgw/wsgw/internal/gwtest"
	"github.com/wsgw/wsgw/internal/redistest"
	"github.com/wsgw/wsgw/metrics"
	redisstore "github.com/wsgw/wsgw/store/redis"
)

// versioned answers every message with its version and the message.
func versioned(v string) string {
	return `if (websocketInfo.type === "data") return "` + v + ` " + websocketInfo.message;
if (websocketInfo.type === "close") console.log("` + v + ` close");`
}

// dialPath connects to path on n, without reading anything.
func (n *node) dialPath(path string) *client {
	n.t.Helper()
	return &client{Client: gwtest.Dial(n.t, n.url(path), nil), t: n.t}
}

func (n *node) deploy(path, script string) wsgw.Deployment {
	n.t.Helper()
	dep, _, err := n.deploys.Deploy(context.Background(), wsgw.Deployment{Path: path, Script: script, Source: "api"})
	if err != nil {
		n.t.Fatalf("deploy %s on %s: %v", path, n.id, err)
	}
	return dep
}

// runs waits until n runs version v (or later) at path.
func (n *node) runs(path string, v int64) {
	n.t.Helper()
	eventually(n.t, fmt.Sprintf("%s to run version %d of %s", n.id, v, path), func() bool {
		cur, err := n.deploys.Deployment(context.Background(), path)
		return err == nil && cur.Version >= v
	})
}

// testDeployAcross: clients on two nodes keep talking while the endpoint is
// redeployed on one of them. Nobody drops, nothing is lost, a client never
// goes back to v1 after seeing v2, and once both nodes run v2 every event
// runs v2.
func testDeployAcross(t *testing.T, b backend) {
	nodes := b.startNodes(t, 2)
	v1 := nodes[0].deploy("/v", versioned("v1"))
	nodes[1].runs("/v", v1.Version)
	const perNode, before, after = 2, 20, 20
	var clients []*client
	for _, n := range nodes {
		for range perNode {
			clients = append(clients, n.dialPath("/v"))
		}
	}
	switched := make(chan struct{})
	errs := make(chan error, len(clients))
	var wg sync.WaitGroup
	for i, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sawV2 := false
			for k := range before + after {
				if k == before {
					select {
					case <-switched:
					case <-time.After(waitFor):
						errs <- fmt.Errorf("client %d: the deploy never reached both nodes", i)
						return
					}
				}
				msg := fmt.Sprintf("c%d-%d", i, k)
				data, err := exchange(c, msg)
				if err != nil {
					errs <- fmt.Errorf("client %d: %v", i, err)
					return
				}
				version, echoed, _ := strings.Cut(string(data), " ")
				switch {
				case echoed != msg:
					errs <- fmt.Errorf("client %d sent %q, got %q", i, msg, data)
					return
				case version == "v1" && (sawV2 || k >= before):
					errs <- fmt.Errorf("client %d: message %d ran v1 after the switch", i, k)
					return
				}
				sawV2 = sawV2 || version == "v2"
			}
		}()
	}
	v2 := nodes[1].deploy("/v", versioned("v2"))
	if v2.Version <= v1.Version {
		t.Fatalf("versions went %d -> %d", v1.Version, v2.Version)
	}
	for _, n := range nodes {
		n.runs("/v", v2.Version)
	}
	close(switched)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	flushAll(t, nodes...)
	if got := len(nodes[0].list()); got != len(clients) {
		t.Fatalf("%d sockets after the deploy, want %d: none may drop", got, len(clients))
	}
}

// exchange sends msg and reads the answer, within waitFor: a lost message
// fails the test in seconds, from any goroutine.
func exchange(c *client, msg string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	if err := c.WS.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
		return nil, fmt.Errorf("write: %w", err)
	}
	_, data, err := c.WS.Read(ctx)
	if err != nil {
		return nil, fmt.Errorf("dropped or silent: %w", err)
	}
	return data, nil
}

func testRefusedDeploy(t *testing.T, b backend) {
	nodes := b.startNodes(t, 2)
	v1 := nodes[0].deploy("/v", versioned("v1"))
	nodes[1].runs("/v", v1.Version)
	_, _, err := nodes[1].deploys.Deploy(context.Background(), wsgw.Deployment{Path: "/v", Script: "return (", Source: "api"})
	if wsgw.ErrorCode(err) != wsgw.EInvalid {
		t.Fatalf("broken deploy: %v, want invalid_request", err)
	}
	for _, n := range nodes {
		c := n.dialPath("/v")
		c.Send("x")
		if got := c.ReadText(); got != "v1 x" {
			t.Fatalf("after a refused deploy %s answered %q", n.id, got)
		}
	}
}

func testUndeployAcross(t *testing.T, b backend) {
	nodes := b.startNodes(t, 2)
	v1 := nodes[0].deploy("/v", versioned("v1"))
	nodes[1].runs("/v", v1.Version)
	far := nodes[1].dialPath("/v")
	far.Send("x")
	far.ReadText()
	if err := nodes[0].deploys.Undeploy(context.Background(), "/v"); err != nil {
		t.Fatal(err)
	}
	if code, reason := far.ExpectClose(); code != websocket.StatusGoingAway || reason != "endpoint removed" {
		t.Fatalf("socket on the other node closed with %d %q, want 1001 endpoint removed", code, reason)
	}
	for _, n := range nodes {
		if _, err := n.deploys.Deployment(context.Background(), "/v"); wsgw.ErrorCode(err) != wsgw.ENotFound {
			t.Fatalf("%s still has /v: %v", n.id, err)
		}
	}
}

// testMissedNotice writes a deploy into Redis without its notice, as a node
// that was away when it was published would have missed it: the node finds
// it by polling the version counter within a second.
func testMissedNotice(t *testing.T, b backend) {
	nodes := b.startNodes(t, 1)
	n := nodes[0]
	v1 := n.deploy("/v", versioned("v1"))
	rc := b.client(t)
	ctx := context.Background()
	prefix := n.store.KeyPrefix()
	v := v1.Version + 10
	dep, _ := json.Marshal(wsgw.Deployment{Path: "/v", Version: v, Script: versioned("missed"), Source: "api"})
	rc.HSet(ctx, prefix+":{deploys}:scripts", "/v", dep)
	rc.HSet(ctx, prefix+":{deploys}:versions", "/v", v)
	rc.Set(ctx, prefix+":{deploys}:seq", v, 0)
	n.runs("/v", v)
	c := n.dialPath("/v")
	c.Send("x")
	if got := c.ReadText(); got != "missed x" {
		t.Fatalf("after catching up the node answered %q", got)
	}
}

// testRestartAdopts: a node starting with the script the cluster already
// runs takes that version instead of deploying a new one; the relay
// endpoint of startNodes is such a configuration endpoint.
func testRestartAdopts(t *testing.T, b backend) {
	nodes := b.startNodes(t, 2)
	a, _ := nodes[0].deploys.Deployment(context.Background(), "/relay")
	c, _ := nodes[1].deploys.Deployment(context.Background(), "/relay")
	if a.Version != c.Version {
		t.Fatalf("two nodes with the same configuration run versions %d and %d of /relay", a.Version, c.Version)
	}
	prefix := nodes[0].store.KeyPrefix()
	third := b.startNodeWith(t, prefix, "node-2", testHeartbeat)
	if d, _ := third.deploys.Deployment(context.Background(), "/relay"); d.Version != a.Version {
		t.Fatalf("a third node deployed /relay as version %d, want the cluster's %d", d.Version, a.Version)
	}
}

func testEventHandlerAcross(t *testing.T, b backend) {
	nodes := b.startNodes(t, 2)
	dep := nodes[0].deploy("", `function handle_websocket_websocket_info(w) { if (w.type === "data") return "handled " + w.route }`)
	nodes[1].runs("", dep.Version)
	c := nodes[1].dialPath("/relay")
	c.Send("x")
	if got := c.ReadText(); got != "handled /relay" {
		t.Fatalf("the other node answered %q, want its event handler's answer", got)
	}
	if err := nodes[1].deploys.Undeploy(context.Background(), ""); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the first node to drop the event handler", func() bool {
		_, err := nodes[0].deploys.Deployment(context.Background(), "")
		return wsgw.ErrorCode(err) == wsgw.ENotFound
	})
}

// testColdStart starts two nodes with the same two-endpoint configuration
// at the same moment against an empty prefix, again and again: each deploys
// its configuration while the other does, and a version conflict must make
// it adopt the stored version, never fail. Both end up running one version
// of each path.
func testColdStart(t *testing.T, b backend) {
	config := []wsgw.Deployment{
		{Path: "/one", Script: versioned("one"), Name: "one.js", Source: "config"},
		{Path: "/two/{x}", Script: versioned("two"), Name: "two.js", Source: "config"},
	}
	for round := range 20 {
		prefix := redistest.Prefix()
		gws := make([]*deploy.Manager, 2) // the deploy managers of two nodes
		for i := range gws {
			logger := testLogger()
			m := metrics.New(prometheus.NewRegistry())
			st := b.open(t, prefix, fmt.Sprintf("cold-%d", i), redisstore.Options{Logger: logger, Metrics: m})
			d, err := deploy.New(deploy.Options{Registry: st.deploys, Sockets: gateway.NewConns(), Logger: logger, Metrics: m})
			if err != nil {
				t.Fatal(err)
			}
			gws[i] = d
		}
		start := make(chan struct{})
		errs := make(chan error, len(gws)*len(config))
		var wg sync.WaitGroup
		for i, gw := range gws {
			wg.Go(func() {
				<-start
				for _, dep := range config {
					if _, err := gw.DeployConfig(context.Background(), dep); err != nil {
						errs <- fmt.Errorf("round %d: node %d deploying %s from its configuration: %v", round, i, dep.Path, err)
					}
				}
			})
		}
		close(start)
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		for _, dep := range config {
			eventually(t, "both nodes to run one version of "+dep.Path, func() bool {
				a, errA := gws[0].Deployment(context.Background(), dep.Path)
				c, errC := gws[1].Deployment(context.Background(), dep.Path)
				return errA == nil && errC == nil && a.Version == c.Version && a.Script == dep.Script
			})
		}
	}
}

// testNewPathIs201: a PUT of a path that no node serves answers 201, every
// time, though the node's own deploy notice races the answer; a PUT of a
// path that is served answers 200.
func testNewPathIs201(t *testing.T, b backend) {
	nodes := b.startNodes(t, 2)
	put := func(n *node, path string) int {
		status, body := n.rest("PUT", "/api/v1/endpoints/"+url.PathEscape(path), `{"script": "return websocketInfo.message"}`)
		if status != http.StatusCreated && status != http.StatusOK {
			t.Fatalf("PUT %s on %s = %d %s", path, n.id, status, body)
		}
		return status
	}
	for i := range 30 {
		path := fmt.Sprintf("/new-%d", i)
		if status := put(nodes[i%2], path); status != http.StatusCreated {
			t.Fatalf("PUT of the new path %s = %d, want 201", path, status)
		}
		// The other node learns of it, and a second PUT there replaces it.
		dep, _ := nodes[i%2].deploys.Deployment(context.Background(), path)
		nodes[(i+1)%2].runs(path, dep.Version)
		if status := put(nodes[(i+1)%2], path); status != http.StatusOK {
			t.Fatalf("PUT of the deployed path %s on the other node = %d, want 200", path, status)
		}
	}
}
