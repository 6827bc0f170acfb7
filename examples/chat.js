// chat.js — a chat room per path: ws://host:8080/chat/lobby?nick=ana
// The nickname lives in websocketInfo.state, every socket joins its room
// on open, each message goes to the rest of the room (on every node), and
// "/who" lists who is in it. "/nick <name>" changes the nickname.
var room = websocketInfo.parameters.room;
var me = websocketInfo.state;

function tell(text, exclude) {
  return Websocket.publish({group: room, message: text, exclude: exclude});
}

if (websocketInfo.type === "open") {
  me.nick = websocketInfo.parameters.nick || "guest-" + websocketInfo.socket_id.slice(0, 4);
  websocketInfo.join(room);
  tell("* " + me.nick + " joined", [websocketInfo.socket_id]);
  return "* welcome to " + room + ", " + me.nick + " (/who lists the room, /nick <name> renames you)";
}

if (websocketInfo.type === "data") {
  var text = websocketInfo.message;
  if (text === "/who") {
    var ids = Websocket.list({group: room});
    if (!Array.isArray(ids)) return ids; // the error object: {type, error, status}
    var nicks = ids.map(function (id) {
      var info = Websocket.info({socket_id: id});
      return (info.state && info.state.nick) || id;
    });
    return "* in " + room + ": " + nicks.sort().join(", ");
  }
  if (text.indexOf("/nick ") === 0) {
    var old = me.nick;
    me.nick = text.slice(6).trim() || old;
    tell("* " + old + " is now " + me.nick);
    return;
  }
  tell(me.nick + ": " + text, [websocketInfo.socket_id]);
}

if (websocketInfo.type === "close") {
  // The socket has left the room by now: everyone left gets the notice.
  tell("* " + me.nick + " left");
}
