// Package config loads the gateway's YAML configuration: defaults, the file,
// WSGW_* environment overrides, then validation with messages that name the
// file, the line and the key. Settings that a package owns are read into
// that package's own type, starting from its defaults (gateway.Limits,
// runtime.Limits); cmd/gateway hands them on as they are.
package config

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/wsgw/wsgw"
	"github.com/wsgw/wsgw/gateway"
	"github.com/wsgw/wsgw/runtime"
	"github.com/wsgw/wsgw/store/redis"
)

// Config is the whole gateway configuration. Paths in it are relative to the
// directory of the file it was loaded from.
type Config struct {
	Listen          string        `yaml:"listen"`
	TLS             TLS           `yaml:"tls"`
	NodeID          string        `yaml:"node_id"`
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
	Admin           Admin         `yaml:"admin"`
	Store           Store         `yaml:"store"`
	Limits          Limits        `yaml:"limits"`
	Runtime         Runtime       `yaml:"runtime"`
	Log             Log           `yaml:"log"`
	Endpoints       []Endpoint    `yaml:"endpoints"`
	// EventHandler names a script defining handle_websocket_websocket_info;
	// when set it receives every event of every endpoint.
	EventHandler string `yaml:"event_handler"`

	// File is the path the configuration was loaded from ("" for none).
	File string `yaml:"-"`
	// EventHandlerSource is the text of the EventHandler script.
	EventHandlerSource string `yaml:"-"`

	// setBy names, by key, where a setting that did not come from the file
	// came from (a flag, an environment variable), for errors.
	setBy map[string]string
	// Environ is the environment it was loaded with (os.Environ() form),
	// where each node reads the secrets of endpoints' auth.
	Environ []string `yaml:"-"`
}

// SetBy records that the setting at key came from source (a flag such as
// --admin-addr), so that an error about it names source, not the file.
func (c *Config) SetBy(key, source string) {
	if c.setBy == nil {
		c.setBy = map[string]string{}
	}
	c.setBy[key] = source
}

// Admin configures the management listener.
type Admin struct {
	Listen string `yaml:"listen"`
	Token  string `yaml:"token"`
	TLS    TLS    `yaml:"tls"`
}

// TLS serves a listener over TLS (https, wss) with a certificate and key
// from PEM files, relative to the configuration file; SIGHUP reloads them.
// Both empty: plain TCP.
type TLS struct {
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
}

// Store selects the registry: no redis is the embedded memory store (one
// node); with redis, the nodes that share it form a cluster.
type Store struct {
	// Redis is one server (host:port, redis://host:port/db, rediss:// for
	// TLS), the seeds of a Redis Cluster (a list), or the Sentinels.
	Redis StringList `yaml:"redis"`
	// Cluster makes a single address the seed of a Redis Cluster.
	Cluster bool `yaml:"cluster"`
	// SentinelMaster names the master that the Sentinels in Redis watch.
	SentinelMaster string `yaml:"sentinel_master"`
	Username       string `yaml:"username"`
	// Password is better given as WSGW_STORE_PASSWORD than in the file.
	Password string `yaml:"password"`
	// KeyPrefix starts every key and channel, so deployments can share a Redis.
	KeyPrefix string `yaml:"key_prefix"`
	// HeartbeatInterval is how often a node proves it is alive; one silent
	// for three intervals is dead, and its sockets are purged.
	HeartbeatInterval time.Duration `yaml:"heartbeat_interval"`
}

// Limits are the limits section (docs/security.md, "Every limit"): the
// gateway's per-connection and per-node limits, and what one script event
// may do, each read into the type of the package that owns it, with that
// package's defaults.
type Limits struct {
	gateway.Limits `yaml:",inline"`
	Script         runtime.Limits `yaml:",inline"`
}

