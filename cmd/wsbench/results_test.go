package main

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

// latencyOf records the given durations.
func latencyOf(ds ...time.Duration) *Latency {
	h := newHistogram()
	for _, d := range ds {
		h.Record(d)
	}
	return h.Snapshot()
}

// repeat returns n copies of d.
func repeat(d time.Duration, n int) []time.Duration {
	out := make([]time.Duration, n)
	for i := range out {
		out[i] = d
	}
	return out
}

func TestReportJSONRoundTrips(t *testing.T) {
	cfg, err := parseArgs([]string{"echo", "--conns", "7", "--pid", "3,4"}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	res := &Results{
		ElapsedSec: 1.5,
		Procs:      1,
		Conns:      ConnStats{Attempted: 7, OK: 6, Failed: 1, Failures: map[string]int64{"timeout": 1}, Handshake: latencyOf(time.Millisecond, 3*time.Millisecond)},
		Messages:   &MsgStats{Sent: 10, Received: 9, Lost: 1, RTT: latencyOf(time.Microsecond, time.Second)},
		Memory:     &MemStats{PIDs: []int{3, 4}, ConnsHeld: 6, RSSBeforeBytes: 1 << 20, RSSAfterBytes: 2 << 20, RSSPerConnBytes: 174762.67},
		REST:       &RESTStats{Listed: 9, Status: map[string]int64{"204": 5, "error:timeout": 1}, Delivery: latencyOf(time.Millisecond)},
		Server:     &ServerStats{Accepted: 3, Published: 2, FannedOut: 6},
		Fanout:     &FanoutStats{Members: 3, Ready: 3, Published: 2, Accepted: 2, PublishStatus: map[string]int64{"202": 2}, Deliveries: 6, Latency: latencyOf(time.Millisecond)},
		Errors:     map[string]int64{"closed_by_peer": 2},
	}
	rep := newReport(cfg, time.Now(), res)
	var first bytes.Buffer
	if err := writeJSON(&first, rep); err != nil {
		t.Fatal(err)
	}
	if strings.Count(strings.TrimSpace(first.String()), "\n") != 0 {
		t.Fatal("the summary is not one line of JSON")
	}
	var back Report
	if err := json.Unmarshal(first.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back.Results, res) || back.Env != rep.Env || back.Scenario != "echo" {
		t.Fatalf("round trip changed the report:\n got %+v\nwant %+v", back.Results, res)
	}
	var second bytes.Buffer
	if err := writeJSON(&second, &back); err != nil {
		t.Fatal(err)
	}
	if first.String() != second.String() {
		t.Fatalf("re-encoded JSON differs:\n%s\n%s", first.String(), second.String())
	}
}

func TestMergeResultsOfTwoChildren(t *testing.T) {
	fast := repeat(time.Millisecond, 990)
	slow := repeat(100*time.Millisecond, 10)
	children := []*Results{
		{
			ElapsedSec: 2, Procs: 1,
			Conns:    ConnStats{Attempted: 5, OK: 5, HandshakesPerSec: 100, DialSec: 0.05, Handshake: latencyOf(fast[:5]...)},
			Messages: &MsgStats{Sent: 990, Received: 990, SentPerSec: 495, RecvPerSec: 495, Unrelated: 5, RTT: latencyOf(fast...)},
			Errors:   map[string]int64{"closed_by_peer": 1},
		},
		{
			ElapsedSec: 2.5, Procs: 1,
			Conns:    ConnStats{Attempted: 5, OK: 4, Failed: 1, Failures: map[string]int64{"refused": 1}, HandshakesPerSec: 80, DialSec: 0.06, Handshake: latencyOf(slow[:4]...)},
			Messages: &MsgStats{Sent: 12, Received: 10, Lost: 2, SentPerSec: 4.8, RecvPerSec: 4, Unrelated: 4, RTT: latencyOf(slow...)},
			Errors:   map[string]int64{"closed_by_peer": 2, "write_reset": 1},
		},
	}
	// The parent receives children's results as JSON.
	var decoded []*Results
	for _, c := range children {
		b, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		var r Results
		if err := json.Unmarshal(b, &r); err != nil {
			t.Fatal(err)
		}
		decoded = append(decoded, &r)
	}
	m := mergeResults(decoded)

	want := &Results{
		ElapsedSec: 2.5, Procs: 2,
		Conns: ConnStats{Attempted: 10, OK: 9, Failed: 1, Failures: map[string]int64{"refused": 1},
			HandshakesPerSec: 180, DialSec: 0.06, Handshake: latencyOf(append(fast[:5:5], slow[:4]...)...)},
		Messages: &MsgStats{Sent: 1002, Received: 1000, Lost: 2, SentPerSec: 499.8, RecvPerSec: 499, Unrelated: 9,
			RTT: latencyOf(append(fast, slow...)...)},
		Errors: map[string]int64{"closed_by_peer": 3, "write_reset": 1},
	}
	if !reflect.DeepEqual(m, want) {
		t.Fatalf("merged:\n got %+v %+v\nwant %+v %+v", m, m.Messages, want, want.Messages)
	}
	// Percentiles come from merged buckets: 99% of samples are 1ms, so p99
	// is 1ms and p99.9 is 100ms; averaging the children's p99 would give ~50ms.
	if p99 := time.Duration(m.Messages.RTT.P99Ns); p99 > 1010*time.Microsecond {
		t.Errorf("merged p99 = %v, want about 1ms", p99)
	}
	if p999 := time.Duration(m.Messages.RTT.P999Ns); p999 < 99*time.Millisecond {
		t.Errorf("merged p99.9 = %v, want about 100ms", p999)
	}
}

// TestFanoutStatsOfTwoChildrenAndAPublisher: the parent adds its children's
// members and its publisher, then derives loss and the delivery rate.
func TestFanoutStatsOfTwoChildrenAndAPublisher(t *testing.T) {
	const sec = int64(time.Second)
	a := &FanoutStats{Members: 5, Ready: 5, Deliveries: 50, Distinct: 50, LastDeliveryUnixNs: 12 * sec, Latency: latencyOf(repeat(time.Millisecond, 50)...)}
	b := &FanoutStats{Members: 5, Ready: 4, Deliveries: 41, Distinct: 38, Duplicates: 3, OutOfOrder: 1, Unrelated: 2,
		LastDeliveryUnixNs: 14 * sec, Latency: latencyOf(repeat(time.Second, 41)...)}
	pub := &FanoutStats{Published: 11, Accepted: 10, PublishSec: 2, PublishPerSec: 5.5, FirstPublishUnixNs: 10 * sec,
		PublishStatus: map[string]int64{"error_reply": 1}}
	m := mergeResults([]*Results{{Procs: 1, Fanout: a}, {Procs: 1, Fanout: b}}).Fanout.add(pub)
	m.finalize()
	want := FanoutStats{Members: 10, Ready: 9, Published: 11, Accepted: 10, PublishSec: 2, PublishPerSec: 5.5,
		PublishStatus: map[string]int64{"error_reply": 1}, FirstPublishUnixNs: 10 * sec, LastDeliveryUnixNs: 14 * sec,
		Deliveries: 91, Distinct: 88, Expected: 90, Lost: 2, Duplicates: 3, OutOfOrder: 1, Unrelated: 2,
		DeliverySec: 4, DeliveriesPerSec: 91.0 / 4}
	got := *m
	if got.Latency == nil || got.Latency.Count != 91 {
		t.Fatalf("latency %v, want the 91 samples of both children", got.Latency)
	}
	got.Latency = nil
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("merged fan-out:\n got %+v\nwant %+v", got, want)
	}
	// Deliveries that kept up are counted over the publishing window.
	kept := &FanoutStats{Ready: 1, Accepted: 10, Deliveries: 10, Distinct: 10, PublishSec: 2, FirstPublishUnixNs: sec, LastDeliveryUnixNs: sec + sec*19/10}
	kept.finalize()
	if kept.DeliveriesPerSec != 5 {
		t.Errorf("deliveries/s = %v, want 5 (10 over the 2 s window, not the 1.9 s to the last delivery)", kept.DeliveriesPerSec)
	}
}

func TestTextSummaryNamesEachSection(t *testing.T) {
	cfg, err := parseArgs([]string{"rest-send"}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	res := &Results{Procs: 1, REST: &RESTStats{Listed: 3, Matched: 2, Requests: 5, OK: 5, Arrived: 5, Status: map[string]int64{"204": 5}}}
	var out bytes.Buffer
	if err := writeText(&out, newReport(cfg, time.Now(), res)); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"scenario", "connections", "REST sends", "204 5", "arrivals", "env"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, out.String())
		}
	}
}
