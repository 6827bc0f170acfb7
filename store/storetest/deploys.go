package storetest

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/wsgw/wsgw"
	"github.com/wsgw/wsgw/store"
)

// DeploysFactory returns n views of one new, empty deploy registry, as n
// nodes hold it; they are closed when the test ends.
type DeploysFactory func(t *testing.T, n int) []store.DeployRegistry

// RunDeploys runs the deploy registry's contract: versions only grow, a
// change never loses to an older one (a deleted path keeps its version),
// and every node watching hears of every change.
func RunDeploys(t *testing.T, newDeploys DeploysFactory) {
	tests := []struct {
		name string
		fn   func(t *testing.T, newDeploys DeploysFactory)
	}{
		{"VersionsGrow", testDeployVersions},
		{"SaveLoad", testDeploySaveLoad},
		{"OlderSaveRefused", testDeployOlderSave},
		{"DeleteLeavesItsVersion", testDeployDelete},
		{"EveryNodeHearsOfEveryChange", testDeployWatch},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, newDeploys) })
	}
}

func deploysCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), busWait)
	t.Cleanup(cancel)
	return ctx
}

// deployment returns a deployment of path with every stored field set.
func deployment(path string, version int64, script string) wsgw.Deployment {
	return wsgw.Deployment{
		Path: path, Version: version, Script: script, Source: "api",
		Options:    wsgw.Options{AllowedOrigins: []string{"https://a\\.example"}},
		DeployedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
	}
}

func sameDeployment(a, b wsgw.Deployment) bool {
	return a.Path == b.Path && a.Version == b.Version && a.Script == b.Script && a.Source == b.Source &&
		a.Options.Equal(b.Options) && a.DeployedAt.Equal(b.DeployedAt)
}

func save(t *testing.T, d store.DeployRegistry, dep wsgw.Deployment) (saved, created bool) {
	t.Helper()
	saved, created, err := d.Save(deploysCtx(t), dep)
	mustDo(t, "Save", err)
	return saved, created
}

func load(t *testing.T, d store.DeployRegistry) (map[string]wsgw.Deployment, map[string]int64) {
	t.Helper()
	deps, deleted, err := d.Load(deploysCtx(t))
	mustDo(t, "Load", err)
	byPath := map[string]wsgw.Deployment{}
	for _, dep := range deps {
		byPath[dep.Path] = dep
	}
	return byPath, deleted
}

func testDeployVersions(t *testing.T, newDeploys DeploysFactory) {
	nodes := newDeploys(t, 2)
	ctx := deploysCtx(t)
	var last int64
	for i := range 20 {
		v, err := nodes[i%2].NextVersion(ctx, 0)
		mustDo(t, "NextVersion", err)
		if v <= last {
			t.Fatalf("NextVersion = %d after %d: versions must grow on every node", v, last)
		}
		last = v
	}
	floor := last + 1_000_000
	v, err := nodes[0].NextVersion(ctx, floor)
	mustDo(t, "NextVersion", err)
	if v <= floor {
		t.Fatalf("NextVersion(floor %d) = %d, want above the floor", floor, v)
	}
	if v2, err := nodes[1].NextVersion(ctx, 0); err != nil || v2 <= v {
		t.Fatalf("NextVersion after a floor = %d, %v; want above %d", v2, err, v)
	}
}

func testDeploySaveLoad(t *testing.T, newDeploys DeploysFactory) {
	nodes := newDeploys(t, 2)
	for _, path := range []string{"/chat/{room}", ""} { // "" is the event handler
		dep := deployment(path, 10, "return 1")
		if saved, created := save(t, nodes[0], dep); !saved || !created {
			t.Fatalf("Save of a new path %q = saved %v created %v, want both", path, saved, created)
		}
		byPath, _ := load(t, nodes[1])
		if got, ok := byPath[path]; !ok || !sameDeployment(got, dep) {
			t.Fatalf("Load on another node = %+v, want %+v", got, dep)
		}
		next := deployment(path, 11, "return 2")
		if saved, created := save(t, nodes[1], next); !saved || created {
			t.Fatalf("Save of a newer version = saved %v created %v, want saved, not created", saved, created)
		}
		if byPath, _ := load(t, nodes[0]); !sameDeployment(byPath[path], next) {
			t.Fatalf("Load after a newer Save = %+v, want %+v", byPath[path], next)
		}
	}
	if byPath, _ := load(t, nodes[0]); len(byPath) != 2 {
		t.Fatalf("Load = %d deployments, want the 2 saved", len(byPath))
	}
}

