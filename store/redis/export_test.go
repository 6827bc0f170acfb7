package redis

// Kill stops the store as SIGKILL would stop its process: its goroutines end
// and its connections close, but nothing is removed from the registry.
func (s *Store) Kill() {
	s.killed.Store(true)
	_ = s.Close()
}

// KnownPeers are the other nodes the store remembers, for tests that need
// it to have seen them.
func (s *Store) KnownPeers() []string { return s.knownPeers() }

// InboxReady is closed once the store's inbox is subscribed: other nodes'
// commands reach it.
func (s *Store) InboxReady() <-chan struct{} { return s.inboxUp.ready() }
