package runtime_test

import (
	"context"
	"errors"
	goruntime "runtime"
	"strings"
	"testing"
	"time"

	"github.com/wsgw/wsgw/runtime"
)

// TestMemoryLimit runs scripts that try to exhaust the process: each must
// end as a memory error (the watchdog, or a capped built-in), even when the
// script catches the RangeError, and well within its timeout.
func TestMemoryLimit(t *testing.T) {
	eng := newEngine(t, runtime.Options{PoolSize: 2, Limits: runtime.Limits{Timeout: 30 * time.Second, MaxMemory: 32 << 20}})
	tests := []struct{ name, src string }{
		{"doubling loop", `var t = "x"; while (true) t = t + t;`},
		{"doubling template", "var t = 'x'; while (true) t = `${t}${t}`;"},
		{"repeat", `"x".repeat(2**30)`},
		{"repeat caught", `try { "x".repeat(2**30) } catch (e) {} return "ok"`},
		{"padStart", `"x".padStart(2**30, "ab")`},
		{"padEnd", `"x".padEnd(2**30)`},
		{"concat", `var s = "x".repeat(1 << 20); var a = []; for (var i = 0; i < 100; i++) a.push(s); "".concat.apply("", a)`},
		{"unbounded push", `var a = []; while (true) a.push("x" + a.length);`},
		{"push of 64 KiB strings", `var a = [], s = "x".repeat(65536); while (true) a.push(s + a.length);`},
		{"join of shared strings", `var s = "x".repeat(1 << 20), a = []; for (var i = 0; i < 100; i++) a.push(s); a.join()`},
		{"join of a sparse array", `var a = []; a.length = 2**32 - 1; a.join("xx")`},
		{"join through toString", `var o = {toString: function() { return "x".repeat(1 << 20) }}, a = []; for (var i = 0; i < 100; i++) a.push(o); String(a)`},
		{"Array(n)", `Array(2**30)`},
		{"new Array(n)", `new Array(2**28)`},
		{"[].constructor(n)", `[].constructor(2**28)`},
		{"fill of a sparse array", `var a = []; a.length = 2**31; a.fill(0)`},
		{"Array.from", `Array.from({length: 2**30})`},
		{"typed array", `new Uint8Array(2**31)`},
		{"typed array from array-like", `new Float64Array({length: 2**28})`},
		{"ArrayBuffer", `new ArrayBuffer(2**31)`},
		{"JSON.stringify", `var s = "x".repeat(1 << 20), a = []; for (var i = 0; i < 100; i++) a.push(s); JSON.stringify(a)`},
		{"JSON.stringify with a replacer", `var s = "x".repeat(1 << 20); JSON.stringify({a: 1}, function(k, v) { return k === "a" ? [s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s] : v })`},
		{"send of a huge object", `var s = "x".repeat(1 << 20), a = []; for (var i = 0; i < 100; i++) a.push(s); websocketInfo.send(a)`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := mustCompile(t, `if (websocketInfo.type === "data") { `+tc.src+` }`)
			c := newConn()
			start := time.Now()
			err := eng.Run(context.Background(), h, &runtime.Event{Type: runtime.Data, Conn: c, Data: []byte("m")})
			var se *runtime.ScriptError
			if !errors.As(err, &se) || !se.Memory || !se.Interrupted() || se.Timeout {
				t.Fatalf("run = %v (%#v), want a memory error", err, se)
			}
			if !strings.Contains(se.Message, "script_memory") {
				t.Errorf("message %q does not name limits.script_memory", se.Message)
			}
			if d := time.Since(start); d > 20*time.Second {
				t.Errorf("took %v: it should have been stopped by the memory limit, long before the timeout", d)
			}
			if sent := c.texts(); len(sent) != 0 {
				t.Errorf("sent %d frames", len(sent))
			}
		})
	}
}

