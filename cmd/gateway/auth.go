package main

import (
	"errors"
	"fmt"

	"github.com/wsgw/wsgw/auth"
	"github.com/wsgw/wsgw/config"
	"github.com/wsgw/wsgw/deploy"
)

var _ deploy.Authenticator = (*auth.Verifier)(nil)

// authenticator builds the token verifier of endpoint i, nil when it has no
// auth. Its errors name the configuration file, the key, and the key file.
func authenticator(cfg *config.Config, i int) (deploy.Authenticator, error) {
	a := cfg.Endpoints[i].Auth
	if !a.Enabled() {
		return nil, nil
	}
	sources := make([]auth.Source, len(a.TokenFrom))
	for k, s := range a.TokenFrom {
		sources[k] = auth.Source(s)
	}
	v, err := auth.New(auth.Options{TokenFrom: sources, JWT: auth.JWTOptions{
		HS256SecretEnv:     a.JWT.HS256SecretEnv,
		RS256PublicKeyFile: a.JWT.RS256PublicKeyFile,
		ES256PublicKeyFile: a.JWT.ES256PublicKeyFile,
		Key:                a.JWT.Key,
	}})
	if err != nil {
		var fe *auth.FieldError
		if !errors.As(err, &fe) {
			return nil, err
		}
		what := "the secret in $" + a.JWT.HS256SecretEnv
		switch {
		case a.JWT.RS256PublicKeyFile != "":
			what = cfg.Resolve(a.JWT.RS256PublicKeyFile)
		case a.JWT.ES256PublicKeyFile != "":
			what = cfg.Resolve(a.JWT.ES256PublicKeyFile)
		}
		return nil, cfg.Errorf(fmt.Sprintf("endpoints[%d].auth.%s", i, fe.Field), "%s: %s", what, fe.Msg)
	}
	return v, nil
}
