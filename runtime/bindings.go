package runtime

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"

	"github.com/dop251/goja"

	"github.com/wsgw/wsgw"
	"github.com/wsgw/wsgw/internal/httperr"
)

// newConsole makes console.log/info/warn/error/debug write structured log
// lines tagged with the event's route and socket_id.
func (v *vm) newConsole() *goja.Object {
	console := v.rt.NewObject()
	levels := map[string]slog.Level{
		"log": slog.LevelInfo, "info": slog.LevelInfo, "debug": slog.LevelDebug,
		"warn": slog.LevelWarn, "error": slog.LevelError,
	}
	for name, level := range levels {
		_ = console.Set(name, func(call goja.FunctionCall) goja.Value {
			v.log(level, call.Arguments)
			return goja.Undefined()
		})
	}
	return console
}

func (v *vm) log(level slog.Level, args []goja.Value) {
	logger := v.eng.opts.Logger
	ctx := v.ctx
	if ctx == nil {
		ctx = context.Background()
	}
	if !logger.Enabled(ctx, level) {
		return
	}
	var b strings.Builder
	for i, a := range args {
		if i > 0 {
			b.WriteByte(' ')
		}
		if s, err := v.text(a); err == nil {
			b.WriteString(s)
		} else {
			b.WriteString(a.String())
		}
	}
	attrs := []slog.Attr{slog.String("source", "script"), slog.String("event", v.cur.Type.String())}
	if c := v.cur.Conn; c != nil {
		attrs = append(attrs, slog.String("route", c.Info().Route), slog.String("socket_id", c.Info().ID))
	}
	logger.LogAttrs(ctx, level, b.String(), attrs...)
}

// newWebsocket makes the Websocket global: the five service operations. Each
// returns the error object {type, error, status} instead of throwing.
func (v *vm) newWebsocket() *goja.Object {
	ws := v.rt.NewObject()
	ops := map[string]func(wsgw.SocketService, context.Context, goja.FunctionCall) (goja.Value, error){
		"list":     v.wsList,
		"info":     v.wsInfo,
		"send":     v.wsSend,
		"close":    v.wsClose,
		"closeAll": v.wsCloseAll,
		// Users and groups (groups.go).
		"sendToUser": v.wsSendToUser,
		"closeUser":  v.wsCloseUser,
		"join":       v.wsJoin,
		"leave":      v.wsLeave,
		"publish":    v.wsPublish,
		"broadcast":  v.wsBroadcast,
	}
	for name, op := range ops {
		_ = ws.Set(name, func(call goja.FunctionCall) goja.Value {
			svc := v.eng.opts.Service
			if svc == nil {
				return v.errorValue(wsgw.Errorf(wsgw.EUnavailable, "the Websocket service is not available"))
			}
			ctx, cancel := v.callContext()
			defer cancel()
			result, err := op(svc, ctx, call)
			if err != nil {
				return v.errorValue(err)
			}
			return result
		})
	}
	return ws
}

// callContext bounds a service call by the running script's deadline: the
// watchdog cannot interrupt Go code, the context can.
func (v *vm) callContext() (context.Context, context.CancelFunc) {
	parent := v.ctx
	if parent == nil {
		parent = context.Background()
	}
	if v.deadline.IsZero() {
		return context.WithCancel(parent)
	}
	return context.WithDeadline(parent, v.deadline)
}

func (v *vm) errorValue(err error) goja.Value {
	b := httperr.BodyOf(err)
	o := v.rt.NewObject()
	_ = o.Set("type", b.Type)
	_ = o.Set("error", b.Error)
	_ = o.Set("status", b.Status)
	return o
}

// argObject returns the call's first argument as an object, or a 400 error.
func (v *vm) argObject(call goja.FunctionCall, op string, required bool) (*goja.Object, error) {
	a := call.Argument(0)
	if goja.IsUndefined(a) || goja.IsNull(a) {
		if required {
			return nil, wsgw.Errorf(wsgw.EInvalid, "Websocket.%s needs an object argument", op)
		}
		return nil, nil
	}
	obj, ok := a.(*goja.Object)
	if !ok {
		return nil, wsgw.Errorf(wsgw.EInvalid, "Websocket.%s needs an object argument", op)
	}
	return obj, nil
}

// field returns obj[name], or nil when it is absent, undefined or null.
func field(obj *goja.Object, name string) goja.Value {
	if obj == nil {
		return nil
	}
	val := obj.Get(name)
	if val == nil || goja.IsUndefined(val) || goja.IsNull(val) {
		return nil
	}
	return val
}

func (v *vm) socketID(call goja.FunctionCall, op string) (*goja.Object, string, error) {
	obj, err := v.argObject(call, op, true)
	if err != nil {
		return nil, "", err
	}
	id := field(obj, "socket_id")
	if id == nil || !goja.IsString(id) || id.String() == "" {
		return nil, "", wsgw.Errorf(wsgw.EInvalid, "Websocket.%s: socket_id must be a non-empty string", op)
	}
	return obj, id.String(), nil
}

