package runtime

import (
	"reflect"
	"slices"
	"unsafe"

	"github.com/dop251/goja"
	"github.com/dop251/goja/unistring"
)

// The state's encoder and decoder (statejson.go) read and fill goja's plain
// objects, what {} and JSON.parse make, through goja's unexported fields:
// Object.Keys and Object.Set cost more allocations than the rest of a data
// event that counts its messages in the state (docs/BENCHMARKS.md, "Echo
// with a state counter"). If a goja version renames or retypes a field, the
// layout is not found, plainObjectOf always answers nil, and the state goes
// through Keys and Set as before (TestPlainObjectLayout fails).

// plainLayout is where goja keeps a plain object's properties.
type plainLayout struct {
	self      int          // the index of goja.Object's objectImpl field
	base      reflect.Type // goja's *baseObject, the objectImpl of a plain object
	values    uintptr      // the offset of its property values, map[unistring.String]goja.Value
	propNames uintptr      // the offset of its property names, in order, []unistring.String
	property  reflect.Type // goja's *valueProperty: an accessor or a property with a flag unset
}

var plain, plainFound = findPlainLayout()

// findPlainLayout checks goja's layout on a probe object: a data property
// set by Set is in the values under its name and last in the names, one
// defined non-enumerable is a property of its own type.
func findPlainLayout() (plainLayout, bool) {
	rt := goja.New()
	obj := rt.NewObject()
	sf, ok := reflect.TypeFor[goja.Object]().FieldByName("self")
	if !ok || sf.Type.Kind() != reflect.Interface || len(sf.Index) != 1 {
		return plainLayout{}, false
	}
	l := plainLayout{self: sf.Index[0]}
	impl := reflect.ValueOf(obj).Elem().Field(l.self).Elem()
	if impl.Kind() != reflect.Pointer || impl.Type().Elem().Kind() != reflect.Struct {
		return plainLayout{}, false
	}
	l.base = impl.Type()
	values, ok := l.base.Elem().FieldByName("values")
	if !ok || values.Type != reflect.TypeFor[map[unistring.String]goja.Value]() {
		return plainLayout{}, false
	}
	names, ok := l.base.Elem().FieldByName("propNames")
	if !ok || names.Type != reflect.TypeFor[[]unistring.String]() {
		return plainLayout{}, false
	}
	l.values, l.propNames = values.Offset, names.Offset
	if obj.Set("a", 1) != nil || obj.DefineDataProperty("b", rt.ToValue(2), goja.FLAG_TRUE, goja.FLAG_FALSE, goja.FLAG_TRUE) != nil {
		return plainLayout{}, false
	}
	p := l.of(obj)
	a, b := (*p.values)["a"], (*p.values)["b"]
	if !slices.Equal(*p.names, []unistring.String{"a", "b"}) || a == nil || !a.StrictEquals(rt.ToValue(1)) || b == nil {
		return plainLayout{}, false
	}
	l.property = reflect.TypeOf(b)
	if l.property == reflect.TypeOf(a) {
		return plainLayout{}, false
	}
	return l, true
}

// plainObject is a plain object's properties, as goja keeps them.
type plainObject struct {
	values *map[unistring.String]goja.Value
	names  *[]unistring.String
}

func (l *plainLayout) of(obj *goja.Object) plainObject {
	impl := reflect.ValueOf(obj).Elem().Field(l.self).Elem()
	if impl.Type() != l.base {
		return plainObject{}
	}
	p := impl.UnsafePointer()
	return plainObject{
		values: (*map[unistring.String]goja.Value)(unsafe.Add(p, l.values)),
		names:  (*[]unistring.String)(unsafe.Add(p, l.propNames)),
	}
}

// plainObjectOf is obj's properties when obj is a plain object (its
// values nil otherwise, and always when goja's layout was not found). Its
// class is not checked: "Object" for {} and JSON.parse, another for the few
// built-ins goja makes the same way.
func plainObjectOf(obj *goja.Object) plainObject {
	if !plainFound {
		return plainObject{}
	}
	return plain.of(obj)
}

// isProperty reports whether a value in the values is a property rather
// than the value itself: an accessor, or a property that is read-only,
// non-enumerable or non-configurable.
func isProperty(val goja.Value) bool { return reflect.TypeOf(val) == plain.property }

// nameChunk is how many property names a runtime's arena holds.
const nameChunk = 256

// nameArena copies the names of a decoded object into the runtime's arena:
// one allocation for many objects rather than one each. Each object gets
// its names with no room to spare, so goja copies them before it appends
// one, and changes them in place only below their length (it deletes and
// sorts in place); no object touches another's.
func (v *vm) nameArena(names []unistring.String) []unistring.String {
	if cap(v.names)-len(v.names) < len(names) {
		v.names = make([]unistring.String, 0, max(nameChunk, len(names)))
	}
	start := len(v.names)
	v.names = append(v.names, names...)
	return v.names[start:len(v.names):len(v.names)]
}
