package sim

import (
	"fmt"
	"time"

	"github.com/tenure-dev/tenure/protocol"
)

// Edge adds tenure agents and their HTTP clients (issue 11): clients on
// hosts of their own, each with its own drifting clock, that hold leases
// through an agent node with keepalives or hold streams, and agents that
// stop and restart under them. Checker (a) judges these clients by their
// own deadlines. The zero value adds nothing.
type Edge struct {
	// Agents is how many nodes run an agent: the last Agents nodes (client
	// nodes first, then voters from the end). An agent node runs no
	// embedded clients of its own.
	Agents int
	// Clients is the number of HTTP clients (e1..eK), spread over the
	// agents in turn.
	Clients int
	// DelayMin and DelayMax bound the one-way delay between a client and
	// its agent (skewed to the low end); with probability Faults.Tail a
	// message is held up to half a TTL instead (a stalled connection).
	DelayMin, DelayMax time.Duration
	// HoldShare is the fraction of tenures kept by a hold stream instead of
	// keepalives.
	HoldShare float64
	// Stops are agent stops (Agent.Close and node.Leave: a clean shutdown
	// of the agent node) per simulated minute; each restarts after a
	// random time. Crashes of agent nodes come from Faults.Crashes.
	Stops float64
}

func (ed *Edge) validate(o *Options) error {
	bad := func(f string, a ...any) error { return fmt.Errorf("%w: "+f, append([]any{ErrOptions}, a...)...) }
	switch {
	case ed.Agents < 0 || ed.Agents > o.Voters+o.Clients:
		return bad("agents %d: want 0..%d (the nodes)", ed.Agents, o.Voters+o.Clients)
	case ed.Clients < 0 || ed.Clients > 0 && ed.Agents == 0:
		return bad("edge clients %d: want 0, or more with at least one agent", ed.Clients)
	case o.Voters+o.Clients+ed.Clients > MaxHolders:
		return bad("%d nodes and %d edge clients: at most %d in all", o.Voters+o.Clients, ed.Clients, MaxHolders)
	case ed.DelayMin < 0 || ed.DelayMax < ed.DelayMin:
		return bad("edge delay %v-%v: want 0 <= min <= max", ed.DelayMin, ed.DelayMax)
	case !prob(ed.HoldShare):
		return bad("hold share %v: want a probability", ed.HoldShare)
	case !(ed.Stops >= 0):
		return bad("agent stops %v: must not be negative", ed.Stops)
	}
	return nil
}

// HTTP messages between clients and agents (edgeMsg.op).
const (
	mAcquire   uint8 = 1 + iota // POST acquire (hold: a stream request)
	mKeepalive                  // POST keepalive
	mDelete                     // DELETE
	mHangup                     // the client closes its hold stream
	mGrant                      // 200 with deadline_ms (or the stream's first event)
	mRefused                    // 409, 503, or no connection
	mKA                         // keepalive 200 with deadline_ms
	mGone                       // 410
	mEvent                      // a hold stream's "renewed" event
	mEnded                      // a hold stream's last event (stopping, lost, released) or its break
)

var mNames = [...]string{"", "acquire", "keepalive", "DELETE", "hangs up", "grant", "refused", "keepalive ok", "gone (410)", "stream event", "stream ended"}

// edgeMsg is one HTTP message in flight, kept in a slab (edgeWorld.msgs)
// so that events stay pointer-free.
type edgeMsg struct {
	op     uint8
	req    uint8 // for an answer: the op of the request it answers
	hold   bool
	wait   bool
	edge   int32 // the client's number
	lease  int32
	epoch  uint32
	tenure uint32
	key    uint64
	token  uint64
	ms     int64
	ttl    time.Duration // of the tenure granted
	sentAt protocol.Time // the client's send time, on its clock
}

// edgeWorld holds the clients and the messages in flight.
type edgeWorld struct {
	clients []*edgeClient
	msgs    []edgeMsg
	freeH   []int32
	nextKey uint64
}

func (w *edgeWorld) alloc(m edgeMsg) int32 {
	if k := len(w.freeH); k > 0 {
		h := w.freeH[k-1]
		w.freeH = w.freeH[:k-1]
		w.msgs[h] = m
		return h
	}
	w.msgs = append(w.msgs, m)
	return int32(len(w.msgs) - 1)
}

// take returns message h and frees its slot.
func (w *edgeWorld) take(h int32) edgeMsg {
	w.freeH = append(w.freeH, h)
	return w.msgs[h]
}

