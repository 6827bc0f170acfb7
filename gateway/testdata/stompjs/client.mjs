// stomp.js 7.5.0 against the STOMP endpoint at process.argv[2], with the
// ws package as its WebSocket (the browser's API): two clients subscribe to
// /topic/js, keep 500ms heart-beats for several intervals, one publishes,
// both receive; then a refused SUBSCRIBE gets an ERROR. Each event is one
// JSON line on stdout for gateway/stompjs_test.go to check.
import { Client } from "@stomp/stompjs";
import WebSocket from "ws";

const url = process.argv[2];
const say = (o) => console.log(JSON.stringify(o));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function connect(name) {
  return new Promise((resolve, reject) => {
    const c = new Client({
      webSocketFactory: () => new WebSocket(url, ["v12.stomp", "v11.stomp", "v10.stomp"]),
      heartbeatIncoming: 500, heartbeatOutgoing: 500, reconnectDelay: 0,
    });
    c.onStompError = (f) => say({ name, error: f.headers.message });
    c.onWebSocketClose = (e) => say({ name, closed: e.code });
    c.onConnect = (f) => {
      say({ name, connected: f.headers, protocol: c.webSocket.protocol });
      c.subscribe("/topic/js", (m) => say({ name, body: m.body, subscription: m.headers.subscription, type: m.headers["content-type"] }));
      resolve(c);
    };
    c.activate();
    setTimeout(() => reject(new Error(name + ": no CONNECTED")), 10000);
  });
}

const ann = await connect("ann");
const bob = await connect("bob");
await sleep(2500); // five heart-beat intervals both ways
ann.publish({ destination: "/topic/js", body: "hello from stomp.js", headers: { receipt: "r1" } });
await sleep(500);
bob.subscribe("/forbidden", () => {});
await sleep(500);
await ann.deactivate();
say({ done: true });
process.exit(0);
