package protocol

import (
	"fmt"
	"time"

	"github.com/tenure-dev/tenure/quorum"
)

// AcquireRequest asks the machine for a tenure of one lease name.
type AcquireRequest struct {
	Name string
	// TTL is T, the acceptors' exclusion; zero means Config.DefaultTTL.
	TTL time.Duration
	// Value is stored with the lease at the acceptors (at most MaxValueLen).
	Value []byte
	// LockDelay keeps the name blocked this much longer after the tenure
	// ends by expiry (not by release). At most MaxTTL.
	LockDelay time.Duration
	// Wait keeps trying until the request succeeds or is cancelled; without
	// it the request makes one round (a few tries against contention) and
	// fails with ErrHeld if another node holds the lease.
	Wait bool
}

type stage int

const (
	stageWaiting   stage = 1 + iota // between attempts (backoff, or blocked by a holder)
	stagePreparing                  // phase one in flight
	stageProposing                  // phase two in flight
	stageHeld                       // a tenure; a renewal may be in flight
)

// tryLimit is how many rounds a non-waiting request makes against
// contention (not against a holder) before it fails with ErrContended.
const tryLimit = 3

// attempt is one round: its ballot, its prepare-time deadline (R6) and the
// answers so far, counted by voter identity (R2).
type attempt struct {
	id       uint64
	ballot   Ballot
	start    Time // when its first message was sent
	deadline Time // d = start + D_P, stored as data (R6)
	sentAt   Time // last (re)transmission
	votes    quorum.Votes
	yesN     int // only under WeakCountVotes
	noN      int
	blocked  LeaseInfo // the strongest holder report
	maxWait  time.Duration
	rejected bool
	vacant   bool // a Vacant notice arrived while this attempt ran
	resends  int  // how many times this attempt was sent again
}

// lease is the proposer's state for one name on this node.
type lease struct {
	name      string
	tk        ticket
	wait      bool
	tries     int
	ttl       time.Duration
	dp        time.Duration // D_P for ttl
	margin    time.Duration // m for ttl
	lockDelay time.Duration
	value     []byte

	stage   stage
	retryAt Time
	backoff time.Duration
	seen    Ballot // highest ballot any acceptor reported for the name
	att     attempt

	// The tenure, in stageHeld.
	ballot   Ballot
	deadline Time // usable deadline d - m; only ever moves later
	renewAt  Time
	renewing bool
}

func (l *lease) ticket() *ticket { return &l.tk }

// Acquire starts a request for a tenure. Events report the outcome. It fails
// at once for an invalid request, for a name this node already has a request
// or a tenure for (ErrBusy), and once tokens are exhausted.
func (m *Machine) Acquire(now Time, req AcquireRequest) error {
	if m.stopped {
		return ErrStopped
	}
	if err := checkName(req.Name); err != nil {
		return err
	}
	if req.TTL == 0 {
		req.TTL = m.cfg.DefaultTTL
	}
	if req.TTL < m.cfg.MinTTL || req.TTL > m.cfg.MaxTTL {
		return fmt.Errorf("%w: %v not in [%v, %v]", ErrBadTTL, req.TTL, m.cfg.MinTTL, m.cfg.MaxTTL)
	}
	if req.LockDelay < 0 || req.LockDelay > m.cfg.MaxTTL {
		return fmt.Errorf("%w: lock delay %v not in [0, %v]", ErrBadTTL, req.LockDelay, m.cfg.MaxTTL)
	}
	if len(req.Value) > MaxValueLen {
		return fmt.Errorf("%w: %d bytes, at most %d", ErrValueTooLarge, len(req.Value), MaxValueLen)
	}
	if m.exhaust {
		return ErrTokensExhausted
	}
	if _, busy := m.props[req.Name]; busy {
		return fmt.Errorf("%w: %q", ErrBusy, req.Name)
	}
	l := &lease{
		name:      req.Name,
		wait:      req.Wait,
		ttl:       req.TTL,
		dp:        m.attemptDuration(req.TTL),
		margin:    m.cfg.margin(req.TTL),
		lockDelay: req.LockDelay,
		value:     append([]byte(nil), req.Value...),
		backoff:   m.cfg.BackoffMin,
	}
	m.props[req.Name] = l
	m.startAttempt(now, l)
	m.drainLocal(now)
	return nil
}

