// Package deploy is a node's deploy manager: what is deployed here (the
// endpoints, the router built from them, and the event handler), each
// deploy's version, and keeping all of it in line with the other nodes
// through the store's DeployRegistry. Deploys compile first and swap
// pointers, so events already running finish on the old script and the
// next event of every connection runs the new one. The gateway asks it for
// the endpoint of a request (Match) and the event handler.
package deploy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wsgw/wsgw"
	"github.com/wsgw/wsgw/metrics"
	"github.com/wsgw/wsgw/runtime"
	"github.com/wsgw/wsgw/store"
)

// Sockets closes the sockets of an endpoint that is undeployed: the
// gateway's connection table.
type Sockets interface {
	// CloseEndpoint closes, with 1001, every socket connected through ep.
	CloseEndpoint(ep *Endpoint)
}

// Options configure a Manager. Registry and Sockets are required.
type Options struct {
	// Registry shares deploys with the other nodes (store/memory's for a
	// single node).
	Registry store.DeployRegistry
	Sockets  Sockets
	// Env looks up the environment variables that hold the secrets of a
	// deployment's auth (hs256_secret_env, client_secret_env): each node
	// builds the check from the stored options and its own environment.
	// Nil means os.LookupEnv.
	Env     func(name string) (string, bool)
	Logger  *slog.Logger
	Metrics *metrics.Metrics
}

// Manager holds what this node has deployed.
type Manager struct {
	opts Options
	log  *slog.Logger

	mu sync.Mutex // guards endpoints and installs; readers use the atomics
	// serial runs this node's deploys, undeploys and the changes heard
	// from the registry one at a time: an API deploy reads the options it
	// keeps and a concurrent one must not slip in between, and the notice
	// of this node's own deploy must not install it ahead of the deploy.
	serial    sync.Mutex
	endpoints map[string]*Endpoint
	// removed is the version at which each path was last undeployed here,
	// guarded by serial: a registry notice of an older deploy, heard
	// after the undeploy, must not bring the path back.
	removed map[string]int64
	routes  atomic.Pointer[router]
	// eventHandler, when set, receives every event of every endpoint.
	eventHandler atomic.Pointer[runtime.Handler]
	handlerDep   atomic.Pointer[wsgw.Deployment]
	lastVersion  atomic.Int64
}

