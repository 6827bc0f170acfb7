package runtime_test

import (
	"strings"
	"testing"

	"github.com/wsgw/wsgw/runtime"
)

// TestStateIsSavedAsJSONStringifyWrites: whatever a script leaves in
// websocketInfo.state is saved exactly as JSON.stringify writes it (the
// gateway encodes plain data itself, and hands the rest to JSON.stringify),
// and the next event reads back what JSON.parse would.
func TestStateIsSavedAsJSONStringifyWrites(t *testing.T) {
	e := newEngine(t, runtime.Options{PoolSize: 1})
	set := mustCompile(t, `
var v = eval("(" + websocketInfo.message + ")");
websocketInfo.state = v;
var js = JSON.stringify(v);
return js === undefined ? "{}" : js;`)
	get := mustCompile(t, `
var s = websocketInfo.state;
var plain = s === null || typeof s !== "object" || Array.isArray(s) || Object.getPrototypeOf(s) === Object.prototype;
return JSON.stringify(s) + " " + plain;`)
	for _, expr := range []string{
		`{}`,
		`{a: 1, b: "x", c: true, d: false, e: null}`,
		`{n: 0.1, m: -0, big: 1e21, small: 1e-7, neg: -12.5, nan: NaN, inf: -Infinity, max: Number.MAX_SAFE_INTEGER, over: 9007199254740993, huge: -123456789012345680000, neg0: [-0, 0, -1, 255, 256, 1e15]}`,
		`{s: "quote \" back \\ nl \n tab \t cr \r ff \f bs \b ctrl \u0001 \u001f del \u007f é ü 漢 🎉 <>&"}`,
		`{u: undefined, f: function () {}, k: 1}`,
		`[1, undefined, function () {}, null, "x", [], {}]`,
		`{nested: {deep: [{a: [1, 2, {b: true}]}]}}`,
		`{d: new Date(0)}`,
		`{t: {toJSON: function () { return "custom"; }}}`,
		`JSON.parse('{"__proto__": {"x": 1}, "y": 2}')`,
		`{"10": "a", "2": "b", "x": "c", "1": "d"}`,
		`"just a string"`,
		`42`,
		`true`,
		`null`,
		`undefined`,
		`new Map([[1, 2]])`,
		`Object.create({inherited: 1})`,
		`{b: new Boolean(false), n: new Number(3), s: new String("s")}`,
		`(function () { var o = {}, p = o; for (var i = 0; i < 100; i++) { p.x = {}; p = p.x; } return o; })()`,
		// Objects whose properties the encoder cannot take from goja's
		// list as they are (statejson.go, encodePlain), and some it can.
		`{get a() { return 1; }, b: 2}`,
		`Object.defineProperty({a: 1, c: 3}, "b", {value: 2, enumerable: false})`,
		`Object.defineProperty({a: 1}, "r", {value: 2, enumerable: true})`,
		`(function () { var o = {x: 1}; o["2"] = "two"; o["1"] = "one"; o.y = 2; return o; })()`,
		`{"01": 1, "1a": 2, "4294967295": 3, "": 4, "-1": 5}`,
		`(function () { var o = {a: 1, b: 2, c: 3}; delete o.a; o.a = 4; return o; })()`,
		`{"é": 1, "漢": {"🎉": 2}, "a\"b\n": 3}`,
		`(function () { var o = Object.create(null); o.x = 1; return o; })()`,
		`new (class { constructor() { this.a = 1; this.b = [2]; } })()`,
		`{n: 255, m: 256, big: 123456789012345, bigger: 1234567890123456, neg: -7, negbig: -100000}`,
	} {
		t.Run(expr, func(t *testing.T) {
			c := newConn()
			if err := run(t, e, set, c, runtime.Event{Type: runtime.Data, Data: []byte(expr)}); err != nil {
				t.Fatal(err)
			}
			want := c.texts()[0]
			if got := string(c.State()); got != want {
				t.Fatalf("saved %s, JSON.stringify writes %s", got, want)
			}
			if err := run(t, e, get, c, runtime.Event{Type: runtime.Data}); err != nil {
				t.Fatal(err)
			}
			if got := c.texts()[1]; got != want+" true" {
				t.Fatalf("the next event reads %s, want %s and a plain object", got, want)
			}
		})
	}
}

