package main

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestLoopbackEndpoint(t *testing.T) {
	tests := []struct {
		url     string
		want    string // dial address, empty when refused
		errPart string
	}{
		{"ws://127.0.0.1:8080/echo", "127.0.0.1:8080", ""},
		{"ws://127.4.5.6/echo", "127.4.5.6:80", ""},
		{"ws://[::1]:9000/", "[::1]:9000", ""},
		{"ws://localhost:8080/echo", "127.0.0.1:8080", ""},
		{"ws://10.0.0.1:8080/echo", "", "non-loopback"},
		{"ws://192.168.1.20/echo", "", "non-loopback"},
		{"ws://8.8.8.8/echo", "", "non-loopback"},
		{"ws://0.0.0.0:8080/echo", "", "non-loopback"},
		{"ws://[2001:db8::1]/", "", "non-loopback"},
		{"ws://[::ffff:10.0.0.1]/", "", "non-loopback"},
		{"ws:///echo", "", "empty host"},
		{"http://127.0.0.1:8080/echo", "", "scheme"},
		{"wss://127.0.0.1/echo", "", "scheme"},
	}
	for _, tc := range tests {
		t.Run(tc.url, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			ep, err := loopbackEndpoint(ctx, tc.url, "ws")
			if tc.want == "" {
				if err == nil || !strings.Contains(err.Error(), tc.errPart) {
					t.Fatalf("got %v, %v; want an error containing %q", ep, err, tc.errPart)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if ep.Addr != netip.MustParseAddrPort(tc.want) {
				t.Fatalf("dial address %s, want %s", ep.Addr, tc.want)
			}
		})
	}
}

func TestSourceDialerBindsLoopbackAddresses(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	seen := make(chan string, 4)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			seen <- c.RemoteAddr().(*net.TCPAddr).IP.String()
			c.Close()
		}
	}()
	want := []string{"127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.1"}
	for k, ip := range want {
		c, err := sourceDialer(k, 3, time.Second).Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatalf("dial %d: %v", k, err)
		}
		if got := <-seen; got != ip {
			t.Errorf("connection %d came from %s, want %s", k, got, ip)
		}
		c.Close()
	}
}

func TestSourceAddrs(t *testing.T) {
	per := ephemeralPorts() / 2
	v4, v6 := netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("::1")
	tests := []struct {
		name      string
		requested int
		conns     int
		target    netip.Addr
		want      int
		wantErr   bool
	}{
		{"few", 0, 100, v4, 1, false},
		{"just under one address", 0, per, v4, 1, false},
		{"one more", 0, per + 1, v4, 2, false},
		{"explicit", 4, 10, v4, 4, false},
		{"ipv6 auto", 0, 3 * per, v6, 1, false},
		{"ipv6 explicit", 2, 10, v6, 0, true},
	}
	for _, tc := range tests {
		got, err := sourceAddrs(tc.requested, tc.conns, tc.target)
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("%s: got %d, %v; want %d, error %v", tc.name, got, err, tc.want, tc.wantErr)
		}
	}
}
