// webinate's users socket: clients send the socket API's events as JSON
// ({"eventType": 10, "message": "Hello world?"}); the echo event comes back
// to its sender as it was sent. The users server's own events (a user logged
// in, ...) do not pass through here: the server pushes them to every socket
// over REST, POST /api/v1/websocket/send (README.md, "Server events").
var ECHO = 10;

if (websocketInfo.type !== "data") return;
var event = null;
try {
  event = JSON.parse(websocketInfo.message);
} catch (e) {
  // not JSON: reported below like any other input that is not an event
}
if (event === null || typeof event !== "object" || typeof event.eventType !== "number") {
  console.warn("not a socket event: the API takes {\"eventType\": <number>, ...}");
  return;
}
if (event.eventType === ECHO) return websocketInfo.message;
console.warn("eventType " + event.eventType + " is not one a client sends");