// Cancel withdraws a pending acquire request that has no tenure yet. A
// Propose already sent is cleaned up with a Release of its exact ballot,
// which is safe: this node never acted under it.
func (m *Machine) Cancel(now Time, name string) {
	l := m.props[name]
	if m.stopped || l == nil || l.stage == stageHeld {
		return
	}
	if l.stage == stageProposing {
		m.queueRelease(now, name, l.att.ballot)
	}
	m.dropLease(l)
	m.drainLocal(now)
}

// Release ends the tenure with this token: the tenure is over for this node
// at once (EventReleased), then Release(owner, ballot) goes to the voters
// (R10).
func (m *Machine) Release(now Time, name string, token uint64) error {
	l, err := m.endTenure(name, token)
	if err != nil {
		return err
	}
	m.queueRelease(now, name, l.ballot)
	m.drainLocal(now)
	return nil
}

// Abandon ends the tenure with this token without telling the voters: the
// lease stays blocked until it expires there, as if this node had crashed.
func (m *Machine) Abandon(now Time, name string, token uint64) error {
	_, err := m.endTenure(name, token)
	return err
}

// endTenure ends this node's tenure of name with token, at the user's
// request: EventReleased, and the lease state is dropped.
func (m *Machine) endTenure(name string, token uint64) (*lease, error) {
	if m.stopped {
		return nil, ErrStopped
	}
	l := m.props[name]
	if l == nil || l.stage != stageHeld || l.ballot.Token() != token {
		return nil, fmt.Errorf("%w: %q token %d", ErrNotHeld, name, token)
	}
	m.emit(Event{Kind: EventReleased, Name: name, Token: token, TTL: l.ttl})
	m.dropLease(l)
	return l, nil
}

// Holding reports this node's own tenure of name, if any: its token and its
// usable deadline on the local clock. Only the holder knows (R14); this is
// that knowledge.
func (m *Machine) Holding(name string) (token uint64, deadline Time, ok bool) {
	l := m.props[name]
	if m.stopped || l == nil || l.stage != stageHeld {
		return 0, 0, false
	}
	return l.ballot.Token(), l.deadline, true
}

// Pending reports whether an acquire request for name is in progress.
func (m *Machine) Pending(name string) bool {
	l := m.props[name]
	return l != nil && l.stage != stageHeld
}

// attemptDuration is Config.AttemptDuration, remembered per TTL: the exact
// containment check is too costly to repeat on every acquire.
func (m *Machine) attemptDuration(ttl time.Duration) time.Duration {
	if dp, ok := m.dpCache[ttl]; ok {
		return dp
	}
	dp := m.cfg.AttemptDuration(ttl)
	if len(m.dpCache) < 64 {
		m.dpCache[ttl] = dp
	}
	return dp
}

func (m *Machine) dropLease(l *lease) {
	m.schedule(l, Never)
	delete(m.props, l.name)
}

func (m *Machine) startAttempt(now Time, l *lease) {
	b, ok := m.nextBallot(l.seen)
	if !ok {
		m.emit(Event{Kind: EventFailed, Name: l.name, Err: ErrTokensExhausted})
		m.dropLease(l)
		return
	}
	l.tries++
	m.counters.Rounds++
	// R6: the deadline is fixed now, when Prepare is sent, and kept as data.
	l.att = attempt{id: m.nextAttempt(), ballot: b, start: now, deadline: now.Add(l.dp), sentAt: now}
	l.stage = stagePreparing
	m.broadcast(&Prepare{Name: l.name, Ballot: b, Attempt: l.att.id})
	m.schedule(l, l.nextTimer(m))
}

// tally records one answer from voter idx, by identity (R2).
func (m *Machine) tally(a *attempt, idx int, yes bool) quorum.Result {
	var fresh bool
	if yes {
		fresh = a.votes.Yes(idx)
	} else {
		fresh = a.votes.No(idx)
	}
	if m.cfg.Weaken.has(WeakCountVotes) {
		// The shipped bug: every answer counts, duplicates included.
		if yes {
			a.yesN++
		} else {
			a.noN++
		}
		switch maj := m.voters.Majority(); {
		case a.yesN >= maj:
			return quorum.Won
		case m.voters.Len()-a.noN < maj:
			return quorum.Lost
		}
		return quorum.Pending
	}
	_ = fresh
	return a.votes.Result(m.voters)
}

