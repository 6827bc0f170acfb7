package main

import (
	"io"
	"testing"
)

func TestShareOfSplitsEvenly(t *testing.T) {
	tests := []struct {
		scenario        string
		conns, procs    int
		rate            float64
		restConc        int
		wantConns       []int
		wantOffsets     []int
		wantRate        float64
		wantRESTConcSum int
	}{
		{"connect", 10, 3, 300, 16, []int{4, 3, 3}, []int{0, 4, 7}, 100, 16},
		{"echo", 50000, 3, 5, 16, []int{16667, 16667, 16666}, []int{0, 16667, 33334}, 5, 16},
		{"rest-send", 4, 4, 0, 2, []int{1, 1, 1, 1}, []int{0, 1, 2, 3}, 0, 4}, // at least one client each
		{"fanout", 10000, 2, 5, 16, []int{5000, 5000}, []int{0, 5000}, 5, 16}, // one publisher: its rate is not split
	}
	for _, tc := range tests {
		cfg := &Config{Scenario: tc.scenario, Conns: tc.conns, Procs: tc.procs, Rate: tc.rate, RESTConcurrency: tc.restConc}
		restSum := 0
		for i := range tc.procs {
			s := cfg.shareOf(i)
			if s.Conns != tc.wantConns[i] || s.Offset != tc.wantOffsets[i] || s.Rate != tc.wantRate {
				t.Errorf("%s share %d = %+v, want conns %d offset %d rate %v", tc.scenario, i, s, tc.wantConns[i], tc.wantOffsets[i], tc.wantRate)
			}
			restSum += s.RESTConc
		}
		if restSum != tc.wantRESTConcSum {
			t.Errorf("%s: REST clients sum to %d, want %d", tc.scenario, restSum, tc.wantRESTConcSum)
		}
	}
}

func TestParseArgs(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr bool
		check   func(*Config) bool
	}{
		{"defaults", []string{"echo"}, false, func(c *Config) bool { return c.Conns == 100 && c.Procs == 1 && c.Child == -1 }},
		{"baseline runs until stopped", []string{"baseline"}, false, func(c *Config) bool { return c.Duration == 0 }},
		{"baseline with duration", []string{"baseline", "--duration", "3s"}, false, func(c *Config) bool { return c.Duration.String() == "3s" }},
		{"pids", []string{"idle", "--pid", "12,34"}, false, func(c *Config) bool { return len(c.PIDs) == 2 && c.PIDs[1] == 34 }},
		{"unknown scenario", []string{"flood"}, true, nil},
		{"no scenario", nil, true, nil},
		{"zero conns", []string{"connect", "--conns", "0"}, true, nil},
		{"echo needs a duration", []string{"echo", "--duration", "0s"}, true, nil},
		{"more procs than conns", []string{"connect", "--conns", "2", "--procs", "3"}, true, nil},
		{"stray argument", []string{"connect", "extra"}, true, nil},
		{"fanout defaults", []string{"fanout", "--rate", "5", "--url", "ws://127.0.0.1:18080/sub"}, false, func(c *Config) bool {
			return c.Group == "bench" && c.Publisher == "ws" && c.PubURL == "ws://127.0.0.1:18080/pub?group=bench"
		}},
		{"fanout STOMP defaults", []string{"fanout", "--stomp", "--rate", "5", "--url", "ws://127.0.0.1:18080/stomp"}, false, func(c *Config) bool {
			return c.Group == "/topic/bench" && c.PubURL == "ws://127.0.0.1:18080/pub?group=%2Ftopic%2Fbench"
		}},
		{"fanout with a given publisher URL", []string{"fanout", "--rate", "5", "--pub-url", "ws://127.0.0.1:1/p"}, false, func(c *Config) bool {
			return c.PubURL == "ws://127.0.0.1:1/p"
		}},
		{"several URLs", []string{"fanout", "--rate", "5", "--url", "ws://127.0.0.1:1/sub,ws://127.0.0.1:2/sub", "--url", "ws://127.0.0.1:3/sub"}, false, func(c *Config) bool {
			return len(c.URL) == 3 && c.URL[2] == "ws://127.0.0.1:3/sub" && c.PubURL == "ws://127.0.0.1:1/pub?group=bench"
		}},
		{"default URL", []string{"echo"}, false, func(c *Config) bool { return len(c.URL) == 1 && c.URL[0] == defaultURL }},
		{"fanout needs a rate", []string{"fanout"}, true, nil},
		{"fanout publisher", []string{"fanout", "--rate", "5", "--publisher", "http"}, true, nil},
		{"stomp is a fanout flag", []string{"echo", "--stomp"}, true, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := parseArgs(tc.args, io.Discard)
			if (err != nil) != tc.wantErr {
				t.Fatalf("error = %v, want error %v", err, tc.wantErr)
			}
			if tc.check != nil && !tc.check(cfg) {
				t.Fatalf("unexpected config %+v", cfg)
			}
		})
	}
}
