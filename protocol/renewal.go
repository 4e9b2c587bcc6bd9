package protocol

// Keeping a tenure: one-phase renewal at the tenure's own ballot (R11),
// its timing, and resends of any attempt to the voters that have not
// answered.

import (
	"time"

	"github.com/tenure-dev/tenure/quorum"
)

// renewFrom is when a tenure whose last round started at start renews next:
// half its attempt duration later, so that a lost round leaves half the
// lease for retries. It is aligned down to a grid of D_P/8 so that leases of
// one TTL renew in the same instant and share datagrams.
func (l *claim) renewFrom(start Time) Time {
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

// startRenewal sends a one-phase renewal: Propose at the tenure's own ballot,
// its attempt deadline fixed now (R11).
func (m *Machine) startRenewal(now Time, l *claim) {
	l.stage = stageRenewing
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
func (l *claim) resendAfter(m *Machine) time.Duration {
	first := m.cfg.RetryInterval
	if l.stage == stageRenewing {
		first = max(first, l.dp/16)
	}
	d := first << min(l.att.resends, 16)
	return max(min(d, l.dp/8), m.cfg.RetryInterval)
}

// resend repeats the current attempt's request to voters that have not
// answered. The attempt keeps its deadline: a late copy can only make the
// acceptors' exclusion start later, never the holder's authority end later.
func (m *Machine) resend(now Time, l *claim) {
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

// renewalAccepted counts voter idx's accept of a renewal; a majority in time
// extends the tenure.
func (m *Machine) renewalAccepted(now Time, l *claim, idx int) {
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
	l.stage = stageHeld
	l.renewAt = l.renewFrom(l.att.start)
	// R11: authority is extended only by this fresh majority, to this
	// attempt's own prepare-time deadline.
	if nd := l.att.deadline - Time(l.margin); now < nd && nd > l.deadline {
		l.deadline = nd
		m.emit(Event{Kind: EventRenewed, Name: l.name, Token: l.ballot.Token(), Deadline: l.deadline, TTL: l.ttl, Started: l.att.start})
	}
	m.schedule(l, l.nextTimer(m))
}
