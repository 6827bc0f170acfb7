package redis

import (
	"context"
	"fmt"
	"log/slog"

	goredis "github.com/redis/go-redis/v9"
)

// LogDriverTo sends go-redis's own log lines (failed dials, pub/sub
// reconnects) to logger at warning level, so that they come out structured
// like every other line. go-redis keeps one logger for the whole process:
// only main should call this, once.
func LogDriverTo(logger *slog.Logger) {
	goredis.SetLogger(driverLogger{logger})
}

type driverLogger struct{ log *slog.Logger }

func (d driverLogger) Printf(ctx context.Context, format string, args ...any) {
	d.log.WarnContext(ctx, "go-redis", "detail", fmt.Sprintf(format, args...))
}
