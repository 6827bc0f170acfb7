package runtime

import (
	"fmt"
	"math"
	"runtime/metrics"
	"strconv"

	"github.com/dop251/goja"
)

// How scripts are kept from exhausting the process (docs/security.md,
// "Script time and memory"). goja has no heap limit and cannot say what one
// runtime holds, so two mechanisms share the job:
//
//   - The watchdog reads the process's cumulative heap allocations
//     (/gc/heap/allocs:bytes) every millisecond and interrupts an event once
//     the process has allocated more than MaxMemory since it started. That
//     stops allocation loops written in JavaScript (string doubling, push
//     loops), at the next instruction after the native call in progress.
//   - A native call cannot be interrupted, so the built-ins that allocate a
//     script-chosen amount in one call check the size of their result first
//     and throw a RangeError past MaxMemory: String.prototype.repeat, padStart,
//     padEnd, concat, Array.prototype.join and fill, Array(n), Array.from,
//     ArrayBuffer and typed array constructors, and JSON.stringify.
//
// A runtime that was interrupted is discarded rather than pooled, so what
// the event built is garbage at once, whatever goja kept on its stack.

// allocsMetric is the runtime/metrics name of cumulative heap allocations.
const allocsMetric = "/gc/heap/allocs:bytes"

// allocReader reads cumulative heap allocations; it is used by the watchdog
// goroutine only.
type allocReader struct {
	sample []metrics.Sample
}

func newAllocReader() *allocReader {
	return &allocReader{sample: []metrics.Sample{{Name: allocsMetric}}}
}

