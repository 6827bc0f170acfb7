// Package httperr is where the application's errors meet HTTP: the one
// table from error codes (wsgw.E*) to HTTP statuses, and the
// {type, error, status} body that REST answers, refused upgrades and the
// results of scripts' Websocket calls all share.
package httperr

import (
	"encoding/json"
	"net/http"

	"github.com/wsgw/wsgw"
)

var statusOfCode = map[string]int{
	wsgw.EInvalid:          http.StatusBadRequest,
	wsgw.EUnauthorized:     http.StatusUnauthorized,
	wsgw.EForbidden:        http.StatusForbidden,
	wsgw.ENotFound:         http.StatusNotFound,
	wsgw.EMethodNotAllowed: http.StatusMethodNotAllowed,
	wsgw.EConflict:         http.StatusConflict,
	wsgw.ETooLarge:         http.StatusRequestEntityTooLarge,
	wsgw.EUnsupportedMedia: http.StatusUnsupportedMediaType,
	wsgw.EUpgradeRequired:  http.StatusUpgradeRequired,
	wsgw.ETooManyRequests:  http.StatusTooManyRequests,
	wsgw.EUnavailable:      http.StatusServiceUnavailable,
	wsgw.EInternal:         http.StatusInternalServerError,
}

// Status maps err to its HTTP status: 200 for nil, 500 for an error that
// is not a *wsgw.Error.
func Status(err error) int {
	if err == nil {
		return http.StatusOK
	}
	if s, ok := statusOfCode[wsgw.ErrorCode(err)]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// Body is the wire form of an error: {"type": code, "error": message,
// "status": http status}.
type Body struct {
	Type   string `json:"type"`
	Error  string `json:"error"`
	Status int    `json:"status"`
}

// BodyOf builds the wire form of err.
func BodyOf(err error) Body {
	return Body{Type: wsgw.ErrorCode(err), Error: wsgw.ErrorMessage(err), Status: Status(err)}
}

// Write answers err with its status and body.
func Write(w http.ResponseWriter, err error) {
	b := BodyOf(err)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(b.Status)
	_ = json.NewEncoder(w).Encode(b)
}
