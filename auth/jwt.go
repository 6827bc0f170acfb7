package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/wsgw/wsgw"
)

// Algorithm names of the fixed keys, as in a token's alg header.
const (
	HS256 = "HS256"
	RS256 = "RS256"
	ES256 = "ES256"
)

// MinSecretBytes is the shortest HS256 secret accepted: 256 bits, as RFC
// 7518 §3.2 requires; a shorter one can be guessed offline from any token.
const MinSecretBytes = 32

// jwksAlgs are the algorithms a key set's keys may verify (see parseJWK).
var jwksAlgs = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}

// jwtCheck verifies a JSON Web Token: its signature by the key that key
// returns for it, then exp, nbf and iat with the leeway, and iss and aud
// when they are required.
type jwtCheck struct {
	parser *jwt.Parser
	leeway time.Duration
	key    func(ctx context.Context, t *jwt.Token) (any, error)
}

// newJWTCheck builds the check that o describes; o is valid.
func newJWTCheck(o JWTOptions, now func() time.Time, keys *keySet) (*jwtCheck, error) {
	opts := []jwt.ParserOption{jwt.WithLeeway(o.Leeway), jwt.WithIssuedAt(), jwt.WithTimeFunc(now)}
	if o.Issuer != "" {
		opts = append(opts, jwt.WithIssuer(o.Issuer))
	}
	if o.Audience != "" {
		opts = append(opts, jwt.WithAudience(o.Audience))
	}
	c := &jwtCheck{leeway: o.Leeway}
	if keys != nil {
		c.parser = jwt.NewParser(append(opts, jwt.WithValidMethods(jwksAlgs))...)
		c.key = func(ctx context.Context, t *jwt.Token) (any, error) {
			kid, ok := t.Header["kid"].(string)
			if !ok && t.Header["kid"] != nil {
				return nil, errors.New("the kid header is not a string")
			}
			return keys.key(ctx, kid, t.Method.Alg())
		}
		return c, nil
	}
	alg, key, err := fixedKey(o)
	if err != nil {
		return nil, err
	}
	// The parser refuses every other algorithm, "none" included, before the
	// key is used: an HS256 token "signed" with an RS256 endpoint's public
	// key fails like any other.
	c.parser = jwt.NewParser(append(opts, jwt.WithValidMethods([]string{alg}))...)
	c.key = func(_ context.Context, t *jwt.Token) (any, error) {
		if t.Method.Alg() != alg { // WithValidMethods has refused it already; belt and braces
			return nil, fmt.Errorf("unexpected algorithm %s", t.Method.Alg())
		}
		return key, nil
	}
	return c, nil
}

func (c *jwtCheck) check(ctx context.Context, tok string) (wsgw.Identity, error) {
	claims := jwt.MapClaims{}
	if _, err := c.parser.ParseWithClaims(tok, claims, func(t *jwt.Token) (any, error) { return c.key(ctx, t) }); err != nil {
		return wsgw.Identity{}, err
	}
	id := wsgw.Identity{Claims: claims}
	if exp, _ := claims.GetExpirationTime(); exp != nil {
		id.Expires = exp.Add(c.leeway) // what the check above accepted
	}
	return id, nil
}

// fixedKey parses the key of o's one fixed-key setting; its errors name
// that setting.
func fixedKey(o JWTOptions) (alg string, key any, err error) {
	switch {
	case o.HS256SecretEnv != "":
		if len(o.Key) == 0 {
			return "", nil, fieldErr("jwt.hs256_secret_env", "$%s is not set or empty", o.HS256SecretEnv)
		}
		if len(o.Key) < MinSecretBytes {
			return "", nil, fieldErr("jwt.hs256_secret_env", "the HS256 secret is %d bytes; it must be at least %d (256 bits)", len(o.Key), MinSecretBytes)
		}
		return HS256, o.Key, nil
	case o.RS256PublicKey != "" || o.RS256PublicKeyFile != "":
		field, in := keyField("jwt.rs256_public_key", o.RS256PublicKeyFile)
		pub, err := publicKey([]byte(o.RS256PublicKey))
		if err != nil {
			return "", nil, fieldErr(field, "%s%v", in, err)
		}
		rk, ok := pub.(*rsa.PublicKey)
		if !ok {
			return "", nil, fieldErr(field, "%sthe key is an %s, not an RSA public key: RS256 needs one", in, keyKind(pub))
		}
		if rk.N.BitLen() < 2048 {
			return "", nil, fieldErr(field, "%sthe RSA key has %d bits; RS256 needs at least 2048", in, rk.N.BitLen())
		}
		return RS256, rk, nil
	default:
		field, in := keyField("jwt.es256_public_key", o.ES256PublicKeyFile)
		pub, err := publicKey([]byte(o.ES256PublicKey))
		if err != nil {
			return "", nil, fieldErr(field, "%s%v", in, err)
		}
		ek, ok := pub.(*ecdsa.PublicKey)
		if !ok || ek.Curve != elliptic.P256() {
			return "", nil, fieldErr(field, "%sthe key is an %s, not an ECDSA P-256 public key: ES256 needs one", in, keyKind(pub))
		}
		return ES256, ek, nil
	}
}

// keyField is the key that set a public key, and what starts an error
// about it: the file's key and name when the YAML file named one, else the
// PEM text's key.
func keyField(text, file string) (field, in string) {
	if file != "" {
		return text + "_file", file + ": "
	}
	return text, ""
}

// publicKey parses the PEM text of a public key or certificate.
func publicKey(text []byte) (any, error) {
	block, _ := pem.Decode(text)
	if block == nil {
		return nil, errors.New("no PEM block: want a PEM public key (-----BEGIN PUBLIC KEY-----)")
	}
	switch {
	case strings.Contains(block.Type, "PRIVATE KEY"):
		return nil, errors.New("this is a private key: give the public key (the gateway only verifies tokens)")
	case block.Type == "PUBLIC KEY":
		return x509.ParsePKIXPublicKey(block.Bytes)
	case block.Type == "RSA PUBLIC KEY":
		return x509.ParsePKCS1PublicKey(block.Bytes)
	case block.Type == "CERTIFICATE":
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, err
		}
		return cert.PublicKey, nil
	}
	return nil, fmt.Errorf("a PEM %q block is not a public key", block.Type)
}

func keyKind(k any) string {
	switch k := k.(type) {
	case *rsa.PublicKey:
		return "RSA key"
	case *ecdsa.PublicKey:
		return "ECDSA " + k.Curve.Params().Name + " key"
	}
	return fmt.Sprintf("%T", k)
}