func (a *allocReader) read() int64 {
	metrics.Read(a.sample)
	if a.sample[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return int64(min(a.sample[0].Value.Uint64(), math.MaxInt64))
}

// charBytes is what the caps count per character: JavaScript strings are
// UTF-16, and goja stores a string with any non-ASCII character as such.
const charBytes = 2

// valueBytes is what the caps count per array element (a goja.Value).
const valueBytes = 16

// overCap throws a RangeError naming the built-in and the limit when a result
// of n bytes would pass it. The event then ends as a script error even if
// the script catches it, as with the send caps.
func (v *vm) overCap(what string, n float64) {
	if n > float64(v.eng.opts.MaxMemory) {
		msg := fmt.Sprintf("%s: the result would take about %.0f bytes, over limits.script_memory (%d)", what, n, v.eng.opts.MaxMemory)
		if v.overMemory == "" {
			v.overMemory = msg
		}
		v.throwRange(msg)
	}
}

// stopped reports whether the watchdog interrupted the running event: Go
// loops of the capped built-ins check it, since goja only checks its own
// interrupt between JavaScript instructions.
func (v *vm) stopped() bool { return v.halted.Load() }

// installCaps replaces the built-ins that allocate a script-chosen amount in
// one call with versions that check the size first. It runs before any
// script, in every runtime.
func (v *vm) installCaps() error {
	rt := v.rt
	strProto := rt.Get("String").ToObject(rt).Get("prototype").ToObject(rt)
	arrProto := rt.Get("Array").ToObject(rt).Get("prototype").ToObject(rt)
	wraps := []struct {
		obj  *goja.Object
		name string
		wrap func(orig goja.Callable) func(goja.FunctionCall) goja.Value
	}{
		{strProto, "repeat", v.capRepeat},
		{strProto, "padStart", v.capPad("String.prototype.padStart")},
		{strProto, "padEnd", v.capPad("String.prototype.padEnd")},
		{strProto, "concat", v.capConcat},
		{arrProto, "fill", v.capFill},
		{arrProto, "join", func(goja.Callable) func(goja.FunctionCall) goja.Value { return v.join }},
		{rt.Get("JSON").ToObject(rt), "stringify", v.capStringify},
	}
	for _, w := range wraps {
		orig, ok := goja.AssertFunction(w.obj.Get(w.name))
		if !ok {
			return fmt.Errorf("runtime: %s is not a function", w.name)
		}
		length := w.obj.Get(w.name).ToObject(rt).Get("length")
		fn := rt.ToValue(w.wrap(orig)).ToObject(rt)
		_ = fn.DefineDataProperty("name", rt.ToValue(w.name), goja.FLAG_FALSE, goja.FLAG_FALSE, goja.FLAG_TRUE)
		_ = fn.DefineDataProperty("length", length, goja.FLAG_FALSE, goja.FLAG_FALSE, goja.FLAG_TRUE)
		if err := w.obj.DefineDataProperty(w.name, fn, goja.FLAG_TRUE, goja.FLAG_FALSE, goja.FLAG_TRUE); err != nil {
			return err
		}
	}
	setup, err := rt.RunString(constructorCaps)
	if err != nil {
		return err
	}
	install, _ := goja.AssertFunction(setup)
	_, err = install(goja.Undefined(), rt.ToValue(func(what string, n float64) { v.overCap(what, n) }))
	return err
}

// constructorCaps puts a wrapper in front of Array, ArrayBuffer and the
// typed arrays that checks a numeric length (or an array-like's length)
// before the constructor allocates, or, for Array, before a sparse array of
// that length exists to be filled in one native call. The wrapper takes the
// constructor's place as the global, as its prototype's constructor (so
// that [].constructor(n) and species lookups meet the same check) and keeps
// its prototype, so instanceof and subclasses work as before. Array.from is
// checked on its source's length.
const constructorCaps = `(function(check) {
  function capped(name, C, perElement) {
    var W = function() {
      var a = arguments[0];
      if (typeof a === "number") {
        if (name !== "Array" || arguments.length === 1) check(name, a * perElement);
      } else if (name !== "Array" && name !== "ArrayBuffer" && a !== null && typeof a === "object" && !(a instanceof ArrayBuffer)) {
        check(name, Number(a.length) * perElement);
      }
      if (new.target === undefined) return Reflect.apply(C, this, arguments);
      return Reflect.construct(C, arguments, new.target === W ? C : new.target);
    };
    Object.setPrototypeOf(W, Object.getPrototypeOf(C));
    Object.getOwnPropertyNames(C).concat(Object.getOwnPropertySymbols(C)).forEach(function(k) {
      if (k !== "prototype") Object.defineProperty(W, k, Object.getOwnPropertyDescriptor(C, k));
    });
    Object.defineProperty(W, "prototype", {value: C.prototype, writable: false});
    Object.defineProperty(C.prototype, "constructor", {value: W, writable: true, enumerable: false, configurable: true});
    Object.defineProperty(globalThis, name, {value: W, writable: true, enumerable: false, configurable: true});
    return W;
  }
  var from = Array.from;
  var A = capped("Array", Array, 16);
  var cappedFrom = function(src) {
    if (src !== null && src !== undefined) check("Array.from", Number(Object(src).length) * 16);
    return Reflect.apply(from, this === A ? Array.prototype.constructor : this, arguments);
  };
  Object.defineProperty(cappedFrom, "name", {value: "from"});
  Object.defineProperty(A, "from", {value: cappedFrom, writable: true, enumerable: false, configurable: true});
  capped("ArrayBuffer", ArrayBuffer, 1);
  ["Int8Array", "Uint8Array", "Uint8ClampedArray", "Int16Array", "Uint16Array", "Int32Array", "Uint32Array",
   "Float32Array", "Float64Array", "BigInt64Array", "BigUint64Array"].forEach(function(n) {
    if (typeof globalThis[n] === "function") capped(n, globalThis[n], globalThis[n].BYTES_PER_ELEMENT);
  });
})`

// capRepeat is String.prototype.repeat(count) with its result checked.
func (v *vm) capRepeat(orig goja.Callable) func(goja.FunctionCall) goja.Value {
	return func(call goja.FunctionCall) goja.Value {
		if goja.IsUndefined(call.This) || goja.IsNull(call.This) {
			return v.callOrig(orig, call.This, call.Arguments...)
		}
		s := v.str(call.This)
		count := call.Argument(0).ToNumber()
		if n := count.ToFloat(); n > 0 && !math.IsInf(n, 0) {
			v.overCap("String.prototype.repeat", float64(s.Length())*math.Floor(n)*charBytes)
		}
		return v.callOrig(orig, s, count)
	}
}

// capPad is padStart or padEnd(maxLength, fill) with its result checked.
func (v *vm) capPad(what string) func(orig goja.Callable) func(goja.FunctionCall) goja.Value {
	return func(orig goja.Callable) func(goja.FunctionCall) goja.Value {
		return func(call goja.FunctionCall) goja.Value {
			if goja.IsUndefined(call.This) || goja.IsNull(call.This) {
				return v.callOrig(orig, call.This, call.Arguments...)
			}
			s := v.str(call.This)
			n := call.Argument(0).ToNumber()
			if f := n.ToFloat(); f > float64(s.Length()) {
				v.overCap(what, f*charBytes)
			}
			args := []goja.Value{n}
			if len(call.Arguments) > 1 {
				args = append(args, call.Arguments[1])
			}
			return v.callOrig(orig, s, args...)
		}
	}
}

// capConcat is String.prototype.concat(...strings) with its result checked.
func (v *vm) capConcat(orig goja.Callable) func(goja.FunctionCall) goja.Value {
	return func(call goja.FunctionCall) goja.Value {
		if goja.IsUndefined(call.This) || goja.IsNull(call.This) {
			return v.callOrig(orig, call.This, call.Arguments...)
		}
		s := v.str(call.This)
		total := float64(s.Length())
		args := make([]goja.Value, len(call.Arguments))
		for i, a := range call.Arguments {
			as := v.str(a)
			args[i] = as
			total += float64(as.Length())
		}
		v.overCap("String.prototype.concat", total*charBytes)
		return v.callOrig(orig, s, args...)
	}
}

// capFill is Array.prototype.fill(value, start, end) with the number of
// elements it may create checked: on a sparse array of a huge length it
// would otherwise allocate them all in one call.
func (v *vm) capFill(orig goja.Callable) func(goja.FunctionCall) goja.Value {
	return func(call goja.FunctionCall) goja.Value {
		if goja.IsUndefined(call.This) || goja.IsNull(call.This) {
			return v.callOrig(orig, call.This, call.Arguments...)
		}
		o := call.This.ToObject(v.rt)
		n := toLength(o.Get("length"))
		start, end := relIndex(call.Argument(1), n, 0), relIndex(call.Argument(2), n, n)
		if end > start {
			v.overCap("Array.prototype.fill", float64(end-start)*valueBytes)
		}
		return v.callOrig(orig, o, call.Arguments...)
	}
}

// join is Array.prototype.join(separator), written here so that its result
// is checked as it grows (an element may be any long string, or an object
// whose toString returns one), and so that a long loop over a sparse array
// stops when the event is interrupted.
func (v *vm) join(call goja.FunctionCall) goja.Value {
	o := call.This.ToObject(v.rt)
	for _, j := range v.joining {
		if j == o { // a cycle joins as "", as in other engines
			return v.rt.ToValue("")
		}
	}
	if len(v.joining) >= v.eng.opts.MaxCallStack {
		v.throwRange("Array.prototype.join: arrays nested too deeply")
	}
	v.joining = append(v.joining, o)
	defer func() { v.joining = v.joining[:len(v.joining)-1] }()

	n := toLength(o.Get("length"))
	sep := v.comma
	if s := call.Argument(0); !goja.IsUndefined(s) {
		sep = v.str(s)
	}
	if n == 0 {
		return v.rt.ToValue("")
	}
	v.overCap("Array.prototype.join", float64(n-1)*float64(sep.Length())*charBytes)
	var b goja.StringBuilder
	size := 0.0
	var key []byte
	for i := int64(0); i < n; i++ {
		if i&4095 == 4095 && v.stopped() {
			v.throwRange("Array.prototype.join: interrupted")
		}
		if i > 0 {
			b.WriteString(sep)
			size += float64(sep.Length())
		}
		key = strconv.AppendInt(key[:0], i, 10)
		el := o.Get(string(key))
		if el == nil || goja.IsUndefined(el) || goja.IsNull(el) {
			continue
		}
		s := v.str(el)
		size += float64(s.Length())
		v.overCap("Array.prototype.join", size*charBytes)
		b.WriteString(s)
	}
	return b.String()
}

// capStringify is JSON.stringify(value, replacer, space) with its output
// counted as it is produced: a replacer (the script's, if it gave a
// function, called first) sees every value that goes out and throws once
// the output would pass the cap. A replacer array is applied by goja as
// usual; the values it lets through are not counted (docs/security.md).
func (v *vm) capStringify(orig goja.Callable) func(goja.FunctionCall) goja.Value {
	return func(call goja.FunctionCall) goja.Value {
		replacer := call.Argument(1)
		if obj, ok := replacer.(*goja.Object); ok {
			if _, callable := goja.AssertFunction(obj); !callable && obj.ClassName() == "Array" {
				return v.callOrig(orig, goja.Undefined(), call.Arguments...)
			}
		}
		user, _ := goja.AssertFunction(replacer)
		size := 0.0
		count := v.rt.ToValue(func(c goja.FunctionCall) goja.Value {
			key, val := c.Argument(0), c.Argument(1)
			if user != nil {
				var err error
				if val, err = user(c.This, key, val); err != nil {
					panic(err)
				}
			}
			size += float64(v.str(key).Length()) + 4 // quotes, colon, comma
			switch {
			case goja.IsString(val):
				size += float64(val.(goja.String).Length()) + 2
			case goja.IsNumber(val):
				size += 24
			default:
				size += 5
			}
			v.overCap("JSON.stringify", size*charBytes)
			return val
		})
		return v.callOrig(orig, goja.Undefined(), call.Argument(0), count, call.Argument(2))
	}
}

// callOrig calls a built-in, turning its JavaScript exception back into a
// throw in the calling script.
func (v *vm) callOrig(fn goja.Callable, this goja.Value, args ...goja.Value) goja.Value {
	res, err := fn(this, args...)
	if err != nil {
		panic(err)
	}
	return res
}

// str converts a value to a JavaScript string, as String(x) would.
func (v *vm) str(x goja.Value) goja.String {
	if s, ok := x.(goja.String); ok {
		return s
	}
	s, _ := v.rt.ToValue(x.String()).(goja.String) // String() runs an object's toString
	return s
}

// toLength is ECMAScript's ToLength, capped to what an int64 holds.
func toLength(x goja.Value) int64 {
	if x == nil {
		return 0
	}
	f := x.ToFloat()
	if math.IsNaN(f) || f <= 0 {
		return 0
	}
	return int64(min(math.Floor(f), 1<<53-1))
}

// relIndex resolves a relative start or end argument against length n.
func relIndex(x goja.Value, n, def int64) int64 {
	if x == nil || goja.IsUndefined(x) {
		return def
	}
	f := x.ToFloat()
	switch {
	case math.IsNaN(f):
		return 0
	case f < 0:
		return max(n+int64(max(f, -1<<53)), 0)
	}
	return min(int64(min(f, 1<<53)), n)
}
