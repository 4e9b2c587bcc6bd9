package protocol

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/tenure-dev/tenure/quorum"
)

// Changing the voters online (R21-R25). A change from voters A to B goes
// through the joint configuration: epoch e+1 = joint(A, B), chosen by the
// Paxos slot of epoch e+1 among A's voters; once a majority of A has
// adopted it (the change's first step is closed) and the wait W has run
// out, epoch e+2 = B, chosen among the joint configuration's voters. The
// reconfigurer below drives these steps for one node: the one a user asked
// (Reconfigure), or a voter that found a change unfinished (finisher).

// AnyEpoch as ReconfigureRequest.FromEpoch skips the check-and-set.
const AnyEpoch = math.MaxUint64

// ReconfigureRequest asks the machine to change the cluster's voters.
type ReconfigureRequest struct {
	// Voters is the voter set wanted (any order; no duplicates).
	Voters []string
	// FromEpoch is the epoch of the configuration the request was
	// planned from (Machine.Membership): if the adopted epoch differs the
	// request fails with ErrConfigChanged; AnyEpoch skips the check.
	FromEpoch uint64
}

// Errors of reconfiguration.
var (
	// ErrConfigChanged means the configuration is not the one the request
	// was planned from: another change came first (it may have won the
	// slot this request competed for). Read Membership and plan again.
	ErrConfigChanged = errors.New("protocol: voter configuration changed meanwhile")
	// ErrReconfiguring means this node already drives a change.
	ErrReconfiguring = errors.New("protocol: a voter change is already under way on this node")
)

// reconfigureStageLimit is how many RetryIntervals one step of a change
// (a Paxos phase, or the closing of the joint configuration) may take
// before the change gives up with ErrNoQuorum. The configuration stays
// consistent: a later request or a voter's finisher completes it.
const reconfigureStageLimit = 100

type rcStage int

const (
	rcPrepare rcStage = 1 + iota // phase one of the slot
	rcPropose                    // phase two of the slot
	rcClose                      // Install of the joint configuration to a majority of the old voters
	rcWait                       // the wait W before leaving the joint configuration
	rcBackoff                    // a lost round: phase one again after a backoff
	rcProbe                      // a majority of the wanted voters must answer first
)

// reconfigurer is one change this node drives.
type reconfigurer struct {
	target   []string // the voters wanted; nil for a finisher until it knows
	base     uint64   // the epoch the change started from
	user     bool     // report the outcome (EventReconfigured)
	finisher bool     // started by the finisher, not by a request
	other    bool     // the slot held another change: it was finished, the request fails

	stage   rcStage
	epoch   uint64 // the adopted epoch the stage works from
	ballot  Ballot
	attempt uint64
	votes   quorum.Votes
	seen    Ballot
	bestB   Ballot
	bestV   *Membership
	value   Membership
	era     uint32        // the highest era floor a voter reported
	bounds  Bounds        // the highest bounds a voter reported
	longest time.Duration // the longest exclusion a closing voter reported

	closed    uint64 // the joint epoch seen closed
	probed    bool   // a majority of the wanted voters answered
	want      quorum.Set
	waitUntil Time
	sentAt    Time
	resends   int
	giveUp    Time
	retryAt   Time
	tk        ticket
}

func (r *reconfigurer) ticket() *ticket { return &r.tk }

// Reconfigure starts a change of the voters to req.Voters. Its outcome
// comes as EventReconfigured: Config is the configuration adopted, and Err
// nil once req.Voters is the configuration, ErrConfigChanged if another
// change came first, ErrNoQuorum if a step found no quorum in time (the
// configuration is consistent then: the change may be finished by a later
// request or, if it had begun, by the voters themselves). It fails at once
// for a malformed voter list (ErrMembership), a stale FromEpoch
// (ErrConfigChanged) and when this node already drives a change
// (ErrReconfiguring).
func (m *Machine) Reconfigure(now Time, req ReconfigureRequest) error {
	if m.stopped {
		return ErrStopped
	}
	target, err := NewVoters(req.Voters)
	if err != nil {
		return err
	}
	for _, v := range target {
		if v == "" || len(v) > MaxNodeNameLen {
			return fmt.Errorf("%w: voter name %q", ErrMembership, v)
		}
	}
	cur := m.rc.mem
	if req.FromEpoch != AnyEpoch && req.FromEpoch != cur.Epoch {
		return fmt.Errorf("%w: planned from epoch %d, adopted is %s", ErrConfigChanged, req.FromEpoch, cur)
	}
	if r := m.rc.run; r != nil && !r.finisher {
		return ErrReconfiguring
	}
	if cur.Joint() && !slices.Equal(cur.Next, target) {
		return fmt.Errorf("%w: a change to %v is under way (%s)", ErrConfigChanged, cur.Next, cur)
	}
	if m.rc.run != nil { // a finisher: the request takes over its work
		m.schedule(m.rc.run, Never)
	}
	m.rc.run = &reconfigurer{target: target, base: cur.Epoch, user: true}
	m.schedule(&m.rc.fin, Never)
	m.rcAdvance(now)
	m.drainLocal(now)
	return nil
}

