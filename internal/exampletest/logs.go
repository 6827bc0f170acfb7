package exampletest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

// maxOutput bounds the output kept for a failure message: its last bytes.
const maxOutput = 256 << 10

// Logs is a gateway's output: its JSON log lines, decoded for tests to wait
// on, and the text as written (a panic or a race report is not JSON).
type Logs struct {
	mu      sync.Mutex
	text    []byte // the last maxOutput bytes written
	partial []byte // a line not yet ended
	records []map[string]any
	changed chan struct{} // closed and replaced at every write
}

func newLogs() *Logs { return &Logs{changed: make(chan struct{})} }

// Write keeps p and decodes every line it completes.
func (l *Logs) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.text = append(l.text, p...)
	if over := len(l.text) - maxOutput; over > 0 {
		l.text = append(l.text[:0], l.text[over:]...)
	}
	l.partial = append(l.partial, p...)
	for {
		i := bytes.IndexByte(l.partial, '\n')
		if i < 0 {
			break
		}
		var rec map[string]any
		if json.Unmarshal(l.partial[:i], &rec) == nil {
			l.records = append(l.records, rec)
		}
		l.partial = l.partial[i+1:]
	}
	close(l.changed)
	l.changed = make(chan struct{})
	return len(p), nil
}

// String is the output as written (its last 256 KiB).
func (l *Logs) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return string(l.text)
}

// Wait returns the first line pred accepts, waiting for it at most WaitFor;
// what names the line in the failure.
func (l *Logs) Wait(t testing.TB, what string, pred func(map[string]any) bool) map[string]any {
	t.Helper()
	rec, err := l.waitUnless(pred, nil, WaitFor)
	if err != nil {
		t.Fatalf("no log line for %s: %v", what, err)
	}
	return rec
}

// Count is how many lines pred accepts so far.
func (l *Logs) Count(pred func(map[string]any) bool) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, r := range l.records {
		if pred(r) {
			n++
		}
	}
	return n
}

// waitUnless waits for a line pred accepts, for at most d, and gives up
// when gone is closed (the process ended) and no such line came.
func (l *Logs) waitUnless(pred func(map[string]any) bool, gone <-chan struct{}, d time.Duration) (map[string]any, error) {
	deadline := time.After(d)
	ended := false
	for seen := 0; ; {
		l.mu.Lock()
		recs, changed := l.records, l.changed
		l.mu.Unlock()
		for ; seen < len(recs); seen++ {
			if pred(recs[seen]) {
				return recs[seen], nil
			}
		}
		if ended {
			return nil, errors.New("the gateway exited")
		}
		select {
		case <-changed:
		case <-gone: // its output is all written: read the rest, then give up
			ended = true
		case <-deadline:
			return nil, fmt.Errorf("none within %v", d)
		}
	}
}

// Msg accepts the lines whose msg is msg.
func Msg(msg string) func(map[string]any) bool {
	return func(r map[string]any) bool { return r["msg"] == msg }
}

// Script accepts the console output of a script: a line of the event on
// route with message msg ("" for any message).
func Script(route, event, msg string) func(map[string]any) bool {
	return func(r map[string]any) bool {
		return r["source"] == "script" && r["route"] == route && r["event"] == event && (msg == "" || r["msg"] == msg)
	}
}
