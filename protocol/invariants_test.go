package protocol

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// TestInvariantsCatchTampering breaks each local invariant by hand, after a
// real tenure, and expects CheckInvariants to name it. The harness runs the
// check after every input of every test, so those tests show it stays quiet
// while the machine keeps its rules.
func TestInvariantsCatchTampering(t *testing.T) {
	cases := []struct {
		name   string
		rule   string
		tamper func(x, a *Machine)
	}{
		{"era floor falls", "era floor fell", func(x, a *Machine) { x.era-- }},
		{"refused era falls", "refused-era bound fell", func(x, a *Machine) {
			a.rejectBelow = 2
			if err := a.CheckInvariants(); err != nil {
				t.Fatalf("raising the bound is allowed: %v", err)
			}
			a.rejectBelow = 1
		}},
		{"promise falls", "R4: promise", func(x, a *Machine) { a.slots["L"].promised = Ballot{} }},
		{"collected slot forgets its promise", "R4: promise", func(x, a *Machine) { delete(a.slots, "L") }},
		{"accepted above promise", "R5:", func(x, a *Machine) { a.slots["L"].ballot.Round += 10 }},
		{"deadline moves earlier", "R11: deadline", func(x, a *Machine) { x.claims["L"].deadline-- }},
		{"tenure ballot not above", "R12: tenure", func(x, a *Machine) {
			x.claims["L"].ballot = Ballot{Era: 1, Round: 0, Node: "y"}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, []string{"a", "b", "c"}, "x")
			h.acquire("x", "L", true)
			h.settle(5*time.Millisecond, nil)
			if e := h.lastEvent("x"); e.Kind != EventAcquired {
				t.Fatalf("x did not acquire:\n%s", h.dump())
			}
			x, a := h.nodes["x"].m, h.nodes["a"].m
			if err := errors.Join(x.CheckInvariants(), a.CheckInvariants()); err != nil {
				t.Fatalf("untouched machines: %v", err)
			}
			tc.tamper(x, a)
			err := errors.Join(x.CheckInvariants(), a.CheckInvariants())
			if !errors.Is(err, ErrInvariant) || !strings.Contains(err.Error(), tc.rule) {
				t.Fatalf("CheckInvariants = %v, want ErrInvariant naming %q", err, tc.rule)
			}
		})
	}
}

// TestInvariantsRenewalsAndReacquire runs a tenure through renewals, a
// release and a second tenure, checking after every input (the harness
// does), and then checks that the marks saw both tenures.
func TestInvariantsRenewalsAndReacquire(t *testing.T) {
	h := newHarness(t, []string{"a", "b", "c"}, "x")
	h.acquire("x", "L", true)
	h.settle(5*time.Second, nil)
	x := h.nodes["x"].m
	tok1, _, ok := x.Holding("L")
	if !ok {
		t.Fatalf("x does not hold L:\n%s", h.dump())
	}
	if err := x.Release(h.local(h.nodes["x"]), "L", tok1); err != nil {
		t.Fatal(err)
	}
	h.collect(h.nodes["x"])
	h.settle(50*time.Millisecond, nil)
	h.acquire("x", "L", true)
	h.settle(50*time.Millisecond, nil)
	tok2, _, ok := x.Holding("L")
	if !ok || tok2 <= tok1 {
		t.Fatalf("second tenure: ok=%v token %d after %d\n%s", ok, tok2, tok1, h.dump())
	}
	if got := x.marks.tenures["L"].ballot.Token(); got != tok2 {
		t.Fatalf("marks hold token %d, want the second tenure's %d", got, tok2)
	}
}
