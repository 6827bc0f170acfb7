package deploy_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/wsgw/wsgw"
	"github.com/wsgw/wsgw/gateway"
	"github.com/wsgw/wsgw/internal/gwtest"
)

func versionScript(v string) string {
	return `if (websocketInfo.type === "open") return "` + v + ` open";
if (websocketInfo.type === "close") console.log("` + v + ` close");
if (websocketInfo.type === "data") return "` + v + ` " + websocketInfo.message;`
}

// TestDeployUnderTraffic: clients keep talking while the endpoint is
// redeployed; nobody is dropped, no message is lost, and once a client has
// seen the new version it never sees the old one again, and every event after
// Deploy returned runs the new version.
func TestDeployUnderTraffic(t *testing.T) {
	h := gwtest.New(t, gwtest.Options{
		Scripts: map[string]string{"/v": versionScript("v1")},
		Limits:  gateway.Limits{MessagesPerSecond: 0},
	})
	const clients, before, after = 4, 30, 30
	conns := make([]*gwtest.Client, clients)
	for i := range conns {
		conns[i] = h.Dial("/v", nil)
		if got := conns[i].ReadText(); got != "v1 open" {
			t.Fatalf("open answered %q", got)
		}
	}
	deployed := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for i, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sawV2 := false
			for n := range before + after {
				if n == before {
					<-deployed // the rest are sent after Deploy returned
				}
				msg := fmt.Sprintf("c%d-%d", i, n)
				c.Send(msg)
				got := c.ReadText()
				version, echoed, _ := strings.Cut(got, " ")
				switch {
				case echoed != msg:
					errs <- fmt.Errorf("client %d sent %q, got %q: a message was lost or reordered", i, msg, got)
					return
				case version == "v1" && sawV2:
					errs <- fmt.Errorf("client %d got v1 after v2", i)
					return
				case version == "v1" && n >= before:
					errs <- fmt.Errorf("client %d: event %d after the deploy ran v1", i, n)
					return
				}
				sawV2 = sawV2 || version == "v2"
			}
		}()
	}
	dep, created, err := h.Deploys.Deploy(context.Background(), wsgw.Deployment{Path: "/v", Script: versionScript("v2"), Source: "api"})
	if err != nil || created {
		t.Fatalf("Deploy: created %v, %v", created, err)
	}
	close(deployed)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	ids := mustList(t, h)
	if len(ids) != clients {
		t.Fatalf("%d sockets after the deploy, want %d: none may drop", len(ids), clients)
	}
	for _, id := range ids {
		s, err := h.Service.Info(context.Background(), id)
		if err != nil || s.ScriptVersion != dep.Version || s.Route != "/v" {
			t.Fatalf("info %s = %+v, %v; want script_version %d and route /v", id, s, err, dep.Version)
		}
	}
	fresh := h.Dial("/v", nil)
	if got := fresh.ReadText(); got != "v2 open" {
		t.Fatalf("a new socket's open ran %q", got)
	}
}

func mustList(t *testing.T, h *gwtest.Harness) []string {
	t.Helper()
	ids, _, err := h.Service.List(context.Background(), "", 0)
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

func TestBrokenDeployKeepsTheRunningVersion(t *testing.T) {
	h := gwtest.New(t, gwtest.Options{Scripts: map[string]string{"/v": versionScript("v1")}})
	c := h.Dial("/v", nil)
	c.ReadText()
	before, _ := h.Deploys.Deployment(context.Background(), "/v")
	_, _, err := h.Deploys.Deploy(context.Background(), wsgw.Deployment{Path: "/v", Script: "if (", Source: "api"})
	if wsgw.ErrorCode(err) != wsgw.EInvalid || !strings.Contains(err.Error(), "/v:1:") {
		t.Fatalf("broken deploy: %v, want invalid_request with line and column", err)
	}
	after, _ := h.Deploys.Deployment(context.Background(), "/v")
	if after.Version != before.Version || after.Script != before.Script {
		t.Fatal("a refused deploy changed the running version")
	}
	c.Send("x")
	if got := c.ReadText(); got != "v1 x" {
		t.Fatalf("after a refused deploy the endpoint answered %q", got)
	}
}

func TestUndeployClosesSocketsWithTheirLastScript(t *testing.T) {
	h := gwtest.New(t, gwtest.Options{Scripts: map[string]string{"/v": versionScript("v1"), "/other": idScript}})
	c := h.Dial("/v", nil)
	c.ReadText()
	other := h.Dial("/other", nil)
	otherID := other.ReadText()
	if _, _, err := h.Deploys.Deploy(context.Background(), wsgw.Deployment{Path: "/v", Script: versionScript("v2")}); err != nil {
		t.Fatal(err)
	}
	if err := h.Deploys.Undeploy(context.Background(), "/v"); err != nil {
		t.Fatal(err)
	}
	if code, reason := c.ExpectClose(); code != 1001 || reason != "endpoint removed" {
		t.Fatalf("closed with %d %q, want 1001 endpoint removed", code, reason)
	}
	h.Logs.Wait(t, "close event on v2", func(r map[string]any) bool { return r["msg"] == "v2 close" })
	if _, err := h.Service.Info(context.Background(), otherID); err != nil {
		t.Fatalf("a socket of another endpoint was closed too: %v", err)
	}
	if err := h.Deploys.Undeploy(context.Background(), "/v"); wsgw.ErrorCode(err) != wsgw.ENotFound {
		t.Fatalf("second undeploy: %v, want not_found", err)
	}
}

// idScript tells a client its socket ID, echoes, and logs its close.
const idScript = `
if (websocketInfo.type === "open") return websocketInfo.socket_id;
if (websocketInfo.type === "close") console.log("closed", websocketInfo.close_code, websocketInfo.close_reason);
if (websocketInfo.type === "data") return websocketInfo.message;`
