package sim

import (
	"math"
	"time"

	"github.com/tenure-dev/tenure/protocol"
)

// agent is the tenure agent a node runs for its HTTP clients (edge.go): a
// small model of package agent's books, not its code. Per lease name it
// serves one request at a time (the node holds one tenure per name); a
// second one is answered 409 at once.
//
// The rules it keeps are the ones a client relies on:
//
//   - R16: every deadline it hands out is deadlineMS of the span from the
//     receipt R of the request it answers to the deadline D, on its clock:
//     D = min(node deadline, keepalive expiry) in keepalive mode, the node
//     deadline in a hold stream (R = the stream request's receipt). The
//     client's deadline, its own send time plus that, then ends before D in
//     real time, whatever the two clocks' rates within ε.
//   - R15: it releases a tenure only on its client's DELETE, at the
//     keepalive expiry (receipt of the last keepalive plus the TTL, which
//     every deadline handed out precedes), or once a broken hold stream's
//     last deadline has passed. When it stops, it releases nothing: the
//     node abandons the tenures and the voters let them expire.
type agent struct {
	epoch   uint32 // bumped when the agent stops: its books are gone
	entries []agentEntry
}

// agentEntry is the agent's book of one lease name.
type agentEntry struct {
	state       uint8  // aeNone, aePending, aeHeld
	gen         uint32 // bumped at every change of state: stale timers
	hold        bool   // kept by a hold stream, not by keepalives
	released    bool   // the agent decided to end it (no keepalive after)
	streamEnded bool   // the hold stream is over
	edge        int32  // the client
	key         uint64 // the lease key handed to the client
	ttl         time.Duration
	recv        protocol.Time // receipt of the acquire (stream) request
	expiry      protocol.Time // keepalive mode
	told        protocol.Time // hold mode: latest deadline told
	lastMS      int64         // hold mode: the last deadline_ms told
	streamAt    int64         // true arrival of the last stream event (FIFO)
	token       uint64
	tenure      uint32
}

const (
	aeNone = iota
	aePending
	aeHeld
)

// Agent timers, in evAgent events (u).
const (
	atWait   = 1 + iota // an acquire's wait ran out
	atExpiry            // keepalive expiry
	atTick              // hold stream: the next event
	atTold              // a broken stream's last deadline
)

// Why the agent freed a lease (trAgentFree, b).
const (
	freeDelete = 1 + iota
	freeExpiry
	freeTold
	freeStop // only with SimWeakenings.AgentReleasesOnStop
)

// deadlineMS is the deadline an agent hands a client (R16): the span from
// the receipt r of the request to the deadline d on the agent's clock,
// scaled by (1-ε)/(1+ε) and floored to whole milliseconds (one nanosecond
// off first, so float rounding never rounds up). The client's own send
// time plus that many milliseconds of its clock ends before d in real time.
func deadlineMS(d, r protocol.Time, eps float64) int64 {
	span := int64(d) - int64(r)
	if span <= 0 {
		return 0
	}
	ms := math.Floor((float64(span)*(1-eps)/(1+eps) - 1) / float64(time.Millisecond))
	return max(int64(ms), 0)
}

// agentTimer schedules timer kind at local instant at of n's clock.
func (s *Sim) agentTimer(n *node, l int, kind uint64, at protocol.Time) {
	e := &n.agent.entries[l]
	s.push(event{at: n.clk.trueAt(s.now, at), kind: evAgent, node: int32(n.idx), aux: int32(l), act: kind, gen: e.gen})
}

