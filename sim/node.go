package sim

import (
	"fmt"
	"slices"
	"time"

	"github.com/tenure-dev/tenure/protocol"
)

// node is one simulated process: a protocol machine, a drifting clock, the
// durable era it fsynced, and the clients that run on it.
type node struct {
	idx   int
	name  string
	voter bool
	cfg   protocol.Config
	m     *protocol.Machine
	clk   clock

	// canGrant: the node's voter list has a majority of voters that run
	// that same list, so its requests can be granted (identity.go).
	canGrant bool
	// ident is the fingerprint of the node's voter list (R17).
	ident uint64
	// noDisk: the node has no data dir; every start is a crashed start
	// from its wall clock in seconds, and nothing survives a stop.
	noDisk bool
	// cfgLow is the configuration with the lowered MaxTTL, which the node
	// runs from its first start after the operator's change on.
	cfgLow *protocol.Config
	// backup is the operator's copy of the node's data dir, if any; the
	// next start uses it if restore is set, or an empty dir if wipe is.
	backup        *dirCopy
	restore, wipe bool
	pauseUntil    int64  // true instant a pause ends
	agent         *agent // the tenure agent the node runs, if any
	again         bool   // the agent called the machine inside flush: flush again
	invSkip       uint32 // inputs checker (e) skips before it checks again (check_invariants.go)

	down       bool   // crashed or shut down
	inc        uint32 // incarnation: bumped when the node goes down
	durableEra uint32 // the last PersistEra: survives crashes (R12)
	// durableBounds are the last PersistBounds: they survive crashes (R19).
	durableBounds protocol.Bounds
	// durablePeers is the last PersistPeers: survives crashes (R18).
	durablePeers []protocol.PeerIncarnation
	// durableConfig is the last PersistConfig: survives crashes (R21).
	durableConfig *protocol.ConfigRecord
	// boots counts the starts of the node's data dir (R18): each start
	// gets the next value as Start.Boot. maxBoot is the highest boot any
	// start of the node ever had (a restore puts boots back, not maxBoot).
	boots, maxBoot uint64
	// stale: restarted from a copy or an empty dir and not yet open; its
	// guards must know the era of every token granted (staleEra: the
	// highest when the operator acted) and, while it verifies, remember an
	// incarnation of boot staleNeed or newer, or (staleFresh) be past era
	// 1 (assume.go).
	stale      bool
	staleFresh bool
	staleEra   uint32
	staleNeed  uint64
	state      []byte // encoded clean-shutdown State, if the last stop was clean

	paused   bool
	pauseGen uint32
	inbox    []queued // datagrams that arrived during a pause
	deferred []deferredAct

	wakeGen uint32 // invalidates older wake events
	wakeAt  int64  // true instant of the pending wake, -1 if none

	clients []client
}

// queued is a datagram waiting at a paused node.
type queued struct {
	from int32
	buf  int32
}

// deferredAct is a client action that fell due during a pause.
type deferredAct struct {
	lease int32 // the client's slot (the lease's index unless Options.Slots)
	act   uint64
	gen   uint32
}

// local is the node's clock now.
func (s *Sim) local(n *node) protocol.Time { return n.clk.local(s.now) }

// startNode builds a machine for n with the given start and handles its
// first output (the era to persist).
func (s *Sim) startNode(n *node, st protocol.Start) error {
	if !n.noDisk {
		n.boots++
		n.maxBoot = max(n.maxBoot, n.boots)
		st.Boot, st.Bounds, st.Peers = n.boots, n.durableBounds, n.durablePeers
		st.Config = n.durableConfig
	}
	m, err := protocol.New(n.cfg, st, s.rnd, s.local(n))
	if err != nil {
		return fmt.Errorf("sim: start %s: %w", n.name, err)
	}
	n.m = m
	n.down = false
	n.wakeAt = -1
	s.flush(n)
	return nil
}

// flush hands a node's output to the world in the order the protocol
// demands: persist the era, then send the messages, then deliver the events;
// then it reschedules the node's wake-up.
func (s *Sim) flush(n *node) {
	for {
		s.checkInvariants(n) // checker (e), check_invariants.go
		out := n.m.Ready()
		if out.PersistEra != 0 && out.PersistEra > n.durableEra {
			n.durableEra = out.PersistEra
		}
		if !out.PersistBounds.IsZero() {
			n.durableBounds = out.PersistBounds
		}
		if out.PersistPeers != nil {
			n.durablePeers = slices.Clone(out.PersistPeers)
		}
		if out.PersistConfig != nil {
			n.durableConfig = out.PersistConfig
		}
		if len(out.Messages) > 0 {
			if s.guardLimited() {
				s.noteProposed(out.Messages)
			}
			s.net.send(n, out.Messages)
		}
		for i := range out.Events {
			s.onProtocolEvent(n, &out.Events[i])
		}
		if !n.again || n.m == nil {
			break
		}
		n.again = false
	}
	s.scheduleWake(n)
}

