// Package loopback starts a small tenure cluster inside one process, on
// 127.0.0.1, for the examples. Each node gets a fresh data dir, so no voter
// sits out a start-up quarantine and fencing tokens only ever rise. A real
// deployment runs one node per process (or host) with a data dir that
// survives restarts.
package loopback

import (
	"errors"
	"fmt"
	"os"

	"github.com/tenure-dev/tenure/node"
)

// Cluster is a set of nodes in this process. Its methods are not safe for
// concurrent use; the nodes are.
type Cluster struct {
	nodes map[string]*node.Node
	dirs  []string
}

// Start starts the voters, then the other nodes, each joining the first.
// tweak, if not nil, adjusts each node's Config before it starts.
func Start(voters, others []string, tweak func(*node.Config)) (*Cluster, error) {
	c := &Cluster{nodes: map[string]*node.Node{}}
	var seed string
	for _, name := range append(append([]string(nil), voters...), others...) {
		dir, err := os.MkdirTemp("", "tenure-example-"+name+"-")
		if err != nil {
			c.Close()
			return nil, err
		}
		c.dirs = append(c.dirs, dir)
		cfg := node.Config{
			Name:     name,
			BindAddr: "127.0.0.1",
			BindPort: 0, // any free port
			Voters:   voters,
			DataDir:  dir,
			// A new cluster on empty dirs: no quarantine at the first start.
			NewCluster: true,
		}
		if seed != "" {
			cfg.Join = []string{seed}
		}
		if tweak != nil {
			tweak(&cfg)
		}
		n, err := node.New(cfg)
		if err != nil {
			c.Close()
			return nil, fmt.Errorf("start %s: %w", name, err)
		}
		c.nodes[name] = n
		if seed == "" {
			seed = n.Addr()
		}
	}
	return c, nil
}

// Node returns the node called name, or nil.
func (c *Cluster) Node(name string) *node.Node { return c.nodes[name] }

// Crash stops one node as a crash would (node.Shutdown): its leases are
// not released and expire at the voters.
func (c *Cluster) Crash(name string) error {
	n := c.nodes[name]
	if n == nil {
		return fmt.Errorf("no node %s", name)
	}
	return n.Shutdown()
}

// Close stops every node and removes the data dirs.
func (c *Cluster) Close() error {
	var errs []error
	for _, n := range c.nodes {
		errs = append(errs, n.Shutdown())
	}
	for _, d := range c.dirs {
		errs = append(errs, os.RemoveAll(d))
	}
	return errors.Join(errs...)
}
