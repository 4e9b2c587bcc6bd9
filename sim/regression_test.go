package sim

import (
	"testing"
	"time"
)

// TestCleanStopDuringQuarantineKeepsQuarantine is a regression test for a
// protocol bug the simulator found. R9: a node that crashed restarts in
// quarantine; if it is then stopped cleanly before the quarantine ends, its
// State does not carry the rest of the quarantine, so the clean restart
// answers at once with everything it forgot in the crash still forgotten.
// Here n1 and n2 forget n3's lease that way and grant it to n1 while n3
// still holds it: two owners.
//
// The fix belongs in protocol (State must carry the remaining quarantine,
// or Snapshot during a quarantine must restart in quarantine).
func TestCleanStopDuringQuarantineKeepsQuarantine(t *testing.T) {
	s, err := New(rapidOptions(3), nil)
	if err != nil {
		t.Fatal(err)
	}
	const n1, n2, n3 = 0, 1, 2
	s.Acquire(n3, 0, true)
	s.Advance(200 * time.Millisecond)
	if !s.nodes[n3].clients[0].state.holding() {
		t.Fatal("setup: n3 does not hold L1")
	}
	for _, i := range []int{n1, n2} {
		s.Crash(i)
		s.Restart(i) // quarantined
	}
	s.Advance(10 * time.Millisecond)
	for _, i := range []int{n1, n2} {
		s.Shutdown(i) // clean stop inside the quarantine
		s.Restart(i)
	}
	s.Acquire(n1, 0, true)
	s.Advance(500 * time.Millisecond)
	if v := s.Violation(); v != nil {
		t.Fatalf("R9: %s", describe(v))
	}
}
