// The echo endpoint: a greeting on open, then every message straight back.
if (websocketInfo.type === "open") {
  websocketInfo.send("Welcome");
} else if (websocketInfo.type === "data") {
  websocketInfo.send(websocketInfo.message, websocketInfo.message_type);
}