// rcAdvance decides the next step of the change from the adopted
// configuration.
func (m *Machine) rcAdvance(now Time) {
	r := m.rc.run
	if r == nil {
		return
	}
	cur := m.rc.mem
	switch {
	case r.target != nil && !cur.Joint() && slices.Equal(cur.Voters, r.target):
		var err error
		if r.other {
			err = ErrConfigChanged
		}
		m.rcFinish(now, err)
	case r.other:
		m.rcFinish(now, ErrConfigChanged)
	case cur.Joint() && r.target != nil && !slices.Equal(cur.Next, r.target):
		m.rcFinish(now, ErrConfigChanged)
	case cur.Joint():
		r.target = cur.Next
		switch {
		case r.closed != cur.Epoch:
			m.rcStartClose(now)
		case now < r.waitUntil:
			r.stage = rcWait
			m.schedule(r, r.waitUntil)
		default:
			r.value = Membership{Epoch: cur.Epoch + 1, Voters: cur.Next}
			m.rcStartPrepare(now)
		}
	case r.finisher:
		if cur.Epoch != r.base {
			m.rcFinish(now, nil) // something was adopted meanwhile
			return
		}
		r.value = Membership{} // recover the slot's value, if any
		m.rcStartPrepare(now)
	case cur.Epoch != r.base:
		m.rcFinish(now, ErrConfigChanged)
	case !r.probed:
		m.rcStartProbe(now)
	default:
		// The joint configuration keeps the MinEra of the one it leaves
		// (R24): its new voters never saw the names held before.
		r.value = Membership{Epoch: cur.Epoch + 1, Voters: cur.Voters, Next: r.target, MinEra: cur.MinEra}
		m.rcStartPrepare(now)
	}
}

// rcStartProbe asks every wanted voter to adopt the current configuration
// (Install) and waits for a majority of them to answer: the joint
// configuration needs that majority for every grant, so a change to
// voters that are not running fails with ErrNoQuorum before anything
// changed, instead of leaving a joint configuration that grants nothing.
func (m *Machine) rcStartProbe(now Time) {
	r := m.rc.run
	r.want, _ = quorum.NewSet(r.target) // checked by NewVoters
	m.rcStageStart(now, r, rcProbe)
	for _, n := range r.target {
		m.send(n, &Install{Config: m.rc.mem.Clone()})
	}
}

// rcFinish ends the change and reports it.
func (m *Machine) rcFinish(now Time, err error) {
	r := m.rc.run
	m.rc.run = nil
	m.schedule(r, Never)
	if r.user {
		c := m.rc.mem.Clone()
		m.emit(Event{Kind: EventReconfigured, Config: &c, Err: err})
	}
	m.scheduleFinisher(now)
}

func (m *Machine) rcStageStart(now Time, r *reconfigurer, st rcStage) {
	r.stage = st
	r.epoch = m.rc.mem.Epoch
	r.votes.Reset()
	r.sentAt = now
	r.resends = 0
	r.giveUp = now.Add(reconfigureStageLimit * m.cfg.RetryInterval)
	m.schedule(r, m.rcNextTimer(r))
}

// rcStartPrepare sends phase one of the slot of the next epoch to every
// voter of the adopted configuration (R22). The proposer learns from it
// what the slot may already hold, the voters' era floors (MinEra, R24) and
// their bounds.
func (m *Machine) rcStartPrepare(now Time) {
	r := m.rc.run
	b, ok := m.nextBallot(r.seen)
	if !ok {
		m.rcFinish(now, ErrTokensExhausted)
		return
	}
	r.ballot, r.attempt = b, m.nextAttempt()
	r.bestB, r.bestV, r.era, r.bounds = Ballot{}, nil, 0, Bounds{}
	m.rcStageStart(now, r, rcPrepare)
	if m.cfg.Weaken.has(WeakNoConfigPrepare) && r.value.Epoch != 0 {
		// The weakening: propose the value planned from the local view,
		// without asking the slot what it may already hold.
		r.era = m.era
		m.rcStartPropose(now)
		return
	}
	m.broadcast(&CfgPrepare{Slot: r.epoch + 1, Ballot: b, Attempt: r.attempt})
}

