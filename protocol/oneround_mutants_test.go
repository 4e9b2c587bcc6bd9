//go:build mutants

package protocol

import (
	"testing"
	"time"
)

// Each condition the one-round acquire relies on, weakened, is seen by the
// test that checks it. Run them with:
// go test -tags mutants ./protocol -run MutantOneRound

// R12, R3: a voter that takes a one-round Propose at a ballot equal to its
// promise lets a node that knows nothing of the name win with the token of
// the tenure before.
func TestMutantOneRoundNotAbove(t *testing.T) {
	if tok, prev := oneRoundSameToken(t, nil); tok <= prev {
		t.Fatalf("token %d not above %d without the weakening", tok, prev)
	}
	if tok, prev := oneRoundSameToken(t, weaken(WeakOneRoundNotAbove)); tok > prev {
		t.Fatalf("check did not detect WeakOneRoundNotAbove: token %d above %d", tok, prev)
	}
}

// oneRoundSameToken lets y win L with ballot 1.1@y and release it, then x,
// whose first ballot is 1.1@x, acquire it; it returns x's token and y's.
func oneRoundSameToken(t *testing.T, edit func(*Config)) (tok, prev uint64) {
	t.Helper()
	h := newOneRoundHarness(t, edit, []string{"a", "b", "c"}, "x", "y")
	prev = h.holdAndRelease("y", "L")
	h.acquire("x", "L", true)
	h.settle(50*time.Millisecond, nil)
	tok, _, ok := h.nodes["x"].m.Holding("L")
	if !ok {
		t.Fatalf("x does not hold L: %s", h.dump())
	}
	return tok, prev
}

// R7 at the voter: a one-round Propose that replaces the sender's own live
// lease takes over a tenure the node abandoned while it is still live.
func TestMutantOneRoundOwnLive(t *testing.T) {
	if oneRoundOverOwnLease(t, nil) {
		t.Fatal("own live lease taken over without the weakening")
	}
	if !oneRoundOverOwnLease(t, weaken(WeakOneRoundOwnLive)) {
		t.Fatal("check did not detect WeakOneRoundOwnLive")
	}
}

// R6, R8: a one-round attempt whose deadline starts at its accept majority
// makes a holder out of accepts that arrive long after the Propose left.
func TestMutantOneRoundLateDeadline(t *testing.T) {
	late := func(dp, _ time.Duration) time.Duration { return 3 * dp }
	if oneRoundLateAccepts(t, nil, late) {
		t.Fatal("late accepts made a holder without the weakening")
	}
	if !oneRoundLateAccepts(t, weaken(WeakOneRoundLateDeadline), late) {
		t.Fatal("check did not detect WeakOneRoundLateDeadline")
	}
}

// R5: with no Prepare before it, a one-round Propose over another owner's
// live lease is all that stands between two holders.
func TestMutantOneRoundReplaceLive(t *testing.T) {
	for _, c := range []struct {
		edit func(*Config)
		want bool
	}{{nil, false}, {weaken(WeakReplaceLive), true}} {
		h := newOneRoundHarness(t, c.edit, []string{"a", "b", "c"}, "x", "y")
		h.acquire("x", "M", false) // x's next ballot, 1.2@x, is above y's 1.1@y
		h.deliverAll(nil)
		h.acquire("y", "L", false)
		h.deliverAll(nil)
		h.acquire("x", "L", false)
		h.deliverAll(nil)
		if two := len(h.holders("L")) == 2; two != c.want {
			t.Fatalf("two holders %v, want %v (weakened %v): %v", two, c.want, c.edit != nil, h.holders("L"))
		}
	}
}
