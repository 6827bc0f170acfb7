package gateway

import "time"

// Limits are the per-connection and per-node limits (docs/security.md,
// "Every limit"): the limits section of the configuration, which reads
// its keys into this type. A zero field gets its default (WithDefaults),
// but for those where zero lifts the limit: MessagesPerSecond,
// MaxConnections, MaxConnectionsPerIP and UpgradesPerIPPerSecond.
type Limits struct {
	// MessagesPerSecond is each connection's token rate; 0 lifts the limit.
	MessagesPerSecond float64 `yaml:"messages_per_second"`
	Burst             int     `yaml:"burst"`
	// OnExceed is what becomes of a frame that finds no token: dropped
	// (the default), or the connection closed, or reading delayed.
	OnExceed OnExceed `yaml:"on_exceed"`
	// MaxDelay is the longest OnExceed delay holds a connection back
	// without a break before closing it with 1008.
	MaxDelay        time.Duration `yaml:"max_delay"`
	MaxMessageBytes int           `yaml:"max_message_bytes"`
	MaxPendingSends int           `yaml:"max_pending_sends"`
	IdleTimeout     time.Duration `yaml:"idle_timeout"`
	CloseTimeout    time.Duration `yaml:"close_timeout"`
	// MaxConnections and MaxConnectionsPerIP cap this node's connections,
	// all of them and those of one client address; 0 is no cap.
	MaxConnections      int `yaml:"max_connections"`
	MaxConnectionsPerIP int `yaml:"max_connections_per_ip"`
	// UpgradesPerIPPerSecond is each client's rate of upgrade requests (a
	// token bucket of UpgradesPerIPBurst); past it they get HTTP 429. 0 lifts it.
	UpgradesPerIPPerSecond float64 `yaml:"upgrades_per_ip_per_second"`
	UpgradesPerIPBurst     int     `yaml:"upgrades_per_ip_burst"`
	// HandshakeTimeout bounds writing the 101 answer.
	HandshakeTimeout time.Duration `yaml:"handshake_timeout"`
	// ScriptWorkersPerEndpoint caps the runtimes one endpoint's events hold
	// at once (0: half the engine's pool, rounded up), so a runaway script
	// leaves the rest to other endpoints.
	ScriptWorkersPerEndpoint int `yaml:"script_workers_per_endpoint"`
	// InterruptedWorkers caps the runtimes held at once, node-wide, by
	// events of connections whose last event was interrupted (0: an
	// eighth of the pool, at least 1).
	InterruptedWorkers int `yaml:"-"`
	// MaxScriptInterrupts closes a connection with 1011 when this many of
	// its events in a row were interrupted by script_timeout or
	// script_memory.
	MaxScriptInterrupts int `yaml:"max_script_interrupts"`
	// MaxGroupsPerSocket caps the groups one socket may be in at once.
	MaxGroupsPerSocket int `yaml:"max_groups_per_socket"`
}

// The defaults of Limits, the values docs/security.md lists. The zero
// value of the other fields is their default.
const (
	// DefaultMessagesPerSecond is the rate of DefaultLimits; the zero
	// Limits lift the rate limit.
	DefaultMessagesPerSecond   = 5
	DefaultBurst               = 5
	DefaultOnExceed            = ExceedDrop
	DefaultMaxDelay            = 30 * time.Second
	DefaultMaxMessageBytes     = 64 << 10
	DefaultMaxPendingSends     = 1024
	DefaultIdleTimeout         = 60 * time.Second
	DefaultCloseTimeout        = 5 * time.Second
	DefaultUpgradesPerIPBurst  = 10
	DefaultHandshakeTimeout    = 10 * time.Second
	DefaultMaxScriptInterrupts = 3
	DefaultMaxGroupsPerSocket  = 100
)

// MaxMessageBytesLimit is the largest max_message_bytes: a claimed length
// above it is refused with 1009 before anything is allocated.
const MaxMessageBytesLimit = 1 << 30

// DefaultLimits are the limits of a node whose configuration sets none:
// DefaultMessagesPerSecond per connection, every other field its default.
func DefaultLimits() Limits {
	return Limits{MessagesPerSecond: DefaultMessagesPerSecond}.WithDefaults()
}

// WithDefaults returns l with every zero field that has a default set to
// it. The fields that depend on the script engine's pool are set by New.
func (l Limits) WithDefaults() Limits {
	if l.Burst <= 0 {
		l.Burst = DefaultBurst
	}
	if l.OnExceed == "" {
		l.OnExceed = DefaultOnExceed
	}
	if l.MaxDelay <= 0 {
		l.MaxDelay = DefaultMaxDelay
	}
	if l.MaxMessageBytes <= 0 {
		l.MaxMessageBytes = DefaultMaxMessageBytes
	}
	if l.MaxPendingSends <= 0 {
		l.MaxPendingSends = DefaultMaxPendingSends
	}
	if l.IdleTimeout <= 0 {
		l.IdleTimeout = DefaultIdleTimeout
	}
	if l.CloseTimeout <= 0 {
		l.CloseTimeout = DefaultCloseTimeout
	}
	if l.UpgradesPerIPBurst <= 0 {
		l.UpgradesPerIPBurst = DefaultUpgradesPerIPBurst
	}
	if l.HandshakeTimeout <= 0 {
		l.HandshakeTimeout = DefaultHandshakeTimeout
	}
	if l.MaxScriptInterrupts <= 0 {
		l.MaxScriptInterrupts = DefaultMaxScriptInterrupts
	}
	if l.MaxGroupsPerSocket <= 0 {
		l.MaxGroupsPerSocket = DefaultMaxGroupsPerSocket
	}
	return l
}

// OnExceed says what becomes of a frame that finds no token in its
// connection's bucket (docs/scripting.md, "Per-connection rate limit").
type OnExceed string

const (
	// ExceedDrop drops and counts the frame; the client is not told.
	ExceedDrop OnExceed = "drop"
	// ExceedClose closes the connection with 1008 "rate limit exceeded".
	ExceedClose OnExceed = "close"
	// ExceedDelay stops reading the connection until a token is free, so
	// TCP pushes back on the client and no frame is lost.
	ExceedDelay OnExceed = "delay"
)
