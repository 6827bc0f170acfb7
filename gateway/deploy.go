package gateway

import (
	"context"
	"regexp"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wsgw/wsgw"
	"github.com/wsgw/wsgw/runtime"
)

// deployments holds what is deployed: the endpoints, the router built from
// them, and the event handler. Deploys compile first and swap pointers, so
// events already running finish on the old script and the next event of
// every connection runs the new one.
type deployments struct {
	deployMu sync.Mutex // guards endpoints and installs; readers use the atomics
	// deploySerial runs this node's deploys, undeploys and the changes
	// heard from the DeployRegistry one at a time: an API deploy reads the
	// options it keeps and a concurrent one must not slip in between, and
	// the notice of this node's own deploy must not install it ahead of
	// the deploy itself.
	deploySerial sync.Mutex
	endpoints    map[string]*endpoint
	routes       atomic.Pointer[router]
	// eventHandler, when set, receives every event of every endpoint.
	eventHandler atomic.Pointer[runtime.Handler]
	handlerDep   atomic.Pointer[wsgw.Deployment]
	lastVersion  atomic.Int64
}

// endpoint is a routed path. It outlives redeploys of its path, so existing
// connections keep their route and pick up each new script.
type endpoint struct {
	path    string
	handler atomic.Pointer[runtime.Handler]
	conf    atomic.Pointer[endpointConf]
	workers atomic.Pointer[semaphore] // its share of the script pool (fairshare.go)
}

// endpointConf is what a deploy sets besides the script.
type endpointConf struct {
	dep     wsgw.Deployment
	origins []*regexp.Regexp
}

func (d *deployments) init() {
	d.endpoints = map[string]*endpoint{}
	d.routes.Store(&router{})
}

// DeployError is a refused deploy: which field of the deployment is wrong,
// and the *wsgw.Error that says how.
type DeployError struct {
	Field string // path, script or allowed_origins
	Err   error
}

func (e *DeployError) Error() string { return e.Field + ": " + e.Err.Error() }
func (e *DeployError) Unwrap() error { return e.Err }

// Deploy compiles dep's script and installs it: a new endpoint, a new version
// of an existing one, or (Path "") the event handler. A deploy from the API
// (Source "api") keeps every option of the endpoint it does not give, its
// auth included. The deploy is stored in the DeployRegistry first, options
// merged, and every node installs it. It answers the deployment as
// installed, with its version, and whether the path is new.
func (g *Gateway) Deploy(ctx context.Context, dep wsgw.Deployment) (wsgw.Deployment, bool, error) {
	g.deploySerial.Lock()
	defer g.deploySerial.Unlock()
	return g.deploy(ctx, dep)
}

// deploy is Deploy under deploySerial.
func (g *Gateway) deploy(ctx context.Context, dep wsgw.Deployment) (wsgw.Deployment, bool, error) {
	if dep.DeployedAt.IsZero() {
		dep.DeployedAt = time.Now().UTC()
	}
	if dep.Source == "api" && dep.Path != "" {
		dep = g.keepOptions(dep)
	}
	p, err := prepare(dep)
	if err != nil {
		return wsgw.Deployment{}, false, err
	}
	created, err := g.commit(ctx, p)
	if err != nil {
		return wsgw.Deployment{}, false, err
	}
	return p.dep, created, nil
}

// keepOptions fills what an API deploy does not give from the endpoint
// deployed at its path.
func (g *Gateway) keepOptions(dep wsgw.Deployment) wsgw.Deployment {
	g.deployMu.Lock()
	defer g.deployMu.Unlock()
	ep := g.endpoints[dep.Path]
	if ep == nil {
		return dep
	}
	cur := ep.conf.Load().dep
	dep.Options = dep.Options.Keep(cur.Options)
	if dep.Auth == nil {
		dep.Auth = cur.Auth
	}
	return dep
}

// prepared is a deployment compiled and checked, ready to install once it
// has its version.
type prepared struct {
	dep  wsgw.Deployment
	h    *runtime.Handler
	conf *endpointConf // nil for the event handler
}

func prepare(dep wsgw.Deployment) (*prepared, error) {
	h, err := compileDeployment(dep)
	if err != nil {
		return nil, err
	}
	p := &prepared{dep: dep, h: h}
	if dep.Path != "" {
		if p.conf, err = newEndpointConf(dep); err != nil {
			return nil, err
		}
	}
	return p, nil
}

