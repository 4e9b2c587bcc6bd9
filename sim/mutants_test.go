//go:build mutants

package sim

import (
	"strings"
	"testing"
	"time"

	"github.com/tenure-dev/tenure/protocol"
)

// untilHolds advances by step, at most rounds times, until the client of
// node i holds L1 or a violation is found; it reports whether it holds.
func untilHolds(s *Sim, i, rounds int, step time.Duration) bool {
	for range rounds {
		if s.nodes[i].clients[0].state.holding() || s.Violation() != nil {
			break
		}
		s.Advance(step)
	}
	return s.nodes[i].clients[0].state.holding()
}

func weaken(ws ...protocol.Weakening) func(*Options) {
	return func(o *Options) {
		for _, w := range ws {
			o.Weaken.Enable(w)
		}
	}
}

// TestMutantsCaught switches each code-level weakening on (build tag
// mutants) and checks that the simulator reports a violation within a
// bounded number of seeds, and none with the rule intact.
func TestMutantsCaught(t *testing.T) {
	cases := []weakCase{
		{
			// R10: the stale Release of an earlier tenure, arriving late,
			// erases the same owner's later tenure; the Vacant notice lets a
			// waiter in at once. Clients that grab the lease again right
			// after releasing it make the two tenures of one owner.
			name:  "R10 release matches owner only",
			rule:  "later tenure erased: two owners",
			base:  func(o *Options) { o.Regrab = 0.5 },
			weak:  weaken(protocol.WeakReleaseOwnerOnly),
			seeds: 20, control: 20,
			kinds: []ViolationKind{VTwoHolders},
		},
		{
			// R2: a duplicated Promise or Accepted counts twice, so two
			// voters out of five make a "majority".
			name:  "R2 votes counted as a number",
			rule:  "duplicated answers make a false majority",
			base:  func(o *Options) { o.Faults.Dup = 0.2 },
			weak:  weaken(protocol.WeakCountVotes),
			seeds: 20, control: 20,
			kinds: []ViolationKind{VTwoHolders, VTokenOrder},
		},
		{
			// R7: a stale Propose of this node's abandoned attempt lands on
			// an acceptor; the node's next Prepare reads it back as "mine,
			// open". R5 alone repairs this, so R5 is off on both sides.
			name: "R7 owner-is-me counts as open (R5 off)",
			rule: "two owners (stale propose re-read as mine)",
			base: func(o *Options) {
				weaken(protocol.WeakReplaceLive)(o)
				o.Faults = Preset(FaultsHarsh)
				o.TryShare = 0.5
				// R7 is a rule of the Prepare; without R5 a one-round
				// Propose gives two owners on its own (TestOneRoundMutantsCaught).
				o.TwoPhaseAcquire = true
			},
			weak:  weaken(protocol.WeakOwnerIsMeOpen),
			seeds: 20, control: 20,
			kinds: []ViolationKind{VTwoHolders, VTokenOrder},
		},
		{
			// R4: an acceptor collects an idle slot without raising its
			// forgotten watermark, so the slot's promise falls. No message
			// shows it at once; the machine's own invariant check
			// (checker e, check_invariants.go) does, before any other
			// checker could see a consequence. Clients that think 20 s
			// between tenures leave slots idle for the 2×MaxTTL after which
			// they are collected.
			name:  "R4 collected slot forgets its promise",
			rule:  "a promise fell (local invariant)",
			base:  func(o *Options) { o.Think = 20 * time.Second },
			weak:  weaken(protocol.WeakForgetPromise),
			seeds: 10, control: 10,
			kinds: []ViolationKind{VInvariant},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { checkWeakCase(t, c) })
	}
}

// r6Script plays the one schedule that makes a late attempt timer unsafe
// here, and reports the first violation. R5 and the era floor each mask R6
// on their own (a Propose over another owner's live lease is refused; an
// acceptor that forgot its promise refuses the old era), so the script
// runs with both off and shows that R6 is then what stands between the
// cluster and two owners:
//
//  1. c1 cannot reach n4, n5; c2 and n2, n3 cannot hear each other.
//  2. c1 takes and releases L1 once (its rounds move on), then asks again:
//     Prepare (1,2) reaches n1, n2, n3, which promise; c1 pauses before it
//     reads the answers.
//  3. n1 crashes and restarts without its era floor: it forgot (1,2).
//     (Without the era floor it also hears no voter during its
//     quarantine: their answers to its Hellos would give the floor back.)
//  4. After n1's quarantine c2 wins L1 with (1,1) at n1, n4, n5.
//  5. c1 wakes, 7 s after its Prepare (D_P is about 2 s), and reads the
//     stale promises. With R6 the attempt's deadline, fixed at the
//     Prepare, has passed: no Propose. With the late timer the
//     attempt starts its clock now, proposes (1,2) to n1, n2, n3, and n1
//     (R5 off) records it over c2's live lease: two owners.
func r6Script(t *testing.T, late, r5Off, noEra bool) *Violation {
	t.Helper()
	o := scriptOptions(5, 2)
	o.NoEra = noEra
	o.SkipTokenOrder = true  // without the era floor c2's token repeats c1's first: R12, not the point here
	o.TwoPhaseAcquire = true // the schedule is one of Prepares
	if r5Off {
		o.Weaken.Enable(protocol.WeakReplaceLive)
	}
	if late {
		o.Weaken.Enable(protocol.WeakLateTimer)
	}
	s, err := New(o, nil)
	if err != nil {
		t.Fatal(err)
	}
	const n1, n2, n3, n4, n5, c1, c2 = 0, 1, 2, 3, 4, 5, 6
	s.Cut(c1, n4)
	s.Cut(c1, n5)
	for _, v := range []int{n2, n3} {
		s.Cut(c2, v)
		s.Cut(v, c2)
	}
	step := func(what string, ok bool) {
		if !ok {
			t.Fatalf("R6 script: %s failed", what)
		}
	}
	step("c1 acquire", s.Acquire(c1, 0, true))
	s.Advance(100 * time.Millisecond)
	step("c1 release", s.Release(c1, 0))
	s.Advance(100 * time.Millisecond)
	step("c1 acquire again", s.Acquire(c1, 0, true))
	step("c1 pause", s.Pause(c1, 7*time.Second))
	s.Advance(50 * time.Millisecond)
	step("n1 crash", s.Crash(n1))
	step("n1 restart", s.Restart(n1))
	if noEra {
		// The answers to its Hellos would teach n1 its peers' eras (R12,
		// R18) and stand in for the lost floor: n1 hears no voter during
		// its quarantine.
		deaf := s.deafen(n1, []int{n2, n3, n4, n5})
		s.Advance(s.nodes[n1].cfg.Quarantine + 100*time.Millisecond)
		s.net.heal(deaf)
	} else {
		s.Advance(s.nodes[n1].cfg.Quarantine + 100*time.Millisecond)
	}
	step("c2 acquire", s.Acquire(c2, 0, true))
	s.Advance(2500 * time.Millisecond) // with the era floor, c2 first waits out an attempt that n1 refused

	if !s.nodes[c2].clients[0].state.holding() {
		t.Fatalf("R6 script (late %v, R5 off %v, no era %v): c2 does not hold L1:\n%s", late, r5Off, noEra, strings.Join(s.tr.last(), "\n"))
	}
	s.Advance(5 * time.Second)
	return s.Violation()
}

