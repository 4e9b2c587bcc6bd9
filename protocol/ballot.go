package protocol

import (
	"fmt"
	"math"
	"time"
)

// Time is an instant on one node's own local clock, in nanoseconds from an
// arbitrary origin. Instants of two nodes are never compared and never cross
// the wire (R13); only durations do.
type Time int64

// Add returns t+d.
func (t Time) Add(d time.Duration) Time { return t + Time(d) }

// Sub returns the duration t-u. Callers compare before subtracting (R13).
func (t Time) Sub(u Time) time.Duration { return time.Duration(t - u) }

// Never is the instant that is later than every real instant; NextWake
// returns it when the machine has nothing to wait for.
const Never Time = 1<<63 - 1

// Ballot identifies one proposal (R3). Acceptors order ballots by
// (Era, Round) only; Node breaks no ties: an acceptor that promised
// (Era, Round) to one node rejects the same (Era, Round) from another, so
// each (Era, Round) can win for at most one node and the fencing token can
// drop the node part.
type Ballot struct {
	Era   uint32
	Round uint32
	Node  string
}

// Cmp compares the (Era, Round) of two ballots: -1, 0 or +1.
func (b Ballot) Cmp(o Ballot) int {
	switch {
	case b.Era < o.Era:
		return -1
	case b.Era > o.Era:
		return 1
	case b.Round < o.Round:
		return -1
	case b.Round > o.Round:
		return 1
	}
	return 0
}

// Same reports whether b and o are the same ballot, node included.
func (b Ballot) Same(o Ballot) bool { return b.Cmp(o) == 0 && b.Node == o.Node }

// IsZero reports whether b is the zero ballot (no promise, no lease).
func (b Ballot) IsZero() bool { return b.Era == 0 && b.Round == 0 && b.Node == "" }

// Token is the fencing token of a tenure won with this ballot (R12): the era
// in the high 32 bits, the round in the low 32 bits. Tokens of tenures of one
// lease name strictly increase. Rounds never wrap: when a node's rounds run
// out it moves to the next era, and when eras run out it refuses to propose
// (ErrTokensExhausted).
func (b Ballot) Token() uint64 { return uint64(b.Era)<<32 | uint64(b.Round) }

// TokenBallot unpacks a token into its era and round.
func TokenBallot(token uint64) (era, round uint32) {
	return uint32(token >> 32), uint32(token)
}

// String formats the ballot as era.round@node.
func (b Ballot) String() string { return fmt.Sprintf("%d.%d@%s", b.Era, b.Round, b.Node) }

// observeEra raises the era floor to e if e is higher; the new floor goes to
// the driver to persist before any message of this output leaves (R12).
func (m *Machine) observeEra(e uint32) {
	if e > m.era {
		m.era = e
		m.round = 0
		m.out.PersistEra = e
	}
}

// nextBallot picks a ballot above everything seen for the name (R3). It
// moves to the next era when rounds run out and reports false when eras run
// out too.
func (m *Machine) nextBallot(seen Ballot) (Ballot, bool) {
	m.observeEra(seen.Era)
	r := m.round
	if seen.Era == m.era && seen.Round > r {
		r = seen.Round
	}
	if r == math.MaxUint32 {
		if m.era == math.MaxUint32 {
			m.tokensExhausted = true
			return Ballot{}, false
		}
		m.observeEra(m.era + 1)
		r = 0
	}
	m.round = r + 1
	return Ballot{Era: m.era, Round: m.round, Node: m.cfg.Self}, true
}

func (m *Machine) nextAttempt() uint64 {
	m.attempts++
	if uint32(m.attempts) == 0 { // the low half ran out: a new tag
		m.attempts = m.newAttemptTag() + 1
	}
	return m.attempts
}

// newAttemptTag is a fresh random high half for attempt ids (never zero).
func (m *Machine) newAttemptTag() uint64 { return uint64(m.rnd.Int64N(1<<31)+1) << 32 }
