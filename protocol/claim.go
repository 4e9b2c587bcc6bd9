package protocol

// The proposer's state for one lease name: a claim moves through the
// stages waiting -> preparing -> proposing -> held <-> renewing, and its one
// timer (nextTimer, fire) drives retries, resends, renewals and the loss of
// a tenure at its deadline. Requests are in requests.go, an attempt and its
// answers in attempt.go, renewal and resends in renewal.go.

import (
	"time"

	"github.com/tenure-dev/tenure/quorum"
)

// stage is where a claim is in its life; fire, nextTimer and the answer
// handlers act by it.
type stage int

const (
	stageWaiting   stage = 1 + iota // between attempts (backoff, or blocked by a holder)
	stagePreparing                  // phase one in flight
	stageProposing                  // phase two in flight
	stageHeld                       // a tenure, no renewal in flight
	stageRenewing                   // a tenure with a one-phase renewal in flight (R11)
)

// held reports whether the claim is a tenure (renewing or not).
func (l *claim) held() bool { return l.stage == stageHeld || l.stage == stageRenewing }

// tryLimit is how many rounds a non-waiting request makes against
// contention (not against a holder) before it fails with ErrContended.
const tryLimit = 3

// attempt is one round: its ballot, its prepare-time deadline (R6) and the
// answers so far, counted by voter identity (R2).
type attempt struct {
	id        uint64
	ballot    Ballot
	start     Time // when its first message was sent
	deadline  Time // d = start + D_P, stored as data (R6)
	sentAt    Time // last (re)transmission
	votes     quorum.Votes
	yesN      int // only under WeakCountVotes
	noN       int
	blocked   LeaseInfo    // the strongest holder report
	blockedBy quorum.Votes // the voters that reported that very lease
	maxWait   time.Duration
	held      bool // a voter reported a live lease, not only a handoff grace (notice.go)
	rejected  bool
	lost      bool   // a majority refused it (not a timeout)
	refused   uint64 // voters (by index) that refused its Propose
	oneRound  bool   // sent as a one-round Propose, no Prepare (oneround.go)
	vacant    bool   // a Vacant notice arrived while this attempt ran
	resends   int    // how many times this attempt was sent again
}

// claim is the proposer's state for one lease name on this node: the
// request (from Acquire until it is won, fails or is cancelled), the attempt
// under way, and, once won, the tenure and its renewals. It is dropped when
// the request fails or the tenure ends.
type claim struct {
	name      string
	tk        ticket
	wait      bool
	tries     int
	ttl       time.Duration
	dp        time.Duration // D_P for ttl
	margin    time.Duration // m for ttl
	lockDelay time.Duration
	value     []byte

	stage     stage
	retryAt   Time
	backoff   time.Duration
	seen      Ballot // highest ballot any acceptor reported for the name
	att       attempt
	oneRounds int  // one-round attempts made (oneround.go)
	twoPhase  bool // the rest of the request goes through two phases

	// The tenure, in stageHeld and stageRenewing.
	ballot   Ballot
	deadline Time // usable deadline d - m; only ever moves later
	renewAt  Time
}

func (l *claim) ticket() *ticket { return &l.tk }

func (m *Machine) dropClaim(l *claim) {
	m.schedule(l, Never)
	delete(m.claims, l.name)
}

func (l *claim) nextTimer(m *Machine) Time {
	switch l.stage {
	case stageWaiting:
		return l.retryAt
	case stagePreparing, stageProposing:
		return min(l.att.deadline, l.att.sentAt.Add(l.resendAfter(m)))
	case stageHeld:
		return min(l.deadline, l.renewAt)
	case stageRenewing:
		return min(l.deadline, l.att.sentAt.Add(l.resendAfter(m)))
	}
	return Never
}

// fire handles the claim's timer: retries, renewal, loss at the deadline.
func (l *claim) fire(m *Machine, now Time) {
	switch l.stage {
	case stageWaiting:
		if now >= l.retryAt {
			m.startAttempt(now, l)
			return
		}
	case stagePreparing, stageProposing:
		if now >= l.att.deadline {
			m.attemptFailed(now, l)
			return
		}
		if now >= l.att.sentAt.Add(l.resendAfter(m)) {
			m.resend(now, l)
		}
	case stageHeld, stageRenewing:
		if now >= l.deadline {
			// Loss is reported at the deadline by this node's own clock, with
			// no word from the network (R11).
			m.loseTenure(l)
			return
		}
		if l.stage == stageRenewing && now >= l.att.sentAt.Add(l.resendAfter(m)) {
			m.resend(now, l)
		} else if l.stage == stageHeld && now >= l.renewAt {
			m.startRenewal(now, l)
		}
	}
	m.schedule(l, l.nextTimer(m))
}
