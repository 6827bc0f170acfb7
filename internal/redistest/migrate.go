package redistest

import (
	"context"
	"fmt"
	"net"

	goredis "github.com/redis/go-redis/v9"
)

// MigrateSlot moves slot, with its keys, from the master that serves it to
// the next one, as resharding does, and returns the new owner's address.
// The old owner drops the slot's sharded subscribers with an sunsubscribe.
func (cl *Cluster) MigrateSlot(ctx context.Context, slot int) (string, error) {
	clients := make([]*goredis.Client, len(cl.Addrs))
	ids := make([]string, len(cl.Addrs))
	for i, addr := range cl.Addrs {
		clients[i] = goredis.NewClient(&goredis.Options{Addr: addr, MaxRetries: -1, DisableIdentity: true})
		defer clients[i].Close()
		id, err := clients[i].Do(ctx, "CLUSTER", "MYID").Text()
		if err != nil {
			return "", err
		}
		ids[i] = id
	}
	slots, err := clients[0].ClusterSlots(ctx).Result()
	if err != nil {
		return "", err
	}
	src := -1
	for _, r := range slots {
		if slot >= r.Start && slot <= r.End && len(r.Nodes) > 0 {
			for i, id := range ids {
				if r.Nodes[0].ID == id {
					src = i
				}
			}
		}
	}
	if src < 0 {
		return "", fmt.Errorf("no master serves slot %d", slot)
	}
	dst := (src + 1) % len(clients)
	host, port, _ := net.SplitHostPort(cl.Addrs[dst])
	steps := []struct {
		c    *goredis.Client
		args []any
	}{
		{clients[dst], []any{"CLUSTER", "SETSLOT", slot, "IMPORTING", ids[src]}},
		{clients[src], []any{"CLUSTER", "SETSLOT", slot, "MIGRATING", ids[dst]}},
	}
	for _, st := range steps {
		if err := st.c.Do(ctx, st.args...).Err(); err != nil {
			return "", fmt.Errorf("%v: %w", st.args, err)
		}
	}
	for {
		keys, err := clients[src].ClusterGetKeysInSlot(ctx, slot, 100).Result()
		if err != nil {
			return "", err
		}
		if len(keys) == 0 {
			break
		}
		args := []any{"MIGRATE", host, port, "", 0, 5000, "KEYS"}
		for _, k := range keys {
			args = append(args, k)
		}
		if err := clients[src].Do(ctx, args...).Err(); err != nil {
			return "", fmt.Errorf("MIGRATE: %w", err)
		}
	}
	for _, i := range append([]int{dst, src}, others(len(clients), src, dst)...) {
		if err := clients[i].Do(ctx, "CLUSTER", "SETSLOT", slot, "NODE", ids[dst]).Err(); err != nil {
			return "", fmt.Errorf("CLUSTER SETSLOT %d NODE on %s: %w", slot, cl.Addrs[i], err)
		}
	}
	return net.JoinHostPort(host, port), nil
}

func others(n, a, b int) []int {
	var out []int
	for i := range n {
		if i != a && i != b {
			out = append(out, i)
		}
	}
	return out
}
