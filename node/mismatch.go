package node

import "github.com/tenure-dev/tenure/protocol"

// reportMismatch says, loudly and once per sender and identity, that a
// datagram of another cluster identity was refused (R17): a node with
// another voter list or cluster ID would count quorums this node does not
// intersect. The machine has counted it (Counters.Mismatched). It runs on
// the owner goroutine.
func (n *Node) reportMismatch(h protocol.Header) {
	if n.mismatch == nil {
		n.mismatch = map[string]protocol.Identity{}
	}
	if old, ok := n.mismatch[h.From]; ok && old == h.ID {
		return
	}
	n.mismatch[h.From] = h.ID
	own := n.m.ID()
	n.log.Error("refusing datagrams of another cluster identity: the cluster IDs differ, or the voter lists at one epoch; give every node the same --cluster and initial --voters (see the operations guide)",
		"peer", h.From, "peer_cluster", h.ID.Cluster, "peer_voters_fingerprint", h.ID.Voters, "peer_epoch", h.ID.Epoch,
		"own_cluster", own.Cluster, "own_voters", n.m.Membership().String(), "own_voters_fingerprint", own.Voters, "own_epoch", own.Epoch)
}