// Runtime sizes the pool of JavaScript runtimes.
type Runtime struct {
	// PoolSize is how many scripts may run at once; 0 = 4 per CPU, at least 8.
	PoolSize int `yaml:"pool_size"`
	// MemoryLimit is the Go runtime's soft memory limit in bytes (what
	// GOMEMLIMIT sets); 0 leaves it to the GOMEMLIMIT environment variable.
	MemoryLimit int `yaml:"memory_limit"`
	// GCMinHeap is the heap the garbage collector lets grow before it
	// collects, however small the live heap (DefaultGCMinHeap); 0 leaves
	// that to GOGC alone (docs/operations.md, "Memory, and the Go runtime's knobs").
	GCMinHeap int `yaml:"gc_min_heap"`
}

// Log configures structured logging.
type Log struct {
	Level  string `yaml:"level"`  // debug, info, warn, error
	Format string `yaml:"format"` // auto (text on a terminal, JSON otherwise), text, json
}

// Endpoint is one WebSocket path, the script that handles its events, and
// its options: the same options, with the same keys and checks, as a
// deploy gives (docs/security.md, "Authentication", for auth).
type Endpoint struct {
	Path         string `yaml:"path"`
	Script       string `yaml:"script"`
	wsgw.Options `yaml:",inline"`

	// Source is the text of Script.
	Source string `yaml:"-"`
}

// Default returns the configuration used where the file says nothing.
func Default() Config {
	return Config{
		Listen:          ":8080",
		ShutdownTimeout: 10 * time.Second,
		Admin:           Admin{Listen: "127.0.0.1:9090"},
		Store:           Store{KeyPrefix: redis.DefaultKeyPrefix, HeartbeatInterval: redis.DefaultHeartbeatInterval},
		Limits:          Limits{Limits: gateway.DefaultLimits(), Script: runtime.Limits{}.WithDefaults()},
		Runtime:         Runtime{GCMinHeap: DefaultGCMinHeap},
		Log:             Log{Level: "info", Format: "auto"},
	}
}

// DefaultGCMinHeap is runtime.gc_min_heap's default: 64 MiB.
const DefaultGCMinHeap = 64 << 20