// scheduleWake keeps exactly one pending wake event per node, at the true
// instant its clock reaches the machine's NextWake.
func (s *Sim) scheduleWake(n *node) {
	if n.down || n.paused {
		return
	}
	w := n.m.NextWake()
	if w == protocol.Never {
		if n.wakeAt >= 0 {
			n.wakeGen++
			n.wakeAt = -1
		}
		return
	}
	t := n.clk.trueAt(s.now, w)
	if t == n.wakeAt {
		return
	}
	n.wakeGen++
	n.wakeAt = t
	s.push(event{at: t, kind: evWake, node: int32(n.idx), gen: n.wakeGen})
}

func (s *Sim) onWake(e *event) {
	n := s.nodes[e.node]
	if n.down || n.paused || e.gen != n.wakeGen {
		return
	}
	s.stats.events++
	n.wakeAt = -1
	s.tr.add(record{at: s.now, kind: trTick, node: uint16(n.idx), peer: noNode, lease: -1})
	n.m.Tick(s.local(n))
	s.flush(n)
}

// deliver hands one datagram to a running node's machine.
func (s *Sim) deliver(n *node, from int32, data []byte) {
	hdr, msgs, err := s.dec.Decode(data)
	if err != nil {
		s.fail(fmt.Sprintf("datagram from %s to %s does not decode: %v", s.nodes[from].name, n.name, err))
		return
	}
	if !n.m.Deliver(s.local(n), hdr, msgs) {
		return // another cluster identity (R17): dropped whole
	}
	lease := int16(-1)
	if len(msgs) > 0 {
		lease = int16(s.leaseOf(msgs[0].Lease()))
	}
	s.tr.add(record{at: s.now, kind: trDeliver, node: uint16(n.idx), peer: uint16(from), lease: lease, a: packTypes(msgs), b: int64(len(data))})
	s.flush(n)
}

// leaseOf is the index of lease name, -1 if it is not one of ours. Names
// are L1..Ln; parsing the number is much cheaper than a map lookup on this
// hot path, and the result is checked against the real name.
func (s *Sim) leaseOf(name string) int {
	if i := numberAfter(name, 'L') - 1; i >= 0 && i < len(s.leases) && s.leases[i] == name {
		return i
	}
	if i, ok := s.leaseIx[name]; ok {
		return i
	}
	return -1
}

// nodeIndex is the index of node name (n1..nV, then c1..cC), -1 if none.
func (s *Sim) nodeIndex(name string) int {
	i := numberAfter(name, 'n') - 1
	if i < 0 {
		if k := numberAfter(name, 'c') - 1; k >= 0 {
			i = s.opts.Voters + k
		}
	}
	if i >= 0 && i < len(s.nodes) && s.nodes[i].name == name {
		return i
	}
	if i, ok := s.byName[name]; ok {
		return i
	}
	return -1
}

// numberAfter parses name as prefix followed by a decimal number; 0 if it
// is not of that form.
func numberAfter(name string, prefix byte) int {
	if len(name) < 2 || len(name) > 6 || name[0] != prefix {
		return 0
	}
	v := 0
	for i := 1; i < len(name); i++ {
		c := name[i]
		if c < '0' || c > '9' {
			return 0
		}
		v = v*10 + int(c-'0')
	}
	return v
}

// crash stops a node without warning: its machine is gone, its durable era
// stays.
func (s *Sim) crash(n *node, downFor int64) {
	s.tr.add(record{at: s.now, kind: trCrash, node: uint16(n.idx), peer: noNode, lease: -1})
	n.m.Stop()
	n.state = nil
	s.goDown(n, downFor, true)
}

// shutdown stops a node cleanly: its clients release what they hold (or,
// half the time, simply stop), then the machine's State is written. An
// agent stops first (agent.go): it frees no lease its clients hold (R15).
func (s *Sim) shutdown(n *node, downFor int64) {
	s.tr.add(record{at: s.now, kind: trShutdown, node: uint16(n.idx), peer: noNode, lease: -1})
	if n.agent != nil {
		s.agentStop(n)
	} else if s.rnd.IntN(2) == 0 {
		for l := range n.clients {
			if c := &n.clients[l]; c.state == clHolding {
				s.release(n, l)
			}
		}
	}
	// Releases queued just now leave at the next Tick (R10), which the
	// node's loop runs before it handles the stop.
	n.m.Tick(s.local(n))
	s.flush(n)
	st := n.m.Snapshot(s.local(n))
	n.state = nil
	if !n.noDisk {
		b, err := protocol.EncodeState(st)
		if err != nil {
			s.fail(fmt.Sprintf("encode state of %s: %v", n.name, err))
			return
		}
		n.state = b
	}
	s.goDown(n, downFor, false)
}