// edgeClient is one HTTP client: on its own host, with its own clock.
type edgeClient struct {
	k     int
	name  string
	agent int // node index
	clk   clock

	state     uint8 // ecIdle, ecAcquiring, ecHolding
	gen       uint32
	lease     int
	hold      bool
	stopping  bool // renews no more (it let go, or was told the tenure is over)
	untilLost bool
	kaOut     bool
	key       uint64
	token     uint64
	tenure    uint32
	ttl       time.Duration
	sentAt    protocol.Time // of the acquire (stream) request
	deadline  protocol.Time // its own deadline, on its clock
}

const (
	ecIdle = iota
	ecAcquiring
	ecHolding
)

// Client timers (evEdgeTimer, u).
const (
	ctThink     = 1 + iota // acquire again
	ctKeepalive            // send a keepalive
	ctWrite                // a fenced write
	ctEnd                  // end the tenure
	ctDeadline             // the client's own deadline
)

// edgeHolder is the checker's holder index of client k.
func (s *Sim) edgeHolder(k int) int { return len(s.nodes) + k }

// holderName names holder j: a node or an edge client.
func (s *Sim) holderName(j int) string {
	if j < len(s.nodes) {
		return s.nodes[j].name
	}
	if k := j - len(s.nodes); k < len(s.edge.clients) {
		return s.edge.clients[k].name
	}
	return "-"
}

// setupEdge makes the agents and the clients.
func (s *Sim) setupEdge() {
	ed := &s.opts.Edge
	if ed.Agents == 0 {
		return
	}
	for i := len(s.nodes) - ed.Agents; i < len(s.nodes); i++ {
		s.nodes[i].agent = &agent{entries: make([]agentEntry, len(s.leases))}
	}
	for k := range ed.Clients {
		c := &edgeClient{k: k, name: fmt.Sprintf("e%d", k+1), agent: len(s.nodes) - ed.Agents + k%ed.Agents}
		c.clk = clock{l0: int64(time.Second) + s.rnd.Int64N(int64(time.Hour)), rate: s.randRate()}
		s.edge.clients = append(s.edge.clients, c)
	}
}

// startEdge schedules the clients' first acquires and clock changes.
func (s *Sim) startEdge() {
	for _, c := range s.edge.clients {
		j := s.edgeHolder(c.k)
		s.push(event{at: s.expDelay(5 * time.Second), kind: evRate, node: int32(j)})
		if s.opts.Workload {
			s.edgeTimer(c, ctThink, c.clk.local(s.now).Add(time.Duration(s.expDelay(s.opts.Think))))
		}
	}
}

// edgeDelay draws one client-agent delay.
func (s *Sim) edgeDelay() int64 {
	ed := &s.opts.Edge
	if t := s.opts.Faults.Tail; t > 0 && s.rnd.Float64() < t {
		return s.uniform(ed.DelayMax, max(ed.DelayMax, s.opts.TTL/2))
	}
	u := s.rnd.Float64()
	return int64(ed.DelayMin) + int64(u*u*u*float64(ed.DelayMax-ed.DelayMin))
}

// edgeSend puts m on its way to holder j (a client) or, with to < the
// number of nodes, to an agent node.
func (s *Sim) edgeSend(to int, m edgeMsg) {
	s.push(event{at: s.now + s.edgeDelay(), kind: evEdge, node: int32(to), buf: s.edge.alloc(m)})
}

// edgeSendFIFO sends m on a connection whose last message arrives at
// after: it arrives no earlier (TCP keeps order). It returns its arrival.
func (s *Sim) edgeSendFIFO(to int, m edgeMsg, after int64) int64 {
	at := max(s.now+s.edgeDelay(), after)
	s.push(event{at: at, kind: evEdge, node: int32(to), buf: s.edge.alloc(m)})
	return at
}

// edgeTimer schedules client timer kind at local instant at of c's clock.
func (s *Sim) edgeTimer(c *edgeClient, kind uint64, at protocol.Time) {
	s.push(event{at: c.clk.trueAt(s.now, at), kind: evEdgeTimer, node: int32(s.edgeHolder(c.k)), act: kind, gen: c.gen})
}

// onEdge delivers an HTTP message: to an agent node or to a client.
func (s *Sim) onEdge(ev *event) {
	if int(ev.node) < len(s.nodes) {
		n := s.nodes[ev.node]
		if n.paused && !n.down { // requests wait in the paused process's socket
			ev.at = n.pauseUntil
			s.push(*ev)
			return
		}
		s.agentRequest(n, s.edge.take(ev.buf))
		return
	}
	s.stats.events++
	s.clientMsg(s.edge.clients[int(ev.node)-len(s.nodes)], s.edge.take(ev.buf))
}

