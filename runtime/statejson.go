package runtime

import (
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"unicode/utf8"

	"github.com/dop251/goja"
)

// goja's JSON.parse and JSON.stringify go through encoding/json's token
// reader and cost more than the rest of a data event for a state of a few
// fields. websocketInfo.state is plain data in almost every script, so it is
// read and written here, in Go, and handed to JSON.parse and the capped
// JSON.stringify only when it holds something else (a Date, a toJSON
// method, a Map, a boxed primitive, a string with a lone surrogate, a cycle).

// errNotPlain sends a state to JSON.stringify.
var errNotPlain = errors.New("not plain data")

// errStateTooBig stops encoding as soon as the state is over its limit, so
// a state that would be huge as JSON is never built.
var errStateTooBig = errors.New("state too big")

// maxExactInt is the largest integer a float64 holds exactly (2^53).
const maxExactInt = 1 << 53

// maxStateDepth is how deep the Go encoder follows a state; deeper ones
// (and cycles) go to JSON.stringify, which throws on a cycle.
const maxStateDepth = 64

// encodeState appends val as JSON.stringify would write it. undefined
// reports that the value has no JSON (JSON.stringify returns undefined).
func (v *vm) encodeState(b []byte, val goja.Value, depth, limit int) (out []byte, undefined bool, err error) {
	if len(b) > limit {
		return b, false, errStateTooBig
	}
	switch {
	case val == nil || goja.IsUndefined(val):
		return b, true, nil
	case goja.IsNull(val):
		return append(b, "null"...), false, nil
	case goja.IsString(val):
		s := val.String()
		if !utf8.ValidString(s) || containsRuneError(s) {
			return b, false, errNotPlain
		}
		return appendQuoted(b, s), false, nil
	case goja.IsNumber(val):
		f := val.ToFloat()
		switch {
		case math.IsNaN(f) || math.IsInf(f, 0):
			return append(b, "null"...), false, nil
		case f == math.Trunc(f) && math.Abs(f) <= maxExactInt:
			// JavaScript writes such a number as its digits (and -0 as
			// "0"); appending them spares a string per number.
			return strconv.AppendInt(b, int64(f), 10), false, nil
		}
		return append(b, val.String()...), false, nil
	}
	obj, ok := val.(*goja.Object)
	if !ok {
		if bv, isBool := val.Export().(bool); isBool {
			return strconv.AppendBool(b, bv), false, nil
		}
		return b, false, errNotPlain // symbols and BigInts
	}
	if depth >= maxStateDepth {
		return b, false, errNotPlain
	}
	if _, callable := goja.AssertFunction(obj); callable {
		return b, true, nil
	}
	if toJSON := obj.Get("toJSON"); toJSON != nil && !goja.IsUndefined(toJSON) {
		return b, false, errNotPlain
	}
	switch obj.ClassName() {
	case "Array":
		n := obj.Get("length").ToInteger()
		b = append(b, '[')
		for i := range n {
			if i > 0 {
				b = append(b, ',')
			}
			var undef bool
			if b, undef, err = v.encodeState(b, obj.Get(strconv.FormatInt(i, 10)), depth+1, limit); err != nil {
				return b, false, err
			}
			if undef {
				b = append(b, "null"...)
			}
		}
		return append(b, ']'), false, nil
	case "Object":
		b = append(b, '{')
		first := true
		for _, k := range obj.Keys() {
			mark := len(b)
			if !first {
				b = append(b, ',')
			}
			b = appendQuoted(b, k)
			b = append(b, ':')
			var undef bool
			if b, undef, err = v.encodeState(b, obj.Get(k), depth+1, limit); err != nil {
				return b, false, err
			}
			if undef { // JSON.stringify leaves the key out
				b = b[:mark]
				continue
			}
			first = false
		}
		return append(b, '}'), false, nil
	}
	return b, false, errNotPlain
}

func containsRuneError(s string) bool {
	for _, r := range s {
		if r == utf8.RuneError {
			return true
		}
	}
	return false
}

// appendQuoted appends s as a JSON string, escaped as JSON.stringify does.
func appendQuoted(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\b':
			b = append(b, '\\', 'b')
		case '\f':
			b = append(b, '\\', 'f')
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		default:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		}
		start = i + 1
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// decodeState builds the JavaScript value of a saved state, as JSON.parse
// would; ok is false for anything it cannot read, which then goes to
// JSON.parse.
func (v *vm) decodeState(data []byte) (goja.Value, bool) {
	d := stateDecoder{v: v, s: data}
	val := d.value(0)
	d.space()
	if d.err || d.i != len(d.s) {
		return nil, false
	}
	return val, true
}

