package sim

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/tenure-dev/tenure/protocol"
)

// Voter reconfiguration among the faults (protocol R21-R25). A change is
// a fault kind ("reconfig", rate Options.Reconfig.Changes, off by
// default): a random running node asks for a random new voter set drawn
// from every node of the run (voters and client nodes alike): one voter
// added, one removed, one replaced, or 3 -> 5 / 5 -> 3. Around a change,
// each with its own probability:
//
//   - its initiator crashes part way (an interrupted change: the voters'
//     finisher completes it);
//   - a second node asks for another set from the same epoch at once
//     (concurrent changes: one wins the slot, the other is told);
//   - a voter the change removes is cut off first, so it still believes
//     it votes (its data dir, and the epoch in it, stays: a later restart
//     reuses it).
//
// Every checker keeps running through the changes, and the chain checker
// adds one: at most one configuration per epoch, whoever adopted it.

// Reconfig configures voter changes in the simulator.
type Reconfig struct {
	// Changes are voter changes per simulated minute; 0 switches them off.
	Changes float64
}

// Probabilities of what happens around a random change.
const (
	reconfigInterrupt  = 0.25 // the initiator crashes part way
	reconfigConcurrent = 0.25 // a second initiator from the same epoch
	reconfigCutRemoved = 0.35 // a voter the change removes is cut off first
)

// VConfigChain: two nodes adopted different configurations for one epoch
// (the chain checker).
const VConfigChain ViolationKind = "config-chain"

// ReconfigStats count what the voter changes of a run did.
type ReconfigStats struct {
	// Started counts Reconfigure requests accepted; Refused those refused
	// at once (a change already under way, a stale epoch).
	Started int `json:"started"`
	Refused int `json:"refused"`
	// Done, Changed and NoQuorum count the outcomes: the set asked for,
	// ErrConfigChanged (another change won), ErrNoQuorum.
	Done     int `json:"done"`
	Changed  int `json:"changed"`
	NoQuorum int `json:"no_quorum"`
	// Interrupted counts initiators crashed part way.
	Interrupted int `json:"interrupted"`
	// Epoch is the highest epoch any node adopted.
	Epoch uint64 `json:"epoch"`
}

func (a *ReconfigStats) add(b ReconfigStats) {
	a.Started += b.Started
	a.Refused += b.Refused
	a.Done += b.Done
	a.Changed += b.Changed
	a.NoQuorum += b.NoQuorum
	a.Interrupted += b.Interrupted
	a.Epoch = max(a.Epoch, b.Epoch)
}

// reconfigWorld is the simulator's state for voter changes: the chain
// every adoption is checked against, and the counters.
type reconfigWorld struct {
	chain map[uint64]protocol.Membership
	top   protocol.Membership // the newest configuration any node adopted
	stats ReconfigStats
}

// voterNow reports whether n is a voter of the newest configuration any
// node adopted (of both sets while it is joint): the voters the limit of
// the restore and wipe model (assume.go) is about once the voters change.
// Before the first change, the configured voters.
func (s *Sim) voterNow(n *node) bool {
	if s.rcw.chain == nil {
		return n.voter
	}
	return slices.Contains(s.rcw.top.All(), n.name)
}

// contacts reports whether stale node u talks to p: p is a voter of the
// configuration u runs, or, before it runs again, of the one its data
// dir gives it (the record of a restored copy, or the initial list when
// the dir is empty or the copy has none). u learns the newer
// configuration (Install) and, once it adopted it, the era floor (R18)
// from those voters only. Always true before the first change.
func (s *Sim) contacts(u, p *node) bool {
	if s.rcw.chain == nil {
		return true
	}
	var r *protocol.ConfigRecord
	switch {
	case u.wipe: // its next start: an empty dir (also while the limit weighs a wipe)
	case u.restore && u.backup != nil:
		r = u.backup.config
	case !u.down && u.m != nil:
		return slices.Contains(u.m.Membership().All(), p.name)
	default:
		r = u.durableConfig
	}
	if r == nil {
		return slices.Contains(u.cfg.Voters, p.name)
	}
	return slices.Contains(r.Config.All(), p.name)
}

// addsStale reports whether voter set target would make a voter of a node
// whose data dir was restored or wiped and that has not opened yet: a
// voter made stale with no guard (assume.go), which the limit of the
// restore model does not allow. The operator adds such a node only once
// it is up and out of its quarantine.
func (s *Sim) addsStale(target []string) bool {
	if !s.guardLimited() {
		return false
	}
	for _, n := range s.nodes {
		if slices.Contains(target, n.name) && !s.voterNow(n) && s.staleVoter(n) {
			return true
		}
	}
	return false
}

