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

// client is the workload on one node for one lease name: it acquires,
// holds for a while sending fenced writes, then releases (or abandons, or
// holds on until the lease is lost), thinks, and starts again.
type client struct {
	state     clState
	gen       uint32 // invalidates scheduled actions of an earlier phase
	wait      bool
	demand    bool // waits, and counts for checker (d)
	token     uint64
	untilLost bool
}

func (s *Sim) clientSchedule(n *node, l int, act uint64, delay int64) {
	s.push(event{at: s.now + delay, kind: evClient, node: int32(n.idx), aux: int32(l), act: act, gen: n.clients[l].gen})
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

func (s *Sim) clientAct(n *node, l int, act uint64, gen uint32) {
	c := &n.clients[l]
	if gen != c.gen {
		return
	}
	name := s.leases[l]
	o := &s.opts
	switch act {
	case actStart:
		if c.state != clIdle {
			return
		}
		wait := s.rnd.Float64() >= o.TryShare
		s.acquire(n, l, wait)
		if c.state == clAcquiring && wait && !s.quiet {
			s.clientSchedule(n, l, actCancel, int64(3*o.TTL)+s.expDelay(3*o.TTL))
		}
	case actWrite:
		if c.state != clHolding {
			return
		}
		tok, dl, ok := n.m.Holding(name)
		if ok && tok == c.token && s.local(n) < dl {
			s.sendWrite(n.idx, l, tok)
		}
		s.clientSchedule(n, l, actWrite, s.expDelay(o.WriteEvery))
	case actEnd:
		if c.state != clHolding {
			return
		}
		switch r := s.rnd.Float64(); {
		case r < 0.85:
			s.release(n, l)
		case r < 0.95:
			s.abandon(n, l)
		default:
			c.untilLost = true
		}
	case actCancel:
		if c.state != clAcquiring || !n.m.Pending(name) {
			return
		}
		s.tr.add(record{at: s.now, kind: trReqCancel, node: uint8(n.idx), peer: noNode, lease: int16(l)})
		n.m.Cancel(s.local(n), name)
		s.clientIdle(n, l, s.expDelay(o.Think))
		s.flush(n)
	}
}

// acquire asks n's machine for lease l.
func (s *Sim) acquire(n *node, l int, wait bool) {
	c := &n.clients[l]
	w := uint64(0)
	if wait {
		w = 1
	}
	s.tr.add(record{at: s.now, kind: trReqAcquire, node: uint8(n.idx), peer: noNode, lease: int16(l), a: w})
	// A node whose voter list cannot form a quorum on its own (a rolling
	// change of the list, operator.go) is not owed a grant: checker (d)
	// does not count its wait.
	c.state, c.wait, c.demand, c.untilLost = clAcquiring, wait, wait && n.canGrant, false
	c.gen++
	if c.demand {
		s.chk.demandChange(l, +1)
	}
	if err := n.m.Acquire(s.local(n), protocol.AcquireRequest{Name: s.leases[l], TTL: n.cfg.MaxTTL, Wait: wait}); err != nil {
		s.clientIdle(n, l, s.expDelay(s.opts.Think))
		return
	}
	s.flush(n)
}

// release ends n's tenure of lease l with Release.
func (s *Sim) release(n *node, l int) {
	c := &n.clients[l]
	s.tr.add(record{at: s.now, kind: trReqRelease, node: uint8(n.idx), peer: noNode, lease: int16(l), a: c.token})
	if err := n.m.Release(s.local(n), s.leases[l], c.token); err != nil {
		s.fail("release of a tenure the client holds: " + err.Error())
		return
	}
	s.flush(n)
}

// abandon ends n's tenure of lease l without telling the voters.
func (s *Sim) abandon(n *node, l int) {
	c := &n.clients[l]
	s.tr.add(record{at: s.now, kind: trReqAbandon, node: uint8(n.idx), peer: noNode, lease: int16(l), a: c.token})
	if err := n.m.Abandon(s.local(n), s.leases[l], c.token); err != nil {
		s.fail("abandon of a tenure the client holds: " + err.Error())
		return
	}
	s.flush(n)
}

// clientIdle puts the client back to idle and, with the workload on,
// schedules its next acquire after delay.
func (s *Sim) clientIdle(n *node, l int, delay int64) {
	c := &n.clients[l]
	if c.state == clAcquiring && c.demand {
		s.chk.demandChange(l, -1)
	}
	c.state = clIdle
	c.gen++
	if s.opts.Workload {
		s.clientSchedule(n, l, actStart, delay)
	}
}

// clientEvent moves the client on a protocol event for its lease.
func (s *Sim) clientEvent(n *node, l int, ev *protocol.Event) {
	c := &n.clients[l]
	o := &s.opts
	switch ev.Kind {
	case protocol.EventAcquired:
		if c.state == clAcquiring && c.demand {
			s.chk.demandChange(l, -1)
		}
		c.state, c.token = clHolding, ev.Token
		c.gen++
		if o.Workload {
			s.clientSchedule(n, l, actWrite, s.expDelay(o.WriteEvery))
			s.clientSchedule(n, l, actEnd, s.expDelay(o.Hold))
		}
	case protocol.EventLost:
		if c.state == clHolding && c.token == ev.Token {
			s.clientIdle(n, l, s.expDelay(o.Think))
		}
	case protocol.EventReleased:
		if c.state == clHolding && c.token == ev.Token {
			d := s.expDelay(o.Think)
			if s.rnd.Float64() < o.Regrab {
				d = 1
			}
			s.clientIdle(n, l, d)
		}
	case protocol.EventFailed:
		if c.state == clAcquiring {
			s.clientIdle(n, l, s.expDelay(o.Think))
		}
	}
}

func (s *Sim) clientsDown(n *node) {
	for l := range n.clients {
		c := &n.clients[l]
		if c.state == clAcquiring && c.demand {
			s.chk.demandChange(l, -1)
		}
		c.state = clDown
		c.gen++
	}
}

func (s *Sim) clientsUp(n *node) {
	for l := range n.clients {
		c := &n.clients[l]
		c.state = clIdle
		c.gen++
		if s.opts.Workload && n.agent == nil {
			s.clientSchedule(n, l, actStart, s.expDelay(s.opts.Think))
		}
	}
}

func (c clState) holding() bool { return c == clHolding }