func (s *Sim) onEdgeTimer(ev *event) {
	c := s.edge.clients[int(ev.node)-len(s.nodes)]
	if ev.gen != c.gen {
		return
	}
	s.stats.events++
	s.clientTimer(c, ev.act)
}

// send is a request of client c to its agent, stamped with its send time.
func (s *Sim) clientSend(c *edgeClient, m edgeMsg) protocol.Time {
	now := c.clk.local(s.now)
	m.edge, m.sentAt = int32(c.k), now
	s.tr.add(record{at: s.now, kind: trEdgeSend, node: uint16(s.edgeHolder(c.k)), peer: uint16(c.agent), lease: int16(m.lease), a: uint64(m.op), b: int64(m.token)})
	s.edgeSend(c.agent, m)
	return now
}

func (s *Sim) clientTimer(c *edgeClient, kind uint64) {
	now := c.clk.local(s.now)
	o := &s.opts
	switch kind {
	case ctThink:
		if c.state != ecIdle {
			return
		}
		c.state, c.lease = ecAcquiring, s.rnd.IntN(len(s.leases))
		c.hold = s.rnd.Float64() < o.Edge.HoldShare
		c.stopping, c.untilLost, c.kaOut = false, false, false
		c.gen++
		c.sentAt = s.clientSend(c, edgeMsg{op: mAcquire, lease: int32(c.lease), hold: c.hold, wait: s.rnd.Float64() >= o.TryShare})
	case ctKeepalive:
		if c.state != ecHolding || c.hold || c.stopping {
			return
		}
		if !c.kaOut {
			c.kaOut = true
			s.clientSend(c, edgeMsg{op: mKeepalive, lease: int32(c.lease), key: c.key, token: c.token})
		}
		s.edgeTimer(c, ctKeepalive, now.Add(c.ttl/3))
	case ctWrite:
		if c.state == ecHolding && now < c.deadline {
			s.sendWrite(s.edgeHolder(c.k), c.lease, c.token)
			s.edgeTimer(c, ctWrite, now.Add(time.Duration(s.expDelay(o.WriteEvery))))
		}
	case ctEnd:
		if c.state != ecHolding || c.untilLost {
			return
		}
		r := s.rnd.Float64()
		switch {
		case r < 0.7:
			// DELETE: the client stops acting first, then asks.
			s.chk.edgeEnd(s.edgeHolder(c.k), c.lease)
			s.clientSend(c, edgeMsg{op: mDelete, lease: int32(c.lease), key: c.key, token: c.token})
			s.edgeIdle(c)
		case c.hold:
			// It closes the stream (or the network breaks it): it may act
			// until the last deadline it was told.
			c.stopping = true
			s.clientSend(c, edgeMsg{op: mHangup, lease: int32(c.lease), key: c.key, token: c.token})
		case r < 0.85:
			c.stopping = true // no more keepalives: the agent frees it at the expiry
		default:
			c.untilLost = true // keepalives go on until one fails
		}
	case ctDeadline:
		if c.state != ecHolding {
			return
		}
		if now < c.deadline {
			s.edgeTimer(c, ctDeadline, c.deadline)
			return
		}
		if c.hold && !c.stopping { // done with it: close the stream
			s.clientSend(c, edgeMsg{op: mHangup, lease: int32(c.lease), key: c.key, token: c.token})
		}
		s.chk.edgeEnd(s.edgeHolder(c.k), c.lease)
		s.edgeIdle(c)
	}
}

// edgeIdle puts c back to idle; it acquires again after a think time.
func (s *Sim) edgeIdle(c *edgeClient) {
	c.state = ecIdle
	c.gen++
	if s.opts.Workload {
		s.edgeTimer(c, ctThink, c.clk.local(s.now).Add(time.Duration(s.expDelay(s.opts.Think))))
	}
}

