// Fan-out publisher for `wsbench fanout` (docs/wsbench.md): every message
// is published to the group (?group=NAME, default "bench"). A refused
// publish is answered with its error object, which wsbench counts.
if (websocketInfo.type === "data") {
  var err = Websocket.publish({group: websocketInfo.parameters.group || "bench", message: websocketInfo.message});
  if (err) {
    return err;
  }
}
