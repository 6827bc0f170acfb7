package handlers_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/coder/websocket"

	"github.com/wsgw/wsgw"
	"github.com/wsgw/wsgw/handlers"
	"github.com/wsgw/wsgw/internal/gwtest"
	"github.com/wsgw/wsgw/internal/httperr"
)

func endpointPath(p string) string { return "/api/v1/endpoints/" + url.PathEscape(p) }

func TestDeployAPI(t *testing.T) {
	a := newAPI(t, "")
	put := func(path, body string) (int, wsgw.Deployment, string) {
		t.Helper()
		status, _, resp := a.do("PUT", endpointPath(path), "application/json", body)
		var dep wsgw.Deployment
		_ = json.Unmarshal([]byte(resp), &dep)
		return status, dep, resp
	}
	status, v1, body := put("/chat/{room}", `{"script": "if (websocketInfo.type === 'data') return 'v1 ' + websocketInfo.parameters.room"}`)
	if status != 201 || v1.Path != "/chat/{room}" || v1.Version == 0 || v1.Source != "api" || v1.Script != "" {
		t.Fatalf("create: %d %s", status, body)
	}
	c := a.h.Dial("/chat/lobby", nil)
	c.Send("x")
	if got := c.ReadText(); got != "v1 lobby" {
		t.Fatalf("v1 answered %q", got)
	}
	status, v2, body := put("/chat/{room}", `{"script": "if (websocketInfo.type === 'data') return 'v2 ' + websocketInfo.parameters.room", "allowed_origins": ["^https://a\\.example$"]}`)
	if status != 200 || v2.Version <= v1.Version || len(v2.AllowedOrigins) != 1 {
		t.Fatalf("update: %d %s (v1 was %d)", status, body, v1.Version)
	}
	c.Send("x")
	if got := c.ReadText(); got != "v2 lobby" {
		t.Fatalf("the same socket after the deploy answered %q, want v2", got)
	}
	status, _, body = a.do("GET", endpointPath("/chat/{room}"), "", "")
	var got wsgw.Deployment
	if status != 200 || json.Unmarshal([]byte(body), &got) != nil || got.Version != v2.Version || !strings.Contains(got.Script, "'v2 '") {
		t.Fatalf("get: %d %s", status, body)
	}
	status, _, body = a.do("GET", "/api/v1/endpoints", "", "")
	var list []wsgw.Deployment
	if status != 200 || json.Unmarshal([]byte(body), &list) != nil || len(list) != 2 {
		t.Fatalf("list: %d %s, want /x (config) and /chat/{room}", status, body)
	}
	for _, d := range list {
		if d.Script != "" || d.Version == 0 {
			t.Fatalf("listing %+v: want versions and no scripts", d)
		}
	}

	for _, tc := range []struct {
		name, path, contentType, body string
		status                        int
		errType, errContains          string
	}{
		{"does not compile", "/chat/{room}", "application/json", `{"script": "var a = 1;\nvar b = ;"}`, 400, "invalid_request", "/chat/{room}:2:9"},
		{"no script", "/new", "application/json", `{"allowed_origins": []}`, 400, "invalid_request", "script is required"},
		{"unknown option", "/new", "application/json", `{"script": "", "bogus": 1}`, 400, "invalid_request", "bogus"},
		{"bad path", "/a/{1x}", "application/json", `{"script": ""}`, 400, "invalid_request", "parameter name"},
		{"relative path", "chat", "application/json", `{"script": ""}`, 400, "invalid_request", "must start with /"},
		{"ambiguous path", "/chat/{id}", "application/json", `{"script": ""}`, 409, "conflict", "/chat/{room}"},
		{"bad origin", "/new", "application/json", `{"script": "", "allowed_origins": ["("]}`, 400, "invalid_request", "allowed_origins[0]: "},
		{"not JSON", "/new", "text/javascript", `return 1`, 415, "unsupported_media_type", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, _, body := a.do("PUT", endpointPath(tc.path), tc.contentType, tc.body)
			if status != tc.status || errorBody(t, status, body) != tc.errType || !strings.Contains(body, tc.errContains) {
				t.Fatalf("%d %s, want %d %s mentioning %q", status, body, tc.status, tc.errType, tc.errContains)
			}
		})
	}
	c.Send("x")
	if got := c.ReadText(); got != "v2 lobby" {
		t.Fatalf("after refused deploys the endpoint answered %q, want v2 still", got)
	}

	if status, _, body := a.do("DELETE", endpointPath("/chat/{room}"), "", ""); status != 204 {
		t.Fatalf("delete: %d %s", status, body)
	}
	if code, reason := c.ExpectClose(); code != websocket.StatusGoingAway || reason != "endpoint removed" {
		t.Fatalf("socket of a removed endpoint closed with %d %q, want 1001", code, reason)
	}
	if _, resp, err := a.h.TryDial("/chat/lobby", nil); err == nil || resp.StatusCode != 404 {
		t.Fatalf("dial a removed endpoint: %v, want HTTP 404", err)
	}
	for _, m := range []string{"GET", "DELETE"} {
		if status, _, body := a.do(m, endpointPath("/chat/{room}"), "", ""); status != 404 || errorBody(t, status, body) != "not_found" {
			t.Fatalf("%s a removed endpoint: %d %s", m, status, body)
		}
	}
}