// TestCappedBuiltinsStillWork checks that the capped built-ins behave as
// the originals below the cap. Each case is a function body that returns a
// string.
func TestCappedBuiltinsStillWork(t *testing.T) {
	eng := newEngine(t, runtime.Options{PoolSize: 1, Limits: runtime.Limits{MaxMemory: 1 << 20}})
	tests := []struct{ src, want string }{
		{`return "ab".repeat(3)`, "ababab"},
		{`return "ab".repeat(0)`, ""},
		{`return "5".padStart(3, "0") + "|" + "5".padEnd(3) + "|" + "long".padStart(2)`, "005|5  |long"},
		{`return "a".concat("b", 1, null)`, "ab1null"},
		{`return [1, "x", null, undefined, [2, 3]].join("-")`, "1-x---2,3"},
		{`return [1, 2].join()`, "1,2"},
		{`return String([1, [2, [3]]])`, "1,2,3"},
		{`var a = [1]; a.push(a); return a.join()`, "1,"},
		{`return Array.prototype.join.call({length: 2, 0: "a", 1: "b"}, "+")`, "a+b"},
		{`return Array.prototype.join.name + Array.prototype.join.length + String.prototype.repeat.length`, "join11"},
		{`return Array(3).fill(0).join()`, "0,0,0"},
		{`return [1, 2, 3, 4].fill(9, 1, -1).join()`, "1,9,9,4"},
		{`return String(new Array(2).length + Array(1, 2).length) + ([].constructor === Array)`, "4true"},
		{`return String([] instanceof Array && Array.isArray(new Array(1)) && Array.from("abc").join("") === "abc")`, "true"},
		{`return Array.from([1, 2], function(x) { return x * 2 }).join()`, "2,4"},
		{`return String(new Uint8Array(4).length + new Uint8Array([1, 2]).length + new ArrayBuffer(8).byteLength)`, "14"},
		{`class B extends Uint8Array {}; return String(new B(3).length) + (new B(1) instanceof Uint8Array)`, "3true"},
		{`return JSON.stringify({a: [1, "x", true, null], b: {c: 2}})`, `{"a":[1,"x",true,null],"b":{"c":2}}`},
		{`return JSON.stringify({a: 1, b: 2}, ["b"])`, `{"b":2}`},
		{`return JSON.stringify({a: 1, b: "x"}, function(k, v) { return typeof v === "number" ? v + 1 : v })`, `{"a":2,"b":"x"}`},
		{`return JSON.stringify({a: [1]}, null, 2)`, "{\n  \"a\": [\n    1\n  ]\n}"},
		{`return JSON.stringify({toJSON: function() { return "j" }})`, `"j"`},
		{`return String(JSON.stringify(undefined))`, "undefined"},
	}
	for _, tc := range tests {
		t.Run(tc.src, func(t *testing.T) {
			h := mustCompile(t, tc.src)
			c := newConn()
			if err := eng.Run(context.Background(), h, &runtime.Event{Type: runtime.Data, Conn: c}); err != nil {
				t.Fatal(err)
			}
			if got := c.texts(); len(got) != 1 || got[0] != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// TestInterruptedRuntimeMemoryIsFreed runs allocation loops that the
// watchdog stops, then checks that what they built is garbage: an
// interrupted runtime keeps its stack, so it must not go back to the pool.
func TestInterruptedRuntimeMemoryIsFreed(t *testing.T) {
	const limit = 32 << 20
	eng := newEngine(t, runtime.Options{PoolSize: 4, Limits: runtime.Limits{Timeout: 30 * time.Second, MaxMemory: limit}})
	h := mustCompile(t, `var a = [], s = "x".repeat(65536); while (true) a.push(s + a.length);`)
	heap := func() uint64 {
		goruntime.GC()
		var ms goruntime.MemStats
		goruntime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	before := heap()
	errs := make(chan error, 4)
	for range 4 { // at once, so that four runtimes exist
		go func() { errs <- eng.Run(context.Background(), h, &runtime.Event{Type: runtime.Data, Conn: newConn()}) }()
	}
	for range 4 {
		var se *runtime.ScriptError
		if err := <-errs; !errors.As(err, &se) || !se.Memory {
			t.Fatalf("run = %v, want a memory error", err)
		}
	}
	if after := heap(); after > before+limit {
		t.Fatalf("heap %d MiB after the runs, %d MiB before: what the interrupted scripts built is still held",
			after>>20, before>>20)
	}
}
