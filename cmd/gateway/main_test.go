package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
)

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestBadStartsExitNonZeroNamingTheProblem(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "ok.js", "return 1")
	writeFile(t, dir, "broken.js", "var a = 1;\nvar b = ;\n")
	writeFile(t, dir, "handler.js", "var x = 1;")
	tests := []struct {
		name string
		args []string
		yaml string
		want []string
	}{
		{"no --config", nil, "", []string{"--config is required"}},
		{"missing file", []string{"--config", filepath.Join(dir, "nope.yaml")}, "", []string{"nope.yaml"}},
		{"unknown key", nil, "listen: ':0'\nlimitz: {}\nendpoints: [{path: /a, script: ok.js}]\n", []string{"gw.yaml:2:", "limitz"}},
		{"script does not compile", nil, "endpoints: [{path: /a, script: broken.js}]\n", []string{"gw.yaml", "endpoints[0].script", "broken.js:2:9"}},
		{"--check compiles scripts", []string{"--check"}, "endpoints: [{path: /a, script: broken.js}]\n", []string{"endpoints[0].script", "broken.js:2:9"}},
		{"event handler without the function", nil, "event_handler: handler.js\nendpoints: [{path: /a, script: ok.js}]\n", []string{"event_handler", "handle_websocket_websocket_info"}},
		{"bad endpoint path", nil, "endpoints: [{path: '/a/{1}', script: ok.js}]\n", []string{"endpoints", "parameter name"}},
		{"public admin without token", nil, "admin: {listen: '0.0.0.0:0'}\nendpoints: [{path: /a, script: ok.js}]\n", []string{"admin.listen", "token"}},
		{"flag makes admin public", []string{"--admin-addr", "0.0.0.0:0"}, "endpoints: [{path: /a, script: ok.js}]\n", []string{"--admin-addr (admin.listen)", "token"}},
		{"bad --addr", []string{"--addr", "nowhere"}, "endpoints: [{path: /a, script: ok.js}]\n", []string{"--addr (listen)", "host:port"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := tc.args
			if tc.yaml != "" {
				args = append([]string{"--config", writeFile(t, dir, "gw.yaml", tc.yaml)}, args...)
			}
			var stderr bytes.Buffer
			code := run(context.Background(), args, nil, &stderr)
			if code == 0 {
				t.Fatalf("exit code 0, want non-zero; stderr: %s", stderr.String())
			}
			for _, w := range tc.want {
				if !strings.Contains(stderr.String(), w) {
					t.Errorf("stderr %q does not mention %q", stderr.String(), w)
				}
			}
			if strings.HasPrefix(tc.name, "flag") && strings.Contains(stderr.String(), "gw.yaml") {
				t.Errorf("stderr %q blames the file for a flag's value", stderr.String())
			}
		})
	}
}

func TestCheckValidatesTheExample(t *testing.T) {
	var stderr bytes.Buffer
	if code := run(context.Background(), []string{"--config", "../../examples/gateway.yaml", "--check"}, nil, &stderr); code != 0 {
		t.Fatalf("--check on the example: exit %d: %s", code, stderr.String())
	}
}

// TestSIGTERM runs the real binary on the example configuration: both
// listeners answer health, a client is greeted, and SIGTERM closes it with
// 1001 after its close event ran, then the process exits 0.
func TestSIGTERM(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := filepath.Join(t.TempDir(), "gateway")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "--config", "../../examples/gateway.yaml", "--addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0")
	logs := &logRecords{changed: make(chan struct{})}
	cmd.Stderr = logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	waitLine := func(msg string) map[string]any {
		t.Helper()
		return logs.match(t, fmt.Sprintf("%q", msg), func(r map[string]any) bool { return r["msg"] == msg })
	}
	ready := waitLine("wsgw listening")
	public, admin := ready["public"].(string), ready["admin"].(string)
	for _, base := range []string{public, admin} {
		resp, err := http.Get("http://" + base + "/api/v1/solution/health")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(body) != "OK" {
			t.Fatalf("health on %s: %d %q", base, resp.StatusCode, body)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, "ws://"+public+"/echo", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, msg, err := ws.Read(ctx); err != nil || string(msg) != "Welcome" {
		t.Fatalf("greeting: %q %v", msg, err)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	_, _, err = ws.Read(ctx)
	if code := websocket.CloseStatus(err); code != websocket.StatusGoingAway {
		t.Fatalf("client saw %v (code %d), want 1001", err, code)
	}
	closed := waitLine("connection closed")
	if closed["code"] != float64(1001) {
		t.Fatalf("close logged with %v, want 1001", closed["code"])
	}
	waitLine("stopped")
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit: %v, want status 0", err)
	}
}
