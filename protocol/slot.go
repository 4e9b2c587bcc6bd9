package protocol

import "time"

// slot is the acceptor's record for one lease name: its promise (R4) and
// the lease it accepted, if any (R5), with the proposers waiting on that
// lease. Machine.slots holds one per name in use; an idle slot is
// garbage-collected (its promise survives in Machine.forgotten). SlotState
// is its persisted form.
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
	grace     handoff // after a release that others waited for
	// The notices (notice.go): handedOff once the accepted lease's end
	// (release or expiry here) has been handed to a waiter; chaining while
	// the next waiter is to be told at chainAt if the name is still free.
	handedOff bool
	chaining  bool
	chainAt   Time
	touched   Time
	tk        ticket
}

// handoff is the grace after a release (or an expiry at this voter) that
// other proposers were waiting for: this voter opens only to favoured, the waiter it registered first,
// until until. The releaser's next acquire and the waiters that retried
// faster (voters answer their own Prepares locally) are turned away, so
// handoffs go round instead of to the fastest node (fairness; blocking is
// always safe, and after the grace anyone may try).
type handoff struct {
	favoured string // "" when no grace was granted
	until    Time
}

// turnsAway reports whether the grace turns a Prepare from node away at now.
func (h handoff) turnsAway(node string, now Time) bool {
	return h.favoured != "" && node != h.favoured && now < h.until
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

// graceInfo describes the released lease for the rest of its handoff
// grace at now: Remaining is what is left of the grace, not of the lease
// (answers that carry it say ReasonHandoff).
func (s *slot) graceInfo(now Time) LeaseInfo {
	return LeaseInfo{Owner: s.owner, Ballot: s.ballot, Remaining: s.grace.until.Sub(now), Value: s.value}
}

// addWaiter queues node as a waiter of s, unless it is queued already or
// the queue is full, and wakes s when the lease in the way ends.
func (m *Machine) addWaiter(s *slot, node string) {
	for _, w := range s.waiters {
		if w == node {
			return
		}
	}
	if len(s.waiters) < maxWaiters {
		s.waiters = append(s.waiters, node)
		m.schedule(s, s.wake(m))
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
	m.notices(now, s)
	if s.live(now) || now < s.touched.Add(m.idleGC()) || s.chaining {
		m.schedule(s, s.wake(m))
		return
	}
	if m.cfg.Weaken.has(WeakForgetPromise) {
		delete(m.slots, s.name)
		return
	}
	if s.promised.Cmp(m.forgotten) > 0 {
		m.forgotten = s.promised
	}
	if s.ballot.Cmp(m.forgotten) > 0 {
		m.forgotten = s.ballot
	}
	delete(m.slots, s.name)
}