// answerFor finds the lease an answer belongs to: the sender must be a voter
// and the attempt must be the current one.
func (m *Machine) answerFor(from, name string, attemptID uint64) (*lease, int) {
	l := m.props[name]
	if l == nil || l.att.id != attemptID || attemptID == 0 {
		return nil, -1
	}
	idx, ok := m.voters.Index(from)
	if !ok {
		return nil, -1
	}
	return l, idx
}

func (m *Machine) noteSeen(l *lease, b Ballot) {
	if b.Cmp(l.seen) > 0 {
		l.seen = b
	}
}

func (a *attempt) noteBlocked(h LeaseInfo) {
	if h.Ballot.Cmp(a.blocked.Ballot) >= 0 {
		a.blocked = h
	}
	a.maxWait = max(a.maxWait, h.Remaining)
}

func (m *Machine) onPromise(now Time, from string, p *Promise) {
	l, idx := m.answerFor(from, p.Name, p.Attempt)
	if l == nil || l.stage != stagePreparing {
		return
	}
	open := !p.Holder.Live()
	if !open {
		m.noteSeen(l, p.Holder.Ballot)
		// R7: a report of a lease counts as open only in a renewal attempt at
		// its recorded base. Renewals here are one-phase (no Prepare), so in
		// a Prepare round every reported lease blocks, this node's own too.
		if m.cfg.Weaken.has(WeakOwnerIsMeOpen) && p.Holder.Owner == m.cfg.Self {
			open = true
		} else {
			l.att.noteBlocked(p.Holder)
		}
	}
	switch m.tally(&l.att, idx, open) {
	case quorum.Won:
		m.prepared(now, l)
	case quorum.Lost:
		m.attemptFailed(now, l)
	}
}

// prepared runs when a majority answered open: send Propose only if the
// prepare-time deadline has not passed (R6).
func (m *Machine) prepared(now Time, l *lease) {
	if m.cfg.Weaken.has(WeakLateTimer) {
		// The shipped bug: the attempt's clock starts at the majority.
		l.att.deadline = now.Add(l.dp)
	}
	if now >= l.att.deadline {
		m.attemptFailed(now, l)
		return
	}
	l.stage = stageProposing
	l.att.votes.Reset()
	l.att.yesN, l.att.noN = 0, 0
	l.att.sentAt = now
	m.broadcast(l.propose())
	m.schedule(l, l.nextTimer(m))
}

func (l *lease) propose() *Propose {
	b := l.att.ballot
	return &Propose{Name: l.name, Ballot: b, Attempt: l.att.id, TTL: l.ttl, LockDelay: l.lockDelay, Value: l.value}
}

func (m *Machine) onReject(now Time, from string, r *Reject) {
	if l := m.props[r.Name]; l != nil && m.voters.Contains(from) {
		m.noteSeen(l, r.Promised)
		if r.Holder.Live() {
			m.noteSeen(l, r.Holder.Ballot)
		}
	}
	l, idx := m.answerFor(from, r.Name, r.Attempt)
	if l == nil {
		return
	}
	if r.Holder.Live() && !(l.stage == stageHeld && r.Holder.Owner == m.cfg.Self) {
		l.att.noteBlocked(r.Holder)
	} else {
		l.att.rejected = true
	}
	switch l.stage {
	case stagePreparing, stageProposing:
		if m.tally(&l.att, idx, false) == quorum.Lost {
			m.attemptFailed(now, l)
		}
	case stageHeld:
		if l.renewing && m.tally(&l.att, idx, false) == quorum.Lost {
			// A majority's promise moved past this tenure's ballot: no
			// one-phase renewal can succeed again, and a new ballot would be
			// a new tenure. The tenure ends now, before its deadline (R11).
			m.loseTenure(l)
		}
	}
}

