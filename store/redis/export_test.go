package redis

// Kill stops the store as SIGKILL would stop its process: its goroutines end
// and its connections close, but nothing is removed from the registry.
func (s *Store) Kill() {
	s.killed.Store(true)
	_ = s.Close()
}