func (s *Sim) onAgentTimer(ev *event) {
	n := s.nodes[ev.node]
	if n.down || n.agent == nil {
		return
	}
	l := int(ev.aux)
	e := &n.agent.entries[l]
	if e.gen != ev.gen {
		return
	}
	if n.paused { // the agent is part of the paused process
		ev.at = n.pauseUntil
		s.push(*ev)
		return
	}
	s.stats.events++
	now := s.local(n)
	name := s.leases[l]
	switch ev.act {
	case atWait:
		if e.state == aePending {
			n.m.Cancel(now, name)
			s.agentAnswer(n, e, l, mRefused, 0)
			s.agentClear(e)
			s.flush(n)
		}
	case atExpiry:
		if e.state != aeHeld || e.hold || e.released {
			return
		}
		if now < e.expiry { // a keepalive moved it, or the clock's rate changed
			s.agentTimer(n, l, atExpiry, e.expiry)
			return
		}
		s.agentFree(n, l, freeExpiry)
	case atTold:
		if e.state != aeHeld || e.released {
			return
		}
		if now < e.told {
			s.agentTimer(n, l, atTold, e.told)
			return
		}
		s.agentFree(n, l, freeTold)
	case atTick:
		if e.state != aeHeld || e.streamEnded || e.released {
			return
		}
		if tok, d, ok := n.m.Holding(name); ok && tok == e.token {
			ms := deadlineMS(d, e.recv, n.cfg.MaxDrift)
			if ms > 0 && d > e.told {
				e.told = d
			}
			e.lastMS = ms
			s.agentAnswer(n, e, l, mEvent, ms)
		}
		s.agentTimer(n, l, atTick, now.Add(max(e.ttl/4, 10*time.Millisecond)))
	}
}

// agentFree releases the tenure of lease l at the voters, for why.
func (s *Sim) agentFree(n *node, l int, why int64) {
	e := &n.agent.entries[l]
	e.released = true
	s.tr.add(record{at: s.now, kind: trAgentFree, node: uint16(n.idx), peer: uint16(s.edgeHolder(int(e.edge))), lease: int16(l), a: e.token, b: why})
	if err := n.m.Release(s.local(n), s.leases[l], e.token); err == nil {
		s.flush(n)
	}
}

// agentClear forgets an entry; its timers go stale.
func (s *Sim) agentClear(e *agentEntry) {
	gen := e.gen + 1
	*e = agentEntry{gen: gen}
}

// agentAnswer sends op to the entry's client: on the hold stream's
// connection (in order) for a stream, on the request's own otherwise.
func (s *Sim) agentAnswer(n *node, e *agentEntry, l int, op uint8, ms int64) {
	m := edgeMsg{op: op, req: mAcquire, edge: e.edge, lease: int32(l), key: e.key, token: e.token, tenure: e.tenure, ms: ms, ttl: e.ttl, epoch: n.agent.epoch}
	if e.hold && op != mRefused {
		e.streamAt = s.edgeSendFIFO(s.edgeHolder(int(e.edge)), m, e.streamAt)
		return
	}
	s.edgeSend(s.edgeHolder(int(e.edge)), m)
}

// agentRequest handles a client's request arriving at agent node n (not
// paused: the caller holds requests to a paused agent back).
func (s *Sim) agentRequest(n *node, m edgeMsg) {
	j := s.edgeHolder(int(m.edge))
	s.tr.add(record{at: s.now, kind: trAgentRecv, node: uint16(n.idx), peer: uint16(j), lease: int16(m.lease), a: uint64(m.op), b: int64(m.token)})
	if n.down {
		if m.op != mHangup && m.op != mDelete {
			s.edgeSend(j, edgeMsg{op: mRefused, req: m.op, edge: m.edge, lease: m.lease, key: m.key, sentAt: m.sentAt})
		}
		return
	}
	s.stats.events++
	a := n.agent
	l := int(m.lease)
	e := &a.entries[l]
	now := s.local(n)
	gone := func() {
		s.edgeSend(j, edgeMsg{op: mGone, req: m.op, edge: m.edge, lease: m.lease, key: m.key, sentAt: m.sentAt})
	}
	switch m.op {
	case mAcquire:
		if e.state != aeNone {
			s.edgeSend(j, edgeMsg{op: mRefused, req: mAcquire, edge: m.edge, lease: m.lease, sentAt: m.sentAt})
			return
		}
		s.edge.nextKey++
		*e = agentEntry{state: aePending, gen: e.gen + 1, hold: m.hold, edge: m.edge, key: s.edge.nextKey, ttl: n.cfg.MaxTTL, recv: now}
		if err := n.m.Acquire(now, protocol.AcquireRequest{Name: s.leases[l], TTL: e.ttl, Wait: m.wait}); err != nil {
			s.agentAnswer(n, e, l, mRefused, 0)
			s.agentClear(e)
			return
		}
		if m.wait {
			s.agentTimer(n, l, atWait, now.Add(2*e.ttl))
		}
		s.flush(n)
	case mKeepalive:
		if e.state != aeHeld || e.key != m.key || e.hold || e.released || now >= e.expiry {
			gone()
			return
		}
		tok, d, ok := n.m.Holding(s.leases[l])
		exp := max(e.expiry, now.Add(e.ttl))
		ms := deadlineMS(min(d, exp), now, n.cfg.MaxDrift)
		if !ok || tok != e.token || ms <= 0 {
			gone()
			return
		}
		e.expiry = exp // the armed timer finds it moved and re-arms
		s.edgeSend(j, edgeMsg{op: mKA, req: mKeepalive, edge: m.edge, lease: m.lease, key: e.key, token: e.token, tenure: e.tenure, ms: ms, sentAt: m.sentAt})
	case mDelete:
		if e.state == aeHeld && e.key == m.key && !e.released {
			s.agentFree(n, l, freeDelete)
		}
	case mHangup:
		if e.state == aeHeld && e.hold && e.key == m.key && !e.streamEnded && !e.released {
			// R15: a broken stream frees the lease only once the last
			// deadline it told has passed.
			e.streamEnded = true
			s.agentTimer(n, l, atTold, e.told)
		}
	}
}

