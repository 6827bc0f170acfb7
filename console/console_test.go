package console_test

import (
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path"
	"strings"
	"testing"

	"github.com/wsgw/wsgw/console"
)

// api stands for the admin API behind the console: it answers 401, as the
// API does without a token.
var api = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Api", "yes")
	w.WriteHeader(http.StatusUnauthorized)
})

func get(t *testing.T, srv *httptest.Server, method, path string, header http.Header) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(method, srv.URL+path, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

// TestServesEveryFile: every file of static/ is served under /console/ with
// its type, the security headers and an ETag that answers 304; index.html
// at /console/.
func TestServesEveryFile(t *testing.T) {
	srv := httptest.NewServer(console.Mount(api))
	defer srv.Close()
	entries, err := os.ReadDir("static")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		".html": "text/html; charset=utf-8",
		".css":  "text/css; charset=utf-8",
		".js":   "text/javascript; charset=utf-8",
		".svg":  "image/svg+xml",
	}
	names := []string{""} // the index
	for _, e := range entries {
		names = append(names, e.Name())
	}
	for _, name := range names {
		file := name
		if name == "" {
			file = "index.html"
		}
		src, err := fs.ReadFile(os.DirFS("static"), file)
		if err != nil {
			t.Fatal(err)
		}
		resp, body := get(t, srv, "GET", console.Prefix+name, nil)
		if resp.StatusCode != 200 || body != string(src) {
			t.Fatalf("GET %s: %d, %d bytes, want 200 and the %d bytes of static/%s", console.Prefix+name, resp.StatusCode, len(body), len(src), file)
		}
		if ct := resp.Header.Get("Content-Type"); ct != want[path.Ext(file)] {
			t.Errorf("%s: Content-Type %q, want %q", file, ct, want[path.Ext(file)])
		}
		csp := resp.Header.Get("Content-Security-Policy")
		for _, directive := range []string{"default-src 'none'", "script-src 'self'", "connect-src 'self'", "frame-ancestors 'none'"} {
			if !strings.Contains(csp, directive) {
				t.Errorf("%s: Content-Security-Policy %q lacks %q", file, csp, directive)
			}
		}
		if resp.Header.Get("X-Content-Type-Options") != "nosniff" || resp.Header.Get("Cache-Control") != "no-cache" {
			t.Errorf("%s: headers %v", file, resp.Header)
		}
		etag := resp.Header.Get("ETag")
		if etag == "" {
			t.Fatalf("%s: no ETag", file)
		}
		if resp, _ := get(t, srv, "GET", console.Prefix+name, http.Header{"If-None-Match": {etag}}); resp.StatusCode != http.StatusNotModified {
			t.Errorf("%s with its ETag: %d, want 304", file, resp.StatusCode)
		}
	}
}

// TestNoInlineScript: the page runs no inline script or style, which the
// policy would block.
func TestNoInlineScript(t *testing.T) {
	html, err := os.ReadFile("static/index.html")
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"<script>", "<style", " style=", " onclick=", " onload=", " onsubmit=", "javascript:"} {
		if strings.Contains(string(html), bad) {
			t.Errorf("index.html holds %q, which the Content-Security-Policy blocks", bad)
		}
	}
}

func TestRoutes(t *testing.T) {
	srv := httptest.NewServer(console.Mount(api))
	defer srv.Close()
	for _, tc := range []struct {
		method, path string
		status       int
		location     string
		api          bool
	}{
		{"GET", "/console", http.StatusMovedPermanently, "console/", false},
		{"GET", "/console/nope.js", http.StatusNotFound, "", false},
		{"POST", "/console/", http.StatusMethodNotAllowed, "", false},
		{"HEAD", "/console/app.js", http.StatusOK, "", false},
		{"GET", "/api/v1/websocket/sockets", http.StatusUnauthorized, "", true},
		{"GET", "/consolex", http.StatusUnauthorized, "", true},
		{"GET", "/", http.StatusUnauthorized, "", true},
	} {
		resp, body := get(t, srv, tc.method, tc.path, nil)
		if resp.StatusCode != tc.status || resp.Header.Get("Location") != tc.location || (resp.Header.Get("X-Api") == "yes") != tc.api {
			t.Errorf("%s %s: %d Location %q api %q, want %d %q api %v", tc.method, tc.path,
				resp.StatusCode, resp.Header.Get("Location"), resp.Header.Get("X-Api"), tc.status, tc.location, tc.api)
		}
		if tc.status == http.StatusNotFound || tc.status == http.StatusMethodNotAllowed {
			if !strings.Contains(body, `"status":`) || resp.Header.Get("Content-Type") != "application/json" {
				t.Errorf("%s %s: %q, want the API's error shape", tc.method, tc.path, body)
			}
		}
	}
}
