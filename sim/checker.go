package sim

import (
	"fmt"

	"github.com/tenure-dev/tenure/protocol"
)

// The checkers' shared state: every holder's beliefs, the grants and the
// demand, fed by the protocol's events. Each checker lives in a file of its
// own and reports a ViolationKind (violation.go): (a) check_holders.go,
// (b) check_tokens.go, (c) fencing.go, (d) check_liveness.go; (e)
// check_invariants.go reads each machine's own state instead.

// belief is one holder's view that it holds one lease, judged on its own
// clock: for a node, from its EventAcquired until its Lost or Released
// event, or until its local clock reaches the deadline, whichever is first;
// for an edge client, from the arrival of the grant answer until its own
// clock reaches the deadline it computed, or until it sends DELETE.
type belief struct {
	holder   int32
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
// as two holders. Only active beliefs are kept, per lease and per holder,
// so the state grows with what is held, not with leases × holders (a
// thousand nodes over ten thousand names).
type checker struct {
	s         *Sim
	act       [][]*belief // [lease]: the active beliefs, in holder order
	held      [][]int32   // [holder]: the leases it has an active belief in, ascending
	clk       []*clock    // [holder]
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
	takeAt    []int64 // a tenure ended unreleased while a client waited, -1 if none
	takeovers []int64
	maxConc   int
	grants    uint64
	maxEra    uint32 // the highest era of any token granted (assume.go)
	checks    Checks
}

func (c *checker) init(s *Sim, holders, leases int) {
	c.s = s
	c.act = make([][]*belief, leases)
	c.held = make([][]int32, holders)
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
	c.takeAt = make([]int64, leases)
	for l := range leases {
		c.vacant[l] = -1
		c.crashAt[l] = -1
		c.takeAt[l] = -1
		c.lastNode[l] = -1
	}
	c.maxConc = 0
}

// at is holder j's active belief in lease l, nil if it has none.
func (c *checker) at(l, j int) *belief {
	for _, b := range c.act[l] {
		if int(b.holder) == j {
			return b
		}
	}
	return nil
}

// open makes b holder j's active belief in lease l (it has none) and
// returns it.
func (c *checker) open(l, j int, b belief) *belief {
	nb := &b
	nb.holder, nb.active = int32(j), true
	a := c.act[l]
	i := len(a)
	for i > 0 && int(a[i-1].holder) > j {
		i--
	}
	c.act[l] = append(a[:i], append([]*belief{nb}, a[i:]...)...)
	h := c.held[j]
	k := len(h)
	for k > 0 && int(h[k-1]) > l {
		k--
	}
	c.held[j] = append(h[:k], append([]int32{int32(l)}, h[k:]...)...)
	c.holders[l]++
	return nb
}

// drop removes holder j's belief in lease l from the active sets.
func (c *checker) drop(l, j int) {
	a := c.act[l]
	for i, b := range a {
		if int(b.holder) == j {
			c.act[l] = append(a[:i], a[i+1:]...)
			a[len(a)-1] = nil
			break
		}
	}
	h := c.held[j]
	for k, x := range h {
		if int(x) == l {
			c.held[j] = append(h[:k], h[k+1:]...)
			break
		}
	}
}

// activeNow reports whether holder j's belief in lease l still holds now.
func (c *checker) activeNow(l, j int) bool {
	b := c.at(l, j)
	return b != nil && c.clk[j].local(c.s.now) < b.deadline
}

// believes reports whether holder j holds lease l with token tok now, and
// under which tenure (0 if it does not).
func (c *checker) believes(j, l int, tok uint64) uint32 {
	if b := c.at(l, j); b != nil && c.clk[j].local(c.s.now) < b.deadline && b.token == tok {
		return b.tenure
	}
	return 0
}

// tenureOf is the tenure of holder j's active belief in lease l, 0 if none.
func (c *checker) tenureOf(l, j int) uint32 {
	if b := c.at(l, j); b != nil {
		return b.tenure
	}
	return 0
}

// holdsAny reports whether holder j has an active belief in some lease.
func (c *checker) holdsAny(j int) bool { return len(c.held[j]) > 0 }

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
	c.close(l, n.idx)
	t := c.newTenure(l, n.idx, ev.Token)
	c.open(l, n.idx, belief{token: ev.Token, tenure: t, deadline: ev.Deadline, start: s.now, estEnd: n.clk.trueAt(s.now, ev.Deadline)})
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
	if c.takeAt[l] >= 0 {
		c.takeovers = append(c.takeovers, s.now-c.takeAt[l])
		c.takeAt[l] = -1
	}
	c.vacancy(l)
}