// agentEvent is a protocol event of agent node n for lease l.
func (s *Sim) agentEvent(n *node, l int, ev *protocol.Event) {
	e := &n.agent.entries[l]
	switch ev.Kind {
	case protocol.EventAcquired:
		if e.state != aePending {
			// Nobody asked for it (cannot happen): free it at once.
			_ = n.m.Release(s.local(n), ev.Name, ev.Token)
			n.again = true
			return
		}
		now := s.local(n)
		e.state, e.token, e.tenure = aeHeld, ev.Token, s.chk.tenureOf(l, n.idx)
		e.gen++
		if e.hold {
			ms := deadlineMS(ev.Deadline, e.recv, n.cfg.MaxDrift)
			if ms > 0 {
				e.told = ev.Deadline
			}
			e.lastMS = ms
			s.agentAnswer(n, e, l, mGrant, ms)
			s.agentTimer(n, l, atTick, now.Add(max(e.ttl/4, 10*time.Millisecond)))
			return
		}
		e.expiry = now.Add(e.ttl)
		s.agentAnswer(n, e, l, mGrant, deadlineMS(min(ev.Deadline, e.expiry), e.recv, n.cfg.MaxDrift))
		s.agentTimer(n, l, atExpiry, e.expiry)
	case protocol.EventFailed:
		if e.state == aePending {
			s.agentAnswer(n, e, l, mRefused, 0)
			s.agentClear(e)
		}
	case protocol.EventLost, protocol.EventReleased:
		if e.state == aeHeld && e.token == ev.Token {
			if e.hold && !e.streamEnded {
				s.agentAnswer(n, e, l, mEnded, 0)
			}
			s.agentClear(e)
		}
	}
}

// agentStop is the agent's clean stop (Agent.Close, then node.Leave): it
// refuses what waits, tells each hold stream "stopping" with its last
// deadline, and releases nothing (R15); the node's clean shutdown then
// drops the tenures, which expire at the voters. With the weakening it
// releases them all, as the agent did before R15.
func (s *Sim) agentStop(n *node) {
	now := s.local(n)
	s.traceOp(n, opAgentStop, 0)
	for l := range n.agent.entries {
		e := &n.agent.entries[l]
		switch e.state {
		case aePending:
			n.m.Cancel(now, s.leases[l])
			s.agentAnswer(n, e, l, mRefused, 0)
			s.agentClear(e)
		case aeHeld:
			if e.hold && !e.streamEnded {
				s.agentAnswer(n, e, l, mEnded, e.lastMS)
				e.streamEnded = true
			}
			if s.opts.SimWeaken.releaseOnStop() && !e.released {
				s.agentFree(n, l, freeStop)
			}
		}
	}
	s.flush(n)
}

// agentDown forgets the agent's books when its node goes down: requests
// that wait are refused (the connection breaks), hold streams break.
func (s *Sim) agentDown(n *node) {
	a := n.agent
	for l := range a.entries {
		e := &a.entries[l]
		switch {
		case e.state == aePending:
			s.agentAnswer(n, e, l, mRefused, 0)
		case e.state == aeHeld && e.hold && !e.streamEnded:
			s.agentAnswer(n, e, l, mEnded, e.lastMS)
		}
		s.agentClear(e)
	}
	a.epoch++
}
