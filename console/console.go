// Package console serves the web console: plain HTML, CSS and JavaScript,
// embedded in the binary, that drive the admin REST API from a browser. The
// files hold no data, so they are served without the admin token; every call
// the page makes sends it.
package console

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/wsgw/wsgw"
	"github.com/wsgw/wsgw/internal/httperr"
)

// Prefix is the path the console is served under.
const Prefix = "/console/"

//go:embed static
var static embed.FS

// securityHeaders go on every console answer. The policy lets the page load
// only its own files and talk only to its own origin: no inline script or
// style, no frames, no form posts.
var securityHeaders = map[string]string{
	"Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; " +
		"connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
	"X-Content-Type-Options": "nosniff",
	"Referrer-Policy":        "no-referrer",
	"X-Frame-Options":        "DENY",
}

// contentTypes are the types of the console's files, by extension; the
// system's MIME table is not asked, so every machine serves the same.
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".svg":  "image/svg+xml",
}

// file is one embedded file, ready to serve.
type file struct {
	body        []byte
	contentType string
	etag        string
}

// Mount returns api with the console in front of it: GET Prefix serves the
// console's files, /console redirects there, and every other request goes to
// api.
func Mount(api http.Handler) http.Handler {
	files := load()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name, ok := strings.CutPrefix(r.URL.Path, Prefix)
		switch {
		case r.URL.Path == strings.TrimSuffix(Prefix, "/"):
			// Relative, so that it holds behind a proxy that adds a path prefix.
			w.Header().Set("Location", path.Base(Prefix)+"/")
			w.WriteHeader(http.StatusMovedPermanently)
		case !ok:
			api.ServeHTTP(w, r)
		default:
			serve(w, r, files, name)
		}
	})
}

func serve(w http.ResponseWriter, r *http.Request, files map[string]file, name string) {
	for k, v := range securityHeaders {
		w.Header().Set(k, v)
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		httperr.Write(w, wsgw.Errorf(wsgw.EMethodNotAllowed, "%s is not allowed here; use GET, HEAD", r.Method))
		return
	}
	if name == "" {
		name = "index.html"
	}
	f, ok := files[name]
	if !ok {
		httperr.Write(w, wsgw.Errorf(wsgw.ENotFound, "the console has no file %s", name))
		return
	}
	h := w.Header()
	h.Set("Content-Type", f.contentType)
	// Revalidate every time: a new binary's console shows at once, and an
	// unchanged file costs a 304.
	h.Set("Cache-Control", "no-cache")
	h.Set("ETag", f.etag)
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(f.body))
}

// load reads the embedded files and names each by its content.
func load() map[string]file {
	files := map[string]file{}
	err := fs.WalkDir(static, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := static.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		ct, ok := contentTypes[path.Ext(p)]
		if !ok {
			return fmt.Errorf("console: %s has no content type", p)
		}
		files[strings.TrimPrefix(p, "static/")] = file{
			body:        body,
			contentType: ct,
			etag:        `"` + base64.RawURLEncoding.EncodeToString(sum[:12]) + `"`,
		}
		return nil
	})
	if err != nil {
		panic(err) // the files are compiled in: a test serves each of them
	}
	return files
}
