//go:build mutants

package sim

import (
	"testing"

	"github.com/tenure-dev/tenure/protocol"
)

// reconfigMutant is one weakening of voter reconfiguration and how the
// simulator catches it: a scripted scenario (reconfig_scenarios_test.go),
// or a sweep of random changes from a fixed seed.
type reconfigMutant struct {
	w     protocol.Weakening
	sc    scenario        // nil: a sweep
	harsh bool            // the sweep runs the harsh preset, with twice the changes
	seeds int             // the sweep's seeds
	kinds []ViolationKind // acceptable violations
	tweak func(*Options)  // changes the sweep's options, if not nil
}

var reconfigMutants = []reconfigMutant{
	// Deciding a joint vote by one half: a grant the other half never saw.
	{w: protocol.WeakJointNewOnly, sc: scenarioJointAcquire, kinds: []ViolationKind{VTwoHolders, VTokenOrder}},
	{w: protocol.WeakJointOldOnly, sc: scenarioJointOldGrant, kinds: []ViolationKind{VTwoHolders, VTokenOrder}},
	// What one voter accepted is not chosen: two initiators, two configurations.
	{w: protocol.WeakAdoptUncommitted, harsh: true, seeds: 40, kinds: []ViolationKind{VConfigChain, VTwoHolders}},
	// No phase one: two initiators each choose their own configuration.
	{w: protocol.WeakNoConfigPrepare, harsh: true, seeds: 40, kinds: []ViolationKind{VConfigChain, VTwoHolders}},
	// Leaving the joint configuration at once: old and new voters overlap in time.
	{w: protocol.WeakNoRetireWait, sc: scenarioHolderCutOff, kinds: []ViolationKind{VTwoHolders}},
	{w: protocol.WeakNoRetireWait, seeds: 40, kinds: []ViolationKind{VTwoHolders}},
	// W from the initiator's lowered MaxTTL: the old voters' longer TTL outlives it.
	{w: protocol.WeakRetireWaitFromConfig, sc: scenarioHolderCutOff, kinds: []ViolationKind{VTwoHolders}},
	// A quarantined voter reports no exclusion: W misses what it forgot.
	{w: protocol.WeakAckForgetsQuarantine, sc: scenarioForgetfulClose, kinds: []ViolationKind{VTwoHolders}},
	// A restart forgets the epoch: the removed voters' old majority grants again.
	{w: protocol.WeakEpochInMemory, sc: scenarioRestartRemoved, kinds: []ViolationKind{VTwoHolders, VConfigChain}},
	// Epochs not in the identity: stale configurations count each other's answers.
	{w: protocol.WeakIgnoreEpoch, seeds: 10, kinds: []ViolationKind{VTwoHolders, VTokenOrder}},
	// No MinEra: a replaced set of voters starts tokens from scratch.
	{w: protocol.WeakNoMinEra, sc: scenarioReplaceAll, kinds: []ViolationKind{VTokenOrder}},
	// Restored voters vote on the next configuration before their start is checked.
	{w: protocol.WeakCfgVoteUnverified, sc: scenarioRestoredMajority, kinds: []ViolationKind{VConfigChain}},
	// An added voter on an empty dir, started as a new cluster under the
	// initial list, votes with no memory once it adopts the configuration.
	{w: protocol.WeakNewVoterUnchecked, harsh: true, seeds: 20, tweak: wipedAddedVoters, kinds: []ViolationKind{VTwoHolders, VTokenOrder}},
}

// Every weakening of reconfiguration is caught by the simulator, from a
// fixed seed; the intact halves are TestReconfigScenariosIntact and
// TestReconfigSweepClean (the same scripts and options).
func TestReconfigMutantsCaught(t *testing.T) {
	covered := map[protocol.Weakening]bool{}
	for _, c := range reconfigMutants {
		covered[c.w] = true
		name := c.w.String() + "/sweep"
		if c.sc != nil {
			name = c.w.String() + "/script"
		}
		t.Run(name, func(t *testing.T) {
			var v *Violation
			if c.sc != nil {
				o := scenarioOptions()
				o.Weaken.Enable(c.w)
				v = c.sc(t, o).Violation()
			} else {
				o := reconfigOptions()
				if c.harsh {
					o.Faults = Preset(FaultsHarsh)
					o.Reconfig.Changes *= 2
				}
				if c.tweak != nil {
					c.tweak(&o)
				}
				o.Weaken.Enable(c.w)
				sum, err := Sweep(o, c.seeds, 0, nil)
				if err != nil {
					t.Fatal(err)
				}
				if len(sum.Violations) > 0 {
					v = sum.Violations[0]
				}
			}
			if v == nil {
				t.Fatalf("%v: the simulator missed it", c.w)
			}
			ok := false
			for _, k := range c.kinds {
				ok = ok || v.Kind == k
			}
			if !ok {
				t.Fatalf("%v: violation of the wrong kind (want %v):\n%s", c.w, c.kinds, describe(v))
			}
			t.Logf("%v caught: %s: %s", c.w, v.Kind, v.Detail)
		})
	}
	for _, w := range protocol.ReconfigWeakenings() {
		if !covered[w] {
			t.Errorf("weakening %v has no simulator case", w)
		}
	}
}
