package handlers

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/http/pprof"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/wsgw/wsgw"
	"github.com/wsgw/wsgw/docs"
)

// AdminOptions configure the admin listener's handler.
type AdminOptions struct {
	Service wsgw.SocketService
	// Deployer serves the deploy API; nil leaves it out.
	Deployer Deployer
	Health   HealthFunc
	// Gatherer serves /metrics; nil serves the default registry.
	Gatherer prometheus.Gatherer
	// Token, when set, is required as a bearer token on every call (health
	// and /metrics stay open to loopback callers).
	Token string
	// MaxMessageBytes bounds a send's decoded message; the request body is
	// capped in proportion.
	MaxMessageBytes int
	// Done, closed when the listener shuts down, ends the open stats streams,
	// which http.Server.Shutdown would otherwise wait for.
	Done <-chan struct{}
}

// route is one pattern of the admin API and what serves it.
type route struct {
	pattern string
	handler http.Handler // nil: served ahead of the mux (deployAPI.endpoints)
}

// routes are the admin API's routes, as registered and as documented in
// docs/openapi.yaml; the deploy routes join them when opts has a Deployer.
func routes(opts AdminOptions) []route {
	a := &admin{opts: opts}
	gatherer := opts.Gatherer
	if gatherer == nil {
		gatherer = prometheus.DefaultGatherer
	}
	rs := []route{
		{"GET /api/v1/websocket/sockets", http.HandlerFunc(a.list)},
		{"DELETE /api/v1/websocket/sockets", http.HandlerFunc(a.closeAll)},
		{"GET /api/v1/websocket/sockets/{socket_id}", http.HandlerFunc(a.info)},
		{"DELETE /api/v1/websocket/sockets/{socket_id}", http.HandlerFunc(a.close)},
		{"POST /api/v1/websocket/sockets/{socket_id}/send", http.HandlerFunc(a.send)},
		{"POST /api/v1/websocket/sockets/send", http.HandlerFunc(a.sendBatch)},
		{"GET /api/v1/websocket/users/{user_id}/sockets", http.HandlerFunc(a.listUser)},
		{"POST /api/v1/websocket/users/{user_id}/send", http.HandlerFunc(a.sendToUser)},
		{"DELETE /api/v1/websocket/users/{user_id}/sockets", http.HandlerFunc(a.closeUser)},
		{"GET /api/v1/websocket/groups/{group}/sockets", http.HandlerFunc(a.listGroup)},
		{"PUT /api/v1/websocket/groups/{group}/sockets/{socket_id}", http.HandlerFunc(a.join)},
		{"DELETE /api/v1/websocket/groups/{group}/sockets/{socket_id}", http.HandlerFunc(a.leave)},
		{"POST /api/v1/websocket/groups/{group}/send", http.HandlerFunc(a.publish)},
		{"POST /api/v1/websocket/send", http.HandlerFunc(a.broadcast)},
		{"GET /api/v1/solution/health", Health(opts.Health)},
		{"GET /api/v1/openapi.yaml", http.HandlerFunc(serveOpenAPI)},
		{"GET /metrics", promhttp.HandlerFor(gatherer, promhttp.HandlerOpts{})},
		{"GET /debug/pprof/", http.HandlerFunc(profile)},
		{"GET /api/v1/stats/stream", statsStream(gatherer, opts.Done)},
	}
	if opts.Deployer != nil {
		rs = append(rs, deployAPI{opts.Deployer}.routes()...)
	}
	return rs
}

// AllRoutes lists every pattern the admin API serves with a Deployer.
func AllRoutes() []string {
	var patterns []string
	for _, r := range routes(AdminOptions{Deployer: noDeployer{}}) {
		patterns = append(patterns, r.pattern)
	}
	return patterns
}

// noDeployer stands for a Deployer where only the routes are wanted.
type noDeployer struct{ Deployer }

// Admin returns the admin listener's handler.
func Admin(opts AdminOptions) http.Handler {
	mux := http.NewServeMux()
	allowed := map[string][]string{} // path -> methods
	for _, r := range routes(opts) {
		if r.handler == nil {
			continue
		}
		mux.Handle(r.pattern, r.handler)
		method, path, _ := strings.Cut(r.pattern, " ")
		allowed[path] = append(allowed[path], method)
	}
	for path, methods := range allowed {
		refuse := methodNotAllowed(methods)
		if !shadows(path, allowed) {
			mux.Handle(path, refuse)
			continue
		}
		// A method-less pattern would conflict with a method served on a
		// wildcard path that also matches this one (/sockets/send and
		// GET /sockets/{socket_id}): refuse the usual methods by name.
		for _, m := range []string{"GET", "PUT", "POST", "DELETE", "PATCH", "OPTIONS"} {
			if !slices.Contains(methods, m) {
				mux.Handle(m+" "+path, refuse)
			}
		}
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, wsgw.Errorf(wsgw.ENotFound, "no admin route %s %s", r.Method, r.URL.Path))
	})
	open := func(r *http.Request) bool {
		return r.URL.Path == "/api/v1/solution/health" || r.URL.Path == "/metrics"
	}
	var h http.Handler = mux
	if opts.Deployer != nil {
		h = (deployAPI{opts.Deployer}).endpoints(mux)
	}
	return requireToken(opts.Token, open, h)
}

