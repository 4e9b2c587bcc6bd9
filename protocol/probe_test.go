package protocol

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// probe drives one machine by hand: the test plays every other node and
// owns the machine's local clock. Rule tests use it to put exactly one
// message, at exactly one instant, in front of the rule under test.
type probe struct {
	t   testing.TB
	m   *Machine
	now Time
}

// probeStart is the local instant every probe starts at.
const probeStart Time = 1_000_000_000

func newProbe(t testing.TB, self string, voters []string, start Start, edit func(*Config)) *probe {
	t.Helper()
	return newProbeAt(t, probeStart, self, voters, start, edit)
}

// newProbeAt is newProbe with the local clock at now when the machine starts.
func newProbeAt(t testing.TB, now Time, self string, voters []string, start Start, edit func(*Config)) *probe {
	t.Helper()
	// Probes play the two-phase exchanges; oneround_test.go switches the
	// one-round acquire back on where it tests it.
	cfg := Config{Self: self, Voters: voters, TwoPhaseAcquire: true}
	if edit != nil {
		edit(&cfg)
	}
	p := &probe{t: t, now: now}
	m, err := New(cfg, start, rand.New(rand.NewPCG(7, 11)), p.now)
	if err != nil {
		t.Fatalf("New(%s): %v", self, err)
	}
	p.m = m
	return p
}

// fresh is the Start of a first start on an empty data dir.
var fresh = Start{Kind: StartFresh}

// ready returns a deep-enough copy of the machine's pending output.
func (p *probe) ready() Output {
	o := p.m.Ready()
	return Output{PersistEra: o.PersistEra, PersistBounds: o.PersistBounds, PersistPeers: o.PersistPeers, Messages: slices.Clone(o.Messages), Events: slices.Clone(o.Events)}
}

func (p *probe) step(from string, msg Message) Output {
	p.m.Step(p.now, from, msg)
	return p.ready()
}

// at sets the local clock (no Tick).
func (p *probe) at(t Time) *probe { p.now = t; return p }

// wait moves the local clock by d (no Tick).
func (p *probe) wait(d time.Duration) *probe { p.now = p.now.Add(d); return p }

// tickTo advances the clock to t, calling Tick at every wake-up on the way,
// and returns everything produced.
func (p *probe) tickTo(t Time) Output {
	var all Output
	for {
		w := p.m.NextWake()
		if w > t {
			break
		}
		p.now = max(p.now, w)
		p.m.Tick(p.now)
		all = appendOutput(all, p.ready())
	}
	p.now = max(p.now, t)
	return all
}

func appendOutput(a, b Output) Output {
	if b.PersistEra != 0 {
		a.PersistEra = b.PersistEra
	}
	a.Messages = append(a.Messages, b.Messages...)
	a.Events = append(a.Events, b.Events...)
	return a
}

func (p *probe) acquire(req AcquireRequest) Output {
	p.t.Helper()
	if err := p.m.Acquire(p.now, req); err != nil {
		p.t.Fatalf("Acquire(%+v): %v", req, err)
	}
	return p.ready()
}

// msgs returns the messages of type T in out, with their destinations.
func msgs[T Message](out Output) (got []T, to []string) {
	for _, e := range out.Messages {
		if m, ok := e.Msg.(T); ok {
			got = append(got, m)
			to = append(to, e.To)
		}
	}
	return got, to
}

// first returns the first message of type T in out, or fails.
func first[T Message](t testing.TB, out Output) T {
	t.Helper()
	got, _ := msgs[T](out)
	if len(got) == 0 {
		var zero T
		t.Fatalf("no %T in output %+v", zero, out)
	}
	return got[0]
}

func events(out Output, k EventKind) []Event {
	var got []Event
	for _, e := range out.Events {
		if e.Kind == k {
			got = append(got, e)
		}
	}
	return got
}

// holdVia makes proposer probe p (not a voter) acquire name: every voter in
// grant promises and accepts. It returns the winning Prepare and the Output
// with EventAcquired.
func (p *probe) holdVia(name string, ttl time.Duration, grant ...string) (*Prepare, Output) {
	p.t.Helper()
	prep := first[*Prepare](p.t, p.acquire(AcquireRequest{Name: name, TTL: ttl}))
	var prop *Propose
	for _, v := range grant {
		if ps, _ := msgs[*Propose](p.step(v, &Promise{Name: name, Attempt: prep.Attempt})); len(ps) > 0 {
			prop = ps[0]
		}
	}
	if prop == nil {
		p.t.Fatalf("no Propose after promises from %v", grant)
	}
	var out Output
	for _, v := range grant {
		out = appendOutput(out, p.step(v, &Accepted{Name: name, Attempt: prop.Attempt}))
	}
	if len(events(out, EventAcquired)) != 1 {
		p.t.Fatalf("not acquired: %+v", out)
	}
	return prep, out
}

// rngFor is a seeded Rand.
func rngFor(seed uint64) Rand { return rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)) }
