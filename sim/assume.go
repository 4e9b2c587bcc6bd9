package sim

import "github.com/tenure-dev/tenure/protocol"

// The limit of the restore and wipe fault model (Operator.Restores,
// Operator.Wipes). A voter restarted from a stale copy of its data dir, or
// from an empty one, has forgotten promises and accepted leases, and its
// own era floor may be older than the cluster's. The protocol repairs that
// through its peers (R18): a voter that knows the newer state tells it
// "stale" and its era, within the quarantine. Nothing can repair it when
// no such voter answers in time: restoring the data dirs of a majority of
// voters while the others are unreachable is as unrecoverable as losing a
// majority of Paxos acceptors' disks. So the simulator's operator, however
// harsh, stays within that assumption:
//
//   - a voter is restored or wiped only while some other voter that knows
//     the newer state is up and reachable from it;
//   - while a restored or wiped voter is stale (waiting to restart, or
//     verifying, or quarantined), no crash, clean stop, pause, partition,
//     agent stop, rolling restart or further restore takes away the last
//     such voter that is up and connected to it both ways, and the stale
//     voter itself is not paused past the end of its quarantine;
//   - no voter is restored while another restored voter is still stale if
//     that would make voters that do not know the newer state a majority.
//
// A voter knows the newer state for a stale voter u when it is not stale
// itself, its era is at least that of every ballot proposed so far (it
// would tell u an era floor above them), and, if u's start must be found
// stale by memory (a clean-stop copy older than u's last incarnation), it
// remembers an incarnation of u at least as new as the one u restarts as.
// Faults the rule holds back are counted (OperatorStats.HeldBack).

// hypo is a fault being considered: the nodes it takes away (crashed,
// stopped or paused), the directed links it cuts, and the voters it makes
// stale.
type hypo struct {
	away  []int
	cuts  [][2]int
	stale []int
	// pauseEnd is the true instant the nodes in away wake up if h is a
	// pause; 0 for a crash or a stop.
	pauseEnd int64
}

func (h *hypo) isAway(i int) bool {
	for _, j := range h.away {
		if j == i {
			return true
		}
	}
	return false
}

func (h *hypo) cut(from, to int) bool {
	for _, l := range h.cuts {
		if l[0] == from && l[1] == to {
			return true
		}
	}
	return false
}

func (h *hypo) isStale(i int) bool {
	for _, j := range h.stale {
		if j == i {
			return true
		}
	}
	return false
}

// guardLimited reports whether the restore/wipe limit applies at all: the
// runs without restores or wipes draw exactly what they drew before.
func (s *Sim) guardLimited() bool {
	return s.opts.Operator.Restores > 0 || s.opts.Operator.Wipes > 0
}

// staleVoter reports whether voter u is stale: set to restart from a copy
// or an empty dir, or restarted so and not yet open (verifying or
// quarantined). A stale voter that has opened stops being one here.
func (s *Sim) staleVoter(u *node) bool {
	if !u.voter && !s.opts.Operator.WipeAdded {
		return false
	}
	if u.wipe || u.staleCopy() {
		return true
	}
	if !u.stale {
		return false
	}
	if !u.down && !u.paused && u.m != nil && !u.m.Verifying() && !u.m.Quarantined(s.local(u)) {
		s.staleOpened(u)
		return false
	}
	return true
}

// staleOpened ends u's staleness: its acceptor is open. It learned enough
// if its era is above that of every token granted before the operator
// made it stale (staleEra): a voter that knew that era was kept in its
// reach. The trace says which, and OperatorStats.OpenedUnlearned counts the
// others (zero whenever the limit held). Tokens granted later, by voters
// out of its reach, are remembered by those voters.
func (s *Sim) staleOpened(u *node) {
	u.stale = false
	learned := u.m.Era() > u.staleEra
	// A voter removed meanwhile opens as no voter: nothing to learn.
	if !learned && s.voterNow(u) {
		s.ops.OpenedUnlearned++
	}
	s.traceOp(u, opOpened, int64(u.m.Era())<<32|int64(u.staleEra))
}

// staleNeed is what a voter must remember of stale voter u to make it
// find its start stale (need: the lowest incarnation boot that does; 0 if
// u's start needs no finding, a crashed start sitting out its
// quarantine), and whether u starts "as a new cluster", which any voter
// past era 1 refutes.
func (s *Sim) staleNeed(u *node) (need uint64, fresh bool) {
	switch {
	case u.wipe:
		return 0, s.opts.Operator.WipeFresh
	case u.staleCopy():
		if u.backup.state != nil && u.maxBoot > u.backup.boots {
			return u.backup.boots + 1, false
		}
		return 0, false
	case u.stale && !u.down && u.m != nil && u.m.Verifying():
		return u.staleNeed, u.staleFresh
	}
	return 0, false
}

// remembers is the boot of the newest incarnation of u that p has heard
// of (durable: PersistPeers), 0 if none.
func remembers(p, u *node) uint64 {
	for _, inc := range p.durablePeers {
		if inc.Name == u.name {
			return inc.Boot
		}
	}
	return 0
}

