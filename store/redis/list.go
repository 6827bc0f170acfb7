package redis

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	goredis "github.com/redis/go-redis/v9"

	"github.com/wsgw/wsgw"
)

// List pages through the IDs of every live node's sockets in lexical order;
// the cursor is the last ID returned. Each node's sorted set is read from
// the cursor on in one pipeline and the pages are merged, so a page costs
// two round trips whatever the cluster's size. A node whose heartbeat has
// expired is left out (and purged), so no ghost outlives the heartbeat TTL.
func (r *Registry) List(ctx context.Context, cursor string, limit int) ([]string, string, error) {
	return r.merged(ctx, r.sh.keys.sockets, cursor, limit)
}

// merged pages through the union of one sorted set per live node, named
// by key, in lexical order.
func (r *Registry) merged(ctx context.Context, key func(node string) string, cursor string, limit int) ([]string, string, error) {
	if err := r.Flush(ctx); err != nil {
		return nil, "", unavailable(err)
	}
	nodes, err := r.sh.client.SMembers(ctx, r.sh.keys.nodes()).Result()
	if err != nil {
		r.sh.unreachable(err)
		return nil, "", unavailable(err)
	}
	if !slices.Contains(nodes, r.sh.node) {
		nodes = append(nodes, r.sh.node)
	}
	rng := &goredis.ZRangeBy{Min: "-", Max: "+"}
	if cursor != "" {
		rng.Min = "(" + cursor
	}
	if limit > 0 {
		rng.Count = int64(limit) + 1 // one more tells whether a next page exists
	}
	alive := make([]*goredis.IntCmd, len(nodes))
	pages := make([]*goredis.StringSliceCmd, len(nodes))
	pipe := r.sh.client.Pipeline()
	for i, n := range nodes {
		alive[i] = pipe.Exists(ctx, r.sh.keys.alive(n))
		pages[i] = pipe.ZRangeByLex(ctx, key(n), rng)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		r.sh.unreachable(err)
		return nil, "", unavailable(err)
	}
	var ids []string
	for i, n := range nodes {
		if n != r.sh.node && alive[i].Val() == 0 {
			r.sh.schedulePurge(n, false)
			continue
		}
		ids = append(ids, pages[i].Val()...)
	}
	slices.Sort(ids)
	if ids == nil {
		ids = []string{}
	}
	if limit <= 0 || len(ids) <= limit {
		return ids, "", nil
	}
	ids = ids[:limit]
	return ids, ids[limit-1], nil
}

func decodeInfo(data []byte) (*wsgw.SocketInfo, error) {
	info := new(wsgw.SocketInfo)
	if err := json.Unmarshal(data, info); err != nil {
		return nil, fmt.Errorf("redis store: a socket record is not valid JSON: %w", err)
	}
	return info, nil
}
