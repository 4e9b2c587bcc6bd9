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
	n.log.Error("refusing datagrams of another cluster identity: the voter lists or cluster IDs differ; change the voter list only by stopping every node (see the operations guide)",
		"peer", h.From, "peer_cluster", h.ID.Cluster, "peer_voters_fingerprint", h.ID.Voters,
		"own_cluster", own.Cluster, "own_voters", protocol.VoterList(n.cfg.Voters), "own_voters_fingerprint", own.Voters)
}
