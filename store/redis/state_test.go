package redis_test

import (
	"context"
	"fmt"
	"testing"

	goredis "github.com/redis/go-redis/v9"

	"github.com/wsgw/wsgw/internal/redistest"
	redisstore "github.com/wsgw/wsgw/store/redis"
	"github.com/wsgw/wsgw/store/storetest"
)

// TestStateWrites: states saved faster than the writer writes them reach
// Redis as the last one saved, with Flush and without; an emptied state
// and an unregistered socket's leave no field behind.
func TestStateWrites(t *testing.T) {
	ctx := context.Background()
	b := sharedBackend(t)
	p := b.open(t, redistest.Prefix(), storetest.Node, redisstore.Options{})
	r, admin := p.registry, b.client(t)
	key := p.KeyPrefix() + ":node:{" + storetest.Node + "}:state"
	field := func(id string) (string, bool) {
		v, err := admin.HGet(ctx, key, id).Result()
		if err == goredis.Nil {
			return "", false
		}
		if err != nil {
			t.Fatal(err)
		}
		return v, true
	}
	set := func(id, state string) {
		t.Helper()
		// The caller reuses its buffer: the registry must copy it.
		buf := []byte(state)
		if err := r.SetState(ctx, id, buf); err != nil {
			t.Fatal(err)
		}
		copy(buf, "XXXXXXXX")
	}
	flush := func() {
		t.Helper()
		if err := r.Flush(ctx); err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range []string{"s1", "s2", "s3"} {
		if err := r.Register(ctx, storetest.Info(id)); err != nil {
			t.Fatal(err)
		}
	}

	// Many saves, no Flush: the writer's next batch of states carries the
	// last of them.
	for i := 1; i <= 100; i++ {
		set("s1", fmt.Sprintf(`{"n":%d}`, i))
	}
	eventually(t, "the last state of s1 in Redis", func() bool {
		v, _ := field("s1")
		return v == `{"n":100}`
	})

	// Flush writes what was saved before it.
	set("s1", `{"n":101}`)
	set("s2", `{"a":[1,2]}`)
	flush()
	for id, want := range map[string]string{"s1": `{"n":101}`, "s2": `{"a":[1,2]}`} {
		if v, ok := field(id); !ok || v != want {
			t.Fatalf("state of %s in Redis = %q (%v), want %s", id, v, ok, want)
		}
	}

	// "{}" removes the field; so does unregistering, written or not yet.
	set("s1", `{}`)
	set("s3", `{"never":"written"}`)
	if err := r.Unregister(ctx, "s2"); err != nil {
		t.Fatal(err)
	}
	if err := r.Unregister(ctx, "s3"); err != nil {
		t.Fatal(err)
	}
	flush()
	for _, id := range []string{"s1", "s2", "s3"} {
		if v, ok := field(id); ok {
			t.Fatalf("state of %s in Redis = %q, want none", id, v)
		}
	}

	// A socket registered again under the same ID starts with no state.
	if err := r.Register(ctx, storetest.Info("s2")); err != nil {
		t.Fatal(err)
	}
	set("s2", `{"again":true}`)
	flush()
	if v, _ := field("s2"); v != `{"again":true}` {
		t.Fatalf("state of s2 registered again = %q", v)
	}
}

// TestScriptStateReachesRedis: a gateway node on Redis writes the state its
// script saves to the node's state hash in its next batch, the last
// one saved of a connection that saves on every message, and an event that
// saves nothing writes nothing.
func TestScriptStateReachesRedis(t *testing.T) {
	ctx := context.Background()
	b := sharedBackend(t)
	n := b.startNode(t, redistest.Prefix(), "state-node")
	n.deploy("/count", `
if (websocketInfo.type === "open") return websocketInfo.socket_id;
if (websocketInfo.type === "data" && websocketInfo.message !== "peek") websocketInfo.state.n = (websocketInfo.state.n || 0) + 1;
if (websocketInfo.type === "data") return "ok";`)
	key := n.store.KeyPrefix() + ":node:{state-node}:state"
	admin := b.client(t)
	field := func(id string) string {
		v, err := admin.HGet(ctx, key, id).Result()
		if err != nil && err != goredis.Nil {
			t.Fatal(err)
		}
		return v
	}

	c, quiet := n.dialPath("/count"), n.dialPath("/count")
	id, quietID := c.ReadText(), quiet.ReadText()
	for range 5 {
		c.Send("count")
		c.ReadText()
	}
	eventually(t, "the fifth state saved in Redis", func() bool { return field(id) == `{"n":5}` })

	quiet.Send("peek")
	quiet.ReadText()
	if err := n.store.registry.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if v := field(quietID); v != "" {
		t.Fatalf("a connection whose script saved no state has %q in Redis", v)
	}
}
