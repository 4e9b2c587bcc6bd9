package protocol

func (m *Machine) slotFor(now Time, name string) *slot {
	s := m.slots[name]
	if s == nil {
		s = &slot{name: name, promised: m.forgotten}
		m.slots[name] = s
	}
	s.touched = now
	if s.tk.t == nil {
		// One timer per slot; fire moves it on while the slot is in use, so
		// a busy slot does not pile dead timers into the heap.
		m.schedule(s, max(s.blockedUntil(), now.Add(m.idleGC())))
	}
	return s
}

// acceptorGate applies the checks every acceptor handler shares: voter,
// quarantine (R9), era floor (R12). It reports whether to go on, and whether
// the ballot was refused for its era (then a Reject has been sent).
func (m *Machine) acceptorGate(now Time, from, name string, b Ballot, attempt uint64, reply bool) bool {
	if m.selfIdx < 0 || m.Quarantined(now) || checkName(name) != nil {
		return false
	}
	if m.verify != nil && !m.amnesic {
		return false // a fresh or clean start not yet proven the newest copy (R18)
	}
	// R12: a higher era is persisted before it is answered or used; it goes
	// out in this Output's PersistEra, ahead of its messages.
	m.observeEra(b.Era)
	if b.Era < m.rejectBelow {
		if reply {
			m.send(from, &Reject{Name: name, Attempt: attempt, Promised: Ballot{Era: m.rejectBelow}, Reason: ReasonEra})
		}
		return false
	}
	return true
}

// prepareAnswer is an acceptor's decision on a Prepare: the reply, and
// what the slot records.
type prepareAnswer struct {
	reply   Message
	wait    bool // the sender joins the slot's waiters (for a Vacant notice)
	promise bool // the slot promises the Prepare's ballot and attempt
}

// decidePrepare is R4 as a pure function of the slot, the Prepare, its
// sender and now: it changes nothing. anyAttempt is WeakResendAnyAttempt.
func decidePrepare(s *slot, now Time, from string, p *Prepare, anyAttempt bool) prepareAnswer {
	c := p.Ballot.Cmp(s.promised)
	// A resent or duplicated Prepare of the same attempt (R20: not merely
	// the same ballot, which a new incarnation may reuse).
	dup := c == 0 && p.Ballot.Node == s.promised.Node &&
		(p.Attempt == s.promisedAttempt || anyAttempt)
	if c < 0 || (c == 0 && !dup) {
		return prepareAnswer{
			reply: &Reject{Name: p.Name, Attempt: p.Attempt, Promised: s.promised, Holder: s.info(now), Reason: ReasonPromised},
			wait:  s.live(now),
		}
	}
	if s.live(now) {
		// A live lease blocks the proposer. The promise stays where it is so
		// that the holder's one-phase renewals keep working (R4, R11).
		return prepareAnswer{reply: &Promise{Name: p.Name, Attempt: p.Attempt, Holder: s.info(now), Reason: ReasonLive}, wait: true}
	}
	if s.grace.turnsAway(from, now) {
		// The handoff grace (after a release or an expiry; nothing is live): to all but the favoured waiter, report the
		// released lease as in the way for the rest of the grace, without a
		// promise, and say so (ReasonHandoff): nothing is live.
		return prepareAnswer{reply: &Promise{Name: p.Name, Attempt: p.Attempt, Holder: s.graceInfo(now), Reason: ReasonHandoff}, wait: true}
	}
	return prepareAnswer{reply: &Promise{Name: p.Name, Attempt: p.Attempt}, promise: true}
}

// onPrepare is R4: decide (decidePrepare), record, answer.
func (m *Machine) onPrepare(now Time, from string, p *Prepare) {
	if !m.acceptorGate(now, from, p.Name, p.Ballot, p.Attempt, true) || m.refuseBelowMinEra(from, p.Name, p.Ballot, p.Attempt) {
		return
	}
	s := m.slotFor(now, p.Name)
	a := decidePrepare(s, now, from, p, m.cfg.Weaken.has(WeakResendAnyAttempt))
	if a.wait {
		m.addWaiter(s, from)
	}
	if a.promise {
		s.promised, s.promisedAttempt = p.Ballot, p.Attempt
		m.progress(now, s)
	}
	m.send(from, a.reply)
}

