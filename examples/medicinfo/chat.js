// medicinfo's chat on a STOMP endpoint (README.md beside this file).
// Clients SUBSCRIBE to /v1/topic/conversation/{id}, /v1/topic/online-employees
// and /v1/topic/heartbeat, and SEND typing events to
// /v1/app/conversation/{id}/typing/start|stop; every event they receive is
// JSON under one key. The backend publishes new messages and read/received
// marks to the conversation topics over the admin REST API.

var CONVERSATION = /^\/v1\/topic\/conversation\/([^\/]+)$/;
var TYPING = /^\/v1\/app\/conversation\/([^\/]+)\/typing\/(start|stop)$/;
var ONLINE = "/v1/topic/online-employees";
var EMPLOYEES = "employees"; // the group of the employees' sockets, counted for ONLINE

var claims = websocketInfo.auth || {};
var userId = claims.sub;

// publishOnline tells the online-employees topic how many employees are
// connected, leaving out this socket when it is closing.
function publishOnline(leaving) {
  var ids = Websocket.list({group: EMPLOYEES});
  var n = ids.filter(function (id) { return !leaving || id !== websocketInfo.socket_id; }).length;
  Websocket.publish({group: ONLINE, message: {online: n}});
}

switch (websocketInfo.type) {
case "open": // CONNECT: the token was checked at the upgrade
  if (typeof userId !== "string") throw new Error("the token names no user");
  websocketInfo.state = {conversations: []};
  if (claims.role === "employee") {
    websocketInfo.join(EMPLOYEES);
    publishOnline(false);
  }
  break;

case "subscribe":
  var d = websocketInfo.destination;
  if (d === ONLINE) return claims.role === "employee";
  if (d === "/v1/topic/heartbeat") return true; // STOMP heart-beats keep the connection alive
  var conv = CONVERSATION.exec(d);
  if (!conv) return false;
  // A customer follows only the conversations its token lists.
  if (claims.role !== "employee" && (claims.conversations || []).indexOf(conv[1]) < 0) return false;
  websocketInfo.state.conversations.push(conv[1]);
  Websocket.publish({group: d, message: {userConnected: {userId: userId}}, exclude: [websocketInfo.socket_id]});
  return true;

case "unsubscribe":
  var gone = CONVERSATION.exec(websocketInfo.destination);
  if (gone) {
    websocketInfo.state.conversations = websocketInfo.state.conversations.filter(function (c) { return c !== gone[1]; });
    Websocket.publish({group: websocketInfo.destination, message: {userDisconnected: {userId: userId}}});
  }
  break;

case "data": // SEND: only the typing events
  var t = TYPING.exec(websocketInfo.destination);
  if (!t) throw new Error("nothing to SEND to at " + websocketInfo.destination);
  var ev = t[2] === "start" ? {startTyping: {userId: userId}} : {stopTyping: {userId: userId}};
  Websocket.publish({group: "/v1/topic/conversation/" + t[1], message: ev, exclude: [websocketInfo.socket_id]});
  break;

case "close": // no stopTyping: userDisconnected says it
  (websocketInfo.state.conversations || []).forEach(function (c) {
    Websocket.publish({group: "/v1/topic/conversation/" + c, message: {userDisconnected: {userId: userId}}});
  });
  if (claims.role === "employee") publishOnline(true);
  break;
}
