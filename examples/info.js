// Shows every field a script receives. Connect to /info/anything?x=1 and send
// any message: the reply is websocketInfo as JSON (send and close, being
// functions, have no JSON form). The close event is logged.
if (websocketInfo.type === "close") {
  console.log("closed", websocketInfo.close_code, websocketInfo.close_reason);
} else {
  return websocketInfo; // a returned value is sent: objects as JSON
}
