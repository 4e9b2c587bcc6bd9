package sim

import (
	"fmt"
	"io"
	"math/rand/v2"
	"time"

	"github.com/tenure-dev/tenure/protocol"
)

// Sim is one simulated cluster. It is single-threaded and deterministic:
// everything it does follows from its Options (Seed included). Build it with
// New, then either Run it (random workload and faults) or drive it by hand
// (Acquire, Crash, Partition, Advance, ...) as the property tests do.
type Sim struct {
	opts    Options
	rnd     *rand.Rand
	now     int64 // true time, ns
	seq     uint64
	q       eventHeap
	nodes   []*node
	byName  map[string]int
	leases  []string
	leaseIx map[string]int
	enc     *protocol.Encoder
	dec     *protocol.Decoder
	tr      *tracer

	net   network
	chk   checker
	res   resource
	edge  edgeWorld
	stats stats
	tl    *timelineRec

	lowered bool          // the operator lowered MaxTTL (operator.go)
	mixed   bool          // nodes run different voter lists (identity.go)
	ops     OperatorStats // what the operator did and was held back from
	// proposedEra is the highest era of any Propose sent while restores
	// or wipes run (assume.go): a ballot accepted by a majority is a
	// token before its proposer hears it.
	proposedEra uint32
	rcw         reconfigWorld // voter changes (reconfig.go)

	quiet   bool  // faults have stopped
	quietAt int64 // when they stop (Run only)
	end     int64 // when Run stops
	bound   time.Duration
	viol    *Violation
}

// New builds a cluster: voters n1..nV and client nodes c1..cC, all started
// fresh at random clock offsets, and (with Options.Workload) the clients,
// the fault generators and the quiet phase scheduled. trace, if not nil,
// receives the text trace, one line per record: slow, for reading a short
// run; the digest covers the same records either way.
func New(opts Options, trace io.Writer) (*Sim, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	s := &Sim{
		opts:    opts,
		rnd:     rand.New(rand.NewPCG(opts.Seed, opts.Seed^0x9e3779b97f4a7c15)),
		byName:  map[string]int{},
		leaseIx: map[string]int{},
		enc:     protocol.NewEncoder(),
		dec:     protocol.NewDecoder(),
		bound:   opts.LivenessBound(),
	}
	s.tr = newTracer(s, trace)
	if opts.RecordTimeline {
		s.tl = &timelineRec{}
		s.tl.init()
	}
	var voters []string
	for i := range opts.Voters {
		voters = append(voters, fmt.Sprintf("n%d", i+1))
	}
	names := append([]string(nil), voters...)
	for i := range opts.Clients {
		names = append(names, fmt.Sprintf("c%d", i+1))
	}
	for i := range opts.Leases {
		name := opts.leaseName(i) // L1..Ln, or a cell's names (cells.go)
		s.leases = append(s.leases, name)
		s.leaseIx[name] = i
	}
	s.net.init(s, len(names))
	s.stats.toVoter = make([]uint64, opts.Voters)
	s.stats.dgToVoter = make([]uint64, opts.Voters)
	s.chk.init(s, len(names)+opts.Edge.Clients, opts.Leases)
	s.res.init(opts.Leases)
	for i, name := range names {
		cfg, err := opts.protocolConfig(name, opts.voterList(i, voters))
		if err != nil {
			return nil, err
		}
		n := &node{idx: i, name: name, voter: i < opts.Voters, cfg: cfg}
		// Offsets keep every local instant positive and far from any other
		// node's: instants of two nodes are never comparable.
		n.clk = clock{l0: int64(time.Second) + s.rnd.Int64N(int64(time.Hour)), rate: s.randRate()}
		n.clients = opts.newClients()
		s.byName[name] = i
		s.nodes = append(s.nodes, n)
		s.chk.clk[i] = &n.clk
	}
	s.setupEdge()
	for _, c := range s.edge.clients {
		s.chk.clk[s.edgeHolder(c.k)] = &c.clk
	}
	if err := s.setupOperator(); err != nil {
		return nil, err
	}
	for _, n := range s.nodes {
		if s.refusesStart(n) {
			s.refuseStart(n)
			continue
		}
		if err := s.startNode(n, s.firstStart(n)); err != nil {
			return nil, err
		}
	}
	for _, n := range s.nodes {
		s.push(event{at: s.expDelay(5 * time.Second), kind: evRate, node: int32(n.idx)})
	}
	if opts.Workload {
		s.quietAt = int64(opts.Duration)
		s.end = s.quietAt + int64(opts.quietLength())
		for _, n := range s.nodes {
			if n.agent != nil {
				continue
			}
			for k := range n.clients {
				s.clientSchedule(n, k, actStart, s.expDelay(opts.Think))
			}
		}
		for k := range faultKinds {
			s.scheduleFault(k + 1)
		}
		s.push(event{at: s.quietAt, kind: evQuiet})
	}
	s.startEdge()
	return s, nil
}

