package redis

import (
	"strings"
	"testing"

	goredis "github.com/redis/go-redis/v9"
)

func TestNewClient(t *testing.T) {
	tests := []struct {
		name    string
		o       Options
		want    string // the client's type, or the error's text
		wantErr bool
	}{
		{name: "host:port", o: Options{Addrs: []string{"127.0.0.1:6379"}}, want: "*redis.Client"},
		{name: "URL with a database", o: Options{Addrs: []string{"redis://127.0.0.1:6379/3"}}, want: "*redis.Client"},
		{name: "TLS URL", o: Options{Addrs: []string{"rediss://127.0.0.1:6380/0"}}, want: "*redis.Client"},
		{name: "cluster seeds", o: Options{Addrs: []string{"a:7000", "b:7000"}}, want: "*redis.ClusterClient"},
		{name: "one cluster seed", o: Options{Addrs: []string{"a:7000"}, Cluster: true}, want: "*redis.ClusterClient"},
		{name: "sentinels", o: Options{Addrs: []string{"s1:26379", "s2:26379"}, SentinelMaster: "m"}, want: "failover *redis.Client"},
		{name: "no address", o: Options{}, want: "no Redis address", wantErr: true},
		{name: "no port", o: Options{Addrs: []string{"localhost"}}, want: "host:port", wantErr: true},
		{name: "bad scheme", o: Options{Addrs: []string{"http://x:1"}}, want: "invalid URL scheme", wantErr: true},
		{name: "cluster database", o: Options{Addrs: []string{"redis://a:7000/2", "b:7000"}}, want: "only database 0", wantErr: true},
		{name: "cluster and sentinel", o: Options{Addrs: []string{"a:1"}, Cluster: true, SentinelMaster: "m"}, want: "exclude", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := newClient(&tc.o)
			if tc.wantErr {
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("newClient error = %v, want %q", err, tc.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if got := typeName(c); got != tc.want {
				t.Fatalf("newClient made a %s, want %s", got, tc.want)
			}
		})
	}
}

func TestNewClientTakesURLCredentialsAndTLS(t *testing.T) {
	c, err := newClient(&Options{Addrs: []string{"rediss://user:pw@127.0.0.1:6380/2"}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	o := c.(*goredis.Client).Options()
	if o.Username != "user" || o.Password != "pw" || o.DB != 2 || o.TLSConfig == nil || o.Addr != "127.0.0.1:6380" {
		t.Fatalf("options = user %q password %q db %d tls %v addr %q", o.Username, o.Password, o.DB, o.TLSConfig != nil, o.Addr)
	}
	c2, err := newClient(&Options{Addrs: []string{"redis://user:pw@127.0.0.1:6379"}, Password: "from-env"})
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if got := c2.(*goredis.Client).Options().Password; got != "from-env" {
		t.Fatalf("password = %q, want the configured one to win over the URL's", got)
	}
}

// typeName names the kind of client: a Sentinel-managed one is a
// *redis.Client too, told apart by the address go-redis gives it.
func typeName(c goredis.UniversalClient) string {
	switch c := c.(type) {
	case *goredis.Client:
		if c.Options().Addr == "FailoverClient" {
			return "failover *redis.Client"
		}
		return "*redis.Client"
	case *goredis.ClusterClient:
		return "*redis.ClusterClient"
	}
	return "other"
}