// clientMsg handles an answer or a stream event arriving at client c.
func (s *Sim) clientMsg(c *edgeClient, m edgeMsg) {
	j := s.edgeHolder(c.k)
	now := c.clk.local(s.now)
	s.tr.add(record{at: s.now, kind: trEdgeRecv, node: uint16(j), peer: uint16(c.agent), lease: int16(m.lease), a: uint64(m.op), b: m.ms})
	if c.state == ecIdle || int(m.lease) != c.lease {
		return // an answer for a tenure the client gave up
	}
	// R16: a deadline counts from the client's send time of the request it
	// answers (a stream's events: the stream request), on its own clock.
	base := m.sentAt
	if m.op == mGrant || m.op == mEvent || m.op == mEnded {
		base = c.sentAt
	}
	if s.opts.SimWeaken.fromArrival() {
		base = now
	}
	switch m.op {
	case mRefused:
		switch {
		case m.req == mAcquire && c.state == ecAcquiring:
			s.edgeIdle(c)
		case m.req == mKeepalive && c.state == ecHolding && m.key == c.key:
			c.kaOut = false // no answer: try again at the next tick
		}
	case mGrant:
		if c.state != ecAcquiring {
			return
		}
		c.state, c.key, c.token, c.tenure, c.ttl = ecHolding, m.key, m.token, m.tenure, m.ttl
		c.gen++
		if m.ms <= 0 {
			// Nothing left to act on: the agent frees it at the expiry, or
			// once the stream is closed.
			if c.hold {
				s.clientSend(c, edgeMsg{op: mHangup, lease: int32(c.lease), key: c.key, token: c.token})
			}
			s.edgeIdle(c)
			return
		}
		c.deadline = base.Add(time.Duration(m.ms) * time.Millisecond)
		s.chk.edgeHold(j, c.lease, c.token, c.tenure, c.deadline)
		s.edgeTimer(c, ctWrite, now.Add(time.Duration(s.expDelay(s.opts.WriteEvery))))
		s.edgeTimer(c, ctEnd, now.Add(time.Duration(s.expDelay(s.opts.Hold))))
		s.edgeTimer(c, ctDeadline, c.deadline)
		if !c.hold {
			s.edgeTimer(c, ctKeepalive, now.Add(c.ttl/3))
		}
	case mKA, mEvent:
		if c.state != ecHolding || m.key != c.key {
			return
		}
		if m.op == mKA {
			c.kaOut = false
		}
		if m.ms <= 0 {
			return
		}
		if d := base.Add(time.Duration(m.ms) * time.Millisecond); d > c.deadline {
			c.deadline = d
			s.chk.edgeHold(j, c.lease, c.token, c.tenure, d)
		}
	case mGone, mEnded:
		// The tenure is over for the agent: the client renews no more and
		// keeps acting until its own deadline (a strict client).
		if c.state == ecHolding && m.key == c.key {
			c.kaOut = false
			c.stopping = true
		}
	}
}

// edgeHold starts or extends holder j's belief in lease l under tenure
// until dl on its clock, and checks (a) there.
func (c *checker) edgeHold(j, l int, tok uint64, tenure uint32, dl protocol.Time) {
	s := c.s
	b := c.at(l, j)
	now := c.clk[j].local(s.now)
	if b != nil && now < b.deadline && b.tenure == tenure {
		b.deadline = dl
		b.estEnd = c.clk[j].trueAt(s.now, dl)
		c.others(l, j)
		return
	}
	c.close(l, j)
	if dl <= now {
		return
	}
	c.open(l, j, belief{token: tok, tenure: tenure, deadline: dl, start: s.now, estEnd: c.clk[j].trueAt(s.now, dl)})
	if s.tl != nil {
		s.tl.holdStart(l, j, tok, s.now)
	}
	if c.others(l, j) {
		c.vacancy(l)
	}
}

// edgeEnd ends holder j's belief in lease l (its DELETE, or its deadline).
func (c *checker) edgeEnd(j, l int) {
	if c.at(l, j) != nil {
		c.close(l, j)
		c.vacancy(l)
	}
}

// randomAgentStop stops one running agent cleanly, preferring one whose
// clients hold leases; it restarts after a random time. The limit of the
// restore model (assume.go) may hold some agents back.
func (s *Sim) randomAgentStop() {
	var up, busy []int
	for _, n := range s.nodes {
		if n.agent == nil || n.down || n.paused {
			continue
		}
		if s.guardLimited() && !s.allows(&hypo{away: []int{n.idx}}) {
			s.heldBack()
			continue
		}
		up = append(up, n.idx)
		for l := range n.agent.entries {
			if n.agent.entries[l].state == aeHeld {
				busy = append(busy, n.idx)
				break
			}
		}
	}
	if len(busy) > 0 && s.rnd.IntN(4) > 0 {
		up = busy
	}
	if len(up) == 0 {
		return
	}
	s.shutdown(s.nodes[up[s.rnd.IntN(len(up))]], s.faultLength())
}
