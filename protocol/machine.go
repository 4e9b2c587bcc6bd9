package protocol

import (
	"container/heap"
	"fmt"
	"math"
	"time"

	"github.com/tenure-dev/tenure/quorum"
)

// Rand is the machine's only source of randomness (backoff jitter). The
// simulator passes a seeded generator; *math/rand/v2.Rand satisfies it.
type Rand interface {
	// Int64N returns a number in [0, n); n > 0.
	Int64N(n int64) int64
}

// Machine is the lease protocol for one node: the acceptor for its own votes
// (if it is a voter) and the proposer for its own requests, for any number of
// lease names. It is deterministic and does no I/O: every input carries the
// node's local now, and outputs are collected until Ready.
//
// A Machine is not safe for concurrent use: one goroutine owns it.
type Machine struct {
	cfg             Config
	id              Identity // carried by every datagram (R17)
	voters          quorum.Set
	selfIdx         int // -1 when this node is not a voter
	rnd             Rand
	stopped         bool
	tokensExhausted bool // eras ran out (ErrTokensExhausted)
	era             uint32
	round           uint32
	attempts        uint64
	queryID         uint64

	// Acceptor.
	rejectBelow     uint32           // ballots of a lower era are refused (R12)
	quarantineUntil Time             // Prepare, Propose, Release ignored before (R9)
	quarantine      bool             // quarantineUntil applies (a crashed start)
	slots           map[string]*slot // one per lease name in use
	forgotten       Ballot           // highest promise of a slot dropped by GC
	bounds          Bounds           // persisted: what the quarantine must cover (R19)

	// Incarnations (R18).
	boot, nonce uint64                 // this start
	peers       map[string]Incarnation // newest heard from each voter
	verify      *verifier              // non-nil until peers confirm this start
	staleFound  bool                   // the start was found stale
	amnesic     bool                   // this start may have forgotten promises (crash, stale copy)
	freshClaim  bool                   // a StartFresh not yet checked as a voter: a peer past era 1 proves it stale
	peerEra     uint32                 // the highest era floor a HelloReply reported

	// Proposer.
	claims  map[string]*claim // this node's requests and tenures, by name
	queries map[uint64]*query
	dpCache map[time.Duration]time.Duration
	relq    releaseQueue
	// unsettled are failed one-round attempts whose silent voters get a
	// Release only if they accept late (release.go).
	unsettled []unsettledAttempt

	timers timerHeap
	seq    uint64

	counters Counters
	marks    *invariantMarks // nil until CheckInvariants first runs

	rc reconfigState // voter configurations (reconfig_acceptor.go)

	// Outputs.
	out, spare Output
	local      []Envelope // messages to self, handled before Ready
	inLocal    bool
}

// New builds a machine. cfg is validated (defaults filled in). now is the
// node's local clock at start; the quarantine of a crashed start runs from
// it.
func New(cfg Config, start Start, rnd Rand, now Time) (*Machine, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if rnd == nil {
		return nil, fmt.Errorf("%w: nil Rand", ErrConfig)
	}
	voters, _ := quorum.NewSet(cfg.Voters) // checked by Validate
	m := &Machine{
		cfg:     cfg,
		id:      cfg.Identity(),
		boot:    start.Boot,
		peers:   map[string]Incarnation{},
		voters:  voters,
		selfIdx: -1,
		rnd:     rnd,
		slots:   map[string]*slot{},
		claims:  map[string]*claim{},
		queries: map[uint64]*query{},
		dpCache: map[time.Duration]time.Duration{},
	}
	if i, ok := voters.Index(cfg.Self); ok {
		m.selfIdx = i
	}
	// R21: the adopted configuration is durable; it overrides Config.Voters.
	if err := m.startMembership(start, now); err != nil {
		return nil, err
	}
	voters = m.voters
	if m.boot != 0 && m.selfIdx >= 0 {
		// Two starts with one Boot (copies of one data dir) differ here.
		m.nonce = uint64(rnd.Int64N(math.MaxInt64))
	}
	for _, p := range start.Peers {
		if _, ok := voters.Index(p.Name); ok {
			m.peers[p.Name] = p.Incarnation
		}
	}
	// R19: the bounds cover the largest MaxTTL this node ever ran with.
	m.bounds, _ = start.Bounds.raise(Bounds{})
	if b, up := m.bounds.raise(Bounds{MaxTTL: cfg.MaxTTL}); up {
		m.bounds = b
		m.out.PersistBounds = b
	}
	if err := m.applyStart(start, now); err != nil {
		return nil, err
	}
	// Attempt ids must never repeat across incarnations (R20): an answer
	// to an attempt of the previous incarnation must not count for this
	// one, and an acceptor takes a Prepare at its promised ballot as a
	// resend only if it names the promised attempt. Every start draws a
	// fresh random 31-bit tag for the high half; the low half counts. Two
	// incarnations share a tag with probability 2^-31, whatever their eras.
	m.attempts = m.newAttemptTag()
	return m, nil
}