// dialStatus dials path with an Origin header and answers the HTTP status
// of a refusal, 101 for an upgrade.
func (a *api) dialStatus(path, origin string) int {
	a.t.Helper()
	c, resp, err := a.h.TryDial(path, http.Header{"Origin": {origin}})
	if err != nil {
		if resp == nil {
			a.t.Fatalf("dial %s: %v", path, err)
		}
		return resp.StatusCode
	}
	_ = c.WS.Close(websocket.StatusNormalClosure, "")
	return http.StatusSwitchingProtocols
}

// TestScriptOnlyDeployKeepsOptions runs the two deploys of docs/scripting.md
// in order: the first sets a script and allowed_origins, the second (the
// jq '{script: .}' one) gives only a script. The origin check must survive
// it; only a deploy that gives allowed_origins replaces them, [] clearing.
func TestScriptOnlyDeployKeepsOptions(t *testing.T) {
	a := newAPI(t, "")
	path := endpointPath("/chat/{room}")
	if status, _, body := a.do("PUT", path, "application/json",
		`{"script": "if (websocketInfo.type === 'data') return websocketInfo.parameters.room + ': ' + websocketInfo.message",
 "allowed_origins": ["^https://app\\.example\\.com$"]}`); status != 201 {
		t.Fatalf("first deploy: %d %s", status, body)
	}
	if got := a.dialStatus("/chat/lobby", "https://evil.com"); got != 403 {
		t.Fatalf("after the first deploy https://evil.com got %d, want 403", got)
	}
	script, _ := json.Marshal(map[string]string{"script": "if (websocketInfo.type === 'data') return 'v2 ' + websocketInfo.message\n"})
	status, _, body := a.do("PUT", path, "application/json", string(script))
	var v2 wsgw.Deployment
	if status != 200 || json.Unmarshal([]byte(body), &v2) != nil || !slices.Equal(v2.AllowedOrigins, []string{`^https://app\.example\.com$`}) {
		t.Fatalf("script-only deploy: %d %s, want 200 with the origins kept", status, body)
	}
	if got := a.dialStatus("/chat/lobby", "https://evil.com"); got != 403 {
		t.Fatalf("after a script-only deploy https://evil.com got %d, want 403: the origin check was dropped", got)
	}
	c, _, err := a.h.TryDial("/chat/lobby", http.Header{"Origin": {"https://app.example.com"}})
	if err != nil {
		t.Fatalf("the allowed origin after a script-only deploy: %v", err)
	}
	c.Send("x")
	if got := c.ReadText(); got != "v2 x" {
		t.Fatalf("the script-only deploy's script answered %q", got)
	}
	status, _, body = a.do("GET", path, "", "")
	var got wsgw.Deployment
	if status != 200 || json.Unmarshal([]byte(body), &got) != nil || got.Version != v2.Version || len(got.AllowedOrigins) != 1 {
		t.Fatalf("GET after the script-only deploy: %d %s", status, body)
	}

	// Giving the option replaces it.
	if status, _, body := a.do("PUT", path, "application/json", `{"script": "return 1", "allowed_origins": ["^https://b\\.example$"]}`); status != 200 {
		t.Fatalf("deploy replacing the origins: %d %s", status, body)
	}
	if a.dialStatus("/chat/lobby", "https://app.example.com") != 403 || a.dialStatus("/chat/lobby", "https://b.example") != 101 {
		t.Fatal("a deploy giving allowed_origins did not replace them")
	}
	// null is neither: refused, and nothing changes.
	if status, _, body := a.do("PUT", path, "application/json", `{"script": "return 1", "allowed_origins": null}`); status != 400 ||
		errorBody(t, status, body) != "invalid_request" || !strings.Contains(body, "allowed_origins") {
		t.Fatalf("allowed_origins null: %d %s, want 400 naming it", status, body)
	}
	if got := a.dialStatus("/chat/lobby", "https://evil.com"); got != 403 {
		t.Fatalf("after a refused deploy https://evil.com got %d, want 403", got)
	}
	// Given empty clears them.
	if status, _, body := a.do("PUT", path, "application/json", `{"script": "return 1", "allowed_origins": []}`); status != 200 {
		t.Fatalf("deploy clearing the origins: %d %s", status, body)
	}
	if got := a.dialStatus("/chat/lobby", "https://evil.com"); got != 101 {
		t.Fatalf("after allowed_origins: [] https://evil.com got %d, want an upgrade", got)
	}
	if status, _, body := a.do("PUT", "/api/v1/event_handler", "application/json",
		`{"script": "function handle_websocket_websocket_info(w) {}", "allowed_origins": []}`); status != 400 || !strings.Contains(body, "allowed_origins") {
		t.Fatalf("event handler with an option: %d %s, want 400 naming it", status, body)
	}
}

