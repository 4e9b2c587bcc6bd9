package protocol

import (
	"encoding/hex"
	"fmt"
	"slices"
	"testing"
	"time"
)

// r13Run plays one scenario (acquire, renewals, contention, release and
// handoff, a crashed voter's restart, a query) with the given local clock
// offsets and returns every datagram that crossed the wire and every event
// with its deadline as a duration from the node's own now.
func r13Run(t *testing.T, skews map[string]Time) (wire, evs []string) {
	h := newHarness(t, abc, "x", "y")
	for name, s := range skews {
		h.nodes[name].skew = s
		h.nodes[name].starts = 0 // the same random stream as the unskewed run
		h.start(name, Start{Kind: StartFresh})
	}
	h.queue = nil
	h.wire = func(from, to string, b []byte) {
		wire = append(wire, fmt.Sprintf("%s>%s %s", from, to, hex.EncodeToString(b)))
	}
	seen := map[string]int{}
	record := func() {
		for _, n := range h.order {
			for _, e := range h.events[n][seen[n]:] {
				var dl time.Duration
				if e.Deadline != 0 {
					dl = e.Deadline.Sub(h.local(h.nodes[n]))
				}
				evs = append(evs, fmt.Sprintf("%s %s %s tok=%d dl=%v holder=%s/%v/%v err=%v", n, e.Kind, e.Name, e.Token, dl, e.Holder.Owner, e.Holder.Ballot, e.Holder.Remaining, e.Err))
			}
			seen[n] = len(h.events[n])
		}
	}
	h.acquire("x", "L", true)
	h.settle(3*time.Second, nil)
	record()
	h.acquire("y", "L", true)
	h.settle(500*time.Millisecond, nil)
	record()
	x := h.nodes["x"]
	tok, _, ok := x.m.Holding("L")
	if !ok {
		t.Fatalf("x does not hold L:\n%s", h.dump())
	}
	if err := x.m.Release(h.local(x), "L", tok); err != nil {
		t.Fatal(err)
	}
	h.collect(x)
	h.settle(500*time.Millisecond, nil)
	record()
	a := h.nodes["a"]
	a.m.Stop()
	h.start("a", Start{Kind: StartCrashed, Era: a.era})
	h.settle(2*time.Second, nil)
	y := h.nodes["y"]
	if _, err := y.m.Query(h.local(y), "L"); err != nil {
		t.Fatal(err)
	}
	h.collect(y)
	h.settle(10*time.Millisecond, nil)
	record()
	return wire, evs
}

// R13: instants never cross the wire, and no two nodes' instants are ever
// compared. The same scenario run with wildly different local clock origins
// (negative ones, ones centuries apart) must put exactly the same bytes on
// the wire and give exactly the same events. The offsets are multiples of
// the renewal grid, the one place where a node's own origin may matter.
func TestR13ClockOriginsDoNotMatter(t *testing.T) {
	cfg := Config{Self: "a", Voters: abc}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	g := Time(max(cfg.AttemptDuration(cfg.DefaultTTL)/8, time.Millisecond))
	base, baseEv := r13Run(t, nil)
	if len(base) == 0 || len(baseEv) < 4 {
		t.Fatalf("scenario too small: %d datagrams, events %v", len(base), baseEv)
	}
	cases := []struct {
		name  string
		skews map[string]Time
	}{
		{"positive, far apart", map[string]Time{"a": 1000 * g, "b": 3_000_000 * g, "c": 17 * g, "x": 4e18 / g * g, "y": 123_456 * g}},
		{"negative origins", map[string]Time{"a": -1e17 / g * g, "b": -3 * g, "c": -(1e9/g + 1) * g, "x": -4e18 / g * g, "y": -(2e9 / g) * g}},
		{"mixed", map[string]Time{"a": -7 * g, "b": 7 * g, "x": -(3e18 / g) * g, "y": 3e18 / g * g}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			wire, ev := r13Run(t, c.skews)
			if !slices.Equal(ev, baseEv) {
				t.Errorf("R13: events differ with clock offsets %v:\n got %v\nwant %v", c.skews, ev, baseEv)
			}
			if !slices.Equal(wire, base) {
				i := 0
				for i < min(len(wire), len(base)) && wire[i] == base[i] {
					i++
				}
				t.Errorf("R13: wire differs with clock offsets %v (%d vs %d datagrams) from datagram %d", c.skews, len(wire), len(base), i)
			}
		})
	}
}

// R13 (with R4, R9): a local clock whose arbitrary origin makes it read
// negative is as good as any other. A fresh voter answers at once (it has
// no quarantine), an empty slot is no lease, and a recorded lease blocks
// for its TTL and not beyond.
func TestR13NegativeLocalClock(t *testing.T) {
	for _, origin := range []Time{-1, -5_000_000_000, -4e18} {
		t.Run(fmt.Sprint(origin), func(t *testing.T) {
			p := newProbe(t, "a", abc, fresh, nil)
			p.ready()
			p.at(origin)
			if p.m.Quarantined(p.now) {
				t.Error("R9: a fresh voter is quarantined at a negative local time")
			}
			runExchanges(t, p, []exchange{
				{from: "x", msg: prepare(1, 1, "x"), want: TypePromise},
				{from: "y", msg: prepare(1, 2, "y"), want: TypePromise},
				{from: "y", msg: propose(1, 2, "y", time.Second), want: TypeAccepted},
				{from: "x", msg: prepare(1, 3, "x"), want: TypePromise, holder: "y"},
			})
			p.wait(time.Second)
			runExchanges(t, p, []exchange{
				{from: "x", msg: prepare(1, 3, "x"), want: TypePromise},
				{from: "x", msg: propose(1, 3, "x", time.Second), want: TypeAccepted},
			})
			// The proposer side, too.
			q := newProbe(t, "x", abc, fresh, nil)
			q.at(origin)
			q.holdVia("L", time.Second, "a", "b")
		})
	}
}
