// Package runtime runs endpoint scripts in goja: each script compiled once,
// a bounded pool of runtimes and the worker goroutines that run events on
// them, the websocketInfo and Websocket bindings, console logging and a
// watchdog that interrupts scripts past their time or memory. It knows
// nothing of WebSocket libraries or stores: connections reach it through
// the Conn interface, and the Websocket global calls the wsgw.SocketService
// it is given at construction.
package runtime

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wsgw/wsgw"
	"github.com/wsgw/wsgw/metrics"
	"github.com/wsgw/wsgw/stomp"
)

// EventType is the kind of connection event.
type EventType uint8

// The connection events, in the order a connection sees them.
const (
	Open EventType = iota
	Data
	Close
	// Subscribe and Unsubscribe are a STOMP client's SUBSCRIBE and
	// UNSUBSCRIBE frames, between its open and close events.
	Subscribe
	Unsubscribe

	numEventTypes = int(Unsubscribe) + 1
)

func (t EventType) String() string {
	switch t {
	case Open:
		return "open"
	case Data:
		return "data"
	case Close:
		return "close"
	case Subscribe:
		return "subscribe"
	case Unsubscribe:
		return "unsubscribe"
	}
	return "unknown"
}

// Conn is the connection an event belongs to.
type Conn interface {
	// Info is the socket's registry record; it does not change.
	Info() *wsgw.SocketInfo
	// Auth returns the verified token claims, nil when the endpoint has no auth.
	Auth() map[string]any
	// Send queues a frame without blocking. payload is read-only: it may
	// alias an immutable JavaScript string.
	Send(payload []byte, binary bool) error
	// Close closes the connection with code and reason.
	Close(code int, reason string) error
	// Deliver queues a message addressed to a STOMP destination: a STOMP
	// connection sends it to its subscriptions of m.Destination, a plain
	// one sends m.Data as Send does.
	Deliver(m *wsgw.Message) error
	// State is websocketInfo.state as last saved, as JSON; the engine reads
	// it only during the connection's events, and never writes to it.
	State() []byte
	// SaveState keeps a copy of a new state (JSON): the engine calls it
	// after an open or data event that changed the state, and reuses
	// state's bytes afterwards.
	SaveState(state []byte) error
	// User is the user the connection is bound to, "" for none; SetUser
	// binds it ("" unbinds).
	User() string
	SetUser(user string) error
	// Join and Leave put the connection in a group and take it out.
	Join(group string) error
	Leave(group string) error
}

// Event is one connection event handed to a script.
type Event struct {
	Type EventType
	Conn Conn
	// Data is a data event's payload; it is only read during Run.
	Data   []byte
	Binary bool
	// Timestamp is when the event was received, in ms since the Unix epoch.
	Timestamp   int64
	CloseCode   int
	CloseReason string
	// Frame is the STOMP frame behind an event of a STOMP endpoint
	// (websocketInfo.stomp; its Body is not read), nil elsewhere.
	Frame *stomp.Frame
	// Destination is a STOMP event's destination: the SEND's, or the
	// subscription's.
	Destination string
}

// ErrRefused is the end of a subscribe event whose script returned false.
var ErrRefused = errors.New("runtime: the script refused the subscription")

// Limits bound what one event of a script may do: the limits.script_*
// settings of the configuration, which reads them into this type.
type Limits struct {
	// Timeout interrupts a script that runs longer (default DefaultTimeout).
	Timeout time.Duration `yaml:"script_timeout"`
	// MaxSendsPerEvent and MaxSendBytesPerEvent cap the frames and payload
	// bytes one event may send, through websocketInfo.send, its return value
	// and Websocket.send together. goja has no heap limit; this keeps a
	// script from queueing unbounded memory in a loop.
	MaxSendsPerEvent     int `yaml:"max_sends_per_event"`
	MaxSendBytesPerEvent int `yaml:"max_send_bytes_per_event"`
	// MaxMemory bounds what one event may allocate, in bytes: the watchdog
	// interrupts an event once the process has allocated more than this
	// since it started, and the built-ins that allocate a script-chosen
	// amount in one call refuse a result over it (memory.go).
	MaxMemory int64 `yaml:"script_memory"`
	// MaxStateBytes bounds websocketInfo.state as JSON; an event that
	// leaves a larger one fails as if it had thrown, and the state it
	// had before stays.
	MaxStateBytes int `yaml:"max_state_bytes"`
}