func (m *Machine) onCfgPromise(now Time, from string, p *CfgPromise) {
	r := m.rc.run
	if r == nil || r.stage != rcPrepare || p.Attempt != r.attempt || p.Slot != r.epoch+1 {
		return
	}
	idx, ok := m.voters.Index(from)
	if !ok || r.votes.Voted(idx) {
		return
	}
	if p.Value != nil && (r.bestV == nil || p.Accepted.Cmp(r.bestB) > 0) {
		v := p.Value.Clone()
		r.bestB, r.bestV = p.Accepted, &v
	}
	r.era = max(r.era, p.Era)
	r.bounds, _ = r.bounds.raise(p.Bounds)
	r.votes.Yes(idx)
	if m.decide(r.votes) == quorum.Won {
		m.rcStartPropose(now)
	}
}

func (m *Machine) onCfgReject(now Time, from string, p *CfgReject) {
	r := m.rc.run
	if r == nil || p.Attempt != r.attempt || p.Slot != r.epoch+1 || (r.stage != rcPrepare && r.stage != rcPropose) {
		return
	}
	if p.Promised.Cmp(r.seen) > 0 {
		r.seen = p.Promised
	}
	idx, ok := m.voters.Index(from)
	if !ok {
		return
	}
	r.votes.No(idx)
	if m.decide(r.votes) == quorum.Lost {
		// Another proposer holds the slot: back off, then phase one again
		// (which finds what it may have accepted).
		r.stage = rcBackoff
		r.retryAt = now.Add(m.jitter(4 * m.cfg.RetryInterval))
		m.schedule(r, r.retryAt)
	}
}

// rcStartPropose sends phase two: the value a voter already accepted at
// the highest ballot, if any (Paxos), else the planned one.
func (m *Machine) rcStartPropose(now Time) {
	r := m.rc.run
	cur := m.rc.mem
	v := r.value
	switch {
	case r.bestV != nil:
		if r.target != nil && !slices.Equal(r.bestV.Target(), r.target) {
			r.other = true // another change won the slot: finish it, then fail
		}
		v = *r.bestV
	case v.Epoch == 0:
		m.rcFinish(now, nil) // a finisher found nothing to recover
		return
	case cur.Joint():
		// R24: the read happened after W, when no attempt of the
		// configuration before the joint one can still win: every token
		// it granted has an era at most r.era.
		if r.era == math.MaxUint32 {
			m.rcFinish(now, ErrTokensExhausted)
			return
		}
		v.MinEra = max(cur.MinEra, r.era+1)
		if m.cfg.Weaken.has(WeakNoMinEra) {
			v.MinEra = 0 // the weakening: no carried-over era floor
		}
	}
	r.value = v
	m.rcStageStart(now, r, rcPropose)
	m.broadcast(&CfgPropose{Slot: r.epoch + 1, Ballot: r.ballot, Attempt: r.attempt, Value: v.Clone()})
}

func (m *Machine) onCfgAccepted(now Time, from string, a *CfgAccepted) {
	r := m.rc.run
	if r == nil || r.stage != rcPropose || a.Attempt != r.attempt || a.Slot != r.epoch+1 {
		return
	}
	idx, ok := m.voters.Index(from)
	if !ok {
		return
	}
	r.votes.Yes(idx)
	if m.decide(r.votes) != quorum.Won {
		return
	}
	// Chosen (committed): a quorum of the adopted configuration accepted
	// it. Adopt it, and tell every voter of both configurations.
	v := r.value
	to := m.voters.Names()
	r.stage = 0
	m.adopt(now, v)
	for _, n := range v.All() {
		if !slices.Contains(to, n) {
			to = append(to, n)
		}
	}
	for _, n := range to {
		if n != m.cfg.Self {
			m.send(n, &Install{Config: v.Clone()})
		}
	}
}

// rcStartClose sends the joint configuration to the old voters and waits
// until a majority of them have adopted it (InstallAck): from then on no
// attempt of the configuration before can win, and the wait W starts
// (R23), timed from this node's own observation.
func (m *Machine) rcStartClose(now Time) {
	r := m.rc.run
	m.rcStageStart(now, r, rcClose)
	r.bounds, r.longest = m.bounds, 0
	for _, n := range m.rc.mem.Voters {
		m.send(n, &Install{Config: m.rc.mem.Clone()})
	}
}

