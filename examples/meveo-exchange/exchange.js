// meveo's WebSocket endpoint on wsgw: the function a meveo endpoint is
// associated with, execute(parameters), called with meveo's parameters for
// each event of the session (README.md maps each one).
//
// The function (meveo's WSExchange): a user agent sends
//   {"to": "<username>", "text": "..."}
// and the text reaches every socket that user has open on this endpoint
// ({"endpoint": "<code>"} reaches them on another one). The sender is told
// how many sockets it reached; the context counts what the session sent.
function execute(parameters) {
  var session = parameters.WS_SESSION;
  switch (parameters.WS_EVENT) {
    case "open":
      // meveo closes the websocket when the function throws on open
      if (session.user === null) throw new Error("no user: open with ?user=<name>");
      parameters.sent = 0; // kept in the context for the next events
      session.send({ welcome: session.user, endpoint: session.endpoint });
      break;
    case "message":
      var msg = JSON.parse(parameters.WS_MESSAGE); // throws on bad JSON: logged, the session stays
      var n = sendMessage(msg.endpoint || session.endpoint, msg.to,
        JSON.stringify({ from: session.user, text: msg.text }));
      if (typeof n !== "number") { // {type, error, status}: no such endpoint code or user name
        session.send(n);
        break;
      }
      parameters.sent++;
      session.send({ to: msg.to, delivered: n, sent: parameters.sent });
      break;
    case "error":
      console.warn("error: " + parameters.WS_ERROR);
      break;
    case "close":
      console.log("closed " + parameters.WS_REASON_CODE + " " + parameters.WS_REASON_PHRASE +
        " after " + (parameters.sent || 0) + " messages");
      break;
  }
}

// meveo's "roles" of each endpoint: a user must hold one of them to open it.
// "secured" is the endpoint's auth, given when it is deployed; wsgw verifies
// the token, and the roles are checked here, from its claims (Keycloak's
// realm_access.roles, as meveo's tokens carry them). An endpoint not listed
// needs none.
var ROLES = { desk: ["trader", "admin"] };

// sendMessage(endpointCode, username, txtMessage) of meveo's
// WebsocketServerEndpoint: to every socket the user has open on that
// endpoint, on every node, and to no other. Each socket is bound to the user
// "<endpoint>:<username>" when it opens (below), so this is one sendToUser.
// It returns how many sockets it reached, or the {type, error, status}
// object.
function sendMessage(endpointCode, username, txtMessage) {
  return Websocket.sendToUser({ user_id: endpointCode + ":" + username, message: txtMessage });
}

// Close codes that mean the transport failed: meveo's onError, then onClose.
// Any other code is an ordinary close (the client's, the function's, a
// shutdown, an expired token).
var TRANSPORT_ERRORS = {
  1002: "protocol error",
  1006: "connection lost",
  1007: "invalid data",
  1008: "policy violation",
  1009: "message too large",
  1011: "server error",
  1013: "client not reading",
};

// meveo's lifecycle over wsgw's events: websocketInfo.state is meveo's
// "context", the parameters map kept across the session; the event's own
// keys are added for the call and taken out before it is kept.
var endpoint = websocketInfo.route.slice("/meveo/ws/".length);
var needed = ROLES[endpoint] || [];
if (!allowed()) {
  if (websocketInfo.type === "open")
    websocketInfo.close(4403, "forbidden: needs one of the roles " + needed.join(", "));
  return; // the function never sees a session it did not admit
}
var parameters = websocketInfo.state;
var user = websocketInfo.user_id === null ? null : websocketInfo.user_id.slice(endpoint.length + 1);
if (websocketInfo.type === "open") {
  // secured: the token's user (auth.user_claim); otherwise the name the user
  // agent gives, ?user=, which nothing verifies.
  user = websocketInfo.auth !== null ? websocketInfo.user_id : websocketInfo.parameters.user || null;
  if (user !== null) websocketInfo.setUser(endpoint + ":" + user);
  call({ WS_EVENT: "open" });
} else if (websocketInfo.type === "data") {
  call({ WS_EVENT: "message", WS_MESSAGE: websocketInfo.message });
} else {
  var failure = TRANSPORT_ERRORS[websocketInfo.close_code];
  if (failure) call({ WS_EVENT: "error", WS_ERROR: websocketInfo.close_code + " " + (websocketInfo.close_reason || failure) });
  call({ WS_EVENT: "close", WS_REASON_CODE: websocketInfo.close_code, WS_REASON_PHRASE: websocketInfo.close_reason });
}

// allowed says whether the token holds one of the endpoint's roles.
function allowed() {
  if (needed.length === 0) return true;
  var claims = websocketInfo.auth;
  var held = (claims && claims.realm_access && claims.realm_access.roles) || [];
  return needed.some(function (r) { return held.indexOf(r) >= 0; });
}

// call runs the function with the context and the event's keys, then takes
// the event's keys out again so that the context keeps only its own.
function call(event) {
  event.WS_SESSION = {
    id: websocketInfo.socket_id,
    endpoint: endpoint,
    user: user,
    send: function (m) { websocketInfo.send(m); },
    close: function (code, reason) { websocketInfo.close(code, reason); },
  };
  for (var k in event) parameters[k] = event[k];
  try {
    execute(parameters);
  } finally {
    for (var k2 in event) delete parameters[k2];
  }
}
