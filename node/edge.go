package node

// MaxDrift is ε as this node runs with it: the validated protocol value
// (Config.MaxDrift, or DefaultMaxDrift when that was zero). A process that
// hands deadlines on to others scales them by it (R16).
func (n *Node) MaxDrift() float64 { return n.margins.MaxDrift }

// ClusterID is the cluster ID this node runs (Config.ClusterID, or its
// default): with the voter list, the identity its datagrams carry (R17).
func (n *Node) ClusterID() string { return n.cfg.ClusterID }
