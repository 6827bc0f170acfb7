package main

import (
	"context"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/coder/websocket"
)

// TestScriptLimitsFromConfig checks that runtime.memory_limit sets the Go
// memory limit (GOMEMLIMIT) and limits.script_memory reaches the scripts.
func TestScriptLimitsFromConfig(t *testing.T) {
	prev := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(prev) })
	srv, logs := startGateway(t, map[string]string{
		"gateway.yaml": baseConfig + "runtime: {memory_limit: 3221225472}\nlimits: {script_memory: 2097152}\n",
		"echo.js":      `if (websocketInfo.type === "data") return "x".repeat(Number(websocketInfo.message));`,
	})
	if got := debug.SetMemoryLimit(-1); got != 3<<30 {
		t.Fatalf("Go memory limit = %d, want 3221225472 from runtime.memory_limit", got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws://"+srv.publicAddr+"/echo", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	if err := c.Write(ctx, websocket.MessageText, []byte("1048577")); err != nil { // over 2 MiB counted: refused
		t.Fatal(err)
	}
	logs.match(t, "script_memory refusal", func(r map[string]any) bool {
		err, _ := r["err"].(string)
		return r["msg"] == "script error" && strings.Contains(err, "limits.script_memory (2097152)")
	})
	if err := c.Write(ctx, websocket.MessageText, []byte("10")); err != nil {
		t.Fatal(err)
	}
	if _, msg, err := c.Read(ctx); err != nil || string(msg) != "xxxxxxxxxx" {
		t.Fatalf("read %q, %v", msg, err)
	}
}
