package sim

import (
	"testing"
	"time"
)

// reconfigOptions are the default options with voter changes on: about
// one change every ten simulated seconds.
func reconfigOptions() Options {
	o := DefaultOptions()
	o.Duration = time.Minute
	o.Reconfig.Changes = 6
	return o
}

// wipedAddedVoters makes a sweep wipe voters' data dirs, those added by a
// change included, and start them again as a new cluster (--wipes 4
// --wipe-fresh --wipe-added, two minutes, 10 changes a minute).
func wipedAddedVoters(o *Options) {
	o.Duration = 2 * time.Minute
	o.Reconfig.Changes = 10
	o.Operator.Wipes = 4
	o.Operator.WipeFresh = true
	o.Operator.WipeAdded = true
}

// R18 with R21: voters added by a change have their dirs wiped and start
// again as a new cluster, under the initial list that names them no
// voter; the adoption that makes them voters checks their start, and the
// sweep stays clean (without that check, WeakNewVoterUnchecked, seed 17
// of it had two holders: reconfig_mutants_test.go).
func TestReconfigWipedAddedVotersClean(t *testing.T) {
	o := reconfigOptions()
	o.Faults = Preset(FaultsHarsh)
	wipedAddedVoters(&o)
	sum, err := Sweep(o, 20, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(sum.Violations) > 0 {
		t.Fatalf("violation:\n%s", describe(sum.Violations[0]))
	}
	if sum.Operator.Wipes == 0 || sum.Reconfig.Done == 0 {
		t.Fatalf("the sweep wiped %d dirs and finished %d changes: it did not reach the case", sum.Operator.Wipes, sum.Reconfig.Done)
	}
}

// Voter changes among the faults keep every checker clean, and happen:
// changes complete, are interrupted, compete, and epochs rise. The harsh
// half is the control of the harsh sweeps of reconfig_mutants_test.go.
func TestReconfigSweepClean(t *testing.T) {
	for _, c := range []struct {
		name  string
		harsh bool
		seeds int
	}{{"mild", false, 6}, {"harsh", true, 12}} {
		t.Run(c.name, func(t *testing.T) {
			o := reconfigOptions()
			if c.harsh {
				o.Faults = Preset(FaultsHarsh)
				o.Reconfig.Changes *= 2
			}
			sum, err := Sweep(o, c.seeds, 0, nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range sum.Violations {
				t.Fatalf("violation with voter changes: %s", describe(v))
			}
			st := sum.Reconfig
			if st.Done == 0 || st.Epoch < 2 || st.Interrupted == 0 || st.Changed == 0 {
				t.Fatalf("voter changes did not all happen: %+v", st)
			}
			if sum.Grants == 0 {
				t.Fatal("no grants")
			}
			t.Logf("%+v grants %d availability %.3f", st, sum.Grants, sum.Availability)
		})
	}
}

// Voter changes keep the run deterministic: one seed, one trace.
func TestReconfigDeterministic(t *testing.T) {
	o := reconfigOptions()
	o.Seed = 5
	a, err := Run(o)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Run(o)
	if err != nil {
		t.Fatal(err)
	}
	if a.TraceDigest != b.TraceDigest || a.Reconfig != b.Reconfig {
		t.Fatalf("seed %d twice: digests %s and %s, changes %+v and %+v", o.Seed, a.TraceDigest, b.TraceDigest, a.Reconfig, b.Reconfig)
	}
	if a.Reconfig.Started == 0 {
		t.Fatal("no voter change in the run")
	}
}

// The limit of the restore model (assume.go) covers voters a change added:
// with WipeAdded the operator wiped c1 while it was the only voter of the
// newest configuration, nobody was left to tell it the cluster's era, and
// it granted a fencing token equal to an earlier one (seed 20040) or below
// it (seed 60556). Wiping every voter of a configuration is losing a
// majority of acceptors' disks; the operator now holds it back as it does
// for the configured voters.
func TestReconfigWipeAddedLimitRegression(t *testing.T) {
	for _, seed := range []uint64{20040, 60556} {
		o := DefaultOptions()
		o.Seed = seed
		o.Faults = Preset(FaultsHarsh)
		o.Duration = 2 * time.Minute
		o.Reconfig.Changes = 10
		o.Operator.Wipes = 3
		o.Operator.WipeAdded = true
		r, err := Run(o)
		if err != nil {
			t.Fatal(err)
		}
		if r.Violation != nil {
			t.Errorf("seed %d: %s\nreplay: go run ./cmd/tenure sim --seed %d --duration 2m --faults harsh --reconfigs 10 --wipes 3 --wipe-added", seed, describe(r.Violation), seed)
		}
	}
}

// The limit of the restore model counts ballots proposed, not only tokens
// granted: the operator wiped n3 again while n1, the only voter that
// knew era 3113, was cut off from it, and 3113.1 was granted to n1 a
// moment later on the acceptance of n3's previous incarnation. n3 learned
// era 3112 from n4 and accepted 3113.1 from n4: one token twice (seed
// 300844). Wiping a voter while every voter that knows the newest era is
// out of its reach is beyond the model, as losing a majority's disks is.
func TestRestoreLimitCountsProposedEras(t *testing.T) {
	o := DefaultOptions()
	o.Seed = 300844
	o.Faults = Preset(FaultsHarsh)
	o.Duration = 2 * time.Minute
	o.Reconfig.Changes = 10
	o.Operator.Wipes, o.Operator.Restores, o.Operator.WipeFresh = 4, 4, true
	o.Operator.NoDiskClients, o.Operator.Zombies = true, true
	r, err := Run(o)
	if err != nil {
		t.Fatal(err)
	}
	if r.Violation != nil {
		t.Errorf("%s\nreplay: go run ./cmd/tenure sim --seed 300844 --duration 2m --faults harsh --reconfigs 10 --wipes 4 --restores 4 --wipe-fresh --no-disk-clients --zombies", describe(r.Violation))
	}
}
