// Package stomp is the frame codec of STOMP 1.0, 1.1 and 1.2 over WebSocket,
// with the protocol's small rules around it:
//
//   - Decoder.Frames splits one WebSocket message into its frames, skipping
//     heart-beats, with the escaping and line endings of the negotiated
//     version and limits on headers and body; malformed input is an error
//     whose text is fit for an ERROR frame's message header.
//   - Append encodes a frame for a version; ConnectedFrame, ReceiptFrame
//     and ErrorFrame build the server's answers; a MessageTemplate encodes a
//     publish once and stamps each subscription's MESSAGE frame cheaply.
//   - NegotiateVersion and NegotiateHeartBeat turn a CONNECT's
//     accept-version and heart-beat headers into the session's version and
//     intervals; ParseHeartBeatConfig reads an endpoint's "10s,10s".
//   - Validate checks that a client frame has the headers its command needs.
//
// It does no I/O and keeps no session state: reading and writing messages,
// heart-beat timers, subscriptions, receipts, transactions, and closing the
// connection after an ERROR frame are the gateway's. See ExampleDecoder_Frames
// for a connection's loop.
package stomp
