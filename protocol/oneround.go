package protocol

// The one-round acquire: a request's first attempt sends Propose, marked
// OneRound, with no Prepare before it. It is safe because each voter judges
// it as a Prepare and a Propose at once (decideOneRound): it accepts only a
// ballot strictly above its promise (R3, R12) and only with no lease in the
// way, the sender's own included (R5, and R7 at the voter); and the
// proposer fixes the attempt's deadline when the Propose leaves (R6, R8),
// as a renewal does (R11). DESIGN.md §2 "One-round acquire" has the
// argument; RULES.md names the tests.

import "github.com/tenure-dev/tenure/quorum"

// maxOneRounds is how many one-round attempts one request makes at most.
const maxOneRounds = 2

// oneRoundLax is the set of weakened one-round checks (mutants builds only).
type oneRoundLax struct {
	notAbove    bool // WeakOneRoundNotAbove: a ballot equal to the promise passes
	ownLive     bool // WeakOneRoundOwnLive: the sender's own live lease is replaced
	replaceLive bool // WeakReplaceLive: another owner's live lease is replaced
	anyAttempt  bool // WeakResendAnyAttempt: an equal ballot of the same node is a copy
}

// oneRoundAnswer is a voter's decision on a one-round Propose: reject is
// nil to accept; wait makes the sender one of the slot's waiters, told by
// Vacant when the lease in the way is released.
type oneRoundAnswer struct {
	reject *Reject
	wait   bool
}

// decideOneRound is the voter's rule for a one-round Propose, as a pure
// function of the slot, the Propose, its sender and now: it changes
// nothing. The Propose stands for a Prepare too, so it must pass what
// decidePrepare would promise (a ballot strictly above the promise, no live
// lease, no handoff grace that favours another node) and then what
// decidePropose accepts. A copy of a one-round Propose this voter already
// recorded (its promise is that very ballot and attempt) is judged as the
// phase-two Propose it then is.
func decideOneRound(s *slot, now Time, from string, p *Propose, lax oneRoundLax) oneRoundAnswer {
	c := p.Ballot.Cmp(s.promised)
	// R20: a copy names the attempt that made the promise, not merely its
	// ballot, which a restarted node may reuse.
	copied := (p.Attempt != 0 && p.Attempt == s.promisedAttempt) || lax.anyAttempt
	if c == 0 && copied && p.Ballot.Node == s.promised.Node {
		return oneRoundAnswer{reject: decidePropose(s, now, from, p, lax.replaceLive)}
	}
	if c < 0 || (c == 0 && !lax.notAbove) {
		// R3, R12, R20: strictly above the promise. An equal ballot of
		// another attempt may be a restarted node's reused ballot.
		return oneRoundAnswer{
			reject: &Reject{Name: p.Name, Attempt: p.Attempt, Promised: s.promised, Holder: s.info(now), Reason: ReasonPromised},
			wait:   s.live(now),
		}
	}
	if s.live(now) {
		// R5: no lease is replaced without a Prepare majority behind the
		// Propose, not even the sender's own (R7: an abandoned tenure of
		// this node may still be acted on until its deadline).
		own := s.owner == from
		if !(own && lax.ownLive) && !(!own && lax.replaceLive) {
			return oneRoundAnswer{
				reject: &Reject{Name: p.Name, Attempt: p.Attempt, Promised: s.promised, Holder: s.info(now), Reason: ReasonLive},
				wait:   true,
			}
		}
	}
	if !s.live(now) && s.grace.turnsAway(from, now) {
		return oneRoundAnswer{
			reject: &Reject{Name: p.Name, Attempt: p.Attempt, Promised: s.promised, Holder: s.graceInfo(now), Reason: ReasonHandoff},
			wait:   true,
		}
	}
	return oneRoundAnswer{}
}

// decideOneRound applies decideOneRound with this machine's weakenings.
func (m *Machine) decideOneRound(s *slot, now Time, from string, p *Propose) oneRoundAnswer {
	return decideOneRound(s, now, from, p, oneRoundLax{
		notAbove:    m.cfg.Weaken.has(WeakOneRoundNotAbove),
		ownLive:     m.cfg.Weaken.has(WeakOneRoundOwnLive),
		replaceLive: m.cfg.Weaken.has(WeakReplaceLive),
		anyAttempt:  m.cfg.Weaken.has(WeakResendAnyAttempt),
	})
}

// oneRoundNext reports whether l's next attempt goes without a Prepare: a
// request starts with one, and stays with it only while its one-round
// attempts were refused for their ballot alone (knowledge that the refusals
// brought up to date). A blocked attempt (a live lease, a handoff grace),
// one that timed out, and the third attempt go through two phases with
// today's waiting and backoff.
func (m *Machine) oneRoundNext(l *claim) bool {
	return !m.cfg.TwoPhaseAcquire && !l.twoPhase && l.oneRounds < maxOneRounds
}

// startOneRound sends a one-round Propose at ballot b. R6: the deadline is
// fixed now, when the Propose leaves, and kept as data; each voter's
// exclusion starts when it receives the Propose, later.
func (m *Machine) startOneRound(now Time, l *claim, b Ballot) {
	l.oneRounds++
	m.counters.OneRounds++
	l.att = attempt{id: m.nextAttempt(), ballot: b, start: now, deadline: now.Add(l.dp), sentAt: now, oneRound: true}
	l.stage = stageProposing
	m.broadcast(l.propose())
	m.schedule(l, l.nextTimer(m))
}

// oneRoundFailed decides, when a one-round attempt fails, how the request
// goes on. In two phases, unless a majority refused it for its ballot
// alone with no lease in the way (then its next attempt is one round
// again, above the promises it learned). And a lease in the way counts as
// a holder only if a majority reported that very lease: one-round attempts
// of several nodes on a free name can split the voters among them, each
// refused by the others' fresh accepts, which their Releases clear at
// once. That is contention, met with a backoff, not a holder to wait for
// or to report as ErrHeld.
func (m *Machine) oneRoundFailed(l *claim) {
	if !(l.att.lost && !l.att.blocked.Live()) {
		l.twoPhase = true
	}
	if l.att.blocked.Live() && m.decide(l.att.blockedBy) != quorum.Won {
		l.att.blocked = LeaseInfo{}
	}
}
