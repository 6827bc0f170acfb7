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
	Undeploy(ctx context.Context, path string) error
	Deployment(ctx context.Context, path string) (wsgw.Deployment, error)
}

// configDeployments are the deployments a configuration asks for: its
// endpoints, then its event handler, each with the config key that names it.
func configDeployments(cfg *config.Config, source string) ([]wsgw.Deployment, []string) {
	var deps []wsgw.Deployment
	var keys []string
	for i, ep := range cfg.Endpoints {
		deps = append(deps, wsgw.Deployment{
			Path: ep.Path, Script: ep.Source, AllowedOrigins: ep.AllowedOrigins,
			Source: source, Name: cfg.Resolve(ep.Script),
		})
		keys = append(keys, fmt.Sprintf("endpoints[%d]", i))
	}
	if cfg.EventHandler != "" {
		deps = append(deps, wsgw.Deployment{Script: cfg.EventHandlerSource, Source: source, Name: cfg.Resolve(cfg.EventHandler)})
		keys = append(keys, "event_handler")
	}
	return deps, keys
}

// deployConfig deploys every endpoint and the event handler of cfg; an error
// names the config key.
func deployConfig(ctx context.Context, d deployer, cfg *config.Config, source string) error {
	deps, keys := configDeployments(cfg, source)
	for i, dep := range deps {
		if _, _, err := d.Deploy(ctx, dep); err != nil {
			return deployKeyError(cfg, keys[i], dep, err)
		}
	}
	return nil
}

// checkConfig compiles every script of cfg without serving, for --check.
func checkConfig(cfg *config.Config) error {
	deps, keys := configDeployments(cfg, "config")
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
