package redis

// Kill stops the registry as SIGKILL would stop its process: its writer
// ends, but nothing is removed from Redis.
func (r *Registry) Kill() { r.shutdown(false) }

// KnownPeers are the other nodes the registry remembers, for tests that
// need it to have seen them.
func (r *Registry) KnownPeers() []string { return r.knownPeers() }

// InboxReady is closed once the node's inbox is subscribed: other nodes'
// commands reach it.
func (b *Bus) InboxReady() <-chan struct{} { return b.sh.inbox.up.ready() }
