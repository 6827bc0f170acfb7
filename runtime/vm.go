package runtime

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dop251/goja"
	"github.com/dop251/goja/unistring"

	"github.com/wsgw/wsgw"
)

// vm is one pooled goja runtime with the bindings it was set up with. It runs
// one event at a time; the bindings act on whichever event is running, so no
// object is made per event.
type vm struct {
	eng *Engine
	rt  *goja.Runtime

	info      *goja.Object // websocketInfo: a dynamic object over cur
	args      []goja.Value // the handler's arguments, [info], made once rather than per call
	send      goja.Value
	close     goja.Value
	stringify goja.Callable // JSON.stringify as it was before any script ran
	parse     goja.Callable // JSON.parse as it was before any script ran
	setUserFn goja.Value
	joinFn    goja.Value
	leaveFn   goja.Value
	types     [numEventTypes]goja.Value // "open", "data", "close", ...
	textType  goja.Value
	binType   goja.Value
	rangeErr  goja.Value // the RangeError constructor, as it was before any script ran

	handlers map[*Handler]goja.Callable
	// created lists the globals scripts made since the last sweep.
	created []string

	// The event being run, and what was derived from it lazily.
	cur      Event
	ctx      context.Context
	deadline time.Time
	message  goja.Value
	headers  goja.Value
	params   goja.Value
	auth     goja.Value
	stomp    goja.Value
	// state is websocketInfo.state once the script read or set it (state.go).
	state goja.Value
	// stateBuf is where the state is encoded, kept from event to event;
	// encNames holds the property names of the objects being encoded, and
	// decNames those of the objects being decoded (statejson.go).
	stateBuf []byte
	encNames []unistring.String
	decNames []unistring.String
	// names is the arena of the decoded objects' property names.
	names []unistring.String
	// stateKeys interns the property names the state's decoder reads.
	stateKeys map[string]unistring.String
	// What the event has sent, against the per-event caps; overSent holds
	// the error of the first send refused, so the event ends as a script
	// error even if the script caught it.
	sentFrames int
	sentBytes  int
	overSent   error
	// overMemory holds the first refusal of a capped built-in (memory.go),
	// so the event fails even if the script caught it.
	overMemory string
	// stack is the value stack lent to goja for each call (valuestack.go).
	stack valueStack
	// joining is the stack of arrays Array.prototype.join is inside.
	joining []*goja.Object
	comma   goja.String
	// halted is set when the watchdog interrupts the event, for Go loops
	// that goja's interrupt does not reach; interrupted makes the engine
	// discard the runtime afterwards.
	halted      atomic.Bool
	interrupted bool

	// mu guards the watchdog's view: runningUntil is the deadline in Unix ns
	// while a script runs, 0 otherwise.
	mu           sync.Mutex
	runningUntil int64
	runningType  EventType
	// allocBase is the process's cumulative heap allocations when the
	// event started, as the watchdog last read them.
	allocBase int64
}

// maxCachedHandlers bounds the per-runtime cache of instantiated handlers; it
// is cleared past this, so deploys that replace scripts never grow it for good.
const maxCachedHandlers = 64

func (e *Engine) newVM() (*vm, error) {
	rt := goja.New()
	rt.SetMaxCallStackSize(e.opts.MaxCallStack)
	v := &vm{eng: e, rt: rt, handlers: make(map[*Handler]goja.Callable), stack: newValueStack(rt)}
	stringify, ok := goja.AssertFunction(rt.Get("JSON").ToObject(rt).Get("stringify"))
	if !ok {
		return nil, errors.New("runtime: JSON.stringify is not a function")
	}
	v.stringify = stringify
	parse, ok := goja.AssertFunction(rt.Get("JSON").ToObject(rt).Get("parse"))
	if !ok {
		return nil, errors.New("runtime: JSON.parse is not a function")
	}
	v.parse = parse
	v.rangeErr = rt.Get("RangeError")
	for t := range EventType(numEventTypes) {
		v.types[t] = rt.ToValue(t.String())
	}
	v.textType = rt.ToValue(wsgw.MessageText)
	v.binType = rt.ToValue(wsgw.MessageBinary)
	v.send = rt.ToValue(v.jsSend)
	v.close = rt.ToValue(v.jsClose)
	v.setUserFn = rt.ToValue(v.jsSetUser)
	v.joinFn = rt.ToValue(v.jsJoin)
	v.leaveFn = rt.ToValue(v.jsLeave)
	v.info = rt.NewDynamicObject(infoObject{v})
	v.args = []goja.Value{v.info}
	v.comma = v.str(rt.ToValue(","))
	if err := v.installGlobals(); err != nil {
		return nil, err
	}
	if err := v.installCaps(); err != nil {
		return nil, err
	}
	// The runtime's own JSON (sends, console) goes through the capped
	// JSON.stringify as it was before any script ran.
	stringify, ok = goja.AssertFunction(rt.Get("JSON").ToObject(rt).Get("stringify"))
	if !ok {
		return nil, errors.New("runtime: JSON.stringify is not a function")
	}
	v.stringify = stringify
	e.mu.Lock()
	e.vms = append(e.vms, v)
	e.mu.Unlock()
	return v, nil
}

