package redis_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/wsgw/wsgw/internal/redistest"
	"github.com/wsgw/wsgw/store"
	redisstore "github.com/wsgw/wsgw/store/redis"
	"github.com/wsgw/wsgw/store/storetest"
)

func TestContract(t *testing.T) {
	runContract(t, sharedBackend(t))
}

// TestCluster runs everything that the single server runs on a real
// three-master Redis Cluster, started once for all of it.
func TestCluster(t *testing.T) {
	cl := redistest.StartCluster(t)
	b := clusterBackend(cl)
	t.Run("Contract", func(t *testing.T) { runContract(t, b) })
	t.Run("MultiNode", func(t *testing.T) { runMultiNode(t, b) })
	t.Run("SlotMigration", func(t *testing.T) { testSlotMigration(t, b, cl) })
	// Last: it stops the whole cluster and starts it again, empty.
	t.Run("Outage", func(t *testing.T) { testOutage(t, b) })
}

func runContract(t *testing.T, b backend) {
	t.Run("Single", func(t *testing.T) {
		storetest.RunRegistry(t, func(t *testing.T) store.Registry {
			return b.open(t, redistest.Prefix(), storetest.Node, redisstore.Options{}).registry
		})
	})
	t.Run("Nodes", func(t *testing.T) {
		storetest.RunRegistryNodes(t, func(t *testing.T, nodes ...string) []store.Registry {
			prefix := redistest.Prefix()
			stores := make([]store.Registry, len(nodes))
			for i, n := range nodes {
				stores[i] = b.open(t, prefix, n, redisstore.Options{}).registry
			}
			return stores
		})
	})
	t.Run("Index", func(t *testing.T) {
		storetest.RunIndex(t, func(t *testing.T) store.Registry {
			return b.open(t, redistest.Prefix(), storetest.Node, redisstore.Options{}).registry
		})
	})
	t.Run("IndexNodes", func(t *testing.T) {
		storetest.RunIndexNodes(t, func(t *testing.T, nodes ...string) []store.Registry {
			prefix := redistest.Prefix()
			stores := make([]store.Registry, len(nodes))
			for i, n := range nodes {
				stores[i] = b.open(t, prefix, n, redisstore.Options{}).registry
			}
			return stores
		}, func(_ *testing.T, s store.Registry) { s.(*redisstore.Registry).Kill() })
	})
	t.Run("Bus", func(t *testing.T) {
		storetest.RunBus(t, func(t *testing.T, locals map[string]store.Local) map[string]store.Bus {
			prefix := redistest.Prefix()
			buses := map[string]store.Bus{}
			for node, local := range locals {
				bus := b.open(t, prefix, node, redisstore.Options{}).serve(local)
				buses[node] = bus
				select { // a node serves once its inbox is subscribed
				case <-bus.InboxReady():
				case <-time.After(waitFor):
					t.Fatalf("the inbox of %s was not subscribed within %v", node, waitFor)
				}
			}
			return buses
		})
	})
	t.Run("Deploys", func(t *testing.T) {
		storetest.RunDeploys(t, func(t *testing.T, n int) []store.DeployRegistry {
			prefix := redistest.Prefix()
			nodes := make([]store.DeployRegistry, n)
			for i := range nodes {
				nodes[i] = b.open(t, prefix, fmt.Sprintf("node-%d", i), redisstore.Options{}).deploys
			}
			return nodes
		})
	})
}
