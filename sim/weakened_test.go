package sim

import (
	"testing"
	"time"
)

// weakCase is one weakened rule and the fault mix that exposes it: with the
// weakening the simulator must report a violation within seeds runs, and
// with the rule intact none in the first control runs (fewer, to keep the
// package's test time modest; the sweeps of tenure sim cover far more).
type weakCase struct {
	name    string
	rule    string // what the rule table says goes wrong
	base    func(*Options)
	weak    func(*Options)
	seeds   int
	control int
	kinds   []ViolationKind // acceptable violation kinds
}

// checkWeakCase runs both halves of a weakCase.
func checkWeakCase(t *testing.T, c weakCase) {
	t.Helper()
	o := DefaultOptions()
	o.Duration = time.Minute
	c.base(&o)
	intact := o
	weak := o
	c.weak(&weak)
	t.Run("weakened", func(t *testing.T) {
		sum, err := Sweep(weak, c.seeds, 0, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(sum.Violations) == 0 {
			t.Fatalf("%s: no violation in %d seeds from %d; the checker missed: %s", c.name, c.seeds, weak.Seed, c.rule)
		}
		v := sum.Violations[0]
		ok := false
		for _, k := range c.kinds {
			ok = ok || v.Kind == k
		}
		if !ok {
			t.Fatalf("%s: violation of the wrong kind (want %v):\n%s", c.name, c.kinds, describe(v))
		}
		t.Logf("%s caught at seed %d after %d runs: %s: %s", c.name, v.Seed, sum.Seeds, v.Kind, v.Detail)
	})
	t.Run("intact", func(t *testing.T) {
		sum, err := Sweep(intact, c.control, 0, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range sum.Violations {
			t.Fatalf("%s with the rule intact: %s", c.name, describe(v))
		}
		if sum.Grants == 0 {
			t.Fatal("no grants: the workload did not run")
		}
	})
}

// TestMisconfigurationsCaught covers the rows of the rule table that are
// ordinary settings rather than code: a quarantine shorter than D_P (R9),
// an assumed ε below the clocks' real drift (R8), and the lost era floor
// (R12).
func TestMisconfigurationsCaught(t *testing.T) {
	cases := []weakCase{
		{
			// R9: a crashed acceptor that answers at once has forgotten the
			// leases it accepted: a burst of crashes lets a second node win.
			name:  "R9 quarantine 0",
			rule:  "forgotten promises: two owners",
			base:  func(o *Options) { o.Faults.Crashes = 10 },
			weak:  func(o *Options) { o.QuarantineMode = QuarantineNone },
			seeds: 60, control: 20,
			kinds: []ViolationKind{VTwoHolders},
		},
		{
			// R8: clocks drift 1% while the protocol assumes none: a paused
			// holder on a slow clock outlives the exclusion at acceptors on
			// fast clocks. Fast messages let the next holder in at once.
			name: "R8 assumed drift 0, real 1e-2",
			rule: "holder outlives the exclusion",
			base: func(o *Options) {
				o.Drift, o.AssumedDrift = 1e-2, 1e-2
				o.Faults.DelayMax = 5 * time.Millisecond
				o.Faults.Pauses = 10
			},
			weak:  func(o *Options) { o.AssumedDrift = 0 },
			seeds: 60, control: 20,
			kinds: []ViolationKind{VTwoHolders},
		},
		{
			// R12: restarts that lose the era floor start counting ballots
			// again: after a majority restarts, a later tenure gets a lower
			// token (or the same (era, round) wins twice).
			name:  "R12 no era floor",
			rule:  "a later tenure gets a lower token",
			base:  func(o *Options) { o.Faults.Crashes = 10 },
			weak:  func(o *Options) { o.NoEra = true },
			seeds: 60, control: 20,
			kinds: []ViolationKind{VTokenOrder, VTwoHolders},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { checkWeakCase(t, c) })
	}
}
