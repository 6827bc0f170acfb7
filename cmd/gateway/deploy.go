package main

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/wsgw/wsgw"
	"github.com/wsgw/wsgw/config"
	"github.com/wsgw/wsgw/deploy"
)

// deployer is what the deploy manager offers for deploying scripts.
type deployer interface {
	Deploy(ctx context.Context, dep wsgw.Deployment) (wsgw.Deployment, bool, error)
	DeployConfig(ctx context.Context, dep wsgw.Deployment) (wsgw.Deployment, error)
	Undeploy(ctx context.Context, path string) error
	Deployment(ctx context.Context, path string) (wsgw.Deployment, error)
}

// configDeployments are the deployments a configuration asks for: its
// endpoints, then its event handler, each with the config key that names
// it, and the auth of each endpoint path that has one. An endpoint's auth
// key that cannot be used is an error naming its key.
func configDeployments(cfg *config.Config, source string) ([]wsgw.Deployment, []string, map[string]deploy.Authenticator, error) {
	var deps []wsgw.Deployment
	var keys []string
	auths := map[string]deploy.Authenticator{}
	for i, ep := range cfg.Endpoints {
		a, err := authenticator(cfg, i)
		if err != nil {
			return nil, nil, nil, err
		}
		if a != nil {
			auths[ep.Path] = a
		}
		opts := wsgw.Options{AllowedOrigins: ep.AllowedOrigins, Subprotocols: ep.Subprotocols}
		if ep.Protocol != "" {
			opts.Protocol = &ep.Protocol
		}
		if ep.STOMP != (wsgw.STOMPOptions{}) {
			opts.STOMP = &ep.STOMP
		}
		deps = append(deps, wsgw.Deployment{
			Path: ep.Path, Script: ep.Source, Options: opts,
			Source: source, Name: cfg.Resolve(ep.Script),
		})
		keys = append(keys, fmt.Sprintf("endpoints[%d]", i))
	}
	if cfg.EventHandler != "" {
		deps = append(deps, wsgw.Deployment{Script: cfg.EventHandlerSource, Source: source, Name: cfg.Resolve(cfg.EventHandler)})
		keys = append(keys, "event_handler")
	}
	return deps, keys, auths, nil
}

// deployConfig deploys every endpoint and the event handler of deps (from
// configDeployments of cfg); an error names the config key.
func deployConfig(ctx context.Context, d deployer, cfg *config.Config, deps []wsgw.Deployment, keys []string) error {
	for i, dep := range deps {
		if _, err := d.DeployConfig(ctx, dep); err != nil {
			return deployKeyError(cfg, keys[i], dep, err)
		}
	}
	return nil
}

// checkConfig compiles every script of cfg without serving, for --check.
func checkConfig(cfg *config.Config) error {
	deps, keys, auths, err := configDeployments(cfg, "config")
	if err != nil {
		return err
	}
	for i, dep := range deps {
		if err := deploy.Check(dep, auths[dep.Path]); err != nil {
			return deployKeyError(cfg, keys[i], dep, err)
		}
	}
	return nil
}

func deployKeyError(cfg *config.Config, key string, dep wsgw.Deployment, err error) error {
	var de *deploy.Error
	if errors.As(err, &de) && dep.Path != "" {
		key += "." + de.Field
	}
	return cfg.Errorf(key, "%s", wsgw.ErrorMessage(err))
}

// authTable is this node's credential check of each endpoint path, from
// the configuration: the deploy manager attaches a path's to whatever
// deploy of it this node installs, and --watch replaces a path's before it
// redeploys the path.
type authTable struct {
	mu    sync.RWMutex
	paths map[string]deploy.Authenticator
}

func newAuthTable(paths map[string]deploy.Authenticator) *authTable {
	return &authTable{paths: paths}
}

// lookup is the auth of path, nil for none.
func (t *authTable) lookup(path string) deploy.Authenticator {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.paths[path]
}

// set makes a the auth of path (nil: none) and returns the one before.
func (t *authTable) set(path string, a deploy.Authenticator) deploy.Authenticator {
	t.mu.Lock()
	defer t.mu.Unlock()
	old := t.paths[path]
	if a == nil {
		delete(t.paths, path)
	} else {
		t.paths[path] = a
	}
	return old
}