// The defaults of Limits.
const (
	DefaultTimeout              = time.Second
	DefaultMaxSendsPerEvent     = 10000
	DefaultMaxSendBytesPerEvent = 16 << 20
	DefaultMaxMemory            = 64 << 20
	DefaultMaxStateBytes        = 16 << 10
)

// WithDefaults returns l with every zero field set to its default.
func (l Limits) WithDefaults() Limits {
	if l.Timeout <= 0 {
		l.Timeout = DefaultTimeout
	}
	if l.MaxSendsPerEvent <= 0 {
		l.MaxSendsPerEvent = DefaultMaxSendsPerEvent
	}
	if l.MaxSendBytesPerEvent <= 0 {
		l.MaxSendBytesPerEvent = DefaultMaxSendBytesPerEvent
	}
	if l.MaxMemory <= 0 {
		l.MaxMemory = DefaultMaxMemory
	}
	if l.MaxStateBytes <= 0 {
		l.MaxStateBytes = DefaultMaxStateBytes
	}
	return l
}

// Options configure an Engine. The zero value works: defaults are filled in by New.
type Options struct {
	// PoolSize is how many scripts may run at once (default 4 per CPU, at
	// least 8).
	PoolSize int
	Limits
	// MaxCallStack caps the JavaScript call depth (default 1024).
	MaxCallStack int
	// Service answers the Websocket global; nil makes every call answer 503.
	Service wsgw.SocketService
	Logger  *slog.Logger
	Metrics *metrics.Metrics
}