// grantEra is the highest era of any token granted so far, or of any
// ballot proposed so far: a ballot a majority accepted is a token that
// may be granted later, when its proposer hears of it. (With tokens
// granted alone, the operator wiped n3 while the only voter that knew
// era 3113 was cut off from it, a moment before 3113.1 was granted on the
// acceptance of n3's previous incarnation; n3 learned era 3112, and
// 3113.1 was granted twice: seed 300844, TestRestoreLimitCountsProposedEras.)
func (s *Sim) grantEra() uint32 { return max(s.chk.maxEra, s.proposedEra) }

// noteProposed raises proposedEra to the era of every Propose in msgs.
func (s *Sim) noteProposed(msgs []protocol.Envelope) {
	for i := range msgs {
		if p, ok := msgs[i].Msg.(*protocol.Propose); ok && p.Ballot.Era > s.proposedEra {
			s.proposedEra = p.Ballot.Era
		}
	}
}

// current reports whether voter p knows the cluster's era: not stale (nor
// made stale by h), and an era at least that of every ballot proposed
// (grantEra).
func (s *Sim) current(p *node, h *hypo) bool {
	return s.voterNow(p) && !h.isStale(p.idx) && !s.staleVoter(p) && p.durableEra >= s.grantEra()
}

// knows reports whether p knows the newer state for stale voter u.
func (s *Sim) knows(p, u *node, h *hypo) bool {
	if p == u || !s.current(p, h) || !s.contacts(u, p) {
		return false
	}
	need, fresh := s.staleNeed(u)
	mem := remembers(p, u)
	if fresh && mem == 0 && p.durableEra <= 1 {
		return false
	}
	return mem >= need
}

// guardedBy reports whether stale voter u has a voter that knows the newer
// state, up, not paused, and connected to it both ways, with h applied.
func (s *Sim) guardedBy(u *node, h *hypo) bool {
	for i := range s.nodes {
		p := s.nodes[i]
		if p.down || p.paused || h.isAway(i) || s.net.cutAt(i, u.idx) || s.net.cutAt(u.idx, i) ||
			h.cut(i, u.idx) || h.cut(u.idx, i) {
			continue
		}
		if s.knows(p, u, h) {
			return true
		}
	}
	return false
}

// allows reports whether fault h keeps the limit: every stale voter that
// is guarded now stays guarded, and every voter h makes stale is guarded
// by a voter h does not make stale. Faults that would break it are held
// back and counted.
func (s *Sim) allows(h *hypo) bool {
	if !s.guardLimited() {
		return true
	}
	none := &hypo{}
	for i := range s.limitNodes() {
		u := s.nodes[i]
		switch {
		case h.isStale(i):
			if !s.guardedBy(u, h) {
				return false
			}
		case s.staleVoter(u):
			if s.guardedBy(u, none) && !s.guardedBy(u, h) {
				return false
			}
			if h.isAway(i) && !u.paused && !u.down && !s.pauseFits(u, h) {
				return false
			}
		}
	}
	return true
}

// pauseFits reports whether a pause of stale voter u in h (a pause only:
// a crash or stop restarts it with a quarantine of its own) ends early
// enough that the answers queued meanwhile are handled inside its
// quarantine.
func (s *Sim) pauseFits(u *node, h *hypo) bool {
	if h.pauseEnd == 0 || u.m == nil {
		return true
	}
	slack := 4*u.cfg.RetryInterval + 2*s.opts.Faults.DelayMax
	end := u.clk.trueAt(s.now, u.m.QuarantineUntil().Add(-slack))
	return h.pauseEnd < end
}

// limitNodes is how many nodes, from the first, the limit looks at: the
// configured voters, or with WipeAdded every node, since a voter change
// may make any node with a data dir a voter that the operator then
// restores or wipes. (Written for the configured voters alone, the limit
// let the operator wipe an added voter that was the only voter of the
// newest configuration: nobody was left to tell it the cluster's era,
// and a fencing token fell: seeds 20040 and 60556,
// TestReconfigWipeAddedLimitRegression.)
func (s *Sim) limitNodes() int {
	if s.opts.Operator.WipeAdded {
		return len(s.nodes)
	}
	return s.opts.Voters
}

// heldBack counts a fault the limit held back.
func (s *Sim) heldBack() { s.ops.HeldBack++ }

// staleMajority reports whether making the voters in h stale would leave a
// majority of voters not knowing the newer state while another restored
// voter is still stale (the third clause of the limit).
func (s *Sim) staleMajority(h *hypo) bool {
	other := false
	for i := range s.limitNodes() {
		if !h.isStale(i) && s.staleVoter(s.nodes[i]) {
			other = true
			break
		}
	}
	if !other {
		return false
	}
	k := 0
	for _, p := range s.nodes {
		if s.voterNow(p) && !s.current(p, h) {
			k++
		}
	}
	return 2*k > s.votersNow()
}

// awayIfUp lists the nodes of ix that are running: a restore or wipe
// stops them.
func (s *Sim) awayIfUp(ix []int) []int {
	var out []int
	for _, i := range ix {
		if !s.nodes[i].down {
			out = append(out, i)
		}
	}
	return out
}

// noteStaleStart records, at the restart of n from a copy or an empty
// dir, what its guards must know (staleNeed) until it opens.
func (s *Sim) noteStaleStart(n *node, detect bool, fresh bool) {
	n.stale = true
	n.staleNeed, n.staleFresh = 0, fresh
	if detect {
		n.staleNeed = n.boots
	}
}

// retryLater is how long a held-back rolling restart waits.
func (s *Sim) retryLater() int64 { return int64(s.opts.TTL / 4) }
