package runtime

import (
	"encoding/base64"
	"errors"
	"unsafe"

	"github.com/dop251/goja"

	"github.com/wsgw/wsgw"
	"github.com/wsgw/wsgw/stomp"
)

// infoKeys are the fields of websocketInfo, in a fixed order for Keys().
var infoKeys = []string{"uri", "type", "route", "headers", "message", "message_type", "socket_id",
	"timestamp", "parameters", "close_code", "close_reason", "auth", "subprotocol", "stomp", "destination",
	"state", "user_id", "send", "close", "setUser", "join", "leave"}

// infoObject is websocketInfo: a read-only view of the vm's current event.
// Fields are made into JavaScript values only when a script reads them.
type infoObject struct{ v *vm }

func (o infoObject) Get(key string) goja.Value {
	v := o.v
	ev := &v.cur
	if ev.Conn == nil {
		return nil
	}
	switch key {
	case "type":
		return v.types[ev.Type]
	case "message":
		return v.messageValue()
	case "message_type":
		if ev.Type != Data {
			return nil
		}
		if ev.Binary {
			return v.binType
		}
		return v.textType
	case "send":
		return v.send
	case "close":
		return v.close
	case "socket_id":
		return v.rt.ToValue(ev.Conn.Info().ID)
	case "uri":
		return v.rt.ToValue(ev.Conn.Info().URI)
	case "route":
		return v.rt.ToValue(ev.Conn.Info().Route)
	case "stomp":
		if ev.Frame == nil {
			return nil
		}
		if v.stomp == nil {
			v.stomp = v.frameValue(ev.Frame)
		}
		return v.stomp
	case "destination":
		if ev.Frame == nil {
			return nil
		}
		return v.rt.ToValue(ev.Destination)
	case "subprotocol":
		return v.rt.ToValue(ev.Conn.Info().Subprotocol)
	case "timestamp":
		return v.rt.ToValue(ev.Timestamp)
	case "headers":
		if v.headers == nil {
			v.headers = v.stringMap(ev.Conn.Info().Headers)
		}
		return v.headers
	case "parameters":
		if v.params == nil {
			v.params = v.stringMap(ev.Conn.Info().Parameters)
		}
		return v.params
	case "close_code":
		if ev.Type != Close {
			return nil
		}
		return v.rt.ToValue(ev.CloseCode)
	case "close_reason":
		if ev.Type != Close {
			return nil
		}
		return v.rt.ToValue(ev.CloseReason)
	case "state":
		return v.stateValue()
	case "user_id":
		if u := ev.Conn.User(); u != "" {
			return v.rt.ToValue(u)
		}
		return goja.Null()
	case "setUser":
		return v.setUserFn
	case "join":
		return v.joinFn
	case "leave":
		return v.leaveFn
	case "auth":
		if v.auth == nil {
			v.auth = goja.Null()
			if claims := ev.Conn.Auth(); claims != nil {
				v.auth = v.plainValue(claims)
			}
		}
		return v.auth
	}
	return nil
}

// Set lets a script replace websocketInfo.state; every other field is
// read-only.
func (o infoObject) Set(key string, val goja.Value) bool {
	if key != "state" || o.v.cur.Conn == nil {
		return false
	}
	o.v.state = val
	return true
}
func (o infoObject) Has(key string) bool { return o.Get(key) != nil }
func (o infoObject) Delete(string) bool  { return false }

func (o infoObject) Keys() []string {
	keys := make([]string, 0, len(infoKeys))
	for _, k := range infoKeys {
		if o.Get(k) != nil {
			keys = append(keys, k)
		}
	}
	return keys
}

func (v *vm) messageValue() goja.Value {
	if v.message != nil {
		return v.message
	}
	ev := &v.cur
	switch {
	case ev.Type != Data:
		v.message = v.rt.ToValue("")
	case ev.Binary:
		v.message = v.rt.ToValue(base64.StdEncoding.EncodeToString(ev.Data))
	default:
		v.message = v.rt.ToValue(string(ev.Data))
	}
	return v.message
}

// plainValue copies decoded JSON (maps, slices, strings, numbers, booleans,
// nil) into fresh JavaScript values. goja would wrap a Go map so that the
// script's writes reach it; the connection's claims must not change.
func (v *vm) plainValue(x any) goja.Value {
	switch x := x.(type) {
	case nil:
		return goja.Null()
	case map[string]any:
		obj := v.rt.NewObject()
		for k, val := range x {
			_ = obj.Set(k, v.plainValue(val))
		}
		return obj
	case []any:
		vals := make([]any, len(x))
		for i, val := range x {
			vals[i] = v.plainValue(val)
		}
		return v.rt.NewArray(vals...)
	}
	return v.rt.ToValue(x)
}

// frameValue is websocketInfo.stomp: the frame's command and headers, the
// first of a repeated header winning as STOMP says.
func (v *vm) frameValue(f *stomp.Frame) goja.Value {
	headers := v.rt.NewObject()
	for _, h := range f.Headers {
		if headers.Get(h.Key) == nil {
			_ = headers.Set(h.Key, h.Value)
		}
	}
	obj := v.rt.NewObject()
	_ = obj.Set("command", f.Command)
	_ = obj.Set("headers", headers)
	return obj
}

