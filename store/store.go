// Package store declares what the gateway keeps, and reaches, outside one
// node: the Registry of sockets, the Bus that carries commands to the node
// holding a socket, and the DeployRegistry that shares deploys. store/memory
// implements them for one node, store/redis for a cluster of nodes on
// Redis; both pass the contract suites of store/storetest.
package store

import "errors"

// ErrNotFound is returned by Get for a socket that is not registered.
var ErrNotFound = errors.New("store: no such socket")

// ErrUnavailable wraps failures to reach the backing service.
var ErrUnavailable = errors.New("store: unavailable")

// ErrResyncing is returned by Get, instead of ErrNotFound, while the nodes
// are writing their sockets into the registry again after it was
// unreachable or lost them: the socket may exist, and be found in a moment.
var ErrResyncing = errors.New("store: registry resyncing")
