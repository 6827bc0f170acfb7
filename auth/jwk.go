package auth

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"
)

// jwk is one key of a JSON Web Key Set (RFC 7517), the members that
// verifying a signature needs.
type jwk struct {
	Kty    string   `json:"kty"`
	Kid    string   `json:"kid"`
	Use    string   `json:"use"`
	KeyOps []string `json:"key_ops"`
	Alg    string   `json:"alg"`
	Crv    string   `json:"crv"`
	N      string   `json:"n"`
	E      string   `json:"e"`
	X      string   `json:"x"`
	Y      string   `json:"y"`
}

// verifyKey is a public key and the one algorithm it verifies.
type verifyKey struct {
	alg string
	key any
}

// errNotForSigning marks a key the set publishes for another use
// (encryption): skipped without remark.
var errNotForSigning = errors.New("not a signature key")

// rsaAlgs are the algorithms an RSA key may name; RS256 when it names none.
var rsaAlgs = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"}

// parseJWK turns a JWK into a verifying key. The algorithm comes from the
// key alone: its alg member when it has one, else its type and curve (RSA
// → RS256, EC P-256/384/521 → ES256/384/512, OKP Ed25519 → EdDSA). A token
// that names another algorithm is refused, so it cannot choose how it is
// checked.
func parseJWK(k jwk) (verifyKey, error) {
	if k.Use != "" && k.Use != "sig" || k.KeyOps != nil && !slices.Contains(k.KeyOps, "verify") {
		return verifyKey{}, errNotForSigning
	}
	switch k.Kty {
	case "RSA":
		return rsaJWK(k)
	case "EC":
		return ecJWK(k)
	case "OKP":
		if k.Crv != "Ed25519" {
			return verifyKey{}, fmt.Errorf("OKP curve %q is not supported (want Ed25519)", k.Crv)
		}
		if k.Alg != "" && k.Alg != "EdDSA" {
			return verifyKey{}, fmt.Errorf("alg %q does not fit an Ed25519 key (want EdDSA)", k.Alg)
		}
		x, err := b64("x", k.X)
		if err != nil {
			return verifyKey{}, err
		}
		if len(x) != ed25519.PublicKeySize {
			return verifyKey{}, fmt.Errorf("x is %d bytes; an Ed25519 key is %d", len(x), ed25519.PublicKeySize)
		}
		return verifyKey{"EdDSA", ed25519.PublicKey(x)}, nil
	case "":
		return verifyKey{}, errors.New("no kty")
	}
	return verifyKey{}, fmt.Errorf("key type %q is not supported (want RSA, EC or OKP)", k.Kty)
}

func rsaJWK(k jwk) (verifyKey, error) {
	alg := k.Alg
	if alg == "" {
		alg = RS256
	}
	if !slices.Contains(rsaAlgs, alg) {
		return verifyKey{}, fmt.Errorf("alg %q does not fit an RSA key (want one of %s)", k.Alg, strings.Join(rsaAlgs, ", "))
	}
	n, err := b64("n", k.N)
	if err != nil {
		return verifyKey{}, err
	}
	e, err := b64("e", k.E)
	if err != nil {
		return verifyKey{}, err
	}
	exp := new(big.Int).SetBytes(e)
	if !exp.IsInt64() || exp.Int64() < 3 || exp.Int64() > 1<<31-1 || exp.Bit(0) == 0 {
		return verifyKey{}, errors.New("e is not an odd exponent between 3 and 2^31-1")
	}
	pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(exp.Int64())}
	if bits := pub.N.BitLen(); bits < 2048 {
		return verifyKey{}, fmt.Errorf("the RSA key has %d bits; at least 2048 are needed", bits)
	}
	return verifyKey{alg, pub}, nil
}

func ecJWK(k jwk) (verifyKey, error) {
	var curve elliptic.Curve
	var alg string
	switch k.Crv {
	case "P-256":
		curve, alg = elliptic.P256(), ES256
	case "P-384":
		curve, alg = elliptic.P384(), "ES384"
	case "P-521":
		curve, alg = elliptic.P521(), "ES512"
	default:
		return verifyKey{}, fmt.Errorf("EC curve %q is not supported (want P-256, P-384 or P-521)", k.Crv)
	}
	if k.Alg != "" && k.Alg != alg {
		return verifyKey{}, fmt.Errorf("alg %q does not fit a %s key (want %s)", k.Alg, k.Crv, alg)
	}
	size := (curve.Params().BitSize + 7) / 8
	x, err := b64("x", k.X)
	if err != nil {
		return verifyKey{}, err
	}
	y, err := b64("y", k.Y)
	if err != nil {
		return verifyKey{}, err
	}
	if len(x) != size || len(y) != size {
		return verifyKey{}, fmt.Errorf("x and y of a %s key are %d bytes each (found %d and %d)", k.Crv, size, len(x), len(y))
	}
	pub, err := ecdsa.ParseUncompressedPublicKey(curve, slices.Concat([]byte{4}, x, y))
	if err != nil {
		return verifyKey{}, fmt.Errorf("the point is not on %s: %w", k.Crv, err)
	}
	return verifyKey{alg, pub}, nil
}

// b64 decodes a base64url member; some publishers pad it, which is
// tolerated.
func b64(name, s string) ([]byte, error) {
	if s == "" {
		return nil, fmt.Errorf("no %s", name)
	}
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
	if err != nil {
		return nil, fmt.Errorf("%s is not base64url: %w", name, err)
	}
	return b, nil
}
