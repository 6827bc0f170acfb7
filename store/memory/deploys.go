package memory

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/wsgw/wsgw"
	"github.com/wsgw/wsgw/store"
)

// Deploys is the store.DeployRegistry of the nodes of one process: a single
// node's, or several that share it in a test. Deployments are kept as JSON,
// as Redis keeps them, so that what is stored is what a deployment's JSON
// holds and no caller's slices are shared.
type Deploys struct {
	mu       sync.Mutex
	last     int64
	scripts  map[string][]byte // path -> the deployment's JSON
	versions map[string]int64  // path -> version of the last deploy or delete
	watchers []*watcher
	closed   bool
}

var _ store.DeployRegistry = (*Deploys)(nil)

// NewDeploys returns an empty deploy registry.
func NewDeploys() *Deploys {
	return &Deploys{scripts: map[string][]byte{}, versions: map[string]int64{}}
}

// NextVersion returns the time in microseconds, or more: a version above
// floor and above every version returned before.
func (d *Deploys) NextVersion(_ context.Context, floor int64) (int64, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.last = max(time.Now().UnixMicro(), d.last+1, floor+1)
	return d.last, nil
}

// Save stores dep unless a newer version is recorded, and tells every watcher.
func (d *Deploys) Save(_ context.Context, dep wsgw.Deployment) (saved, created bool, err error) {
	data, err := json.Marshal(dep)
	if err != nil {
		return false, false, fmt.Errorf("memory deploys: %w", err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.versions[dep.Path] > dep.Version {
		return false, false, nil
	}
	_, had := d.scripts[dep.Path]
	d.scripts[dep.Path] = data
	d.versions[dep.Path] = dep.Version
	d.notify(data, false)
	return true, !had, nil
}

// Delete removes path as of version unless a newer version is recorded,
// and tells every watcher; the version stays as a tombstone.
func (d *Deploys) Delete(_ context.Context, path string, version int64) (bool, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.versions[path] > version {
		return false, nil
	}
	delete(d.scripts, path)
	d.versions[path] = version
	data, _ := json.Marshal(wsgw.Deployment{Path: path, Version: version})
	d.notify(data, true)
	return true, nil
}

// Load returns every stored deployment and the versions of deleted paths.
func (d *Deploys) Load(context.Context) ([]wsgw.Deployment, map[string]int64, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	deps := make([]wsgw.Deployment, 0, len(d.scripts))
	for _, data := range d.scripts {
		deps = append(deps, decodeDeployment(data))
	}
	deleted := map[string]int64{}
	for path, v := range d.versions {
		if _, live := d.scripts[path]; !live {
			deleted[path] = v
		}
	}
	return deps, deleted, nil
}

func decodeDeployment(data []byte) wsgw.Deployment {
	var dep wsgw.Deployment
	_ = json.Unmarshal(data, &dep) // it was marshalled here
	return dep
}

// Watch calls resync once, then changed for every change made from now on,
// in order, from a goroutine of its own until Close.
func (d *Deploys) Watch(changed func(wsgw.Deployment, bool), resync func()) {
	w := &watcher{wake: make(chan struct{}, 1), stop: make(chan struct{})}
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return
	}
	d.watchers = append(d.watchers, w)
	d.mu.Unlock()
	go w.run(changed, resync)
}

// notify queues a change for every watcher; d.mu is held, so that every
// watcher sees the changes in the order they were made.
func (d *Deploys) notify(data []byte, deleted bool) {
	for _, w := range d.watchers {
		w.queue(change{data, deleted})
	}
}

// Close stops the watchers.
func (d *Deploys) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.closed {
		d.closed = true
		for _, w := range d.watchers {
			close(w.stop)
		}
	}
	return nil
}

type change struct {
	data    []byte
	deleted bool
}

// watcher hands the changes to one Watch's callbacks. Its queue has no
// bound, so that Save never waits for a node busy with an earlier change.
type watcher struct {
	mu      sync.Mutex
	pending []change
	wake    chan struct{}
	stop    chan struct{}
}

func (w *watcher) queue(c change) {
	w.mu.Lock()
	w.pending = append(w.pending, c)
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

func (w *watcher) run(changed func(wsgw.Deployment, bool), resync func()) {
	resync()
	for {
		select {
		case <-w.stop:
			return
		case <-w.wake:
		}
		w.mu.Lock()
		batch := w.pending
		w.pending = nil
		w.mu.Unlock()
		for _, c := range batch {
			select {
			case <-w.stop:
				return
			default:
			}
			changed(decodeDeployment(c.data), c.deleted)
		}
	}
}
