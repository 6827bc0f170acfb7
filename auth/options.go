package auth

import (
	"fmt"
	"time"

	"github.com/wsgw/wsgw"
)

// The options are the domain's, so that a deployment stores them as they
// are and every node builds the same Verifier from them.
type (
	// Options is an endpoint's auth block (wsgw.AuthOptions).
	Options = wsgw.AuthOptions
	// JWTOptions verifies JSON Web Tokens (wsgw.JWTOptions).
	JWTOptions = wsgw.JWTOptions
	// IntrospectOptions checks opaque tokens (wsgw.IntrospectOptions).
	IntrospectOptions = wsgw.IntrospectOptions
	// FieldError is an invalid option, by its key under auth.
	FieldError = wsgw.FieldError
	// Source is a place in the upgrade request a token may come from.
	Source = wsgw.TokenSource
)

// The token sources, as token_from names them.
const (
	Header = wsgw.TokenHeader // Authorization: Bearer <token>
	Query  = wsgw.TokenQuery  // the query parameter named query_param
	Cookie = wsgw.TokenCookie // the cookie named cookie_name
)

// Defaults of the options, applied by New to the zero values.
const (
	DefaultTokenName          = "token"         // cookie_name and query_param
	DefaultUserClaim          = "sub"           // user_claim
	DefaultIntrospectTimeout  = 2 * time.Second // introspect.timeout
	DefaultIntrospectCacheTTL = 30 * time.Second
)

func fieldErr(field, format string, args ...any) error {
	return &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)}
}
