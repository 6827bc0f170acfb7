package deploy_test

import (
	"context"
	"errors"
	"testing"

	"github.com/wsgw/wsgw"
	"github.com/wsgw/wsgw/deploy"
	"github.com/wsgw/wsgw/internal/gwtest"
)

// TestProtocolOptionsRefused deploys protocol options that cannot work: each
// is refused with an invalid_request error that names its field.
func TestProtocolOptionsRefused(t *testing.T) {
	h := gwtest.New(t, gwtest.Options{})
	str := func(s string) *string { return &s }
	for _, tc := range []struct {
		name  string
		opts  wsgw.Options
		field string
	}{
		{"subprotocol with a space", wsgw.Options{Subprotocols: []string{"v12 stomp"}}, "subprotocols[0]"},
		{"empty subprotocol", wsgw.Options{Subprotocols: []string{""}}, "subprotocols[0]"},
		{"unknown protocol", wsgw.Options{Protocol: str("mqtt")}, "protocol"},
		{"stomp options on a plain endpoint", wsgw.Options{STOMP: &wsgw.STOMPOptions{Heartbeat: "1s,1s"}}, "stomp"},
		{"heart-beat not two durations", wsgw.Options{Protocol: str("stomp"), STOMP: &wsgw.STOMPOptions{Heartbeat: "10s"}}, "stomp.heartbeat"},
		{"heart-beat below a millisecond", wsgw.Options{Protocol: str("stomp"), STOMP: &wsgw.STOMPOptions{Heartbeat: "1500us,0"}}, "stomp.heartbeat"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := h.Deploys.Deploy(context.Background(), wsgw.Deployment{Path: "/p", Script: "", Options: tc.opts, Source: "api"})
			var de *deploy.Error
			if wsgw.ErrorCode(err) != wsgw.EInvalid || !errors.As(err, &de) || de.Field != tc.field {
				t.Fatalf("deploy: %v, want invalid_request on %s", err, tc.field)
			}
		})
	}
}
