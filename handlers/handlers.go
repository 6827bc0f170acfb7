// Package handlers is the HTTP side of the gateway: the admin REST API of the
// socket service, the deploy API, the health probe and Prometheus metrics. It
// calls the service through wsgw.SocketService and knows nothing of
// WebSocket libraries, scripts or stores.
package handlers

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"net"
	"net/http"
	"strings"

	"github.com/wsgw/wsgw"
	"github.com/wsgw/wsgw/internal/httperr"
)

// HealthFunc reports whether the node can serve; its error is the reason.
type HealthFunc func(ctx context.Context) error

// Health answers the health probe: 200 "OK", or 503 with the reason.
func Health(check HealthFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		if err := check(r.Context()); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte("unavailable: " + err.Error() + "\n"))
			return
		}
		_, _ = w.Write([]byte("OK"))
	})
}

// writeError answers err in the {type, error, status} shape.
func writeError(w http.ResponseWriter, err error) { httperr.Write(w, err) }

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// requireToken guards next with a bearer token, compared in constant time.
// With no token configured, or for open paths asked from loopback, it lets
// requests through.
func requireToken(token string, open func(*http.Request) bool, next http.Handler) http.Handler {
	if token == "" {
		return next
	}
	want := []byte("Bearer " + token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := []byte(r.Header.Get("Authorization"))
		if subtle.ConstantTimeCompare(got, want) == 1 || (open(r) && fromLoopback(r)) {
			next.ServeHTTP(w, r)
			return
		}
		w.Header().Set("WWW-Authenticate", `Bearer realm="wsgw admin"`)
		writeError(w, wsgw.Errorf(wsgw.EUnauthorized, "a valid admin token is required: Authorization: Bearer <token>"))
	})
}

func fromLoopback(r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}
