package sim

import (
	"github.com/tenure-dev/tenure/protocol"
)

// clState is where one client stands with its lease.
type clState uint8

const (
	clIdle clState = 1 + iota
	clAcquiring
	clHolding
	clDown // its node is down
)

// Client actions, carried in an evClient event's u field.
const (
	actStart  uint64 = 1 + iota // acquire the lease
	actWrite                    // send a fenced write while holding
	actEnd                      // end the tenure: release, abandon or keep it until lost
	actCancel                   // give up waiting
)

// client is the workload in one slot of a node: it acquires its lease,
// holds it for a while sending fenced writes, then releases (or abandons,
// or holds on until the lease is lost), thinks, and starts again. With
// Options.Slots zero a node has one client per lease name and slot k is
// always lease k; otherwise each slot draws a lease name at random for
// each tenure (a pool of tasks), one no other slot of the node has.
type client struct {
	state     clState
	gen       uint32 // invalidates scheduled actions of an earlier phase
	lease     int32  // the lease it works on; -1 before a slot's first draw
	wait      bool
	demand    bool // waits, and counts for checker (d)
	untilLost bool
	again     bool // a slot acquires the same lease again (Regrab)
	token     uint64
}

// newClients are a node's clients: one per lease, or Options.Slots.
func (o *Options) newClients() []client {
	if o.Slots == 0 {
		cs := make([]client, o.Leases)
		for l := range cs {
			cs[l] = client{state: clIdle, lease: int32(l)}
		}
		return cs
	}
	cs := make([]client, o.Slots)
	for k := range cs {
		cs[k] = client{state: clIdle, lease: -1}
	}
	return cs
}

// slotOf is the slot of n's client that works on lease l, -1 if none.
func (s *Sim) slotOf(n *node, l int) int {
	if s.opts.Slots == 0 {
		return l
	}
	for k := range n.clients {
		if int(n.clients[k].lease) == l {
			return k
		}
	}
	return -1
}

// drawLease gives slot k of n a lease name at random that no other slot
// of n has (the next free one after the draw).
func (s *Sim) drawLease(n *node, k int) {
	l := s.rnd.IntN(len(s.leases))
	for s.slotOf(n, l) >= 0 && s.slotOf(n, l) != k {
		l = (l + 1) % len(s.leases)
	}
	n.clients[k].lease = int32(l)
}

// clientSchedule schedules action act of n's client in slot k.
func (s *Sim) clientSchedule(n *node, k int, act uint64, delay int64) {
	s.push(event{at: s.now + delay, kind: evClient, node: int32(n.idx), aux: int32(k), act: act, gen: n.clients[k].gen})
}

func (s *Sim) onClient(e *event) {
	n := s.nodes[e.node]
	if n.down || e.gen != n.clients[e.aux].gen {
		return
	}
	if n.paused { // the client is part of the paused process
		n.deferred = append(n.deferred, deferredAct{lease: e.aux, act: e.act, gen: e.gen})
		return
	}
	s.stats.events++
	s.clientAct(n, int(e.aux), e.act, e.gen)
}

// clientAct runs action act of n's client in slot k, unless gen says it
// belongs to an earlier phase.
func (s *Sim) clientAct(n *node, k int, act uint64, gen uint32) {
	c := &n.clients[k]
	if gen != c.gen {
		return
	}
	o := &s.opts
	if act == actStart && c.state == clIdle && o.Slots > 0 && !c.again {
		s.drawLease(n, k)
	}
	l := int(c.lease)
	if l < 0 {
		return
	}
	name := s.leases[l]
	switch act {
	case actStart:
		if c.state != clIdle {
			return
		}
		c.again = false
		wait := s.rnd.Float64() >= o.TryShare
		s.acquire(n, k, wait)
		if c.state == clAcquiring && wait && !s.quiet {
			s.clientSchedule(n, k, actCancel, int64(3*o.TTL)+s.expDelay(3*o.TTL))
		}
	case actWrite:
		if c.state != clHolding {
			return
		}
		tok, dl, ok := n.m.Holding(name)
		if ok && tok == c.token && s.local(n) < dl {
			s.sendWrite(n.idx, l, tok)
		}
		s.clientSchedule(n, k, actWrite, s.expDelay(o.WriteEvery))
	case actEnd:
		if c.state != clHolding {
			return
		}
		switch r := s.rnd.Float64(); {
		case r < 0.85:
			s.release(n, k)
		case r < 0.95:
			s.abandon(n, k)
		default:
			c.untilLost = true
		}
	case actCancel:
		if c.state != clAcquiring || !n.m.Pending(name) {
			return
		}
		s.tr.add(record{at: s.now, kind: trReqCancel, node: uint16(n.idx), peer: noNode, lease: int16(l)})
		n.m.Cancel(s.local(n), name)
		s.clientIdle(n, k, s.expDelay(o.Think))
		s.flush(n)
	}
}

