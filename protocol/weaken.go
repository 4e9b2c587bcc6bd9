package protocol

// Weakening names one deliberately broken rule. Each is a bug that shipped in
// a real lease implementation; the simulator must catch every one of them.
// They can be switched on only in builds with the "mutants" tag (see
// Weakenings); in production builds Weakenings is empty and every check
// below compiles to the correct rule.
type Weakening int

// The weakenings. Misconfigurations (drift, quarantine, era floor) are not
// here: they are ordinary settings of Config and Start.
const (
	// WeakLateTimer starts the attempt deadline when the prepare majority
	// arrives instead of when Prepare is sent (breaks R6).
	WeakLateTimer Weakening = 1 + iota
	// WeakOwnerIsMeOpen counts a reported lease owned by this node as open
	// in any attempt (breaks R7).
	WeakOwnerIsMeOpen
	// WeakReleaseOwnerOnly clears a lease on a Release that matches the owner
	// but not the ballot (breaks R10).
	WeakReleaseOwnerOnly
	// WeakCountVotes counts answers as a number instead of by voter identity
	// (breaks R2).
	WeakCountVotes
	// WeakReplaceLive lets an acceptor record a Propose over another owner's
	// live lease when the ballot is not below its promise, as classic Paxos
	// accept does (drops R5's defence in depth). R5 alone repairs the R7 bug
	// and, with the era floor, masks the R6 bug; the simulator switches this
	// on beside WeakOwnerIsMeOpen and WeakLateTimer to show that R7 and R6
	// are load-bearing on their own. For a one-round Propose, which no
	// Prepare precedes, R5 is load-bearing: there the weakening alone
	// gives two holders.
	WeakReplaceLive
	// WeakNoIdentity admits datagrams of any cluster identity (breaks R17):
	// nodes with different voter lists count each other's votes.
	WeakNoIdentity
	// WeakQuarantineFromConfig sizes a crashed start's quarantine from the
	// current MaxTTL only, ignoring the persisted bounds (breaks R19).
	WeakQuarantineFromConfig
	// WeakResendAnyAttempt takes a Prepare equal to the promise, from the
	// same node, as a resend whatever its attempt (breaks R20).
	WeakResendAnyAttempt
	// WeakTrustCleanState trusts a clean-shutdown state without asking the
	// other voters whether it is the latest (breaks R18: a restored copy of
	// a data dir forgets what it granted since).
	WeakTrustCleanState
	// WeakForgetPromise garbage-collects an idle slot without raising the
	// forgotten watermark to its promise (breaks R4: the promise for the
	// name falls, and a Prepare below it would be promised again). No
	// message shows it at once; Machine.CheckInvariants does, and the
	// simulator reports it as an invariant violation.
	WeakForgetPromise
	// WeakOneRoundNotAbove lets an acceptor accept a one-round Propose at
	// a ballot equal to its promise, of another node or attempt, not only
	// strictly above it (breaks the one-round acquire's R3/R12 condition:
	// a later tenure wins with the same token as the one before).
	WeakOneRoundNotAbove
	// WeakOneRoundOwnLive lets a one-round Propose replace the sender's own
	// live lease (breaks the one-round acquire's R7 condition: a tenure
	// this node abandoned, whose deadline an agent's client may still be
	// acting on, is taken over by the node's next acquire).
	WeakOneRoundOwnLive
	// WeakOneRoundLateDeadline fixes a one-round attempt's deadline when
	// its accept majority arrives instead of when the Propose is sent
	// (breaks R6/R8 for the one-round acquire: the holder's authority can
	// outlast the voters' exclusion).
	WeakOneRoundLateDeadline
	numWeakenings
)

// String names the weakening by the rule it breaks.
func (w Weakening) String() string {
	switch w {
	case WeakLateTimer:
		return "R6-late-timer"
	case WeakOwnerIsMeOpen:
		return "R7-owner-is-me-open"
	case WeakReleaseOwnerOnly:
		return "R10-release-owner-only"
	case WeakCountVotes:
		return "R2-count-votes"
	case WeakReplaceLive:
		return "R5-replace-live"
	case WeakNoIdentity:
		return "R17-no-identity"
	case WeakQuarantineFromConfig:
		return "R19-quarantine-from-config"
	case WeakResendAnyAttempt:
		return "R20-resend-any-attempt"
	case WeakTrustCleanState:
		return "R18-trust-clean-state"
	case WeakForgetPromise:
		return "R4-forget-promise"
	case WeakOneRoundNotAbove:
		return "R12-one-round-not-above"
	case WeakOneRoundOwnLive:
		return "R7-one-round-own-live"
	case WeakOneRoundLateDeadline:
		return "R6-one-round-late-deadline"
	}
	return reconfigWeakeningName(w) // reconfig_weaken.go, or "invalid"
}

// AllWeakenings lists every code-level weakening.
func AllWeakenings() []Weakening {
	out := make([]Weakening, 0, numWeakenings-1)
	for w := WeakLateTimer; w < numWeakenings; w++ {
		out = append(out, w)
	}
	return out
}
