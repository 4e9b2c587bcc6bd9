package node

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	"github.com/tenure-dev/tenure/protocol"
)

// Reasons a request found the cluster unavailable (UnavailableError.Reason).
const (
	// ReasonNoQuorum: fewer than a majority of voters answered.
	ReasonNoQuorum = "no_quorum"
	// ReasonQuarantined: fewer than a majority answered, and this node, a
	// voter, sits out the quarantine of a crashed start or waits for its
	// start to be confirmed (R9, R18): it does not answer as an acceptor.
	ReasonQuarantined = "quarantined"
	// ReasonConfigMismatch: fewer than a majority answered, and members of
	// another cluster ID or voter list were seen: each side refuses the
	// other's datagrams (R17).
	ReasonConfigMismatch = "config_mismatch"
)

// readyProbeName is the lease name a Ready probe queries. A query is
// read-only at the voters: the name may be a user's too.
const readyProbeName = "tenure.readyz"

// UnavailableError is the error of a request that failed because too few
// voters answered, not because of a holder or a competing proposer. It
// matches ErrUnavailable and ErrNoQuorum with errors.Is, and ErrQuarantined
// when this node's quarantine is the reason given.
type UnavailableError struct {
	// Reason is ReasonNoQuorum, ReasonQuarantined or ReasonConfigMismatch.
	Reason string
	// Answered is how many voters (this one included) answered while the
	// request ran; Voters how many there are.
	Answered, Voters int
	// QuarantineLeft is how long this voter's quarantine has to go (zero
	// unless Reason is ReasonQuarantined).
	QuarantineLeft time.Duration
	// Mismatched is how many members run another cluster ID or voter list.
	Mismatched int
}

// Error says why, with the counts: "no quorum: 1 of 3 voters answered",
// "quarantined for 12.3s more (0 of 3 voters answered)".
func (e *UnavailableError) Error() string {
	counts := fmt.Sprintf("%d of %d voters answered", e.Answered, e.Voters)
	switch e.Reason {
	case ReasonQuarantined:
		return fmt.Sprintf("quarantined for %.1fs more (%s)", e.QuarantineLeft.Seconds(), counts)
	case ReasonConfigMismatch:
		return fmt.Sprintf("no quorum: %s; %d member(s) run another cluster ID or voter list and are refused (R17)", counts, e.Mismatched)
	}
	return "no quorum: " + counts
}

// Is matches ErrUnavailable, ErrNoQuorum, and ErrQuarantined for the
// quarantined reason.
func (e *UnavailableError) Is(target error) bool {
	switch target {
	case ErrUnavailable, ErrNoQuorum:
		return true
	case ErrQuarantined:
		return e.Reason == ReasonQuarantined
	}
	return false
}

// answers records, per voter, when this node last received an acceptor's
// answer from it (Promise, Reject, Accepted, QueryReply): the node-local
// instant plus one, 0 for never. The owner goroutine writes it; anyone
// reads it.
type answers struct {
	tab atomic.Pointer[answerTable] // the adopted configuration's voters
}

// answerTable is the answers of one voter set; replaced whole when the
// adopted configuration changes (set).
type answerTable struct {
	voters []string // sorted: every voter of the adopted configuration
	at     []atomic.Int64
}

func newAnswers(voters []string) *answers {
	a := &answers{}
	a.set(voters)
	return a
}

// set makes voters the voter set answers are kept for, keeping what is
// known of the voters it shares with the set before.
func (a *answers) set(voters []string) {
	v := sortedCopy(voters)
	t := &answerTable{voters: v, at: make([]atomic.Int64, len(v))}
	if old := a.tab.Load(); old != nil {
		for i, name := range v {
			if j, ok := slices.BinarySearch(old.voters, name); ok {
				t.at[i].Store(old.at[j].Load())
			}
		}
	}
	a.tab.Store(t)
}

// load is the current table.
func (a *answers) load() *answerTable { return a.tab.Load() }

// note records an answer from name at now, if name is a voter and msg an
// acceptor's answer.
func (a *answers) note(name string, msg protocol.Message, now protocol.Time) {
	switch msg.Type() {
	case protocol.TypePromise, protocol.TypeReject, protocol.TypeAccepted, protocol.TypeQueryReply:
	default:
		return
	}
	t := a.tab.Load()
	if i, ok := slices.BinarySearch(t.voters, name); ok {
		t.at[i].Store(int64(now) + 1)
	}
}

// last is when voter i last answered, and whether it ever did.
func (t *answerTable) last(i int) (protocol.Time, bool) {
	v := t.at[i].Load()
	return protocol.Time(v - 1), v != 0
}

// isVoter reports whether this node is a voter of the adopted
// configuration.
func (n *Node) isVoter() bool { return n.view.Load().voter }

