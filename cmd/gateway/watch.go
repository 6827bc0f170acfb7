package main

import (
	"context"
	"crypto/sha256"
	"log/slog"
	"maps"
	"os"
	"reflect"
	"time"

	"github.com/wsgw/wsgw/config"
)

// watchInterval is how often --watch looks at the files: changes are live
// within a second.
const watchInterval = 250 * time.Millisecond

// watcher redeploys what the configuration file and the scripts it names say
// whenever one of them changes. It polls the files' contents: a handful of
// small files needs no inotify, polling works on every filesystem and editor,
// and a content hash sees an edit that keeps the size within one tick of the
// modification time, which a time-and-size check would miss.
type watcher struct {
	path    string
	load    func() (*config.Config, error)
	d       deployer
	log     *slog.Logger
	current *config.Config
	stamps  map[string]stamp
}

// stamp is a file's content hash.
type stamp [sha256.Size]byte

// newWatcher watches cfg's files; load reads the configuration again, with
// the same flags and environment as at start.
func newWatcher(cfg *config.Config, load func() (*config.Config, error), d deployer, log *slog.Logger) *watcher {
	w := &watcher{path: cfg.File, load: load, d: d, log: log, current: cfg}
	w.stamps = w.stat()
	return w
}

// files are the configuration and every script and auth key file it names.
func (w *watcher) files() []string {
	files := []string{w.path}
	for _, ep := range w.current.Endpoints {
		files = append(files, w.current.Resolve(ep.Script))
		if a := ep.Auth; a != nil {
			for _, key := range []string{a.JWT.RS256PublicKeyFile, a.JWT.ES256PublicKeyFile} {
				if key != "" {
					files = append(files, w.current.Resolve(key))
				}
			}
		}
	}
	if w.current.EventHandler != "" {
		files = append(files, w.current.Resolve(w.current.EventHandler))
	}
	return files
}

// stat hashes every file; one that cannot be read is left out.
func (w *watcher) stat() map[string]stamp {
	stamps := map[string]stamp{}
	for _, f := range w.files() {
		if data, err := os.ReadFile(f); err == nil {
			stamps[f] = sha256.Sum256(data)
		}
	}
	return stamps
}

func (w *watcher) run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if now := w.stat(); !maps.Equal(now, w.stamps) {
				w.reload(ctx)
				// Keep the stamps seen before reloading: a file that changes
				// while it is read (an editor writing it in place) differs
				// from them at the next tick and is read again. Only files the
				// new configuration names for the first time get new stamps.
				w.stamps = now
				for f, st := range w.stat() {
					if _, known := now[f]; !known {
						w.stamps[f] = st
					}
				}
			}
		}
	}
}

// reload loads the changed configuration and deploys what differs from what
// runs. A configuration that does not load, or a script that does not
// compile, is logged and changes nothing.
func (w *watcher) reload(ctx context.Context) {
	cfg, err := w.load()
	if err != nil {
		w.log.Error("configuration change refused; the running version stays", "err", err)
		return
	}
	deps, keys := configDeployments(cfg, "file")
	wanted := map[string]bool{}
	for i, dep := range deps {
		wanted[dep.Path] = true
		cur, err := w.d.Deployment(ctx, dep.Path)
		if err == nil && cur.Script == dep.Script && cur.Options.Equal(dep.Options) {
			continue
		}
		out, _, err := w.d.Deploy(ctx, dep)
		if err != nil {
			w.log.Error("deploy refused; the running version stays", "key", keys[i], "file", dep.Name, "err", err)
			continue
		}
		w.log.Info("deployed", "path", out.Path, "version", out.Version, "file", dep.Name)
	}
	old, _ := configDeployments(w.current, "file")
	for _, dep := range old {
		if wanted[dep.Path] {
			continue
		}
		cur, err := w.d.Deployment(ctx, dep.Path)
		if err != nil || (cur.Source != "config" && cur.Source != "file") {
			continue // deployed through the API since: not the file's to remove
		}
		if err := w.d.Undeploy(ctx, dep.Path); err != nil {
			w.log.Error("undeploy failed", "path", dep.Path, "err", err)
			continue
		}
		w.log.Info("undeployed", "path", dep.Path)
	}
	if restartOnly(w.current, cfg) {
		w.log.Warn("settings other than endpoints and event_handler changed: restart the gateway to apply them", "file", w.path)
	}
	w.current = cfg
}

// restartOnly reports whether a and b differ in what only a restart applies.
func restartOnly(a, b *config.Config) bool {
	x, y := *a, *b
	for _, c := range []*config.Config{&x, &y} {
		c.Endpoints, c.EventHandler, c.EventHandlerSource = nil, "", ""
	}
	return !reflect.DeepEqual(x, y)
}
