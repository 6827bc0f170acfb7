package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/coder/websocket"
	goredis "github.com/redis/go-redis/v9"

	"github.com/wsgw/wsgw"
	"github.com/wsgw/wsgw/internal/redistest"
)

// adminCall makes a request to srv's admin API and answers the status and body.
func adminCall(t *testing.T, srv *server, method, path, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+srv.adminAddr+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// upgradeStatus dials path on srv with an Origin header: 101 for an
// upgrade, else the refusal's HTTP status.
func upgradeStatus(t *testing.T, srv *server, path, origin string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	ws, resp, err := websocket.Dial(ctx, "ws://"+srv.publicAddr+path, &websocket.DialOptions{HTTPHeader: http.Header{"Origin": {origin}}})
	if err != nil {
		if resp == nil {
			t.Fatalf("dial %s: %v", path, err)
		}
		return resp.StatusCode
	}
	_ = ws.Close(websocket.StatusNormalClosure, "")
	return http.StatusSwitchingProtocols
}

// TestConfigOriginPatternMatchesTheWholeOrigin: a pattern from the YAML file
// with an alternation and no closing $ still matches whole origins only.
func TestConfigOriginPatternMatchesTheWholeOrigin(t *testing.T) {
	srv, _ := startGateway(t, map[string]string{
		"gateway.yaml": baseConfig + `    allowed_origins: ['^https://good\.com|https://other\.com']` + "\n",
		"echo.js":      echoJS,
	})
	for origin, want := range map[string]int{
		"https://good.com.evil.net": 403, "https://evil.net": 403, "https://good.com": 101, "https://other.com": 101,
	} {
		if got := upgradeStatus(t, srv, "/echo", origin); got != want {
			t.Errorf("Origin %s: %d, want %d", origin, got, want)
		}
	}
}

// TestScriptOnlyDeployKeepsOptionsAcrossNodes: two nodes share a Redis
// deploy store. Node A deploys a script with allowed_origins; node B, once
// it runs that version, deploys only a script (the jq example of
// docs/scripting.md). Both nodes then run B's script with A's origin check,
// and both list the same options.
func TestScriptOnlyDeployKeepsOptionsAcrossNodes(t *testing.T) {
	addr := redistest.Addr(t)
	prefix := redistest.Prefix()
	t.Cleanup(func() {
		c := goredis.NewClient(&goredis.Options{Addr: addr})
		defer c.Close()
		ctx, cancel := context.WithTimeout(context.Background(), waitFor)
		defer cancel()
		_ = redistest.DeletePrefix(ctx, c, prefix)
	})
	node := func(id string) (*server, *logRecords) {
		return startGateway(t, map[string]string{
			"gateway.yaml": baseConfig + "node_id: " + id + "\nstore: {redis: '" + addr + "', key_prefix: " + prefix + "}\n",
			"echo.js":      echoJS,
		})
	}
	a, aLogs := node("a")
	b, bLogs := node("b")
	path := "/api/v1/endpoints/%2Fchat%2F%7Broom%7D"

	status, body := adminCall(t, a, "PUT", path, `{"script": "if (websocketInfo.type === 'data') return 'v1 ' + websocketInfo.message",
 "allowed_origins": ["^https://app\\.example\\.com$"]}`)
	var v1 wsgw.Deployment
	if status != 201 || json.Unmarshal([]byte(body), &v1) != nil {
		t.Fatalf("deploy on node a: %d %s", status, body)
	}
	bLogs.match(t, "node b installing node a's deploy", func(r map[string]any) bool {
		return r["msg"] == "deployed by another node" && r["version"] == float64(v1.Version)
	})
	status, body = adminCall(t, b, "PUT", path, `{"script": "if (websocketInfo.type === 'data') return 'v2 ' + websocketInfo.message"}`)
	var v2 wsgw.Deployment
	if status != 200 || json.Unmarshal([]byte(body), &v2) != nil || v2.Version <= v1.Version {
		t.Fatalf("script-only deploy on node b: %d %s", status, body)
	}
	aLogs.match(t, "node a installing node b's deploy", func(r map[string]any) bool {
		return r["msg"] == "deployed by another node" && r["version"] == float64(v2.Version)
	})
	want := []string{`^https://app\.example\.com$`}
	for _, n := range []*server{a, b} {
		var got wsgw.Deployment
		status, body := adminCall(t, n, "GET", path, "")
		if status != 200 || json.Unmarshal([]byte(body), &got) != nil || got.Version != v2.Version {
			t.Fatalf("GET on node %s: %d %s, want version %d", n.gateway.NodeID(), status, body, v2.Version)
		}
		if !slices.Equal(got.AllowedOrigins, want) || !strings.Contains(got.Script, "'v2 '") {
			t.Fatalf("node %s runs %+v, want v2's script with the origins of v1", n.gateway.NodeID(), got)
		}
		if s := upgradeStatus(t, n, "/chat/lobby", "https://evil.com"); s != 403 {
			t.Fatalf("node %s let https://evil.com in (%d) after a script-only deploy", n.gateway.NodeID(), s)
		}
		if s := upgradeStatus(t, n, "/chat/lobby", "https://app.example.com"); s != 101 {
			t.Fatalf("node %s refused the allowed origin: %d", n.gateway.NodeID(), s)
		}
	}
}
