package sim

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"pgregory.net/rapid"
)

// rapidOptions is the small cluster the state-machine test drives: three
// voters, one client node, two leases, a clean network (loss and
// duplication are actions of the test, so failures shrink to them).
func rapidOptions(seed uint64) Options {
	o := DefaultOptions()
	o.Seed = seed
	o.Workload = false
	o.Voters, o.Clients, o.Leases = 3, 1, 2
	o.Faults = Faults{DelayMin: time.Millisecond, DelayMax: 30 * time.Millisecond}
	return o
}

// clusterMachine runs one rapid check of a simulated cluster: every action
// is a fault or a request, and the checkers are the invariant.
func clusterMachine(o Options) func(*rapid.T) {
	return func(t *rapid.T) {
		o.Seed = rapid.Uint64().Draw(t, "seed")
		s, err := New(o, nil)
		if err != nil {
			t.Fatal(err)
		}
		n := s.Nodes()
		node := rapid.IntRange(0, n-1)
		lease := rapid.IntRange(0, o.Leases-1)
		group := rapid.SliceOfNDistinct(node, 1, n-1, rapid.ID[int])
		check := func(t *rapid.T) {
			if v := s.Violation(); v != nil {
				t.Fatalf("%s", describe(v))
			}
		}
		t.Repeat(map[string]func(*rapid.T){
			"acquire": func(t *rapid.T) {
				s.Acquire(node.Draw(t, "node"), lease.Draw(t, "lease"), rapid.Bool().Draw(t, "wait"))
			},
			"release": func(t *rapid.T) { s.Release(node.Draw(t, "node"), lease.Draw(t, "lease")) },
			"cancel":  func(t *rapid.T) { s.Cancel(node.Draw(t, "node"), lease.Draw(t, "lease")) },
			"write":   func(t *rapid.T) { s.Write(node.Draw(t, "node"), lease.Draw(t, "lease")) },
			"split":   func(t *rapid.T) { s.Split(group.Draw(t, "group")) },
			"deafen":  func(t *rapid.T) { s.Deafen(node.Draw(t, "node"), group.Draw(t, "from")) },
			"heal":    func(t *rapid.T) { s.HealAll() },
			"crash":   func(t *rapid.T) { s.Crash(node.Draw(t, "node")) },
			"stop":    func(t *rapid.T) { s.Shutdown(node.Draw(t, "node")) },
			"restart": func(t *rapid.T) { s.Restart(node.Draw(t, "node")) },
			"pause": func(t *rapid.T) {
				s.Pause(node.Draw(t, "node"), time.Duration(rapid.IntRange(1, 5000).Draw(t, "ms"))*time.Millisecond)
			},
			"drop": func(t *rapid.T) { s.DropInFlight(rapid.IntRange(0, 50).Draw(t, "k")) },
			"dup": func(t *rapid.T) {
				s.DuplicateInFlight(rapid.IntRange(0, 50).Draw(t, "k"), time.Duration(rapid.IntRange(0, 4000).Draw(t, "extra_ms"))*time.Millisecond)
			},
			"advance": func(t *rapid.T) {
				s.Advance(time.Duration(rapid.IntRange(1, 3000).Draw(t, "ms")) * time.Millisecond)
			},
			"": check,
		})
		// Checker (d): once faults stop, every wanted lease is granted
		// within the bound.
		s.StopFaults()
		for l := range o.Leases {
			for i := range n {
				if s.Acquire(i, l, true) {
					break
				}
			}
		}
		s.Advance(s.LivenessBound() + 2*o.TTL)
		check(t)
	}
}

func describe(v *Violation) string {
	return fmt.Sprintf("%s on %s, nodes %v, at %v (sim seed %d): %s\nlast events:\n  %s",
		v.Kind, v.Lease, v.Nodes, v.At, v.Seed, v.Detail, strings.Join(v.Last, "\n  "))
}

// TestRapidCluster is the state-machine property test: random faults and
// requests, the checkers after every step. Replay a failure with the
// -rapid.seed it prints: go test ./sim -run TestRapidCluster -rapid.seed=N
func TestRapidCluster(t *testing.T) {
	rapid.Check(t, clusterMachine(rapidOptions(0)))
}

// TestSeedSweep runs the random workload over a range of seeds with harsh
// faults; every run must be free of violations.
func TestSeedSweep(t *testing.T) {
	o := DefaultOptions()
	o.Duration = 30 * time.Second
	o.Faults = Preset(FaultsHarsh)
	seeds := 8
	if testing.Short() {
		seeds = 2
	}
	sum, err := Sweep(o, seeds, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range sum.Violations {
		t.Errorf("%s\nreplay: go run ./cmd/tenure sim --seed %d --duration 30s --faults harsh", describe(v), v.Seed)
	}
	if sum.Grants == 0 {
		t.Fatal("no lease was ever granted")
	}
}