// New returns a manager with what the registry holds installed, watching
// it for the changes of every node from now on.
func New(opts Options) (*Manager, error) {
	if opts.Registry == nil || opts.Sockets == nil {
		return nil, errors.New("deploy: Options.Registry and Options.Sockets are required")
	}
	if opts.Env == nil {
		opts.Env = os.LookupEnv
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Metrics == nil {
		opts.Metrics = metrics.New(nil)
	}
	m := &Manager{opts: opts, log: opts.Logger, endpoints: map[string]*Endpoint{}, removed: map[string]int64{}}
	m.routes.Store(&router{})
	m.resync() // before the configuration deploys, so that they can adopt the cluster's versions
	opts.Registry.Watch(m.changed, m.resync)
	return m, nil
}

// Match returns the endpoint of an escaped request path and its path
// parameters, or nil.
func (m *Manager) Match(escapedPath string) (*Endpoint, map[string]string) {
	return m.routes.Load().match(escapedPath)
}

// EventHandler is the script that receives every event of every endpoint,
// nil when none is deployed.
func (m *Manager) EventHandler() *runtime.Handler { return m.eventHandler.Load() }

// Error is a refused deploy: which field of the deployment is wrong, and
// the *wsgw.Error that says how.
type Error struct {
	Field string // path, script, or an option's key (allowed_origins[0], auth.jwt.jwks_url)
	Err   error
}

func (e *Error) Error() string { return e.Field + ": " + e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// Deploy compiles dep's script and installs it: a new endpoint, a new
// version of an existing one, or (Path "") the event handler. A deploy from
// the API (Source "api") keeps every option of the endpoint it does not
// give. The deploy is stored in the registry first, and every node installs
// it. It answers the deployment as installed, with its version, and whether
// the path is new.
func (m *Manager) Deploy(ctx context.Context, dep wsgw.Deployment) (wsgw.Deployment, bool, error) {
	m.serial.Lock()
	defer m.serial.Unlock()
	return m.deploy(ctx, dep)
}

// deploy is Deploy under serial.
func (m *Manager) deploy(ctx context.Context, dep wsgw.Deployment) (wsgw.Deployment, bool, error) {
	if dep.DeployedAt.IsZero() {
		dep.DeployedAt = time.Now().UTC()
	}
	if dep.Source == "api" && dep.Path != "" {
		dep = m.keepOptions(dep)
	}
	dep.Options = dep.Options.Compact()
	p, err := m.prepare(dep)
	if err != nil {
		return wsgw.Deployment{}, false, err
	}
	created, err := m.commit(ctx, p)
	if err != nil {
		return wsgw.Deployment{}, false, err
	}
	return p.dep, created, nil
}

// DeployConfig deploys a configuration's endpoint or event handler. When the
// cluster already runs the same script and options at that path (another
// node, or this one before a restart, deployed it), this node adopts that
// version instead of making a new one.
func (m *Manager) DeployConfig(ctx context.Context, dep wsgw.Deployment) (wsgw.Deployment, error) {
	m.serial.Lock()
	defer m.serial.Unlock()
	if cur, err := m.Deployment(ctx, dep.Path); err == nil && sameDeployment(cur, dep) {
		return cur, nil
	}
	out, _, err := m.deploy(ctx, dep)
	return out, err
}

func sameDeployment(a, b wsgw.Deployment) bool {
	return a.Path == b.Path && a.Script == b.Script && a.Options.Equal(b.Options)
}

// keepOptions fills what an API deploy does not give from the endpoint
// deployed at its path.
func (m *Manager) keepOptions(dep wsgw.Deployment) wsgw.Deployment {
	m.mu.Lock()
	defer m.mu.Unlock()
	if ep := m.endpoints[dep.Path]; ep != nil {
		dep.Options = dep.Options.Keep(ep.Settings().dep.Options)
	}
	return dep
}

// Undeploy removes an endpoint (or, for "", the event handler), on every
// node. The path then answers 404; its sockets are closed with 1001 and
// their close events run the last script deployed.
func (m *Manager) Undeploy(ctx context.Context, path string) error {
	m.serial.Lock()
	defer m.serial.Unlock()
	if _, err := m.Deployment(ctx, path); err != nil {
		return err
	}
	reg := m.opts.Registry
	v, err := reg.NextVersion(ctx, m.lastVersion.Load())
	if err != nil {
		return registryError(err)
	}
	m.seen(v)
	ok, err := reg.Delete(ctx, path, v)
	if err != nil {
		return registryError(err)
	}
	if !ok {
		return wsgw.Errorf(wsgw.EConflict, "%s was deployed again meanwhile; it stays", describe(path))
	}
	m.uninstall(path, v)
	return nil
}

// Deployments lists the deployed endpoints, without their scripts, by path.
func (m *Manager) Deployments(context.Context) ([]wsgw.Deployment, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]wsgw.Deployment, 0, len(m.endpoints))
	for _, ep := range m.endpoints {
		out = append(out, ep.Settings().dep.Summary())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

// Deployment returns one endpoint's deployment (or, for "", the event
// handler's), with its script.
func (m *Manager) Deployment(_ context.Context, path string) (wsgw.Deployment, error) {
	if path == "" {
		if d := m.handlerDep.Load(); d != nil {
			return *d, nil
		}
		return wsgw.Deployment{}, wsgw.Errorf(wsgw.ENotFound, "no event handler is deployed")
	}
	m.mu.Lock()
	ep := m.endpoints[path]
	m.mu.Unlock()
	if ep == nil {
		return wsgw.Deployment{}, wsgw.Errorf(wsgw.ENotFound, "no endpoint %s", path)
	}
	return ep.Settings().dep, nil
}

// Check compiles and validates dep and builds its credential check, with
// the secrets of env (nil: os.LookupEnv), without deploying it, for --check.
func Check(dep wsgw.Deployment, env func(name string) (string, bool)) error {
	if _, err := compile(dep); err != nil {
		return err
	}
	if dep.Path == "" {
		return nil
	}
	if env == nil {
		env = os.LookupEnv
	}
	_, err := newSettings(dep, authEnv{lookup: env, log: slog.Default()}, nil)
	return err
}

// prepared is a deployment compiled and checked, ready to install once it
// has its version.
type prepared struct {
	dep      wsgw.Deployment
	h        *runtime.Handler
	settings *Settings // nil for the event handler
}

// prepare compiles dep and builds its settings, the credential check
// with this node's secrets.
func (m *Manager) prepare(dep wsgw.Deployment) (*prepared, error) {
	h, err := compile(dep)
	if err != nil {
		return nil, err
	}
	p := &prepared{dep: dep, h: h}
	if dep.Path != "" {
		var prev *Settings
		m.mu.Lock()
		if ep := m.endpoints[dep.Path]; ep != nil {
			prev = ep.Settings()
		}
		m.mu.Unlock()
		if p.settings, err = newSettings(dep, authEnv{lookup: m.opts.Env, log: m.log}, prev); err != nil {
			return nil, err
		}
	}
	return p, nil
}

func (p *prepared) setVersion(v int64) {
	p.dep.Version, p.h.Version = v, v
	if p.settings != nil {
		p.settings.dep.Version = v
	}
}

func compile(dep wsgw.Deployment) (*runtime.Handler, error) {
	label := dep.Path
	if label == "" {
		label = "event_handler"
	}
	name := dep.Name
	if name == "" {
		name = label
	}
	var h *runtime.Handler
	var err error
	if dep.Path == "" {
		h, err = runtime.CompileEventHandler(name, dep.Script)
	} else {
		if _, perr := parsePattern(dep.Path); perr != nil {
			return nil, &Error{"path", wsgw.Errorf(wsgw.EInvalid, "%v", perr)}
		}
		h, err = runtime.Compile(name, dep.Script)
	}
	if err != nil {
		return nil, &Error{"script", wsgw.Errorf(wsgw.EInvalid, "the script does not compile: %v", err)}
	}
	h.Label = label
	return h, nil
}

// commit gives p its version, stores it for the other nodes, and installs
// it here; it reports whether the path is new to the cluster.
func (m *Manager) commit(ctx context.Context, p *prepared) (bool, error) {
	reg := m.opts.Registry
	_, err := m.Deployment(ctx, p.dep.Path)
	servedHere := err == nil
	unreachable := func(err error) (bool, error) {
		if p.dep.Source != "config" {
			return false, registryError(err)
		}
		// A node starting while the store is away still serves its
		// configuration; the next resync stores it for the others.
		m.log.Warn("deploy store unreachable: serving the configuration's version, to be stored when it returns",
			"path", p.dep.Path, "err", err)
		p.setVersion(m.localVersion())
		return m.install(p)
	}
	for attempt := 1; ; attempt++ {
		saved, created, err := m.store(ctx, p)
		if err != nil {
			return unreachable(err)
		}
		if saved {
			if _, err := m.install(p); err != nil {
				return false, err
			}
			return created && !servedHere, nil
		}
		if p.dep.Source != "config" || attempt == 3 {
			return false, wsgw.Errorf(wsgw.EConflict, "a newer version of %s was deployed meanwhile", describe(p.dep.Path))
		}
		// A configuration deploy that lost a race with another node's
		// adopts the newer version; a path deleted meanwhile it deploys
		// again, with a newer version.
		deps, _, err := reg.Load(ctx)
		if err != nil {
			return unreachable(err)
		}
		if stored, err := m.adopt(deps, p); stored || err != nil {
			return false, err
		}
	}
}

// store takes the next version for p and stores p under it.
func (m *Manager) store(ctx context.Context, p *prepared) (saved, created bool, err error) {
	v, err := m.opts.Registry.NextVersion(ctx, m.lastVersion.Load())
	if err != nil {
		return false, false, err
	}
	p.setVersion(v)
	m.seen(v)
	return m.opts.Registry.Save(ctx, p.dep)
}

// adopt makes p the stored deployment of its path among deps, and installs
// it. It reports false when the path has no stored deployment (it was
// deleted).
func (m *Manager) adopt(deps []wsgw.Deployment, p *prepared) (bool, error) {
	i := slices.IndexFunc(deps, func(d wsgw.Deployment) bool { return d.Path == p.dep.Path })
	if i < 0 {
		return false, nil
	}
	dep := deps[i]
	dep.Name = p.dep.Name
	q, err := m.prepare(dep)
	if err != nil {
		return false, fmt.Errorf("the cluster's version %d of %s: %w", dep.Version, describe(dep.Path), err)
	}
	q.setVersion(dep.Version)
	m.seen(dep.Version)
	if _, err := m.install(q); err != nil {
		return false, err
	}
	*p = *q
	m.log.Info("adopted the cluster's newer version of a configured endpoint", "path", dep.Path, "version", dep.Version)
	return true, nil
}

// localVersion returns a version higher than any this node has seen, for a
// configuration served while the registry is unreachable.
func (m *Manager) localVersion() int64 {
	for {
		last := m.lastVersion.Load()
		next := max(time.Now().UnixMicro(), last+1)
		if m.lastVersion.CompareAndSwap(last, next) {
			return next
		}
	}
}

// seen makes later local versions higher than v.
func (m *Manager) seen(v int64) {
	for {
		last := m.lastVersion.Load()
		if last >= v || m.lastVersion.CompareAndSwap(last, v) {
			return
		}
	}
}

func registryError(err error) error {
	var e *wsgw.Error
	if errors.As(err, &e) {
		return err
	}
	return wsgw.Errorf(wsgw.EUnavailable, "the deploy store is unreachable: %v", err)
}

// install puts p in place unless this node already runs a version at least
// as new; it reports whether the path is new here.
func (m *Manager) install(p *prepared) (bool, error) {
	if p.dep.Path == "" {
		created := m.eventHandler.Load() == nil
		m.installEventHandler(p.dep, p.h)
		return created, nil
	}
	return m.installEndpoint(p.dep, p.h, p.settings)
}

// installEndpoint puts a compiled deploy in place, unless a newer version of
// the path is already there.
func (m *Manager) installEndpoint(dep wsgw.Deployment, h *runtime.Handler, s *Settings) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if ep := m.endpoints[dep.Path]; ep != nil {
		if ep.Settings().dep.Version >= dep.Version {
			return false, nil
		}
		ep.handler.Store(h)
		ep.settings.Store(s)
		m.opts.Metrics.EndpointVersion.WithLabelValues(dep.Path).Set(float64(dep.Version))
		return false, nil
	}
	ep := &Endpoint{path: dep.Path}
	ep.handler.Store(h)
	ep.settings.Store(s)
	next := map[string]*Endpoint{dep.Path: ep}
	for p, e := range m.endpoints {
		next[p] = e
	}
	rt, err := buildRouter(next)
	if err != nil {
		return false, &Error{"path", wsgw.Errorf(wsgw.EConflict, "%v", err)}
	}
	m.endpoints = next
	m.routes.Store(rt)
	m.opts.Metrics.EndpointVersion.WithLabelValues(dep.Path).Set(float64(dep.Version))
	return true, nil
}

func (m *Manager) installEventHandler(dep wsgw.Deployment, h *runtime.Handler) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if cur := m.handlerDep.Load(); cur != nil && cur.Version >= dep.Version {
		return
	}
	m.eventHandler.Store(h)
	m.handlerDep.Store(&dep)
	m.opts.Metrics.EndpointVersion.WithLabelValues("event_handler").Set(float64(dep.Version))
}

