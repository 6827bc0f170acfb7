// Command gateway runs the wsgw WebSocket gateway.
//
//	go run ./cmd/gateway --config examples/gateway.yaml
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/wsgw/wsgw/config"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Environ(), os.Stderr))
}

// run is main without the process: it returns the exit code. SIGHUP, while
// it runs, reloads the TLS certificates.
func run(ctx context.Context, args, environ []string, stderr io.Writer) int {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	flags, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		return 2
	}
	cfg, err := loadConfig(flags, environ)
	if err != nil {
		fmt.Fprintf(stderr, "wsgw: %v\n", err)
		return 2
	}
	if flags.check {
		if err := checkConfig(cfg); err != nil {
			fmt.Fprintf(stderr, "wsgw: %v\n", err)
			return 2
		}
		fmt.Fprintf(stderr, "wsgw: %s is valid\n", flags.config)
		return 0
	}
	srv, err := newServer(cfg, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "wsgw: %v\n", err)
		return 2
	}
	if err := srv.start(); err != nil {
		fmt.Fprintf(stderr, "wsgw: %v\n", err)
		srv.closeStore()
		return 1
	}
	if flags.watch {
		load := func() (*config.Config, error) { return loadConfig(flags, environ) }
		go newWatcher(cfg, load, srv.deploys, srv.log).run(ctx, watchInterval)
		srv.log.Info("watching the configuration and its scripts for changes", "file", cfg.File)
	}
	for ctx.Err() == nil {
		select {
		case <-hup:
			srv.reloadTLS()
		case <-ctx.Done():
		}
	}
	srv.log.Info("shutting down", "timeout", cfg.ShutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.shutdown(sctx); err != nil {
		srv.log.Error("shutdown incomplete", "err", err)
		return 1
	}
	srv.log.Info("stopped")
	return 0
}

type cliFlags struct {
	config, addr, adminAddr, redis, nodeID string
	check, watch                           bool
}

func parseFlags(args []string, stderr io.Writer) (cliFlags, error) {
	var f cliFlags
	fs := flag.NewFlagSet("gateway", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.config, "config", "", "path of the YAML configuration (required)")
	fs.StringVar(&f.addr, "addr", "", "public listener address, overrides listen")
	fs.StringVar(&f.adminAddr, "admin-addr", "", "admin listener address, overrides admin.listen")
	fs.StringVar(&f.redis, "redis", "", "Redis URL or comma-separated cluster seeds, overrides store.redis")
	fs.StringVar(&f.nodeID, "node-id", "", "this node's name in the cluster, overrides node_id")
	fs.BoolVar(&f.check, "check", false, "validate the configuration and its scripts, then exit")
	fs.BoolVar(&f.watch, "watch", false, "redeploy endpoints when the configuration or a script changes")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: gateway --config FILE [--addr :8080] [--admin-addr 127.0.0.1:9090] [--redis URL] [--node-id NAME] [--check] [--watch]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return f, err
	}
	if f.config == "" {
		fmt.Fprintln(stderr, "wsgw: --config is required")
		fs.Usage()
		return f, errors.New("no config")
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "wsgw: unexpected arguments %q\n", fs.Args())
		return f, errors.New("extra arguments")
	}
	return f, nil
}
