package main

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"net/url"
)

// endpoint is a URL whose host was checked to be loopback, with the address
// that every dial must use. Dialing the checked address instead of the host
// name means a later DNS answer cannot redirect the load off the machine.
type endpoint struct {
	URL  string
	Addr netip.AddrPort
}

// loopbackEndpoint parses raw, requires one of the given schemes and a host
// that resolves only to loopback addresses, and returns the first of them.
// wsbench generates load, and load must never leave this machine.
func loopbackEndpoint(ctx context.Context, raw string, schemes ...string) (endpoint, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return endpoint{}, fmt.Errorf("parse %q: %w", raw, err)
	}
	okScheme := false
	for _, s := range schemes {
		okScheme = okScheme || u.Scheme == s
	}
	if !okScheme {
		return endpoint{}, fmt.Errorf("%q: scheme must be one of %v", raw, schemes)
	}
	port := u.Port()
	if port == "" {
		port = "80"
	}
	ap, err := loopbackAddr(ctx, net.JoinHostPort(u.Hostname(), port))
	if err != nil {
		return endpoint{}, fmt.Errorf("%q: %w", raw, err)
	}
	return endpoint{URL: raw, Addr: ap}, nil
}

// loopbackAddr resolves "host:port" and refuses it unless every address the
// host resolves to is a loopback address.
func loopbackAddr(ctx context.Context, hostport string) (netip.AddrPort, error) {
	host, portStr, err := net.SplitHostPort(hostport)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("parse address %q: %w", hostport, err)
	}
	port, err := net.DefaultResolver.LookupPort(ctx, "tcp", portStr)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("parse port %q: %w", portStr, err)
	}
	if host == "" {
		return netip.AddrPort{}, fmt.Errorf("empty host: refusing (only loopback targets are allowed)")
	}
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("resolve %q: %w", host, err)
	}
	if len(addrs) == 0 {
		return netip.AddrPort{}, fmt.Errorf("resolve %q: no addresses", host)
	}
	for _, a := range addrs {
		if !a.Unmap().IsLoopback() {
			return netip.AddrPort{}, fmt.Errorf("host %q resolves to non-loopback %s: refusing (only loopback targets are allowed)", host, a)
		}
	}
	pick := addrs[0].Unmap()
	for _, a := range addrs {
		if a.Unmap().Is4() { // IPv4 loopback lets --src-addrs spread over 127.0.0.0/8
			pick = a.Unmap()
			break
		}
	}
	return netip.AddrPortFrom(pick, uint16(port)), nil
}
