package main

import (
	"bytes"
	"math"
	"strconv"
)

// Messages carry "wsb:<conn>:<seq>:<unix-nanos>:" padded with 'x' to --size,
// so that a reply can be matched to its connection and timed without any
// per-message state, and anything else a target sends (such as "Welcome")
// is recognised and counted apart. Probes of rest-send carry
// "wsbprobe:<nonce>:<index>", and fanout's publishes
// "wsbpub:<seq>:<unix-nanos>:", padded like the others.
const (
	msgPrefix   = "wsb:"
	probePrefix = "wsbprobe:"
	pubPrefix   = "wsbpub:"
)

// appendMsg writes a message into buf[:0] and returns it.
func appendMsg(buf []byte, conn, seq, unixNanos int64, size int) []byte {
	buf = append(buf[:0], msgPrefix...)
	buf = strconv.AppendInt(buf, conn, 10)
	buf = append(buf, ':')
	return appendSeqTime(buf, seq, unixNanos, size)
}

// appendPub writes a publish of fanout into buf[:0] and returns it.
func appendPub(buf []byte, seq, unixNanos int64, size int) []byte {
	return appendSeqTime(append(buf[:0], pubPrefix...), seq, unixNanos, size)
}

// appendSeqTime appends "<seq>:<unix-nanos>:" and the padding to size.
func appendSeqTime(buf []byte, seq, unixNanos int64, size int) []byte {
	buf = strconv.AppendInt(buf, seq, 10)
	buf = append(buf, ':')
	buf = strconv.AppendInt(buf, unixNanos, 10)
	buf = append(buf, ':')
	for len(buf) < size {
		buf = append(buf, 'x')
	}
	return buf
}

// parseMsg reads the fields of a message made by appendMsg.
func parseMsg(b []byte) (conn, seq, unixNanos int64, ok bool) {
	rest, found := bytes.CutPrefix(b, []byte(msgPrefix))
	if !found {
		return 0, 0, 0, false
	}
	var fields [3]int64
	for i := range fields {
		var f []byte
		if f, rest, found = bytes.Cut(rest, []byte{':'}); !found {
			return 0, 0, 0, false
		}
		n, ok := atoi(f)
		if !ok {
			return 0, 0, 0, false
		}
		fields[i] = n
	}
	return fields[0], fields[1], fields[2], true
}

// parsePub reads the fields of a publish made by appendPub.
func parsePub(b []byte) (seq, unixNanos int64, ok bool) {
	rest, found := bytes.CutPrefix(b, []byte(pubPrefix))
	if !found {
		return 0, 0, false
	}
	f, rest, found := bytes.Cut(rest, []byte{':'})
	if seq, ok = atoi(f); !found || !ok {
		return 0, 0, false
	}
	if f, _, found = bytes.Cut(rest, []byte{':'}); !found {
		return 0, 0, false
	}
	unixNanos, ok = atoi(f)
	return seq, unixNanos, ok
}

// atoi parses a non-negative decimal without allocating; it runs once per
// field of every received message.
func atoi(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 19 { // 19 digits cannot overflow a uint64
		return 0, false
	}
	var n uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	return int64(n), n <= math.MaxInt64
}

// probeMsg is the rest-send probe for the index-th listed socket.
func probeMsg(nonce string, index int) string {
	return probePrefix + nonce + ":" + strconv.Itoa(index)
}

// parseProbe returns the index of a probe carrying this run's nonce.
func parseProbe(b []byte, nonce string) (int, bool) {
	rest, found := bytes.CutPrefix(b, []byte(probePrefix+nonce+":"))
	if !found {
		return 0, false
	}
	n, ok := atoi(rest)
	return int(n), ok
}
