package main

import (
	"fmt"

	"github.com/wsgw/wsgw"
	"github.com/wsgw/wsgw/auth"
	"github.com/wsgw/wsgw/config"
)

// authenticator builds the token verifier of endpoint i, nil when it has no
// auth. Its errors name the configuration file, the key, and the key file.
func authenticator(cfg *config.Config, i int) (wsgw.Authenticator, error) {
	a := cfg.Endpoints[i].Auth
	if !a.Enabled() {
		return nil, nil
	}
	sources := make([]auth.Source, len(a.TokenFrom))
	for k, s := range a.TokenFrom {
		sources[k] = auth.Source(s)
	}
	v, err := auth.New(a.JWT.Alg, a.JWT.Key, sources)
	if err != nil {
		key, what := "hs256_secret_env", "the secret in $"+a.JWT.HS256SecretEnv
		switch {
		case a.JWT.RS256PublicKeyFile != "":
			key, what = "rs256_public_key_file", cfg.Resolve(a.JWT.RS256PublicKeyFile)
		case a.JWT.ES256PublicKeyFile != "":
			key, what = "es256_public_key_file", cfg.Resolve(a.JWT.ES256PublicKeyFile)
		}
		return nil, cfg.Errorf(fmt.Sprintf("endpoints[%d].auth.jwt.%s", i, key), "%s: %v", what, err)
	}
	return v, nil
}
