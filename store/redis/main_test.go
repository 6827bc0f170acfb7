package redis_test

import (
	"os"
	"testing"

	redisstore "github.com/wsgw/wsgw/store/redis"
)

// TestMain sends go-redis's own logger, which writes a line for every
// failed dial of the outage tests, where the tests' logs go.
func TestMain(m *testing.M) {
	redisstore.LogDriverTo(testLogger())
	os.Exit(m.Run())
}