// shadows reports whether some other path of allowed has wildcards that
// match path.
func shadows(path string, allowed map[string][]string) bool {
	for other := range allowed {
		if other != path && wildcardMatches(other, path) {
			return true
		}
	}
	return false
}

// wildcardMatches reports whether pattern, whose {name} segments match any
// one segment, matches path, a pattern of literal segments only.
func wildcardMatches(pattern, path string) bool {
	if !strings.Contains(pattern, "{") || strings.Contains(path, "{") {
		return false
	}
	ps, qs := strings.Split(pattern, "/"), strings.Split(path, "/")
	if len(ps) != len(qs) {
		return false
	}
	for i, seg := range ps {
		if seg != qs[i] && !strings.HasPrefix(seg, "{") {
			return false
		}
	}
	return true
}

type admin struct{ opts AdminOptions }

// profile serves the Go runtime's profiles (pprof) under /debug/pprof/, for
// the operator measuring where CPU and memory go.
func profile(w http.ResponseWriter, r *http.Request) {
	switch name := strings.TrimPrefix(r.URL.Path, "/debug/pprof/"); name {
	case "":
		pprof.Index(w, r)
	case "profile":
		pprof.Profile(w, r)
	case "trace":
		pprof.Trace(w, r)
	case "symbol":
		pprof.Symbol(w, r)
	case "cmdline":
		pprof.Cmdline(w, r)
	default:
		pprof.Handler(name).ServeHTTP(w, r)
	}
}

// methodNotAllowed answers a known path asked with another method.
func methodNotAllowed(methods []string) http.Handler {
	slices.Sort(methods)
	allow := strings.Join(methods, ", ")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", allow)
		writeError(w, wsgw.Errorf(wsgw.EMethodNotAllowed, "%s is not allowed here; use %s", r.Method, allow))
	})
}

func serveOpenAPI(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/yaml")
	_, _ = w.Write(docs.OpenAPI)
}

// pageLimit reads the limit of a paged list: 0 (all) when absent.
func pageLimit(q url.Values) (int, error) {
	s := q.Get("limit")
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return 0, wsgw.Errorf(wsgw.EInvalid, "limit must be a positive integer, not %q", s)
	}
	return n, nil
}

func (a *admin) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, err := pageLimit(q)
	if err != nil {
		writeError(w, err)
		return
	}
	ids, next, err := a.opts.Service.List(r.Context(), q.Get("cursor"), limit)
	if err != nil {
		writeError(w, err)
		return
	}
	if next != "" {
		w.Header().Set("X-Next-Cursor", next)
	}
	writeJSON(w, http.StatusOK, ids)
}

func (a *admin) info(w http.ResponseWriter, r *http.Request) {
	s, err := a.opts.Service.Info(r.Context(), r.PathValue("socket_id"))
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, s)
}

func (a *admin) send(w http.ResponseWriter, r *http.Request) {
	req, ok := a.sendBody(w, r, false)
	if !ok {
		return
	}
	if err := a.opts.Service.Send(r.Context(), r.PathValue("socket_id"), req.message()); err != nil {
		writeError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// closeCode reads the code of a close: 1000 when absent.
func closeCode(q url.Values) (int, error) {
	s := q.Get("code")
	if s == "" {
		return 1000, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, wsgw.Errorf(wsgw.EInvalid, "code must be an integer, not %q", s)
	}
	return n, nil
}

func (a *admin) close(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	code, err := closeCode(q)
	if err != nil {
		writeError(w, err)
		return
	}
	if err := a.opts.Service.CloseSocket(r.Context(), r.PathValue("socket_id"), code, q.Get("reason")); err != nil {
		writeError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *admin) closeAll(w http.ResponseWriter, r *http.Request) {
	n, err := a.opts.Service.CloseAll(r.Context())
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, n)
}

// maxBody bounds a send request: the message as JSON can take up to six
// bytes per byte (\u00XX escapes), plus room for the other fields.
func (a *admin) maxBody() int64 {
	return int64(6*max(a.opts.MaxMessageBytes, 1) + 4096)
}

// readBody reads a request body of at most limit bytes. A body of known
// length, as clients mostly send, is read into one buffer of its size.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	if n := r.ContentLength; n >= 0 && n <= limit {
		body := make([]byte, n)
		if _, err := io.ReadFull(r.Body, body); err != nil {
			return nil, wsgw.Errorf(wsgw.EInvalid, "reading the request body: %v", err)
		}
		return body, nil
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		return nil, wsgw.Errorf(wsgw.ETooLarge, "the request body is over %d bytes", limit)
	case err != nil:
		return nil, wsgw.Errorf(wsgw.EInvalid, "reading the request body: %v", err)
	}
	return body, nil
}