func (m *Machine) onAccepted(now Time, from string, a *Accepted) {
	l, idx := m.answerFor(from, a.Name, a.Attempt)
	if l == nil {
		return
	}
	switch {
	case l.stage == stageProposing:
		if m.tally(&l.att, idx, true) != quorum.Won {
			return
		}
		// R6: holder only if the accept majority completes before the
		// stored deadline; usable until d - m.
		if now >= l.att.deadline-Time(l.margin) {
			m.attemptFailed(now, l)
			return
		}
		l.stage = stageHeld
		l.ballot = l.att.ballot
		l.deadline = l.att.deadline - Time(l.margin)
		l.renewAt = l.renewFrom(l.att.start)
		l.renewing = false
		l.backoff = m.cfg.BackoffMin
		m.emit(Event{Kind: EventAcquired, Name: l.name, Token: l.ballot.Token(), Deadline: l.deadline, TTL: l.ttl})
		m.schedule(l, l.nextTimer(m))
	case l.stage == stageHeld && l.renewing:
		if now >= l.deadline {
			// The tenure ended at its deadline; Tick has not run yet (a
			// paused loop). The outcome must not depend on the order of Step
			// and Tick (R6, R11).
			m.loseTenure(l)
			return
		}
		if m.tally(&l.att, idx, true) != quorum.Won {
			return
		}
		l.renewing = false
		l.renewAt = l.renewFrom(l.att.start)
		// R11: authority is extended only by this fresh majority, to this
		// attempt's own prepare-time deadline.
		if nd := l.att.deadline - Time(l.margin); now < nd && nd > l.deadline {
			l.deadline = nd
			m.emit(Event{Kind: EventRenewed, Name: l.name, Token: l.ballot.Token(), Deadline: l.deadline, TTL: l.ttl})
		}
		m.schedule(l, l.nextTimer(m))
	}
}

func (m *Machine) onVacant(now Time, from string, v *Vacant) {
	l := m.props[v.Name]
	if l == nil || l.stage == stageHeld || !m.voters.Contains(from) {
		return
	}
	if l.stage != stageWaiting {
		// The attempt under way may still fail on a report of the lease that
		// was just released: remember to try again at once if it does.
		l.att.vacant = true
		return
	}
	l.retryAt = min(l.retryAt, now.Add(m.jitter(m.cfg.BackoffMin)))
	m.schedule(l, l.nextTimer(m))
}

// attemptFailed ends the current acquire attempt and decides what next.
func (m *Machine) attemptFailed(now Time, l *lease) {
	if l.stage == stageProposing {
		// Some acceptors may have recorded this ballot; this node never acted
		// under it, so clearing exactly that ballot is safe (R10).
		m.queueRelease(now, l.name, l.att.ballot)
	}
	blocked := l.att.blocked
	if blocked.Live() {
		m.counters.Blocked++
		// A round turned away by a holder was no duel: the contention
		// backoff starts afresh, or a proposer that lost a few duels would
		// keep waiting the longest and starve behind faster ones.
		l.backoff = m.cfg.BackoffMin
	} else {
		m.counters.Contended++
	}
	switch {
	case blocked.Live() && !l.wait:
		m.emit(Event{Kind: EventFailed, Name: l.name, Err: ErrHeld, Holder: blocked})
		m.dropLease(l)
		return
	case !l.wait && l.tries >= tryLimit:
		m.emit(Event{Kind: EventFailed, Name: l.name, Err: ErrContended})
		m.dropLease(l)
		return
	case blocked.Live() && l.att.vacant:
		// The blocking lease was released while the attempt ran.
		l.retryAt = now.Add(m.jitter(m.cfg.BackoffMin))
	case blocked.Live():
		// Wait for the holder's lease to run out at the acceptors (or for a
		// Vacant notice), with a little jitter so waiters do not collide.
		l.retryAt = now.Add(min(l.att.maxWait, m.cfg.MaxTTL+m.cfg.MaxTTL) + m.jitter(m.cfg.BackoffMin))
	default:
		l.retryAt = now.Add(m.jitter(l.backoff))
		l.backoff = min(2*l.backoff, m.cfg.BackoffMax)
	}
	l.stage = stageWaiting
	m.schedule(l, l.nextTimer(m))
}

// jitter is a random duration in [d/2, d].
func (m *Machine) jitter(d time.Duration) time.Duration {
	if d <= 1 {
		return d
	}
	return d/2 + time.Duration(m.rnd.Int64N(int64(d/2)+1))
}

