package sim

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

// TestThousandClientsQuiet runs 5 voters and 1,000 client nodes without
// faults for a few simulated seconds (and the quiet phase that follows):
// all of them campaigning for one lease, then 1,000 over 10,000 names with
// one client each. Every checker must have judged something, and nothing
// may break. It asserts no timing; the two runs take about a second of CPU
// together, 7 s under -race, in parallel.
func TestThousandClientsQuiet(t *testing.T) {
	for _, tc := range []struct {
		name          string
		leases, slots int
	}{
		{"one-lease", 1, 0},
		{"tasks", 10000, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			o := DefaultOptions()
			o.Seed = 1
			o.Clients, o.Leases, o.Slots = 1000, tc.leases, tc.slots
			o.Duration = 3 * time.Second
			o.Faults = Preset(FaultsNone)
			r, err := Run(o)
			if err != nil {
				t.Fatal(err)
			}
			replay := fmt.Sprintf("go run ./cmd/tenure sim --faults none --duration 3s --clients 1000 --leases %d --slots %d", tc.leases, tc.slots)
			if r.Violation != nil {
				t.Fatalf("%s\nreplay: %s", describe(r.Violation), replay)
			}
			c := r.Checks
			if c.Holders == 0 || c.Tokens == 0 || c.Writes == 0 || c.Vacancies == 0 || c.Invariants == 0 {
				t.Fatalf("a checker judged nothing: %+v (replay: %s)", c, replay)
			}
			if r.Grants < 2 {
				t.Fatalf("%d grants: the clients hardly ran (replay: %s)", r.Grants, replay)
			}
			if len(r.VoterMessages) != o.Voters {
				t.Fatalf("voter counts for %d voters, want %d", len(r.VoterMessages), o.Voters)
			}
			for i, m := range r.VoterMessages {
				if m == 0 {
					t.Fatalf("voter n%d was sent no message", i+1)
				}
			}
			t.Logf("%d grants, %d messages, %d events, checks %+v", r.Grants, r.Messages, r.Events, c)
		})
	}
}

// TestScaleLimits: the size limits of Options.Validate, each refused just
// past its bound with ErrOptions.
func TestScaleLimits(t *testing.T) {
	cases := []struct {
		clients, leases, slots, edge int
		ok                           bool
	}{
		{1000, 1, 0, 0, true},
		{1000, 10000, 1, 0, true},
		{MaxHolders - 5, 1, 0, 0, true},
		{MaxHolders - 4, 1, 0, 0, false},
		{MaxHolders - 10, 1, 0, 5, true},
		{MaxHolders - 10, 1, 0, 6, false},
		{2, MaxLeases, 1, 0, true},
		{2, MaxLeases + 1, 1, 0, false},
		{1000, 10000, 0, 0, false}, // a client per lease on every node: 10 M
		{1995, 1000, 0, 0, true},   // exactly MaxClients
		{1996, 1000, 0, 0, false},
		{2, 3, 4, 0, false}, // more slots than leases
		{2, 3, -1, 0, false},
	}
	for _, c := range cases {
		o := DefaultOptions()
		o.Clients, o.Leases, o.Slots = c.clients, c.leases, c.slots
		if c.edge > 0 {
			o.Edge.Agents, o.Edge.Clients = 1, c.edge
		}
		err := o.Validate()
		if (err == nil) != c.ok || (err != nil && !errors.Is(err, ErrOptions)) {
			t.Errorf("clients %d, leases %d, slots %d, edge clients %d: Validate = %v, want ok %v",
				c.clients, c.leases, c.slots, c.edge, err, c.ok)
		}
	}
}

// TestHolderBytes: a trace record's node field keeps every holder index
// apart from every other and from noNode, and below 255 has the one-byte
// form of the traces (and digests) from before the field was widened.
func TestHolderBytes(t *testing.T) {
	seen := map[[2]byte]int{}
	lo, hi := holderBytes(noNode)
	seen[[2]byte{lo, hi}] = noNode
	for i := 0; i < MaxHolders; i++ {
		lo, hi := holderBytes(uint16(i))
		if i < 255 && (lo != byte(i) || hi != 0) {
			t.Fatalf("index %d: form (%d, %d), want (%d, 0)", i, lo, hi, i)
		}
		if j, dup := seen[[2]byte{lo, hi}]; dup {
			t.Fatalf("indexes %d and %d share the form (%d, %d)", i, j, lo, hi)
		}
		seen[[2]byte{lo, hi}] = i
	}
}

