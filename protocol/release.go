package protocol

// releaseCopies is how many times a Release is sent: once at once and once
// more a RetryInterval later, so that one lost datagram does not make the
// next holder wait for expiry. Release needs no answer: a lost one costs
// liveness (the lease expires), never safety.
const releaseCopies = 2

type pendingRelease struct {
	name   string
	ballot Ballot
	left   int
	at     Time
}

// releaseQueue resends queued Release messages; it is the machine's one
// timer owner for them.
type releaseQueue struct{ tk ticket }

func (q *releaseQueue) ticket() *ticket { return &q.tk }

func (q *releaseQueue) fire(m *Machine, now Time) {
	keep := m.releases[:0]
	for _, r := range m.releases {
		if r.at <= now {
			m.broadcast(&Release{Name: r.name, Ballot: r.ballot})
			r.left--
			r.at = now.Add(m.cfg.RetryInterval)
		}
		if r.left > 0 {
			keep = append(keep, r)
		}
	}
	clear(m.releases[len(keep):])
	m.releases = keep
	m.scheduleReleases()
}

func (m *Machine) scheduleReleases() {
	next := Never
	for _, r := range m.releases {
		next = min(next, r.at)
	}
	m.schedule(&m.relq, next)
}

// queueRelease queues Release(self, b) for name. The first copy leaves at
// the next Tick, not in the current Output: the driver delivers an Output's
// events only after sending its messages, and R10 wants the holder to learn
// that its tenure ended (EventReleased or EventLost, in this Output) before
// any voter clears the lease. NextWake returns now, so the driver ticks at
// once after handling this Output.
func (m *Machine) queueRelease(now Time, name string, b Ballot) {
	m.releases = append(m.releases, pendingRelease{name: name, ballot: b, left: releaseCopies, at: now})
	m.scheduleReleases()
}