func (o *Options) setDefaults() {
	if o.PoolSize <= 0 {
		o.PoolSize = max(8, 4*runtime.GOMAXPROCS(0))
	}
	o.Limits = o.Limits.WithDefaults()
	if o.MaxCallStack <= 0 {
		o.MaxCallStack = 1024
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Metrics == nil {
		o.Metrics = metrics.New(nil)
	}
}

// Engine runs scripts on a pool of goja runtimes.
type Engine struct {
	opts Options
	idle chan *vm
	// slots holds a token for every runtime that exists, so at most PoolSize
	// are ever made; they are created on first need.
	slots chan struct{}

	mu   sync.Mutex
	vms  []*vm
	done chan struct{}
	once sync.Once

	// work hands dispatched events to the workers (dispatch.go).
	work       chan *dispatch
	dispatches sync.Pool

	// allocs is the process's cumulative heap allocations as the watchdog
	// last read them (memory.go).
	allocs atomic.Int64
}

// New starts an engine, its workers and its watchdog. Call Close to stop
// them.
func New(opts Options) *Engine {
	opts.setDefaults()
	e := &Engine{
		opts:  opts,
		idle:  make(chan *vm, opts.PoolSize),
		slots: make(chan struct{}, opts.PoolSize),
		done:  make(chan struct{}),
		work:  make(chan *dispatch),
	}
	e.dispatches.New = func() any { return &dispatch{done: make(chan struct{}, 1)} }
	for range opts.PoolSize {
		go e.worker()
	}
	reader := newAllocReader()
	e.allocs.Store(reader.read())
	go e.watchdog(reader)
	return e
}

// PoolSize is how many scripts may run at once.
func (e *Engine) PoolSize() int { return e.opts.PoolSize }

// Errors a run can end with, besides *ScriptError.
var (
	ErrClosed = errors.New("runtime: engine closed")
)

// ScriptError is a script that threw, or was interrupted.
type ScriptError struct {
	Handler string
	// Timeout is true when the script ran past the engine's timeout.
	Timeout bool
	// Memory is true when the event allocated past Options.MaxMemory: the
	// watchdog interrupted it, or a capped built-in refused a result.
	Memory  bool
	Message string
}

func (e *ScriptError) Error() string { return e.Handler + ": " + e.Message }

// Interrupted reports whether the event was stopped for what it used (time
// or memory) rather than for what it threw.
func (e *ScriptError) Interrupted() bool { return e.Timeout || e.Memory }

// PanicError is a Go panic raised during a run: a bug in a binding or in the
// service it called, not in the script. The caller should end the connection.
type PanicError struct {
	Handler string
	Value   any
	Stack   []byte
}

func (e *PanicError) Error() string { return fmt.Sprintf("%s: panic: %v", e.Handler, e.Value) }

type interruptReason string

const (
	reasonTimeout  interruptReason = "script timeout exceeded"
	reasonMemory   interruptReason = "script memory limit exceeded"
	reasonShutdown interruptReason = "gateway shutting down"
	reasonClosed   interruptReason = "script engine closed"
)

// Run runs h for ev on a pooled runtime and sends the script's return value,
// if any, to the connection. It blocks while every runtime is busy, until ctx ends.
func (e *Engine) Run(ctx context.Context, h *Handler, ev *Event) error {
	select {
	case <-e.done:
		return ErrClosed
	default:
	}
	start := time.Now()
	v, err := e.get(ctx)
	if err != nil {
		return err
	}
	hm := e.handlerMetrics(h)
	hm.runs[ev.Type].Inc()
	err = e.runOn(ctx, v, h, ev, start.Add(e.opts.Timeout))
	e.opts.Metrics.ScriptDuration.Observe(time.Since(start).Seconds())
	if err != nil && err != ErrRefused {
		hm.errors[ev.Type].Inc()
		var se *ScriptError
		if errors.As(err, &se) && se.Timeout {
			e.opts.Metrics.ScriptTimeouts.Inc()
		}
		if se != nil && se.Memory {
			e.opts.Metrics.ScriptMemory.Inc()
		}
	}
	return err
}

// runOn runs h on v and returns v to the pool; a Go panic out of a binding
// (or anything it called) becomes a *PanicError and v is discarded, since
// goja's state is unknown once a panic has unwound through it. An
// interrupted runtime is discarded too: goja keeps an interrupted run's
// stack, and with it whatever the script built.
func (e *Engine) runOn(ctx context.Context, v *vm, h *Handler, ev *Event, deadline time.Time) (err error) {
	defer func() {
		if p := recover(); p != nil {
			e.discard(v)
			err = &PanicError{Handler: h.Name, Value: p, Stack: debug.Stack()}
			return
		}
		if v.interrupted {
			e.discard(v)
			return
		}
		e.put(v)
	}()
	return v.run(ctx, h, ev, deadline)
}

// discard forgets a runtime and frees its slot, so a fresh one takes its place.
func (e *Engine) discard(v *vm) {
	e.mu.Lock()
	e.vms = slices.DeleteFunc(e.vms, func(x *vm) bool { return x == v })
	e.mu.Unlock()
	<-e.slots
}

type handlerMetrics struct {
	runs, errors [numEventTypes]prometheus.Counter
}

func (e *Engine) handlerMetrics(h *Handler) *handlerMetrics {
	if hm := h.events.Load(); hm != nil {
		return hm
	}
	hm := &handlerMetrics{}
	label, version := h.Label, strconv.FormatInt(h.Version, 10)
	if label == "" {
		label = h.Name
	}
	for t := range EventType(numEventTypes) {
		hm.runs[t] = e.opts.Metrics.ScriptRuns.WithLabelValues(t.String(), label, version)
		hm.errors[t] = e.opts.Metrics.ScriptErrors.WithLabelValues(t.String(), label, version)
	}
	h.events.Store(hm)
	return hm
}

func (e *Engine) get(ctx context.Context) (*vm, error) {
	select {
	case v := <-e.idle:
		return v, nil
	default:
	}
	select {
	case v := <-e.idle:
		return v, nil
	case e.slots <- struct{}{}:
		v, err := e.newVM()
		if err != nil {
			<-e.slots
			return nil, err
		}
		return v, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("runtime: waiting for a free runtime: %w", ctx.Err())
	case <-e.done:
		return nil, ErrClosed
	}
}

func (e *Engine) put(v *vm) { e.idle <- v }

// Interrupt stops the open and data scripts running now; close events and
// later runs proceed. Shutdown uses it so that close events need not wait
// for busy scripts.
func (e *Engine) Interrupt() { e.interruptAll(reasonShutdown) }

// Close interrupts every running script, stops the workers and makes later
// runs fail with ErrClosed.
func (e *Engine) Close() {
	e.once.Do(func() { close(e.done) })
	e.interruptAll(reasonClosed)
}

func (e *Engine) interruptAll(reason interruptReason) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, v := range e.vms {
		v.interrupt(reason, 0, 0)
	}
}

// watchdog interrupts scripts past their deadline or their memory limit.
// One goroutine for the pool costs less per event than a timer per run. It
// ticks every millisecond: a string that doubles in a loop takes longer
// than that to double past the limit (memory.go).
func (e *Engine) watchdog(allocs *allocReader) {
	t := time.NewTicker(time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-e.done:
			return
		case now := <-t.C:
			n := allocs.read()
			e.allocs.Store(n)
			e.mu.Lock()
			for _, v := range e.vms {
				v.interrupt(reasonTimeout, now.UnixNano(), n)
			}
			e.mu.Unlock()
		}
	}
}
