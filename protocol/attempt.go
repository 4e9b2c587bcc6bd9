package protocol

// One acquire attempt and its answers: a ballot above everything seen (R3),
// Prepare with its deadline fixed at send (R6), votes counted by voter
// identity (R2, R7), Propose, and what follows a win or a loss.

import (
	"time"

	"github.com/tenure-dev/tenure/quorum"
)

func (m *Machine) startAttempt(now Time, l *claim) {
	b, ok := m.nextBallot(l.seen)
	if !ok {
		m.emit(Event{Kind: EventFailed, Name: l.name, Err: ErrTokensExhausted})
		m.dropClaim(l)
		return
	}
	l.tries++
	m.counters.Rounds++
	if m.oneRoundNext(l) {
		m.startOneRound(now, l, b)
		return
	}
	// R6: the deadline is fixed now, when Prepare is sent, and kept as data.
	l.att = attempt{id: m.nextAttempt(), ballot: b, start: now, deadline: now.Add(l.dp), sentAt: now}
	l.stage = stagePreparing
	m.broadcast(&Prepare{Name: l.name, Ballot: b, Attempt: l.att.id})
	m.schedule(l, l.nextTimer(m))
}

// tally records one answer from voter idx, by identity (R2).
func (m *Machine) tally(a *attempt, idx int, yes bool) quorum.Result {
	// The vote is recorded by identity in every build; whether it was a
	// duplicate matters only to the weakened count below.
	if yes {
		a.votes.Yes(idx)
	} else {
		a.votes.No(idx)
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
	return m.decide(a.votes) // one majority, or both while joint (R22)
}

// answerFor finds the claim an answer belongs to: the sender must be a voter
// and the attempt must be the current one.
func (m *Machine) answerFor(from, name string, attemptID uint64) (*claim, int) {
	l := m.claims[name]
	if l == nil || l.att.id != attemptID || attemptID == 0 {
		return nil, -1
	}
	idx, ok := m.voters.Index(from)
	if !ok {
		return nil, -1
	}
	return l, idx
}

func (m *Machine) noteSeen(l *claim, b Ballot) {
	if b.Cmp(l.seen) > 0 {
		l.seen = b
	}
}

// noteBlocked records voter idx's report of a lease in the way, given with
// reason: the strongest report, which voters reported that very lease, and
// whether any reported a live lease (not only a handoff grace).
func (a *attempt) noteBlocked(h LeaseInfo, idx int, reason Reason) {
	if reason != ReasonHandoff && h.Live() {
		a.held = true
	}
	same := h.Owner == a.blocked.Owner && h.Ballot.Same(a.blocked.Ballot)
	if same || h.Ballot.Cmp(a.blocked.Ballot) >= 0 {
		if !same {
			a.blockedBy.Reset()
		}
		a.blocked = h
		a.blockedBy.Yes(idx)
	}
	a.maxWait = max(a.maxWait, h.Remaining)
}

func (m *Machine) onPromise(now Time, from string, p *Promise) {
	l, idx := m.answerFor(from, p.Name, p.Attempt)
	if l == nil || l.stage != stagePreparing {
		return
	}
	// The Reason says whether the answer blocks; a reported lease blocks
	// whatever the Reason says.
	open := p.Reason == ReasonNone && !p.Holder.Live()
	if !open {
		m.noteSeen(l, p.Holder.Ballot)
		// R7: a report of a lease counts as open only in a renewal attempt at
		// its recorded base. Renewals here are one-phase (no Prepare), so in
		// a Prepare round every reported lease blocks, this node's own too.
		if m.cfg.Weaken.has(WeakOwnerIsMeOpen) && p.Holder.Owner == m.cfg.Self {
			open = true
		} else {
			l.att.noteBlocked(p.Holder, idx, p.Reason)
		}
	}
	switch m.tally(&l.att, idx, open) {
	case quorum.Won:
		m.prepared(now, l)
	case quorum.Lost:
		l.att.lost = true
		m.attemptFailed(now, l)
	}
}

// prepared runs when a majority answered open: send Propose only if the
// prepare-time deadline has not passed (R6).
func (m *Machine) prepared(now Time, l *claim) {
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

func (l *claim) propose() *Propose {
	b := l.att.ballot
	return &Propose{Name: l.name, Ballot: b, Attempt: l.att.id, TTL: l.ttl, LockDelay: l.lockDelay, Value: l.value, OneRound: l.att.oneRound}
}

func (m *Machine) onReject(now Time, from string, r *Reject) {
	if l := m.claims[r.Name]; l != nil && m.voters.Contains(from) {
		m.noteSeen(l, r.Promised)
		if r.Holder.Live() {
			m.noteSeen(l, r.Holder.Ballot)
		}
	}
	l, idx := m.answerFor(from, r.Name, r.Attempt)
	if l == nil {
		return
	}
	if l.stage == stageProposing {
		l.att.refused |= 1 << uint(idx)
	}
	if (r.Holder.Live() || r.Reason.Blocks()) && !(l.held() && r.Holder.Owner == m.cfg.Self) {
		l.att.noteBlocked(r.Holder, idx, r.Reason)
	} else {
		l.att.rejected = true
	}
	switch l.stage {
	case stagePreparing, stageProposing:
		if m.tally(&l.att, idx, false) == quorum.Lost {
			l.att.lost = true
			m.attemptFailed(now, l)
		}
	case stageRenewing:
		if m.tally(&l.att, idx, false) == quorum.Lost {
			// A majority's promise moved past this tenure's ballot: no
			// one-phase renewal can succeed again, and a new ballot would be
			// a new tenure. The tenure ends now, before its deadline (R11).
			m.loseTenure(l)
		}
	}
}

// onAccepted counts an accept for the claim's current attempt: an acquire
// (stageProposing) or a renewal (stageRenewing).
func (m *Machine) onAccepted(now Time, from string, a *Accepted) {
	l, idx := m.answerFor(from, a.Name, a.Attempt)
	switch {
	case l != nil && l.stage == stageProposing:
		m.acquireAccepted(now, l, idx)
	case l != nil && l.stage == stageRenewing:
		m.renewalAccepted(now, l, idx)
	case len(m.unsettled) > 0:
		m.lateAccepted(now, from, a) // perhaps of a failed one-round attempt
	}
}

// acquireAccepted counts voter idx's accept of an acquire's Propose; a
// majority in time makes the claim a tenure.
func (m *Machine) acquireAccepted(now Time, l *claim, idx int) {
	if m.tally(&l.att, idx, true) != quorum.Won {
		return
	}
	if l.att.oneRound && m.cfg.Weaken.has(WeakOneRoundLateDeadline) {
		// The bug: the one-round attempt's clock starts at its majority.
		l.att.deadline = now.Add(l.dp)
	}
	// R6: holder only if the accept majority completes before the
	// stored deadline (fixed when Prepare, or a one-round Propose, was
	// sent); usable until d - m.
	if now >= l.att.deadline-Time(l.margin) {
		m.attemptFailed(now, l)
		return
	}
	l.stage = stageHeld
	l.ballot = l.att.ballot
	l.deadline = l.att.deadline - Time(l.margin)
	l.renewAt = l.renewFrom(l.att.start)
	l.backoff = m.cfg.BackoffMin
	m.emit(Event{Kind: EventAcquired, Name: l.name, Token: l.ballot.Token(), Deadline: l.deadline, TTL: l.ttl})
	m.schedule(l, l.nextTimer(m))
}

func (m *Machine) onVacant(now Time, from string, v *Vacant) {
	if v.Pass {
		m.onPass(now, from, v.Name) // notice.go
		return
	}
	if !m.voters.Contains(from) {
		return
	}
	l := m.claims[v.Name]
	if l == nil || l.held() {
		// Not waiting (any more): the voter tells its next waiter at once.
		m.send(from, &Vacant{Name: v.Name, Pass: true})
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
func (m *Machine) attemptFailed(now Time, l *claim) {
	if l.stage == stageProposing {
		// Some acceptors may have recorded this ballot; this node never acted
		// under it, so clearing exactly that ballot is safe (R10). For a
		// one-round attempt this is what frees the minority that accepted
		// it, which R5 would otherwise keep blocked until expiry. Voters
		// that refused the ballot recorded nothing and are not asked.
		m.releaseFailed(now, l)
	}
	if l.att.oneRound {
		m.oneRoundFailed(l)
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
		m.dropClaim(l)
		return
	case !l.wait && l.tries >= tryLimit:
		m.emit(Event{Kind: EventFailed, Name: l.name, Err: ErrContended})
		m.dropClaim(l)
		return
	case blocked.Live() && l.att.vacant:
		// The blocking lease was released while the attempt ran.
		l.retryAt = now.Add(m.jitter(m.cfg.BackoffMin))
	case blocked.Live() && l.att.held:
		// A live lease: wait for a Vacant notice (notice.go), which the
		// voters send when it ends, asking again only after waitPoll, never
		// before its reported remaining time has passed. A renewing holder
		// costs its waiters no polling.
		l.retryAt = now.Add(m.waitPoll(l, l.att.maxWait) + m.jitter(m.cfg.BackoffMin))
	case blocked.Live():
		// Only a handoff grace is in the way: try again when it ends, with
		// a little jitter so waiters do not collide.
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
func (m *Machine) loseTenure(l *claim) {
	m.emit(Event{Kind: EventLost, Name: l.name, Token: l.ballot.Token(), Deadline: l.deadline, TTL: l.ttl, Err: ErrLost})
	m.dropClaim(l)
}
