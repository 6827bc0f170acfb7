package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/wsgw/wsgw"
	"github.com/wsgw/wsgw/config"
	"github.com/wsgw/wsgw/gateway"
)

// deployer is what the gateway offers for deploying scripts.
type deployer interface {
	Deploy(ctx context.Context, dep wsgw.Deployment) (wsgw.Deployment, bool, error)
	DeployConfig(ctx context.Context, dep wsgw.Deployment) (wsgw.Deployment, error)
	Undeploy(ctx context.Context, path string) error
	Deployment(ctx context.Context, path string) (wsgw.Deployment, error)
}

// configDeployments are the deployments a configuration asks for: its
// endpoints, then its event handler, each with the config key that names it.
// An endpoint's auth key that cannot be used is an error naming its key.
func configDeployments(cfg *config.Config, source string) ([]wsgw.Deployment, []string, error) {
	var deps []wsgw.Deployment
	var keys []string
	for i, ep := range cfg.Endpoints {
		a, err := authenticator(cfg, i)
		if err != nil {
			return nil, nil, err
		}
		deps = append(deps, wsgw.Deployment{
			Path: ep.Path, Script: ep.Source, Options: wsgw.Options{AllowedOrigins: ep.AllowedOrigins},
			Source: source, Name: cfg.Resolve(ep.Script), Auth: a,
		})
		keys = append(keys, fmt.Sprintf("endpoints[%d]", i))
	}
	if cfg.EventHandler != "" {
		deps = append(deps, wsgw.Deployment{Script: cfg.EventHandlerSource, Source: source, Name: cfg.Resolve(cfg.EventHandler)})
		keys = append(keys, "event_handler")
	}
	return deps, keys, nil
}

// deployConfig deploys every endpoint and the event handler of cfg; an error
// names the config key.
func deployConfig(ctx context.Context, d deployer, cfg *config.Config, source string) error {
	deps, keys, err := configDeployments(cfg, source)
	if err != nil {
		return err
	}
	for i, dep := range deps {
		if _, err := d.DeployConfig(ctx, dep); err != nil {
			return deployKeyError(cfg, keys[i], dep, err)
		}
	}
	return nil
}

// checkConfig compiles every script of cfg without serving, for --check.
func checkConfig(cfg *config.Config) error {
	deps, keys, err := configDeployments(cfg, "config")
	if err != nil {
		return err
	}
	for i, dep := range deps {
		if err := gateway.Check(dep); err != nil {
			return deployKeyError(cfg, keys[i], dep, err)
		}
	}
	return nil
}

func deployKeyError(cfg *config.Config, key string, dep wsgw.Deployment, err error) error {
	var de *gateway.DeployError
	if errors.As(err, &de) && dep.Path != "" {
		key += "." + de.Field
	}
	return cfg.Errorf(key, "%s", wsgw.ErrorMessage(err))
}
