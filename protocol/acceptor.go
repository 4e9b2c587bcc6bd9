package protocol

import "time"

// maxWaiters bounds how many blocked proposers an acceptor remembers per
// lease name for Vacant notices; beyond it, waiters find out at expiry.
const maxWaiters = 32

// slot is the acceptor's state for one lease name.
type slot struct {
	name     string
	promised Ballot // highest promise (R3, R4)
	// promisedAttempt is the attempt whose Prepare or Propose set promised.
	// A Prepare equal to the promise is a resend only if it names this
	// attempt (R20): a restarted node that reuses a ballot of its previous
	// incarnation comes with another attempt id and is refused.
	promisedAttempt uint64
	// The accepted lease, if any.
	owner     string
	ballot    Ballot
	until     Time // local end of the exclusion: receipt + TTL (D_A)
	lockDelay time.Duration
	value     []byte
	released  bool
	waiters   []string
	// After a release that other proposers were waiting for, this voter
	// opens only to favoured, the waiter it registered first, until
	// graceUntil: the releaser's next acquire and the waiters that retried
	// faster (voters answer their own Prepares locally) are turned away, so
	// handoffs go round instead of to the fastest node (fairness; blocking
	// is always safe, and after the grace anyone may try).
	favoured   string
	graceUntil Time
	touched    Time
	tk         ticket
}

func (s *slot) ticket() *ticket { return &s.tk }

// blockedUntil is the end of the exclusion, lock delay included; a released
// lease blocks nothing.
func (s *slot) blockedUntil() Time {
	if s.owner == "" || s.released {
		return -Never - 1 // earlier than every instant: blocks nothing, whatever the clock origin
	}
	return s.until.Add(s.lockDelay)
}

// live reports whether the slot's lease blocks others at now.
func (s *slot) live(now Time) bool { return now < s.blockedUntil() }

func (s *slot) info(now Time) LeaseInfo {
	if !s.live(now) {
		return LeaseInfo{}
	}
	return LeaseInfo{Owner: s.owner, Ballot: s.ballot, Remaining: s.blockedUntil().Sub(now), Value: s.value}
}

func (s *slot) addWaiter(node string) {
	for _, w := range s.waiters {
		if w == node {
			return
		}
	}
	if len(s.waiters) < maxWaiters {
		s.waiters = append(s.waiters, node)
	}
}

func (s *slot) removeWaiter(node string) {
	for i, w := range s.waiters {
		if w == node {
			s.waiters = append(s.waiters[:i], s.waiters[i+1:]...)
			return
		}
	}
}

// idleGC is how long an acceptor keeps a slot with no live lease before it
// forgets it; its promise survives in the forgotten watermark.
func (m *Machine) idleGC() time.Duration { return 2 * m.cfg.MaxTTL }

// fire garbage-collects an idle slot. The forgotten watermark keeps every
// dropped promise: a name with no slot promises nothing below it, so
// forgetting a slot can neither admit a lower ballot nor lower a token.
func (s *slot) fire(m *Machine, now Time) {
	if s.live(now) || now < s.touched.Add(m.idleGC()) {
		m.schedule(s, max(s.blockedUntil(), s.touched.Add(m.idleGC())))
		return
	}
	if s.promised.Cmp(m.forgotten) > 0 {
		m.forgotten = s.promised
	}
	if s.ballot.Cmp(m.forgotten) > 0 {
		m.forgotten = s.ballot
	}
	delete(m.acc, s.name)
}

func (m *Machine) slotFor(now Time, name string) *slot {
	s := m.acc[name]
	if s == nil {
		s = &slot{name: name, promised: m.forgotten}
		m.acc[name] = s
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
			m.send(from, &Reject{Name: name, Attempt: attempt, Promised: Ballot{Era: m.rejectBelow}})
		}
		return false
	}
	return true
}

