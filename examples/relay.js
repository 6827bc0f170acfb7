// Relay between two sockets with the Websocket service. Each client learns its
// socket_id on open; a message {"to": "<socket_id>", "message": "..."} is
// delivered to that socket. Errors (bad JSON, unknown socket) come back to the
// sender as {type, error, status}.
if (websocketInfo.type === "open") {
  return { socket_id: websocketInfo.socket_id };
}
if (websocketInfo.type === "data") {
  var req;
  try {
    req = JSON.parse(websocketInfo.message);
  } catch (e) {
    return { type: "invalid_request", error: "send JSON: {\"to\": socket_id, \"message\": text}", status: 400 };
  }
  var err = Websocket.send({
    socket_id: req.to,
    message: { from: websocketInfo.socket_id, message: req.message },
  });
  if (err !== null) {
    return err;
  }
}