// SendRequest is a decoded send body.
type SendRequest struct {
	Message []byte
	Binary  bool
	// JSON: the message was a JSON value other than a string.
	JSON bool
	// Destination and Headers address a STOMP socket's subscriptions.
	Destination string
	Headers     map[string]string
	// Exclude are the sockets a publish or broadcast skips.
	Exclude []string
}

func (r *SendRequest) message() *wsgw.Message {
	return &wsgw.Message{Data: r.Message, Binary: r.Binary, JSON: r.JSON, Destination: r.Destination, Headers: r.Headers}
}

// sendJSON is a send body as encoding/json reads it (quickSend reads the
// common shape without it).
type sendJSON struct {
	Message     json.RawMessage   `json:"message"`
	Type        *string           `json:"type"`
	Destination string            `json:"destination"`
	Headers     map[string]string `json:"headers"`
}

// DecodeSend decodes a send body {"message": ..., "type": "data-text"|"data-binary",
// "destination": ..., "headers": {...}}. A string message is sent as it is;
// any other JSON value as its JSON text; a data-binary message is base64.
// destination and headers address a STOMP socket (docs/stomp.md).
func DecodeSend(body []byte, contentType string) (SendRequest, error) {
	if err := checkJSON(contentType); err != nil {
		return SendRequest{}, err
	}
	if message, typ, ok := quickSend(body); ok {
		return decodeMessage(message, typ)
	}
	var raw sendJSON
	if err := decodeStrict(body, &raw); err != nil {
		return SendRequest{}, wsgw.Errorf(wsgw.EInvalid, "the body is not a JSON object of message, type, destination and headers: %v", err)
	}
	req, err := decodeMessage(raw.Message, raw.Type)
	req.Destination, req.Headers = raw.Destination, raw.Headers
	return req, err
}

// DecodePublish decodes a publish or broadcast body: a send body that may
// have "exclude", an array of socket IDs.
func DecodePublish(body []byte, contentType string) (SendRequest, error) {
	if err := checkJSON(contentType); err != nil {
		return SendRequest{}, err
	}
	var raw struct {
		Message json.RawMessage   `json:"message"`
		Type    *string           `json:"type"`
		Exclude []string          `json:"exclude"`
		Headers map[string]string `json:"headers"`
	}
	if err := decodeStrict(body, &raw); err != nil {
		return SendRequest{}, wsgw.Errorf(wsgw.EInvalid, "the body is not a JSON object of message, type, exclude and headers: %v", err)
	}
	req, err := decodeMessage(raw.Message, raw.Type)
	req.Exclude, req.Headers = raw.Exclude, raw.Headers
	return req, err
}

// checkJSON refuses a body that says it is not JSON; one that says
// nothing is taken as JSON.
func checkJSON(contentType string) error {
	if contentType == "" || contentType == "application/json" {
		return nil
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil || (mt != "application/json" && mt != "text/json") {
		return wsgw.Errorf(wsgw.EUnsupportedMedia, "the body must be application/json, not %q", contentType)
	}
	return nil
}

// decodeStrict decodes one JSON value into v, refusing unknown fields and
// anything after the value.
func decodeStrict(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("data after the JSON value")
	}
	return nil
}

// decodeMessage turns a send's message and type fields into the frame.
func decodeMessage(message json.RawMessage, typePtr *string) (SendRequest, error) {
	if len(message) == 0 || string(message) == "null" {
		return SendRequest{}, wsgw.Errorf(wsgw.EInvalid, "message is required")
	}
	typ := wsgw.MessageText
	if typePtr != nil {
		typ = *typePtr
	}
	text, isString := plainString(message)
	if !isString {
		isString = json.Unmarshal(message, &text) == nil
	}
	switch typ {
	case wsgw.MessageText:
		if isString {
			return SendRequest{Message: []byte(text)}, nil
		}
		return SendRequest{Message: compactJSON(message), JSON: true}, nil
	case wsgw.MessageBinary:
		if !isString {
			return SendRequest{}, wsgw.Errorf(wsgw.EInvalid, `a "data-binary" message must be a base64 string`)
		}
		b, err := wsgw.DecodeBase64(text)
		if err != nil {
			return SendRequest{}, wsgw.Errorf(wsgw.EInvalid, "message: %v", err)
		}
		return SendRequest{Message: b, Binary: true}, nil
	}
	return SendRequest{}, wsgw.Errorf(wsgw.EInvalid, `type must be "data-text" or "data-binary", not %q`, typ)
}

// plainString returns the text of a JSON string that has no escapes and is
// valid UTF-8 as it stands, which most messages are, without decoding it
// again; ok is false for anything else. message is valid JSON.
func plainString(message json.RawMessage) (string, bool) {
	if len(message) < 2 || message[0] != '"' {
		return "", false
	}
	inner := message[1 : len(message)-1]
	if bytes.IndexByte(inner, '\\') >= 0 || !utf8.Valid(inner) {
		return "", false
	}
	return string(inner), true
}

func compactJSON(raw json.RawMessage) []byte {
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return raw
	}
	return b.Bytes()
}
