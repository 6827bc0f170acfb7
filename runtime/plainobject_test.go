package runtime

import (
	"log/slog"
	"slices"
	"testing"

	"github.com/dop251/goja"
	"github.com/dop251/goja/unistring"
)

// TestPlainObjectLayout: goja's plain objects are found, the state's
// encoder takes their properties from goja's list only when that list is
// what Keys gives, and the decoder fills them as JSON.parse would.
func TestPlainObjectLayout(t *testing.T) {
	if !plainFound {
		t.Fatal("goja's plain object layout was not found: the state goes through Keys and Set (plainobject.go)")
	}
	e := newTestEngine(t)
	v, err := e.newVM()
	if err != nil {
		t.Fatal(err)
	}
	eval := func(src string) *goja.Object {
		t.Helper()
		val, err := v.rt.RunString("(" + src + ")")
		if err != nil {
			t.Fatal(err)
		}
		return val.ToObject(v.rt)
	}
	for _, src := range []string{`{a: 1}`, `JSON.parse('{"a": 1}')`, `Object.create(null)`, `new (class {})()`} {
		if plainObjectOf(eval(src)).values == nil {
			t.Errorf("%s is not a plain object", src)
		}
	}
	for _, src := range []string{`[1]`, `new Map()`, `new Date(0)`, `function () {}`, `new Proxy({}, {})`, `new String("s")`} {
		if plainObjectOf(eval(src)).values != nil {
			t.Errorf("%s is taken for a plain object", src)
		}
	}

	for src, plain := range map[string]bool{
		`{a: 1, b: {c: "x"}, "": null}`:                                            true,
		`(function () { var o = {a: 1, b: 2}; delete o.a; o.a = 3; return o; })()`: true,
		`{get a() { return 1; }}`:                                                  false,
		`Object.defineProperty({}, "a", {value: 1, enumerable: false})`:            false,
		`Object.defineProperty({}, "a", {value: 1, enumerable: true})`:             false,
		`{"1": 1, a: 2}`:  false,
		`{a: 2, "0x": 1}`: false,
		`{"é": 1}`:        false,
	} {
		obj := eval(src)
		b, ok, err := v.encodePlain(nil, plainObjectOf(obj), 0, 1<<20)
		if err != nil || ok != plain {
			t.Errorf("%s: encodePlain ok %v, err %v; want ok %v", src, ok, err, plain)
			continue
		}
		if !ok {
			if len(b) != 0 {
				t.Errorf("%s: encodePlain declined but appended %q", src, b)
			}
			continue
		}
		want, err := v.stringify(goja.Undefined(), obj)
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != want.String() {
			t.Errorf("%s: encodePlain wrote %s, JSON.stringify %s", src, b, want)
		}
	}

	// Decoded: names in the order given, a repeated one where it first
	// came with its last value, array indices listed first when asked.
	val, ok := v.decodeState([]byte(`{"b": 1, "2": {"x": true}, "a": 2, "b": 3, "__proto__": 4, "1": 5}`))
	if !ok {
		t.Fatal("not decoded")
	}
	obj := val.ToObject(v.rt)
	if got := *plainObjectOf(obj).names; !slices.Equal(got, []unistring.String{"b", "2", "a", "__proto__", "1"}) {
		t.Fatalf("decoded names %q", got)
	}
	if got := obj.Keys(); !slices.Equal(got, []string{"1", "2", "b", "a", "__proto__"}) {
		t.Fatalf("Keys of the decoded object %q", got)
	}
	if obj.Prototype() == nil || obj.Get("b").ToInteger() != 3 || obj.Get("__proto__").ToInteger() != 4 {
		t.Fatalf("decoded %v", obj.Export())
	}
}

// TestDecodedObjectsShareNoNames: objects decoded one after another take
// their names from one arena; changing one changes none of the others.
func TestDecodedObjectsShareNoNames(t *testing.T) {
	e := newTestEngine(t)
	v, err := e.newVM()
	if err != nil {
		t.Fatal(err)
	}
	var objs []*goja.Object
	for range 3 {
		val, ok := v.decodeState([]byte(`{"a": 1, "b": 2}`))
		if !ok {
			t.Fatal("not decoded")
		}
		objs = append(objs, val.ToObject(v.rt))
	}
	if err := v.rt.Set("o", objs[1]); err != nil {
		t.Fatal(err)
	}
	if _, err := v.rt.RunString(`delete o.a; o.c = 3; o.a = 4; Object.keys(o); o["0"] = 5; Object.keys(o)`); err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{`{"a":1,"b":2}`, `{"0":5,"b":2,"c":3,"a":4}`, `{"a":1,"b":2}`} {
		got, err := v.stringify(goja.Undefined(), objs[i])
		if err != nil {
			t.Fatal(err)
		}
		if got.String() != want {
			t.Errorf("object %d is %s, want %s", i, got, want)
		}
	}
}

func newTestEngine(t *testing.T) *Engine {
	t.Helper()
	e := New(Options{PoolSize: 1, Logger: slog.New(slog.DiscardHandler)})
	t.Cleanup(e.Close)
	return e
}

// TestStateWithoutThePlainLayout: when goja's layout is not found, the
// state is read through Set and written through Keys, to the same JSON.
func TestStateWithoutThePlainLayout(t *testing.T) {
	found := plainFound
	plainFound = false
	t.Cleanup(func() { plainFound = found })
	e := newTestEngine(t)
	v, err := e.newVM()
	if err != nil {
		t.Fatal(err)
	}
	for _, js := range []string{`{}`, `{"n":1,"s":"x","o":{"a":[1,{"b":null}]},"__proto__":{"p":true}}`, `{"2":1,"1":2,"b":3,"é":4}`} {
		val, ok := v.decodeState([]byte(js))
		if !ok {
			t.Fatalf("%s not decoded", js)
		}
		if plainObjectOf(val.ToObject(v.rt)).values != nil {
			t.Fatal("a plain object was found without the layout")
		}
		want, err := v.stringify(goja.Undefined(), val)
		if err != nil {
			t.Fatal(err)
		}
		got, undefined, err := v.encodeState(nil, val, 0, 1<<20)
		if err != nil || undefined || string(got) != want.String() {
			t.Fatalf("%s: encoded %s (%v, %v), JSON.stringify writes %s", js, got, undefined, err, want)
		}
	}
}
