package protocol

// Release needs no answer: a lost one costs liveness (the lease expires at
// the voters), never safety. Each Release is sent twice: at the first Tick
// after it was queued, and once more a RetryInterval later, so that one lost
// datagram does not make the next holder wait for expiry.

type pendingRelease struct {
	name   string
	ballot Ballot
	at     Time
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
		m.broadcast(&Release{Name: r.name, Ballot: r.ballot})
		r.at = now.Add(m.cfg.RetryInterval)
		q.repeats = append(q.repeats, r)
	}
	q.fresh = shift(q.fresh, n)
	n = 0
	for ; n < len(q.repeats) && q.repeats[n].at <= now; n++ {
		r := q.repeats[n]
		m.broadcast(&Release{Name: r.name, Ballot: r.ballot})
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
	m.relq.fresh = append(m.relq.fresh, pendingRelease{name: name, ballot: b, at: now})
	m.relq.reschedule(m)
}