func testDeployOlderSave(t *testing.T, newDeploys DeploysFactory) {
	d := newDeploys(t, 1)[0]
	save(t, d, deployment("/a", 20, "new"))
	if saved, _ := save(t, d, deployment("/a", 19, "old")); saved {
		t.Fatal("Save of an older version than the stored one was saved")
	}
	if byPath, _ := load(t, d); byPath["/a"].Script != "new" {
		t.Fatalf("Load after an older Save = %+v, want the newer script", byPath["/a"])
	}
}

func testDeployDelete(t *testing.T, newDeploys DeploysFactory) {
	d := newDeploys(t, 1)[0]
	ctx := deploysCtx(t)
	save(t, d, deployment("/a", 20, "x"))
	if ok, err := d.Delete(ctx, "/a", 19); err != nil || ok {
		t.Fatalf("Delete as of an older version = %v, %v; want refused", ok, err)
	}
	if ok, err := d.Delete(ctx, "/a", 30); err != nil || !ok {
		t.Fatalf("Delete = %v, %v", ok, err)
	}
	byPath, deleted := load(t, d)
	if _, ok := byPath["/a"]; ok || deleted["/a"] != 30 {
		t.Fatalf("Load after Delete = %v, deleted %v; want /a gone at version 30", byPath, deleted)
	}
	if saved, _ := save(t, d, deployment("/a", 25, "late")); saved {
		t.Fatal("a Save older than the delete brought the path back")
	}
	if saved, created := save(t, d, deployment("/a", 31, "again")); !saved || !created {
		t.Fatalf("Save after the delete = saved %v created %v, want both", saved, created)
	}
}

// watched records what one node's Watch delivers.
type watched struct {
	mu      sync.Mutex
	changes []string
	resyncs int
	signal  chan struct{}
}

func watch(d store.DeployRegistry) *watched {
	w := &watched{signal: make(chan struct{}, 1)}
	note := func(f func()) {
		w.mu.Lock()
		f()
		w.mu.Unlock()
		select {
		case w.signal <- struct{}{}:
		default:
		}
	}
	d.Watch(func(dep wsgw.Deployment, deleted bool) {
		note(func() {
			what := "deployed "
			if deleted {
				what = "deleted "
			}
			w.changes = append(w.changes, what+dep.Path+" "+dep.Script)
		})
	}, func() { note(func() { w.resyncs++ }) })
	return w
}

// wait returns once cond holds of what was delivered, or fails the test.
func (w *watched) wait(t *testing.T, what string, cond func(changes []string, resyncs int) bool) {
	t.Helper()
	deadline := time.After(busWait)
	for {
		w.mu.Lock()
		ok := cond(slices.Clone(w.changes), w.resyncs)
		got := slices.Clone(w.changes)
		w.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-w.signal:
		case <-deadline:
			t.Fatalf("waiting for %s: got %q", what, got)
		}
	}
}

func testDeployWatch(t *testing.T, newDeploys DeploysFactory) {
	nodes := newDeploys(t, 2)
	watchers := []*watched{watch(nodes[0]), watch(nodes[1])}
	for _, w := range watchers {
		w.wait(t, "a resync at start", func(_ []string, resyncs int) bool { return resyncs > 0 })
	}
	ctx := deploysCtx(t)
	save(t, nodes[0], deployment("/a", 40, "v1"))
	save(t, nodes[1], deployment("/a", 41, "v2"))
	if ok, err := nodes[1].Delete(ctx, "/a", 42); err != nil || !ok {
		t.Fatalf("Delete = %v, %v", ok, err)
	}
	want := []string{"deployed /a v1", "deployed /a v2", "deleted /a "}
	for i, w := range watchers {
		w.wait(t, "every change, in order, on node "+string(rune('a'+i)), func(changes []string, _ int) bool {
			return slices.Equal(changes, want)
		})
	}
}
