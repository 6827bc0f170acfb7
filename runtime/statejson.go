package runtime

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"unicode/utf8"

	"github.com/dop251/goja"
	"github.com/dop251/goja/unistring"
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
		if p := plainObjectOf(obj); p.values != nil {
			if out, ok, err := v.encodePlain(b, p, depth, limit); ok || err != nil {
				return out, false, err
			}
		}
		b = append(b, '{')
		first := true
		for _, k := range obj.Keys() {
			if containsRuneError(k) { // a lone surrogate, which Keys turned into U+FFFD
				return b, false, errNotPlain
			}
			var wrote bool
			if b, wrote, err = v.encodeMember(b, k, obj.Get(k), first, depth, limit); err != nil {
				return b, false, err
			}
			first = first && !wrote
		}
		return append(b, '}'), false, nil
	}
	return b, false, errNotPlain
}

// encodePlain appends a plain object as JSON.stringify would, from goja's
// own list of its property names: the order Keys gives when no name is an
// array index (JavaScript lists those first; goja sorts its list only when
// asked for the keys). ok is false, with nothing appended, for an object
// that needs Keys: a name that may be an array index or is not ASCII, or a
// property that is not a plain value (an accessor, a non-enumerable one).
// The names are copied before any value is encoded, as JSON.stringify
// lists them before it reads a value: reading toJSON can run a getter.
func (v *vm) encodePlain(b []byte, p plainObject, depth, limit int) (out []byte, ok bool, err error) {
	values := *p.values
	for _, name := range *p.names {
		if len(name) > 0 && name[0] >= '0' && name[0] <= '9' || name.AsUtf16() != nil || isProperty(values[name]) {
			return b, false, nil
		}
	}
	start := len(v.encNames)
	v.encNames = append(v.encNames, *p.names...)
	end := len(v.encNames)
	defer func() { v.encNames = v.encNames[:start] }()
	b = append(b, '{')
	first := true
	for i := start; i < end; i++ {
		name := v.encNames[i]
		val := (*p.values)[name]
		if val == nil || isProperty(val) { // a getter deleted or redefined it
			return b, true, errNotPlain
		}
		var wrote bool
		if b, wrote, err = v.encodeMember(b, string(name), val, first, depth, limit); err != nil {
			return b, true, err
		}
		first = first && !wrote
	}
	return append(b, '}'), true, nil
}

// encodeMember appends "name":val to an object's JSON, after a comma unless
// it is the first; wrote is false, with nothing appended, for a value that
// has no JSON (JSON.stringify leaves the key out).
func (v *vm) encodeMember(b []byte, name string, val goja.Value, first bool, depth, limit int) (out []byte, wrote bool, err error) {
	mark := len(b)
	if !first {
		b = append(b, ',')
	}
	b = appendQuoted(b, name)
	b = append(b, ':')
	b, undef, err := v.encodeState(b, val, depth+1, limit)
	switch {
	case err != nil:
		return b, false, err
	case undef:
		return b[:mark], false, nil
	}
	return b, true, nil
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
	v.decNames = v.decNames[:0]
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
		p := plainObjectOf(obj)
		d.space()
		if d.i < len(d.s) && d.s[d.i] == '}' {
			d.i++
			return obj
		}
		start := len(d.v.decNames)
		for !d.err {
			d.space()
			key, ok := d.key()
			if !ok {
				return d.fail()
			}
			d.space()
			if d.i >= len(d.s) || d.s[d.i] != ':' {
				return d.fail()
			}
			d.i++
			val := d.value(depth + 1)
			if d.err {
				return d.fail()
			}
			// A data property, as JSON.parse makes it: "__proto__" is a key
			// there, where Set would change the prototype. A plain object
			// takes it straight into its values, and its names at the end.
			var err error
			switch {
			case p.values != nil:
				if _, dup := (*p.values)[key]; !dup {
					d.v.decNames = append(d.v.decNames, key)
				}
				(*p.values)[key] = val
			case key == "__proto__":
				err = obj.DefineDataProperty(key.String(), val, goja.FLAG_TRUE, goja.FLAG_TRUE, goja.FLAG_TRUE)
			default:
				err = obj.Set(key.String(), val)
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
				if p.values != nil {
					*p.names = d.v.nameArena(d.v.decNames[start:])
					d.v.decNames = d.v.decNames[:start]
				}
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
		if n, ok := smallInt(d.s[start:d.i]); ok {
			return rt.ToValue(n)
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

// smallInt reads a number that is only digits, at most 15 of them, and
// not -0: an integer a float64 holds exactly, without strconv.ParseFloat.
func smallInt(num []byte) (int64, bool) {
	digits := num
	if len(digits) > 0 && digits[0] == '-' {
		digits = digits[1:]
	}
	if len(digits) == 0 || len(digits) > 15 {
		return 0, false
	}
	var n int64
	for _, c := range digits {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	if len(digits) < len(num) {
		if n == 0 {
			return 0, false // -0 is a float
		}
		n = -n
	}
	return n, true
}

// maxStateKeys bounds the property names a runtime interns.
const maxStateKeys = 1024

// key reads a property name at d.i; a name without escapes is interned, so
// that reading the same state again allocates no string for it.
func (d *stateDecoder) key() (unistring.String, bool) {
	intern := false
	if d.i < len(d.s) && d.s[d.i] == '"' {
		if end := bytes.IndexByte(d.s[d.i+1:], '"'); end >= 0 {
			raw := d.s[d.i+1 : d.i+1+end]
			if bytes.IndexByte(raw, '\\') < 0 {
				if k, ok := d.v.stateKeys[string(raw)]; ok {
					d.i += end + 2
					return k, true
				}
				intern = true
			}
		}
	}
	s, ok := d.str()
	if !ok {
		return "", false
	}
	k := unistring.NewFromString(s)
	if intern {
		if d.v.stateKeys == nil || len(d.v.stateKeys) >= maxStateKeys {
			d.v.stateKeys = make(map[string]unistring.String)
		}
		d.v.stateKeys[s] = k
	}
	return k, true
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
