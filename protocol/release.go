package protocol

import "slices"

// Release needs no answer: a lost one costs liveness (the lease expires at
// the voters), never safety. Each Release is sent twice: at the first Tick
// after it was queued, and once more a RetryInterval later, so that one lost
// datagram does not make the next holder wait for expiry.

type pendingRelease struct {
	name   string
	ballot Ballot
	at     Time
	// to names the voters to ask, fixed when it was queued (an adopted
	// configuration renumbers the voters, so indices would not do); nil
	// asks every voter of the configuration when it leaves.
	to []string
}

// releaseQueue holds Releases in two FIFOs whose instants never decrease:
// fresh ones (first copy) and repeats (second copy). It is the machine's one
// timer owner for them, so a burst of releases costs O(1) each.
type releaseQueue struct {
	tk      ticket
	fresh   []pendingRelease
	repeats []pendingRelease
}

func (q *releaseQueue) ticket() *ticket { return &q.tk }

func (q *releaseQueue) fire(m *Machine, now Time) {
	n := 0
	for ; n < len(q.fresh) && q.fresh[n].at <= now; n++ {
		r := q.fresh[n]
		m.sendRelease(r)
		r.at = now.Add(m.cfg.RetryInterval)
		q.repeats = append(q.repeats, r)
	}
	q.fresh = shift(q.fresh, n)
	n = 0
	for ; n < len(q.repeats) && q.repeats[n].at <= now; n++ {
		r := q.repeats[n]
		m.sendRelease(r)
	}
	q.repeats = shift(q.repeats, n)
	q.reschedule(m)
}

// shift drops the first n entries, reusing the backing array once empty.
func shift(s []pendingRelease, n int) []pendingRelease {
	clear(s[:n])
	s = s[n:]
	if len(s) == 0 {
		return s[:0:0]
	}
	return s
}

func (q *releaseQueue) reschedule(m *Machine) {
	next := Never
	if len(q.fresh) > 0 {
		next = q.fresh[0].at
	}
	if len(q.repeats) > 0 {
		next = min(next, q.repeats[0].at)
	}
	m.schedule(q, next)
}

// queueRelease queues Release(self, b) for name. The first copy leaves at
// the next Tick, not in the current Output: the driver delivers an Output's
// events only after sending its messages, and R10 wants the holder to learn
// that its tenure ended (EventReleased or EventLost, in this Output) before
// any voter clears the lease. NextWake returns now, so the driver ticks at
// once after handling this Output.
func (m *Machine) queueRelease(now Time, name string, b Ballot) {
	m.queueReleaseSkip(now, name, b, 0)
}

// queueReleaseSkip is queueRelease for an attempt that failed: the voters
// in skip (by index in the current configuration) refused its ballot, so
// they recorded nothing to clear. If every voter refused, nothing is
// queued.
func (m *Machine) queueReleaseSkip(now Time, name string, b Ballot, skip uint64) {
	if skip == 0 {
		m.queueReleaseTo(now, name, b, nil)
		return
	}
	if to := m.votersExcept(skip); len(to) > 0 {
		m.queueReleaseTo(now, name, b, to)
	}
}

// queueReleaseTo queues Release(self, b) for name to the voters named in
// to (nil: every voter when it leaves).
func (m *Machine) queueReleaseTo(now Time, name string, b Ballot, to []string) {
	m.relq.fresh = append(m.relq.fresh, pendingRelease{name: name, ballot: b, at: now, to: to})
	m.relq.reschedule(m)
}

// votersIn names the voters of the current configuration whose index is
// in set.
func (m *Machine) votersIn(set uint64) []string {
	var out []string
	for i := range m.voters.Len() {
		if set&(1<<uint(i)) != 0 {
			out = append(out, m.voters.Name(i))
		}
	}
	return out
}

// votersExcept names the voters whose index is not in set.
func (m *Machine) votersExcept(set uint64) []string { return m.votersIn(^set) }

// sendRelease sends r to the voters it names, or to every voter.
func (m *Machine) sendRelease(r pendingRelease) {
	msg := &Release{Name: r.name, Ballot: r.ballot}
	if r.to != nil {
		for _, p := range r.to {
			m.send(p, msg)
		}
		return
	}
	for i := range m.voters.Len() {
		m.send(m.voters.Name(i), msg)
	}
}

// maxUnsettled bounds how many failed attempts a machine remembers for
// late accepts; beyond it the oldest is forgotten (its lease, if a late
// accept recorded one, expires at that voter).
const maxUnsettled = 256

// unsettledAttempt is a one-round attempt that a majority refused while
// some voters had not answered. Those voters most likely refuse it too, so
// no Release goes to them at once; if one accepts it late, its Accepted
// (matched by attempt) brings that voter its Release.
type unsettledAttempt struct {
	name    string
	attempt uint64
	ballot  Ballot
	pending []string // voters that had not answered
}

// noteUnsettled remembers the voters in pending for a late accept of
// attempt, at ballot.
func (m *Machine) noteUnsettled(name string, attempt uint64, b Ballot, pending []string) {
	if len(pending) == 0 {
		return
	}
	if len(m.unsettled) >= maxUnsettled {
		m.unsettled = append(m.unsettled[:0], m.unsettled[1:]...)
	}
	m.unsettled = append(m.unsettled, unsettledAttempt{name: name, attempt: attempt, ballot: b, pending: pending})
}

// lateAccepted handles an Accepted that matches no current attempt: if it
// is a voter's late accept of an unsettled attempt, that voter gets the
// attempt's Release (R10: this node never acted under the ballot).
func (m *Machine) lateAccepted(now Time, from string, a *Accepted) {
	for i := range m.unsettled {
		u := &m.unsettled[i]
		j := slices.Index(u.pending, from)
		if u.attempt != a.Attempt || u.name != a.Name || j < 0 {
			continue
		}
		u.pending = slices.Delete(u.pending, j, j+1)
		m.queueReleaseTo(now, u.name, u.ballot, []string{from})
		if len(u.pending) == 0 {
			m.unsettled = append(m.unsettled[:i], m.unsettled[i+1:]...)
		}
		return
	}
}

// releaseFailed queues the Release of l's current attempt, which never won
// (it failed or was cancelled in phase two). Voters that refused its ballot
// recorded nothing and are not asked. After two phases every other voter
// is asked: a majority promised this very attempt, so no later incarnation
// of this node can win again at its ballot (R20), and a Release that
// arrives late clears only this attempt's lease. A one-round attempt had no
// such majority: a later incarnation that reuses its ballot can win at
// voters that never saw it, and a Release of that ballot arriving there
// late would clear the later tenure (R10). So it is sent only to the voters
// whose Accepted of this attempt arrived, whose promise now names it; the
// voters that have not answered get one only if they accept it late
// (lateAccepted), and a lost Accepted leaves their lease to expire, which
// costs liveness, never safety.
func (m *Machine) releaseFailed(now Time, l *claim) {
	skip := l.att.refused
	if l.att.oneRound {
		var pending uint64
		for i := range m.voters.Len() {
			if !l.att.votes.Voted(i) {
				pending |= 1 << uint(i)
			}
		}
		m.noteUnsettled(l.name, l.att.id, l.att.ballot, m.votersIn(pending))
		skip |= pending
	}
	m.queueReleaseSkip(now, l.name, l.att.ballot, skip)
}
