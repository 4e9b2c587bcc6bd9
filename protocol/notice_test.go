package protocol

import (
	"fmt"
	"testing"
	"time"
)

// noticeHarness is 3 voters, a holder x of L and n waiters w1..wn that
// asked for L in that order, each turned away by x's live lease.
func noticeHarness(t *testing.T, n int) *harness {
	t.Helper()
	var extra []string
	extra = append(extra, "x")
	for i := 1; i <= n; i++ {
		extra = append(extra, fmt.Sprintf("w%d", i))
	}
	h := newHarness(t, []string{"a", "b", "c"}, extra...).withTTL(20 * time.Second)
	h.acquire("x", "L", true)
	h.settle(5*time.Millisecond, nil)
	for i := 1; i <= n; i++ {
		h.acquire(fmt.Sprintf("w%d", i), "L", true)
		h.settle(5*time.Millisecond, nil)
	}
	if !h.holdsOnly("L", "x") {
		t.Fatalf("x does not hold L alone: %v", h.holders("L"))
	}
	return h
}

// countSends counts, from now on, the messages the harness carries by
// type.
func countSends(h *harness) map[MsgType]int {
	n := map[MsgType]int{}
	h.onSend = func(m hmsg) {
		if m.from != m.to {
			n[m.msg.Type()]++
		}
	}
	return n
}

// A release with many waiters costs each voter one notice, to the waiter
// it queued first, not one to every waiter; that waiter takes the lease.
func TestReleaseNotifiesNextWaiterOnly(t *testing.T) {
	const waiters = 40
	h := noticeHarness(t, waiters)
	sent := countSends(h)
	h.release("x", "L")
	h.settle(30*time.Millisecond, nil)
	if !h.holdsOnly("L", "w1") {
		t.Fatalf("holders %v, want the first waiter w1\n%s", h.holders("L"), h.dump())
	}
	if sent[TypeVacant] == 0 || sent[TypeVacant] > 3 {
		t.Fatalf("%d Vacant notices for one release with %d waiters, want 1 per voter", sent[TypeVacant], waiters)
	}
	total := 0
	for _, c := range sent {
		total += c
	}
	// 3 Releases, 3 Vacants, w1's round (3+3, 3+3): about 20, whatever the
	// number of waiters.
	if total > 30 {
		t.Fatalf("one release with %d waiters cost %d messages: %v", waiters, total, sent)
	}
}

// A waiter that gave up answers its notice with a pass, and the voters
// tell the next waiter at once, not a chain step later.
func TestPassTellsNextWaiterAtOnce(t *testing.T) {
	h := noticeHarness(t, 2)
	w1 := h.nodes["w1"]
	w1.m.Cancel(h.local(w1), "L")
	h.collect(w1)
	sent := countSends(h)
	h.release("x", "L")
	step := h.nodes["a"].m.chainStep()
	h.settle(step/2, nil)
	if !h.holdsOnly("L", "w2") {
		t.Fatalf("holders %v within half a chain step, want w2\n%s", h.holders("L"), h.dump())
	}
	if sent[TypeVacant] < 9 { // 3 to w1, 3 passes back, 3 to w2
		t.Fatalf("%d Vacants, want notices, passes and notices again\n%s", sent[TypeVacant], h.dump())
	}
}

// A holder that stops without a release (it abandons the lease) is no
// reason to poll: when the lease runs out at a voter, that voter tells its
// first waiter, which takes the name long before its own poll.
func TestExpiryNotifiesWaiter(t *testing.T) {
	h := newHarness(t, []string{"a", "b", "c"}, "x", "y").withTTL(time.Second)
	h.acquire("x", "L", true)
	h.settle(5*time.Millisecond, nil)
	h.acquire("y", "L", true)
	h.settle(5*time.Millisecond, nil)
	x := h.nodes["x"]
	tok, _, ok := x.m.Holding("L")
	if !ok {
		t.Fatal("x does not hold L")
	}
	if err := x.m.Abandon(h.local(x), "L", tok); err != nil {
		t.Fatal(err)
	}
	h.collect(x)
	sent := countSends(h)
	// The exclusion ends a TTL after the last accept; y's own poll would
	// come after four TTLs.
	h.settle(1200*time.Millisecond, nil)
	if !h.holdsOnly("L", "y") {
		t.Fatalf("holders %v a TTL after the abandon, want y\n%s", h.holders("L"), h.dump())
	}
	if sent[TypeVacant] == 0 {
		t.Fatal("no Vacant notice at expiry")
	}
}

// While nothing changes, a waiter asks the voters once per waitPoll (four
// of its TTLs), not at each remaining time a renewing holder reports.
func TestQuietWaiterPollsRarely(t *testing.T) {
	h := newHarness(t, []string{"a", "b", "c"}, "x", "y").withTTL(time.Second)
	h.acquire("x", "L", true)
	h.settle(5*time.Millisecond, nil)
	h.acquire("y", "L", true)
	h.settle(5*time.Millisecond, nil)
	prepares := 0
	h.onSend = func(m hmsg) {
		if m.from == "y" && (m.msg.Type() == TypePrepare || m.msg.Type() == TypePropose) {
			prepares++
		}
	}
	h.settle(12*time.Second, nil) // twelve TTLs; x renews all along
	if !h.holdsOnly("L", "x") {
		t.Fatalf("holders %v, want x", h.holders("L"))
	}
	// Three polls of 3 Prepares each (one per 4 TTLs); polling at each
	// reported remaining time made about 18.
	if prepares == 0 || prepares > 9 {
		t.Fatalf("y sent %d Prepares in 12 TTLs while x renewed, want 3 to 9", prepares)
	}
}
