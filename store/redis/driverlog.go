package redis

import (
	"context"
	"fmt"
	"log/slog"

	goredis "github.com/redis/go-redis/v9"

	"github.com/wsgw/wsgw/internal/ratelog"
)

// LogDriverTo sends go-redis's own log lines (failed dials, pub/sub
// reconnects) to logger at warning level, so that they come out structured
// like every other line. While Redis is away go-redis fails a dial on every
// command: one line per ratelog.Interval carries how many lines it stands
// for. go-redis keeps one logger for the whole process: only main should
// call this, once.
func LogDriverTo(logger *slog.Logger) {
	goredis.SetLogger(&driverLogger{log: logger})
}

type driverLogger struct {
	log   *slog.Logger
	every ratelog.Limiter
}

func (d *driverLogger) Printf(ctx context.Context, format string, args ...any) {
	if ok, n := d.every.Allow(); ok {
		d.log.WarnContext(ctx, "go-redis", "detail", fmt.Sprintf(format, args...), "lines", n)
	}
}
