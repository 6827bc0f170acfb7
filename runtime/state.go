package runtime

import (
	"bytes"
	"fmt"

	"github.com/dop251/goja"

	"github.com/wsgw/wsgw"
)

// stateValue is websocketInfo.state: the connection's saved state, parsed
// once per event on first read.
func (v *vm) stateValue() goja.Value {
	if v.state != nil {
		return v.state
	}
	val, err := v.parse(goja.Undefined(), v.rt.ToValue(string(v.cur.Conn.State())))
	if err != nil { // the gateway only saves what JSON.stringify made
		val = v.rt.NewObject()
	}
	v.state = val
	return val
}

// saveState saves websocketInfo.state after an open or data event, when
// the script touched it and its JSON changed. A state that has no JSON
// form, or is over limits.max_state_bytes, fails the event as a throw
// would, and the previous state stays.
func (v *vm) saveState() error {
	if v.state == nil {
		return nil
	}
	js, err := v.stringify(goja.Undefined(), v.state)
	if err != nil {
		v.eng.opts.Metrics.StateRefused.Inc()
		return fmt.Errorf("websocketInfo.state could not be saved: %w", err)
	}
	state := []byte(wsgw.EmptyState)
	if !goja.IsUndefined(js) {
		state = []byte(js.String())
	}
	if bytes.Equal(state, v.cur.Conn.State()) {
		return nil
	}
	if limit := v.eng.opts.MaxStateBytes; len(state) > limit {
		v.eng.opts.Metrics.StateRefused.Inc()
		return fmt.Errorf("websocketInfo.state is %d bytes as JSON, over limits.max_state_bytes (%d): not saved", len(state), limit)
	}
	return v.cur.Conn.SaveState(state)
}

// jsSetUser is websocketInfo.setUser(id): a string of 1-256 characters
// binds the connection to that user, null unbinds it.
func (v *vm) jsSetUser(call goja.FunctionCall) goja.Value {
	v.notClosed("setUser")
	a := call.Argument(0)
	user := ""
	if !goja.IsNull(a) {
		if !goja.IsString(a) {
			panic(v.rt.NewTypeError("websocketInfo.setUser: the user ID must be a string or null"))
		}
		user = a.String()
		if err := wsgw.ValidUser(user); err != nil {
			panic(v.rt.NewTypeError("websocketInfo.setUser: " + err.Error()))
		}
	}
	if err := v.cur.Conn.SetUser(user); err != nil {
		panic(v.rt.NewTypeError("websocketInfo.setUser: " + wsgw.ErrorMessage(err)))
	}
	return goja.Undefined()
}

// jsJoin is websocketInfo.join(group).
func (v *vm) jsJoin(call goja.FunctionCall) goja.Value {
	v.group("join", call, v.cur.Conn.Join)
	return goja.Undefined()
}

// jsLeave is websocketInfo.leave(group).
func (v *vm) jsLeave(call goja.FunctionCall) goja.Value {
	v.group("leave", call, v.cur.Conn.Leave)
	return goja.Undefined()
}

// group checks a group name and hands it to do: a bad name throws a
// TypeError, a socket in max_groups_per_socket groups already a RangeError.
func (v *vm) group(op string, call goja.FunctionCall, do func(string) error) {
	v.notClosed(op)
	a := call.Argument(0)
	if !goja.IsString(a) {
		panic(v.rt.NewTypeError("websocketInfo." + op + ": the group name must be a string"))
	}
	name := a.String()
	if err := wsgw.ValidGroup(name); err != nil {
		panic(v.rt.NewTypeError("websocketInfo." + op + ": " + err.Error()))
	}
	if err := do(name); err != nil {
		if wsgw.ErrorCode(err) == wsgw.EInvalid {
			v.throwRange("websocketInfo." + op + ": " + wsgw.ErrorMessage(err))
		}
		panic(v.rt.NewTypeError("websocketInfo." + op + ": " + wsgw.ErrorMessage(err)))
	}
}

// notClosed throws a TypeError in a close event: the connection is gone.
func (v *vm) notClosed(op string) {
	if v.cur.Type == Close {
		panic(v.rt.NewTypeError("websocketInfo." + op + ": the connection is closed"))
	}
}
