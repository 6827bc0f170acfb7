package runtime

import (
	"testing"

	"github.com/dop251/goja"
)

// TestValueStackLent: goja's value stack is found, goja drops it after each
// top-level call (else lending would be needless), and a call uses the
// array lent to it.
func TestValueStackLent(t *testing.T) {
	rt := goja.New()
	s := newValueStack(rt)
	if s.field == nil {
		t.Fatal("goja's vm.stack was not found: its value stack is no longer lent (valuestack.go)")
	}
	val, err := rt.RunString(`(function(a) { var b = a + 1; return b * 2 })`)
	if err != nil {
		t.Fatal(err)
	}
	fn, _ := goja.AssertFunction(val)
	for i := range 3 {
		if *s.field != nil {
			t.Fatal("goja kept its value stack after a call: lending it is needless")
		}
		s.lend()
		got, err := fn(goja.Undefined(), rt.ToValue(i))
		if err != nil {
			t.Fatal(err)
		}
		if got.ToInteger() != int64(2*(i+1)) {
			t.Fatalf("call %d = %v, want %d", i, got, 2*(i+1))
		}
		if s.buf[0] == nil {
			t.Fatal("the call did not use the lent array")
		}
		s.reclaim()
		if s.buf[0] != nil {
			t.Fatal("reclaim left a value in the array")
		}
	}
}
