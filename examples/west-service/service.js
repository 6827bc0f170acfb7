// The five operations of the Websocket service, called from a script with
// the parameters the service page gives them. Each message names one:
//   {"op": "list"}
//   {"op": "info",     "parameters": {"socket_id": "..."}}
//   {"op": "send",     "parameters": {"socket_id": "...", "message": "...", "type": "data-text"}}
//   {"op": "close",    "parameters": {"socket_id": "...", "code": 4000, "reason": "..."}}
//   {"op": "closeAll"}
// and is answered {"op": ..., "result": ...} with what the call returned:
// null for a send or a close that worked, {type, error, status} for a call
// that failed. On open the client learns its own socket_id.
if (websocketInfo.type === "open") {
  return { socket_id: websocketInfo.socket_id };
}
if (websocketInfo.type === "data") {
  var req;
  try {
    req = JSON.parse(websocketInfo.message);
  } catch (e) {
    return { type: "invalid_request", error: "send JSON: {\"op\": ..., \"parameters\": {...}}", status: 400 };
  }
  var result;
  switch (req.op) {
    case "list":
      result = Websocket.list();
      break;
    case "info":
      result = Websocket.info(req.parameters);
      break;
    case "send":
      result = Websocket.send(req.parameters);
      break;
    case "close":
      result = Websocket.close(req.parameters);
      break;
    case "closeAll":
      result = Websocket.closeAll(); // this socket too, once the answer is out
      break;
    default:
      return { type: "invalid_request", error: "unknown op " + JSON.stringify(req.op), status: 400 };
  }
  return { op: req.op, result: result };
}