func (p *prepared) setVersion(v int64) {
	p.dep.Version, p.h.Version = v, v
	if p.conf != nil {
		p.conf.dep.Version = v
	}
}

// install puts p in place unless this node already runs a version at least
// as new; it reports whether the path is new here.
func (g *Gateway) install(p *prepared) (bool, error) {
	if p.dep.Path == "" {
		created := g.eventHandler.Load() == nil
		g.installEventHandler(p.dep, p.h)
		return created, nil
	}
	return g.installEndpoint(p.dep, p.h, p.conf)
}

// Check compiles and validates dep without deploying it, for --check.
func Check(dep wsgw.Deployment) error {
	if _, err := compileDeployment(dep); err != nil {
		return err
	}
	if dep.Path == "" {
		return nil
	}
	_, err := newEndpointConf(dep)
	return err
}

func compileDeployment(dep wsgw.Deployment) (*runtime.Handler, error) {
	name := dep.Name
	label := dep.Path
	if label == "" {
		label = "event_handler"
	}
	if name == "" {
		name = label
	}
	var h *runtime.Handler
	var err error
	if dep.Path == "" {
		h, err = runtime.CompileEventHandler(name, dep.Script)
	} else {
		if _, perr := parsePattern(dep.Path); perr != nil {
			return nil, &DeployError{"path", wsgw.Errorf(wsgw.EInvalid, "%v", perr)}
		}
		h, err = runtime.Compile(name, dep.Script)
	}
	if err != nil {
		return nil, &DeployError{"script", wsgw.Errorf(wsgw.EInvalid, "the script does not compile: %v", err)}
	}
	h.Label = label
	return h, nil
}

func newEndpointConf(dep wsgw.Deployment) (*endpointConf, error) {
	conf := &endpointConf{dep: dep}
	for _, o := range dep.AllowedOrigins {
		re, err := regexp.Compile(anchor(o))
		if err != nil {
			return nil, &DeployError{"allowed_origins", wsgw.Errorf(wsgw.EInvalid, "allowed origin %q: %v", o, err)}
		}
		conf.origins = append(conf.origins, re)
	}
	if dep.Auth != nil && dep.Auth.ReadsCookies() && len(conf.origins) == 0 {
		return nil, &DeployError{"allowed_origins", wsgw.Errorf(wsgw.EInvalid,
			"the endpoint's auth takes its token from a cookie, so allowed_origins is required: "+
				"browsers send cookies with upgrades started by any site (cross-site WebSocket hijacking)")}
	}
	return conf, nil
}

// authOf is the auth of the endpoint deployed at path, nil for none.
func (g *Gateway) authOf(path string) wsgw.Authenticator {
	g.deployMu.Lock()
	defer g.deployMu.Unlock()
	if ep := g.endpoints[path]; ep != nil {
		return ep.conf.Load().dep.Auth
	}
	return nil
}

// installEndpoint puts a compiled deploy in place, unless a newer version of
// the path is already there.
func (g *Gateway) installEndpoint(dep wsgw.Deployment, h *runtime.Handler, conf *endpointConf) (bool, error) {
	g.deployMu.Lock()
	defer g.deployMu.Unlock()
	if ep := g.endpoints[dep.Path]; ep != nil {
		if ep.conf.Load().dep.Version >= dep.Version {
			return false, nil
		}
		ep.handler.Store(h)
		ep.conf.Store(conf)
		g.metrics.EndpointVersion.WithLabelValues(dep.Path).Set(float64(dep.Version))
		return false, nil
	}
	ep := &endpoint{path: dep.Path}
	ep.handler.Store(h)
	ep.conf.Store(conf)
	next := map[string]*endpoint{dep.Path: ep}
	for p, e := range g.endpoints {
		next[p] = e
	}
	rt, err := buildRouter(next)
	if err != nil {
		return false, &DeployError{"path", wsgw.Errorf(wsgw.EConflict, "%v", err)}
	}
	g.endpoints = next
	g.routes.Store(rt)
	g.metrics.EndpointVersion.WithLabelValues(dep.Path).Set(float64(dep.Version))
	return true, nil
}

