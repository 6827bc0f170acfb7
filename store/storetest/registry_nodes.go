package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/wsgw/wsgw/store"
)

// RegistryNodesFactory returns one registry per node name, all sharing one
// new, empty registry: what the gateway nodes of one cluster hold.
type RegistryNodesFactory func(t *testing.T, nodes ...string) []store.Registry

// RunRegistryNodes runs the part of the registry's contract that concerns
// several nodes: every node sees the sockets of every other, with their
// owner, once flushed.
func RunRegistryNodes(t *testing.T, newNodes RegistryNodesFactory) {
	tests := []struct {
		name string
		fn   func(t *testing.T, nodes []string, stores []store.Registry)
	}{
		{"EveryNodeSeesEverySocket", testEveryNodeSees},
		{"PagingAcrossNodes", testPagingAcrossNodes},
		{"UnregisterSeenEverywhere", testUnregisterEverywhere},
	}
	nodes := []string{"node-a", "node-b", "node-c"}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, nodes, newNodes(t, nodes...))
		})
	}
}

func flushAll(t *testing.T, stores []store.Registry) {
	t.Helper()
	for i, s := range stores {
		if err := s.Flush(context.Background()); err != nil {
			t.Fatalf("Flush on node %d: %v", i, err)
		}
	}
}

func testEveryNodeSees(t *testing.T, nodes []string, stores []store.Registry) {
	owner := map[string]string{}
	var all []string
	for i, s := range stores {
		for k := range 3 {
			id := fmt.Sprintf("%s-sock-%d", nodes[i], k)
			mustDo(t, "Register", s.Register(context.Background(), InfoOn(id, nodes[i])))
			owner[id] = nodes[i]
			all = append(all, id)
		}
	}
	slices.Sort(all)
	flushAll(t, stores)
	for i, s := range stores {
		got := listAll(t, s, 0)
		slices.Sort(got)
		if !slices.Equal(got, all) {
			t.Fatalf("List on %s: %s", nodes[i], diff(got, all))
		}
		for id, node := range owner {
			info, err := s.Get(context.Background(), id)
			if err != nil {
				t.Fatalf("Get(%s) on %s: %v", id, nodes[i], err)
			}
			if info.Node != node || info.ID != id {
				t.Fatalf("Get(%s) on %s = node %q id %q, want node %q", id, nodes[i], info.Node, info.ID, node)
			}
		}
	}
}

func testPagingAcrossNodes(t *testing.T, nodes []string, stores []store.Registry) {
	var all []string
	for i, s := range stores {
		for k := range 200 {
			// Interleave the IDs of the nodes so that every page mixes them.
			id := fmt.Sprintf("sock-%04d-%s", k, nodes[i])
			mustDo(t, "Register", s.Register(context.Background(), InfoOn(id, nodes[i])))
			all = append(all, id)
		}
	}
	slices.Sort(all)
	flushAll(t, stores)
	for i, s := range stores {
		for _, limit := range []int{1, 7, 100, 600, 1000} {
			got := listAll(t, s, limit)
			slices.Sort(got)
			if !slices.Equal(got, all) {
				t.Fatalf("paging on %s with limit %d returned %d ids, want each of %d once: %s",
					nodes[i], limit, len(got), len(all), diff(got, all))
			}
		}
	}
}

func testUnregisterEverywhere(t *testing.T, nodes []string, stores []store.Registry) {
	a, b := stores[0], stores[1]
	mustDo(t, "Register", a.Register(context.Background(), InfoOn("gone", nodes[0])))
	mustDo(t, "Register", a.Register(context.Background(), InfoOn("stays", nodes[0])))
	flushAll(t, stores)
	if _, err := b.Get(context.Background(), "gone"); err != nil {
		t.Fatalf("Get on %s before Unregister: %v", nodes[1], err)
	}
	mustDo(t, "Unregister", a.Unregister(context.Background(), "gone"))
	flushAll(t, stores)
	if _, err := b.Get(context.Background(), "gone"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Get on %s after Unregister on %s = %v, want ErrNotFound", nodes[1], nodes[0], err)
	}
	if got := listAll(t, b, 0); !slices.Equal(got, []string{"stays"}) {
		t.Fatalf("List on %s = %v, want [stays]", nodes[1], got)
	}
}
