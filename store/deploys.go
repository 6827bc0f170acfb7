package store

import (
	"context"

	"github.com/wsgw/wsgw"
)

// DeployRegistry shares deploys between the nodes of a cluster: each path's
// deployment with its version, and the versions at which paths were
// deleted, so that a late, older change never wins.
type DeployRegistry interface {
	// NextVersion returns a cluster-wide version above floor and above every
	// version it returned before.
	NextVersion(ctx context.Context, floor int64) (int64, error)
	// Save stores dep as its path's deployment, unless a higher version is
	// stored (saved false), and tells every node. created reports that the
	// path had no stored deployment before.
	Save(ctx context.Context, dep wsgw.Deployment) (saved, created bool, err error)
	// Delete removes path's deployment as of version, unless a higher
	// version is stored (false), and tells every node.
	Delete(ctx context.Context, path string, version int64) (bool, error)
	// Load returns the stored deployments, and the version at which each
	// deleted path was deleted.
	Load(ctx context.Context) ([]wsgw.Deployment, map[string]int64, error)
	// Watch calls changed for every deploy and delete made on any node, and
	// resync when some may have been missed (at start, after a lost
	// connection, when the store's version moved without a notice). It
	// returns at once; the calls come from one goroutine until the store closes.
	Watch(changed func(dep wsgw.Deployment, deleted bool), resync func())
	// Close stops Watch.
	Close() error
}
