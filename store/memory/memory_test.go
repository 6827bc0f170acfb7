package memory_test

import (
	"testing"

	"github.com/wsgw/wsgw/store"
	"github.com/wsgw/wsgw/store/memory"
	"github.com/wsgw/wsgw/store/storetest"
)

func TestContract(t *testing.T) {
	storetest.Run(t, func(*testing.T) store.Registry { return memory.New() })
}

// TestContractNodes shares one memory store between in-process nodes, the
// only way several nodes can share it.
func TestContractNodes(t *testing.T) {
	storetest.RunNodes(t, func(_ *testing.T, nodes ...string) []store.Registry {
		s := memory.New()
		stores := make([]store.Registry, len(nodes))
		for i := range stores {
			stores[i] = s
		}
		return stores
	})
}
