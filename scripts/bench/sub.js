// Fan-out member for `wsbench fanout` (docs/wsbench.md): joins the group on
// open (?group=NAME, default "bench") and then says so; wsbench starts
// publishing once every member has heard it.
if (websocketInfo.type === "open") {
  websocketInfo.join(websocketInfo.parameters.group || "bench");
  return "joined";
}