// push schedules e, stamping its sequence number.
func (s *Sim) push(e event) {
	s.seq++
	e.seq = s.seq
	s.q.push(e)
}

// runUntil handles events up to and including true instant t, or until a
// violation.
func (s *Sim) runUntil(t int64) {
	for len(s.q) > 0 && s.viol == nil && s.q[0].at <= t {
		e := s.q.pop()
		s.now = e.at
		s.dispatch(&e)
	}
	if s.viol == nil && t > s.now {
		s.now = t
	}
}

func (s *Sim) dispatch(e *event) {
	switch e.kind {
	case evDeliver:
		s.onDeliver(e)
	case evWake:
		s.onWake(e)
	case evClient:
		s.onClient(e)
	case evWrite:
		s.stats.events++
		s.res.arrive(s, e)
	case evFault:
		s.onFault(e)
	case evHeal:
		s.stats.events++
		s.net.heal(int(e.aux))
	case evRestart:
		n := s.nodes[e.node]
		if n.down && e.gen == n.inc {
			s.stats.events++
			s.restart(n)
		}
	case evUnpause:
		n := s.nodes[e.node]
		if n.paused && e.gen == n.pauseGen {
			s.stats.events++
			s.unpause(n)
		}
	case evRate:
		s.stats.events++
		s.onRate(e)
	case evQuiet:
		s.stats.events++
		s.stopFaults()
	case evLiveness:
		s.chk.livenessDue(int(e.aux), e.gen)
	case evOp:
		s.onOp(e)
	case evEdge:
		s.onEdge(e)
	case evEdgeTimer:
		s.onEdgeTimer(e)
	case evAgent:
		s.onAgentTimer(e)
	}
}

// randRate draws a clock rate within the real drift bound. Clocks spend
// most of their time at one of the two extremes, where containment (R8) is
// tightest: an adversary that only ever sat near 1 would hide a wrong ε.
func (s *Sim) randRate() float64 {
	d := s.opts.Drift
	switch s.rnd.IntN(5) {
	case 0, 1:
		return 1 - d
	case 2, 3:
		return 1 + d
	}
	return 1 + d*(2*s.rnd.Float64()-1)
}

func (s *Sim) onRate(e *event) {
	j := int(e.node)
	r := s.randRate()
	s.chk.clk[j].setRate(s.now, r)
	s.tr.add(record{at: s.now, kind: trRate, node: uint16(j), lease: -1, b: int64((r - 1) * 1e9)})
	if j < len(s.nodes) {
		if n := s.nodes[j]; !n.down && !n.paused {
			s.scheduleWake(n)
		}
	}
	s.chk.rateChanged(j)
	// Clocks keep wandering in the quiet phase: drift is not a fault.
	s.push(event{at: s.now + s.expDelay(5*time.Second), kind: evRate, node: e.node})
}

// expDelay is an exponentially distributed duration with the given mean,
// at least one nanosecond.
func (s *Sim) expDelay(mean time.Duration) int64 {
	return max(1, int64(s.rnd.ExpFloat64()*float64(mean)))
}

// uniform is a duration uniform in [lo, hi].
func (s *Sim) uniform(lo, hi time.Duration) int64 {
	if hi <= lo {
		return int64(lo)
	}
	return int64(lo) + s.rnd.Int64N(int64(hi-lo)+1)
}

// stopFaults starts the quiet phase: every partition heals, every down node
// restarts, every paused node wakes, and datagrams are no longer lost.
func (s *Sim) stopFaults() {
	s.quiet = true
	s.tr.add(record{at: s.now, kind: trQuiet, node: noNode, lease: -1})
	s.net.healAll()
	for _, n := range s.nodes {
		switch {
		case n.down:
			s.restart(n)
		case n.paused:
			s.unpause(n)
		}
	}
	if s.mixed {
		s.grantable()
	}
	s.chk.quietStarts()
}
