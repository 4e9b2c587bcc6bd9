package sim

import (
	"slices"
	"testing"
	"time"
)

// Scripted voter changes: each builds the schedule that one condition of
// the argument (protocol R21-R25) is needed for. With the rule intact the
// run stays clean and the change completes; reconfig_mutants_test.go runs
// the same scripts with the rule weakened and expects the violation.

// scenarioOptions: voters n1..n3, client nodes c1..c3 (the spare voters),
// one lease, a fault-free network and nothing random but the clocks.
func scenarioOptions() Options {
	o := DefaultOptions()
	o.Workload = false
	o.Voters, o.Clients, o.Leases = 3, 3, 1
	o.Faults = Preset(FaultsNone)
	return o
}

// scenario is one scripted run: it returns the sim at its end.
type scenario func(t *testing.T, o Options) *Sim

// untilVoters advances until node i has adopted the simple configuration
// voters, for at most d; it reports whether it did.
func untilVoters(s *Sim, i int, voters []string, d time.Duration) bool {
	for end := s.Now() + d; s.Now() < end && s.Violation() == nil; s.Advance(10 * time.Millisecond) {
		if k := s.Membership(i); !k.Joint() && slices.Equal(k.Voters, voters) {
			return true
		}
	}
	return false
}

var newVoters = []string{"c1", "c2", "c3"}

// startScenario builds the sim for o and runs its first 100ms.
func startScenario(t *testing.T, o Options) *Sim {
	s, err := New(o, nil)
	if err != nil {
		t.Fatal(err)
	}
	s.Advance(100 * time.Millisecond)
	return s
}

// cutFromNew cuts node i off from the new voters c1..c3, both ways.
func cutFromNew(s *Sim, i int) {
	for _, c := range []int{3, 4, 5} {
		s.Cut(i, c)
		s.Cut(c, i)
	}
}

// n3HoldsCutOff has n3 acquire L1, then cuts it off from c1..c3.
func n3HoldsCutOff(t *testing.T, s *Sim) {
	if !s.Acquire(2, 0, true) {
		t.Fatal("n3 cannot ask")
	}
	s.Advance(50 * time.Millisecond)
	cutFromNew(s, 2)
}

// changeVoters has node i start the change to c1..c3.
func changeVoters(t *testing.T, s *Sim, i int) {
	if err := s.ReconfigureNode(i, newVoters); err != nil {
		t.Fatal(err)
	}
}

// untilJoint advances 1ms at a time until node i runs a joint
// configuration, for at most a second.
func untilJoint(s *Sim, i int) {
	for end := s.Now() + time.Second; s.Now() < end && !s.Membership(i).Joint(); {
		s.Advance(time.Millisecond)
	}
}

// thenC1Asks waits (at most 20s) until node i has adopted c1..c3, then has
// c1 ask for L1 and runs for d. It returns the sim.
func thenC1Asks(s *Sim, i int, d time.Duration) *Sim {
	if untilVoters(s, i, newVoters, 20*time.Second) {
		s.Acquire(3, 0, true)
		s.Advance(d)
	}
	return s
}

// R24: {n1,n2,n3} -> {c1,c2,c3}, the new voters never saw lease L1, which
// n1 held ten times before the change. c1's first tenure of L1 must still
// get a higher token: the new configuration's MinEra.
func scenarioReplaceAll(t *testing.T, o Options) *Sim {
	s := startScenario(t, o)
	for range 10 {
		s.Acquire(0, 0, true)
		s.Advance(50 * time.Millisecond)
		s.Release(0, 0)
		s.Advance(50 * time.Millisecond)
	}
	changeVoters(t, s, 0)
	return thenC1Asks(s, 3, time.Second)
}

// R21: after {n1,n2,n3} -> {c1,c2,c3}, n1 and n2 crash and restart cut off
// from everyone else. The epoch in their data dirs says they are no
// voters; a restart that forgot it would run the old list, whose majority
// they are, and grant L1 beside the new voters.
func scenarioRestartRemoved(t *testing.T, o Options) *Sim {
	s := startScenario(t, o)
	changeVoters(t, s, 0)
	if !untilVoters(s, 1, newVoters, 20*time.Second) {
		return s
	}
	s.Crash(0)
	s.Crash(1)
	s.Split([]int{0, 1})
	s.Restart(0)
	s.Restart(1)
	s.Acquire(3, 0, true)
	s.Advance(3 * o.TTL) // past the quarantine of the crashed starts
	s.Acquire(0, 0, true)
	s.Advance(2 * o.TTL)
	return s
}

