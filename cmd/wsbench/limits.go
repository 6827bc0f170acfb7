package main

import (
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// fdReserve is how many descriptors a process keeps for itself (stdio,
// epoll, listeners, HTTP clients) besides its sockets.
const fdReserve = 100

// raiseNoFile lifts the soft RLIMIT_NOFILE to the hard limit, says so, and
// warns when the hard limit is too low for the sockets this process needs.
// The hard limit itself cannot be raised without privileges; --procs is the
// way past it. Children, which would repeat the parent, only warn. It
// returns how many sockets this process can hold (0 if unknown).
func raiseNoFile(need int, announce bool) int {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		slog.Warn("cannot read open-files limit", "err", err)
		return 0
	}
	if lim.Cur < lim.Max {
		old := lim.Cur
		lim.Cur = lim.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
			slog.Warn("cannot raise open-files limit", "soft", old, "hard", lim.Max, "err", err)
			return max(int(old)-fdReserve, 0)
		}
		if announce {
			slog.Info("raised open-files limit to the hard limit", "from", old, "to", lim.Cur)
		}
	} else if announce {
		slog.Info("open-files limit is at the hard limit", "limit", lim.Cur)
	}
	if need > 0 && uint64(need+fdReserve) > lim.Cur {
		slog.Warn("open-files limit is too low for the connections of this process; use more --procs",
			"per_process", need, "limit", lim.Cur, "max_conns_per_process", int(lim.Cur)-fdReserve)
	}
	return max(int(lim.Cur)-fdReserve, 0)
}

// ephemeralPorts is the size of the kernel's local port range: how many
// connections one source address can open to one destination address:port.
func ephemeralPorts() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 28232 // Linux default 32768-60999
	}
	f := strings.Fields(string(b))
	if len(f) != 2 {
		return 28232
	}
	lo, err1 := strconv.Atoi(f[0])
	hi, err2 := strconv.Atoi(f[1])
	if err1 != nil || err2 != nil || hi < lo {
		return 28232
	}
	return hi - lo + 1
}

// sourceAddrs decides over how many loopback source addresses the
// connections to target are spread. Each (source, destination) pair has only
// the ephemeral port range, and connect() searches that range for a free
// port: on this machine's 28,232-port range, handshakes/s halved once one
// address held ~70% of it (20k connections) and fell to a third at ~90%, so
// a source address is added for every half range. The whole 127.0.0.0/8 is
// local on Linux, so 127.0.0.2.. work with no setup. IPv6 has only ::1, so
// there it stays at one.
func sourceAddrs(requested, totalConns int, target netip.Addr) (int, error) {
	if !target.Is4() {
		if requested > 1 {
			return 0, fmt.Errorf("--src-addrs needs an IPv4 loopback target, not %s", target)
		}
		return 1, nil
	}
	if requested > 0 {
		return requested, nil
	}
	perAddr := ephemeralPorts() / 2
	return max(1, (totalConns+perAddr-1)/perAddr), nil
}

// ipBindAddressNoPort is IP_BIND_ADDRESS_NO_PORT from linux/in.h (not in
// package syscall). With it, bind() picks only the source address and the
// port is chosen at connect() per destination, so ports are not consumed
// machine-wide by the bind.
const ipBindAddressNoPort = 24

// sourceDialer returns a dialer bound to source address 127.0.0.(1+k%n) for
// global connection index k, or an unbound one when n is 1.
func sourceDialer(k, n int, timeout time.Duration) *net.Dialer {
	d := &net.Dialer{Timeout: timeout}
	if n <= 1 {
		return d
	}
	d.LocalAddr = &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(1+k%n))}
	d.Control = func(_, _ string, c syscall.RawConn) error {
		var serr error
		if err := c.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_IP, ipBindAddressNoPort, 1)
		}); err != nil {
			return err
		}
		return serr
	}
	return d
}