// renewed: the belief moves its deadline.
func (c *checker) renewed(n *node, l int, ev *protocol.Event) {
	s := c.s
	b := c.at(l, n.idx)
	if b == nil || b.token != ev.Token {
		s.fail(fmt.Sprintf("%s: EventRenewed %s token %s without a tenure", n.name, s.leases[l], tokStr(ev.Token)))
		return
	}
	if s.nodes[n.idx].clk.local(s.now) >= b.deadline {
		// The deadline had passed (a paused node renewed late): the belief
		// starts again here, in the timeline too.
		c.close(l, n.idx)
		b = c.open(l, n.idx, belief{token: ev.Token, tenure: b.tenure, start: s.now})
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
	if b := c.at(l, n.idx); b != nil && b.token == tok {
		c.close(l, n.idx)
		c.vacancy(l)
	}
}

// lost: a Lost event. A tenure that ends so (or by a crash or an
// abandon) while another client waits for the lease starts a takeover
// measurement.
func (c *checker) lost(n *node, l int, tok uint64) {
	if b := c.at(l, n.idx); b != nil && b.token == tok {
		c.takeoverStarts(l)
	}
	c.ended(n, l, tok)
}

// takeoverStarts marks the end of a tenure of lease l other than by
// release, if a client waits for it and no measurement is running.
func (c *checker) takeoverStarts(l int) {
	if c.demand[l] > 0 && c.takeAt[l] < 0 {
		c.takeAt[l] = c.s.now
	}
}

// close ends node j's belief in lease l, accounting its held time.
func (c *checker) close(l, j int) {
	b := c.at(l, j)
	if b == nil {
		return
	}
	end := min(c.s.now, b.estEnd)
	if end > b.start && j < len(c.s.nodes) { // an edge client holds through a node
		c.heldNs[l] += end - b.start
	}
	b.active = false
	c.drop(l, j)
	c.holders[l]--
	if c.s.tl != nil {
		c.s.tl.holdEnd(l, j, end)
	}
}

// nodeDown ends every belief of a node that crashed or shut down. A crash of
// a holder starts a failover measurement.
func (c *checker) nodeDown(n *node, crashed bool) {
	for _, l32 := range append([]int32(nil), c.held[n.idx]...) {
		l := int(l32)
		if crashed && c.activeNow(l, n.idx) {
			if c.crashAt[l] < 0 {
				c.crashAt[l] = c.s.now
			}
			c.takeoverStarts(l)
		}
		c.close(l, n.idx)
		c.vacancy(l)
	}
}

// rateChanged re-estimates when holder j's active beliefs end.
func (c *checker) rateChanged(j int) {
	clk := c.clk[j]
	for _, l := range c.held[j] {
		b := c.at(int(l), j)
		if clk.local(c.s.now) < b.deadline {
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
		for _, b := range c.act[l] {
			if int(b.holder) < len(c.s.nodes) {
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
	if ev.Config != nil {
		s.onConfigEvent(n, ev) // reconfig.go
		return
	}
	l := s.leaseOf(ev.Name)
	if l < 0 {
		return
	}
	r := record{at: s.now, node: uint16(n.idx), peer: noNode, lease: int16(l), a: ev.Token, b: int64(ev.Deadline)}
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
		s.chk.lost(n, l, ev.Token)
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