// TestDeployedOriginPatternsMatchTheWholeOrigin: a pattern deployed through
// the API is matched as ^(?:pattern)$, as one from the configuration is.
func TestDeployedOriginPatternsMatchTheWholeOrigin(t *testing.T) {
	a := newAPI(t, "")
	if status, _, body := a.do("PUT", endpointPath("/o"), "application/json",
		`{"script": "return 1", "allowed_origins": ["^https://good\\.com|https://other\\.com"]}`); status != 201 {
		t.Fatalf("deploy: %d %s", status, body)
	}
	for origin, want := range map[string]int{
		"https://good.com.evil.net": 403, "https://other.com.evil.net": 403, "https://evil.net": 403,
		"https://good.com": 101, "https://other.com": 101,
	} {
		if got := a.dialStatus("/o", origin); got != want {
			t.Errorf("Origin %s: %d, want %d", origin, got, want)
		}
	}
}

// TestRootAndUnencodedEndpointPaths: the root endpoint / is managed as %2F
// like any other, and a path left unencoded answers an error that says how
// to encode it, never a bare redirect or "no admin route".
func TestRootAndUnencodedEndpointPaths(t *testing.T) {
	a := newAPI(t, "")
	root := "/api/v1/endpoints/%2F"
	if status, _, body := a.do("PUT", root, "application/json", `{"script": "if (websocketInfo.type === 'data') return 'root ' + websocketInfo.message"}`); status != 201 {
		t.Fatalf("PUT %s: %d %s, want 201", root, status, body)
	}
	c := a.h.Dial("/", nil)
	c.Send("x")
	if got := c.ReadText(); got != "root x" {
		t.Fatalf("the root endpoint answered %q", got)
	}
	status, _, body := a.do("GET", root, "", "")
	var dep wsgw.Deployment
	if status != 200 || json.Unmarshal([]byte(body), &dep) != nil || dep.Path != "/" || !strings.Contains(dep.Script, "root ") {
		t.Fatalf("GET %s: %d %s", root, status, body)
	}
	if status, _, body := a.do("DELETE", root, "", ""); status != 204 {
		t.Fatalf("DELETE %s: %d %s", root, status, body)
	}
	if code, _ := c.ExpectClose(); code != websocket.StatusGoingAway {
		t.Fatalf("the root endpoint's socket closed with %d, want 1001", code)
	}
	if status, _, body := a.do("GET", root, "", ""); status != 404 || errorBody(t, status, body) != "not_found" {
		t.Fatalf("GET %s after DELETE: %d %s", root, status, body)
	}

	for _, tc := range []struct {
		method, path string
		status       int
		errType      string
	}{
		{"GET", "/api/v1/endpoints//chat/x", 400, "invalid_request"},
		{"PUT", "/api/v1/endpoints//chat/x", 400, "invalid_request"},
		{"DELETE", "/api/v1/endpoints//chat/x", 400, "invalid_request"},
		{"GET", "/api/v1/endpoints/%2Fchat/x", 400, "invalid_request"},
		{"PUT", "/api/v1/endpoints/%2Fchat/x", 400, "invalid_request"},
		{"GET", "/api/v1/endpoints/chat", 400, "invalid_request"},
		{"GET", "/api/v1/endpoints/", 404, "not_found"},
	} {
		req, err := http.NewRequest(tc.method, a.srv.URL+tc.path, strings.NewReader(`{"script": "return 1"}`))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := noRedirect.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status || errorBody(t, resp.StatusCode, string(b)) != tc.errType ||
			!strings.Contains(string(b), "URL-encode the endpoint path as one segment") {
			t.Errorf("%s %s: %d %s, want %d %s telling to URL-encode the path", tc.method, tc.path, resp.StatusCode, b, tc.status, tc.errType)
		}
	}
	if status, hdr, body := a.do("POST", root, "application/json", `{}`); status != 405 || errorBody(t, status, body) != "method_not_allowed" ||
		hdr.Get("Allow") != "DELETE, GET, PUT" {
		t.Fatalf("POST %s: %d %s (Allow %q), want 405", root, status, body, hdr.Get("Allow"))
	}
}

