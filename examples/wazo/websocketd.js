// websocketd.js — Wazo's websocketd protocol on wsgw (README.md beside this
// file maps it to the original). The token was checked before this runs
// (auth.introspect in gateway.yaml): websocketInfo.auth is the
// introspection answer, with the token's ACL.
//
// The connection's state: {acl, subscriptions, started}. A client that has
// sent "start" is a member of the group of each event name it subscribed
// to ("wazo.event.<name>", "wazo.event.*" for every event): the bus
// publisher (bus/) sends each event to the members whose ACL allows it.
var w = websocketInfo;

// aclMatches reports whether the ACL pattern grants acl, as wazo-auth
// reads patterns: dot-separated words, "*" one word, "#" any number of them.
function aclMatches(pattern, acl) {
  var p = pattern.split("."), a = acl.split(".");
  function from(i, j) {
    if (i === p.length) return j === a.length;
    if (p[i] === "#") {
      for (var k = j; k <= a.length; k++) if (from(i + 1, k)) return true;
      return false;
    }
    return j < a.length && (p[i] === "*" || p[i] === a[j]) && from(i + 1, j + 1);
  }
  return from(0, 0);
}

function allowed(acls, acl) {
  return acls.some(function (p) { return typeof p === "string" && aclMatches(p, acl); });
}

// reply is a server message before "start": {"op", "code", "msg"}.
function reply(op) {
  return JSON.stringify({op: op, code: 0, msg: ""});
}

// protocolError closes with websocketd's 4004.
function protocolError(why) {
  w.close(4004, why);
}

if (w.type === "open") {
  var acls = (w.auth && Array.isArray(w.auth.acl)) ? w.auth.acl : [];
  if (!allowed(acls, "websocketd")) {
    w.close(4002, "the token does not have the websocketd ACL");
    return;
  }
  w.state = {acl: acls, subscriptions: [], started: false};
  return reply("init");
}

if (w.type === "data") {
  var s = w.state, msg;
  try {
    msg = JSON.parse(w.message);
  } catch (e) {
    return protocolError("the message is not JSON");
  }
  if (msg === null || typeof msg !== "object" || typeof msg.op !== "string") {
    return protocolError("a message is {\"op\": ..., \"data\": ...}");
  }
  if (msg.op === "subscribe") {
    var name = msg.data && msg.data.event_name;
    if (typeof name !== "string" || name === "") {
      return protocolError("subscribe needs data.event_name");
    }
    if (s.subscriptions.indexOf(name) < 0) s.subscriptions.push(name);
    if (s.started) {
      w.join("wazo.event." + name); // after start: events only, no reply
      return;
    }
    return reply("subscribe");
  }
  if (msg.op === "start") {
    if (s.started) return; // once started, the client gets bus messages only
    s.started = true;
    s.subscriptions.forEach(function (name) { w.join("wazo.event." + name); });
    return reply("start");
  }
  return protocolError("unknown operation " + JSON.stringify(msg.op).slice(0, 64));
}