func (s *Sim) goDown(n *node, downFor int64, crashed bool) {
	n.m = nil
	n.down = true
	n.inc++
	n.paused = false
	n.pauseGen++
	for _, q := range n.inbox {
		s.net.free(q.buf)
	}
	n.inbox = n.inbox[:0]
	n.deferred = n.deferred[:0]
	n.wakeGen++
	n.wakeAt = -1
	s.chk.nodeDown(n, crashed)
	s.clientsDown(n)
	if n.agent != nil {
		s.agentDown(n)
	}
	if s.tl != nil {
		s.tl.down(n.idx, s.now)
	}
	if downFor > 0 {
		if n.noDisk {
			// A supervisor restarts a process without a data dir at once:
			// often within the second its last incarnation started in.
			downFor = s.uniform(time.Millisecond, 300*time.Millisecond)
		}
		s.push(event{at: s.now + downFor, kind: evRestart, node: int32(n.idx), gen: n.inc})
		if s.opts.Operator.Zombies {
			s.zombies(n, s.now+downFor)
		}
	}
}

// restart starts a down node again: from its clean-shutdown State if it
// has one, otherwise as after a crash, from its durable era (or from era 0
// when the era floor is switched off). The operator may have replaced its
// data dir (a stale copy, an empty dir) or its configuration meanwhile.
func (s *Sim) restart(n *node) {
	if s.refusesStart(n) {
		s.refuseStart(n)
		return
	}
	st, replaced := s.operatorStart(n)
	if s.opts.NoEra && st.Kind == protocol.StartCrashed {
		st.Era = 0
	}
	clean := int64(0)
	if n.state != nil {
		state, err := protocol.DecodeState(n.state)
		if err != nil {
			s.fail(fmt.Sprintf("decode state of %s: %v", n.name, err))
			return
		}
		st = protocol.Start{Kind: protocol.StartClean, State: state}
		n.state = nil // consumed before anything is answered (R9)
		clean = 1
	}
	// A clean start from a copy older than the node's last incarnation,
	// or a fresh one, must be found stale by the peers (assume.go).
	detect := replaced && st.Kind == protocol.StartClean && n.maxBoot > n.boots
	if err := s.startNode(n, st); err != nil {
		s.fail(err.Error())
		return
	}
	if st.Kind == protocol.StartFresh {
		clean = 2
	}
	if replaced && (n.voter || s.opts.Operator.WipeAdded) {
		s.noteStaleStart(n, detect, st.Kind == protocol.StartFresh)
	}
	s.tr.add(record{at: s.now, kind: trRestart, node: uint16(n.idx), peer: noNode, lease: -1, a: uint64(n.m.Era()), b: clean})
	if s.tl != nil {
		s.tl.up(n.idx, s.now)
	}
	s.clientsUp(n)
}

// pause freezes a node for d: it handles nothing, its clock runs on.
func (s *Sim) pause(n *node, d int64) {
	s.tr.add(record{at: s.now, kind: trPause, node: uint16(n.idx), peer: noNode, lease: -1, b: d})
	n.paused = true
	n.pauseUntil = s.now + d
	n.pauseGen++
	n.wakeGen++
	n.wakeAt = -1
	if s.tl != nil {
		s.tl.pause(n.idx, s.now, s.now+d)
	}
	s.push(event{at: s.now + d, kind: evUnpause, node: int32(n.idx), gen: n.pauseGen})
}

// unpause wakes a paused node: it handles every datagram that queued up,
// in arrival order, and only then its timers, which fire late, then the
// client actions that fell due. Handlers before timers is the adversarial
// order for R6: a deadline must be checked in the answer's handler, never
// left to a timer that a paused loop delivers late.
func (s *Sim) unpause(n *node) {
	n.paused = false
	n.pauseGen++
	s.tr.add(record{at: s.now, kind: trUnpause, node: uint16(n.idx), peer: noNode, lease: -1, a: uint64(len(n.inbox))})
	if s.tl != nil {
		s.tl.unpause(n.idx, s.now)
	}
	inbox := n.inbox
	n.inbox = nil
	for _, q := range inbox {
		s.deliver(n, q.from, s.net.bytes(q.buf))
		s.net.free(q.buf)
	}
	n.inbox = inbox[:0]
	n.m.Tick(s.local(n))
	s.flush(n)
	acts := n.deferred
	n.deferred = nil
	for _, a := range acts {
		s.clientAct(n, int(a.lease), a.act, a.gen)
	}
	n.deferred = acts[:0]
}