// noRedirect shows a redirect as it is instead of following it.
var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func TestDeployEventHandlerAPI(t *testing.T) {
	a := newAPI(t, "")
	c, id := a.connect()
	if status, _, body := a.do("GET", "/api/v1/event_handler", "", ""); status != 404 {
		t.Fatalf("no handler yet: %d %s", status, body)
	}
	status, _, body := a.do("PUT", "/api/v1/event_handler", "application/json",
		`{"script": "function handle_websocket_websocket_info(w) { if (w.type === 'data') return 'handler ' + w.route }"}`)
	if status != 201 {
		t.Fatalf("deploy handler: %d %s", status, body)
	}
	c.Send("x")
	if got := c.ReadText(); got != "handler /x" {
		t.Fatalf("with the event handler the socket answered %q", got)
	}
	if status, _, body := a.do("PUT", "/api/v1/event_handler", "application/json", `{"script": "var x"}`); status != 400 || !strings.Contains(body, "handle_websocket_websocket_info") {
		t.Fatalf("handler without the function: %d %s", status, body)
	}
	if status, _, _ := a.do("DELETE", "/api/v1/event_handler", "", ""); status != 204 {
		t.Fatalf("delete handler: %d", status)
	}
	if status, _, _ := a.do("GET", "/api/v1/event_handler", "", ""); status != 404 {
		t.Fatalf("handler still there after delete: %d", status)
	}
	ep, _ := a.h.Deploys.Deployment(context.Background(), "/x")
	c.Send("y") // idScript answers nothing to data: the version it ran shows in info
	gwtest.Eventually(t, "the endpoint's own script to run again", func() bool {
		s, err := a.h.Service.Info(context.Background(), id)
		return err == nil && s.MessagesIn == 2 && s.ScriptVersion == ep.Version
	})
}

// FuzzDecodeDeploy: any body decodes to a deployment or a 400/415, never a panic.
func FuzzDecodeDeploy(f *testing.F) {
	f.Add([]byte(`{"script": "return 1", "allowed_origins": ["x"]}`), "application/json")
	f.Add([]byte(`{"script": null}`), "")
	f.Add([]byte(`{"script": "a"} x`), "application/json; charset=utf-8")
	f.Add([]byte(`{"script": "a", "allowed_origins": []}`), "")
	f.Add([]byte(`{"script": "a", "allowed_origins": null}`), "")
	f.Fuzz(func(t *testing.T, body []byte, contentType string) {
		dep, err := handlers.DecodeDeploy(body, contentType)
		if err != nil {
			if s := httperr.Status(err); s != 400 && s != 415 {
				t.Fatalf("error %v maps to %d", err, s)
			}
			return
		}
		if dep.Path != "" || dep.Version != 0 {
			t.Fatalf("the body set %+v: path and version are not the client's to choose", dep)
		}
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(body, &fields); err != nil {
			t.Fatalf("a body that is not a JSON object decoded to %+v", dep)
		}
		if _, given := fields["allowed_origins"]; given != (dep.AllowedOrigins != nil) {
			t.Fatalf("allowed_origins given %v, decoded %#v: a deploy must tell an option left out (kept) from one given", given, dep.AllowedOrigins)
		}
	})
}
