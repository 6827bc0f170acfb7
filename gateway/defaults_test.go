package gateway_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/wsgw/wsgw/gateway"
)

// TestLimitsDefaults: WithDefaults fills every zero field that has a
// default and nothing else (a zero rate, connection cap or upgrade rate
// stays off); DefaultLimits is that with the default rate; a field given
// is kept.
func TestLimitsDefaults(t *testing.T) {
	want := gateway.Limits{
		Burst: gateway.DefaultBurst, OnExceed: gateway.ExceedDrop, MaxDelay: 30 * time.Second,
		MaxMessageBytes: 64 << 10, MaxPendingSends: 1024, IdleTimeout: time.Minute, CloseTimeout: 5 * time.Second,
		UpgradesPerIPBurst: 10, HandshakeTimeout: 10 * time.Second, MaxScriptInterrupts: 3, MaxGroupsPerSocket: 100,
	}
	if got := (gateway.Limits{}).WithDefaults(); !reflect.DeepEqual(got, want) {
		t.Fatalf("zero Limits with defaults = %+v, want %+v", got, want)
	}
	want.MessagesPerSecond = 5
	if got := gateway.DefaultLimits(); !reflect.DeepEqual(got, want) {
		t.Fatalf("DefaultLimits() = %+v, want %+v", got, want)
	}
	given := gateway.Limits{MessagesPerSecond: 100, Burst: 1, OnExceed: gateway.ExceedClose, MaxMessageBytes: 7, UpgradesPerIPBurst: 2}
	got := given.WithDefaults()
	if got.MessagesPerSecond != 100 || got.Burst != 1 || got.OnExceed != gateway.ExceedClose || got.MaxMessageBytes != 7 || got.UpgradesPerIPBurst != 2 {
		t.Fatalf("WithDefaults changed given fields: %+v", got)
	}
}
