// The event-handler variant (gateway-handler.yaml): this one script receives
// every event of every endpoint and routes on websocketInfo.route itself, as
// a West solution's own websocket_info eventHandler does. /hello is the
// service page's eventHandler example; /devices/{device} answers a reading
// with the device named in the path; a route with no entry here is closed.
function hello(websocketInfo) {
  var responseData = { socket_id: websocketInfo.socket_id };
  if (websocketInfo.type === "open") {
    responseData.message = "Welcome";
    Websocket.send(responseData);
  } else if (websocketInfo.type === "data") {
    console.log(websocketInfo.message);
    Websocket.close(responseData);
  }
}

function device(websocketInfo) {
  if (websocketInfo.type === "data") {
    return { device: websocketInfo.parameters.device, reading: websocketInfo.message };
  }
}

var routes = { "/hello": hello, "/devices/{device}": device };

function handle_websocket_websocket_info(websocketInfo) {
  var route = routes[websocketInfo.route];
  if (route) {
    return route(websocketInfo);
  }
  if (websocketInfo.type === "open") {
    websocketInfo.close(4404, "no route for " + websocketInfo.route);
  }
}
