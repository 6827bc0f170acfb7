// Push target: on open the client learns its socket_id; anything can then be
// pushed to it from a shell through the admin API:
//   curl -X POST localhost:9090/api/v1/websocket/sockets/<socket_id>/send \
//        -H 'Content-Type: application/json' -d '{"message": "hello from curl"}'
if (websocketInfo.type === "open") {
  return { socket_id: websocketInfo.socket_id };
}