// TestSlotsDrawDistinctNames: with as many slots as names, every node's
// clients work on distinct names at every instant, and the run stays
// clean; and each slot moves between names over the run.
func TestSlotsDrawDistinctNames(t *testing.T) {
	o := DefaultOptions()
	o.Clients, o.Leases, o.Slots = 3, 4, 4
	o.Duration = 20 * time.Second
	s, err := New(o, nil)
	if err != nil {
		t.Fatal(err)
	}
	moved := map[[2]int]map[int32]bool{}
	for s.Now() < o.Duration && s.Violation() == nil {
		s.Advance(50 * time.Millisecond)
		for _, n := range s.nodes {
			taken := map[int32]int{}
			for k, c := range n.clients {
				if c.lease < 0 {
					continue
				}
				if j, dup := taken[c.lease]; dup {
					t.Fatalf("%v: %s slots %d and %d both on %s", s.Now(), n.name, j, k, s.leases[c.lease])
				}
				taken[c.lease] = k
				key := [2]int{n.idx, k}
				if moved[key] == nil {
					moved[key] = map[int32]bool{}
				}
				moved[key][c.lease] = true
			}
		}
	}
	if v := s.Violation(); v != nil {
		t.Fatal(describe(v))
	}
	many := 0
	for _, names := range moved {
		if len(names) > 1 {
			many++
		}
	}
	if many == 0 {
		t.Fatal("no slot ever worked on a second name")
	}
}

// TestTakeoverMeasured: a holder that crashes, or abandons its lease,
// while another client waits starts a takeover, which the next grant ends;
// a release starts none. The lease stays blocked at the voters until it
// expires, so each takeover lasts at least most of a TTL.
func TestTakeoverMeasured(t *testing.T) {
	for _, end := range []string{"crash", "abandon", "release"} {
		t.Run(end, func(t *testing.T) {
			s, err := New(rapidOptions(1), nil)
			if err != nil {
				t.Fatal(err)
			}
			const n1, c1 = 0, 3
			s.Acquire(n1, 0, true)
			s.Advance(300 * time.Millisecond)
			if !s.nodes[n1].clients[0].state.holding() {
				t.Fatal("setup: n1 does not hold L1")
			}
			s.Acquire(c1, 0, true)
			s.Advance(100 * time.Millisecond)
			switch end {
			case "crash":
				s.Crash(n1)
			case "abandon":
				s.abandon(s.nodes[n1], 0)
			case "release":
				s.Release(n1, 0)
			}
			s.Advance(3 * s.opts.TTL)
			if v := s.Violation(); v != nil {
				t.Fatal(describe(v))
			}
			if !s.nodes[c1].clients[0].state.holding() {
				t.Fatal("c1 never got L1")
			}
			r := s.result(0)
			if end == "release" {
				if len(r.Takeovers) != 0 {
					t.Fatalf("a release measured takeovers %v", r.Takeovers)
				}
				return
			}
			if len(r.Takeovers) != 1 || r.Takeovers[0] < s.opts.TTL/2 {
				t.Fatalf("takeovers %v, want one of at least %v", r.Takeovers, s.opts.TTL/2)
			}
		})
	}
}

// TestSameSeedSameTraceAtScale: past 255 holders (node indexes that need
// the trace's second byte) one seed still gives one digest, and another
// seed another. Three simulated seconds with harsh faults each.
func TestSameSeedSameTraceAtScale(t *testing.T) {
	o := DefaultOptions()
	o.Clients, o.Leases, o.Slots = 260, 520, 1
	o.Faults = Preset(FaultsHarsh)
	digest := func(seed uint64) string {
		o.Seed = seed
		s, err := New(o, nil)
		if err != nil {
			t.Fatal(err)
		}
		s.Advance(3 * time.Second)
		if v := s.Violation(); v != nil {
			t.Fatalf("seed %d: %s", seed, describe(v))
		}
		return s.TraceDigest()
	}
	a, b, c := digest(3), digest(3), digest(4)
	if a != b {
		t.Fatalf("seed 3 twice: digests %s and %s", a, b)
	}
	if a == c {
		t.Fatalf("seeds 3 and 4: one digest %s", a)
	}
}
