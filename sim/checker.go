package sim

import (
	"fmt"

	"github.com/tenure-dev/tenure/protocol"
)

// The checkers' shared state: every holder's beliefs, the grants and the
// demand, fed by the protocol's events. Each checker lives in a file of its
// own and reports a ViolationKind (violation.go): (a) check_holders.go,
// (b) check_tokens.go, (c) fencing.go, (d) check_liveness.go.

// belief is one holder's view that it holds one lease, judged on its own
// clock: for a node, from its EventAcquired until its Lost or Released
// event, or until its local clock reaches the deadline, whichever is first;
// for an edge client, from the arrival of the grant answer until its own
// clock reaches the deadline it computed, or until it sends DELETE.
type belief struct {
	active   bool
	token    uint64
	tenure   uint32        // which grant (checker.tenures index + 1)
	deadline protocol.Time // local
	start    int64         // true
	estEnd   int64         // true instant the deadline is reached at the current rate
}

// tenureRec is one grant: to which node, with which token, and its place
// in the lease's grant order.
type tenureRec struct {
	node  int32
	lease int32
	order uint32
	token uint64
}

// checker holds the invariant state. Holders are the nodes (0..N-1), then
// the edge clients (N..N+E-1); an edge client's belief carries the tenure
// of the agent node it holds through, and beliefs of one tenure never count
// as two holders.
type checker struct {
	s         *Sim
	b         [][]belief // [lease][holder]
	clk       []*clock   // [holder]
	tenures   []tenureRec
	order     []uint32 // grants so far, per lease
	lastTok   []uint64
	lastNode  []int
	holders   []int // active beliefs per lease, by events
	demand    []int // clients waiting (Wait=true) per lease
	vacant    []int64
	vacGen    []uint32
	heldNs    []int64
	crashAt   []int64
	failovers []int64
	maxConc   int
	grants    uint64
	maxEra    uint32 // the highest era of any token granted (assume.go)
}

func (c *checker) init(s *Sim, holders, leases int) {
	c.s = s
	c.b = make([][]belief, leases)
	for l := range c.b {
		c.b[l] = make([]belief, holders)
	}
	c.clk = make([]*clock, holders)
	c.order = make([]uint32, leases)
	c.lastTok = make([]uint64, leases)
	c.lastNode = make([]int, leases)
	c.holders = make([]int, leases)
	c.demand = make([]int, leases)
	c.vacant = make([]int64, leases)
	c.vacGen = make([]uint32, leases)
	c.heldNs = make([]int64, leases)
	c.crashAt = make([]int64, leases)
	for l := range leases {
		c.vacant[l] = -1
		c.crashAt[l] = -1
		c.lastNode[l] = -1
	}
	c.maxConc = 0
}

// activeNow reports whether holder j's belief in lease l still holds now.
func (c *checker) activeNow(l, j int) bool {
	b := &c.b[l][j]
	return b.active && c.clk[j].local(c.s.now) < b.deadline
}

// believes reports whether holder j holds lease l with token tok now, and
// under which tenure (0 if it does not).
func (c *checker) believes(j, l int, tok uint64) uint32 {
	if c.activeNow(l, j) && c.b[l][j].token == tok {
		return c.b[l][j].tenure
	}
	return 0
}

// newTenure records a grant of lease l to node j and returns its id.
func (c *checker) newTenure(l, j int, tok uint64) uint32 {
	c.order[l]++
	c.tenures = append(c.tenures, tenureRec{node: int32(j), lease: int32(l), order: c.order[l], token: tok})
	return uint32(len(c.tenures))
}

// tenure is the record of tenure id t (t > 0).
func (c *checker) tenure(t uint32) *tenureRec { return &c.tenures[t-1] }

func tokStr(t uint64) string {
	e, r := protocol.TokenBallot(t)
	return fmt.Sprintf("%d.%d", e, r)
}

// acquired: node n's EventAcquired for lease l.
func (c *checker) acquired(n *node, l int, ev *protocol.Event) {
	s := c.s
	c.grants++
	tok, dl, ok := n.m.Holding(s.leases[l])
	if !ok || tok != ev.Token || dl != ev.Deadline {
		s.fail(fmt.Sprintf("%s: EventAcquired %s token %s deadline %d but Holding says %v %s %d", n.name, s.leases[l], tokStr(ev.Token), ev.Deadline, ok, tokStr(tok), dl))
		return
	}
	b := &c.b[l][n.idx]
	if b.active {
		c.close(l, n.idx)
	}
	t := c.newTenure(l, n.idx, ev.Token)
	*b = belief{active: true, token: ev.Token, tenure: t, deadline: ev.Deadline, start: s.now, estEnd: n.clk.trueAt(s.now, ev.Deadline)}
	c.holders[l]++
	if s.tl != nil {
		s.tl.holdStart(l, n.idx, ev.Token, s.now)
	}
	// (b) tokens strictly increase from one tenure to the next.
	if !c.tokenOrder(l, n, ev.Token) {
		return
	}
	if e, _ := protocol.TokenBallot(ev.Token); e > c.maxEra {
		c.maxEra = e
	}
	// (a) at most one believer.
	if !c.others(l, n.idx) {
		return
	}
	if c.crashAt[l] >= 0 {
		c.failovers = append(c.failovers, s.now-c.crashAt[l])
		c.crashAt[l] = -1
	}
	c.vacancy(l)
}