// loseTenure ends a tenure that could not be kept: EventLost, and no
// Release. The holder may have started an action just before it learned of
// the loss (at the latest at its usable deadline d - m), and that action may
// run on for m: a Release could free the name for another holder while it
// runs. The lease expires at the voters on its own, after the margin.
func (m *Machine) loseTenure(l *lease) {
	m.emit(Event{Kind: EventLost, Name: l.name, Token: l.ballot.Token(), Deadline: l.deadline, TTL: l.ttl, Err: ErrLost})
	m.dropLease(l)
}

// renewFrom is when a tenure whose last round started at start renews next:
// half its attempt duration later, so that a lost round leaves half the
// lease for retries. It is aligned down to a grid of D_P/8 so that leases of
// one TTL renew in the same instant and share datagrams.
func (l *lease) renewFrom(start Time) Time {
	g := Time(max(l.dp/8, time.Millisecond))
	t := start.Add(l.dp / 2)
	r := t % g
	if r < 0 {
		r += g
	}
	if t-r <= start {
		return t
	}
	return t - r
}

func (l *lease) nextTimer(m *Machine) Time {
	switch l.stage {
	case stageWaiting:
		return l.retryAt
	case stagePreparing, stageProposing:
		return min(l.att.deadline, l.att.sentAt.Add(l.resendAfter(m)))
	case stageHeld:
		if l.renewing {
			return min(l.deadline, l.att.sentAt.Add(l.resendAfter(m)))
		}
		return min(l.deadline, l.renewAt)
	}
	return Never
}

// fire handles the lease's timer: retries, renewal, loss at the deadline.
func (l *lease) fire(m *Machine, now Time) {
	switch l.stage {
	case stageWaiting:
		if now >= l.retryAt {
			m.startAttempt(now, l)
			return
		}
	case stagePreparing, stageProposing:
		if now >= l.att.deadline {
			m.attemptFailed(now, l)
			return
		}
		if now >= l.att.sentAt.Add(l.resendAfter(m)) {
			m.resend(now, l)
		}
	case stageHeld:
		if now >= l.deadline {
			// Loss is reported at the deadline by this node's own clock, with
			// no word from the network (R11).
			m.loseTenure(l)
			return
		}
		if l.renewing && now >= l.att.sentAt.Add(l.resendAfter(m)) {
			m.resend(now, l)
		} else if !l.renewing && now >= l.renewAt {
			m.startRenewal(now, l)
		}
	}
	m.schedule(l, l.nextTimer(m))
}

// startRenewal sends a one-phase renewal: Propose at the tenure's own ballot,
// its attempt deadline fixed now (R11).
func (m *Machine) startRenewal(now Time, l *lease) {
	l.renewing = true
	m.counters.Renewals++
	l.att = attempt{id: m.nextAttempt(), ballot: l.ballot, start: now, deadline: now.Add(l.dp), sentAt: now}
	m.broadcast(l.propose())
}

// resendAfter is how long the current attempt waits before it sends again.
// An acquire is latency-bound: it waits RetryInterval, doubling with each
// resend. A renewal starts at half-life with D_P/2 of slack, so it waits
// D_P/16 first: a burst of thousands of renewals on a loaded node is not
// answered within a few milliseconds, and resending it early only doubles
// the traffic. Both cap at D_P/8, which leaves a renewal several resends
// before its deadline.
func (l *lease) resendAfter(m *Machine) time.Duration {
	first := m.cfg.RetryInterval
	if l.stage == stageHeld {
		first = max(first, l.dp/16)
	}
	d := first << min(l.att.resends, 16)
	return max(min(d, l.dp/8), m.cfg.RetryInterval)
}

// resend repeats the current attempt's request to voters that have not
// answered. The attempt keeps its deadline: a late copy can only make the
// acceptors' exclusion start later, never the holder's authority end later.
func (m *Machine) resend(now Time, l *lease) {
	l.att.sentAt = now
	l.att.resends++
	var msg Message
	if l.stage == stagePreparing {
		msg = &Prepare{Name: l.name, Ballot: l.att.ballot, Attempt: l.att.id}
	} else {
		msg = l.propose()
	}
	for i := range m.voters.Len() {
		if !l.att.votes.Voted(i) {
			m.send(m.voters.Name(i), msg)
		}
	}
}
