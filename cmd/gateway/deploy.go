package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

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
// endpoints, with their options, then its event handler, each with the
// config key that names it.
func configDeployments(cfg *config.Config, source string) ([]wsgw.Deployment, []string) {
	var deps []wsgw.Deployment
	var keys []string
	for i, ep := range cfg.Endpoints {
		deps = append(deps, wsgw.Deployment{
			Path: ep.Path, Script: ep.Source, Options: ep.Options,
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

// checkConfig compiles every script of cfg and builds every endpoint's
// credential check without serving, for --check.
func checkConfig(cfg *config.Config) error {
	deps, keys := configDeployments(cfg, "config")
	for i, dep := range deps {
		if err := deploy.Check(dep, cfg.LookupEnv); err != nil {
			return deployKeyError(cfg, keys[i], dep, err)
		}
	}
	return nil
}

// deployKeyError names the config key of a refused deploy: the endpoint's,
// and the option's within it.
func deployKeyError(cfg *config.Config, key string, dep wsgw.Deployment, err error) error {
	msg := wsgw.ErrorMessage(err)
	var de *deploy.Error
	if errors.As(err, &de) && dep.Path != "" {
		key += "." + de.Field
		msg = strings.TrimPrefix(msg, de.Field+": ")
	}
	return cfg.Errorf(key, "%s", msg)
}