// renewed: the belief moves its deadline.
func (c *checker) renewed(n *node, l int, ev *protocol.Event) {
	s := c.s
	b := &c.b[l][n.idx]
	if !b.active || b.token != ev.Token {
		s.fail(fmt.Sprintf("%s: EventRenewed %s token %s without a tenure", n.name, s.leases[l], tokStr(ev.Token)))
		return
	}
	if s.nodes[n.idx].clk.local(s.now) >= b.deadline {
		// The deadline had passed (a paused node renewed late): the belief
		// starts again here, in the timeline too.
		c.close(l, n.idx)
		*b = belief{active: true, token: ev.Token, tenure: b.tenure, start: s.now}
		c.holders[l]++
		if s.tl != nil {
			s.tl.holdStart(l, n.idx, ev.Token, s.now)
		}
	}
	b.deadline = ev.Deadline
	b.estEnd = n.clk.trueAt(s.now, ev.Deadline)
	if c.others(l, n.idx) {
		c.vacancy(l)
	}
}

// ended: a Lost or Released event.
func (c *checker) ended(n *node, l int, tok uint64) {
	b := &c.b[l][n.idx]
	if b.active && b.token == tok {
		c.close(l, n.idx)
		c.vacancy(l)
	}
}

// close ends node j's belief in lease l, accounting its held time.
func (c *checker) close(l, j int) {
	b := &c.b[l][j]
	if !b.active {
		return
	}
	end := min(c.s.now, b.estEnd)
	if end > b.start && j < len(c.s.nodes) { // an edge client holds through a node
		c.heldNs[l] += end - b.start
	}
	b.active = false
	c.holders[l]--
	if c.s.tl != nil {
		c.s.tl.holdEnd(l, j, end)
	}
}

// nodeDown ends every belief of a node that crashed or shut down. A crash of
// a holder starts a failover measurement.
func (c *checker) nodeDown(n *node, crashed bool) {
	for l := range c.b {
		if !c.b[l][n.idx].active {
			continue
		}
		if crashed && c.activeNow(l, n.idx) && c.crashAt[l] < 0 {
			c.crashAt[l] = c.s.now
		}
		c.close(l, n.idx)
		c.vacancy(l)
	}
}

// rateChanged re-estimates when holder j's active beliefs end.
func (c *checker) rateChanged(j int) {
	clk := c.clk[j]
	for l := range c.b {
		b := &c.b[l][j]
		if b.active && clk.local(c.s.now) < b.deadline {
			b.estEnd = clk.trueAt(c.s.now, b.deadline)
		}
	}
}

// availability is the fraction of the run each lease had a holder,
// averaged over the leases.
func (c *checker) availability() float64 {
	total := c.s.now
	if total <= 0 || len(c.heldNs) == 0 {
		return 0
	}
	var sum float64
	for l := range c.heldNs {
		h := c.heldNs[l]
		for j := range c.s.nodes {
			if b := &c.b[l][j]; b.active {
				if end := min(c.s.now, b.estEnd); end > b.start {
					h += end - b.start
				}
			}
		}
		sum += min(1, float64(h)/float64(total))
	}
	return sum / float64(len(c.heldNs))
}

// onProtocolEvent feeds one event of n's output to the trace, the checker
// and the client.
func (s *Sim) onProtocolEvent(n *node, ev *protocol.Event) {
	l := s.leaseOf(ev.Name)
	if l < 0 {
		return
	}
	r := record{at: s.now, node: uint8(n.idx), peer: noNode, lease: int16(l), a: ev.Token, b: int64(ev.Deadline)}
	switch ev.Kind {
	case protocol.EventAcquired:
		r.kind = trAcquired
		s.tr.add(r)
		s.chk.acquired(n, l, ev)
	case protocol.EventRenewed:
		r.kind = trRenewed
		s.tr.add(r)
		s.chk.renewed(n, l, ev)
	case protocol.EventLost:
		r.kind = trLost
		s.tr.add(r)
		s.chk.ended(n, l, ev.Token)
	case protocol.EventReleased:
		r.kind = trReleased
		s.tr.add(r)
		s.chk.ended(n, l, ev.Token)
	case protocol.EventFailed:
		r.kind = trFailed
		s.tr.add(r)
	default:
		return
	}
	if s.viol != nil {
		return
	}
	if n.agent != nil {
		s.agentEvent(n, l, ev)
		return
	}
	s.clientEvent(n, l, ev)
}
