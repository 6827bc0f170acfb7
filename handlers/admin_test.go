package handlers_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/coder/websocket"
	"github.com/prometheus/client_golang/prometheus"
	"gopkg.in/yaml.v3"

	"github.com/wsgw/wsgw"
	"github.com/wsgw/wsgw/docs"
	"github.com/wsgw/wsgw/gateway"
	"github.com/wsgw/wsgw/handlers"
	"github.com/wsgw/wsgw/internal/gwtest"
	"github.com/wsgw/wsgw/internal/httperr"
)

// idScript tells each client its socket_id and logs its close event.
const idScript = `
if (websocketInfo.type === "open") return websocketInfo.socket_id;
if (websocketInfo.type === "close") console.log("closed", websocketInfo.close_code, websocketInfo.close_reason);`

type api struct {
	t     *testing.T
	h     *gwtest.Harness
	srv   *httptest.Server
	token string
}

func newAPI(t *testing.T, token string) *api {
	t.Helper()
	h := gwtest.New(t, gwtest.Options{
		Scripts: map[string]string{"/x": idScript},
		Limits:  gateway.Limits{MaxMessageBytes: 1024},
	})
	srv := httptest.NewServer(handlers.Admin(handlers.AdminOptions{
		Service:         h.Service,
		Deployer:        h.Deploys,
		Health:          h.GW.Health,
		Gatherer:        prometheus.NewRegistry(),
		Token:           token,
		MaxMessageBytes: 1024,
	}))
	t.Cleanup(srv.Close)
	return &api{t: t, h: h, srv: srv, token: token}
}

