package config_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wsgw/wsgw/config"
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
		l.IdleTimeout != time.Minute || l.ScriptTimeout != time.Second || len(cfg.Store.Redis) != 0 {
		t.Fatalf("defaults = %+v", cfg)
	}
	if cfg.Endpoints[0].Source != "return websocketInfo.message" {
		t.Fatalf("script not read relative to the config file: %q", cfg.Endpoints[0].Source)
	}
}

func TestEverySettingFromYAML(t *testing.T) {
	path := writeConfig(t, `
listen: "127.0.0.1:1234"
node_id: n1
shutdown_timeout: 3s
admin: {listen: "0.0.0.0:9999", token: "s3cret"}
store: {redis: ["10.0.0.1:6379", "10.0.0.2:6379"]}
limits:
  messages_per_second: 2.5
  burst: 7
  on_exceed: close
  max_message_bytes: 100
  max_pending_sends: 3
  idle_timeout: 90s
  script_timeout: 250ms
  close_timeout: 1s
  max_connections: 10
  max_connections_per_ip: 2
runtime: {pool_size: 3}
log: {level: debug, format: json}
endpoints:
  - path: /chat/{room}
    script: echo.js
    allowed_origins: ["^https://a\\.example$"]
`)
	cfg, err := config.Load(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	l := cfg.Limits
	if cfg.Listen != "127.0.0.1:1234" || cfg.NodeID != "n1" || cfg.ShutdownTimeout != 3*time.Second ||
		cfg.Admin.Token != "s3cret" || cfg.Store.Redis.String() != "10.0.0.1:6379,10.0.0.2:6379" ||
		l.MessagesPerSecond != 2.5 || l.Burst != 7 || l.OnExceed != "close" || l.MaxMessageBytes != 100 ||
		l.MaxPendingSends != 3 || l.IdleTimeout != 90*time.Second || l.ScriptTimeout != 250*time.Millisecond ||
		l.CloseTimeout != time.Second || l.MaxConnections != 10 || l.MaxConnectionsPerIP != 2 ||
		cfg.Runtime.PoolSize != 3 || cfg.Log.Level != "debug" || cfg.Endpoints[0].AllowedOrigins[0] != `^https://a\.example$` {
		t.Fatalf("decoded = %+v", cfg)
	}
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
