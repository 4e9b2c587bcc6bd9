package sim

import (
	"testing"
	"time"
)

// Voter changes combined with the operator's faults (wipes, restores,
// clients without a data dir).

// A wiped voter restarts from the initial list at epoch 0, learns the
// current configuration from a removed voter it still knows (Install),
// and must then learn the era floor from the voters of that
// configuration (R18 with R21) before it opens: its start's check follows
// the configuration it adopts. Otherwise it opens with the floor its
// Install gave it (the configuration's MinEra), which the tokens granted
// under the new configuration already reached.
func TestReconfigWipedVoterLearnsFromNewVoters(t *testing.T) {
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
	if !untilVoters(s, 3, target, 20*time.Second) || !untilVoters(s, 0, target, time.Second) {
		t.Fatalf("the change did not complete: %+v", s.ReconfigStats())
	}
	// Tokens under the new configuration: c1 acquires and releases L1.
	for range 3 {
		s.Acquire(3, 0, true)
		s.Advance(50 * time.Millisecond)
		s.Release(3, 0)
		s.Advance(50 * time.Millisecond)
	}
	granted := s.grantEra()
	if s.chk.grants < 3 || granted == 0 {
		t.Fatalf("no tenure under the new configuration: %d grants", s.chk.grants)
	}
	n1 := s.nodes[0]
	s.wipeDir(n1)
	for end := s.Now() + 2*o.TTL; s.Now() < end && n1.down; {
		s.Advance(10 * time.Millisecond)
	}
	if n1.down {
		t.Fatal("n1 did not restart")
	}
	if !untilVoters(s, 0, target, 5*time.Second) {
		t.Fatalf("the wiped voter did not learn the configuration: %s", s.Membership(0))
	}
	for end := s.Now() + time.Minute; s.Now() < end && n1.m.Quarantined(s.local(n1)); {
		s.Advance(10 * time.Millisecond)
	}
	if n1.m.Quarantined(s.local(n1)) {
		t.Fatal("n1 never left its quarantine")
	}
	if v := s.Violation(); v != nil {
		t.Fatalf("violation: %s", describe(v))
	}
	if e := n1.m.Era(); e <= granted {
		t.Fatalf("the wiped voter opened with era floor %d, not above the era %d of the tokens granted before the wipe", e, granted)
	}
}