// do makes a request and returns the status, headers and body.
func (a *api) do(method, path, contentType, body string) (int, http.Header, string) {
	a.t.Helper()
	req, err := http.NewRequest(method, a.srv.URL+path, strings.NewReader(body))
	if err != nil {
		a.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if a.token != "" {
		req.Header.Set("Authorization", "Bearer "+a.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// connect opens a socket and returns its client and ID.
func (a *api) connect() (*gwtest.Client, string) {
	a.t.Helper()
	c := a.h.Dial("/x", nil)
	return c, c.ReadText()
}

// errorBody checks the {type, error, status} shape and returns its type.
func errorBody(t *testing.T, status int, body string) string {
	t.Helper()
	var e struct {
		Type   string `json:"type"`
		Error  string `json:"error"`
		Status int    `json:"status"`
	}
	if err := json.Unmarshal([]byte(body), &e); err != nil || e.Status != status || e.Error == "" || e.Type == "" {
		t.Fatalf("error body %q is not {type, error, status: %d}", body, status)
	}
	return e.Type
}

func TestSend(t *testing.T) {
	a := newAPI(t, "")
	c, id := a.connect()
	path := "/api/v1/websocket/sockets/" + id + "/send"
	tests := []struct {
		name        string
		contentType string
		body        string
		status      int
		errType     string
		wantType    websocket.MessageType
		want        string
	}{
		{"text", "application/json", `{"message": "hello"}`, 204, "", websocket.MessageText, "hello"},
		{"explicit text", "application/json; charset=utf-8", `{"message": "hi", "type": "data-text"}`, 204, "", websocket.MessageText, "hi"},
		{"JSON value", "application/json", `{"message": {"a": [1, 2]}}`, 204, "", websocket.MessageText, `{"a":[1,2]}`},
		{"binary", "application/json", `{"message": "AAEC/w==", "type": "data-binary"}`, 204, "", websocket.MessageBinary, "\x00\x01\x02\xff"},
		{"no content type", "", `{"message": "bare"}`, 204, "", websocket.MessageText, "bare"},
		{"bad JSON", "application/json", `{"message": `, 400, "invalid_request", 0, ""},
		{"missing message", "application/json", `{"type": "data-text"}`, 400, "invalid_request", 0, ""},
		{"null message", "application/json", `{"message": null}`, 400, "invalid_request", 0, ""},
		{"unknown field", "application/json", `{"message": "x", "extra": 1}`, 400, "invalid_request", 0, ""},
		{"bad type", "application/json", `{"message": "x", "type": "data-json"}`, 400, "invalid_request", 0, ""},
		{"bad base64", "application/json", `{"message": "***", "type": "data-binary"}`, 400, "invalid_request", 0, ""},
		{"binary not a string", "application/json", `{"message": 5, "type": "data-binary"}`, 400, "invalid_request", 0, ""},
		{"trailing data", "application/json", `{"message": "x"} {}`, 400, "invalid_request", 0, ""},
		{"not JSON content type", "text/plain", `{"message": "x"}`, 415, "unsupported_media_type", 0, ""},
		{"too large", "application/json", `{"message": "` + strings.Repeat("x", 1025) + `"}`, 413, "payload_too_large", 0, ""},
		{"body over the cap", "application/json", `{"message": "` + strings.Repeat("x", 20000) + `"}`, 413, "payload_too_large", 0, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, _, body := a.do("POST", path, tc.contentType, tc.body)
			if status != tc.status {
				t.Fatalf("status %d (%s), want %d", status, body, tc.status)
			}
			if tc.errType != "" {
				if typ := errorBody(t, status, body); typ != tc.errType {
					t.Fatalf("error type %q, want %q", typ, tc.errType)
				}
				return
			}
			if typ, got := c.Read(); typ != tc.wantType || got != tc.want {
				t.Fatalf("client received %v %q, want %v %q", typ, got, tc.wantType, tc.want)
			}
		})
	}
	status, _, body := a.do("POST", "/api/v1/websocket/sockets/nosuchsocket/send", "application/json", `{"message": "x"}`)
	if status != 404 || errorBody(t, status, body) != "not_found" {
		t.Fatalf("send to an unknown socket: %d %s", status, body)
	}
}

func TestInfo(t *testing.T) {
	a := newAPI(t, "")
	c, id := a.connect()
	a.do("POST", "/api/v1/websocket/sockets/"+id+"/send", "application/json", `{"message": "m"}`)
	c.ReadText()
	gwtest.Eventually(t, "the send counted", func() bool {
		s, _ := a.h.Service.Info(context.Background(), id)
		return s != nil && s.MessagesOut == 2
	})
	status, _, body := a.do("GET", "/api/v1/websocket/sockets/"+id, "", "")
	var info map[string]any
	if status != 200 || json.Unmarshal([]byte(body), &info) != nil {
		t.Fatalf("info: %d %s", status, body)
	}
	for _, k := range []string{"uri", "route", "headers", "parameters", "socket_id", "timestamp", "type", "node", "messages_in", "messages_out", "messages_dropped"} {
		if _, ok := info[k]; !ok {
			t.Errorf("info has no %q: %s", k, body)
		}
	}
	if info["socket_id"] != id || info["type"] != "open" || info["route"] != "/x" || info["node"] != "test-node" || info["messages_out"] != float64(2) {
		t.Fatalf("info = %s", body)
	}
	status, _, body = a.do("GET", "/api/v1/websocket/sockets/unknown", "", "")
	if status != 404 || errorBody(t, status, body) != "not_found" {
		t.Fatalf("info of an unknown socket: %d %s", status, body)
	}
}

func TestClose(t *testing.T) {
	a := newAPI(t, "")
	tests := []struct {
		query  string
		status int
		code   websocket.StatusCode
		reason string
	}{
		{"", 204, 1000, ""},
		{"?code=4001&reason=kicked", 204, 4001, "kicked"},
		{"?code=1005", 400, 0, ""},
		{"?code=abc", 400, 0, ""},
	}
	for _, tc := range tests {
		c, id := a.connect()
		status, _, body := a.do("DELETE", "/api/v1/websocket/sockets/"+id+tc.query, "", "")
		if status != tc.status {
			t.Fatalf("DELETE %s: %d %s, want %d", tc.query, status, body, tc.status)
		}
		if tc.status != 204 {
			errorBody(t, status, body)
			continue
		}
		if code, reason := c.ExpectClose(); code != tc.code || reason != tc.reason {
			t.Fatalf("DELETE %s: client closed with %d %q, want %d %q", tc.query, code, reason, tc.code, tc.reason)
		}
		a.h.Logs.Wait(t, "close event", gwtest.ScriptLine(id, "close", fmt.Sprintf("closed %d %s", tc.code, tc.reason)))
	}
	status, _, body := a.do("DELETE", "/api/v1/websocket/sockets/unknown", "", "")
	if status != 404 || errorBody(t, status, body) != "not_found" {
		t.Fatalf("close of an unknown socket: %d %s", status, body)
	}
}

func TestCloseAll(t *testing.T) {
	a := newAPI(t, "")
	var clients []*gwtest.Client
	for range 3 {
		c, _ := a.connect()
		clients = append(clients, c)
	}
	status, _, body := a.do("DELETE", "/api/v1/websocket/sockets", "", "")
	if status != 200 || strings.TrimSpace(body) != "3" {
		t.Fatalf("closeAll: %d %q, want 200 3", status, body)
	}
	for _, c := range clients {
		if code, _ := c.ExpectClose(); code != websocket.StatusNormalClosure {
			t.Fatalf("client closed with %d, want 1000", code)
		}
	}
}

func TestListPagesThroughAThousandSockets(t *testing.T) {
	if testing.Short() {
		t.Skip("opens 1,000 sockets")
	}
	a := newAPI(t, "")
	want := map[string]bool{}
	for range 1000 {
		_, id := a.connect()
		want[id] = true
	}
	status, _, body := a.do("GET", "/api/v1/websocket/sockets", "", "")
	var all []string
	if status != 200 || json.Unmarshal([]byte(body), &all) != nil || len(all) != 1000 {
		t.Fatalf("list without a limit: %d, %d ids", status, len(all))
	}
	seen := map[string]int{}
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 1000 {
			t.Fatal("paging never ended")
		}
		status, hdr, body := a.do("GET", "/api/v1/websocket/sockets?limit=37&cursor="+cursor, "", "")
		var ids []string
		if status != 200 || json.Unmarshal([]byte(body), &ids) != nil || len(ids) > 37 {
			t.Fatalf("page %d: %d %s", pages, status, body)
		}
		for _, id := range ids {
			seen[id]++
		}
		if cursor = hdr.Get("X-Next-Cursor"); cursor == "" {
			break
		}
	}
	for id := range want {
		if seen[id] != 1 {
			t.Fatalf("socket %s listed %d times, want once", id, seen[id])
		}
	}
	if len(seen) != len(want) {
		t.Fatalf("paging listed %d sockets, want %d", len(seen), len(want))
	}
	status, _, body = a.do("GET", "/api/v1/websocket/sockets?limit=0", "", "")
	if status != 400 {
		t.Fatalf("limit=0: %d %s, want 400", status, body)
	}
}

func TestToken(t *testing.T) {
	a := newAPI(t, "s3cret")
	for _, tc := range []struct {
		auth   string
		path   string
		status int
	}{
		{"", "/api/v1/websocket/sockets", 401},
		{"Bearer wrong", "/api/v1/websocket/sockets", 401},
		{"Bearer s3cret", "/api/v1/websocket/sockets", 200},
		{"s3cret", "/api/v1/websocket/sockets", 401},
		{"", "/api/v1/openapi.yaml", 401},
		{"", "/api/v1/solution/health", 200}, // open to loopback callers
		{"", "/metrics", 200},
	} {
		req, _ := http.NewRequest("GET", a.srv.URL+tc.path, nil)
		if tc.auth != "" {
			req.Header.Set("Authorization", tc.auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Errorf("GET %s with %q: %d, want %d", tc.path, tc.auth, resp.StatusCode, tc.status)
		}
		if tc.status == 401 {
			errorBody(t, 401, string(body))
		}
	}
}

func TestHealthAndUnknownRoutes(t *testing.T) {
	a := newAPI(t, "")
	if status, _, body := a.do("GET", "/api/v1/solution/health", "", ""); status != 200 || body != "OK" {
		t.Fatalf("health: %d %q", status, body)
	}
	if status, _, body := a.do("GET", "/api/v1/nothing", "", ""); status != 404 || errorBody(t, status, body) != "not_found" {
		t.Fatalf("unknown route: %d %s", status, body)
	}
	if status, _, _ := a.do("PUT", "/api/v1/websocket/sockets", "", ""); status != http.StatusMethodNotAllowed {
		t.Fatalf("PUT on a GET/DELETE route: %d, want 405", status)
	}
	ctx, cancel := context.WithTimeout(context.Background(), gwtest.WaitFor)
	defer cancel()
	if err := a.h.GW.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if status, _, body := a.do("GET", "/api/v1/solution/health", "", ""); status != 503 || !strings.Contains(body, "shutting down") {
		t.Fatalf("health while shutting down: %d %q", status, body)
	}
}

// TestUnknownSocketIDs: an ID that names no socket answers 404 on every
// socket route, whatever its form: socket IDs are opaque.
func TestUnknownSocketIDs(t *testing.T) {
	a := newAPI(t, "")
	for _, id := range []string{"AAAAAAAAAAAAAAAAAAAAAA", "nope", "not%20a%20socket%20id%21", "a.b", strings.Repeat("x", 300)} {
		for _, req := range []struct{ method, path, body string }{
			{"GET", "/api/v1/websocket/sockets/" + id, ""},
			{"DELETE", "/api/v1/websocket/sockets/" + id, ""},
			{"POST", "/api/v1/websocket/sockets/" + id + "/send", `{"message": "x"}`},
		} {
			status, _, body := a.do(req.method, req.path, "application/json", req.body)
			if status != 404 || errorBody(t, status, body) != "not_found" {
				t.Errorf("%s %s: %d %s, want 404 not_found", req.method, req.path, status, body)
			}
		}
	}
}

// TestOpenAPIMatchesRoutes fails when a route exists without a documented
// operation, or the document describes a route that does not exist.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	var doc struct {
		Paths map[string]map[string]any `yaml:"paths"`
	}
	if err := yaml.Unmarshal(docs.OpenAPI, &doc); err != nil {
		t.Fatalf("docs/openapi.yaml: %v", err)
	}
	var documented []string
	for path, ops := range doc.Paths {
		for method := range ops {
			if method == "parameters" {
				continue
			}
			documented = append(documented, strings.ToUpper(method)+" "+path)
		}
	}
	routes := handlers.AllRoutes()
	slices.Sort(documented)
	slices.Sort(routes)
	if !slices.Equal(documented, routes) {
		t.Fatalf("docs/openapi.yaml documents\n  %v\nbut the admin API serves\n  %v", documented, routes)
	}
	a := newAPI(t, "")
	if status, hdr, body := a.do("GET", "/api/v1/openapi.yaml", "", ""); status != 200 || hdr.Get("Content-Type") != "application/yaml" || body != string(docs.OpenAPI) {
		t.Fatalf("GET /api/v1/openapi.yaml: %d %s", status, hdr.Get("Content-Type"))
	}
}

// FuzzDecodeSend: any body and content type decode to a request or a 400,
// 413 or 415 error, never a panic; a request is binary exactly when the body
// says "data-binary", and a decoded binary request came from base64: its
// message was a string of base64 characters carrying exactly its bytes.
func FuzzDecodeSend(f *testing.F) {
	f.Add([]byte(`{"message": "x"}`), "application/json")
	f.Add([]byte(`{"message": "AAE=", "type": "data-binary"}`), "")
	f.Add([]byte(`{"message": {"a": 1}}`), "application/json; charset=utf-8")
	f.Add([]byte(`{"message": "\u0000\ud800"}`), "text/json")
	f.Add([]byte(`[]`), "application/x-www-form-urlencoded")
	f.Fuzz(func(t *testing.T, body []byte, contentType string) {
		req, err := handlers.DecodeSend(body, contentType)
		if err != nil {
			switch status := httperr.Status(err); status {
			case 400, 413, 415:
			default:
				t.Fatalf("DecodeSend error %v maps to %d", err, status)
			}
			return
		}
		if req.Message == nil {
			t.Fatal("a decoded request without a message")
		}
		var raw struct {
			Message json.RawMessage
			Type    *string
		}
		if err := json.Unmarshal(body, &raw); err != nil {
			t.Fatalf("DecodeSend took a body encoding/json refuses: %v", err)
		}
		if binary := raw.Type != nil && *raw.Type == wsgw.MessageBinary; req.Binary != binary {
			t.Fatalf("type %v decoded as binary=%v", raw.Type, req.Binary)
		}
		if req.Binary {
			checkFromBase64(t, raw.Message, req.Message)
		}
	})
}

// checkFromBase64 fails unless msg, a JSON value, is a string of base64
// characters that carry exactly len(decoded) bytes, and decoded, encoded
// again, decodes to itself.
func checkFromBase64(t *testing.T, msg json.RawMessage, decoded []byte) {
	t.Helper()
	var text string
	if err := json.Unmarshal(msg, &text); err != nil {
		t.Fatalf("binary message decoded from %s, which is not a string", msg)
	}
	chars := 0
	for _, r := range text {
		switch {
		case r >= 'A' && r <= 'Z', r >= 'a' && r <= 'z', r >= '0' && r <= '9', strings.ContainsRune("+/-_", r):
			chars++
		case r == '=', r == '\r', r == '\n':
		default:
			t.Fatalf("binary message decoded from %q, which holds %q: not base64", text, r)
		}
	}
	if len(decoded) != chars*6/8 {
		t.Fatalf("%q carries %d bytes of base64, decoded to %d", text, chars*6/8, len(decoded))
	}
	body, _ := json.Marshal(map[string]string{"message": base64.StdEncoding.EncodeToString(decoded), "type": wsgw.MessageBinary})
	again, err := handlers.DecodeSend(body, "application/json")
	if err != nil || !again.Binary || !bytes.Equal(again.Message, decoded) {
		t.Fatalf("%x encoded again decoded to %x, %v", decoded, again.Message, err)
	}
}
