package exampletest

import (
	"context"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

func TestMain(m *testing.M) { Main(m) }

// TestStartRunsTheExampleAndStopsItCleanly: the repository's example runs
// on loopback ports, its endpoints and admin API answer, its log lines can be
// waited on, and Stop ends it as SIGTERM does (sockets closed with 1001).
func TestStartRunsTheExampleAndStopsItCleanly(t *testing.T) {
	t.Parallel()
	gw := Start(t, "../../examples/gateway.yaml", Options{})
	for _, addr := range []string{gw.Public, gw.Admin} {
		host, _, err := net.SplitHostPort(addr)
		if err != nil || !net.ParseIP(host).IsLoopback() {
			t.Fatalf("listener on %q, want loopback", addr)
		}
	}
	c := gw.Dial(t, "/echo", nil)
	if got := c.ReadText(); got != "Welcome" {
		t.Fatalf("greeting %q", got)
	}
	c.Send("ping")
	if got := c.ReadText(); got != "ping" {
		t.Fatalf("echo %q", got)
	}
	opened := gw.Logs.Wait(t, "the connection opened", Msg("connection opened"))
	var ids []string
	gw.CallJSON(t, http.MethodGet, "/api/v1/websocket/sockets", nil, http.StatusOK, &ids)
	if len(ids) != 1 || ids[0] != opened["socket_id"] {
		t.Fatalf("sockets %v, want the one opened (%v)", ids, opened["socket_id"])
	}
	if status, body := gw.Get(t, "/api/v1/solution/health"); status != http.StatusOK || string(body) != "OK" {
		t.Fatalf("public health: %d %q", status, body)
	}
	closed := make(chan websocket.StatusCode, 1)
	go func() { // the client answers the close while Stop waits for the exit
		for {
			if _, _, err := c.WS.Read(context.Background()); err != nil {
				closed <- websocket.CloseStatus(err)
				return
			}
		}
	}()
	gw.Stop(t)
	if code := <-closed; code != websocket.StatusGoingAway {
		t.Fatalf("client closed with %d, want 1001", code)
	}
	gw.Logs.Wait(t, "the stop", Msg("stopped"))
}

// TestTheEnvironmentIsTheExamples: the test process's WSGW_* variables do
// not reach the gateway (this burst would stop it starting), the options'
// do, and an admin token is sent by Call and needed by everyone else.
func TestTheEnvironmentIsTheExamples(t *testing.T) {
	t.Setenv("WSGW_LIMITS_BURST", "lots")
	gw := Start(t, "../../examples/gateway.yaml", Options{Env: []string{"WSGW_NODE_ID=from-options"}, AdminToken: "s3cret-token"})
	if ready := gw.Logs.Wait(t, "the start", Msg("wsgw listening")); ready["node"] != "from-options" {
		t.Fatalf("node %v, want the one from Options.Env", ready["node"])
	}
	gw.CallJSON(t, http.MethodGet, "/api/v1/websocket/sockets", nil, http.StatusOK, nil)
	resp, err := http.Get("http://" + gw.Admin + "/api/v1/websocket/sockets")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("without the token: %d, want 401", resp.StatusCode)
	}
}

// TestAGatewayThatDoesNotStartSaysWhy: start gives up when the process
// exits, and its output says why.
func TestAGatewayThatDoesNotStartSaysWhy(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the gateway binary")
	}
	t.Parallel()
	bin, err := binary()
	if err != nil {
		t.Fatal(err)
	}
	g, err := start(bin, "no-such-gateway.yaml", Options{})
	if err == nil || !strings.Contains(err.Error(), "exited") {
		t.Fatalf("start: %v, want the exit reported", err)
	}
	if !strings.Contains(g.Logs.String(), "no-such-gateway.yaml") {
		t.Fatalf("output %q does not name the file", g.Logs.String())
	}
}

// TestLogsDecodesLinesAcrossWrites: lines split over writes are decoded
// once whole, other output is kept as text only, and a wait on an ended
// process gives up after reading its last lines.
func TestLogsDecodesLinesAcrossWrites(t *testing.T) {
	l := newLogs()
	for _, s := range []string{`{"msg":"a"`, `,"n":1}` + "\npanic: not JSON\n" + `{"msg":"b"}`, "\n"} {
		if _, err := l.Write([]byte(s)); err != nil {
			t.Fatal(err)
		}
	}
	if n := l.Count(func(map[string]any) bool { return true }); n != 2 {
		t.Fatalf("%d records, want 2", n)
	}
	if rec := l.Wait(t, "a", Msg("a")); rec["n"] != float64(1) {
		t.Fatalf("record a = %v", rec)
	}
	if !strings.Contains(l.String(), "panic: not JSON") {
		t.Fatalf("text %q lost the line that is not JSON", l.String())
	}
	gone := make(chan struct{})
	close(gone)
	if rec, err := l.waitUnless(Msg("b"), gone, time.Minute); err != nil || rec["msg"] != "b" {
		t.Fatalf("the last line before the exit: %v, %v", rec, err)
	}
	if _, err := l.waitUnless(Msg("c"), gone, time.Minute); err == nil {
		t.Fatal("a wait on an ended process did not give up")
	}
}
