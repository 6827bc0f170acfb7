// Package wsgw holds the domain types shared by every part of the gateway: the
// application error, and what is known of one socket.
package wsgw

import (
	"errors"
	"fmt"
	"net/http"
)

// Error codes: the machine-readable half of an Error. Each maps to one HTTP
// status in ErrorStatus, the only place that mapping exists.
const (
	EInvalid          = "invalid_request"
	EUnauthorized     = "unauthorized"
	EForbidden        = "forbidden"
	ENotFound         = "not_found"
	EMethodNotAllowed = "method_not_allowed"
	EConflict         = "conflict"
	ETooLarge         = "payload_too_large"
	EUnsupportedMedia = "unsupported_media_type"
	EUpgradeRequired  = "upgrade_required"
	ETooManyRequests  = "too_many_requests"
	EUnavailable      = "unavailable"
	EInternal         = "internal"
)

// Error is the one application error type: a machine code and a message for a
// human. REST answers and script return values are both built from it.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Errorf returns an *Error with the given code and formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the *Error in err's chain, EInternal for any
// other non-nil error and "" for nil.
func ErrorCode(err error) string {
	var e *Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &e):
		return e.Code
	default:
		return EInternal
	}
}

// ErrorMessage returns the human message of the *Error in err's chain; other
// errors get a generic message so that internals never leak to callers.
func ErrorMessage(err error) string {
	var e *Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &e):
		return e.Message
	default:
		return "internal error"
	}
}

var statusOfCode = map[string]int{
	EInvalid:          http.StatusBadRequest,
	EUnauthorized:     http.StatusUnauthorized,
	EForbidden:        http.StatusForbidden,
	ENotFound:         http.StatusNotFound,
	EMethodNotAllowed: http.StatusMethodNotAllowed,
	EConflict:         http.StatusConflict,
	ETooLarge:         http.StatusRequestEntityTooLarge,
	EUnsupportedMedia: http.StatusUnsupportedMediaType,
	EUpgradeRequired:  http.StatusUpgradeRequired,
	ETooManyRequests:  http.StatusTooManyRequests,
	EUnavailable:      http.StatusServiceUnavailable,
	EInternal:         http.StatusInternalServerError,
}

// ErrorStatus maps err to its HTTP status: the single place where codes meet HTTP.
func ErrorStatus(err error) int {
	if err == nil {
		return http.StatusOK
	}
	if s, ok := statusOfCode[ErrorCode(err)]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// ErrorBody is the wire form of an error, for REST bodies and script results:
// {"type": code, "error": message, "status": http status}.
type ErrorBody struct {
	Type   string `json:"type"`
	Error  string `json:"error"`
	Status int    `json:"status"`
}

// NewErrorBody builds the wire form of err.
func NewErrorBody(err error) ErrorBody {
	return ErrorBody{Type: ErrorCode(err), Error: ErrorMessage(err), Status: ErrorStatus(err)}
}