// decidePropose is R5 as a pure function of the slot, the Propose, its
// sender and now: nil to accept, or the Reject to send. replaceLive is
// WeakReplaceLive.
func decidePropose(s *slot, now Time, from string, p *Propose, replaceLive bool) *Reject {
	c := p.Ballot.Cmp(s.promised)
	if c < 0 || (c == 0 && p.Ballot.Node != s.promised.Node) {
		return &Reject{Name: p.Name, Attempt: p.Attempt, Promised: s.promised, Holder: s.info(now), Reason: ReasonPromised}
	}
	if s.live(now) && s.owner != from && !replaceLive {
		// Never replace a live lease of another owner (R5).
		return &Reject{Name: p.Name, Attempt: p.Attempt, Promised: s.promised, Holder: s.info(now), Reason: ReasonLive}
	}
	return nil
}

// accept records the lease a Propose from node from asked for, at now.
func (s *slot) accept(now Time, from string, p *Propose) {
	s.removeWaiter(from) // it waits no more
	s.owner, s.ballot = from, p.Ballot
	s.until = now.Add(p.TTL)
	s.lockDelay = p.LockDelay
	s.value = p.Value
	s.released = false
	s.grace, s.handedOff, s.chaining = handoff{}, false, false
	if p.Ballot.Cmp(s.promised) > 0 || s.promised.Node != p.Ballot.Node {
		s.promisedAttempt = p.Attempt
	}
	s.promised = p.Ballot
}

// onPropose is R5: decide (decidePropose, or decideOneRound for a Propose
// that no Prepare preceded), record, answer.
func (m *Machine) onPropose(now Time, from string, p *Propose) {
	if !m.acceptorGate(now, from, p.Name, p.Ballot, p.Attempt, true) {
		return
	}
	if p.TTL <= 0 || p.TTL > m.cfg.MaxTTL || p.LockDelay < 0 || p.LockDelay > m.cfg.MaxTTL || len(p.Value) > MaxValueLen {
		return // out of this cluster's bounds: the quarantine would not cover it
	}
	if p.OneRound && m.refuseBelowMinEra(from, p.Name, p.Ballot, p.Attempt) {
		return
	}
	s := m.slotFor(now, p.Name)
	var r *Reject
	if p.OneRound {
		a := m.decideOneRound(s, now, from, p)
		if a.wait {
			m.addWaiter(s, from)
		}
		r = a.reject
	} else {
		r = decidePropose(s, now, from, p, m.cfg.Weaken.has(WeakReplaceLive))
	}
	if r != nil {
		m.send(from, r)
		return
	}
	s.accept(now, from, p)
	m.noteExclusion(p.TTL + p.LockDelay)
	m.send(from, &Accepted{Name: p.Name, Attempt: p.Attempt})
}

// onRelease is R10: only an exact (owner, ballot) match clears the lease.
func (m *Machine) onRelease(now Time, from string, r *Release) {
	if !m.acceptorGate(now, from, r.Name, r.Ballot, 0, false) {
		return
	}
	s := m.slots[r.Name]
	if s == nil || s.owner == "" || s.released {
		return
	}
	match := s.owner == from && s.ballot.Same(r.Ballot)
	if m.cfg.Weaken.has(WeakReleaseOwnerOnly) {
		match = s.owner == from
	}
	if !match {
		return
	}
	s.released = true
	s.touched = now
	if s.handedOff {
		return // it ran out here first, and was handed on then
	}
	// The waiters form a queue that survives releases: the first one
	// (other than the releaser) is favoured for the grace, told alone and
	// leaves the queue; the others keep their places and are told one by
	// one while the name stays free (notice.go), and whoever is turned
	// away joins at the tail. Handoffs go round.
	m.handOff(now, s, from)
}

// onQuery answers with this acceptor's view, a hint (R14).
func (m *Machine) onQuery(now Time, from string, q *Query) {
	if m.selfIdx < 0 || m.Quarantined(now) || checkName(q.Name) != nil {
		return
	}
	var info LeaseInfo
	if s := m.slots[q.Name]; s != nil {
		info = s.info(now)
	}
	m.send(from, &QueryReply{Name: q.Name, ID: q.ID, Holder: info})
}
