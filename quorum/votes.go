package quorum

import "math/bits"

// Result is the state of a vote.
type Result int

// Results of a vote. The zero value is invalid on purpose.
const (
	// Pending means neither outcome is decided yet.
	Pending Result = 1 + iota
	// Won means a strict majority of distinct voters said yes.
	Won
	// Lost means so many distinct voters said no (or cannot say yes) that a
	// majority of yes is no longer possible.
	Lost
)

// String names the result.
func (r Result) String() string {
	switch r {
	case Pending:
		return "pending"
	case Won:
		return "won"
	case Lost:
		return "lost"
	}
	return "invalid"
}

// Votes records yes and no answers by voter identity (R2). Recording the
// same voter twice changes nothing; a voter that first said yes and then no
// (or the reverse) keeps its first answer, because a duplicated or replayed
// datagram must never flip a tally. The zero value is an empty tally.
type Votes struct {
	yes, no uint64
}

// Reset clears the tally.
func (v *Votes) Reset() { *v = Votes{} }

// Yes records a yes from voter i. It reports whether the vote was new.
func (v *Votes) Yes(i int) bool {
	bit := uint64(1) << uint(i)
	if (v.yes|v.no)&bit != 0 {
		return false
	}
	v.yes |= bit
	return true
}

// No records a no from voter i. It reports whether the vote was new.
func (v *Votes) No(i int) bool {
	bit := uint64(1) << uint(i)
	if (v.yes|v.no)&bit != 0 {
		return false
	}
	v.no |= bit
	return true
}

// Voted reports whether voter i has answered either way.
func (v Votes) Voted(i int) bool { return (v.yes|v.no)&(uint64(1)<<uint(i)) != 0 }

// YesCount is the number of distinct voters that said yes.
func (v Votes) YesCount() int { return bits.OnesCount64(v.yes) }

// NoCount is the number of distinct voters that said no.
func (v Votes) NoCount() int { return bits.OnesCount64(v.no) }

// Result decides the vote over s.
func (v Votes) Result(s Set) Result {
	maj := s.Majority()
	if s.Len() == 0 {
		return Lost
	}
	if v.YesCount() >= maj {
		return Won
	}
	if s.Len()-v.NoCount() < maj {
		return Lost
	}
	return Pending
}
