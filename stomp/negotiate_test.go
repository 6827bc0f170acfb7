package stomp_test

import (
	"errors"
	"testing"
	"time"

	"github.com/wsgw/wsgw/stomp"
)

func TestNegotiateVersion(t *testing.T) {
	tests := []struct {
		accept string
		want   stomp.Version
		err    string
	}{
		{"", stomp.V10, ""},
		{"1.0", stomp.V10, ""},
		{"1.1", stomp.V11, ""},
		{"1.2", stomp.V12, ""},
		{"1.0,1.1,1.2", stomp.V12, ""},
		{"1.2,1.0", stomp.V12, ""},
		{"1.0, 1.1", stomp.V11, ""},
		{"1.1,2.0", stomp.V11, ""},
		{"2.0", 0, `unsupported version: accept-version "2.0" lists none of 1.0,1.1,1.2`},
		{",", 0, `unsupported version: accept-version "," lists none of 1.0,1.1,1.2`},
	}
	for _, tt := range tests {
		v, err := stomp.NegotiateVersion(tt.accept)
		if tt.err != "" {
			if !errors.Is(err, stomp.ErrVersion) || err.Error() != tt.err {
				t.Errorf("NegotiateVersion(%q) error = %v, want %q", tt.accept, err, tt.err)
			}
			continue
		}
		if err != nil || v != tt.want {
			t.Errorf("NegotiateVersion(%q) = %v, %v; want %v", tt.accept, v, err, tt.want)
		}
	}
	if got := stomp.V11.String(); got != "1.1" {
		t.Errorf("V11.String() = %q", got)
	}
	if got := stomp.Version(0).String(); got != "" {
		t.Errorf("Version(0).String() = %q", got)
	}
}

func TestParseHeartBeat(t *testing.T) {
	tests := []struct {
		in   string
		want stomp.HeartBeat
		ok   bool
	}{
		{"", stomp.HeartBeat{}, true},
		{"0,0", stomp.HeartBeat{}, true},
		{"10000,5000", stomp.HeartBeat{Send: 10 * time.Second, Receive: 5 * time.Second}, true},
		{"007,1", stomp.HeartBeat{Send: 7 * time.Millisecond, Receive: time.Millisecond}, true},
		{"9223372036854,0", stomp.HeartBeat{Send: 9223372036854 * time.Millisecond}, true},
		{"9223372036855,0", stomp.HeartBeat{}, false},
		{"10000", stomp.HeartBeat{}, false},
		{"10000,", stomp.HeartBeat{}, false},
		{",10000", stomp.HeartBeat{}, false},
		{"1,2,3", stomp.HeartBeat{}, false},
		{"1, 2", stomp.HeartBeat{}, false},
		{"-1,0", stomp.HeartBeat{}, false},
		{"10s,10s", stomp.HeartBeat{}, false},
	}
	for _, tt := range tests {
		got, err := stomp.ParseHeartBeat(tt.in)
		if tt.ok != (err == nil) || got != tt.want {
			t.Errorf("ParseHeartBeat(%q) = %+v, %v", tt.in, got, err)
		}
		if err != nil && !errors.Is(err, stomp.ErrHeartBeat) {
			t.Errorf("ParseHeartBeat(%q) error %v does not wrap ErrHeartBeat", tt.in, err)
		}
	}
	_, err := stomp.ParseHeartBeat("1,x")
	if want := `invalid heart-beat: "1,x" is not two millisecond counts like "10000,10000"`; err == nil || err.Error() != want {
		t.Errorf("error = %v, want %q", err, want)
	}
	if got := (stomp.HeartBeat{Send: 10 * time.Second, Receive: 1500 * time.Millisecond}).String(); got != "10000,1500" {
		t.Errorf("String() = %q", got)
	}
}

func TestParseHeartBeatConfig(t *testing.T) {
	tests := []struct {
		in   string
		want stomp.HeartBeat
		err  string
	}{
		{"10s,10s", stomp.HeartBeat{Send: 10 * time.Second, Receive: 10 * time.Second}, ""},
		{"0,1m", stomp.HeartBeat{Receive: time.Minute}, ""},
		{" 500ms , 0s ", stomp.HeartBeat{Send: 500 * time.Millisecond}, ""},
		{"10s", stomp.HeartBeat{}, `invalid heart-beat: "10s" is not two durations like "10s,10s"`},
		{"", stomp.HeartBeat{}, `invalid heart-beat: "" is not two durations like "10s,10s"`},
		{"10,10", stomp.HeartBeat{}, `invalid heart-beat: "10,10" is not two durations like "10s,10s": time: missing unit in duration "10"`},
		{"10s,-1s", stomp.HeartBeat{}, `invalid heart-beat: "10s,-1s" has a negative duration`},
		{"1500us,0", stomp.HeartBeat{}, `invalid heart-beat: "1500us,0" is not in whole milliseconds`},
		{"1s,2s,3s", stomp.HeartBeat{}, `invalid heart-beat: "1s,2s,3s" is not two durations like "10s,10s": time: unknown unit "s," in duration "2s,3s"`},
	}
	for _, tt := range tests {
		got, err := stomp.ParseHeartBeatConfig(tt.in)
		if tt.err != "" {
			if !errors.Is(err, stomp.ErrHeartBeat) || err.Error() != tt.err {
				t.Errorf("ParseHeartBeatConfig(%q) error = %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseHeartBeatConfig(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
	}
}

func TestNegotiateHeartBeat(t *testing.T) {
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	tests := []struct {
		name           string
		server, client stomp.HeartBeat
		send, expect   time.Duration
	}{
		{"both ways, the larger wins", stomp.HeartBeat{Send: ms(10000), Receive: ms(10000)}, stomp.HeartBeat{Send: ms(4000), Receive: ms(20000)}, ms(20000), ms(10000)},
		{"client slower to send", stomp.HeartBeat{Send: ms(10000), Receive: ms(10000)}, stomp.HeartBeat{Send: ms(30000), Receive: ms(5000)}, ms(10000), ms(30000)},
		{"client wants none", stomp.HeartBeat{Send: ms(10000), Receive: ms(10000)}, stomp.HeartBeat{Send: ms(5000)}, 0, ms(10000)},
		{"client sends none", stomp.HeartBeat{Send: ms(10000), Receive: ms(10000)}, stomp.HeartBeat{Receive: ms(5000)}, ms(10000), 0},
		{"server sends none", stomp.HeartBeat{Receive: ms(10000)}, stomp.HeartBeat{Send: ms(1000), Receive: ms(1000)}, 0, ms(10000)},
		{"server wants none", stomp.HeartBeat{Send: ms(10000)}, stomp.HeartBeat{Send: ms(1000), Receive: ms(1000)}, ms(10000), 0},
		{"no client header", stomp.HeartBeat{Send: ms(10000), Receive: ms(10000)}, stomp.HeartBeat{}, 0, 0},
	}
	for _, tt := range tests {
		send, expect := stomp.NegotiateHeartBeat(tt.server, tt.client)
		if send != tt.send || expect != tt.expect {
			t.Errorf("%s: send %v expect %v, want %v %v", tt.name, send, expect, tt.send, tt.expect)
		}
	}
}
