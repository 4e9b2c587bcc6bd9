//go:build mutants

package protocol

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// These tests prove that the rule tests can fail: each switches one
// weakening on and asserts that the rule test's own check now reports the
// violation (for the rules checked by golden scripts, see
// script_mutants_test.go). Run them with: go test -tags mutants ./protocol -run Mutant

func weaken(w Weakening) func(*Config) {
	return func(c *Config) { c.Weaken.Enable(w) }
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

// Every weakening has a mutant test above, or a rule script that names it
// in a "# weakened by:" line (script_mutants_test.go runs those).
func TestMutantAllCovered(t *testing.T) {
	covered := map[Weakening]bool{WeakLateTimer: true, WeakReleaseOwnerOnly: true,
		WeakNoIdentity: true, WeakQuarantineFromConfig: true, WeakForgetPromise: true,
		// oneround_mutants_test.go
		WeakOneRoundNotAbove: true, WeakOneRoundOwnLive: true, WeakOneRoundLateDeadline: true}
	for _, ws := range scriptWeakenings(t) {
		for _, w := range ws {
			covered[w] = true
		}
	}
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

// R4: collecting an idle slot without raising the forgotten watermark lets
// its promise fall; CheckInvariants names it, and a Prepare below the old
// promise is then promised again.
func TestMutantR4ForgetPromise(t *testing.T) {
	if promised, err := r4CollectedSlot(t, nil); err != nil || promised {
		t.Fatalf("R4 violated without the weakening: %v, lower Prepare promised %v", err, promised)
	}
	promised, err := r4CollectedSlot(t, weaken(WeakForgetPromise))
	if !errors.Is(err, ErrInvariant) || !strings.Contains(err.Error(), "R4: promise") || !promised {
		t.Fatalf("R4 check did not detect WeakForgetPromise: %v, lower Prepare promised %v", err, promised)
	}
}

// r4CollectedSlot has acceptor a promise (1,5,x) for L, lets the slot sit
// idle until it is collected, and returns whether a Prepare (1,3,y), below
// the forgotten promise, is then promised, and what CheckInvariants says
// after the collection.
func r4CollectedSlot(t *testing.T, edit func(*Config)) (bool, error) {
	t.Helper()
	p := newProbe(t, "a", []string{"a", "b", "c"}, fresh, edit)
	p.step("x", &Prepare{Name: "L", Ballot: Ballot{Era: 1, Round: 5, Node: "x"}, Attempt: 1})
	if _, ok := p.m.slots["L"]; !ok {
		t.Fatal("no slot for L after a Prepare")
	}
	if err := p.m.CheckInvariants(); err != nil {
		t.Fatalf("before the collection: %v", err)
	}
	p.tickTo(p.now.Add(3 * p.m.cfg.MaxTTL))
	if _, ok := p.m.slots["L"]; ok {
		t.Fatal("the idle slot was not collected")
	}
	err := p.m.CheckInvariants()
	out := p.step("y", &Prepare{Name: "L", Ballot: Ballot{Era: 1, Round: 3, Node: "y"}, Attempt: 1})
	promised, _ := msgs[*Promise](out)
	return len(promised) > 0, err
}
