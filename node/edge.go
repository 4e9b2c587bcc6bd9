package node

import "time"

// MaxDrift is ε as this node runs with it: the validated protocol value
// (Config.MaxDrift, or DefaultMaxDrift when that was zero). A process that
// hands deadlines on to others scales them by it (R16).
func (n *Node) MaxDrift() float64 { return n.margins.MaxDrift }

// ClusterID is the cluster ID this node runs (Config.ClusterID, or its
// default): with the voter list, the identity its datagrams carry (R17).
func (n *Node) ClusterID() string { return n.cfg.ClusterID }

// DefaultTTL is the TTL of a request without WithTTL as this node runs
// with it: the validated Config.DefaultTTL, or the default when that was
// zero.
func (n *Node) DefaultTTL() time.Duration { return n.margins.DefaultTTL }

// MaxTTL is the longest TTL (and lock delay) a request may ask for as this
// node runs with it: the validated Config.MaxTTL, or the default when that
// was zero.
func (n *Node) MaxTTL() time.Duration { return n.margins.MaxTTL }
