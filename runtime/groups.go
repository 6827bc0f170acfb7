package runtime

import (
	"context"

	"github.com/dop251/goja"

	"github.com/wsgw/wsgw"
)

// The Websocket operations on users and groups. Names are checked by the
// service, which answers a bad one with 400 like the REST API.

// stringField returns obj[name] as a string, or a 400 naming it.
func stringField(obj *goja.Object, op, name string) (string, error) {
	val := field(obj, name)
	if val == nil || !goja.IsString(val) {
		return "", wsgw.Errorf(wsgw.EInvalid, "Websocket.%s: %s must be a string", op, name)
	}
	return val.String(), nil
}

func (v *vm) wsSendToUser(svc wsgw.SocketService, ctx context.Context, call goja.FunctionCall) (goja.Value, error) {
	obj, err := v.argObject(call, "sendToUser", true)
	if err != nil {
		return nil, err
	}
	user, err := stringField(obj, "sendToUser", "user_id")
	if err != nil {
		return nil, err
	}
	m, err := v.frameArg(obj, "sendToUser")
	if err != nil {
		return nil, err
	}
	n, err := svc.SendToUser(ctx, user, m)
	if err != nil {
		return nil, err
	}
	return v.rt.ToValue(n), nil
}

func (v *vm) wsCloseUser(svc wsgw.SocketService, ctx context.Context, call goja.FunctionCall) (goja.Value, error) {
	obj, err := v.argObject(call, "closeUser", true)
	if err != nil {
		return nil, err
	}
	user, err := stringField(obj, "closeUser", "user_id")
	if err != nil {
		return nil, err
	}
	code, reason, err := closeArgs(obj, "closeUser")
	if err != nil {
		return nil, err
	}
	n, err := svc.CloseUser(ctx, user, code, reason)
	if err != nil {
		return nil, err
	}
	return v.rt.ToValue(n), nil
}

func (v *vm) wsJoin(svc wsgw.SocketService, ctx context.Context, call goja.FunctionCall) (goja.Value, error) {
	return v.membership(ctx, call, "join", svc.Join)
}

func (v *vm) wsLeave(svc wsgw.SocketService, ctx context.Context, call goja.FunctionCall) (goja.Value, error) {
	return v.membership(ctx, call, "leave", svc.Leave)
}

func (v *vm) membership(ctx context.Context, call goja.FunctionCall, op string, do func(context.Context, string, string) error) (goja.Value, error) {
	obj, id, err := v.socketID(call, op)
	if err != nil {
		return nil, err
	}
	group, err := stringField(obj, op, "group")
	if err != nil {
		return nil, err
	}
	if err := do(ctx, id, group); err != nil {
		return nil, err
	}
	return goja.Null(), nil
}

func (v *vm) wsPublish(svc wsgw.SocketService, ctx context.Context, call goja.FunctionCall) (goja.Value, error) {
	obj, err := v.argObject(call, "publish", true)
	if err != nil {
		return nil, err
	}
	group, err := stringField(obj, "publish", "group")
	if err != nil {
		return nil, err
	}
	m, exclude, err := v.fanout(obj, "publish")
	if err != nil {
		return nil, err
	}
	if err := svc.Publish(ctx, group, m, exclude); err != nil {
		return nil, err
	}
	return goja.Null(), nil
}

func (v *vm) wsBroadcast(svc wsgw.SocketService, ctx context.Context, call goja.FunctionCall) (goja.Value, error) {
	obj, err := v.argObject(call, "broadcast", true)
	if err != nil {
		return nil, err
	}
	m, exclude, err := v.fanout(obj, "broadcast")
	if err != nil {
		return nil, err
	}
	if err := svc.Broadcast(ctx, m, exclude); err != nil {
		return nil, err
	}
	return goja.Null(), nil
}

// fanout takes the message (with its headers) and exclude of a publish or
// broadcast.
func (v *vm) fanout(obj *goja.Object, op string) (*wsgw.Message, []string, error) {
	var exclude []string
	if ex := field(obj, "exclude"); ex != nil {
		if err := v.rt.ExportTo(ex, &exclude); err != nil {
			return nil, nil, wsgw.Errorf(wsgw.EInvalid, "Websocket.%s: exclude must be an array of socket IDs", op)
		}
	}
	m, err := v.frameArg(obj, op)
	return m, exclude, err
}
