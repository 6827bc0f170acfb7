// Package redistest finds and starts the real Redis servers that the Redis
// store's tests run against: the shared one named by WSGW_TEST_REDIS, a
// throwaway redis-server on a port of its own (for tests that stop it), and a
// three-master Redis Cluster. Where Redis is missing a test is skipped, except
// under CI=true, where a missing Redis is a failure: CI must test the store.
package redistest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// EnvAddr names the environment variable that holds the shared test Redis.
const EnvAddr = "WSGW_TEST_REDIS"

// DefaultAddr is where the shared test Redis is looked for when EnvAddr is unset.
const DefaultAddr = "127.0.0.1:6379"

// Addr returns the address of the shared test Redis, after checking that it
// answers.
func Addr(t testing.TB) string {
	t.Helper()
	addr := os.Getenv(EnvAddr)
	if addr == "" {
		addr = DefaultAddr
	}
	c := goredis.NewClient(&goredis.Options{Addr: addr, MaxRetries: -1, DisableIdentity: true})
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		Unavailable(t, "no Redis answers at %s (set %s): %v", addr, EnvAddr, err)
	}
	return addr
}

// Unavailable skips the test for a missing Redis, or fails it when CI=true.
func Unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("CI=true and Redis is required: "+format, args...)
	}
	t.Skipf(format, args...)
}

// Prefix returns a key prefix unique to this test, so that parallel runs on
// one Redis never see each other's keys.
func Prefix() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return "wsgwtest-" + hex.EncodeToString(b[:])
}

// DeletePrefix removes every key under prefix, on every master of a cluster.
func DeletePrefix(ctx context.Context, c goredis.UniversalClient, prefix string) error {
	del := func(ctx context.Context, node goredis.UniversalClient) error {
		iter := node.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		for iter.Next(ctx) {
			if err := node.Del(ctx, iter.Val()).Err(); err != nil {
				return err
			}
		}
		return iter.Err()
	}
	if cc, ok := c.(*goredis.ClusterClient); ok {
		return cc.ForEachMaster(ctx, func(ctx context.Context, node *goredis.Client) error {
			return del(ctx, node)
		})
	}
	return del(ctx, c)
}
