package sim

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tenure-dev/tenure/protocol"
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

// TestStaleStartLearnsTheEraDespiteLostReplies is a regression test for a
// protocol gap the simulator found (it fails until protocol/hello.go is
// fixed). A clean or fresh start that a peer finds stale becomes a crashed
// start (staleStart) and drops its verifier: it sends no more Hello, so it
// learns eras only from answers to the Hellos already sent. If the first
// "stale" comes from a voter that is behind in era, and the answers of the
// voters that know the newer era are lost, it opens with an era floor
// below tokens already granted, though those voters were up and connected
// for its whole quarantine (within the limit of assume.go: only datagrams
// were lost). A crashed start keeps asking every silent voter until the
// quarantine ends; a start found stale must too.
//
//  1. n1 and n2 are stopped cleanly, copied, and started again.
//  2. c1, cut off from n4 (which stays in era 1), restarts three times
//     (era 4) and takes L1 four times: last token 4.4, promised at n1,
//     n2, n3, n5.
//  3. n1 and n2 are restored from their copies (clean states of era 1).
//     Their Hellos reach everyone; n4 answers "stale" (it remembers their
//     newer starts) with era 1; the answers of n3 and n5, who know era 4,
//     are lost (four datagrams).
//  4. Both sit out their quarantine and open with era floors 2 and 3.
//     n3 and n5 are then cut off (faults after the quarantine are free).
//  5. n1 asks for L1: n1, n2 and n4 promise ballot (3,1), and n1 is
//     granted token 3.1 after 4.4.
func TestStaleStartLearnsTheEraDespiteLostReplies(t *testing.T) {
	o := scriptOptions(5, 1)
	s, err := New(o, nil)
	if err != nil {
		t.Fatal(err)
	}
	const n1, n2, n3, n4, n5, c1 = 0, 1, 2, 3, 4, 5
	openUp(t, s, n1, n2, n3, n4, n5)
	for _, i := range []int{n1, n2} {
		s.Shutdown(i)
		n := s.nodes[i]
		n.backup = &dirCopy{era: n.durableEra, bounds: n.durableBounds, boots: n.boots,
			state: slices.Clone(n.state), peers: slices.Clone(n.durablePeers), down: true}
		s.Restart(i)
		openUp(t, s, i)
	}
	s.Cut(c1, n4)
	for range 3 {
		s.Crash(c1)
		s.Restart(c1)
	}
	var granted uint64
	for range 4 {
		s.Acquire(c1, 0, true)
		for range 100 {
			if s.nodes[c1].clients[0].state.holding() {
				break
			}
			s.Advance(20 * time.Millisecond)
		}
		if !s.nodes[c1].clients[0].state.holding() {
			t.Fatalf("setup: c1 does not hold L1:\n%s", strings.Join(s.tr.last(), "\n"))
		}
		granted = s.nodes[c1].clients[0].token
		s.Release(c1, 0)
		s.Advance(50 * time.Millisecond)
	}
	if e, _ := protocol.TokenBallot(granted); e <= s.nodes[n4].m.Era() {
		t.Fatalf("setup: n4 is not behind (era %d, token %s)", s.nodes[n4].m.Era(), tokStr(granted))
	}
	for _, i := range []int{n1, n2} {
		s.nodes[i].restore = true
		s.Crash(i)
		s.Restart(i)
	}
	// The network loses what n3 and n5 send the restored voters until
	// both have been found stale.
	lost := 0
	for range 400 {
		for k := range s.q {
			e := &s.q[k]
			if e.kind == evDeliver && (e.node == n1 || e.node == n2) && (e.aux == n3 || e.aux == n5) {
				e.kind = evDead
				s.net.free(e.buf)
				lost++
			}
		}
		if !s.nodes[n1].m.Verifying() && !s.nodes[n2].m.Verifying() {
			break
		}
		s.Advance(100 * time.Microsecond)
	}
	if !s.nodes[n1].m.StaleStart() || !s.nodes[n2].m.StaleStart() {
		t.Fatal("setup: the restored voters were not found stale")
	}
	openUp(t, s, n1, n2)
	s.Split([]int{n3, n5})
	s.Acquire(n1, 0, true)
	for range 500 {
		if s.nodes[n1].clients[0].state.holding() || s.Violation() != nil {
			break
		}
		s.Advance(20 * time.Millisecond)
	}
	if v := s.Violation(); v != nil {
		t.Fatalf("%d answers lost; n1 and n2 opened in eras %d and %d after token %s:\n%s",
			lost, s.nodes[n1].m.Era(), s.nodes[n2].m.Era(), tokStr(granted), describe(v))
	}
}