// Config returns the validated configuration.
func (m *Machine) Config() Config { return m.cfg }

// Era is the node's current era floor.
func (m *Machine) Era() uint32 { return m.era }

// Quarantined reports whether the acceptor still ignores requests at now.
func (m *Machine) Quarantined(now Time) bool { return m.quarantine && now < m.quarantineUntil }

// QuarantineUntil is the local instant the quarantine ends (zero if none).
func (m *Machine) QuarantineUntil() Time { return m.quarantineUntil }

// IsVoter reports whether this node is an acceptor.
func (m *Machine) IsVoter() bool { return m.selfIdx >= 0 }

// Ready returns everything produced since the last call and starts a new
// batch. The returned slices stay valid until the next call to Ready.
func (m *Machine) Ready() Output {
	o := m.out
	clear(m.spare.Messages)
	clear(m.spare.Events)
	m.out = Output{Messages: m.spare.Messages[:0], Events: m.spare.Events[:0]}
	m.spare = o
	return o
}

// NextWake is the earliest local instant at which Tick must be called, or
// Never. Calling Tick earlier is harmless; calling it later delays retries,
// renewals and loss reports by as much.
func (m *Machine) NextWake() Time {
	for m.timers.Len() > 0 {
		t := m.timers[0]
		if t.live() {
			return t.at
		}
		heap.Pop(&m.timers)
	}
	return Never
}

// Step handles one message from node from. Messages from unknown voters,
// about malformed names, or that match no attempt are ignored.
func (m *Machine) Step(now Time, from string, msg Message) {
	if m.stopped {
		return
	}
	if t := int(msg.Type()); t < NumMsgTypes {
		m.counters.Received[t]++
	}
	m.step(now, from, msg)
	m.drainLocal(now)
}

func (m *Machine) step(now Time, from string, msg Message) {
	switch msg := msg.(type) {
	case *Prepare:
		m.onPrepare(now, from, msg)
	case *Propose:
		m.onPropose(now, from, msg)
	case *Release:
		m.onRelease(now, from, msg)
	case *Query:
		m.onQuery(now, from, msg)
	case *Promise:
		m.onPromise(now, from, msg)
	case *Reject:
		m.onReject(now, from, msg)
	case *Accepted:
		m.onAccepted(now, from, msg)
	case *QueryReply:
		m.onQueryReply(now, from, msg)
	case *Vacant:
		m.onVacant(now, from, msg)
	case *Hello:
		m.onHello(from, msg)
	case *HelloReply:
		m.onHelloReply(now, from, msg)
	default:
		m.stepConfig(now, from, msg)
	}
}

// Tick lets time pass: retries, renewals, loss at the deadline, backoff and
// garbage collection whose instant has come.
func (m *Machine) Tick(now Time) {
	if m.stopped {
		return
	}
	last := m.seq // timers scheduled by this Tick (a Release after EventLost) wait for the next
	for m.timers.Len() > 0 && m.timers[0].at <= now && m.timers[0].seq <= last {
		t := heap.Pop(&m.timers).(*timer)
		if !t.live() {
			continue
		}
		t.fire(m, now)
	}
	m.drainLocal(now)
}

// send queues msg for node to; messages to self are handled locally.
func (m *Machine) send(to string, msg Message) {
	if to == m.cfg.Self {
		m.local = append(m.local, Envelope{To: to, Msg: msg})
		return
	}
	m.out.Messages = append(m.out.Messages, Envelope{To: to, Msg: msg})
	if t := int(msg.Type()); t < NumMsgTypes {
		m.counters.Sent[t]++
	}
}

// broadcast sends msg to every voter, in the voters' sorted order.
func (m *Machine) broadcast(msg Message) {
	for i := range m.voters.Len() {
		m.send(m.voters.Name(i), msg)
	}
}

func (m *Machine) drainLocal(now Time) {
	if m.inLocal {
		return
	}
	m.inLocal = true
	for i := 0; i < len(m.local); i++ {
		m.step(now, m.cfg.Self, m.local[i].Msg)
	}
	m.local = m.local[:0]
	m.inLocal = false
}

func (m *Machine) emit(e Event) {
	switch e.Kind {
	case EventAcquired:
		m.counters.Acquired++
	case EventLost:
		m.counters.Lost++
	case EventReleased:
		m.counters.Released++
	}
	m.out.Events = append(m.out.Events, e)
}

// schedule asks for fire(m, now) of owner at instant at. A later schedule for
// the same owner replaces the earlier one.
func (m *Machine) schedule(o timerOwner, at Time) {
	tk := o.ticket()
	if tk.t != nil && tk.t.at == at && tk.t.live() {
		return
	}
	if tk.t != nil {
		tk.t.dead = true
	}
	if at == Never {
		tk.t = nil
		return
	}
	m.seq++
	t := &timer{at: at, seq: m.seq, owner: o}
	tk.t = t
	heap.Push(&m.timers, t)
}
