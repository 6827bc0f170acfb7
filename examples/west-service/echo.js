// Every message straight back, text as text and binary as binary.
if (websocketInfo.type === "data") {
  websocketInfo.send(websocketInfo.message, websocketInfo.message_type);
}