// selfAnswers reports whether this node answers its own requests as an
// acceptor: a voter out of quarantine and verified.
func (n *Node) selfAnswers() bool {
	if !n.isVoter() {
		return false
	}
	return !n.Stats().Quarantined
}

// answeredSince counts the voters that answered since the node-local
// instant since, this node included when it answers as an acceptor.
func (n *Node) answeredSince(since protocol.Time) int {
	return n.answeredIn(n.answers.load(), since)
}

func (n *Node) answeredIn(t *answerTable, since protocol.Time) int {
	count := 0
	for i, v := range t.voters {
		if v == n.cfg.Name {
			if n.selfAnswers() {
				count++
			}
			continue
		}
		if at, ok := t.last(i); ok && at >= since {
			count++
		}
	}
	return count
}

// unavailable returns an *UnavailableError if fewer than a majority of
// voters answered since the node-local instant since, else nil.
func (n *Node) unavailable(since protocol.Time) *UnavailableError {
	t := n.answers.load()
	voters := len(t.voters)
	got := n.answeredIn(t, since)
	if got > voters/2 {
		return nil
	}
	e := &UnavailableError{Reason: ReasonNoQuorum, Answered: got, Voters: voters}
	s := n.Stats()
	switch {
	case n.isVoter() && s.Quarantined:
		e.Reason, e.QuarantineLeft = ReasonQuarantined, s.QuarantineLeft
	case s.MismatchedMembers > 0:
		e.Reason, e.Mismatched = ReasonConfigMismatch, s.MismatchedMembers
	}
	return e
}

// asUnavailable turns the error of a request that began at since into an
// *UnavailableError when too few voters answered it: contention is
// reported only when a majority did answer. A ctx error is kept, with the
// reason wrapped in it, so that errors.Is finds both.
func (n *Node) asUnavailable(err error, since protocol.Time) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrContended):
		if u := n.unavailable(since); u != nil {
			return u
		}
	case errors.Is(err, context.DeadlineExceeded):
		if u := n.unavailable(since); u != nil {
			return fmt.Errorf("%w: %w", err, u)
		}
	}
	return err
}

// VoterReach is one voter's reachability as this node saw it (Readiness).
type VoterReach struct {
	// Name is the voter's name; Self is true for this node.
	Name string
	Self bool
	// Answered is true if the voter answered the Ready probe (for this
	// node: it answers as an acceptor, out of quarantine). A voter that
	// answers after a majority did may show false.
	Answered bool
	// LastAnswer is how long ago it last answered any request of this
	// node; -1 if never (or Self).
	LastAnswer time.Duration
}

// Readiness is the answer of Ready.
type Readiness struct {
	// Voters lists every configured voter, sorted by name.
	Voters []VoterReach
	// Answered is how many voters answered the probe (this one included).
	Answered int
	// Quarantined and QuarantineLeft are this voter's quarantine or start
	// verification (R9, R18), as in Stats.
	Quarantined    bool
	QuarantineLeft time.Duration
}

// Ready asks every voter a read-only query and reports whether a majority
// answered and this node is out of quarantine. The error is nil when the
// node can serve: an *UnavailableError when too few voters answered,
// one with ReasonQuarantined when this node is a voter in quarantine or
// verifying its start (even if a majority of the others answered), or
// ErrClosed / ctx.Err(). The probe gives up after the protocol's query
// time (25 RetryIntervals) or when ctx ends.
func (n *Node) Ready(ctx context.Context) (Readiness, error) {
	since := n.now()
	_, err := n.Holder(ctx, readyProbeName)
	switch {
	case err == nil, errors.Is(err, ErrNoHolder), errors.Is(err, ErrNoQuorum):
	case errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil:
		// Too few answered before ctx ended: say how many.
	default:
		return Readiness{}, err
	}
	r := n.readiness(since)
	if u := n.unavailable(since); u != nil {
		return r, u
	}
	if r.Quarantined && n.isVoter() {
		return r, &UnavailableError{Reason: ReasonQuarantined, Answered: r.Answered, Voters: len(r.Voters), QuarantineLeft: r.QuarantineLeft}
	}
	return r, nil
}

// readiness describes the voters' answers since the node-local instant
// since.
func (n *Node) readiness(since protocol.Time) Readiness {
	now := n.now()
	s := n.Stats()
	tab := n.answers.load()
	r := Readiness{Quarantined: s.Quarantined, QuarantineLeft: s.QuarantineLeft, Answered: n.answeredIn(tab, since)}
	for i, v := range tab.voters {
		vr := VoterReach{Name: v, LastAnswer: -1}
		if v == n.cfg.Name {
			vr.Self, vr.Answered = true, n.selfAnswers()
		} else if t, ok := tab.last(i); ok {
			vr.LastAnswer = time.Duration(now - t)
			vr.Answered = t >= since
		}
		r.Voters = append(r.Voters, vr)
	}
	return r
}
