package config

import (
	"strings"
	"testing"
	"time"
)

func TestStoreSettings(t *testing.T) {
	const endpoints = "endpoints: [{path: /echo, script: echo.js}]\n"
	tests := []struct {
		name, yaml string
		env        []string
		wantErr    string // "" = valid
		check      func(t *testing.T, s Store)
	}{
		{name: "defaults", yaml: endpoints, check: func(t *testing.T, s Store) {
			if len(s.Redis) != 0 || s.KeyPrefix != "wsgw" || s.HeartbeatInterval != 5*time.Second {
				t.Fatalf("defaults = %+v", s)
			}
		}},
		{name: "cluster seeds", yaml: "store: {redis: [a:7000, b:7000], key_prefix: app1, heartbeat_interval: 2s}\n" + endpoints,
			check: func(t *testing.T, s Store) {
				if len(s.Redis) != 2 || s.KeyPrefix != "app1" || s.HeartbeatInterval != 2*time.Second {
					t.Fatalf("store = %+v", s)
				}
			}},
		{name: "password from the environment", yaml: "store: {redis: redis://r:6379/0}\n" + endpoints,
			env: []string{"WSGW_STORE_PASSWORD=s3cret", "WSGW_STORE_SENTINEL_MASTER=mymaster"},
			check: func(t *testing.T, s Store) {
				if s.Password != "s3cret" || s.SentinelMaster != "mymaster" {
					t.Fatalf("store = %+v", s)
				}
			}},
		{name: "bad interval", yaml: "store: {heartbeat_interval: 0s}\n" + endpoints, wantErr: "store.heartbeat_interval"},
		{name: "interval without unit", yaml: "store: {heartbeat_interval: 5}\n" + endpoints, wantErr: "store.heartbeat_interval"},
		{name: "brace in prefix", yaml: "store: {key_prefix: \"a{b}\"}\n" + endpoints, wantErr: "store.key_prefix"},
		{name: "sentinel without addresses", yaml: "store: {sentinel_master: m}\n" + endpoints, wantErr: "store.sentinel_master"},
		{name: "cluster and sentinel", yaml: "store: {redis: [a:1], cluster: true, sentinel_master: m}\n" + endpoints, wantErr: "store.cluster"},
		{name: "brace in node id", yaml: "node_id: \"n{1}\"\nstore: {redis: a:1}\n" + endpoints, wantErr: "node_id"},
		{name: "unknown store key", yaml: "store: {sentinel: m}\n" + endpoints, wantErr: "store.sentinel: unknown key"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := Parse([]byte(tc.yaml), "test.yaml")
			if err == nil {
				err = cfg.ApplyEnv(tc.env)
			}
			if err == nil {
				err = cfg.Validate()
			}
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want one naming %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, cfg.Store)
		})
	}
}