// Load reads the file at path over the defaults, applies WSGW_* overrides from
// environ (os.Environ() form), reads the scripts it names and validates it.
func Load(path string, environ []string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	cfg, err := Parse(data, path)
	if err != nil {
		return nil, err
	}
	if err := cfg.ApplyEnv(environ); err != nil {
		return nil, err
	}
	cfg.Environ = environ
	if err := cfg.ReadScripts(); err != nil {
		return nil, err
	}
	if err := cfg.ReadKeyFiles(); err != nil {
		return nil, err
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return cfg, nil
}

// Parse decodes YAML over the defaults. file names the source in errors.
func Parse(data []byte, file string) (*Config, error) {
	cfg := Default()
	cfg.File = file
	if err := decodeYAML(data, file, &cfg); err != nil {
		return nil, err
	}
	return &cfg, nil
}

// Resolve returns path relative to the configuration file's directory.
func (c *Config) Resolve(path string) string {
	if path == "" || filepath.IsAbs(path) || c.File == "" {
		return path
	}
	return filepath.Join(filepath.Dir(c.File), path)
}

// ReadScripts loads the text of every script the configuration names.
func (c *Config) ReadScripts() error {
	for i := range c.Endpoints {
		ep := &c.Endpoints[i]
		if ep.Script == "" {
			return c.Errorf(fmt.Sprintf("endpoints[%d].script", i), "endpoint %q names no script", ep.Path)
		}
		src, err := os.ReadFile(c.Resolve(ep.Script))
		if err != nil {
			return c.Errorf(fmt.Sprintf("endpoints[%d].script", i), "%v", err)
		}
		ep.Source = string(src)
	}
	if c.EventHandler != "" {
		src, err := os.ReadFile(c.Resolve(c.EventHandler))
		if err != nil {
			return c.Errorf("event_handler", "%v", err)
		}
		c.EventHandlerSource = string(src)
	}
	return nil
}

// Validate checks what the types alone do not.
func (c *Config) Validate() error {
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		return c.Errorf("listen", "%q is not host:port: %v", c.Listen, err)
	}
	if _, _, err := net.SplitHostPort(c.Admin.Listen); err != nil {
		return c.Errorf("admin.listen", "%q is not host:port: %v", c.Admin.Listen, err)
	}
	for _, t := range []struct {
		key string
		tls TLS
	}{{"tls", c.TLS}, {"admin.tls", c.Admin.TLS}} {
		if (t.tls.CertFile == "") != (t.tls.KeyFile == "") {
			return c.Errorf(t.key, "set both cert_file and key_file, or neither")
		}
	}
	if c.Admin.Token == "" && !IsLoopback(c.Admin.Listen) {
		return c.Errorf("admin.listen", "%q is not a loopback address and admin.token is empty: set a token (or WSGW_ADMIN_TOKEN) to expose the admin API", c.Admin.Listen)
	}
	l := c.Limits
	checks := []struct {
		key string
		bad bool
		msg string
	}{
		{"limits.messages_per_second", l.MessagesPerSecond < 0, "must be >= 0 (0 lifts the limit)"},
		{"limits.burst", l.Burst < 1, "must be >= 1"},
		{"limits.on_exceed", !oneOf(string(l.OnExceed), "drop", "close", "delay"), fmt.Sprintf(`%q: want "drop", "close" or "delay"`, l.OnExceed)},
		{"limits.max_delay", l.MaxDelay <= 0, "must be > 0"},
		{"limits.max_delay", l.OnExceed == "delay" && l.MessagesPerSecond > 0 && l.MaxDelay.Seconds()*l.MessagesPerSecond < 1,
			fmt.Sprintf("%v is shorter than one token (1/messages_per_second = %v): with on_exceed: delay every message past the burst would close the connection",
				l.MaxDelay, time.Duration(float64(time.Second)/max(l.MessagesPerSecond, 1e-9)).Round(time.Millisecond))},
		{"limits.max_message_bytes", l.MaxMessageBytes < 1 || l.MaxMessageBytes > gateway.MaxMessageBytesLimit,
			fmt.Sprintf("must be between 1 and %d (1 GiB)", gateway.MaxMessageBytesLimit)},
		{"limits.max_pending_sends", l.MaxPendingSends < 1, "must be >= 1"},
		{"limits.idle_timeout", l.IdleTimeout <= 0, "must be > 0"},
		{"limits.script_timeout", l.Script.Timeout <= 0, "must be > 0"},
		{"limits.close_timeout", l.CloseTimeout <= 0, "must be > 0"},
		{"limits.max_connections", l.MaxConnections < 0, "must be >= 0 (0 = unlimited)"},
		{"limits.max_connections_per_ip", l.MaxConnectionsPerIP < 0, "must be >= 0 (0 = unlimited)"},
		{"limits.max_sends_per_event", l.Script.MaxSendsPerEvent < 1, "must be >= 1"},
		{"limits.max_send_bytes_per_event", l.Script.MaxSendBytesPerEvent < 1, "must be >= 1"},
		{"limits.upgrades_per_ip_per_second", l.UpgradesPerIPPerSecond < 0, "must be >= 0 (0 lifts the limit)"},
		{"limits.upgrades_per_ip_burst", l.UpgradesPerIPBurst < 1, "must be >= 1"},
		{"limits.handshake_timeout", l.HandshakeTimeout <= 0, "must be > 0"},
		{"limits.script_memory", l.Script.MaxMemory < 1<<20, "must be at least 1048576 (1 MiB)"},
		{"limits.script_workers_per_endpoint", l.ScriptWorkersPerEndpoint < 0, "must be >= 0 (0 = half of runtime.pool_size)"},
		{"limits.max_script_interrupts", l.MaxScriptInterrupts < 1, "must be >= 1"},
		{"limits.max_state_bytes", l.Script.MaxStateBytes < 2, "must be >= 2 (the JSON of {})"},
		{"limits.max_groups_per_socket", l.MaxGroupsPerSocket < 1, "must be >= 1"},
		{"runtime.pool_size", c.Runtime.PoolSize < 0, "must be >= 0 (0 = automatic)"},
		{"runtime.memory_limit", c.Runtime.MemoryLimit < 0, "must be >= 0 (0 = GOMEMLIMIT, or none)"},
		{"runtime.gc_min_heap", c.Runtime.GCMinHeap < 0, "must be >= 0 (0 = none)"},
		{"shutdown_timeout", c.ShutdownTimeout <= 0, "must be > 0"},
		{"store.heartbeat_interval", c.Store.HeartbeatInterval <= 0, "must be > 0"},
		{"store.key_prefix", c.Store.KeyPrefix == "" || strings.ContainsAny(c.Store.KeyPrefix, "{}"),
			"must be non-empty and without braces (they would break Redis Cluster hash tags)"},
		{"store.sentinel_master", c.Store.SentinelMaster != "" && len(c.Store.Redis) == 0,
			"needs the Sentinel addresses in store.redis"},
		{"store.cluster", c.Store.Cluster && c.Store.SentinelMaster != "", "and store.sentinel_master exclude each other"},
		{"node_id", len(c.Store.Redis) > 0 && strings.ContainsAny(c.NodeID, "{}"),
			"must not contain braces (they would break Redis Cluster hash tags)"},
		{"log.level", !oneOf(c.Log.Level, "debug", "info", "warn", "error"), "must be debug, info, warn or error"},
		{"log.format", !oneOf(c.Log.Format, "auto", "text", "json"), "must be auto, text or json"},
	}
	for _, ck := range checks {
		if ck.bad {
			return c.Errorf(ck.key, "%s", ck.msg)
		}
	}
	if len(c.Endpoints) == 0 {
		return c.Errorf("endpoints", "no endpoints: the gateway would serve nothing")
	}
	for i, ep := range c.Endpoints {
		key := fmt.Sprintf("endpoints[%d]", i)
		if !strings.HasPrefix(ep.Path, "/") {
			return c.Errorf(key+".path", "%q must start with /", ep.Path)
		}
		if err := ep.Options.Validate(); err != nil {
			var fe *wsgw.FieldError
			if errors.As(err, &fe) {
				return c.Errorf(key+"."+fe.Field, "%s", fe.Msg)
			}
			return c.Errorf(key, "%v", err)
		}
	}
	return nil
}