// R23: n3 holds L1, granted by {n1,n2,n3}, and is cut off from the new
// voters c1..c3 when n1 (restarted with a lower MaxTTL than the TTL n3
// asked for) changes the voters to {c1,c2,c3}: n3's renewals cannot reach
// the joint configuration's new majority, so its tenure runs to its
// deadline. The new voters may grant only after it: W must cover the TTL
// the old voters accepted, not the initiator's MaxTTL. c1..c3 start as
// after a crash (an empty dir without --new-cluster, the way to start a
// node that will be added) and are past their quarantine when added: a
// start that claimed a new cluster would be refuted by n1's era when it
// becomes a voter and sit out a quarantine, which would hide W.
func scenarioHolderCutOff(t *testing.T, o Options) *Sim {
	o.Operator.LowMaxTTL = 200 * time.Millisecond
	s := startScenario(t, o)
	s.lowerMaxTTL(false)
	for _, i := range []int{0, 3, 4, 5} {
		s.Crash(i)
		s.Restart(i) // n1 runs MaxTTL 200ms from now on
	}
	s.Advance(3 * o.TTL)
	n3HoldsCutOff(t, s)
	changeVoters(t, s, 0)
	return thenC1Asks(s, 0, 3*o.TTL)
}

// R22: while {n1,n2,n3} -> {c1,c2,c3} is joint, n3 holds L1 (granted by
// the old voters, whose majority still reports it) and cannot reach the
// new voters; c1 asks for L1 as soon as it has adopted the joint
// configuration. The new voters have never heard of L1: only the old
// majority, which the joint rule still needs, keeps c1 out.
func scenarioJointAcquire(t *testing.T, o Options) *Sim {
	s := startScenario(t, o)
	n3HoldsCutOff(t, s)
	changeVoters(t, s, 0)
	untilJoint(s, 3)
	s.Acquire(3, 0, true)
	if !untilVoters(s, 0, newVoters, 20*time.Second) {
		return s
	}
	s.Advance(3 * o.TTL)
	return s
}

// R22: the mirror of scenarioJointAcquire. n3 cannot reach the new voters
// c1..c3 and asks for L1 while {n1,n2,n3} -> {c1,c2,c3} is joint: only the
// old voters can answer it, and the joint rule refuses a grant they alone
// make, which the new configuration would never see. c1 asks for L1 once
// the change is over. n1 holds L2 through the change, so that the wait W
// (which covers the live leases of the old voters) keeps the joint
// configuration for about a TTL.
func scenarioJointOldGrant(t *testing.T, o Options) *Sim {
	o.Leases = 2
	s := startScenario(t, o)
	s.Acquire(0, 1, true)
	s.Advance(50 * time.Millisecond)
	cutFromNew(s, 2)
	changeVoters(t, s, 0)
	untilJoint(s, 2)
	s.Advance(300 * time.Millisecond)
	s.Acquire(2, 0, true)
	return thenC1Asks(s, 0, 3*o.TTL)
}

// R23: n3 holds L1, granted by {n1,n2,n3}; then n1 and n2 crash and come
// back at once, having forgotten it, and n3 is cut off from c1..c3. c1
// changes the voters to {c1,c2,c3}; the majority that acknowledges the
// joint configuration is n1 and n2, whose slots are empty. Only their
// quarantine, which they report as an exclusion still running, keeps W
// long enough for n3's tenure to end before the new voters grant.
func scenarioForgetfulClose(t *testing.T, o Options) *Sim {
	s := startScenario(t, o)
	n3HoldsCutOff(t, s)
	s.Crash(0)
	s.Crash(1)
	s.Restart(0)
	s.Restart(1)
	s.Advance(20 * time.Millisecond)
	changeVoters(t, s, 3)
	return thenC1Asks(s, 3, 3*o.TTL)
}

// R22: two operators at once, from one epoch, to two voter sets. One
// change wins the slot; the other is told (ErrConfigChanged) and no epoch
// ever has two configurations.
func scenarioConcurrent(t *testing.T, o Options) *Sim {
	s := startScenario(t, o)
	a := []string{"c1", "n1", "n2", "n3"}
	b := []string{"c2", "n2", "n3"}
	if err := s.ReconfigureNode(3, a); err != nil {
		t.Fatal(err)
	}
	if err := s.ReconfigureNode(4, b); err != nil {
		t.Fatal(err)
	}
	s.Advance(10 * o.TTL)
	return s
}

// Each scenario, rule intact: no violation, and the change happened.
func TestReconfigScenariosIntact(t *testing.T) {
	for name, sc := range map[string]scenario{
		"replace-all":     scenarioReplaceAll,
		"restart-removed": scenarioRestartRemoved,
		"holder-cut-off":  scenarioHolderCutOff,
		"concurrent":      scenarioConcurrent,
		"joint-acquire":   scenarioJointAcquire,
		"joint-old-grant": scenarioJointOldGrant,
		"forgetful-close": scenarioForgetfulClose,
	} {
		t.Run(name, func(t *testing.T) {
			s := sc(t, scenarioOptions())
			if v := s.Violation(); v != nil {
				t.Fatalf("violation with every rule intact: %s", describe(v))
			}
			st := s.ReconfigStats()
			if st.Epoch < 2 || st.Done < 1 {
				t.Fatalf("the change did not complete: %+v", st)
			}
			if name == "concurrent" && st.Changed != 1 {
				t.Fatalf("two concurrent changes: want one told ErrConfigChanged, got %+v", st)
			}
			t.Logf("%+v grants %d at %v", st, s.chk.grants, s.Now())
			if name != "concurrent" && s.chk.grants == 0 {
				t.Fatal("no grant: the scenario did not run")
			}
		})
	}
}