func (g *Gateway) installEventHandler(dep wsgw.Deployment, h *runtime.Handler) {
	g.deployMu.Lock()
	defer g.deployMu.Unlock()
	if cur := g.handlerDep.Load(); cur != nil && cur.Version >= dep.Version {
		return
	}
	g.eventHandler.Store(h)
	g.handlerDep.Store(&dep)
	g.metrics.EndpointVersion.WithLabelValues("event_handler").Set(float64(dep.Version))
}

func buildRouter(endpoints map[string]*endpoint) (*router, error) {
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

// Undeploy removes an endpoint (or, for "", the event handler), on every
// node. The path then answers 404; its sockets are closed with 1001 and
// their close events run the last script deployed.
func (g *Gateway) Undeploy(ctx context.Context, path string) error {
	g.deploySerial.Lock()
	defer g.deploySerial.Unlock()
	if _, err := g.Deployment(ctx, path); err != nil {
		return err
	}
	ds := g.opts.Deploys
	v, err := ds.NextVersion(ctx, g.lastVersion.Load())
	if err != nil {
		return deployStoreError(err)
	}
	g.seen(v)
	ok, err := ds.Delete(ctx, path, v)
	if err != nil {
		return deployStoreError(err)
	}
	if !ok {
		return wsgw.Errorf(wsgw.EConflict, "%s was deployed again meanwhile; it stays", describe(path))
	}
	g.uninstall(path, v)
	return nil
}

// uninstall removes path here unless it runs a version newer than version,
// and closes the sockets of a removed endpoint with 1001.
func (g *Gateway) uninstall(path string, version int64) bool {
	g.deployMu.Lock()
	if path == "" {
		defer g.deployMu.Unlock()
		if cur := g.handlerDep.Load(); cur == nil || cur.Version > version {
			return false
		}
		g.eventHandler.Store(nil)
		g.handlerDep.Store(nil)
		g.metrics.EndpointVersion.DeleteLabelValues("event_handler")
		return true
	}
	ep := g.endpoints[path]
	if ep == nil || ep.conf.Load().dep.Version > version {
		g.deployMu.Unlock()
		return false
	}
	next := make(map[string]*endpoint, len(g.endpoints))
	for p, e := range g.endpoints {
		if p != path {
			next[p] = e
		}
	}
	rt, _ := buildRouter(next) // a subset of a valid router is valid
	g.endpoints = next
	g.routes.Store(rt)
	g.metrics.EndpointVersion.DeleteLabelValues(path)
	g.deployMu.Unlock()
	g.conns.each(func(c *conn) {
		if c.endpoint == ep {
			_ = c.Close(1001, "endpoint removed")
		}
	})
	return true
}

func describe(path string) string {
	if path == "" {
		return "the event handler"
	}
	return "endpoint " + path
}

// Deployments lists the deployed endpoints, without their scripts, by path.
func (g *Gateway) Deployments(context.Context) ([]wsgw.Deployment, error) {
	g.deployMu.Lock()
	defer g.deployMu.Unlock()
	out := make([]wsgw.Deployment, 0, len(g.endpoints))
	for _, ep := range g.endpoints {
		out = append(out, ep.conf.Load().dep.Summary())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

// Deployment returns one endpoint's deployment (or, for "", the event
// handler's), with its script.
func (g *Gateway) Deployment(_ context.Context, path string) (wsgw.Deployment, error) {
	if path == "" {
		if d := g.handlerDep.Load(); d != nil {
			return *d, nil
		}
		return wsgw.Deployment{}, wsgw.Errorf(wsgw.ENotFound, "no event handler is deployed")
	}
	g.deployMu.Lock()
	ep := g.endpoints[path]
	g.deployMu.Unlock()
	if ep == nil {
		return wsgw.Deployment{}, wsgw.Errorf(wsgw.ENotFound, "no endpoint %s", path)
	}
	return ep.conf.Load().dep, nil
}

// allowsOrigin checks the Origin header against the deploy's allow-list; no
// list, or no Origin (not a browser), passes.
func (conf *endpointConf) allowsOrigin(origin string) bool {
	origins := conf.origins
	if len(origins) == 0 || origin == "" {
		return true
	}
	for _, re := range origins {
		if re.MatchString(origin) {
			return true
		}
	}
	return false
}

// anchor makes an allowed-origin pattern match the whole Origin header or
// nothing: every pattern, whatever anchors it has of its own, is matched as
// ^(?:pattern)$, so that ^a|b cannot match a longer origin that starts with a.
func anchor(pattern string) string {
	return "^(?:" + pattern + ")$"
}