// TestR6LateTimerScript: R6 (timer started at prepare-majority) gives two
// owners once R5 and the era floor are out of the way, and the same
// schedule is safe with R6 intact. It also pins down that R5 alone and the
// era floor alone each mask the weakened timer on this schedule.
func TestR6LateTimerScript(t *testing.T) {
	if v := r6Script(t, true, true, true); v == nil || v.Kind != VTwoHolders {
		t.Fatalf("R6 weakened (R5 off, no era floor): want two holders, got %v", v)
	} else {
		t.Logf("R6 weakened: %s", v.Detail)
	}
	for _, c := range []struct {
		name               string
		late, r5Off, noEra bool
	}{
		{"R6 intact (R5 off, no era floor)", false, true, true},
		{"R6 weakened, R5 on", true, false, true},
		{"R6 weakened, era floor on", true, true, false},
	} {
		if v := r6Script(t, c.late, c.r5Off, c.noEra); v != nil {
			t.Fatalf("%s: %s", c.name, describe(v))
		}
	}
}

// TestOneRoundMutantsCaught switches off, one at a time, each condition the
// one-round acquire relies on (protocol/oneround.go; DESIGN.md §2
// "One-round acquire"), with the one-round acquire on as it is by default,
// and checks that the simulator reports a violation within a few seeds and
// none with the condition intact.
func TestOneRoundMutantsCaught(t *testing.T) {
	cases := []weakCase{
		{
			// R5: no Prepare comes before a one-round Propose, so the
			// voter's refusal to replace another owner's live lease is all
			// that keeps a contender whose ballot happens to be above the
			// holder's from taking the name over.
			name:  "R5 replace live (one-round)",
			rule:  "a one-round Propose over a live lease: two holders",
			base:  func(o *Options) {},
			weak:  weaken(protocol.WeakReplaceLive),
			seeds: 20, control: 20,
			kinds: []ViolationKind{VTwoHolders},
		},
		{
			// R3, R12: a voter that takes a one-round Propose at a ballot
			// equal to its promise lets a node whose round counter meets
			// the last holder's win with that holder's token.
			name:  "R12 one-round at the promise",
			rule:  "a later tenure with the same token",
			base:  func(o *Options) {},
			weak:  weaken(protocol.WeakOneRoundNotAbove),
			seeds: 60, control: 20,
			kinds: []ViolationKind{VTokenOrder, VTwoHolders},
		},
		{
			// R6, R8: a proposer that pauses right after its one-round
			// Propose and reads the accepts only after the voters' exclusion
			// ended must not become holder; with the deadline started at
			// the majority it does, while the next holder already holds.
			name: "R6 one-round deadline at the majority",
			rule: "holder outlives the exclusion",
			base: func(o *Options) {
				o.Faults.Pauses = 120
				o.Faults.DelayMax = 150 * time.Millisecond
				o.Think = 500 * time.Millisecond
			},
			weak:  weaken(protocol.WeakOneRoundLateDeadline),
			seeds: 60, control: 20,
			// The stale tenure may also come after a newer one: its token
			// is then below that one's.
			kinds: []ViolationKind{VTwoHolders, VTokenOrder},
		},
		{
			// R7 at the voter: an agent that stops abandons its clients'
			// tenures (R15), whose clients may act until their deadlines;
			// the agent's node must not take such a lease over in one round
			// for the next client.
			name: "R7 one-round replaces the sender's own live lease",
			rule: "an abandoned tenure taken over while its client acts: two holders",
			base: func(o *Options) {
				o.Edge.Agents, o.Edge.Clients, o.Edge.Stops = 7, 14, 12
			},
			weak:  weaken(protocol.WeakOneRoundOwnLive),
			seeds: 60, control: 20,
			kinds: []ViolationKind{VTwoHolders, VFencing},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { checkWeakCase(t, c) })
	}
}
