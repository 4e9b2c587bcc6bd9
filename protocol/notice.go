package protocol

// Waiting by notice. A proposer blocked by a live lease does not poll the
// voters: it waits for a Vacant notice, and polls (one Prepare round) only
// every waitPoll, in case every notice was lost or every voter that knew
// it forgot it in a restart. A voter keeps the proposers it turned away as
// a queue per name (slot.waiters) and, when the lease ends at this voter —
// released (onRelease) or run out on its clock (slot.fire) — it tells the
// first of them only, and favours it for a grace (handoff, slot.go). If the
// name is still free a chainStep later, it tells the next one, and so on
// down the queue until a lease is accepted again. So a waiter costs O(1)
// messages per TTL while nothing changes (a poll every waitPoll), and one
// release costs a bounded number of notices whatever the number of
// waiters, instead of waking them all at once.
//
// R14: notices are hints. Safety never depends on them: a notice only
// makes a proposer try sooner, and every try is judged by the voters as
// any other (R4, R5). A lost notice costs time, never safety: the chain
// goes on to the next waiter, and the waiter's own poll finds the name
// free.

import (
	"slices"
	"time"
)

// maxWaiters bounds how many blocked proposers an acceptor remembers per
// lease name for Vacant notices: at most maxWaiters node names per slot. A
// proposer turned away while the queue is full is not added; it learns of
// a vacancy by its own poll (waitPoll).
const maxWaiters = 1024

// waitPollTTLs is how many of its own TTLs a blocked proposer waits for a
// Vacant notice before it asks the voters again (at least the lease's
// reported remaining time).
const waitPollTTLs = 4

// waitPoll is how long the blocked claim l waits for a notice, given the
// longest remaining time the voters reported: never less than that time
// (a holder that renews is not polled before its lease could have run
// out), and at least waitPollTTLs of l's TTL.
func (m *Machine) waitPoll(l *claim, reported time.Duration) time.Duration {
	return max(min(reported, 2*m.cfg.MaxTTL), waitPollTTLs*l.ttl)
}

// chainStep is how long a voter gives the waiter it told of a vacancy to
// take the name before it tells the next one: a few round trips (a Vacant
// out, a Prepare back).
func (m *Machine) chainStep() time.Duration { return 4 * m.cfg.RetryInterval }

// handOff runs when the lease of s ended at this voter at now, by a
// release from ender or by running out (ender is then its owner). It
// favours the first waiter other than ender for a grace, tells it alone,
// and starts the chain; with no other waiter it tells ender, which may
// itself be waiting (its next acquire can overtake its Release).
func (m *Machine) handOff(now Time, s *slot, ender string) {
	s.handedOff = true
	s.grace = handoff{}
	i := slices.IndexFunc(s.waiters, func(w string) bool { return w != ender })
	if i < 0 {
		for _, w := range s.waiters {
			m.send(w, &Vacant{Name: s.name})
		}
		s.waiters = s.waiters[:0]
		s.chaining = false
		return
	}
	w := s.waiters[i]
	s.waiters = slices.Delete(s.waiters, i, i+1)
	s.grace = handoff{favoured: w, until: now.Add(m.cfg.RetryInterval)}
	m.send(w, &Vacant{Name: s.name})
	s.chaining, s.chainAt = true, now.Add(m.chainStep())
	m.schedule(s, s.wake(m))
}

// notifyNext tells the next waiter of s that the name is free, if it still
// is at now, and moves the chain on; it stops once a lease is live again
// or the queue is empty.
func (m *Machine) notifyNext(now Time, s *slot) {
	if s.live(now) || len(s.waiters) == 0 {
		s.chaining = false
		return
	}
	w := s.waiters[0]
	s.waiters = slices.Delete(s.waiters, 0, 1)
	m.send(w, &Vacant{Name: s.name})
	s.chainAt = now.Add(m.chainStep())
	m.schedule(s, s.wake(m))
}

// onPass handles a proposer's answer to a notice: it does not wait for
// name. It leaves the queue and the grace, and the next waiter is told at
// once if the name is still free. Each queued proposer that gave up costs
// one notice and one pass, once.
func (m *Machine) onPass(now Time, from, name string) {
	s := m.slots[name]
	if m.selfIdx < 0 || s == nil || s.live(now) {
		return
	}
	if i := slices.Index(s.waiters, from); i >= 0 {
		s.waiters = slices.Delete(s.waiters, i, i+1)
	}
	if s.grace.favoured == from {
		s.grace = handoff{} // nobody else to favour: the name is open to all
	}
	if s.chaining {
		m.notifyNext(now, s)
	}
}

// notices sends what falls due at now for s: the handoff when its lease
// ran out here with proposers waiting, the next link of the chain.
func (m *Machine) notices(now Time, s *slot) {
	switch {
	case s.live(now):
		s.chaining = false // a lease is live again: nothing to tell
	case s.owner != "" && !s.released && !s.handedOff && len(s.waiters) > 0:
		m.handOff(now, s, s.owner)
	case s.chaining && now >= s.chainAt:
		m.notifyNext(now, s)
	}
}

// progress postpones the chain of s: this voter has just promised a
// ballot, so someone is taking the name.
func (m *Machine) progress(now Time, s *slot) {
	if s.chaining {
		s.chainAt = now.Add(m.chainStep())
		m.schedule(s, s.wake(m))
	}
}

// wake is when s's timer must fire next: the end of its lease when
// proposers wait on it, the chain's next link, else garbage collection.
func (s *slot) wake(m *Machine) Time {
	if s.chaining {
		// The chain's next link comes first, and collection waits for the
		// chain: a voter paused past the slot's idle time that hands off
		// on waking must not be woken again at once (its idle time is
		// past), forever.
		return s.chainAt
	}
	at := max(s.blockedUntil(), s.touched.Add(m.idleGC()))
	if len(s.waiters) > 0 && s.owner != "" && !s.released && !s.handedOff {
		at = min(at, s.blockedUntil())
	}
	return at
}
