package redis

// keys names everything the store keeps in Redis. Every key of one node, and
// its inbox channel, carry the node's name as a hash tag, so that on a Redis
// Cluster they share one slot: the purge script touches them atomically, and
// the inbox lives on the shard that holds the node's registry. Socket
// records carry no tag and spread over every shard.
//
//	<prefix>:socket:<id>            string, the socket's JSON record; no TTL
//	<prefix>:node:{<node>}:sockets  sorted set, score 0, the node's socket IDs
//	<prefix>:node:{<node>}:alive    string, the heartbeat, TTL 3 × heartbeat_interval
//	<prefix>:node:{<node>}:inbox    sharded pub/sub channel of commands for the node
//	<prefix>:nodes                  set of node names that have registered
type keys struct{ prefix string }

func (k keys) socket(id string) string { return k.prefix + ":socket:" + id }
func (k keys) nodes() string           { return k.prefix + ":nodes" }
func (k keys) sockets(node string) string {
	return k.prefix + ":node:{" + node + "}:sockets"
}
func (k keys) alive(node string) string { return k.prefix + ":node:{" + node + "}:alive" }
func (k keys) inbox(node string) string { return k.prefix + ":node:{" + node + "}:inbox" }

// The index of users, groups and state is kept per node, under the node's
// hash tag like its set of sockets, so that a node's writes, the purge of
// a dead node and a resync touch one slot; list({group}) and
// list({user_id}) read every live node's key in one pipeline, as List does.
//
//	<prefix>:node:{<node>}:group:<group>  sorted set, score 0, the node's members of group
//	<prefix>:node:{<node>}:user:<user>    sorted set, score 0, the node's sockets of user
//	<prefix>:node:{<node>}:index          hash, socket ID -> {"u": user, "g": [groups]}
//	<prefix>:node:{<node>}:state          hash, socket ID -> websocketInfo.state as JSON
func (k keys) group(node, group string) string {
	return k.prefix + ":node:{" + node + "}:group:" + group
}
func (k keys) user(node, user string) string { return k.prefix + ":node:{" + node + "}:user:" + user }
func (k keys) index(node string) string      { return k.prefix + ":node:{" + node + "}:index" }
func (k keys) state(node string) string      { return k.prefix + ":node:{" + node + "}:state" }