// votersNow counts the voters of the newest configuration (voterNow).
func (s *Sim) votersNow() int {
	if s.rcw.chain == nil {
		return s.opts.Voters
	}
	return len(s.rcw.top.All())
}

// validate refuses voter changes with the one operator mistake they are
// not modelled with: mixed voter lists (old-voters) are the rolling edit
// of --voters that voter changes replace, a second chain of
// configurations that every epoch refuses (R17, R21). Wipes, restores and
// nodes without a data dir run with voter changes: a restored copy brings
// its configuration record back with it, a wiped dir starts from the
// initial list, the limit of the restore model follows the current
// voters (voterNow, contacts, addsStale), and a node without a data dir
// is never made a voter.
func (r *Reconfig) validate(o *Options) error {
	bad := func(f string, a ...any) error { return fmt.Errorf("%w: "+f, append([]any{ErrOptions}, a...)...) }
	switch op := &o.Operator; {
	case !(r.Changes >= 0):
		return bad("reconfigs %v must not be negative", r.Changes)
	case r.Changes == 0:
		return nil
	case op.OldVoters > 0:
		return bad("reconfigs cannot be combined with old-voters (a rolling edit of --voters is what voter changes replace)")
	}
	return nil
}

// reconfigOps are the sim's own actions of voter changes, in trOp records
// and evOp events (after the operator's).
const (
	opReconfig    = 100 + iota // a node asks for a voter change (b = epoch from)
	opAdopt                    // a node adopts a configuration (b = epoch)
	opReconfigEnd              // a change ends (b = 0 done, 1 changed, 2 no quorum)
	opCrashInit                // the initiator of a change crashes part way
)

// reconfigOpName names a reconfiguration op in the text trace.
func reconfigOpName(op uint64) (string, bool) {
	switch op {
	case opReconfig:
		return "asks for a voter change from epoch", true
	case opAdopt:
		return "adopts voter configuration epoch", true
	case opReconfigEnd:
		return "voter change ends (0 done, 1 another change won, 2 no quorum)", true
	case opCrashInit:
		return "initiator of a voter change crashes part way", true
	}
	return "", false
}

// onConfigEvent feeds the chain checker and the counters with a node's
// EventConfig or EventReconfigured.
func (s *Sim) onConfigEvent(n *node, ev *protocol.Event) {
	w := &s.rcw
	switch ev.Kind {
	case protocol.EventConfig:
		k := *ev.Config
		s.traceOp(n, opAdopt, int64(k.Epoch))
		w.stats.Epoch = max(w.stats.Epoch, k.Epoch)
		if w.chain == nil {
			w.chain = map[uint64]protocol.Membership{}
		}
		if old, ok := w.chain[k.Epoch]; ok && !old.Equal(k) {
			s.violate(VConfigChain, -1, []int{n.idx}, fmt.Sprintf(
				"%s adopted configuration %s, but %s was adopted for epoch %d before: two configurations in one epoch",
				n.name, k, old, k.Epoch))
			return
		}
		w.chain[k.Epoch] = k.Clone()
		if k.Epoch >= w.top.Epoch {
			w.top = k.Clone()
		}
	case protocol.EventReconfigured:
		code := int64(0)
		switch {
		case ev.Err == nil:
			w.stats.Done++
		case errors.Is(ev.Err, protocol.ErrConfigChanged):
			w.stats.Changed++
			code = 1
		default:
			w.stats.NoQuorum++
			code = 2
		}
		s.traceOp(n, opReconfigEnd, code)
	}
}

