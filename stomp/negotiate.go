package stomp

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Errors of a CONNECT frame's accept-version and heart-beat headers, and of
// a configured heart-beat pair.
var (
	ErrVersion   = errors.New("unsupported version")
	ErrHeartBeat = errors.New("invalid heart-beat")
)

// NegotiateVersion picks the highest of 1.0, 1.1 and 1.2 that a CONNECT's
// accept-version header lists (comma-separated; unknown versions are
// skipped). An absent or empty header means a 1.0 client.
func NegotiateVersion(acceptVersion string) (Version, error) {
	if acceptVersion == "" {
		return V10, nil
	}
	var best Version
	for v := range strings.SplitSeq(acceptVersion, ",") {
		switch strings.TrimSpace(v) {
		case "1.0":
			best = max(best, V10)
		case "1.1":
			best = max(best, V11)
		case "1.2":
			best = max(best, V12)
		}
	}
	if best == 0 {
		return 0, fmt.Errorf("%w: accept-version %s lists none of %s", ErrVersion, quote(acceptVersion), SupportedVersions)
	}
	return best, nil
}

// HeartBeat is one side's heart-beat pair, as the heart-beat header carries
// it in milliseconds.
type HeartBeat struct {
	// Send is the smallest interval at which this side can send heart-beats;
	// 0: it cannot send them.
	Send time.Duration
	// Receive is the interval at which this side wants to get heart-beats;
	// 0: it does not want them.
	Receive time.Duration
}

// String returns the pair as a heart-beat header value, "10000,10000".
func (h HeartBeat) String() string {
	return strconv.FormatInt(h.Send.Milliseconds(), 10) + "," + strconv.FormatInt(h.Receive.Milliseconds(), 10)
}

// ParseHeartBeat reads a heart-beat header value: two non-negative
// millisecond counts, "cx,cy". An absent or empty header is 0,0.
func ParseHeartBeat(header string) (HeartBeat, error) {
	if header == "" {
		return HeartBeat{}, nil
	}
	sx, sy, ok := strings.Cut(header, ",")
	x, okx := millis(sx)
	y, oky := millis(sy)
	if !ok || !okx || !oky {
		return HeartBeat{}, fmt.Errorf("%w: %s is not two millisecond counts like \"10000,10000\"", ErrHeartBeat, quote(header))
	}
	return HeartBeat{Send: x, Receive: y}, nil
}

// millis reads a count of milliseconds that a time.Duration can hold.
func millis(s string) (time.Duration, bool) {
	if s == "" {
		return 0, false
	}
	n := int64(0)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		if n = n*10 + int64(c-'0'); n > math.MaxInt64/int64(time.Millisecond) {
			return 0, false
		}
	}
	return time.Duration(n) * time.Millisecond, true
}

// ParseHeartBeatConfig reads an endpoint's configured pair: two Go
// durations, "10s,10s" (what the server can send, what it wants), each
// zero or more and a whole number of milliseconds.
func ParseHeartBeatConfig(s string) (HeartBeat, error) {
	sx, sy, ok := strings.Cut(s, ",")
	if !ok {
		return HeartBeat{}, fmt.Errorf("%w: %s is not two durations like \"10s,10s\"", ErrHeartBeat, quote(s))
	}
	var pair [2]time.Duration
	for i, part := range [2]string{sx, sy} {
		d, err := time.ParseDuration(strings.TrimSpace(part))
		switch {
		case err != nil:
			return HeartBeat{}, fmt.Errorf("%w: %s is not two durations like \"10s,10s\": %v", ErrHeartBeat, quote(s), err)
		case d < 0:
			return HeartBeat{}, fmt.Errorf("%w: %s has a negative duration", ErrHeartBeat, quote(s))
		case d%time.Millisecond != 0:
			return HeartBeat{}, fmt.Errorf("%w: %s is not in whole milliseconds", ErrHeartBeat, quote(s))
		}
		pair[i] = d
	}
	return HeartBeat{Send: pair[0], Receive: pair[1]}, nil
}

// NegotiateHeartBeat applies the STOMP rule to the server's and the client's
// pairs: send is the interval at which the server sends heart-beats,
// expect the interval at which it gets them from the client; 0 means none.
func NegotiateHeartBeat(server, client HeartBeat) (send, expect time.Duration) {
	if server.Send != 0 && client.Receive != 0 {
		send = max(server.Send, client.Receive)
	}
	if client.Send != 0 && server.Receive != 0 {
		expect = max(client.Send, server.Receive)
	}
	return send, expect
}
