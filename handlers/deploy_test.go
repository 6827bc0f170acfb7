package handlers_test

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/coder/websocket"

	"github.com/wsgw/wsgw"
	"github.com/wsgw/wsgw/handlers"
	"github.com/wsgw/wsgw/internal/gwtest"
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
		{"bad origin", "/new", "application/json", `{"script": "", "allowed_origins": ["("]}`, 400, "invalid_request", "allowed origin"},
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
	ep, _ := a.h.GW.Deployment(context.Background(), "/x")
	c.Send("y") // idScript answers nothing to data: the version it ran shows in info
	gwtest.Eventually(t, "the endpoint's own script to run again", func() bool {
		s, err := a.h.GW.Info(context.Background(), id)
		return err == nil && s.MessagesIn == 2 && s.ScriptVersion == ep.Version
	})
}

// FuzzDecodeDeploy: any body decodes to a deployment or a 400/415, never a panic.
func FuzzDecodeDeploy(f *testing.F) {
	f.Add([]byte(`{"script": "return 1", "allowed_origins": ["x"]}`), "application/json")
	f.Add([]byte(`{"script": null}`), "")
	f.Add([]byte(`{"script": "a"} x`), "application/json; charset=utf-8")
	f.Fuzz(func(t *testing.T, body []byte, contentType string) {
		dep, err := handlers.DecodeDeploy(body, contentType)
		if err != nil {
			if s := wsgw.ErrorStatus(err); s != 400 && s != 415 {
				t.Fatalf("error %v maps to %d", err, s)
			}
			return
		}
		if dep.Path != "" || dep.Version != 0 {
			t.Fatalf("the body set %+v: path and version are not the client's to choose", dep)
		}
	})
}