// onPrepare is R4.
func (m *Machine) onPrepare(now Time, from string, p *Prepare) {
	if !m.acceptorGate(now, from, p.Name, p.Ballot, p.Attempt, true) {
		return
	}
	s := m.slotFor(now, p.Name)
	c := p.Ballot.Cmp(s.promised)
	// A resent or duplicated Prepare of the same attempt (R20: not merely
	// the same ballot, which a new incarnation may reuse).
	dup := c == 0 && p.Ballot.Node == s.promised.Node &&
		(p.Attempt == s.promisedAttempt || m.cfg.Weaken.has(WeakResendAnyAttempt))
	if c < 0 || (c == 0 && !dup) {
		if s.live(now) {
			s.addWaiter(from)
		}
		m.send(from, &Reject{Name: p.Name, Attempt: p.Attempt, Promised: s.promised, Holder: s.info(now)})
		return
	}
	if s.live(now) {
		// A live lease blocks the proposer. The promise stays where it is so
		// that the holder's one-phase renewals keep working (R4, R11).
		s.addWaiter(from)
		m.send(from, &Promise{Name: p.Name, Attempt: p.Attempt, Holder: s.info(now)})
		return
	}
	if s.released && s.favoured != "" && from != s.favoured && now < s.graceUntil {
		// The handoff grace: to all but the favoured waiter, report the
		// released lease as still in the way for the rest of the grace,
		// without a promise.
		s.addWaiter(from)
		m.send(from, &Promise{Name: p.Name, Attempt: p.Attempt, Holder: LeaseInfo{
			Owner: s.owner, Ballot: s.ballot, Remaining: s.graceUntil.Sub(now), Value: s.value}})
		return
	}
	s.promised, s.promisedAttempt = p.Ballot, p.Attempt
	m.send(from, &Promise{Name: p.Name, Attempt: p.Attempt})
}

// onPropose is R5.
func (m *Machine) onPropose(now Time, from string, p *Propose) {
	if !m.acceptorGate(now, from, p.Name, p.Ballot, p.Attempt, true) {
		return
	}
	if p.TTL <= 0 || p.TTL > m.cfg.MaxTTL || p.LockDelay < 0 || p.LockDelay > m.cfg.MaxTTL || len(p.Value) > MaxValueLen {
		return // out of this cluster's bounds: the quarantine would not cover it
	}
	s := m.slotFor(now, p.Name)
	c := p.Ballot.Cmp(s.promised)
	if c < 0 || (c == 0 && p.Ballot.Node != s.promised.Node) {
		m.send(from, &Reject{Name: p.Name, Attempt: p.Attempt, Promised: s.promised, Holder: s.info(now)})
		return
	}
	if s.live(now) && s.owner != from && !m.cfg.Weaken.has(WeakReplaceLive) {
		// Never replace a live lease of another owner (R5).
		m.send(from, &Reject{Name: p.Name, Attempt: p.Attempt, Promised: s.promised, Holder: s.info(now)})
		return
	}
	s.removeWaiter(from) // it waits no more
	s.owner, s.ballot = from, p.Ballot
	s.until = now.Add(p.TTL)
	s.lockDelay = p.LockDelay
	s.value = p.Value
	s.released = false
	if p.Ballot.Cmp(s.promised) > 0 || s.promised.Node != p.Ballot.Node {
		s.promisedAttempt = p.Attempt
	}
	s.promised = p.Ballot
	m.noteExclusion(p.TTL + p.LockDelay)
	m.send(from, &Accepted{Name: p.Name, Attempt: p.Attempt})
}

// onRelease is R10: only an exact (owner, ballot) match clears the lease.
func (m *Machine) onRelease(now Time, from string, r *Release) {
	if !m.acceptorGate(now, from, r.Name, r.Ballot, 0, false) {
		return
	}
	s := m.acc[r.Name]
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
	// The waiters form a queue that survives releases: the first one
	// (other than the releaser) is favoured for the grace and leaves the
	// queue; the others keep their places, and whoever is turned away joins
	// at the tail. Handoffs go round.
	s.favoured = ""
	for i, w := range s.waiters {
		if w != from {
			s.favoured, s.graceUntil = w, now.Add(m.cfg.RetryInterval)
			notify := append([]string(nil), s.waiters...)
			s.waiters = append(s.waiters[:i], s.waiters[i+1:]...)
			for _, n := range notify {
				m.send(n, &Vacant{Name: r.Name})
			}
			return
		}
	}
	// No other waiter: the releaser itself may be one (its own next
	// acquire may already have been turned away by the lease it released).
	for _, w := range s.waiters {
		m.send(w, &Vacant{Name: r.Name})
	}
	s.waiters = s.waiters[:0]
}

// onQuery answers with this acceptor's view, a hint (R14).
func (m *Machine) onQuery(now Time, from string, q *Query) {
	if m.selfIdx < 0 || m.Quarantined(now) || checkName(q.Name) != nil {
		return
	}
	var info LeaseInfo
	if s := m.acc[q.Name]; s != nil {
		info = s.info(now)
	}
	m.send(from, &QueryReply{Name: q.Name, ID: q.ID, Holder: info})
}
