package redis_test

import (
	"context"
	"net/http"
	"slices"
	"testing"

	goredis "github.com/redis/go-redis/v9"

	"github.com/wsgw/wsgw/internal/redistest"
)

// testSlotMigration moves the slot of a node's keys and inbox to another
// master. The old master unsubscribes the inbox (a pushed sunsubscribe);
// the node must subscribe again on the new owner and keep serving.
func testSlotMigration(t *testing.T, b backend, cl *redistest.Cluster) {
	nodes := b.startNodes(t, 2)
	a, bn := nodes[0], nodes[1]
	onA, onB := a.dial(), bn.dial()
	flushAll(t, nodes...)
	ctx := context.Background()
	admin := b.client(t)
	inbox := a.store.KeyPrefix() + ":node:{" + a.id + "}:inbox"
	slot, err := admin.ClusterKeySlot(ctx, inbox).Result()
	if err != nil {
		t.Fatal(err)
	}
	owner, err := cl.MigrateSlot(ctx, int(slot))
	if err != nil {
		t.Fatalf("migrating slot %d: %v", slot, err)
	}
	newOwner := goredis.NewClient(&goredis.Options{Addr: owner, DisableIdentity: true})
	defer newOwner.Close()
	eventually(t, "the inbox subscribed on the slot's new owner", func() bool {
		subs, err := newOwner.PubSubShardNumSub(ctx, inbox).Result()
		return err == nil && subs[inbox] == 1
	})
	eventually(t, "health 200 on "+a.id, func() bool {
		status, _ := a.health()
		return status == http.StatusOK
	})
	if status, body := bn.send(onA.id, "after the move"); status != http.StatusNoContent {
		t.Fatalf("send to the moved node = %d %s", status, body)
	}
	if got := onA.ReadText(); got != "after the move" {
		t.Fatalf("client of the moved node got %q", got)
	}
	flushAll(t, nodes...)
	if got, want := bn.list(), ids(onA, onB); !slices.Equal(got, want) {
		t.Fatalf("list after the move = %v, want %v", got, want)
	}
}
