// The service page's endpoint script example: a greeting when the connection
// opens; the first message is printed to the log and the connection closed.
if (websocketInfo.type === "open") {
  // Reply to the connection
  websocketInfo.send("Welcome");
} else if (websocketInfo.type === "data") {
  // Print the incoming message and close the connection
  console.log(websocketInfo.message);
  websocketInfo.close();
}
