package stomp_test

import (
	"errors"
	"testing"

	"github.com/wsgw/wsgw/stomp"
)

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		v    stomp.Version
		f    stomp.Frame
		is   error
		msg  string
	}{
		{"CONNECT needs nothing", stomp.V12, stomp.Frame{Command: stomp.CmdConnect}, nil, ""},
		{"STOMP as stomp.js sends it", 0, stomp.Frame{Command: stomp.CmdStomp, Headers: hdrs("accept-version", "1.2", "heart-beat", "10000,10000")}, nil, ""},
		{"DISCONNECT", stomp.V12, stomp.Frame{Command: stomp.CmdDisconnect}, nil, ""},
		{"SEND", stomp.V12, stomp.Frame{Command: stomp.CmdSend, Headers: hdrs("destination", "/a")}, nil, ""},
		{"SEND without destination", stomp.V12, stomp.Frame{Command: stomp.CmdSend}, stomp.ErrMissingHeader,
			"missing header: the SEND frame has no destination header"},
		{"SEND with an empty destination", stomp.V12, stomp.Frame{Command: stomp.CmdSend, Headers: hdrs("destination", "")}, stomp.ErrMissingHeader,
			"missing header: the destination header of the SEND frame is empty"},
		{"SUBSCRIBE 1.2", stomp.V12, stomp.Frame{Command: stomp.CmdSubscribe, Headers: hdrs("destination", "/a", "id", "0")}, nil, ""},
		{"SUBSCRIBE without id in 1.1", stomp.V11, stomp.Frame{Command: stomp.CmdSubscribe, Headers: hdrs("destination", "/a")}, stomp.ErrMissingHeader,
			"missing header: the SUBSCRIBE frame has no id header"},
		{"SUBSCRIBE without id in 1.0", stomp.V10, stomp.Frame{Command: stomp.CmdSubscribe, Headers: hdrs("destination", "/a")}, nil, ""},
		{"SUBSCRIBE without destination", stomp.V10, stomp.Frame{Command: stomp.CmdSubscribe, Headers: hdrs("id", "0")}, stomp.ErrMissingHeader,
			"missing header: the SUBSCRIBE frame has no destination header"},
		{"UNSUBSCRIBE", stomp.V12, stomp.Frame{Command: stomp.CmdUnsubscribe, Headers: hdrs("id", "0")}, nil, ""},
		{"UNSUBSCRIBE by destination in 1.0", stomp.V10, stomp.Frame{Command: stomp.CmdUnsubscribe, Headers: hdrs("destination", "/a")}, nil, ""},
		{"UNSUBSCRIBE by destination in 1.1", stomp.V11, stomp.Frame{Command: stomp.CmdUnsubscribe, Headers: hdrs("destination", "/a")}, stomp.ErrMissingHeader,
			"missing header: the UNSUBSCRIBE frame has no id header"},
		{"ACK 1.2", stomp.V12, stomp.Frame{Command: stomp.CmdAck, Headers: hdrs("id", "")}, nil, ""},
		{"ACK 1.2 with message-id only", stomp.V12, stomp.Frame{Command: stomp.CmdAck, Headers: hdrs("message-id", "1")}, stomp.ErrMissingHeader,
			"missing header: the ACK frame has no id header"},
		{"NACK 1.1", stomp.V11, stomp.Frame{Command: stomp.CmdNack, Headers: hdrs("message-id", "1", "subscription", "0")}, nil, ""},
		{"ACK 1.1 with id only", stomp.V11, stomp.Frame{Command: stomp.CmdAck, Headers: hdrs("id", "1")}, stomp.ErrMissingHeader,
			"missing header: the ACK frame has no message-id header"},
		{"ACK 1.0", stomp.V10, stomp.Frame{Command: stomp.CmdAck, Headers: hdrs("message-id", "1")}, nil, ""},
		{"BEGIN", stomp.V12, stomp.Frame{Command: stomp.CmdBegin, Headers: hdrs("transaction", "t")}, nil, ""},
		{"COMMIT without transaction", stomp.V12, stomp.Frame{Command: stomp.CmdCommit}, stomp.ErrMissingHeader,
			"missing header: the COMMIT frame has no transaction header"},
		{"ABORT without transaction", stomp.V10, stomp.Frame{Command: stomp.CmdAbort}, stomp.ErrMissingHeader,
			"missing header: the ABORT frame has no transaction header"},
		{"a server frame from a client", stomp.V12, stomp.Frame{Command: stomp.CmdMessage}, stomp.ErrUnexpectedCommand,
			"unexpected command: MESSAGE frames are sent by servers, not clients"},
		{"a command no decoder makes", stomp.V12, stomp.Frame{Command: "PING"}, stomp.ErrUnknownCommand,
			`unknown command "PING"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := stomp.Validate(tt.v, &tt.f)
			if tt.is == nil {
				if err != nil {
					t.Fatalf("Validate = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, tt.is) || err == nil || err.Error() != tt.msg {
				t.Fatalf("Validate = %v, want %q", err, tt.msg)
			}
		})
	}
}
