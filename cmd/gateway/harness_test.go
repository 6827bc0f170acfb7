package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wsgw/wsgw/config"
)

// waitFor bounds every wait on a signal, so a broken server fails the test
// instead of hanging it.
const waitFor = 15 * time.Second

const echoJS = `
if (websocketInfo.type === "open") return "Welcome";
if (websocketInfo.type === "data") return websocketInfo.message;`

// startGateway writes files (the configuration is gateway.yaml) into a
// temporary directory, starts the server on loopback ports and stops it when
// the test ends. Its JSON log lines are kept for tests to wait on.
func startGateway(t *testing.T, files map[string]string, environ ...string) (*server, *logRecords) {
	t.Helper()
	dir := t.TempDir()
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cfg, err := loadConfig(cliFlags{config: filepath.Join(dir, "gateway.yaml")}, environ)
	if err != nil {
		t.Fatal(err)
	}
	logs := &logRecords{changed: make(chan struct{})}
	srv, err := newServer(cfg, logs)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitFor)
		defer cancel()
		if err := srv.shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return srv, logs
}

// baseConfig is a configuration on loopback ports with one /echo endpoint;
// tests append their keys.
const baseConfig = `
listen: "127.0.0.1:0"
admin: {listen: "127.0.0.1:0"}
log: {level: debug, format: json}
endpoints:
  - path: /echo
    script: echo.js
`

// logRecords is the server's log output, one JSON object a line.
type logRecords struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	lines   []map[string]any
	changed chan struct{}
}

func (l *logRecords) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(p)
	for {
		line, err := l.buf.ReadBytes('\n')
		if err != nil {
			l.buf.Write(line) // an incomplete line waits for the rest
			break
		}
		var rec map[string]any
		if json.Unmarshal(line, &rec) == nil {
			l.lines = append(l.lines, rec)
		}
	}
	close(l.changed)
	l.changed = make(chan struct{})
	return len(p), nil
}

// wait returns the first line whose msg contains msg, waiting for it.
func (l *logRecords) wait(t *testing.T, msg string) map[string]any {
	t.Helper()
	return l.match(t, fmt.Sprintf("%q", msg), func(rec map[string]any) bool {
		m, _ := rec["msg"].(string)
		return strings.Contains(m, msg)
	})
}

// match returns the first line pred accepts, waiting for it.
func (l *logRecords) match(t *testing.T, what string, pred func(map[string]any) bool) map[string]any {
	t.Helper()
	deadline := time.After(waitFor)
	for seen := 0; ; {
		l.mu.Lock()
		lines, changed := l.lines, l.changed
		l.mu.Unlock()
		for ; seen < len(lines); seen++ {
			if pred(lines[seen]) {
				return lines[seen]
			}
		}
		select {
		case <-changed:
		case <-deadline:
			t.Fatalf("no log line for %s within %v", what, waitFor)
		}
	}
}

// watch runs srv's --watch until the test ends, polling fast.
func watch(t *testing.T, srv *server, environ ...string) {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	load := func() (*config.Config, error) { return loadConfig(cliFlags{config: srv.cfg.File}, environ) }
	go newWatcher(srv.cfg, load, srv.deploys, srv.log).run(ctx, 20*time.Millisecond)
}
