// Package wsgw is the domain every other package shares: what is known of a
// socket (SocketInfo, Socket), the socket service contract (SocketService),
// a deployment and its options, a verified identity, and the one
// application error type (Error). It knows nothing of HTTP, WebSocket
// libraries, scripts or stores (docs/architecture.md).
package wsgw

import (
	"errors"
	"fmt"
)

// Error codes: the machine-readable half of an Error. Each maps to one HTTP
// status at the HTTP edge (internal/httperr), the only place that mapping
// exists.
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