type stateDecoder struct {
	v   *vm
	s   []byte
	i   int
	err bool
}

func (d *stateDecoder) space() {
	for d.i < len(d.s) && (d.s[d.i] == ' ' || d.s[d.i] == '\n' || d.s[d.i] == '\r' || d.s[d.i] == '\t') {
		d.i++
	}
}

func (d *stateDecoder) fail() goja.Value {
	d.err = true
	return goja.Undefined()
}

func (d *stateDecoder) literal(word string, val goja.Value) goja.Value {
	if len(d.s)-d.i < len(word) || string(d.s[d.i:d.i+len(word)]) != word {
		return d.fail()
	}
	d.i += len(word)
	return val
}

func (d *stateDecoder) value(depth int) goja.Value {
	d.space()
	if d.err || d.i >= len(d.s) || depth > maxStateDepth {
		return d.fail()
	}
	rt := d.v.rt
	switch c := d.s[d.i]; {
	case c == '{':
		d.i++
		obj := rt.NewObject()
		d.space()
		if d.i < len(d.s) && d.s[d.i] == '}' {
			d.i++
			return obj
		}
		for !d.err {
			d.space()
			key, ok := d.str()
			if !ok {
				return d.fail()
			}
			d.space()
			if d.i >= len(d.s) || d.s[d.i] != ':' {
				return d.fail()
			}
			d.i++
			val := d.value(depth + 1)
			// A data property, as JSON.parse makes it: "__proto__" is a key
			// there, where Set would change the prototype.
			var err error
			if key == "__proto__" {
				err = obj.DefineDataProperty(key, val, goja.FLAG_TRUE, goja.FLAG_TRUE, goja.FLAG_TRUE)
			} else {
				err = obj.Set(key, val)
			}
			if err != nil {
				return d.fail()
			}
			d.space()
			if d.i < len(d.s) && d.s[d.i] == ',' {
				d.i++
				continue
			}
			if d.i < len(d.s) && d.s[d.i] == '}' {
				d.i++
				return obj
			}
			return d.fail()
		}
		return d.fail()
	case c == '[':
		d.i++
		var vals []any
		d.space()
		if d.i < len(d.s) && d.s[d.i] == ']' {
			d.i++
			return rt.NewArray()
		}
		for !d.err {
			vals = append(vals, d.value(depth+1))
			d.space()
			if d.i < len(d.s) && d.s[d.i] == ',' {
				d.i++
				continue
			}
			if d.i < len(d.s) && d.s[d.i] == ']' {
				d.i++
				return rt.NewArray(vals...)
			}
			return d.fail()
		}
		return d.fail()
	case c == '"':
		s, ok := d.str()
		if !ok {
			return d.fail()
		}
		return rt.ToValue(s)
	case c == 't':
		return d.literal("true", rt.ToValue(true))
	case c == 'f':
		return d.literal("false", rt.ToValue(false))
	case c == 'n':
		return d.literal("null", goja.Null())
	case c == '-' || (c >= '0' && c <= '9'):
		start := d.i
		for d.i < len(d.s) && (d.s[d.i] == '-' || d.s[d.i] == '+' || d.s[d.i] == '.' || d.s[d.i] == 'e' || d.s[d.i] == 'E' || (d.s[d.i] >= '0' && d.s[d.i] <= '9')) {
			d.i++
		}
		f, err := strconv.ParseFloat(string(d.s[start:d.i]), 64)
		if err != nil {
			return d.fail()
		}
		if i := int64(f); float64(i) == f && !(f == 0 && math.Signbit(f)) {
			return rt.ToValue(i)
		}
		return rt.ToValue(f)
	}
	return d.fail()
}

// str reads a JSON string at d.i.
func (d *stateDecoder) str() (string, bool) {
	if d.i >= len(d.s) || d.s[d.i] != '"' {
		return "", false
	}
	start, escaped := d.i, false
	for d.i++; d.i < len(d.s); d.i++ {
		switch d.s[d.i] {
		case '\\':
			escaped = true
			d.i++
		case '"':
			d.i++
			raw := d.s[start:d.i]
			if !escaped {
				inner := raw[1 : len(raw)-1]
				return string(inner), utf8.Valid(inner)
			}
			var s string
			if err := json.Unmarshal(raw, &s); err != nil {
				return "", false
			}
			return s, true
		}
	}
	return "", false
}
