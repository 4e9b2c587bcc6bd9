//go:build mutants

package protocol

import (
	"testing"
	"time"
)

// These tests prove that the rule tests can fail: each switches one
// weakening on and asserts that the rule test's own check now reports the
// violation. Run them with: go test -tags mutants ./protocol -run Mutant

func weaken(w Weakening) func(*Config) {
	return func(c *Config) { c.Weaken.Enable(w) }
}

// R2: counting votes as a number lets a duplicated Promise or Accepted make
// a majority; r2DuplicateMajority must see it.
func TestMutantR2CountVotes(t *testing.T) {
	if prepare, accept := r2DuplicateMajority(t, nil); prepare || accept {
		t.Fatal("R2 violated without the weakening")
	}
	prepare, accept := r2DuplicateMajority(t, weaken(WeakCountVotes))
	if !prepare || !accept {
		t.Fatalf("R2 check did not detect WeakCountVotes: prepare=%v accept=%v", prepare, accept)
	}
}

// R6: a deadline started at the prepare majority lets a majority that
// completes after d still propose; r6ProposeAt must see it.
func TestMutantR6LateTimer(t *testing.T) {
	late := func(dp time.Duration) time.Duration { return dp + time.Millisecond }
	if r6ProposeAt(t, nil, late) {
		t.Fatal("R6 violated without the weakening")
	}
	if !r6ProposeAt(t, weaken(WeakLateTimer), late) {
		t.Fatal("R6 check did not detect WeakLateTimer")
	}
}

// R7: counting a report of one's own lease as open lets a fresh acquire
// propose over a stale lease; r7OwnLeaseOpens must see it.
func TestMutantR7OwnerIsMeOpen(t *testing.T) {
	for _, wait := range []bool{false, true} {
		if got, _ := r7OwnLeaseOpens(t, nil, wait); got {
			t.Fatal("R7 violated without the weakening")
		}
		if got, _ := r7OwnLeaseOpens(t, weaken(WeakOwnerIsMeOpen), wait); !got {
			t.Fatalf("R7 check (wait=%v) did not detect WeakOwnerIsMeOpen", wait)
		}
	}
}

// R10: matching a Release by owner only erases a later tenure of the same
// owner; r10ReleaseClears must see it.
func TestMutantR10ReleaseOwnerOnly(t *testing.T) {
	stale := b(1, 4, "x")
	if r10ReleaseClears(t, nil, "x", stale) {
		t.Fatal("R10 violated without the weakening")
	}
	if !r10ReleaseClears(t, weaken(WeakReleaseOwnerOnly), "x", stale) {
		t.Fatal("R10 check did not detect WeakReleaseOwnerOnly")
	}
}

// R5: an acceptor that records a Propose over another owner's live lease
// is caught by r5ReplacesLive.
func TestMutantR5ReplaceLive(t *testing.T) {
	if r5ReplacesLive(t, nil) {
		t.Fatal("R5 violated without the weakening")
	}
	if !r5ReplacesLive(t, weaken(WeakReplaceLive)) {
		t.Fatal("R5 check did not detect WeakReplaceLive")
	}
}

// Every weakening has a mutant test above.
func TestMutantAllCovered(t *testing.T) {
	covered := map[Weakening]bool{WeakCountVotes: true, WeakLateTimer: true, WeakOwnerIsMeOpen: true, WeakReleaseOwnerOnly: true, WeakReplaceLive: true,
		WeakNoIdentity: true, WeakQuarantineFromConfig: true, WeakResendAnyAttempt: true, WeakTrustCleanState: true}
	for _, w := range AllWeakenings() {
		if !covered[w] {
			t.Errorf("weakening %v has no mutant test", w)
		}
	}
}

// R17: without the identity check a datagram of another voter list is
// admitted; r17AdmitsForeign must see it.
func TestMutantR17NoIdentity(t *testing.T) {
	if !r17AdmitsForeign(t, weaken(WeakNoIdentity)) {
		t.Fatal("R17 check did not detect WeakNoIdentity")
	}
}

// R19: a quarantine sized from today's MaxTTL alone is shorter than the
// exclusions granted before the restart.
func TestMutantR19QuarantineFromConfig(t *testing.T) {
	b := Bounds{MaxTTL: 10 * time.Second, MaxExclusion: 15 * time.Second}
	if q := r19Quarantine(t, weaken(WeakQuarantineFromConfig), b); q >= 10*time.Second {
		t.Fatalf("R19 check did not detect WeakQuarantineFromConfig: quarantine %v", q)
	}
}

// R20: taking any equal-ballot Prepare as a resend promises a new
// incarnation's reused ballot.
func TestMutantR20ResendAnyAttempt(t *testing.T) {
	if !r20ResendOfOtherAttempt(t, weaken(WeakResendAnyAttempt)) {
		t.Fatal("R20 check did not detect WeakResendAnyAttempt")
	}
}

// R18: trusting a clean state without asking the peers opens a stale copy
// at once.
func TestMutantR18TrustCleanState(t *testing.T) {
	if !r18StaleCopyOpens(t, weaken(WeakTrustCleanState)) {
		t.Fatal("R18 check did not detect WeakTrustCleanState")
	}
}
