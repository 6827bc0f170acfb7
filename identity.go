package wsgw

import (
	"errors"
	"time"
)

// Identity is what verified credentials say about a client.
type Identity struct {
	Claims map[string]any
	// UserID is the user the credentials name, "" when they name none.
	UserID string
	// Expires is when the credentials stop being valid; zero for never.
	Expires time.Time
}

// The three ways an upgrade's credentials fail, each with its close code.
var (
	// ErrNoToken is an upgrade request that carries no credentials (4001).
	ErrNoToken = errors.New("no token")
	// ErrAuthRefused is credentials that were checked and refused (4002).
	ErrAuthRefused = errors.New("authentication failed")
	// ErrAuthUnavailable is credentials that cannot be checked now, because
	// the identity provider is unreachable or failing (1013, try again later).
	ErrAuthUnavailable = errors.New("authentication unavailable")
)