// acquire asks n's machine for the lease of the client in slot k.
func (s *Sim) acquire(n *node, k int, wait bool) {
	c := &n.clients[k]
	l := int(c.lease)
	w := uint64(0)
	if wait {
		w = 1
	}
	s.tr.add(record{at: s.now, kind: trReqAcquire, node: uint16(n.idx), peer: noNode, lease: int16(l), a: w})
	// A node whose voter list cannot form a quorum on its own (a rolling
	// change of the list, operator.go) is not owed a grant: checker (d)
	// does not count its wait.
	c.state, c.wait, c.demand, c.untilLost = clAcquiring, wait, wait && n.canGrant, false
	c.gen++
	if c.demand {
		s.chk.demandChange(l, +1)
	}
	if err := n.m.Acquire(s.local(n), protocol.AcquireRequest{Name: s.leases[l], TTL: n.cfg.MaxTTL, Wait: wait}); err != nil {
		s.clientIdle(n, k, s.expDelay(s.opts.Think))
		return
	}
	s.flush(n)
}

// release ends the tenure of n's client in slot k with Release.
func (s *Sim) release(n *node, k int) {
	c := &n.clients[k]
	l := int(c.lease)
	s.tr.add(record{at: s.now, kind: trReqRelease, node: uint16(n.idx), peer: noNode, lease: int16(l), a: c.token})
	if err := n.m.Release(s.local(n), s.leases[l], c.token); err != nil {
		s.fail("release of a tenure the client holds: " + err.Error())
		return
	}
	s.flush(n)
}

// abandon ends the tenure of n's client in slot k without telling the
// voters.
func (s *Sim) abandon(n *node, k int) {
	c := &n.clients[k]
	l := int(c.lease)
	s.tr.add(record{at: s.now, kind: trReqAbandon, node: uint16(n.idx), peer: noNode, lease: int16(l), a: c.token})
	if s.chk.activeNow(l, n.idx) {
		s.chk.takeoverStarts(l) // the lease stays blocked as if the holder had crashed
	}
	if err := n.m.Abandon(s.local(n), s.leases[l], c.token); err != nil {
		s.fail("abandon of a tenure the client holds: " + err.Error())
		return
	}
	s.flush(n)
}

// clientIdle puts the client in slot k back to idle and, with the
// workload on, schedules its next acquire after delay.
func (s *Sim) clientIdle(n *node, k int, delay int64) {
	c := &n.clients[k]
	if c.state == clAcquiring && c.demand {
		s.chk.demandChange(int(c.lease), -1)
	}
	c.state = clIdle
	c.gen++
	if s.opts.Workload {
		s.clientSchedule(n, k, actStart, delay)
	}
}

// clientEvent moves the client that works on lease l on a protocol event
// for it.
func (s *Sim) clientEvent(n *node, l int, ev *protocol.Event) {
	k := s.slotOf(n, l)
	if k < 0 {
		if ev.Kind == protocol.EventAcquired {
			// A grant for a name no slot works on any more (its slot gave
			// up and drew another): nobody would release it, so free it
			// at once, as a client that no longer wants it does.
			s.tr.add(record{at: s.now, kind: trReqRelease, node: uint16(n.idx), peer: noNode, lease: int16(l), a: ev.Token})
			if err := n.m.Release(s.local(n), ev.Name, ev.Token); err == nil {
				n.again = true
			}
		}
		return
	}
	c := &n.clients[k]
	o := &s.opts
	switch ev.Kind {
	case protocol.EventAcquired:
		if c.state == clAcquiring && c.demand {
			s.chk.demandChange(l, -1)
		}
		c.state, c.token = clHolding, ev.Token
		c.gen++
		if o.Workload {
			s.clientSchedule(n, k, actWrite, s.expDelay(o.WriteEvery))
			s.clientSchedule(n, k, actEnd, s.expDelay(o.Hold))
		}
	case protocol.EventLost:
		if c.state == clHolding && c.token == ev.Token {
			s.clientIdle(n, k, s.expDelay(o.Think))
		}
	case protocol.EventReleased:
		if c.state == clHolding && c.token == ev.Token {
			d := s.expDelay(o.Think)
			if s.rnd.Float64() < o.Regrab {
				d, c.again = 1, true
			}
			s.clientIdle(n, k, d)
		}
	case protocol.EventFailed:
		if c.state == clAcquiring {
			s.clientIdle(n, k, s.expDelay(o.Think))
		}
	}
}

func (s *Sim) clientsDown(n *node) {
	for k := range n.clients {
		c := &n.clients[k]
		if c.state == clAcquiring && c.demand {
			s.chk.demandChange(int(c.lease), -1)
		}
		c.state = clDown
		c.gen++
	}
}

func (s *Sim) clientsUp(n *node) {
	for k := range n.clients {
		c := &n.clients[k]
		c.state, c.again = clIdle, false
		c.gen++
		if s.opts.Workload && n.agent == nil {
			s.clientSchedule(n, k, actStart, s.expDelay(s.opts.Think))
		}
	}
}

func (c clState) holding() bool { return c == clHolding }
