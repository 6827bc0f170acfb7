package deploy

import (
	"strings"
	"testing"
)

func TestParsePatternErrors(t *testing.T) {
	tests := map[string]string{
		"echo":         "must start with /",
		"/a//b":        "empty segment",
		"/a/":          "empty segment",
		"/a/x{y}":      "mixes text",
		"/a/{}":        "parameter name",
		"/a/{1x}":      "parameter name",
		"/a/{x}/{x}":   "appears twice",
		"/a/%zz":       "invalid URL escape",
		"/a/{b-c}":     "parameter name",
		"/{room}/{id}": "",
		"/":            "",
	}
	for pattern, want := range tests {
		_, err := parsePattern(pattern)
		if want == "" {
			if err != nil {
				t.Errorf("parsePattern(%q) = %v, want ok", pattern, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("parsePattern(%q) = %v, want an error about %q", pattern, err, want)
		}
	}
}

func TestRouterRefusesAmbiguousPaths(t *testing.T) {
	var rt router
	if err := rt.add(&Endpoint{path: "/chat/{room}"}); err != nil {
		t.Fatal(err)
	}
	if err := rt.add(&Endpoint{path: "/chat/{id}"}); err == nil {
		t.Fatal("two paths that match the same URLs were both accepted")
	}
	if err := rt.add(&Endpoint{path: "/chat/lobby"}); err != nil {
		t.Fatalf("a literal beside a parameter is not ambiguous: %v", err)
	}
}

// FuzzRouter adds an arbitrary pattern to a router that already holds a few,
// then matches an arbitrary path: nothing may panic, and a match must bind
// every parameter of the matched pattern to a non-empty segment.
func FuzzRouter(f *testing.F) {
	f.Add("/chat/{room}", "/chat/lobby")
	f.Add("/a/{x}/c", "/a/%2F/c")
	f.Add("/{a}/{b}", "//")
	f.Add("/", "/")
	f.Add("/x/%41", "/x/A")
	f.Fuzz(func(t *testing.T, pattern, path string) {
		var rt router
		for _, p := range []string{"/", "/echo", "/chat/{room}", "/chat/lobby", "/a/{x}/c"} {
			if err := rt.add(&Endpoint{path: p}); err != nil {
				t.Fatal(err)
			}
		}
		_ = rt.add(&Endpoint{path: pattern})
		ep, params := rt.match(path)
		if ep == nil {
			return
		}
		segs, err := parsePattern(ep.path)
		if err != nil {
			t.Fatalf("matched an endpoint whose path does not parse: %v", err)
		}
		for _, s := range segs {
			if name, ok := paramName(s); ok && params[name] == "" {
				t.Fatalf("%q matched %q without a value for {%s}", path, ep.path, name)
			}
		}
	})
}
