// The echo endpoint (examples/echo.js) that also counts the messages of
// each connection in its state: what keeping state costs per message
// (scripts/bench.sh, docs/wsbench.md).
if (websocketInfo.type === "open") {
  websocketInfo.send("Welcome");
} else if (websocketInfo.type === "data") {
  websocketInfo.state.n = (websocketInfo.state.n || 0) + 1;
  websocketInfo.send(websocketInfo.message, websocketInfo.message_type);
}
