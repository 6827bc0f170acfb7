package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
)

func TestEchoAgainstBaseline(t *testing.T) {
	tests := []struct {
		name string
		rate string
	}{
		{"ping-pong", "0"},
		{"fixed rate", "40"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := startBaseline(t)
			rep := runJSON(t, "echo", "--url", "ws://"+s.Addr()+"/echo", "--conns", "20",
				"--rate", tc.rate, "--size", "48", "--duration", "300ms", "--drain", "5s")
			r := rep.Results
			if r.Conns.OK != 20 || r.Conns.Failed != 0 {
				t.Fatalf("conns ok/failed = %d/%d, want 20/0 (%v)", r.Conns.OK, r.Conns.Failed, r.Conns.Failures)
			}
			m := r.Messages
			if m.Sent == 0 || m.Sent != m.Received || m.Lost != 0 {
				t.Fatalf("sent %d, received %d, lost %d: want equal, non-zero, none lost", m.Sent, m.Received, m.Lost)
			}
			if m.RTT == nil || m.RTT.Count != uint64(m.Received) {
				t.Fatalf("rtt samples %v, want one per received message (%d)", m.RTT, m.Received)
			}
			if m.Unrelated != 20 {
				t.Errorf("unrelated = %d, want 20 (one Welcome per connection)", m.Unrelated)
			}
			if len(r.Errors) != 0 || r.Conns.ClosedByPeer != 0 {
				t.Errorf("errors %v, closed by peer %d, want none", r.Errors, r.Conns.ClosedByPeer)
			}
		})
	}
}

func TestConnectAgainstBaseline(t *testing.T) {
	s := startBaseline(t)
	rep := runJSON(t, "connect", "--url", "ws://"+s.Addr()+"/", "--conns", "20", "--concurrency", "4")
	c := rep.Results.Conns
	if c.Attempted != 20 || c.OK != 20 || c.Failed != 0 || len(c.Failures) != 0 {
		t.Fatalf("attempted/ok/failed = %d/%d/%d (%v), want 20/20/0", c.Attempted, c.OK, c.Failed, c.Failures)
	}
	if c.Handshake == nil || c.Handshake.Count != 20 {
		t.Fatalf("handshake samples = %v, want 20", c.Handshake)
	}
	if len(rep.Results.Errors) != 0 {
		t.Errorf("errors = %v", rep.Results.Errors)
	}
}

// TestRESTSendAgainstBaseline: the baseline serves the list, send and batch
// routes of wsgw's admin API, so rest-send maps every connection and
// delivers every message it sends, with either client.
func TestRESTSendAgainstBaseline(t *testing.T) {
	s := startBaseline(t)
	for _, client := range []string{restClientLean, restClientNetHTTP} {
		for _, batch := range []string{"0", "5"} {
			t.Run(client+"/batch="+batch, func(t *testing.T) {
				rep := runJSON(t, "rest-send", "--url", "ws://"+s.Addr()+"/echo", "--admin", "http://"+s.Addr(),
					"--rest-client", client, "--batch", batch,
					"--conns", "20", "--rest-concurrency", "4", "--rate", "200", "--duration", "300ms", "--drain", "5s")
				r := rep.Results.REST
				if r == nil || r.Matched != 20 || r.Requests == 0 || r.OK != r.Messages || r.Arrived != r.OK || r.Lost != 0 || r.Misrouted != 0 {
					t.Fatalf("rest-send against the baseline: %+v; want all 20 mapped, every message accepted and delivered", r)
				}
			})
		}
	}
}

func TestConnectReportsRefusedConnections(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there any more
	rep := runJSON(t, "connect", "--url", "ws://"+addr+"/", "--conns", "3")
	c := rep.Results.Conns
	if c.OK != 0 || c.Failed != 3 || c.Failures["refused"] != 3 {
		t.Fatalf("ok %d, failed %d, failures %v: want 3 refused", c.OK, c.Failed, c.Failures)
	}
}