// ReadKeyFiles reads the public key file an endpoint's auth names,
// relative to the configuration file, into the key's PEM text: the
// deployment carries the key itself, so every node verifies with it.
func (c *Config) ReadKeyFiles() error {
	for i := range c.Endpoints {
		a := c.Endpoints[i].Auth
		if a == nil {
			continue
		}
		for _, k := range []struct {
			name string
			file string
			text *string
		}{
			{"rs256_public_key_file", a.JWT.RS256PublicKeyFile, &a.JWT.RS256PublicKey},
			{"es256_public_key_file", a.JWT.ES256PublicKeyFile, &a.JWT.ES256PublicKey},
		} {
			if k.file == "" {
				continue
			}
			text, err := os.ReadFile(c.Resolve(k.file))
			if err != nil {
				return c.Errorf(fmt.Sprintf("endpoints[%d].auth.jwt.%s", i, k.name), "%v", err)
			}
			*k.text = string(text)
		}
	}
	return nil
}

// LookupEnv is the value of the environment variable name in the
// environment the configuration was loaded with: where each node reads the
// secrets of endpoints' auth.
func (c *Config) LookupEnv(name string) (string, bool) {
	return lookupEnv(c.Environ, name)
}

func lookupEnv(environ []string, name string) (string, bool) {
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok && k == name {
			return v, true
		}
	}
	return "", false
}

// Errorf returns an error that names the configuration file and key, for
// checks made outside this package (paths, scripts); for a key set by a flag
// or the environment, it names that instead of the file.
func (c *Config) Errorf(key, format string, args ...any) error {
	if src, ok := c.setBy[key]; ok {
		return fmt.Errorf("%s (%s): %s", src, key, fmt.Sprintf(format, args...))
	}
	file := c.File
	if file == "" {
		file = "config"
	}
	return fmt.Errorf("%s: %s: %s", file, key, fmt.Sprintf(format, args...))
}

// IsLoopback reports whether the host of addr is a loopback address or
// "localhost"; an empty host (all interfaces) is not.
func IsLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func oneOf(s string, options ...string) bool {
	for _, o := range options {
		if s == o {
			return true
		}
	}
	return false
}
