package handlers

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// statsInterval is how often a stats stream samples the metrics.
const statsInterval = time.Second

// statsRetry asks EventSource clients to reconnect after two seconds.
const statsRetry = "retry: 2000\n\n"

// The metrics a stats sample reads, by name; counters with labels are summed.
const (
	metricOpen    = "wsgw_connections_open"
	metricOpened  = "wsgw_connections_opened_total"
	metricClosed  = "wsgw_connections_closed_total"
	metricIn      = "wsgw_messages_in_total"
	metricOut     = "wsgw_messages_out_total"
	metricDropped = "wsgw_messages_dropped_total"
)

// Stats is one sample of a stats stream: this node's counters and their rates
// since the previous sample.
type Stats struct {
	Time                   time.Time `json:"time"`
	ConnectionsOpen        int64     `json:"connections_open"`
	ConnectionsOpenedTotal int64     `json:"connections_opened_total"`
	ConnectionsClosedTotal int64     `json:"connections_closed_total"`
	MessagesInTotal        int64     `json:"messages_in_total"`
	MessagesOutTotal       int64     `json:"messages_out_total"`
	MessagesDroppedTotal   int64     `json:"messages_dropped_total"`
	// Seconds is the time since the previous sample, which the rates are
	// over; 0 on the first sample, whose rates are 0.
	Seconds   float64   `json:"seconds"`
	PerSecond StatRates `json:"per_second"`
}

// StatRates are a sample's counters per second since the previous sample.
type StatRates struct {
	ConnectionsOpened float64 `json:"connections_opened"`
	ConnectionsClosed float64 `json:"connections_closed"`
	MessagesIn        float64 `json:"messages_in"`
	MessagesOut       float64 `json:"messages_out"`
	MessagesDropped   float64 `json:"messages_dropped"`
}

// statsStream serves GET /api/v1/stats/stream: a Server-Sent Events stream of
// one Stats sample a second, read from g, until the client goes or done closes.
func statsStream(g prometheus.Gatherer, done <-chan struct{}) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The admin listener's WriteTimeout bounds ordinary answers; a stream
		// lives longer, so each event gets a write deadline of its own.
		rc := http.NewResponseController(w)
		h := w.Header()
		h.Set("Content-Type", "text/event-stream")
		h.Set("Cache-Control", "no-store")
		h.Set("X-Accel-Buffering", "no") // proxies such as nginx would hold the events back
		w.WriteHeader(http.StatusOK)

		if !writeEvent(rc, w, []byte(statsRetry)) {
			return
		}
		tick := time.NewTicker(statsInterval)
		defer tick.Stop()
		var prev *Stats
		for {
			s := sampleStats(g, prev)
			prev = &s
			frame := append([]byte("event: stats\ndata: "), mustJSON(s)...)
			if !writeEvent(rc, w, append(frame, "\n\n"...)) {
				return
			}
			select {
			case <-tick.C:
			case <-r.Context().Done():
				return
			case <-done:
				return
			}
		}
	})
}

// writeEvent writes and flushes one event within a deadline of its own,
// answering false once the client is gone.
func writeEvent(rc *http.ResponseController, w http.ResponseWriter, event []byte) bool {
	_ = rc.SetWriteDeadline(time.Now().Add(statsInterval + 10*time.Second))
	if _, err := w.Write(event); err != nil {
		return false
	}
	return rc.Flush() == nil
}

// sampleStats reads the counters from g and the rates since prev (nil for
// the first sample). A gatherer error leaves out what it could not collect.
func sampleStats(g prometheus.Gatherer, prev *Stats) Stats {
	families, _ := g.Gather()
	sums := map[string]float64{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			sums[f.GetName()] += metricValue(f.GetType(), m)
		}
	}
	s := Stats{
		Time:                   time.Now().UTC(),
		ConnectionsOpen:        int64(sums[metricOpen]),
		ConnectionsOpenedTotal: int64(sums[metricOpened]),
		ConnectionsClosedTotal: int64(sums[metricClosed]),
		MessagesInTotal:        int64(sums[metricIn]),
		MessagesOutTotal:       int64(sums[metricOut]),
		MessagesDroppedTotal:   int64(sums[metricDropped]),
	}
	if prev == nil {
		return s
	}
	s.Seconds = s.Time.Sub(prev.Time).Seconds()
	if s.Seconds <= 0 {
		return s
	}
	rate := func(now, before int64) float64 { return float64(max(now-before, 0)) / s.Seconds }
	s.PerSecond = StatRates{
		ConnectionsOpened: rate(s.ConnectionsOpenedTotal, prev.ConnectionsOpenedTotal),
		ConnectionsClosed: rate(s.ConnectionsClosedTotal, prev.ConnectionsClosedTotal),
		MessagesIn:        rate(s.MessagesInTotal, prev.MessagesInTotal),
		MessagesOut:       rate(s.MessagesOutTotal, prev.MessagesOutTotal),
		MessagesDropped:   rate(s.MessagesDroppedTotal, prev.MessagesDroppedTotal),
	}
	return s
}

func metricValue(t dto.MetricType, m *dto.Metric) float64 {
	switch t {
	case dto.MetricType_COUNTER:
		return m.GetCounter().GetValue()
	case dto.MetricType_GAUGE:
		return m.GetGauge().GetValue()
	}
	return 0
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // Stats has only numbers and a time
	}
	return b
}
