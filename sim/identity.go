package sim

import "slices"

// Mixed voter lists (Operator.OldVoters). The identity check of every
// datagram (R17) keeps nodes of two lists from counting each other's
// votes, but it cannot make every mixed list safe: when each list has a
// majority of voters running it, each side grants on its own. So the node
// layer refuses to start when a live member it can reach runs another
// identity (node.New, through memberlist's push/pull at join: the joiner
// receives every member's identity). A node that starts cut off from every
// member of the other list is beyond that check (DESIGN.md §6 lists it
// among what cannot be detected), and the simulator's operator stays
// inside the limit: a node whose identity differs from that of any node
// that is up (paused included: it is still a member) refuses to start,
// partitions or not. It stays down (traced, counted in
// OperatorStats.StartRefusals) and its supervisor tries again later. So
// the running nodes share one list at any instant; the other list's nodes
// start once every node of the first is down (the identity check then
// drops the first list's datagrams still in flight). Where both lists
// have a majority of voters running them, tokens may then go down at that
// switch, since the two lists are two clusters to each other; single
// holder holds, since every holder of the first list is down.

// refusesStart reports whether node n, about to start, would meet a live
// member of another identity.
func (s *Sim) refusesStart(n *node) bool {
	if !s.mixed || s.opts.SimWeaken.startDespiteMismatch() {
		return false
	}
	for _, m := range s.nodes {
		if m != n && !m.down && m.m != nil && m.ident != n.ident {
			return true
		}
	}
	return false
}

// refuseStart leaves n down after a refused start; a supervisor tries
// again a few TTLs later, until the quiet phase (where it would refuse for
// good: every partition is healed).
func (s *Sim) refuseStart(n *node) {
	s.ops.StartRefusals++
	s.traceOp(n, opRefused, 0)
	if !n.down {
		// The first start of the run: the node never came up.
		n.down = true
		s.clientsDown(n)
		if s.tl != nil {
			s.tl.down(n.idx, s.now)
		}
	}
	if s.opts.Workload && !s.quiet {
		s.push(event{at: s.now + s.uniform(s.opts.TTL, 4*s.opts.TTL), kind: evRestart, node: int32(n.idx), gen: n.inc})
	}
}

// setupIdentities fingerprints every node's voter list and notes whether
// they differ at all.
func (s *Sim) setupIdentities() {
	for _, n := range s.nodes {
		n.ident = n.cfg.Identity().Voters
		s.mixed = s.mixed || n.ident != s.nodes[0].ident
	}
	s.grantable()
}

// grantable decides which nodes can be granted anything: a majority of
// the voters of the node's list run that same list and are up (down voters
// count at the start of the run, when none has started yet). Checker (d)
// waits only for those. It runs at the start and again when faults stop,
// when refused nodes stay down for good; a waiting client whose node can
// no longer be granted stops counting.
func (s *Sim) grantable() {
	for _, n := range s.nodes {
		same := 0
		for _, v := range n.cfg.Voters {
			j := s.nodeIndex(v)
			if j < 0 {
				continue
			}
			m := s.nodes[j]
			if slices.Equal(m.cfg.Voters, n.cfg.Voters) && (!s.quiet || !m.down) {
				same++
			}
		}
		was := n.canGrant
		n.canGrant = 2*same > len(n.cfg.Voters)
		if was == n.canGrant || !s.quiet {
			continue
		}
		for l := range n.clients {
			c := &n.clients[l]
			if c.state != clAcquiring || !c.wait {
				continue
			}
			if c.demand != n.canGrant {
				c.demand = n.canGrant
				d := -1
				if c.demand {
					d = 1
				}
				s.chk.demandChange(int(c.lease), d)
			}
		}
	}
}