func buildRouter(endpoints map[string]*Endpoint) (*router, error) {
	paths := make([]string, 0, len(endpoints))
	for p := range endpoints {
		paths = append(paths, p)
	}
	sort.Strings(paths) // so that a conflict names the same pair every time
	rt := &router{}
	for _, p := range paths {
		if err := rt.add(endpoints[p]); err != nil {
			return nil, err
		}
	}
	return rt, nil
}

// uninstall removes path here unless it runs a version newer than version,
// and closes the sockets of a removed endpoint with 1001.
func (m *Manager) uninstall(path string, version int64) bool {
	m.mu.Lock()
	if path == "" {
		defer m.mu.Unlock()
		if cur := m.handlerDep.Load(); cur == nil || cur.Version > version {
			return false
		}
		m.eventHandler.Store(nil)
		m.handlerDep.Store(nil)
		m.opts.Metrics.EndpointVersion.DeleteLabelValues("event_handler")
		return true
	}
	ep := m.endpoints[path]
	if ep == nil || ep.Settings().dep.Version > version {
		m.mu.Unlock()
		return false
	}
	next := make(map[string]*Endpoint, len(m.endpoints))
	for p, e := range m.endpoints {
		if p != path {
			next[p] = e
		}
	}
	rt, _ := buildRouter(next) // a subset of a valid router is valid
	m.endpoints = next
	m.routes.Store(rt)
	m.removed[path] = version
	m.opts.Metrics.EndpointVersion.DeleteLabelValues(path)
	m.mu.Unlock()
	m.opts.Sockets.CloseEndpoint(ep)
	return true
}