// TestStateOverTheLimit: a state over max_state_bytes fails the event as a
// throw would, and the previous state stays; so does one with a cycle.
func TestStateOverTheLimit(t *testing.T) {
	e := newEngine(t, runtime.Options{PoolSize: 1, Limits: runtime.Limits{MaxStateBytes: 100}})
	h := mustCompile(t, `
var m = websocketInfo.message;
if (m === "ok") websocketInfo.state.n = 1;
if (m === "big") websocketInfo.state.s = "x".repeat(200);
if (m === "wide") { for (var i = 0; i < 1000; i++) websocketInfo.state["k" + i] = i; }
if (m === "cycle") { websocketInfo.state.self = websocketInfo.state; }
if (m === "bigdate") websocketInfo.state = {d: new Date(0), s: "y".repeat(200)};
return "sent";`)
	c := newConn()
	if err := run(t, e, h, c, runtime.Event{Type: runtime.Data, Data: []byte("ok")}); err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"big", "wide", "cycle", "bigdate"} {
		err := run(t, e, h, c, runtime.Event{Type: runtime.Data, Data: []byte(m)})
		if err == nil {
			t.Fatalf("%s: the event succeeded", m)
		}
		if m != "cycle" && !strings.Contains(err.Error(), "max_state_bytes") {
			t.Fatalf("%s: %v, want it to name limits.max_state_bytes", m, err)
		}
		if got := string(c.State()); got != `{"n":1}` {
			t.Fatalf("%s: the state became %s", m, got)
		}
	}
	if got := c.texts(); len(got) != 1 {
		t.Fatalf("the refused events sent %q: they fail as a throw, before their return value", got)
	}
}

// TestStateSavedWhileAGetterChangesIt: a toJSON getter that adds or deletes
// a property of the state while it is saved leaves what JSON.stringify
// writes, which lists an object's keys before it reads a value.
func TestStateSavedWhileAGetterChangesIt(t *testing.T) {
	e := newEngine(t, runtime.Options{PoolSize: 1})
	for name, change := range map[string]string{"adds": "o.c = 3", "deletes": "delete o.b", "redefines": `Object.defineProperty(o, "b", {get: function () { return 4; }})`} {
		t.Run(name, func(t *testing.T) {
			h := mustCompile(t, `
var make = function () {
  var o = {a: {}, b: 1};
  Object.defineProperty(o.a, "toJSON", {get: function () { `+change+`; return undefined; }});
  return o;
};
websocketInfo.state = make();
return JSON.stringify(make());`)
			c := newConn()
			if err := run(t, e, h, c, runtime.Event{Type: runtime.Data}); err != nil {
				t.Fatal(err)
			}
			if got, want := string(c.State()), c.texts()[0]; got != want {
				t.Fatalf("saved %s, JSON.stringify writes %s", got, want)
			}
		})
	}
}

// TestStateWithALoneSurrogate: a name or a string with a lone surrogate is
// saved as JSON.stringify writes it, escaped. (Reading it back gives what
// goja's JSON.parse gives, U+FFFD in its place.)
func TestStateWithALoneSurrogate(t *testing.T) {
	e := newEngine(t, runtime.Options{PoolSize: 1})
	h := mustCompile(t, `websocketInfo.state = {"\ud800": 1, "é": {"\udbff": 2}}; return JSON.stringify(websocketInfo.state);`)
	c := newConn()
	if err := run(t, e, h, c, runtime.Event{Type: runtime.Data}); err != nil {
		t.Fatal(err)
	}
	if got, want := string(c.State()), c.texts()[0]; got != want || !strings.Contains(got, `\ud800`) {
		t.Fatalf("saved %s, JSON.stringify writes %s", got, want)
	}
}
