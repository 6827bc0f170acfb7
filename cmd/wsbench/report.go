package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
)

// Report is the final summary; with --json it is printed as one object.
type Report struct {
	Scenario string   `json:"scenario"`
	Params   *Config  `json:"params"`
	Env      Env      `json:"env"`
	Results  *Results `json:"results"`
}

// Env records where a figure was measured, since figures from different
// machines or Go versions are not comparable.
type Env struct {
	GoVersion  string `json:"go_version"`
	GOMAXPROCS int    `json:"gomaxprocs"`
	NumCPU     int    `json:"num_cpu"`
	Hostname   string `json:"hostname"`
	StartTime  string `json:"start_time"` // RFC 3339
}

func newReport(cfg *Config, started time.Time, res *Results) *Report {
	host, _ := os.Hostname()
	return &Report{
		Scenario: cfg.Scenario,
		Params:   cfg,
		Env: Env{
			GoVersion:  runtime.Version(),
			GOMAXPROCS: runtime.GOMAXPROCS(0),
			NumCPU:     runtime.NumCPU(),
			Hostname:   host,
			StartTime:  started.Format(time.RFC3339),
		},
		Results: res,
	}
}

func writeJSON(w io.Writer, rep *Report) error {
	if err := json.NewEncoder(w).Encode(rep); err != nil {
		return fmt.Errorf("write JSON summary: %w", err)
	}
	return nil
}

// writeText prints the sections that the scenario filled.
func writeText(w io.Writer, rep *Report) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	p, r := rep.Params, rep.Results
	line := func(k, format string, a ...any) { fmt.Fprintf(tw, "%s\t"+format+"\n", append([]any{k}, a...)...) }

	target := p.URL.String()
	if rep.Scenario == "baseline" {
		target = p.Listen
	}
	line("scenario", "%s %s  (procs %d, %.2fs)", rep.Scenario, target, r.Procs, r.ElapsedSec)
	if rep.Scenario != "baseline" {
		c := r.Conns
		line("connections", "%d ok of %d attempted, %d failed%s", c.OK, c.Attempted, c.Failed, countsSuffix(c.Failures))
		line("handshakes", "%.0f/s over %.2fs; latency %s", c.HandshakesPerSec, c.DialSec, fmtLatency(c.Handshake))
		if c.ClosedByPeer > 0 {
			line("closed by peer", "%d", c.ClosedByPeer)
		}
	}
	if m := r.Messages; m != nil && rep.Scenario == "idle" {
		line("warm-up", "sent %d, echoed %d, missing %d, unrelated %d", m.Sent, m.Received, m.Lost, m.Unrelated)
	} else if m != nil && rep.Scenario == "echo" {
		line("messages", "sent %d (%.0f/s), received %d (%.0f/s), lost %d, unrelated %d",
			m.Sent, m.SentPerSec, m.Received, m.RecvPerSec, m.Lost, m.Unrelated)
		if m.RTT != nil {
			line("round trip", "%s", fmtLatency(m.RTT))
		}
	}
	if m := r.Memory; m != nil {
		if len(m.PIDs) > 0 {
			delta := m.RSSAfterBytes - m.RSSBeforeBytes
			line("target RSS", "%s -> %s (+%s) for %d connections: %.0f B = %.2f KiB per connection",
				fmtBytes(m.RSSBeforeBytes), fmtBytes(m.RSSAfterBytes), fmtBytes(delta), m.ConnsHeld, m.RSSPerConnBytes, m.RSSPerConnKiB)
		} else {
			line("target RSS", "not measured (give --pid)")
		}
		line("kernel TCP mem", "%d -> %d pages: %.0f B per connection (both ends on loopback)",
			m.TCPMemBeforePages, m.TCPMemAfterPages, m.TCPMemPerConnB)
	}
	if x := r.REST; x != nil {
		line("sockets", "%d listed, %d matched to this run's connections", x.Listed, x.Matched)
		if x.Batch > 0 {
			line("REST batches", "%d of %d (%.0f/s), %d messages (%.0f/s), %d queued%s", x.Requests, x.Batch, x.PerSec, x.Messages, x.MsgsPerSec, x.OK, countsSuffix(x.Status))
		} else {
			line("REST sends", "%d (%.0f/s), %d 2xx%s", x.Requests, x.PerSec, x.OK, countsSuffix(x.Status))
		}
		line("REST latency", "%s", fmtLatency(x.Latency))
		line("arrivals", "%d (%.0f/s) of %d sent, lost %d, misrouted %d", x.Arrived, x.ArrivedPSec, x.OK, x.Lost, x.Misrouted)
		line("delivery", "%s", fmtLatency(x.Delivery))
	}
	if a := r.Attack; a != nil {
		line("attackers", "%d at %s, %d dials (%d failed), sent %d; closed by the target with%s",
			a.Attackers, p.AttackURL, a.Dials, a.DialFailed, a.Sent, countsSuffix(a.Closes))
	}
	if f := r.Fanout; f != nil {
		writeFanout(line, p, f)
	}
	if s := r.Server; s != nil {
		line("server", "accepted %d, peak %d open, echoed %d (%.0f/s)", s.Accepted, s.PeakConns, s.Echoed, s.PerSec)
		if s.Published > 0 {
			line("fan-out", "%d publishes written to %d members in all", s.Published, s.FannedOut)
		}
	}
	if len(r.Errors) > 0 {
		line("errors", "%s", strings.TrimPrefix(countsSuffix(r.Errors), ": "))
	}
	e := rep.Env
	line("env", "%s, GOMAXPROCS %d, %d CPUs, host %s, started %s", e.GoVersion, e.GOMAXPROCS, e.NumCPU, e.Hostname, e.StartTime)
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write summary: %w", err)
	}
	return nil
}