func TestIdleHoldsAndWarmsEveryConnection(t *testing.T) {
	s := startBaseline(t)
	rep := runJSON(t, "idle", "--url", "ws://"+s.Addr()+"/", "--conns", "10", "--hold", "0s", "--settle", "0s", "--drain", "5s")
	r := rep.Results
	if r.Memory == nil || r.Memory.ConnsHeld != 10 {
		t.Fatalf("memory = %+v, want 10 connections held", r.Memory)
	}
	if m := r.Messages; m.Sent != 10 || m.Received != 10 {
		t.Fatalf("warm-up sent/received = %d/%d, want 10/10", m.Sent, m.Received)
	}
}

func TestRefusesNonLoopbackTargets(t *testing.T) {
	tests := []struct {
		name string
		args []string
	}{
		{"private url", []string{"echo", "--url", "ws://10.1.2.3:8080/echo"}},
		{"public url", []string{"connect", "--url", "ws://8.8.8.8/"}},
		{"private admin", []string{"rest-send", "--url", "ws://127.0.0.1:1/", "--admin", "http://192.168.0.10:9090"}},
		{"public listen", []string{"baseline", "--listen", "1.1.1.1:8089"}},
		{"second url", []string{"connect", "--url", "ws://127.0.0.1:1/", "--url", "ws://10.0.0.1:1/"}},
		{"public pub-url", []string{"fanout", "--url", "ws://127.0.0.1:1/sub", "--rate", "1", "--pub-url", "ws://8.8.8.8/pub"}},
		{"private admin of a REST publisher", []string{"fanout", "--url", "ws://127.0.0.1:1/sub", "--rate", "1", "--publisher", "rest", "--admin", "http://10.0.0.1:9090"}},
		{"own pid", []string{"idle", "--url", "ws://127.0.0.1:1/", "--pid", strconv.Itoa(os.Getpid())}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), tc.args, &stdout, &stderr)
			if err == nil {
				t.Fatalf("wsbench %v ran; want it refused", tc.args)
			}
			if stdout.Len() != 0 {
				t.Errorf("printed a summary for a refused run: %s", stdout.String())
			}
			if tc.name != "own pid" && !strings.Contains(err.Error(), "loopback") {
				t.Errorf("error %q does not mention loopback", err)
			}
		})
	}
}

func TestProcsRunsChildrenAndAggregates(t *testing.T) {
	s := startBaseline(t)
	t.Setenv(execEnv, "1") // children are this test binary running main
	rep := runJSON(t, "echo", "--url", "ws://"+s.Addr()+"/", "--conns", "6", "--procs", "2",
		"--duration", "200ms", "--drain", "5s")
	r := rep.Results
	if r.Procs != 2 {
		t.Fatalf("procs = %d, want 2", r.Procs)
	}
	if r.Conns.OK != 6 || r.Conns.Handshake.Count != 6 {
		t.Fatalf("conns ok %d, handshakes %d, want 6 over both children", r.Conns.OK, r.Conns.Handshake.Count)
	}
	if m := r.Messages; m.Sent == 0 || m.Sent != m.Received || m.RTT.Count != uint64(m.Received) || m.Unrelated != 6 {
		t.Fatalf("messages %+v: want sent == received == rtt samples, 6 unrelated", m)
	}
}

func TestEchoWithAttackers(t *testing.T) {
	s := startBaseline(t)
	rep := runJSON(t, "echo", "--url", "ws://"+s.Addr()+"/echo", "--conns", "2", "--rate", "20",
		"--duration", "500ms", "--attackers", "3", "--attack-url", "ws://"+s.Addr()+"/spin", "--attack-rate", "20")
	a := rep.Results.Attack
	if a == nil || a.Attackers != 3 || a.Dials < 3 || a.DialFailed != 0 || a.Sent < 3 {
		t.Fatalf("attack stats %+v: want 3 attackers that dialed and sent", a)
	}
	if m := rep.Results.Messages; m.Sent == 0 || m.Lost != 0 {
		t.Fatalf("echo clients sent %d, lost %d: want some, none lost", m.Sent, m.Lost)
	}
}