// globalTrap puts a Proxy between globalThis and its prototype. Assigning a
// global that does not exist (x = 1 without a declaration, globalThis.x = 1)
// reaches the proxy's set trap, which records the name; so finding what to
// sweep after an event costs nothing when scripts create no globals.
const globalTrap = `(function(record) {
  var trap = new Proxy(Object.create(Object.getPrototypeOf(globalThis)), {
    set: function(target, key, value, receiver) {
      if (receiver !== globalThis) return Reflect.set(target, key, value, receiver);
      record(String(key));
      Object.defineProperty(receiver, key, {value: value, writable: true, enumerable: true, configurable: true});
      return true;
    }
  });
  Object.setPrototypeOf(globalThis, trap);
})`

// installGlobals defines console and Websocket, read-only, and the global trap.
func (v *vm) installGlobals() error {
	g := v.rt.GlobalObject()
	for name, obj := range map[string]*goja.Object{"console": v.newConsole(), "Websocket": v.newWebsocket()} {
		if err := g.DefineDataProperty(name, obj, goja.FLAG_FALSE, goja.FLAG_FALSE, goja.FLAG_FALSE); err != nil {
			return err
		}
	}
	setup, err := v.rt.RunString(globalTrap)
	if err != nil {
		return err
	}
	install, _ := goja.AssertFunction(setup)
	_, err = install(goja.Undefined(), v.rt.ToValue(func(name string) { v.created = append(v.created, name) }))
	return err
}

// run calls h for ev with the watchdog armed for deadline.
func (v *vm) run(ctx context.Context, h *Handler, ev *Event, deadline time.Time) (err error) {
	v.cur = *ev
	v.ctx = ctx
	v.deadline = deadline
	v.mu.Lock()
	v.runningUntil = deadline.UnixNano()
	v.runningType = ev.Type
	v.allocBase = v.eng.allocs.Load()
	v.mu.Unlock()
	defer v.finish()

	fn, err := v.handler(h)
	if err == nil {
		var result goja.Value
		v.stack.lend()
		result, err = fn(goja.Undefined(), v.args...)
		if err == nil && v.overMemory != "" {
			err = &memoryError{v.overMemory}
		}
		if err == nil && ev.Type != Close {
			err = v.saveState()
		}
		switch {
		case err != nil:
		case ev.Type == Subscribe:
			if result != nil && result.StrictEquals(v.rt.ToValue(false)) {
				err = ErrRefused
			}
		case ev.Type != Close && ev.Type != Unsubscribe && result != nil && !goja.IsUndefined(result) && !goja.IsNull(result):
			err = v.sendValue(result, "")
		}
		if err == nil {
			err = v.overSent
		}
	}
	if err == ErrRefused {
		return err
	}
	if err != nil {
		return v.scriptError(h, err)
	}
	return nil
}

// finish disarms the watchdog, then clears an interrupt that may have landed
// after the script returned, so it cannot hit the next event.
func (v *vm) finish() {
	v.mu.Lock()
	v.runningUntil = 0
	v.mu.Unlock()
	v.rt.ClearInterrupt()
	v.sweepGlobals()
	v.cur = Event{}
	v.ctx = nil
	v.message, v.headers, v.params, v.auth, v.state, v.stomp = nil, nil, nil, nil, nil, nil
	v.sentFrames, v.sentBytes, v.overSent, v.overMemory = 0, 0, nil, ""
	v.joining = v.joining[:0]
	v.halted.Store(false)
	v.stack.reclaim()
}

