package redis_test

import (
	"context"
	"os"
	"testing"

	goredis "github.com/redis/go-redis/v9"
)

// TestMain quiets go-redis's own logger, which writes a line for every
// failed dial of the outage tests, unless WSGW_TEST_LOG is set.
func TestMain(m *testing.M) {
	if os.Getenv("WSGW_TEST_LOG") == "" {
		goredis.SetLogger(quiet{})
	}
	os.Exit(m.Run())
}

type quiet struct{}

func (quiet) Printf(context.Context, string, ...any) {}
