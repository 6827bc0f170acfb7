package runtime

import (
	"bytes"
	"errors"
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
	data := v.cur.Conn.State()
	val, ok := v.decodeState(data)
	if !ok {
		var err error
		if val, err = v.parse(goja.Undefined(), v.rt.ToValue(string(data))); err != nil {
			val = v.rt.NewObject() // the gateway only saves what JSON.stringify made
		}
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
	limit := v.eng.opts.MaxStateBytes
	state, undefined, err := v.encodeState(v.stateBuf[:0], v.state, 0, limit)
	switch {
	case errors.Is(err, errNotPlain):
		state, undefined, err = v.stringifyState()
	case err == nil:
		v.stateBuf = state[:0] // reused by the next event of this runtime
	}
	switch {
	case errors.Is(err, errStateTooBig) || (err == nil && len(state) > limit):
		v.eng.opts.Metrics.StateRefused.Inc()
		return fmt.Errorf("websocketInfo.state is over limits.max_state_bytes (%d bytes as JSON): not saved", limit)
	case err != nil:
		v.eng.opts.Metrics.StateRefused.Inc()
		return fmt.Errorf("websocketInfo.state could not be saved: %w", err)
	case undefined:
		state = wsgw.EmptyState
	}
	if bytes.Equal(state, v.cur.Conn.State()) {
		return nil
	}
	return v.cur.Conn.SaveState(state)
}

// stringifyState is the state through JSON.stringify, capped like every
// other stringify of a script.
func (v *vm) stringifyState() ([]byte, bool, error) {
	js, err := v.stringify(goja.Undefined(), v.state)
	if err != nil {
		return nil, false, err
	}
	if goja.IsUndefined(js) {
		return nil, true, nil
	}
	return []byte(js.String()), false, nil
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
