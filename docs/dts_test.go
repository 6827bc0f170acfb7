package docs_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/wsgw/wsgw"
	"github.com/wsgw/wsgw/docs"
	"github.com/wsgw/wsgw/runtime"
	"github.com/wsgw/wsgw/stomp"
)

// dts is docs/wsgw.d.ts: interface name → the members it declares, and type
// alias name → the string literals of its union.
type dts struct {
	interfaces map[string][]string
	unions     map[string][]string
}

var (
	interfaceRE = regexp.MustCompile(`(?ms)^interface (\w+) \{\n(.*?)^\}`)
	memberRE    = regexp.MustCompile(`(?m)^  (?:readonly )?(\w+)\??[:(]`)
	unionRE     = regexp.MustCompile(`(?ms)^type (\w+) =\n((?:  \| "[^"]*"\n?)+)`)
	literalRE   = regexp.MustCompile(`"([^"]*)"`)
)

func parseDTS(t *testing.T) dts {
	t.Helper()
	src, err := os.ReadFile("wsgw.d.ts")
	if err != nil {
		t.Fatal(err)
	}
	d := dts{interfaces: map[string][]string{}, unions: map[string][]string{}}
	for _, m := range interfaceRE.FindAllSubmatch(src, -1) {
		var names []string
		for _, mm := range memberRE.FindAllSubmatch(m[2], -1) {
			names = append(names, string(mm[1]))
		}
		d.interfaces[string(m[1])] = uniqueSorted(names)
	}
	for _, m := range unionRE.FindAllSubmatch(src, -1) {
		var lits []string
		for _, mm := range literalRE.FindAllSubmatch(m[2], -1) {
			lits = append(lits, string(mm[1]))
		}
		d.unions[string(m[1])] = uniqueSorted(lits)
	}
	return d
}

func uniqueSorted(ss []string) []string {
	slices.Sort(ss)
	return slices.Compact(ss)
}

// conn is the least a script's connection needs.
type conn struct{ info wsgw.SocketInfo }

func (c *conn) Info() *wsgw.SocketInfo      { return &c.info }
func (c *conn) Auth() map[string]any        { return nil }
func (c *conn) Send([]byte, bool) error     { return nil }
func (c *conn) Deliver(*wsgw.Message) error { return nil }
func (c *conn) Close(int, string) error     { return nil }
func (c *conn) State() []byte               { return wsgw.EmptyState }
func (c *conn) SaveState([]byte) error      { return nil }
func (c *conn) User() string                { return "" }
func (c *conn) SetUser(string) error        { return nil }
func (c *conn) Join(string) error           { return nil }
func (c *conn) Leave(string) error          { return nil }

// exposed runs a script in every kind of event and returns the names the
// runtime really gives it: websocketInfo's keys (over all events), the
// Websocket global's and console's.
func exposed(t *testing.T) (info, ws, cons []string) {
	t.Helper()
	var logs bytes.Buffer
	e := runtime.New(runtime.Options{Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	t.Cleanup(e.Close)
	h, err := runtime.Compile("keys.js", `console.log(JSON.stringify({
		info: Object.keys(websocketInfo), ws: Object.keys(Websocket), console: Object.keys(console)}))`)
	if err != nil {
		t.Fatal(err)
	}
	c := &conn{info: wsgw.SocketInfo{ID: "s1", Route: "/r"}}
	for _, ev := range []runtime.Event{
		{Type: runtime.Open},
		{Type: runtime.Data, Data: []byte("x")},
		{Type: runtime.Close, CloseCode: 1000},
		{Type: runtime.Subscribe, Frame: &stomp.Frame{Command: "SUBSCRIBE"}, Destination: "/d"},
	} {
		ev.Conn = c
		if err := e.Run(context.Background(), h, &ev); err != nil {
			t.Fatalf("%v event: %v", ev.Type, err)
		}
	}
	dec := json.NewDecoder(&logs)
	for dec.More() {
		var line struct{ Msg string }
		if err := dec.Decode(&line); err != nil {
			t.Fatal(err)
		}
		var keys struct{ Info, WS, Console []string }
		if err := json.Unmarshal([]byte(line.Msg), &keys); err != nil {
			t.Fatalf("log line %q: %v", line.Msg, err)
		}
		info = append(info, keys.Info...)
		ws, cons = keys.WS, keys.Console
	}
	return uniqueSorted(info), uniqueSorted(ws), uniqueSorted(cons)
}

// jsonFields lists the JSON names of a struct's fields, embedded structs
// included: what an info answer carries.
func jsonFields(t reflect.Type) []string {
	var names []string
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Anonymous {
			names = append(names, jsonFields(f.Type)...)
			continue
		}
		if name, _, _ := strings.Cut(f.Tag.Get("json"), ","); name != "" && name != "-" {
			names = append(names, name)
		}
	}
	return names
}

// TestScriptTypesMatchRuntime keeps docs/wsgw.d.ts true: each interface
// declares exactly what the runtime exposes, so an editor neither misses a
// member nor offers one that is not there.
func TestScriptTypesMatchRuntime(t *testing.T) {
	d := parseDTS(t)
	info, ws, cons := exposed(t)

	errorTypes, err := docs.ErrorTypes()
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		declared, what string
		got            []string
		want           []string
	}{
		{"WebsocketInfo", "the keys of websocketInfo", d.interfaces["WebsocketInfo"], info},
		{"WebsocketService", "the members of the Websocket global", d.interfaces["WebsocketService"], ws},
		{"WsgwConsole", "the members of console", d.interfaces["WsgwConsole"], cons},
		{"WebsocketSocketInfo", "the fields of an info answer (wsgw.Socket)", d.interfaces["WebsocketSocketInfo"], uniqueSorted(jsonFields(reflect.TypeFor[wsgw.Socket]()))},
		{"WsgwErrorType", "the error types of docs/openapi.yaml", d.unions["WsgwErrorType"], uniqueSorted(errorTypes)},
	}
	for _, tc := range tests {
		t.Run(tc.declared, func(t *testing.T) {
			if len(tc.want) == 0 {
				t.Fatalf("found none of %s", tc.what)
			}
			for _, name := range tc.want {
				if !slices.Contains(tc.got, name) {
					t.Errorf("docs/wsgw.d.ts: %s does not declare %q, one of %s", tc.declared, name, tc.what)
				}
			}
			for _, name := range tc.got {
				if !slices.Contains(tc.want, name) {
					t.Errorf("docs/wsgw.d.ts: %s declares %q, which is not one of %s %v", tc.declared, name, tc.what, tc.want)
				}
			}
		})
	}
}
