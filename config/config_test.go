package config_test

import (
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/wsgw/wsgw"
	"github.com/wsgw/wsgw/config"
	"github.com/wsgw/wsgw/gateway"
	"github.com/wsgw/wsgw/runtime"
)

// writeConfig writes a config file and an echo script next to it.
func writeConfig(t *testing.T, yaml string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "echo.js"), []byte(`return websocketInfo.message`), 0o600); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "gw.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

const minimal = "endpoints:\n  - path: /echo\n    script: echo.js\n"

func TestDefaults(t *testing.T) {
	path := writeConfig(t, minimal)
	cfg, err := config.Load(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	l := cfg.Limits
	if cfg.Listen != ":8080" || cfg.Admin.Listen != "127.0.0.1:9090" || l.MessagesPerSecond != 5 || l.Burst != 5 ||
		l.OnExceed != "drop" || l.MaxDelay != 30*time.Second || l.MaxMessageBytes != 65536 || l.MaxPendingSends != 1024 ||
		l.IdleTimeout != time.Minute || l.Script.Timeout != time.Second || len(cfg.Store.Redis) != 0 {
		t.Fatalf("defaults = %+v", cfg)
	}
	if cfg.Endpoints[0].Source != "return websocketInfo.message" {
		t.Fatalf("script not read relative to the config file: %q", cfg.Endpoints[0].Source)
	}
}

// everySetting gives every key of the configuration a value other than its
// default; TestEverySettingFromYAML checks that it does.
const everySetting = `
listen: "127.0.0.1:1234"
tls: {cert_file: pub.pem, key_file: pub.key}
node_id: n1
shutdown_timeout: 3s
admin:
  listen: "0.0.0.0:9999"
  token: "s3cret"
  tls: {cert_file: adm.pem, key_file: adm.key}
store:
  redis: ["10.0.0.1:6379", "10.0.0.2:6379"]
  cluster: true
  sentinel_master: ""
  username: u
  password: p
  key_prefix: other
  heartbeat_interval: 2s
limits:
  messages_per_second: 2.5
  burst: 7
  on_exceed: close
  max_delay: 4s
  max_message_bytes: 100
  max_pending_sends: 3
  idle_timeout: 90s
  script_timeout: 250ms
  close_timeout: 1s
  max_connections: 10
  max_connections_per_ip: 2
  max_sends_per_event: 11
  max_send_bytes_per_event: 12
  script_memory: 1048576
  script_workers_per_endpoint: 2
  max_script_interrupts: 5
  max_state_bytes: 300
  max_groups_per_socket: 7
  upgrades_per_ip_per_second: 1.5
  upgrades_per_ip_burst: 4
  handshake_timeout: 6s
runtime: {pool_size: 3, memory_limit: 1073741824, gc_min_heap: 33554432}
log: {level: debug, format: json}
endpoints:
  - path: /chat/{room}
    script: echo.js
    allowed_origins: ["^https://a\\.example$"]
    auth:
      jwt: {hs256_secret_env: SECRET}
      token_from: [cookie, header]
    subprotocols: [v12.stomp, v11.stomp]
    protocol: stomp
    stomp: {heartbeat: "10s,5s"}
  - path: /rs
    script: echo.js
    auth:
      jwt: {rs256_public_key_file: rs.pem, issuer: "https://idp/", audience: api, leeway: 30s}
      cookie_name: SESSION
      query_param: access_token
      user_claim: email
  - path: /rs-text
    script: echo.js
    auth: {jwt: {rs256_public_key: "key of rs-text"}}
  - path: /es
    script: echo.js
    auth: {jwt: {es256_public_key_file: es.pem}}
  - path: /es-text
    script: echo.js
    auth: {jwt: {es256_public_key: "key of es-text"}}
  - path: /jwks
    script: echo.js
    auth: {jwt: {jwks_url: "https://idp/jwks"}}
  - path: /opaque
    script: echo.js
    auth: {introspect: {url: "https://idp/introspect", timeout: 1s, cache_ttl: 1m, client_secret_env: IS}}
event_handler: echo.js
`

func TestEverySettingFromYAML(t *testing.T) {
	path := writeConfig(t, everySetting)
	dir := filepath.Dir(path)
	for _, f := range []string{"rs.pem", "es.pem"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("key of "+f), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	environ := []string{"SECRET=0123456789abcdef0123456789abcdef"}
	cfg, err := config.Load(path, environ)
	if err != nil {
		t.Fatal(err)
	}
	// sentinel_master excludes cluster, so it is read on its own.
	unset := map[string]bool{"store.sentinel_master": true}
	if c, err := config.Parse([]byte("store: {redis: [a], sentinel_master: m}\n"), "s.yaml"); err != nil || c.Store.SentinelMaster != "m" {
		t.Errorf("store.sentinel_master: %+v, %v", c, err)
	}
	def := config.Default()
	for _, key := range configKeys(reflect.TypeFor[config.Config]()) {
		if !unset[key] && !differs(reflect.ValueOf(*cfg), reflect.ValueOf(def), strings.Split(key, ".")) {
			t.Errorf("%s is not set to a value other than its default: the test does not prove it is read", key)
		}
	}
	echo := "return websocketInfo.message"
	stomp := "stomp"
	want := config.Config{
		Listen: "127.0.0.1:1234", TLS: config.TLS{CertFile: "pub.pem", KeyFile: "pub.key"},
		NodeID: "n1", ShutdownTimeout: 3 * time.Second,
		Admin: config.Admin{Listen: "0.0.0.0:9999", Token: "s3cret", TLS: config.TLS{CertFile: "adm.pem", KeyFile: "adm.key"}},
		Store: config.Store{
			Redis: config.StringList{"10.0.0.1:6379", "10.0.0.2:6379"}, Cluster: true, Username: "u", Password: "p",
			KeyPrefix: "other", HeartbeatInterval: 2 * time.Second,
		},
		Limits: config.Limits{
			Limits: gateway.Limits{
				MessagesPerSecond: 2.5, Burst: 7, OnExceed: "close", MaxDelay: 4 * time.Second, MaxMessageBytes: 100, MaxPendingSends: 3,
				IdleTimeout: 90 * time.Second, CloseTimeout: time.Second,
				MaxConnections: 10, MaxConnectionsPerIP: 2,
				ScriptWorkersPerEndpoint: 2, MaxScriptInterrupts: 5, MaxGroupsPerSocket: 7,
				UpgradesPerIPPerSecond: 1.5, UpgradesPerIPBurst: 4, HandshakeTimeout: 6 * time.Second,
			},
			Script: runtime.Limits{Timeout: 250 * time.Millisecond, MaxSendsPerEvent: 11, MaxSendBytesPerEvent: 12, MaxMemory: 1 << 20, MaxStateBytes: 300},
		},
		Runtime: config.Runtime{PoolSize: 3, MemoryLimit: 1 << 30, GCMinHeap: 32 << 20},
		Log:     config.Log{Level: "debug", Format: "json"},
		Endpoints: []config.Endpoint{
			{Path: "/chat/{room}", Script: "echo.js", Source: echo, Options: wsgw.Options{
				AllowedOrigins: []string{`^https://a\.example$`},
				Auth:           &wsgw.AuthOptions{JWT: wsgw.JWTOptions{HS256SecretEnv: "SECRET"}, TokenFrom: []wsgw.TokenSource{"cookie", "header"}},
				Subprotocols:   []string{"v12.stomp", "v11.stomp"}, Protocol: &stomp, STOMP: &wsgw.STOMPOptions{Heartbeat: "10s,5s"},
			}},
			{Path: "/rs", Script: "echo.js", Source: echo, Options: wsgw.Options{Auth: &wsgw.AuthOptions{
				JWT:        wsgw.JWTOptions{RS256PublicKeyFile: "rs.pem", RS256PublicKey: "key of rs.pem", Issuer: "https://idp/", Audience: "api", Leeway: 30 * time.Second},
				CookieName: "SESSION", QueryParam: "access_token", UserClaim: "email"}}},
			{Path: "/rs-text", Script: "echo.js", Source: echo, Options: wsgw.Options{Auth: &wsgw.AuthOptions{
				JWT: wsgw.JWTOptions{RS256PublicKey: "key of rs-text"}}}},
			{Path: "/es", Script: "echo.js", Source: echo, Options: wsgw.Options{Auth: &wsgw.AuthOptions{
				JWT: wsgw.JWTOptions{ES256PublicKeyFile: "es.pem", ES256PublicKey: "key of es.pem"}}}},
			{Path: "/es-text", Script: "echo.js", Source: echo, Options: wsgw.Options{Auth: &wsgw.AuthOptions{
				JWT: wsgw.JWTOptions{ES256PublicKey: "key of es-text"}}}},
			{Path: "/jwks", Script: "echo.js", Source: echo, Options: wsgw.Options{Auth: &wsgw.AuthOptions{
				JWT: wsgw.JWTOptions{JWKSURL: "https://idp/jwks"}}}},
			{Path: "/opaque", Script: "echo.js", Source: echo, Options: wsgw.Options{Auth: &wsgw.AuthOptions{
				Introspect: wsgw.IntrospectOptions{URL: "https://idp/introspect", Timeout: time.Second, CacheTTL: time.Minute, ClientSecretEnv: "IS"}}}},
		},
		Environ:      environ,
		EventHandler: "echo.js", EventHandlerSource: echo, File: path,
	}
	if !reflect.DeepEqual(*cfg, want) {
		t.Fatalf("decoded\n  %+v\nwant\n  %+v", *cfg, want)
	}
}

// configKeys lists every key a configuration file can set, as dotted paths;
// the keys of a list of mappings (endpoints) are listed under the list's key.
func configKeys(t reflect.Type) []string {
	var keys []string
	for i := range t.NumField() {
		tag, opts, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		if opts == "inline" { // its keys are the mapping's own
			keys = append(keys, configKeys(t.Field(i).Type)...)
			continue
		}
		if tag == "" || tag == "-" {
			continue
		}
		ft := t.Field(i).Type
		if ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct || ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if ft.Kind() == reflect.Struct && ft != reflect.TypeFor[time.Duration]() {
			for _, k := range configKeys(ft) {
				keys = append(keys, tag+"."+k)
			}
			continue
		}
		keys = append(keys, tag)
	}
	return keys
}

// differs reports whether the setting at key (its path split) differs
// between got and def; for a key under a list, whether any item of got sets
// it to other than the zero value.
func differs(got, def reflect.Value, key []string) bool {
	if len(key) == 0 {
		return !reflect.DeepEqual(got.Interface(), def.Interface())
	}
	var field func(v reflect.Value) reflect.Value
	field = func(v reflect.Value) reflect.Value {
		for i := range v.NumField() {
			tag, opts, _ := strings.Cut(v.Type().Field(i).Tag.Get("yaml"), ",")
			if tag == key[0] {
				return v.Field(i)
			}
			if opts == "inline" {
				if f := field(v.Field(i)); f.IsValid() {
					return f
				}
			}
		}
		return reflect.Value{}
	}
	g, d := field(got), field(def)
	if !g.IsValid() {
		panic("no key " + key[0])
	}
	if g.Kind() == reflect.Pointer {
		if g.IsNil() {
			return false
		}
		g, d = g.Elem(), reflect.New(g.Type().Elem()).Elem()
	}
	if g.Kind() == reflect.Slice && g.Type().Elem().Kind() == reflect.Struct {
		zero := reflect.New(g.Type().Elem()).Elem()
		for i := range g.Len() {
			if differs(g.Index(i), zero, key[1:]) {
				return true
			}
		}
		return false
	}
	return differs(g, d, key[1:])
}

func TestEnvOverrides(t *testing.T) {
	path := writeConfig(t, minimal)
	cfg, err := config.Load(path, []string{
		"WSGW_LISTEN=127.0.0.1:7000", "WSGW_ADMIN_TOKEN=tok", "WSGW_ADMIN_LISTEN=0.0.0.0:9",
		"WSGW_LIMITS_BURST=9", "WSGW_LIMITS_IDLE_TIMEOUT=2m", "WSGW_STORE_REDIS=redis://r:6379/1",
		"WSGW_NODE_ID=from-env", "UNRELATED=1",
	})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Listen != "127.0.0.1:7000" || cfg.Admin.Token != "tok" || cfg.Limits.Burst != 9 ||
		cfg.Limits.IdleTimeout != 2*time.Minute || cfg.Store.Redis.String() != "redis://r:6379/1" || cfg.NodeID != "from-env" {
		t.Fatalf("after env = %+v", cfg)
	}
}

func TestErrorsNameFileLineAndKey(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		env  []string
		want []string // substrings of the error
	}{
		{"unknown top-level key", "listn: x\n" + minimal, nil, []string{"gw.yaml:1:", "listn", "unknown key"}},
		{"unknown nested key", "limits:\n  burts: 3\n" + minimal, nil, []string{"gw.yaml:2:", "limits.burts", "unknown key"}},
		{"bad duration", "limits:\n  idle_timeout: 6x\n" + minimal, nil, []string{"gw.yaml:2:", "limits.idle_timeout", `"6x" is not a duration`}},
		{"bare number duration", "limits:\n  script_timeout: 5\n" + minimal, nil, []string{"limits.script_timeout", "with a unit"}},
		{"not a number", "limits:\n  burst: many\n" + minimal, nil, []string{"limits.burst", "not a whole number"}},
		{"wrong kind", "limits: 5\n" + minimal, nil, []string{"gw.yaml:1:", "limits", "want a mapping"}},
		{"endpoint list item", "endpoints:\n  - path: /a\n    scrpt: a.js\n", nil, []string{"gw.yaml:3:", "endpoints[0].scrpt"}},
		{"missing script file", "endpoints:\n  - path: /a\n    script: missing.js\n", nil, []string{"endpoints[0].script", "missing.js"}},
		{"no endpoints", "listen: ':1'\n", nil, []string{"endpoints", "no endpoints"}},
		{"bad on_exceed", "limits: {on_exceed: kick}\n" + minimal, nil, []string{"limits.on_exceed", `"kick"`, `"delay"`}},
		{"zero max_delay", "limits: {on_exceed: delay, max_delay: 0s}\n" + minimal, nil, []string{"limits.max_delay", "> 0"}},
		{"max_delay under one token", "limits: {on_exceed: delay, messages_per_second: 0.1, max_delay: 5s}\n" + minimal, nil, []string{"limits.max_delay", "10s"}},
		{"negative limit", "limits: {max_connections: -1}\n" + minimal, nil, []string{"limits.max_connections"}},
		{"bad origin regexp", "endpoints:\n  - path: /a\n    script: echo.js\n    allowed_origins: ['(']\n", nil, []string{"endpoints[0].allowed_origins[0]"}},
		{"public admin without token", "admin: {listen: '0.0.0.0:9090'}\n" + minimal, nil, []string{"admin.listen", "admin.token"}},
		{"public admin from the environment", minimal, []string{"WSGW_ADMIN_LISTEN=0.0.0.0:9"}, []string{"environment WSGW_ADMIN_LISTEN (admin.listen)", "admin.token"}},
		{"bad listen", "listen: nowhere\n" + minimal, nil, []string{"listen", "host:port"}},
		{"bad env value", minimal, []string{"WSGW_LIMITS_BURST=lots"}, []string{"WSGW_LIMITS_BURST", "not a whole number"}},
		{"duplicate key", "listen: ':1'\nlisten: ':2'\n" + minimal, nil, []string{"gw.yaml:2:", "listen"}},
		{"not YAML", "endpoints: [\n", nil, []string{"gw.yaml"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := config.Load(writeConfig(t, tc.yaml), tc.env)
			if err == nil {
				t.Fatal("Load succeeded, want an error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestLoopback(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1:9090": true, "[::1]:9090": true, "localhost:9090": true, "127.9.9.9:1": true,
		":9090": false, "0.0.0.0:9090": false, "10.0.0.1:9090": false, "example.com:80": false, "garbage": false,
	} {
		if got := config.IsLoopback(addr); got != want {
			t.Errorf("IsLoopback(%q) = %v, want %v", addr, got, want)
		}
	}
}

func TestExampleConfigLoads(t *testing.T) {
	cfg, err := config.Load("../examples/gateway.yaml", nil)
	if err != nil {
		t.Fatalf("the example configuration does not load: %v", err)
	}
	if len(cfg.Endpoints) == 0 {
		t.Fatal("the example configuration has no endpoints")
	}
}

// TestExampleConfigListsEveryKey keeps examples/gateway.yaml true to what it
// says: it lists every key (commented-out ones count), and every key it sets
// has its default.
func TestExampleConfigListsEveryKey(t *testing.T) {
	const file = "../examples/gateway.yaml"
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(uncomment(string(data))), &doc); err != nil {
		t.Fatalf("%s with its commented-out keys restored: %v", file, err)
	}
	listed := map[string]bool{}
	yamlKeys(doc.Content[0], "", listed)
	for _, key := range configKeys(reflect.TypeFor[config.Config]()) {
		if !listed[key] {
			t.Errorf("%s does not list %s", file, key)
		}
		delete(listed, key)
	}
	for key := range listed {
		t.Errorf("%s lists %s, which is no configuration key", file, key)
	}

	cfg, err := config.Load(file, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, def := *cfg, config.Default()
	got.Endpoints, got.File = nil, ""
	if !reflect.DeepEqual(got, def) {
		t.Errorf("%s sets\n  %+v\nbut the defaults are\n  %+v", file, got, def)
	}
}

var (
	// commented is a comment line: its indentation, then the rest after "# ".
	commented = regexp.MustCompile(`^(\s*)# ?(.*)$`)
	// keyUnderComments is a key, "key: value" or "- key: value", possibly
	// commented out more than once.
	keyUnderComments = regexp.MustCompile(`^(\s*# ?)*\s*(- )?[a-z][a-z0-9_]*:(\s|$)`)
)

// uncomment restores the commented-out keys of a YAML text, keeping their
// indentation as the text shows it with the "# " removed.
func uncomment(text string) string {
	lines := strings.Split(text, "\n")
	for i, line := range lines {
		for {
			m := commented.FindStringSubmatch(line)
			if m == nil || !keyUnderComments.MatchString(m[2]) {
				break
			}
			line = m[1] + m[2]
		}
		lines[i] = line
	}
	return strings.Join(lines, "\n")
}

// yamlKeys adds the dotted key paths of a YAML mapping to keys; the keys of
// the items of a list of mappings are added under the list's key.
func yamlKeys(n *yaml.Node, prefix string, keys map[string]bool) {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			key := n.Content[i].Value
			if prefix != "" {
				key = prefix + "." + key
			}
			v := n.Content[i+1]
			if v.Kind == yaml.MappingNode || (v.Kind == yaml.SequenceNode && len(v.Content) > 0 && v.Content[0].Kind == yaml.MappingNode) {
				yamlKeys(v, key, keys)
				continue
			}
			keys[key] = true
		}
	case yaml.SequenceNode:
		for _, item := range n.Content {
			yamlKeys(item, prefix, keys)
		}
	}
}

// FuzzParse feeds arbitrary YAML to the loader: it must answer with a config
// or an error naming the file, never panic.
func FuzzParse(f *testing.F) {
	f.Add([]byte(minimal))
	f.Add([]byte("limits: {idle_timeout: 1s, burst: 2}\nstore: {redis: [a, b]}\n"))
	f.Add([]byte("endpoints: [{path: /a, script: a.js, allowed_origins: [x]}]\n"))
	f.Add([]byte("a: &x [1]\nb: *x\n"))
	f.Add([]byte("limits: !!binary AAAA\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := config.Parse(data, "fuzz.yaml")
		if err != nil {
			if !strings.Contains(err.Error(), "fuzz.yaml") {
				t.Fatalf("error without the file name: %v", err)
			}
			return
		}
		_ = cfg.Validate()
		_ = cfg.ApplyEnv([]string{"WSGW_LIMITS_BURST=3"})
	})
}