// errSendLimit is the refusal of a send past the per-event caps.
var errSendLimit = errors.New("send limit")

// charge counts a frame of n bytes against the event's send caps, or
// refuses it with an error that names the limit.
func (v *vm) charge(n int) error {
	o := &v.eng.opts
	var err error
	switch {
	case v.sentFrames >= o.MaxSendsPerEvent:
		err = fmt.Errorf("%w: this event already sent %d frames (limits.max_sends_per_event)", errSendLimit, v.sentFrames)
	case v.sentBytes+n > o.MaxSendBytesPerEvent:
		err = fmt.Errorf("%w: %d more bytes would take this event past %d bytes (limits.max_send_bytes_per_event)", errSendLimit, n, o.MaxSendBytesPerEvent)
	default:
		v.sentFrames++
		v.sentBytes += n
		return nil
	}
	if v.overSent == nil {
		v.overSent = err
	}
	return err
}

// throwRange throws a RangeError with msg into the running script.
func (v *vm) throwRange(msg string) {
	obj, err := v.rt.New(v.rangeErr, v.rt.ToValue(msg))
	if err != nil {
		panic(v.rt.NewTypeError(msg))
	}
	panic(obj)
}

// interrupt stops the running script at once (now == 0), or (now > 0) if it
// passed its deadline or the process allocated more than MaxMemory since it
// started (allocs is the current count); a shutdown spares close events,
// which it waits for.
func (v *vm) interrupt(reason interruptReason, now, allocs int64) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.runningUntil == 0 {
		return
	}
	switch {
	case now == 0:
		if reason == reasonShutdown && v.runningType == Close {
			return
		}
	case now >= v.runningUntil:
		reason = reasonTimeout
	case allocs-v.allocBase > v.eng.opts.MaxMemory:
		reason = reasonMemory
	default:
		return
	}
	v.runningUntil = 0
	v.halted.Store(true)
	v.rt.Interrupt(reason)
}

// sweepGlobals deletes the globals a script created, so that no state passes
// from one event to the next through a pooled runtime.
func (v *vm) sweepGlobals() {
	if len(v.created) == 0 {
		return
	}
	g := v.rt.GlobalObject()
	for _, k := range v.created {
		_ = g.Delete(k)
	}
	v.created = v.created[:0]
}

// handler returns h's function in this runtime, instantiating it on first use.
func (v *vm) handler(h *Handler) (goja.Callable, error) {
	if fn, ok := v.handlers[h]; ok {
		return fn, nil
	}
	val, err := v.rt.RunProgram(h.prog)
	if err != nil {
		return nil, err
	}
	fn, ok := goja.AssertFunction(val)
	if !ok {
		return nil, errors.New(HandlerFunction + " is not a function")
	}
	if len(v.handlers) >= maxCachedHandlers {
		clear(v.handlers)
	}
	v.handlers[h] = fn
	return fn, nil
}

func (v *vm) scriptError(h *Handler, err error) error {
	se := &ScriptError{Handler: h.Name, Message: err.Error()}
	var ie *goja.InterruptedError
	var ex *goja.Exception
	var me *memoryError
	switch {
	case errors.As(err, &ie):
		reason, _ := ie.Value().(interruptReason)
		se.Timeout = reason == reasonTimeout
		se.Memory = reason == reasonMemory
		se.Message = string(reason)
		if se.Memory {
			se.Message = fmt.Sprintf("%s: the process allocated more than limits.script_memory (%d bytes) while it ran", reason, v.eng.opts.MaxMemory)
		}
		v.interrupted = true
	case errors.As(err, &me):
		se.Memory = true
		se.Message = me.msg
	case errors.As(err, &ex):
		se.Message = ex.Error()
	}
	if !se.Memory && !se.Timeout && v.overMemory != "" { // a capped built-in threw and nothing caught it
		se.Memory = true
		se.Message = v.overMemory
	}
	return se
}

// memoryError is an event that hit a capped built-in (memory.go).
type memoryError struct{ msg string }

func (e *memoryError) Error() string { return e.msg }
