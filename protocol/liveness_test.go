package protocol

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// release makes node release its tenure of name and collects the output.
func (h *harness) release(node, name string) {
	h.t.Helper()
	n := h.nodes[node]
	tok, _, ok := n.m.Holding(name)
	if !ok {
		h.t.Fatalf("%s does not hold %s", node, name)
	}
	if err := n.m.Release(h.local(n), name, tok); err != nil {
		h.t.Fatalf("%s Release(%s): %v", node, name, err)
	}
	h.collect(n)
}

// withTTL restarts every node fresh with DefaultTTL ttl; call it before
// anything happens (the harness copies the config when a node starts).
func (h *harness) withTTL(ttl time.Duration) *harness {
	h.cfg.DefaultTTL = ttl
	for _, n := range h.order {
		h.start(n, Start{Kind: StartFresh})
	}
	return h
}

func (h *harness) holdsOnly(name, node string) bool {
	got := h.holders(name)
	return len(got) == 1 && got[0] == node
}

// A Vacant notice that reaches a proposer while its attempt is still
// collecting answers must not be lost: when the attempt then fails on the
// report of the lease that was just released, the proposer tries again at
// once instead of waiting for the lease to expire at the voters.
func TestVacantDuringAttemptRetriesAtOnce(t *testing.T) {
	h := newHarness(t, []string{"a", "b", "c"}, "x", "y").withTTL(20 * time.Second)
	h.acquire("x", "L", true)
	h.settle(5*time.Millisecond, nil)
	if !h.holdsOnly("L", "x") {
		t.Fatalf("x did not acquire:\n%s", h.dump())
	}
	// y's Prepares reach the voters, which register y as a waiter; their
	// blocked answers are held back.
	h.acquire("y", "L", true)
	h.deliver(h.take(func(m hmsg) bool { return m.msg.Type() == TypePrepare })...)
	held := h.take(func(m hmsg) bool { return m.to == "y" })
	if len(held) == 0 {
		t.Fatal("no answers to y's prepare")
	}
	// x releases; the voters send y a Vacant, which arrives first.
	h.release("x", "L")
	h.advance(time.Millisecond) // the Release leaves at the next Tick
	h.deliverAll(nil)
	h.deliver(held...) // now the stale blocked answers: the attempt fails
	h.settle(100*time.Millisecond, nil)
	if !h.holdsOnly("L", "y") {
		t.Fatalf("y did not take the released lease promptly; holders=%v\n%s", h.holders("L"), h.dump())
	}
}

// The releasing node is told of the vacancy too: its own next acquire may
// have been turned away by the very lease it released (its Prepare can
// overtake its Release).
func TestReleasingNodeHearsVacant(t *testing.T) {
	h := newHarness(t, []string{"a", "b", "c"}, "x").withTTL(20 * time.Second)
	h.acquire("x", "L", true)
	h.settle(5*time.Millisecond, nil)
	h.release("x", "L")
	h.acquire("x", "L", true) // its Prepare leaves before the Release
	h.settle(100*time.Millisecond, nil)
	if !h.holdsOnly("L", "x") {
		t.Fatalf("x did not re-acquire promptly; holders=%v\n%s", h.holders("L"), h.dump())
	}
}

// A request nobody answers is resent with a doubling interval, not every
// RetryInterval: the count of resends over a second stays logarithmic.
func TestResendsBackOff(t *testing.T) {
	h := newHarness(t, []string{"a", "b", "c"}, "x")
	h.acquire("x", "L", true)
	prepares := 0
	h.onSend = func(m hmsg) {
		if m.from == "x" && m.msg.Type() == TypePrepare {
			prepares++
		}
	}
	all := func(hmsg) bool { return true }
	h.settle(time.Second, all) // every message lost
	// RetryInterval 20ms doubling to D_P/8 (~247ms): 20,40,80,160,247,247
	// within a second, per voter, plus attempts restarting at the deadline.
	if perVoter := prepares / 3; perVoter > 12 {
		t.Fatalf("%d prepares per voter in 1s: resends do not back off", perVoter)
	}
	if prepares == 0 {
		t.Fatal("no resends at all")
	}
}

// Counters count rounds, outcomes and messages by type, self excluded.
func TestCounters(t *testing.T) {
	h := newHarness(t, []string{"a", "b", "c"}, "x")
	h.acquire("x", "L", true)
	h.settle(5*time.Millisecond, nil)
	h.acquire("a", "L", false) // blocked by x's lease
	h.settle(5*time.Millisecond, nil)
	h.release("x", "L")
	h.settle(5*time.Millisecond, nil)
	cx, ca := h.nodes["x"].m.Counters(), h.nodes["a"].m.Counters()
	if cx.Rounds != 1 || cx.Acquired != 1 || cx.Released != 1 || cx.Sent[TypePrepare] != 3 || cx.Received[TypeAccepted] < 2 {
		t.Fatalf("x counters %+v", cx)
	}
	if ca.Blocked != 1 || ca.Acquired != 0 || ca.Sent[TypePrepare] != 2 {
		t.Fatalf("a counters %+v (self-addressed prepares must not count)", ca)
	}
}

