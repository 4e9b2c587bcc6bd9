package node

import (
	"context"
	"errors"
	"time"
)

// ErrNotVoter is returned by VoterLeases on a node that is not a voter.
var ErrNotVoter = errors.New("node: not a voter: only a voter knows the leases of the cluster")

// VoterLease is a live lease as this voter knows it: a hint (R14).
type VoterLease struct {
	// Name is the lease name (a semaphore's slot is NAME#i).
	Name string
	Holder
}

// VoterView is this voter's own view of every live lease: what its
// acceptor would answer a holder query for each name, without asking the
// other voters. It is a hint (R14): a lease granted by a majority this
// voter was not part of is missing, and a voter in quarantine (Quarantined
// true) may have forgotten leases it accepted before its crash.
type VoterView struct {
	// Voter is this node's name.
	Voter string
	// ObservedAt is when the view was read, on this node's clock; each
	// lease's Remaining counts from then.
	ObservedAt time.Time
	// Quarantined is true while this voter sits out its quarantine.
	Quarantined bool
	// Leases are sorted by name.
	Leases []VoterLease
}

// VoterLeases reads this voter's view of every live lease, or ErrNotVoter.
// It sends no message.
func (n *Node) VoterLeases(ctx context.Context) (VoterView, error) {
	var v VoterView
	voter := false
	err := n.do(ctx, func() {
		if voter = n.m.IsVoter(); !voter {
			return
		}
		now := n.now()
		v.ObservedAt = n.localTime(now)
		for _, l := range n.m.LiveLeases(now) {
			v.Leases = append(v.Leases, VoterLease{Name: l.Name, Holder: Holder{
				Node: l.Owner, Token: l.Ballot.Token(), Value: l.Value, Remaining: l.Remaining}})
		}
	})
	if err != nil {
		return VoterView{}, err
	}
	if !voter {
		return VoterView{}, ErrNotVoter
	}
	v.Voter = n.cfg.Name
	v.Quarantined = n.Stats().Quarantined
	return v, nil
}
