package gateway

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/wsgw/wsgw"
	"github.com/wsgw/wsgw/store"
)

// commit gives p its version, stores it for the other nodes, and installs
// it here; it reports whether the path is new to the cluster.
func (g *Gateway) commit(ctx context.Context, p *prepared) (bool, error) {
	ds := g.opts.Deploys
	_, err := g.Deployment(ctx, p.dep.Path)
	servedHere := err == nil
	unreachable := func(err error) (bool, error) {
		if p.dep.Source != "config" {
			return false, deployStoreError(err)
		}
		// A node starting while the store is away still serves its
		// configuration; the next resync stores it for the others.
		g.log.Warn("deploy store unreachable: serving the configuration's version, to be stored when it returns",
			"path", p.dep.Path, "err", err)
		p.setVersion(g.localVersion())
		return g.install(p)
	}
	for attempt := 1; ; attempt++ {
		saved, created, err := g.store(ctx, ds, p)
		if err != nil {
			return unreachable(err)
		}
		if saved {
			if _, err := g.install(p); err != nil {
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
		deps, _, err := ds.Load(ctx)
		if err != nil {
			return unreachable(err)
		}
		if stored, err := g.adopt(deps, p); stored || err != nil {
			return false, err
		}
	}
}

// store takes the next version for p and stores p under it.
func (g *Gateway) store(ctx context.Context, ds store.DeployRegistry, p *prepared) (saved, created bool, err error) {
	v, err := ds.NextVersion(ctx, g.lastVersion.Load())
	if err != nil {
		return false, false, err
	}
	p.setVersion(v)
	g.seen(v)
	return ds.Save(ctx, p.dep)
}

// adopt makes p the stored deployment of its path among deps, with p's auth
// (keys stay on each node), and installs it. It reports false when the path
// has no stored deployment (it was deleted).
func (g *Gateway) adopt(deps []wsgw.Deployment, p *prepared) (bool, error) {
	i := slices.IndexFunc(deps, func(d wsgw.Deployment) bool { return d.Path == p.dep.Path })
	if i < 0 {
		return false, nil
	}
	dep := deps[i]
	dep.Auth, dep.Name = p.dep.Auth, p.dep.Name
	q, err := prepare(dep)
	if err != nil {
		return false, fmt.Errorf("the cluster's version %d of %s: %w", dep.Version, describe(dep.Path), err)
	}
	q.setVersion(dep.Version)
	g.seen(dep.Version)
	if err := g.installOwn(q); err != nil {
		return false, err
	}
	*p = *q
	g.log.Info("adopted the cluster's newer version of a configured endpoint", "path", dep.Path, "version", dep.Version)
	return true, nil
}

// installOwn installs p, or, when the same version came first from the
// store without this node's auth, attaches what is not stored.
func (g *Gateway) installOwn(p *prepared) error {
	if _, err := g.install(p); err != nil {
		return err
	}
	g.replace(p)
	return nil
}

// localVersion returns a version higher than any this node has seen, for a
// configuration served while the DeployRegistry is unreachable.
func (g *Gateway) localVersion() int64 {
	for {
		last := g.lastVersion.Load()
		next := max(time.Now().UnixMicro(), last+1)
		if g.lastVersion.CompareAndSwap(last, next) {
			return next
		}
	}
}

// seen makes later local versions higher than v.
func (g *Gateway) seen(v int64) {
	for {
		last := g.lastVersion.Load()
		if last >= v || g.lastVersion.CompareAndSwap(last, v) {
			return
		}
	}
}

func deployStoreError(err error) error {
	var e *wsgw.Error
	if errors.As(err, &e) {
		return err
	}
	return wsgw.Errorf(wsgw.EUnavailable, "the deploy store is unreachable: %v", err)
}

// DeployConfig deploys a configuration's endpoint or event handler. When the
// cluster already runs the same script and options at that path (another
// node, or this one before a restart, deployed it), this node adopts that
// version instead of making a new one.
func (g *Gateway) DeployConfig(ctx context.Context, dep wsgw.Deployment) (wsgw.Deployment, error) {
	g.deploySerial.Lock()
	defer g.deploySerial.Unlock()
	if cur, err := g.Deployment(ctx, dep.Path); err == nil && sameDeployment(cur, dep) {
		if dep.Auth != nil && dep.Path != "" { // keys stay on each node: attach this one's
			dep.Version, dep.Source, dep.DeployedAt = cur.Version, cur.Source, cur.DeployedAt
			p, err := prepare(dep)
			if err != nil {
				return wsgw.Deployment{}, err
			}
			p.setVersion(cur.Version)
			g.replace(p)
		}
		return cur, nil
	}
	out, _, err := g.deploy(ctx, dep)
	return out, err
}

func sameDeployment(a, b wsgw.Deployment) bool {
	return a.Path == b.Path && a.Script == b.Script && slices.Equal(a.AllowedOrigins, b.AllowedOrigins)
}

// replace installs p over the same version, to attach what is not stored.
func (g *Gateway) replace(p *prepared) {
	g.deployMu.Lock()
	defer g.deployMu.Unlock()
	if ep := g.endpoints[p.dep.Path]; ep != nil && ep.conf.Load().dep.Version == p.dep.Version {
		ep.handler.Store(p.h)
		ep.conf.Store(p.conf)
	}
}

// changed installs a deploy or delete made on any node, this one included
// (which finds it installed already). Auth is not stored: an endpoint keeps
// the auth this node's configuration gave its path.
func (g *Gateway) changed(dep wsgw.Deployment, deleted bool) {
	g.deploySerial.Lock()
	defer g.deploySerial.Unlock()
	g.apply(dep, deleted)
}

// apply is changed under deploySerial.
func (g *Gateway) apply(dep wsgw.Deployment, deleted bool) {
	g.seen(dep.Version)
	if deleted {
		if g.uninstall(dep.Path, dep.Version) {
			g.log.Info("undeployed by another node", "path", dep.Path, "version", dep.Version)
		}
		return
	}
	if cur, err := g.Deployment(context.Background(), dep.Path); err == nil && cur.Version >= dep.Version {
		return
	}
	dep.Auth = g.authOf(dep.Path)
	p, err := prepare(dep)
	if err != nil { // it compiled on the node that deployed it
		g.log.Error("a deploy from another node does not compile here", "path", dep.Path, "version", dep.Version, "err", err)
		return
	}
	p.setVersion(dep.Version)
	if _, err := g.install(p); err != nil {
		g.log.Error("a deploy from another node does not fit here", "path", dep.Path, "version", dep.Version, "err", err)
		return
	}
	g.log.Info("deployed by another node", "path", dep.Path, "version", dep.Version)
}

// resync brings this node in line with the store: newer versions are
// installed, paths deleted meanwhile are removed, and what this node runs
// that the store lost (Redis restarted empty) is stored again.
func (g *Gateway) resync() {
	g.deploySerial.Lock()
	defer g.deploySerial.Unlock()
	ds := g.opts.Deploys
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	deps, deleted, err := ds.Load(ctx)
	if err != nil {
		g.log.Warn("deploy store unreachable; will catch up when it returns", "err", err)
		return
	}
	stored := map[string]bool{}
	for _, dep := range deps {
		stored[dep.Path] = true
		g.apply(dep, false)
	}
	for _, cur := range g.localDeployments() {
		if stored[cur.Path] {
			continue
		}
		if v, ok := deleted[cur.Path]; ok && v >= cur.Version {
			g.apply(wsgw.Deployment{Path: cur.Path, Version: v}, true)
			continue
		}
		if _, _, err := ds.Save(ctx, cur); err != nil {
			g.log.Warn("storing this node's deployment failed", "path", cur.Path, "err", err)
		}
	}
}

// localDeployments are this node's endpoints and event handler, with scripts.
func (g *Gateway) localDeployments() []wsgw.Deployment {
	g.deployMu.Lock()
	defer g.deployMu.Unlock()
	var out []wsgw.Deployment
	for _, ep := range g.endpoints {
		out = append(out, ep.conf.Load().dep)
	}
	if d := g.handlerDep.Load(); d != nil {
		out = append(out, *d)
	}
	return out
}
