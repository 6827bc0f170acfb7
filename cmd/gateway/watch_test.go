package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/coder/websocket"
)

func TestWatchRedeploysChangedFiles(t *testing.T) {
	srv, logs := startGateway(t, map[string]string{
		"a.js": `if (websocketInfo.type === "data") return "a1 " + websocketInfo.message`,
		"gateway.yaml": `listen: "127.0.0.1:0"
admin: {listen: "127.0.0.1:0"}
log: {format: json}
endpoints:
  - {path: /a, script: a.js}
`,
	})
	dir := filepath.Dir(srv.cfg.File)
	edit := func(name, text string) { replaceFile(t, filepath.Join(dir, name), []byte(text)) }
	watch(t, srv)
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()

	ws, _, err := websocket.Dial(ctx, "ws://"+srv.publicAddr+"/a", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	ask := func(msg string) string {
		t.Helper()
		if err := ws.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
			t.Fatal(err)
		}
		_, b, err := ws.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	if got := ask("x"); got != "a1 x" {
		t.Fatalf("before the change: %q", got)
	}

	// The same size and, put back, the same modification time: only the
	// content tells this edit apart.
	sameSizeEdit(t, filepath.Join(dir, "a.js"), `if (websocketInfo.type === "data") return "a2 " + websocketInfo.message`)
	logs.match(t, "the deploy of a.js", func(r map[string]any) bool { return r["msg"] == "deployed" && r["path"] == "/a" })
	if got := ask("x"); got != "a2 x" {
		t.Fatalf("the open socket after the change answered %q, want the new script", got)
	}

	edit("a.js", `return "a3 " +`)
	rec := logs.wait(t, "deploy refused; the running version stays")
	if !strings.Contains(rec["err"].(string), "a.js:1:") || rec["key"] != "endpoints[0]" {
		t.Fatalf("refusal logged as %v", rec)
	}
	if got := ask("x"); got != "a2 x" {
		t.Fatalf("after a broken edit the socket answered %q, want a2 still", got)
	}

	edit("b.js", `if (websocketInfo.type === "data") return "b " + websocketInfo.message`)
	edit("gateway.yaml", `listen: "127.0.0.1:0"
admin: {listen: "127.0.0.1:0"}
log: {format: json}
endpoints:
  - {path: /b, script: b.js}
`)
	logs.match(t, "the removal of /a", func(r map[string]any) bool { return r["msg"] == "undeployed" && r["path"] == "/a" })
	_, _, err = ws.Read(ctx)
	if code := websocket.CloseStatus(err); code != websocket.StatusGoingAway {
		t.Fatalf("socket of the removed endpoint: %v, want 1001", err)
	}
	wb, _, err := websocket.Dial(ctx, "ws://"+srv.publicAddr+"/b", nil)
	if err != nil {
		t.Fatalf("the endpoint added to the file is not served: %v", err)
	}
	defer wb.CloseNow()
	_ = wb.Write(ctx, websocket.MessageText, []byte("y"))
	if _, b, err := wb.Read(ctx); err != nil || string(b) != "b y" {
		t.Fatalf("/b answered %q %v", b, err)
	}
}

// sameSizeEdit rewrites a file in place with text of the same length and puts
// its modification time back, as an edit within one tick of a coarse
// filesystem clock would leave it.
func sameSizeEdit(t *testing.T, path, text string) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() != int64(len(text)) {
		t.Fatalf("the edit of %s changes its size (%d to %d bytes)", path, fi.Size(), len(text))
	}
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, fi.ModTime(), fi.ModTime()); err != nil {
		t.Fatal(err)
	}
	if after, err := os.Stat(path); err != nil || !after.ModTime().Equal(fi.ModTime()) || after.Size() != fi.Size() {
		t.Fatalf("%s after the edit: %v, %v; want the same size and time", path, after, err)
	}
}
