// Every field of websocketInfo that the service page lists. The open event
// and every message are answered with the event's fields, as JSON (an object
// given to send() goes out as its JSON). A binary message arrives as base64
// with message_type "data-binary", and is also sent back as a binary frame.
// In the close event send() and close() are not usable: they throw, and the
// script logs what they said.
if (websocketInfo.type === "close") {
  var refused = [];
  try {
    websocketInfo.send("too late");
  } catch (e) {
    refused.push(e.message);
  }
  try {
    websocketInfo.close();
  } catch (e) {
    refused.push(e.message);
  }
  console.log("closed " + websocketInfo.close_code + "; " + refused.join("; "));
} else {
  websocketInfo.send({
    uri: websocketInfo.uri,
    type: websocketInfo.type,
    route: websocketInfo.route,
    headers: websocketInfo.headers,
    message: websocketInfo.message,
    socket_id: websocketInfo.socket_id,
    timestamp: websocketInfo.timestamp,
    parameters: websocketInfo.parameters,
    message_type: websocketInfo.message_type, // data events only
  });
  if (websocketInfo.message_type === "data-binary") {
    websocketInfo.send(websocketInfo.message, "data-binary");
  }
}