func describe(path string) string {
	if path == "" {
		return "the event handler"
	}
	return "endpoint " + path
}

// changed installs a deploy or delete made on any node, this one included
// (which finds it installed already).
func (m *Manager) changed(dep wsgw.Deployment, deleted bool) {
	m.serial.Lock()
	defer m.serial.Unlock()
	m.apply(dep, deleted)
}

// apply is changed under serial.
func (m *Manager) apply(dep wsgw.Deployment, deleted bool) {
	m.seen(dep.Version)
	if deleted {
		if m.uninstall(dep.Path, dep.Version) {
			m.log.Info("undeployed by another node", "path", dep.Path, "version", dep.Version)
		}
		return
	}
	if cur, err := m.Deployment(context.Background(), dep.Path); err == nil && cur.Version >= dep.Version {
		return
	}
	if v, ok := m.removed[dep.Path]; ok && dep.Version <= v {
		return // undeployed since
	}
	p, err := m.prepare(dep)
	if err != nil { // it compiled on the node that deployed it
		m.log.Error("a deploy from another node does not compile here", "path", dep.Path, "version", dep.Version, "err", err)
		return
	}
	p.setVersion(dep.Version)
	if _, err := m.install(p); err != nil {
		m.log.Error("a deploy from another node does not fit here", "path", dep.Path, "version", dep.Version, "err", err)
		return
	}
	m.log.Info("deployed by another node", "path", dep.Path, "version", dep.Version)
}

