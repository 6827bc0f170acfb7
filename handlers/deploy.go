package handlers

import (
	"bytes"
	"context"
	"encoding/json"
	"mime"
	"net/http"

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

// deployRoutes are the deploy API's patterns; {path} is the endpoint path
// URL-encoded as one segment (/chat/{room} is %2Fchat%2F%7Broom%7D).
var deployRoutes = []string{
	"GET /api/v1/endpoints",
	"GET /api/v1/endpoints/{path}",
	"PUT /api/v1/endpoints/{path}",
	"DELETE /api/v1/endpoints/{path}",
	"GET /api/v1/event_handler",
	"PUT /api/v1/event_handler",
	"DELETE /api/v1/event_handler",
}

type deployAPI struct{ d Deployer }

func (a deployAPI) handlers() map[string]http.Handler {
	return map[string]http.Handler{
		deployRoutes[0]: http.HandlerFunc(a.list),
		deployRoutes[1]: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { a.get(w, r, r.PathValue("path")) }),
		deployRoutes[2]: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { a.put(w, r, r.PathValue("path")) }),
		deployRoutes[3]: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { a.delete(w, r, r.PathValue("path")) }),
		deployRoutes[4]: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { a.get(w, r, "") }),
		deployRoutes[5]: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { a.put(w, r, "") }),
		deployRoutes[6]: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { a.delete(w, r, "") }),
	}
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
	if path != "" && (len(path) == 0 || path[0] != '/') {
		writeError(w, wsgw.Errorf(wsgw.EInvalid, "the endpoint path %q must start with / (URL-encode it as one segment: %%2Fchat%%2F%%7Broom%%7D)", path))
		return
	}
	if path == "" && len(dep.AllowedOrigins) > 0 {
		writeError(w, wsgw.Errorf(wsgw.EInvalid, "the event handler takes only a script"))
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

// DecodeDeploy decodes a deploy body {"script": "...", "allowed_origins": [...]}.
func DecodeDeploy(body []byte, contentType string) (wsgw.Deployment, error) {
	if contentType != "" {
		mt, _, err := mime.ParseMediaType(contentType)
		if err != nil || mt != "application/json" {
			return wsgw.Deployment{}, wsgw.Errorf(wsgw.EUnsupportedMedia, "the body must be application/json, not %q", contentType)
		}
	}
	var req struct {
		Script         *string  `json:"script"`
		AllowedOrigins []string `json:"allowed_origins"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return wsgw.Deployment{}, wsgw.Errorf(wsgw.EInvalid, "the body is not a JSON object of script and options: %v", err)
	}
	if dec.More() {
		return wsgw.Deployment{}, wsgw.Errorf(wsgw.EInvalid, "the body has data after the JSON object")
	}
	if req.Script == nil {
		return wsgw.Deployment{}, wsgw.Errorf(wsgw.EInvalid, "script is required")
	}
	return wsgw.Deployment{Script: *req.Script, AllowedOrigins: req.AllowedOrigins}, nil
}