// writeFanout prints the fanout section.
func writeFanout(line func(k, format string, a ...any), p *Config, f *FanoutStats) {
	kind := "plain WebSocket"
	if p.STOMP {
		kind = "STOMP, SUBSCRIBE to " + p.Group
	}
	line("members", "%d connected (%s), %d in group %q when publishing began", f.Members, kind, f.Ready, p.Group)
	via := p.PubURL
	if p.Publisher == "rest" {
		via = "REST " + p.Admin
	}
	line("publishes", "%d sent (%.1f/s of %g/s asked, over %.2fs) via %s, %d accepted%s",
		f.Published, f.PublishPerSec, p.Rate, f.PublishSec, via, f.Accepted, countsSuffix(f.PublishStatus))
	if f.PublishLatency != nil {
		line("REST latency", "%s", fmtLatency(f.PublishLatency))
	}
	line("deliveries", "%d (%.0f/s; last %.2fs after the first publish), expected %d, lost %d, duplicates %d, out of order %d, unrelated %d",
		f.Deliveries, f.DeliveriesPerSec, f.DeliverySec, f.Expected, f.Lost, f.Duplicates, f.OutOfOrder, f.Unrelated)
	line("latency", "publish to receive %s", fmtLatency(f.Latency))
}

// countsSuffix renders counts as ": a 3, b 1" sorted by key, or "".
func countsSuffix(m map[string]int64) string {
	if len(m) == 0 {
		return ""
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return ": " + strings.Join(parts, ", ")
}

func fmtLatency(l *Latency) string {
	if l == nil {
		return "no samples"
	}
	return fmt.Sprintf("p50 %s  p90 %s  p99 %s  p99.9 %s  max %s  (n=%d)",
		fmtNs(l.P50Ns), fmtNs(l.P90Ns), fmtNs(l.P99Ns), fmtNs(l.P999Ns), fmtNs(l.MaxNs), l.Count)
}

// fmtNs prints a duration with about three significant digits.
func fmtNs(ns int64) string {
	d := time.Duration(ns)
	switch {
	case d >= time.Second:
		d = d.Round(time.Millisecond)
	case d >= time.Millisecond:
		d = d.Round(10 * time.Microsecond)
	case d >= time.Microsecond:
		d = d.Round(10 * time.Nanosecond)
	}
	return d.String()
}

func fmtBytes(b int64) string {
	return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20))
}
