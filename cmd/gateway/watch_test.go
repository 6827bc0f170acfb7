package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/wsgw/wsgw/config"
)

// logLines turns the JSON log into a channel of records.
func logLines(t *testing.T) (io.Writer, <-chan map[string]any) {
	pr, pw := io.Pipe()
	t.Cleanup(func() { pw.Close() })
	lines := make(chan map[string]any, 1000)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			var rec map[string]any
			if json.Unmarshal(sc.Bytes(), &rec) == nil {
				lines <- rec
			}
		}
	}()
	return pw, lines
}

func waitRecord(t *testing.T, lines <-chan map[string]any, what string, pred func(map[string]any) bool) map[string]any {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case rec := <-lines:
			if pred(rec) {
				return rec
			}
		case <-timeout:
			t.Fatalf("no log line for %s", what)
		}
	}
}

func TestWatchRedeploysChangedFiles(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "a.js", `if (websocketInfo.type === "data") return "a1 " + websocketInfo.message`)
	cfgPath := writeFile(t, dir, "gw.yaml", `listen: "127.0.0.1:0"
admin: {listen: "127.0.0.1:0"}
log: {format: json}
endpoints:
  - {path: /a, script: a.js}
`)
	cfg, err := config.Load(cfgPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	out, lines := logLines(t)
	srv, err := newServer(cfg, out)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.start(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() {
		cancel()
		sctx, c := context.WithTimeout(context.Background(), 10*time.Second)
		defer c()
		_ = srv.shutdown(sctx)
	})
	go newWatcher(cfg, nil, srv.gateway, srv.log).run(ctx, 20*time.Millisecond)

	ws, _, err := websocket.Dial(ctx, "ws://"+srv.publicAddr+"/a", nil)
	if err != nil {
		t.Fatal(err)
	}
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

	writeFile(t, dir, "a.js", `if (websocketInfo.type === "data") return "a2 " + websocketInfo.message`)
	waitRecord(t, lines, "the deploy of a.js", func(r map[string]any) bool { return r["msg"] == "deployed" && r["path"] == "/a" })
	if got := ask("x"); got != "a2 x" {
		t.Fatalf("the open socket after the change answered %q, want the new script", got)
	}

	writeFile(t, dir, "a.js", `return "a3 " +`)
	rec := waitRecord(t, lines, "the refused deploy", func(r map[string]any) bool { return r["msg"] == "deploy refused; the running version stays" })
	if !strings.Contains(rec["err"].(string), "a.js:1:") || rec["key"] != "endpoints[0]" {
		t.Fatalf("refusal logged as %v", rec)
	}
	if got := ask("x"); got != "a2 x" {
		t.Fatalf("after a broken edit the socket answered %q, want a2 still", got)
	}

	writeFile(t, dir, "b.js", `if (websocketInfo.type === "data") return "b " + websocketInfo.message`)
	writeFile(t, dir, "gw.yaml", `listen: "127.0.0.1:0"
admin: {listen: "127.0.0.1:0"}
log: {format: json}
endpoints:
  - {path: /b, script: b.js}
`)
	waitRecord(t, lines, "the removal of /a", func(r map[string]any) bool { return r["msg"] == "undeployed" && r["path"] == "/a" })
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