func (m *Machine) onInstallAck(now Time, from string, a *InstallAck) {
	r := m.rc.run
	if r != nil && r.stage == rcProbe && a.Epoch >= r.epoch {
		if i, ok := r.want.Index(from); ok {
			r.votes.Yes(i)
			if r.votes.Result(r.want) == quorum.Won {
				r.probed = true
				r.stage = 0
				m.rcAdvance(now)
			}
		}
		return
	}
	if r == nil || r.stage != rcClose || a.Epoch < r.epoch {
		return
	}
	idx, ok := m.voters.Index(from)
	if !ok || !m.rc.rule.InOld(idx) || r.votes.Voted(idx) {
		return
	}
	r.votes.Yes(idx)
	r.bounds, _ = r.bounds.raise(a.Bounds)
	r.longest = max(r.longest, a.Remaining)
	if m.rc.rule.ResultOld(r.votes) != quorum.Won {
		return
	}
	r.closed = r.epoch
	r.waitUntil = now.Add(m.retireWait(r.bounds, r.longest))
	r.stage = 0
	m.rcAdvance(now)
}

// retireWait is W (R23): long enough, on this node's clock, that every
// attempt and every exclusion granted under the configuration before the
// joint one has ended in real time. Every tenure that configuration can
// still hold was accepted by a voter of the closing majority before it
// adopted the joint configuration, and ends before that voter's exclusion
// does (R8). So W covers the longest exclusion those voters reported
// (longest, on their clocks, when they answered: at most longest/(1-ε) of
// real time, and W lasts at least W/(1+ε)); when no lease is live it is
// zero. It never exceeds what the largest bounds they persisted (R19)
// allow, the wait of a voter that reports nothing useful.
func (m *Machine) retireWait(reported Bounds, longest time.Duration) time.Duration {
	switch {
	case m.cfg.Weaken.has(WeakNoRetireWait):
		return 0
	case m.cfg.Weaken.has(WeakRetireWaitFromConfig):
		return min(m.cfg.waitFor(Bounds{MaxTTL: m.cfg.MaxTTL}), m.cfg.ExclusionQuarantine(longest))
	}
	b, _ := reported.raise(m.bounds)
	return min(m.cfg.waitFor(b), m.cfg.ExclusionQuarantine(longest))
}

func (m *Machine) rcNextTimer(r *reconfigurer) Time {
	switch r.stage {
	case rcWait:
		return r.waitUntil
	case rcBackoff:
		return r.retryAt
	case rcPrepare, rcPropose, rcClose, rcProbe:
		d := m.cfg.RetryInterval << min(r.resends, 6)
		return min(r.giveUp, r.sentAt.Add(d))
	}
	return Never
}

// fire resends what the current step waits for, and gives up a step that
// found no quorum in time.
func (r *reconfigurer) fire(m *Machine, now Time) {
	if m.rc.run != r {
		return
	}
	switch r.stage {
	case rcWait:
		if now >= r.waitUntil {
			m.rcAdvance(now)
			return
		}
	case rcBackoff:
		if now >= r.retryAt {
			m.rcStartPrepare(now)
			return
		}
	case rcPrepare, rcPropose, rcClose, rcProbe:
		if now >= r.giveUp {
			m.rcFinish(now, fmt.Errorf("%w: voter change at epoch %d, step %d", ErrNoQuorum, r.epoch, r.stage))
			return
		}
		if now >= r.sentAt.Add(m.cfg.RetryInterval<<min(r.resends, 6)) {
			m.rcResend(now, r)
		}
	}
	m.schedule(r, m.rcNextTimer(r))
}

// rcResend repeats the step's message to the voters that have not answered.
func (m *Machine) rcResend(now Time, r *reconfigurer) {
	r.sentAt = now
	r.resends++
	var msg Message
	switch r.stage {
	case rcPrepare:
		msg = &CfgPrepare{Slot: r.epoch + 1, Ballot: r.ballot, Attempt: r.attempt}
	case rcPropose:
		msg = &CfgPropose{Slot: r.epoch + 1, Ballot: r.ballot, Attempt: r.attempt, Value: r.value.Clone()}
	case rcClose, rcProbe:
		msg = &Install{Config: m.rc.mem.Clone()}
	}
	if r.stage == rcProbe {
		for i := range r.want.Len() {
			if !r.votes.Voted(i) {
				m.send(r.want.Name(i), msg)
			}
		}
		return
	}
	for i := range m.voters.Len() {
		if r.stage == rcClose && !m.rc.rule.InOld(i) {
			continue
		}
		if !r.votes.Voted(i) {
			m.send(m.voters.Name(i), msg)
		}
	}
}

// Reconfiguring reports whether this node drives a voter change now.
func (m *Machine) Reconfiguring() bool { return m.rc.run != nil }
