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
