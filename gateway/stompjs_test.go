package gateway_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/wsgw/wsgw/gateway"
	"github.com/wsgw/wsgw/internal/gwtest"
)

// TestStompJS runs stomp.js 7.5.0, the client browsers use, in Node against
// a STOMP endpoint (testdata/stompjs/client.mjs): it negotiates v12.stomp,
// two clients keep 500ms heart-beats for five intervals, a publish reaches
// both subscriptions, a refused SUBSCRIBE gets an ERROR. Its packages come
// from `npm ci` in testdata/stompjs (.ci/run does it); without them or Node
// the test is skipped, except in CI where it fails.
func TestStompJS(t *testing.T) {
	dir := filepath.Join("testdata", "stompjs")
	node, err := exec.LookPath("node")
	if _, statErr := os.Stat(filepath.Join(dir, "node_modules", "@stomp", "stompjs")); err != nil || statErr != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("node or stomp.js missing (node: %v, packages: %v): run npm ci in %s", err, statErr, dir)
		}
		t.Skipf("node or stomp.js missing: run npm ci in %s", dir)
	}
	h := stompHarness(t, "500ms,500ms", gateway.Limits{})
	ctx, cancel := context.WithTimeout(context.Background(), 2*gwtest.WaitFor)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "client.mjs", h.URL("/stomp"))
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node: %v\n%s\n%s", err, out, stderr.Bytes())
	}
	type line struct {
		Name         string
		Connected    map[string]string
		Protocol     string
		Body         string
		Subscription string
		Type         string
		Error        string
		Closed       int
		Done         bool
	}
	var lines []line
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		var l line
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("output line %q: %v", sc.Bytes(), err)
		}
		lines = append(lines, l)
	}
	got := map[string]int{}
	for _, l := range lines {
		switch {
		case l.Connected != nil:
			if l.Protocol != "v12.stomp" || l.Connected["version"] != "1.2" || l.Connected["heart-beat"] != "500,500" || l.Connected["server"] != "wsgw" {
				t.Fatalf("%s connected with %v over %q", l.Name, l.Connected, l.Protocol)
			}
			got["connected"]++
		case l.Body != "":
			if l.Body != "hello from stomp.js" || l.Type != "text/plain" || l.Subscription == "" {
				t.Fatalf("%s got %+v", l.Name, l)
			}
			got["message "+l.Name]++
		case l.Error != "":
			if l.Name != "bob" {
				t.Fatalf("%s got an ERROR: %s", l.Name, l.Error)
			}
			got["error"]++
		case l.Closed != 0:
			if l.Name == "ann" && l.Closed != 1000 {
				t.Fatalf("ann closed with %d before the end", l.Closed)
			}
		case l.Done:
			got["done"]++
		}
	}
	want := map[string]int{"connected": 2, "message ann": 1, "message bob": 1, "error": 1, "done": 1}
	for k, n := range want {
		if got[k] != n {
			t.Fatalf("stomp.js saw %v, want %v\n%s", got, want, out)
		}
	}
	if n := h.Logs.Count(func(r map[string]any) bool { return r["msg"] == "STOMP heart-beat missed" }); n != 0 {
		t.Fatal("the gateway missed a heart-beat of stomp.js")
	}
}
