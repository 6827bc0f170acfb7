package handlers

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"maps"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/wsgw/wsgw"
)

// Deployer deploys endpoint scripts and the event handler (Path "").
type Deployer interface {
	Deployments(ctx context.Context) ([]wsgw.Deployment, error)
	Deployment(ctx context.Context, path string) (wsgw.Deployment, error)
	Deploy(ctx context.Context, dep wsgw.Deployment) (wsgw.Deployment, bool, error)
	Undeploy(ctx context.Context, path string) error
}

// maxScriptBody caps a deploy request: scripts are code, not data.
const maxScriptBody = 4 << 20

// endpointPrefix starts the one-endpoint routes, whose {path} is the
// endpoint path URL-encoded as one segment (/chat/{room} is
// %2Fchat%2F%7Broom%7D, / is %2F).
const endpointPrefix = "/api/v1/endpoints/"

// encodeHint tells how a path goes into a one-endpoint route.
const encodeHint = "URL-encode the endpoint path as one segment: /chat/{room} is %2Fchat%2F%7Broom%7D, / is %2F"

type deployAPI struct{ d Deployer }

// routes are the deploy API's routes. The one-endpoint routes are served
// by endpoints, ahead of the mux.
func (a deployAPI) routes() []route {
	return []route{
		{"GET /api/v1/endpoints", http.HandlerFunc(a.list)},
		{"GET " + endpointPrefix + "{path}", nil},
		{"PUT " + endpointPrefix + "{path}", nil},
		{"DELETE " + endpointPrefix + "{path}", nil},
		{"GET /api/v1/event_handler", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { a.get(w, r, "") })},
		{"PUT /api/v1/event_handler", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { a.put(w, r, "") })},
		{"DELETE /api/v1/event_handler", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { a.delete(w, r, "") })},
	}
}

// endpoints serves the one-endpoint routes ahead of next (the mux), which
// would clean the encoded path out of the URL: the root endpoint's %2F would
// answer 404, and a path left unencoded (//chat/x) a bare redirect.
func (a deployAPI) endpoints(next http.Handler) http.Handler {
	notAllowed := methodNotAllowed([]string{http.MethodDelete, http.MethodGet, http.MethodPut})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seg, ok := strings.CutPrefix(r.URL.EscapedPath(), endpointPrefix)
		if !ok {
			next.ServeHTTP(w, r)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodPut && r.Method != http.MethodDelete {
			notAllowed.ServeHTTP(w, r)
			return
		}
		path, err := endpointPath(seg)
		if err != nil {
			writeError(w, err)
			return
		}
		switch r.Method {
		case http.MethodGet:
			a.get(w, r, path)
		case http.MethodPut:
			a.put(w, r, path)
		default:
			a.delete(w, r, path)
		}
	})
}

// endpointPath decodes the {path} segment of a one-endpoint route.
func endpointPath(seg string) (string, error) {
	if seg == "" {
		return "", wsgw.Errorf(wsgw.ENotFound, "no endpoint path after %s: %s", endpointPrefix, encodeHint)
	}
	if strings.Contains(seg, "/") {
		return "", wsgw.Errorf(wsgw.EInvalid, "the endpoint path %q is more than one URL segment: %s", seg, encodeHint)
	}
	path, err := url.PathUnescape(seg)
	if err != nil {
		return "", wsgw.Errorf(wsgw.EInvalid, "the endpoint path %q: %v: %s", seg, err, encodeHint)
	}
	if !strings.HasPrefix(path, "/") {
		return "", wsgw.Errorf(wsgw.EInvalid, "the endpoint path %q must start with /: %s", path, encodeHint)
	}
	return path, nil
}

func (a deployAPI) list(w http.ResponseWriter, r *http.Request) {
	deps, err := a.d.Deployments(r.Context())
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, deps)
}

func (a deployAPI) get(w http.ResponseWriter, r *http.Request, path string) {
	dep, err := a.d.Deployment(r.Context(), path)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, dep)
}

func (a deployAPI) put(w http.ResponseWriter, r *http.Request, path string) {
	body, err := readBody(w, r, maxScriptBody)
	if err != nil {
		writeError(w, err)
		return
	}
	dep, err := DecodeDeploy(body, r.Header.Get("Content-Type"))
	if err != nil {
		writeError(w, err)
		return
	}
	if given := dep.Given(); path == "" && len(given) > 0 {
		writeError(w, wsgw.Errorf(wsgw.EInvalid, "the event handler takes only a script, not %s", strings.Join(given, ", ")))
		return
	}
	dep.Path, dep.Source = path, "api"
	out, created, err := a.d.Deploy(r.Context(), dep)
	if err != nil {
		writeError(w, err)
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	writeJSON(w, status, out.Summary())
}

func (a deployAPI) delete(w http.ResponseWriter, r *http.Request, path string) {
	if err := a.d.Undeploy(r.Context(), path); err != nil {
		writeError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// DecodeDeploy decodes a deploy body {"script": "...", ...options}. An
// option the body leaves out is nil in the answer (the endpoint keeps its
// own); one given empty ([]) is empty (it replaces the endpoint's with
// nothing). null is refused: it would read as either.
func DecodeDeploy(body []byte, contentType string) (wsgw.Deployment, error) {
	if contentType != "" {
		mt, _, err := mime.ParseMediaType(contentType)
		if err != nil || mt != "application/json" {
			return wsgw.Deployment{}, wsgw.Errorf(wsgw.EUnsupportedMedia, "the body must be application/json, not %q", contentType)
		}
	}
	var req struct {
		Script *string `json:"script"`
		wsgw.Options
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		var fe *wsgw.FieldError
		if errors.As(err, &fe) { // only auth's jwt and introspect say which key
			return wsgw.Deployment{}, wsgw.Errorf(wsgw.EInvalid, "auth.%s: %s", fe.Field, fe.Msg)
		}
		return wsgw.Deployment{}, wsgw.Errorf(wsgw.EInvalid, "the body is not a JSON object of script and options: %v", err)
	}
	if dec.More() {
		return wsgw.Deployment{}, wsgw.Errorf(wsgw.EInvalid, "the body has data after the JSON object")
	}
	var fields map[string]json.RawMessage
	_ = json.Unmarshal(body, &fields) // it decoded above as an object
	for _, name := range slices.Sorted(maps.Keys(fields)) {
		if string(fields[name]) == "null" && name != "script" {
			return wsgw.Deployment{}, wsgw.Errorf(wsgw.EInvalid,
				"%s is null: leave it out to keep the endpoint's, or give it empty to remove it", name)
		}
	}
	if req.Script == nil {
		return wsgw.Deployment{}, wsgw.Errorf(wsgw.EInvalid, "script is required")
	}
	return wsgw.Deployment{Script: *req.Script, Options: req.Options}, nil
}
