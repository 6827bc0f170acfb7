//go:build !linux

package gateway

import "net"

// peerClosed cannot see a hang-up ahead of queued data on this platform;
// such a connection's backlog is dropped once its read loop reaches the end.
func peerClosed(net.Conn) bool { return false }