func (v *vm) wsList(svc wsgw.SocketService, ctx context.Context, call goja.FunctionCall) (goja.Value, error) {
	obj, err := v.argObject(call, "list", false)
	if err != nil {
		return nil, err
	}
	if user := field(obj, "user_id"); user != nil {
		ids, err := svc.ListUser(ctx, user.String())
		if err != nil {
			return nil, err
		}
		return v.stringArray(ids), nil
	}
	group := field(obj, "group")
	limitVal, cursorVal := field(obj, "limit"), field(obj, "cursor")
	limit, cursor := 0, ""
	if limitVal != nil {
		limit = int(limitVal.ToInteger())
		if limit < 1 {
			return nil, wsgw.Errorf(wsgw.EInvalid, "Websocket.list: limit must be a positive integer")
		}
	}
	if cursorVal != nil {
		cursor = cursorVal.String()
	}
	var ids []string
	var next string
	if group != nil {
		ids, next, err = svc.ListGroup(ctx, group.String(), cursor, limit)
	} else {
		ids, next, err = svc.List(ctx, cursor, limit)
	}
	if err != nil {
		return nil, err
	}
	arr := v.stringArray(ids)
	if limitVal == nil && cursorVal == nil {
		return arr, nil
	}
	page := v.rt.NewObject()
	_ = page.Set("ids", arr)
	if next == "" {
		_ = page.Set("cursor", goja.Null())
	} else {
		_ = page.Set("cursor", next)
	}
	return page, nil
}

func (v *vm) wsInfo(svc wsgw.SocketService, ctx context.Context, call goja.FunctionCall) (goja.Value, error) {
	_, id, err := v.socketID(call, "info")
	if err != nil {
		return nil, err
	}
	s, err := svc.Info(ctx, id)
	if err != nil {
		return nil, err
	}
	return v.jsonValue(s)
}

// jsonValue gives a script the value's JSON form, so that a script sees the
// same fields as a REST client (an info answer has exactly the keys REST has).
func (v *vm) jsonValue(x any) (goja.Value, error) {
	b, err := json.Marshal(x)
	if err != nil {
		return nil, err
	}
	var plain any
	if err := json.Unmarshal(b, &plain); err != nil {
		return nil, err
	}
	return v.plainValue(plain), nil
}

func (v *vm) wsSend(svc wsgw.SocketService, ctx context.Context, call goja.FunctionCall) (goja.Value, error) {
	obj, id, err := v.socketID(call, "send")
	if err != nil {
		return nil, err
	}
	m, err := v.frameArg(obj, "send")
	if err != nil {
		return nil, err
	}
	if err := svc.Send(ctx, id, m); err != nil {
		return nil, err
	}
	return goja.Null(), nil
}

// frameArg takes the message of an operation's argument, with its type and
// its STOMP destination and headers, encoded and charged against the
// event's send caps.
func (v *vm) frameArg(obj *goja.Object, op string) (*wsgw.Message, error) {
	msg := field(obj, "message")
	if msg == nil {
		return nil, wsgw.Errorf(wsgw.EInvalid, "Websocket.%s: message is required", op)
	}
	m, err := v.addressed(msg, obj)
	if err != nil {
		return nil, wsgw.Errorf(wsgw.EInvalid, "Websocket.%s: %v", op, err)
	}
	if err := v.charge(len(m.Data)); err != nil {
		v.throwRange("Websocket." + op + ": " + err.Error()) // a cap, not a service answer: it throws
	}
	return m, nil
}

func (v *vm) wsClose(svc wsgw.SocketService, ctx context.Context, call goja.FunctionCall) (goja.Value, error) {
	obj, id, err := v.socketID(call, "close")
	if err != nil {
		return nil, err
	}
	code, reason, err := closeArgs(obj, "close")
	if err != nil {
		return nil, err
	}
	if err := svc.CloseSocket(ctx, id, code, reason); err != nil {
		return nil, err
	}
	return goja.Null(), nil
}

// closeArgs takes the code (default 1000) and reason of a close.
func closeArgs(obj *goja.Object, op string) (int, string, error) {
	code, reason := 1000, ""
	if c := field(obj, "code"); c != nil {
		code = int(c.ToInteger())
	}
	if err := wsgw.ValidCloseCode(code); err != nil {
		return 0, "", wsgw.Errorf(wsgw.EInvalid, "Websocket.%s: %v", op, err)
	}
	if r := field(obj, "reason"); r != nil {
		reason = r.String()
	}
	return code, reason, nil
}

func (v *vm) wsCloseAll(svc wsgw.SocketService, ctx context.Context, _ goja.FunctionCall) (goja.Value, error) {
	n, err := svc.CloseAll(ctx)
	if err != nil {
		return nil, err
	}
	return v.rt.ToValue(n), nil
}

func (v *vm) stringArray(ss []string) *goja.Object {
	vals := make([]any, len(ss))
	for i, s := range ss {
		vals[i] = s
	}
	return v.rt.NewArray(vals...)
}
