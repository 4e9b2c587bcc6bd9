package sim

import (
	"slices"
	"testing"
	"time"
)

// Voter changes combined with the operator's faults (wipes, restores,
// clients without a data dir).

// Two voters of {c1,c2,n1} are wiped at once (a bare majority, with c1,
// which knows the newer state, up and in reach: within the limit of
// assume.go). Each restarts from the initial list {n1,n2,n3} at epoch 0,
// learns the current configuration from a removed voter it still knows
// (n2, n3 answer with Install), and must then learn the era floor from the
// voters of that configuration before it opens (R18 with R21): the check
// of its start follows the configuration it adopts. Otherwise both open
// with the floor their Install gave them (the configuration's MinEra),
// which the tokens granted under the new configuration already reached;
// together they are a majority, and the next tenure repeats a token.
func TestReconfigWipedVotersLearnFromNewVoters(t *testing.T) {
	o := scenarioOptions()
	s, err := New(o, nil)
	if err != nil {
		t.Fatal(err)
	}
	s.Advance(100 * time.Millisecond)
	target := []string{"c1", "c2", "n1"}
	if err := s.ReconfigureNode(0, target); err != nil {
		t.Fatal(err)
	}
	if !untilVoters(s, 3, target, 20*time.Second) || !untilVoters(s, 0, target, time.Second) ||
		!untilVoters(s, 4, target, time.Second) {
		t.Fatalf("the change did not complete: %+v", s.ReconfigStats())
	}
	// Tokens under the new configuration: c1 acquires and releases L1.
	for range 3 {
		s.Acquire(3, 0, true)
		s.Advance(50 * time.Millisecond)
		s.Release(3, 0)
		s.Advance(50 * time.Millisecond)
	}
	granted, grants := s.grantEra(), s.chk.grants
	if grants < 3 {
		t.Fatalf("no tenure under the new configuration: %d grants", grants)
	}
	wiped := []*node{s.nodes[0], s.nodes[4]}
	for _, n := range wiped {
		s.wipeDir(n)
	}
	for end := s.Now() + 2*o.TTL; s.Now() < end && (wiped[0].down || wiped[1].down); {
		s.Advance(10 * time.Millisecond)
	}
	// c2 talks to n1..n3 (a try for L1), which tells it the configuration.
	s.Acquire(4, 0, false)
	closed := func() bool {
		for _, n := range wiped {
			if n.down || n.m.Quarantined(s.local(n)) || n.m.Verifying() {
				return true
			}
		}
		return false
	}
	for end := s.Now() + time.Minute; s.Now() < end && closed(); {
		s.Advance(10 * time.Millisecond)
	}
	if closed() {
		t.Fatal("the wiped voters never opened")
	}
	for i, n := range wiped {
		if k := s.Membership(n.idx); !slices.Equal(k.Voters, target) {
			t.Fatalf("wiped voter %d did not learn the configuration: %s", i, k)
		}
	}
	// c3, no voter, acquires L1 from the two wiped voters.
	s.Acquire(5, 0, true)
	s.Advance(time.Second)
	if v := s.Violation(); v != nil {
		t.Fatalf("violation: %s", describe(v))
	}
	if s.chk.grants == grants {
		t.Fatal("no tenure after the wipes: the scenario did not run")
	}
	for _, n := range wiped {
		if e := n.m.Era(); e <= granted {
			t.Fatalf("wiped voter %s opened with era floor %d, not above the era %d of the tokens granted before", n.name, e, granted)
		}
	}
}

// n1 and n2 are restored from copies taken at epoch 0 after {n1,n2,n3} ->
// {c1,c2,n3}: together they are a majority of the configuration their
// copies name, and n1 asks at once to change it to {n1,n2}. n3, which
// knows the newer configuration, is up and in reach but for the first
// half second (far less than their quarantine). A restored start takes no
// part in the configuration slot while the check of its start is under
// way (cfgClosed): by the time it votes it has heard n3, adopted the
// current configuration, and n1's change from epoch 0 is told another
// won. Otherwise n1 and n2 choose a second configuration for epoch 1
// among themselves (config-chain; WeakCfgVoteUnverified).
func scenarioRestoredMajority(t *testing.T, o Options) *Sim {
	s, err := New(o, nil)
	if err != nil {
		t.Fatal(err)
	}
	s.Advance(100 * time.Millisecond)
	stale := []*node{s.nodes[0], s.nodes[1]}
	for _, n := range stale {
		n.backup = &dirCopy{era: n.durableEra, bounds: n.durableBounds, boots: n.boots,
			peers: n.durablePeers, config: n.durableConfig}
	}
	target := []string{"c1", "c2", "n3"}
	if err := s.ReconfigureNode(0, target); err != nil {
		t.Fatal(err)
	}
	for _, i := range []int{0, 1, 2, 3, 4} {
		if !untilVoters(s, i, target, 20*time.Second) {
			t.Fatalf("%s did not adopt %v: %s", s.nodes[i].name, target, s.Membership(i))
		}
	}
	for _, n := range stale {
		n.restore = true
		s.Crash(n.idx)
	}
	// They are cut off from the rest for half a second, far less than
	// their quarantine: the newer configuration does not win the race by
	// luck.
	s.Split([]int{0, 1})
	for _, n := range stale {
		s.Restart(n.idx)
		if k := s.Membership(n.idx); k.Epoch != 0 {
			t.Fatalf("%s restarted at epoch %d, want the copy's 0", n.name, k.Epoch)
		}
	}
	s.ReconfigureNode(0, []string{"n1", "n2"}) // refused or not, what matters is what follows
	s.Advance(500 * time.Millisecond)
	s.HealAll()
	s.Advance(10 * time.Second)
	return s
}

func TestReconfigRestoredMajorityWaitsForCheck(t *testing.T) {
	s := scenarioRestoredMajority(t, scenarioOptions())
	if v := s.Violation(); v != nil {
		t.Fatalf("violation: %s", describe(v))
	}
	for _, i := range []int{0, 1} {
		if k := s.Membership(i); k.Epoch < 2 {
			t.Fatalf("%s still runs %s", s.NodeName(i), k)
		}
	}
}
