package node

// MaxDrift is ε as this node runs with it: the validated protocol value
// (Config.MaxDrift, or DefaultMaxDrift when that was zero). A process that
// hands deadlines on to others scales them by it (R16).
func (n *Node) MaxDrift() float64 { return n.margins.MaxDrift }