func (v *vm) stringMap(m map[string]string) goja.Value {
	obj := v.rt.NewObject()
	for k, val := range m {
		_ = obj.Set(k, val)
	}
	return obj
}

// jsSend is websocketInfo.send(message[, type]).
func (v *vm) jsSend(call goja.FunctionCall) goja.Value {
	if v.cur.Type == Close {
		panic(v.rt.NewTypeError("websocketInfo.send: the connection is closed"))
	}
	var err error
	switch opt := call.Argument(1).(type) {
	case *goja.Object:
		var m *wsgw.Message
		if m, err = v.addressed(call.Argument(0), opt); err == nil {
			err = v.deliver(m)
		}
	default:
		typ := ""
		if !goja.IsUndefined(opt) && !goja.IsNull(opt) {
			typ = opt.String()
		}
		err = v.sendValue(call.Argument(0), typ)
	}
	if err != nil {
		if errors.Is(err, errSendLimit) {
			v.throwRange("websocketInfo.send: " + err.Error())
		}
		panic(v.rt.NewTypeError("websocketInfo.send: " + err.Error()))
	}
	return goja.Undefined()
}

// jsClose is websocketInfo.close([code[, reason]]).
func (v *vm) jsClose(call goja.FunctionCall) goja.Value {
	if v.cur.Type == Close {
		panic(v.rt.NewTypeError("websocketInfo.close: the connection is closed"))
	}
	code := 1000
	if c := call.Argument(0); !goja.IsUndefined(c) && !goja.IsNull(c) {
		code = int(c.ToInteger())
	}
	reason := ""
	if r := call.Argument(1); !goja.IsUndefined(r) && !goja.IsNull(r) {
		reason = r.String()
	}
	if err := wsgw.ValidCloseCode(code); err != nil {
		panic(v.rt.NewTypeError("websocketInfo.close: " + err.Error()))
	}
	_ = v.cur.Conn.Close(code, reason)
	return goja.Undefined()
}

// sendValue sends val to the current connection: strings as they are, other
// values as their JSON; typ "data-binary" means val is base64.
func (v *vm) sendValue(val goja.Value, typ string) error {
	payload, binary, err := v.encode(val, typ)
	if err != nil {
		return err
	}
	if err := v.charge(len(payload)); err != nil {
		return err
	}
	_ = v.cur.Conn.Send(payload, binary)
	return nil
}

// addressed reads send's options object, {type, destination, headers}, into
// the message that carries val.
func (v *vm) addressed(val goja.Value, opts *goja.Object) (*wsgw.Message, error) {
	typ := ""
	if t := field(opts, "type"); t != nil {
		typ = t.String()
	}
	payload, binary, err := v.encode(val, typ)
	if err != nil {
		return nil, err
	}
	m := &wsgw.Message{Data: payload, Binary: binary, JSON: !binary && !goja.IsString(val)}
	if d := field(opts, "destination"); d != nil {
		m.Destination = d.String()
	}
	if hv := field(opts, "headers"); hv != nil {
		h, ok := hv.(*goja.Object)
		if !ok {
			return nil, errors.New("headers must be an object of strings")
		}
		m.Headers = make(map[string]string, len(h.Keys()))
		for _, k := range h.Keys() {
			m.Headers[k] = h.Get(k).String()
		}
	}
	return m, nil
}

// deliver sends m to the current connection: to its subscriptions of
// m.Destination when it is a STOMP connection.
func (v *vm) deliver(m *wsgw.Message) error {
	if err := v.charge(len(m.Data)); err != nil {
		return err
	}
	_ = v.cur.Conn.Deliver(m)
	return nil
}

// encode turns a script value into frame bytes. Text is not copied: the bytes
// alias the JavaScript string, which is immutable, so nobody may write to them.
func (v *vm) encode(val goja.Value, typ string) (payload []byte, binary bool, err error) {
	switch typ {
	case "", wsgw.MessageText:
		s, err := v.text(val)
		if err != nil {
			return nil, false, err
		}
		return unsafe.Slice(unsafe.StringData(s), len(s)), false, nil
	case wsgw.MessageBinary:
		if !goja.IsString(val) {
			return nil, true, errors.New(`a "data-binary" message must be a base64 string`)
		}
		b, err := wsgw.DecodeBase64(val.String())
		return b, true, err
	}
	return nil, false, errors.New(`type must be "data-text" or "data-binary"`)
}

// text returns a string as it is and any other value as its JSON.
func (v *vm) text(val goja.Value) (string, error) {
	if goja.IsString(val) {
		return val.String(), nil
	}
	v.stack.lend() // a returned value is stringified after the script's call
	js, err := v.stringify(goja.Undefined(), val)
	if err != nil {
		return "", err
	}
	if goja.IsUndefined(js) { // functions and symbols have no JSON
		return "", errors.New("the message has no JSON form")
	}
	return js.String(), nil
}
