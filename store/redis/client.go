package redis

import (
	"crypto/tls"
	"errors"
	"fmt"
	"strings"

	goredis "github.com/redis/go-redis/v9"
)

// newClient builds the go-redis client that Options describe: one server,
// a Redis Cluster from its seeds, or a master found through Sentinel.
func newClient(o *Options) (goredis.UniversalClient, error) {
	if len(o.Addrs) == 0 {
		return nil, errors.New("no Redis address")
	}
	if o.Cluster && o.SentinelMaster != "" {
		return nil, errors.New("cluster and sentinel_master exclude each other")
	}
	u := &goredis.UniversalOptions{
		MasterName:    o.SentinelMaster,
		IsClusterMode: o.SentinelMaster == "" && (o.Cluster || len(o.Addrs) > 1),
		// Deadlines of the caller's context bound every command: a REST call
		// waits no longer than its own timeout for a slow Redis.
		ContextTimeoutEnabled: true,
		// CLIENT SETINFO is not worth an error line on servers before 7.2.
		DisableIdentity: true,
		// One dial per attempt: a command already retries (MaxRetries), and
		// five dials per attempt would hide an outage from the health probe
		// for seconds.
		DialerRetries: 1,
	}
	var tlsConfig *tls.Config
	for _, a := range o.Addrs {
		addr, err := parseAddr(a, u, &tlsConfig)
		if err != nil {
			return nil, fmt.Errorf("%q: %w", a, err)
		}
		u.Addrs = append(u.Addrs, addr)
	}
	if u.IsClusterMode && u.DB != 0 {
		return nil, fmt.Errorf("a Redis Cluster has only database 0, not %d", u.DB)
	}
	u.TLSConfig = tlsConfig
	if o.Username != "" {
		u.Username = o.Username
	}
	if o.Password != "" {
		u.Password = o.Password
		u.SentinelPassword = o.Password
	}
	return goredis.NewUniversalClient(u), nil
}

// parseAddr reads host:port or a redis:// or rediss:// URL, taking the
// database, credentials and TLS from a URL.
func parseAddr(a string, u *goredis.UniversalOptions, tlsConfig **tls.Config) (string, error) {
	if !strings.Contains(a, "://") {
		if !strings.Contains(a, ":") {
			return "", errors.New("want host:port or a redis:// or rediss:// URL")
		}
		return a, nil
	}
	po, err := goredis.ParseURL(a)
	if err != nil {
		return "", err
	}
	if po.DB != 0 {
		u.DB = po.DB
	}
	if po.Username != "" {
		u.Username = po.Username
	}
	if po.Password != "" {
		u.Password = po.Password
	}
	if po.TLSConfig != nil {
		*tlsConfig = po.TLSConfig
	}
	return po.Addr, nil
}