// randomReconfig starts one random voter change.
func (s *Sim) randomReconfig() {
	up := s.upNodes()
	if len(up) == 0 {
		return
	}
	n := s.nodes[up[s.rnd.IntN(len(up))]]
	cur := n.m.Membership()
	target := cur.Target()
	if !cur.Joint() {
		target = s.drawVoters(cur.Voters)
	}
	if s.addsStale(target) {
		s.heldBack()
		return
	}
	if !s.reconfigure(n, cur, target) {
		return
	}
	if s.rnd.Float64() < reconfigCutRemoved {
		var gone []int
		for _, v := range cur.All() {
			if !slices.Contains(target, v) {
				if j := s.nodeIndex(v); j >= 0 {
					gone = append(gone, j)
				}
			}
		}
		if len(gone) > 0 {
			j := gone[s.rnd.IntN(len(gone))]
			// Like every cut, within the limit of the restore model.
			if links, desc := s.splitLinks([]int{j}); s.allows(&hypo{cuts: links}) {
				id := s.net.partitionLinks(links, desc)
				s.push(event{at: s.now + int64(s.opts.TTL) + s.expDelay(4*s.opts.TTL), kind: evHeal, aux: int32(id)})
			} else {
				s.heldBack()
			}
		}
	}
	if s.rnd.Float64() < reconfigConcurrent && len(up) > 1 {
		o := s.nodes[up[s.rnd.IntN(len(up))]]
		if o != n && !cur.Joint() {
			if t := s.drawVoters(cur.Voters); !s.addsStale(t) {
				s.reconfigure(o, o.m.Membership(), t)
			}
		}
	}
	if s.rnd.Float64() < reconfigInterrupt {
		// Part way: during a Paxos phase, the closing, or the wait W.
		at := s.now + s.uniform(time.Millisecond, 2*s.opts.TTL)
		s.push(event{at: at, kind: evOp, aux: opCrashInit, node: int32(n.idx), gen: n.inc})
	}
}

// reconfigure asks node n for a change from cur to target; it reports
// whether the request was taken.
func (s *Sim) reconfigure(n *node, cur protocol.Membership, target []string) bool {
	err := n.m.Reconfigure(s.local(n), protocol.ReconfigureRequest{Voters: target, FromEpoch: cur.Epoch})
	s.traceOp(n, opReconfig, int64(cur.Epoch))
	if err != nil {
		s.rcw.stats.Refused++
		s.flush(n)
		return false
	}
	s.rcw.stats.Started++
	s.flush(n)
	return true
}

// onReconfigOp handles the evOp events of voter changes.
func (s *Sim) onReconfigOp(e *event) {
	n := s.nodes[e.node]
	if e.aux != opCrashInit || n.down || n.inc != e.gen || s.quiet || n.m == nil || !n.m.Reconfiguring() {
		return
	}
	if !s.allows(&hypo{away: []int{n.idx}}) {
		s.heldBack() // like every crash, within the limit of the restore model
		return
	}
	s.rcw.stats.Interrupted++
	s.traceOp(n, opCrashInit, 0)
	s.crash(n, s.faultLength())
}

// drawVoters draws the voter set a random change asks for, from every node
// of the run: 3 -> 5 or 5 -> 3 a quarter of the time each (when the size
// fits), otherwise one voter added, removed or replaced, keeping between
// one and seven voters.
func (s *Sim) drawVoters(cur []string) []string {
	var out []string
	for _, n := range s.nodes {
		// A node without a data dir is never made a voter: a voter keeps
		// its promises, accepted leases and configuration on disk (R21).
		if !slices.Contains(cur, n.name) && !n.noDisk {
			out = append(out, n.name)
		}
	}
	in := slices.Clone(cur)
	add := func() {
		if len(out) > 0 {
			i := s.rnd.IntN(len(out))
			in = append(in, out[i])
			out = slices.Delete(out, i, i+1)
		}
	}
	remove := func() {
		if len(in) > 1 {
			i := s.rnd.IntN(len(in))
			in = slices.Delete(in, i, i+1)
		}
	}
	switch k := s.rnd.IntN(4); {
	case k == 0 && len(in) == 3:
		add()
		add()
	case k == 0 && len(in) == 5:
		remove()
		remove()
	case k == 1 && len(in) < 7 || len(in) < 2:
		add()
	case k == 2 && len(in) > 1:
		remove()
	default:
		remove()
		add()
	}
	slices.Sort(in)
	return in
}

// ReconfigureNode asks node i to change the voters to voters, planned from
// the epoch it has adopted; it reports the error Reconfigure returned.
// For tests that drive changes by hand.
func (s *Sim) ReconfigureNode(i int, voters []string) error {
	n := s.nodes[i]
	if n.down {
		return fmt.Errorf("sim: %s is down", n.name)
	}
	cur := n.m.Membership()
	err := n.m.Reconfigure(s.local(n), protocol.ReconfigureRequest{Voters: voters, FromEpoch: cur.Epoch})
	s.traceOp(n, opReconfig, int64(cur.Epoch))
	if err == nil {
		s.rcw.stats.Started++
	}
	s.flush(n)
	return err
}

// Membership is the configuration node i has adopted (zero if it is down).
func (s *Sim) Membership(i int) protocol.Membership {
	if n := s.nodes[i]; !n.down && n.m != nil {
		return n.m.Membership()
	}
	return protocol.Membership{}
}

// ReconfigStats are the counters of the run's voter changes so far.
func (s *Sim) ReconfigStats() ReconfigStats { return s.rcw.stats }
