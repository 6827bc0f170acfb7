package memory_test

import (
	"testing"

	"github.com/wsgw/wsgw/store"
	"github.com/wsgw/wsgw/store/memory"
	"github.com/wsgw/wsgw/store/storetest"
)

func TestRegistry(t *testing.T) {
	storetest.RunRegistry(t, func(*testing.T) store.Registry { return memory.NewRegistry() })
}

// TestRegistryNodes shares one memory registry between in-process nodes,
// the only way several nodes can share it.
func TestRegistryNodes(t *testing.T) {
	storetest.RunRegistryNodes(t, func(_ *testing.T, nodes ...string) []store.Registry {
		s := memory.NewRegistry()
		stores := make([]store.Registry, len(nodes))
		for i := range stores {
			stores[i] = s
		}
		return stores
	})
}

func TestIndex(t *testing.T) {
	storetest.RunIndex(t, func(*testing.T) store.Registry { return memory.NewRegistry() })
	storetest.RunIndexNodes(t, func(_ *testing.T, nodes ...string) []store.Registry {
		s := memory.NewRegistry()
		stores := make([]store.Registry, len(nodes))
		for i := range stores {
			stores[i] = s
		}
		return stores
	}, nil)
}

// TestBus joins the nodes on one hub.
func TestBus(t *testing.T) {
	storetest.RunBus(t, func(t *testing.T, locals map[string]store.Local) map[string]store.Bus {
		hub := memory.NewHub()
		buses := map[string]store.Bus{}
		for node, local := range locals {
			b := hub.Join(node, local)
			t.Cleanup(func() { _ = b.Close() })
			buses[node] = b
		}
		return buses
	})
}

// TestDeploys shares one memory deploy registry between the nodes.
func TestDeploys(t *testing.T) {
	storetest.RunDeploys(t, func(t *testing.T, n int) []store.DeployRegistry {
		d := memory.NewDeploys()
		t.Cleanup(func() { _ = d.Close() })
		nodes := make([]store.DeployRegistry, n)
		for i := range nodes {
			nodes[i] = d
		}
		return nodes
	})
}