// R9: a crashed voter stopped cleanly inside its quarantine has still
// forgotten what the crash made it forget: the clean restart sits out the
// rest of the quarantine (found by the simulator: two owners).
func TestR9CleanStopKeepsQuarantine(t *testing.T) {
	cfg := Config{Self: "a", Voters: []string{"a", "b", "c"}, MaxTTL: 2 * time.Second}
	m, err := New(cfg, Start{Kind: StartCrashed, Era: 4}, newRand(), 0)
	if err != nil {
		t.Fatal(err)
	}
	st := m.Snapshot(Time(500 * time.Millisecond))
	if st.QuarantineLeft <= 0 {
		t.Fatalf("snapshot inside the quarantine carries none: %+v", st)
	}
	b, err := EncodeState(st)
	if err != nil {
		t.Fatal(err)
	}
	st2, err := DecodeState(b)
	if err != nil {
		t.Fatal(err)
	}
	// Restarted on a clock with another origin: the rest still applies.
	m2, err := New(cfg, Start{Kind: StartClean, State: st2}, newRand(), 7_000_000_000)
	if err != nil {
		t.Fatal(err)
	}
	if !m2.Quarantined(7_000_000_000 + Time(st.QuarantineLeft) - 1) {
		t.Fatal("clean restart dropped the rest of the quarantine")
	}
	if m2.Quarantined(7_000_000_000 + Time(st.QuarantineLeft)) {
		t.Fatal("quarantine outlasts what was left")
	}
	// A snapshot after the quarantine carries none.
	if st3 := mustNew(t, cfg, Start{Kind: StartCrashed, Era: 4}).Snapshot(Time(3 * time.Second)); st3.QuarantineLeft != 0 {
		t.Fatalf("snapshot after the quarantine carries %v", st3.QuarantineLeft)
	}
}

func newRand() Rand { return rand.New(rand.NewPCG(1, 2)) }

func mustNew(t *testing.T, cfg Config, st Start) *Machine {
	t.Helper()
	m, err := New(cfg, st, newRand(), 0)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// A renewal starts at half-life with D_P/2 of slack: it resends only after
// D_P/16, not after RetryInterval, so a slow answer to a burst of renewals
// is not met with a second burst.
func TestRenewalResendsWaitForSlack(t *testing.T) {
	h := newHarness(t, []string{"a", "b", "c"}, "x").withTTL(10 * time.Second)
	h.acquire("x", "L", true)
	h.settle(5*time.Millisecond, nil)
	if !h.holdsOnly("L", "x") {
		t.Fatal("x did not acquire")
	}
	var sends []Time // true instants of x's renewal Proposes
	h.onSend = func(m hmsg) {
		if m.from == "x" && m.msg.Type() == TypePropose {
			sends = append(sends, h.now)
		}
	}
	lost := func(m hmsg) bool { return m.to == "x" } // no answer reaches x
	dp := h.nodes["x"].m.attemptDuration(10 * time.Second)
	h.settle(dp, lost)
	if len(sends) < 6 {
		t.Fatalf("only %d renewal proposes", len(sends))
	}
	first := sends[0]
	for i, at := range sends[:3] {
		if at != first {
			t.Fatalf("propose %d of the first renewal round left at +%v", i, at.Sub(first))
		}
	}
	if gap := sends[3].Sub(first); gap < dp/16 || gap > dp/16+time.Millisecond {
		t.Fatalf("first resend %v after the renewal, want D_P/16 = %v", gap, dp/16)
	}
}

// Fairness: when a proposer waits for a lease, the holder that releases it
// and at once asks again does not beat the waiter: for one RetryInterval
// after the release its own Prepares are turned away (blocking is always
// safe). Without waiters nothing delays it (TestReleasingNodeHearsVacant).
func TestHandoffFavoursWaiters(t *testing.T) {
	h := newHarness(t, []string{"a", "b", "c"}, "x", "y").withTTL(20 * time.Second)
	h.acquire("x", "L", true)
	h.settle(5*time.Millisecond, nil)
	h.acquire("y", "L", true) // y waits behind x
	h.settle(5*time.Millisecond, nil)
	h.release("x", "L")
	h.acquire("x", "L", true) // and x asks again at once
	h.settle(100*time.Millisecond, nil)
	if !h.holdsOnly("L", "y") {
		t.Fatalf("the waiter y did not get the released lease; holders=%v\n%s", h.holders("L"), h.dump())
	}
}

// Fairness: waiters form a queue at the voters that survives releases, so
// holders that release and at once ask again hand the lease round the
// queue (x to y to z), instead of back and forth between the two fastest.
func TestHandoffGoesRound(t *testing.T) {
	h := newHarness(t, []string{"a", "b", "c"}, "x", "y", "z").withTTL(20 * time.Second)
	h.acquire("x", "L", true)
	h.settle(5*time.Millisecond, nil)
	h.acquire("y", "L", true)
	h.settle(5*time.Millisecond, nil)
	h.acquire("z", "L", true)
	h.settle(5*time.Millisecond, nil)
	var order []string
	holder := "x"
	for range 4 {
		h.release(holder, "L")
		h.acquire(holder, "L", true) // the releaser asks again at once
		h.settle(100*time.Millisecond, nil)
		got := h.holders("L")
		if len(got) != 1 {
			t.Fatalf("holders %v after %v\n%s", got, order, h.dump())
		}
		holder = got[0]
		order = append(order, holder)
	}
	if want := []string{"y", "z", "x", "y"}; !slices.Equal(order, want) {
		t.Fatalf("handoff order %v, want %v", order, want)
	}
}