// resync brings this node in line with the registry: newer versions are
// installed, paths deleted meanwhile are removed, and what this node runs
// that the registry lost (Redis restarted empty) is stored again.
func (m *Manager) resync() {
	m.serial.Lock()
	defer m.serial.Unlock()
	reg := m.opts.Registry
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	deps, deleted, err := reg.Load(ctx)
	if err != nil {
		m.log.Warn("deploy store unreachable; will catch up when it returns", "err", err)
		return
	}
	stored := map[string]bool{}
	for _, dep := range deps {
		stored[dep.Path] = true
		m.apply(dep, false)
	}
	for _, cur := range m.local() {
		if stored[cur.Path] {
			continue
		}
		if v, ok := deleted[cur.Path]; ok && v >= cur.Version {
			m.apply(wsgw.Deployment{Path: cur.Path, Version: v}, true)
			continue
		}
		if _, _, err := reg.Save(ctx, cur); err != nil {
			m.log.Warn("storing this node's deployment failed", "path", cur.Path, "err", err)
		}
	}
}

// local is this node's endpoints and event handler, with scripts.
func (m *Manager) local() []wsgw.Deployment {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []wsgw.Deployment
	for _, ep := range m.endpoints {
		out = append(out, ep.Settings().dep)
	}
	if d := m.handlerDep.Load(); d != nil {
		out = append(out, *d)
	}
	return out
}
