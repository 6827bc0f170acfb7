// Package metrics holds the gateway's Prometheus collectors, shared by the
// packages that record them, so that /metrics has one consistent set of names.
package metrics

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the gateway's collectors, one per name /metrics serves.
// Create them with New.
type Metrics struct {
	ConnectionsOpen     prometheus.Gauge
	ConnectionsOpened   prometheus.Counter
	ConnectionsClosed   *prometheus.CounterVec // by close code
	ConnectionsRejected *prometheus.CounterVec // upgrades refused, by reason
	MessagesIn          prometheus.Counter
	MessagesOut         prometheus.Counter
	MessagesDropped     prometheus.Counter // refused by the per-connection rate limit
	MessagesDelayed     prometheus.Counter // held back by the rate limit (on_exceed: delay)
	SendsRefused        *prometheus.CounterVec
	ScriptRuns          *prometheus.CounterVec // by event type, script, version
	ScriptErrors        *prometheus.CounterVec // by event type, script, version
	EndpointVersion     *prometheus.GaugeVec   // the version each endpoint runs now
	ScriptTimeouts      prometheus.Counter
	// ScriptMemory counts runs interrupted for allocating past script_memory.
	ScriptMemory prometheus.Counter
	// EventsSkipped counts data events not run because their connection had
	// closed or its client was gone by the time a runtime was free.
	EventsSkipped  prometheus.Counter
	ScriptDuration prometheus.Histogram
	StoreErrors    *prometheus.CounterVec // by operation
	NodesPurged    *prometheus.CounterVec // dead nodes whose sockets were purged, by reason
	SocketsPurged  prometheus.Counter     // registry records of dead nodes' sockets removed

	// Users and groups (docs/scripting.md, "State, users and groups").
	OpsRefused *prometheus.CounterVec // socket service calls refused, by operation and error type
	// StateRefused counts events whose websocketInfo.state was over
	// limits.max_state_bytes, or had no JSON form.
	StateRefused prometheus.Counter
	// Fanout counts frames this node queued to its members for publishes,
	// broadcasts and sends to users.
	Fanout prometheus.Counter

	// Hardening: see docs/security.md.
	Panics       prometheus.Counter     // Go panics recovered on a connection
	AuthFailures *prometheus.CounterVec // by reason: no_token, invalid, unavailable, expired
}

// New creates the collectors and registers them with reg (nil: not registered,
// for tests and embedding).
func New(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		ConnectionsOpen: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "wsgw_connections_open", Help: "WebSocket connections open on this node.",
		}),
		ConnectionsOpened: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "wsgw_connections_opened_total", Help: "WebSocket connections opened.",
		}),
		ConnectionsClosed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wsgw_connections_closed_total", Help: "WebSocket connections closed, by close code.",
		}, []string{"code"}),
		ConnectionsRejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wsgw_upgrades_rejected_total", Help: "Upgrade requests refused before upgrading, by reason.",
		}, []string{"reason"}),
		MessagesIn: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "wsgw_messages_in_total", Help: "Data frames received from clients.",
		}),
		MessagesOut: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "wsgw_messages_out_total", Help: "Data frames written to clients.",
		}),
		MessagesDropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "wsgw_messages_dropped_total", Help: "Data frames dropped by the per-connection rate limit.",
		}),
		SendsRefused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wsgw_sends_refused_total", Help: "Outbound frames refused, by reason (closing, backpressure).",
		}, []string{"reason"}),
		ScriptRuns: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wsgw_script_runs_total", Help: "Script runs, by event type, script (endpoint path or event_handler) and deployed version.",
		}, []string{"event", "script", "version"}),
		ScriptErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wsgw_script_errors_total", Help: "Script runs that threw or were interrupted, by event type, script and version.",
		}, []string{"event", "script", "version"}),
		ScriptTimeouts: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "wsgw_script_timeouts_total", Help: "Script runs interrupted for exceeding script_timeout.",
		}),
		ScriptMemory: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "wsgw_script_memory_exceeded_total", Help: "Script runs interrupted for allocating more than limits.script_memory.",
		}),
		EventsSkipped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "wsgw_script_events_skipped_total", Help: "Data events not run because their connection had closed or its client was gone.",
		}),
		ScriptDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "wsgw_script_duration_seconds",
			Help:    "Time a script run takes, including the wait for a pooled runtime.",
			Buckets: []float64{.00001, .00005, .0001, .00025, .0005, .001, .0025, .005, .01, .05, .1, .5, 1, 5},
		}),
		EndpointVersion: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "wsgw_script_version", Help: "The deployed version of each script (endpoint path, or event_handler).",
		}, []string{"script"}),
		StoreErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wsgw_store_errors_total", Help: "Store operations that failed, by operation.",
		}, []string{"op"}),
		NodesPurged: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wsgw_store_nodes_purged_total",
			Help: "Nodes whose sockets were purged from the registry, by reason (heartbeat_expired, no_subscriber).",
		}, []string{"reason"}),
		SocketsPurged: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "wsgw_store_sockets_purged_total", Help: "Registry records of dead nodes' sockets removed.",
		}),
	}
	m.OpsRefused = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "wsgw_ops_refused_total",
		Help: "Socket service calls (scripts' Websocket.* and the REST API) refused, by operation and error type.",
	}, []string{"op", "type"})
	m.StateRefused = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "wsgw_state_refused_total",
		Help: "Events whose websocketInfo.state was not saved: over limits.max_state_bytes, or not JSON.",
	})
	m.Fanout = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "wsgw_fanout_frames_total",
		Help: "Frames queued to this node's sockets by publishes, broadcasts and sends to users.",
	})
	m.MessagesDelayed = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "wsgw_messages_delayed_total",
		Help: "Data frames the per-connection rate limit held back until a token was free (on_exceed: delay).",
	})
	m.Panics = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "wsgw_panics_recovered_total", Help: "Go panics recovered on a connection, which was closed with 1011.",
	})
	m.AuthFailures = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "wsgw_auth_failures_total",
		Help: "Connections closed for their token, by reason: no_token (4001), invalid (4002), unavailable (1013: the identity provider could not be asked), expired (4003).",
	}, []string{"reason"})
	if reg != nil {
		reg.MustRegister(m.ConnectionsOpen, m.ConnectionsOpened, m.ConnectionsClosed, m.ConnectionsRejected,
			m.MessagesIn, m.MessagesOut, m.MessagesDropped, m.SendsRefused,
			m.ScriptRuns, m.ScriptErrors, m.ScriptTimeouts, m.ScriptMemory, m.EventsSkipped, m.ScriptDuration, m.EndpointVersion, m.StoreErrors,
			m.NodesPurged, m.SocketsPurged, m.Panics, m.AuthFailures)
		reg.MustRegister(m.MessagesDelayed, m.OpsRefused, m.StateRefused, m.Fanout)
	}
	return m
}

// Closed counts one connection closed with code.
func (m *Metrics) Closed(code int) {
	m.ConnectionsClosed.WithLabelValues(strconv.Itoa(code)).Inc()
}
