package runtime

import (
	"reflect"
	"unsafe"

	"github.com/dop251/goja"
)

// goja drops its value stack whenever a top-level call returns (its
// Runtime.leave sets vm.stack to nil) and grows a new one on the next call,
// doubling from nothing: that was most of the bytes an event allocated
// (docs/BENCHMARKS.md, "Time per message"). valueStack lends each call of
// a runtime the same backing array instead, through goja's unexported
// field. If a goja version renames or retypes the field, lending is off
// (TestValueStackLent fails) and goja allocates as before.
type valueStack struct {
	field *[]goja.Value // the runtime's vm.stack; nil when it was not found
	buf   []goja.Value
}

// lentStack is how many values the lent array holds; a deeper script grows
// goja's own, for that call.
const lentStack = 128

func newValueStack(rt *goja.Runtime) valueStack {
	vm := reflect.ValueOf(rt).Elem().FieldByName("vm")
	if vm.Kind() != reflect.Pointer || vm.IsNil() {
		return valueStack{}
	}
	f := vm.Elem().FieldByName("stack")
	if f.Kind() != reflect.Slice || f.Type().Elem() != reflect.TypeFor[goja.Value]() {
		return valueStack{}
	}
	return valueStack{field: (*[]goja.Value)(unsafe.Pointer(f.UnsafeAddr())), buf: make([]goja.Value, lentStack)}
}

// lend gives goja the array, empty, before a top-level call, when goja has
// none (it has one only inside a call).
func (s *valueStack) lend() {
	if s.field != nil && *s.field == nil {
		*s.field = s.buf[:0]
	}
}

// reclaim clears the array after a call, so that it keeps nothing of the
// event alive.
func (s *valueStack) reclaim() { clear(s.buf) }
