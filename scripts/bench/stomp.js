// STOMP fan-out member endpoint for `wsbench fanout --stomp`
// (docs/wsbench.md): nothing to decide, so every CONNECT and SUBSCRIBE is
// accepted as it comes, and each SUBSCRIBE joins the group its destination
// names. The publisher is pub.js on /pub?group=/topic/bench.
