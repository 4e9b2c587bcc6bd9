package protocol

import (
	"errors"
	"slices"
	"testing"
	"time"
)

// The one-round acquire (oneround.go): the voter's decision case by case,
// then whole exchanges on the harness with the one-round acquire on, as it
// is by default.

// newOneRoundHarness is newHarness with the default configuration (the
// one-round acquire on), edited by edit.
func newOneRoundHarness(t testing.TB, edit func(*Config), voters []string, extra ...string) *harness {
	h := &harness{t: t, nodes: map[string]*hnode{}, enc: NewEncoder(), dec: NewDecoder(), events: map[string][]Event{}, now: 1_000_000_000}
	h.cfg = Config{Voters: voters}
	if edit != nil {
		edit(&h.cfg)
	}
	for _, n := range append(slices.Clone(voters), extra...) {
		h.order = append(h.order, n)
		h.nodes[n] = &hnode{name: n}
		h.start(n, Start{Kind: StartFresh})
	}
	h.deliverAll(nil) // the voters' Hellos (R18)
	return h
}

// holdAndRelease has node acquire name without waiting, fails the test if
// it does not then hold it, releases it and delivers what follows; it
// returns the token node held.
func (h *harness) holdAndRelease(node, name string) uint64 {
	h.t.Helper()
	h.acquire(node, name, false)
	h.deliverAll(nil)
	n := h.nodes[node]
	tok, _, ok := n.m.Holding(name)
	if !ok {
		h.t.Fatalf("%s does not hold %s: %s", node, name, h.dump())
	}
	_ = n.m.Release(h.local(n), name, tok)
	h.collect(n)
	h.advance(0)
	h.deliverAll(nil)
	return tok
}

func oneRoundPropose(era, round uint32, node string, attempt uint64) *Propose {
	return &Propose{Name: "L", Ballot: Ballot{Era: era, Round: round, Node: node}, Attempt: attempt, TTL: time.Second, OneRound: true}
}

// TestOneRoundDecide checks decideOneRound case by case: strictly above the
// promise (R3, R12, R20), no lease in the way, the sender's own included
// (R5, R7), the handoff grace, and a copy of an accepted one-round Propose
// judged as phase two.
func TestOneRoundDecide(t *testing.T) {
	const now Time = 10_000
	live := func(owner string, round uint32) slot {
		b := Ballot{Era: 1, Round: round, Node: owner}
		return slot{name: "L", promised: b, promisedAttempt: 40, owner: owner, ballot: b, until: now.Add(time.Second)}
	}
	released := func(favoured string) slot {
		s := live("y", 3)
		s.released = true
		s.grace = handoff{favoured: favoured, until: now.Add(time.Millisecond)}
		return s
	}
	promised := slot{name: "L", promised: Ballot{Era: 1, Round: 5, Node: "y"}, promisedAttempt: 50}
	cases := []struct {
		name   string
		s      slot
		p      *Propose
		lax    oneRoundLax
		reason Reason // ReasonNone: accepted
		wait   bool
	}{
		{"empty slot", slot{name: "L"}, oneRoundPropose(1, 1, "x", 7), oneRoundLax{}, ReasonNone, false},
		{"above the promise", promised, oneRoundPropose(1, 6, "x", 7), oneRoundLax{}, ReasonNone, false},
		{"below the promise", promised, oneRoundPropose(1, 4, "x", 7), oneRoundLax{}, ReasonPromised, false},
		{"equal, another node", promised, oneRoundPropose(1, 5, "x", 7), oneRoundLax{}, ReasonPromised, false},
		{"equal, same node, another attempt (R20)", promised, oneRoundPropose(1, 5, "y", 7), oneRoundLax{}, ReasonPromised, false},
		{"equal, same node, same attempt: a copy", promised, oneRoundPropose(1, 5, "y", 50), oneRoundLax{}, ReasonNone, false},
		{"lower era", promised, oneRoundPropose(0, 9, "x", 7), oneRoundLax{}, ReasonPromised, false},
		{"another owner's live lease", live("y", 3), oneRoundPropose(1, 4, "x", 7), oneRoundLax{}, ReasonLive, true},
		{"own live lease (R7)", live("x", 3), oneRoundPropose(1, 4, "x", 7), oneRoundLax{}, ReasonLive, true},
		{"below the promise and a live lease", live("y", 3), oneRoundPropose(1, 2, "x", 7), oneRoundLax{}, ReasonPromised, true},
		{"expired lease", func() slot { s := live("y", 3); s.until = now; return s }(), oneRoundPropose(1, 4, "x", 7), oneRoundLax{}, ReasonNone, false},
		{"handoff grace for another", released("z"), oneRoundPropose(1, 4, "x", 7), oneRoundLax{}, ReasonHandoff, true},
		{"handoff grace for the sender", released("x"), oneRoundPropose(1, 4, "x", 7), oneRoundLax{}, ReasonNone, false},
		{"released, no grace", released(""), oneRoundPropose(1, 4, "x", 7), oneRoundLax{}, ReasonNone, false},
		// The weakenings.
		{"equal, lax", promised, oneRoundPropose(1, 5, "x", 7), oneRoundLax{notAbove: true}, ReasonNone, false},
		{"below, lax", promised, oneRoundPropose(1, 4, "x", 7), oneRoundLax{notAbove: true}, ReasonPromised, false},
		{"own live lease, lax", live("x", 3), oneRoundPropose(1, 4, "x", 7), oneRoundLax{ownLive: true}, ReasonNone, false},
		{"own live lease, only R5 lax", live("x", 3), oneRoundPropose(1, 4, "x", 7), oneRoundLax{replaceLive: true}, ReasonLive, true},
		{"another's live lease, R5 lax", live("y", 3), oneRoundPropose(1, 4, "x", 7), oneRoundLax{replaceLive: true}, ReasonNone, false},
		{"another's live lease, only own lax", live("y", 3), oneRoundPropose(1, 4, "x", 7), oneRoundLax{ownLive: true}, ReasonLive, true},
		{"equal, same node, another attempt, R20 lax", promised, oneRoundPropose(1, 5, "y", 7), oneRoundLax{anyAttempt: true}, ReasonNone, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := c.s
			a := decideOneRound(&c.s, now, c.p.Ballot.Node, c.p, c.lax)
			if c.s.promised != before.promised || c.s.owner != before.owner || c.s.until != before.until || len(c.s.waiters) != 0 {
				t.Fatal("decideOneRound changed the slot")
			}
			switch {
			case c.reason == ReasonNone && a.reject != nil:
				t.Fatalf("rejected (%v), want accepted", a.reject.Reason)
			case c.reason != ReasonNone && a.reject == nil:
				t.Fatalf("accepted, want a reject for %v", c.reason)
			case a.reject != nil && a.reject.Reason != c.reason:
				t.Fatalf("reason %v, want %v", a.reject.Reason, c.reason)
			case a.wait != c.wait:
				t.Fatalf("wait %v, want %v", a.wait, c.wait)
			}
			if a.reject != nil && (a.reject.Promised != c.s.promised || a.reject.Attempt != c.p.Attempt) {
				t.Fatalf("reject %+v does not carry the promise %v and attempt %d", a.reject, c.s.promised, c.p.Attempt)
			}
		})
	}
}

// TestOneRoundUncontended: a first acquire is one Propose, no Prepare; a
// majority of accepts makes the holder, with the deadline counted from the
// moment the Propose left (R6) and a token that is the ballot (R12).
func TestOneRoundUncontended(t *testing.T) {
	h := newOneRoundHarness(t, nil, []string{"a", "b", "c"}, "x")
	sent := h.now
	h.acquire("x", "L", false)
	if n := len(h.take(isType(TypePrepare))); n != 0 {
		t.Fatalf("%d Prepares sent, want none", n)
	}
	props := h.take(isType(TypePropose))
	if len(props) != 3 {
		t.Fatalf("%d Proposes, want one to each voter", len(props))
	}
	for _, p := range props {
		if !p.msg.(*Propose).OneRound {
			t.Fatalf("Propose to %s not marked OneRound", p.to)
		}
	}
	h.advance(5 * time.Millisecond) // the answers come back late: the deadline does not move
	h.deliver(props...)
	h.deliverAll(nil)
	e := h.lastEvent("x")
	if e.Kind != EventAcquired || e.Token != (Ballot{Era: 1, Round: 1}).Token() {
		t.Fatalf("x: %+v, want acquired with token 1.1\n%s", e, h.dump())
	}
	cfg := h.nodes["x"].m.Config()
	if want := sent.Add(cfg.AttemptDuration(cfg.DefaultTTL) - cfg.MarginFor(cfg.DefaultTTL)); e.Deadline != want {
		t.Fatalf("deadline %d, want %d: counted from the Propose's send", e.Deadline, want)
	}
	if c := h.nodes["x"].m.Counters(); c.OneRounds != 1 || c.Rounds != 1 || c.Sent[TypePrepare] != 0 {
		t.Fatalf("counters %+v: want one round, one-round, no Prepare", c)
	}
	// The holder renews in one phase, as before.
	h.settle(2*time.Second, nil)
	if got := h.holders("L"); len(got) != 1 || got[0] != "x" {
		t.Fatalf("holders after 2s: %v, want [x]", got)
	}
}

// TestOneRoundNoHolderAfterDeadline: accepts that complete the majority at
// or after d - m, d fixed when the Propose left, make no holder (R6), and
// the attempt's accepts are released (R10).
func TestOneRoundNoHolderAfterDeadline(t *testing.T) {
	for _, c := range []struct {
		name string
		late func(dp, m time.Duration) time.Duration
		held bool
	}{
		{"just before d-m", func(dp, m time.Duration) time.Duration { return dp - m - 1 }, true},
		{"at d-m", func(dp, m time.Duration) time.Duration { return dp - m }, false},
		{"long after d", func(dp, m time.Duration) time.Duration { return 3 * dp }, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			if held := oneRoundLateAccepts(t, nil, c.late); held != c.held {
				t.Fatalf("holder %v, want %v", held, c.held)
			}
		})
	}
}

// oneRoundLateAccepts has probe x send a one-round Propose, then hands it
// the accepts of a and b at the instant late gives; it reports whether x
// became holder.
func oneRoundLateAccepts(t *testing.T, edit func(*Config), late func(dp, m time.Duration) time.Duration) bool {
	t.Helper()
	p := newProbe(t, "x", []string{"a", "b", "c"}, fresh, func(c *Config) {
		c.TwoPhaseAcquire = false
		if edit != nil {
			edit(c)
		}
	})
	start := p.now
	prop := first[*Propose](t, p.acquire(AcquireRequest{Name: "L", TTL: time.Second}))
	if !prop.OneRound {
		t.Fatal("the first attempt is not one-round")
	}
	cfg := p.m.Config()
	p.at(start.Add(late(cfg.AttemptDuration(time.Second), cfg.MarginFor(time.Second))))
	var out Output
	for _, v := range []string{"a", "b"} {
		out = appendOutput(out, p.step(v, &Accepted{Name: "L", Attempt: prop.Attempt}))
	}
	held := len(events(out, EventAcquired)) == 1
	if !held {
		out = appendOutput(out, p.tickTo(p.now))
		if rel, _ := msgs[*Release](out); len(rel) == 0 || !rel[0].Ballot.Same(prop.Ballot) {
			t.Fatalf("a failed one-round attempt did not release its ballot %v: %+v", prop.Ballot, rel)
		}
	}
	return held
}

// TestOneRoundHeldFallsBack: a one-round attempt that meets a live lease
// fails like a blocked Prepare (ErrHeld, or a wait), leaves no accepts
// behind (its minority is released), and the request goes on in two
// phases.
func TestOneRoundHeldFallsBack(t *testing.T) {
	h := newOneRoundHarness(t, nil, []string{"a", "b", "c"}, "x", "y")
	h.acquire("y", "L", false)
	h.deliverAll(nil)
	if h.lastEvent("y").Kind != EventAcquired {
		t.Fatalf("y did not acquire: %s", h.dump())
	}
	h.acquire("x", "L", false)
	h.deliverAll(nil)
	e := h.lastEvent("x")
	if e.Kind != EventFailed || !errors.Is(e.Err, ErrHeld) || e.Holder.Owner != "y" {
		t.Fatalf("x: %+v, want ErrHeld by y", e)
	}
	// A waiting request: blocked, then two phases once y releases.
	h.acquire("x", "L", true)
	h.deliverAll(nil)
	tok, _, _ := h.nodes["y"].m.Holding("L")
	if err := h.nodes["y"].m.Release(h.local(h.nodes["y"]), "L", tok); err != nil {
		t.Fatal(err)
	}
	h.collect(h.nodes["y"])
	var prepares, oneRounds int
	h.onSend = func(m hmsg) {
		if m.from != "x" {
			return
		}
		switch msg := m.msg.(type) {
		case *Prepare:
			prepares++
		case *Propose:
			if msg.OneRound {
				oneRounds++
			}
		}
	}
	h.settle(100*time.Millisecond, nil)
	if got := h.holders("L"); len(got) != 1 || got[0] != "x" {
		t.Fatalf("holders %v, want [x]\n%s", got, h.dump())
	}
	if prepares == 0 || oneRounds != 0 {
		t.Fatalf("after a blocked one-round attempt: %d Prepares and %d one-round Proposes, want two phases", prepares, oneRounds)
	}
}

// TestOneRoundMinorityReleased: a one-round attempt accepted by one voter
// only, refused by the others (another node holds there), releases exactly its ballot
// at that voter, so it blocks nobody until expiry (R5, R10).
func TestOneRoundMinorityReleased(t *testing.T) {
	h := newOneRoundHarness(t, nil, []string{"a", "b", "c"}, "x", "y")
	h.acquire("y", "L", false)
	h.deliverAll(func(m hmsg) bool { return m.to == "a" }) // y holds at b and c only
	if h.lastEvent("y").Kind != EventAcquired {
		t.Fatalf("y did not acquire: %s", h.dump())
	}
	h.acquire("x", "L", false)
	h.deliverAll(nil)
	if e := h.lastEvent("x"); e.Kind != EventFailed {
		t.Fatalf("x: %+v, want failed", e)
	}
	a := h.nodes["a"].m.slots["L"]
	if a == nil || a.owner != "x" || a.released {
		t.Fatalf("a did not accept x's one-round Propose: %+v", a)
	}
	h.advance(0)
	h.deliverAll(nil)
	if !a.released || a.live(h.local(h.nodes["a"])) {
		t.Fatalf("x's minority accept at a was not released: %+v", a)
	}
}

// TestOneRoundStaleBallotRetries: a node that knows nothing of a name
// proposes below the voters' promise; they refuse it for the ballot alone
// (ReasonPromised), and its next attempt is one round again, above the
// promise they reported. A reused ballot of the same node is refused the
// same way (R20).
func TestOneRoundStaleBallotRetries(t *testing.T) {
	h := newOneRoundHarness(t, nil, []string{"a", "b", "c"}, "x", "y")
	for range 3 { // y's rounds move on: 1.1, 1.2, 1.3
		h.holdAndRelease("y", "L")
	}
	var reasons []Reason
	var oneRounds []Ballot
	h.onSend = func(m hmsg) {
		switch msg := m.msg.(type) {
		case *Reject:
			if m.to == "x" {
				reasons = append(reasons, msg.Reason)
			}
		case *Propose:
			if m.from == "x" && msg.OneRound {
				oneRounds = append(oneRounds, msg.Ballot)
			}
		}
	}
	h.acquire("x", "L", true)
	h.settle(50*time.Millisecond, nil)
	e := h.lastEvent("x")
	if e.Kind != EventAcquired || e.Token <= (Ballot{Era: 1, Round: 3}).Token() {
		t.Fatalf("x: %+v, want acquired above y's 1.3\n%s", e, h.dump())
	}
	if len(reasons) == 0 || slices.ContainsFunc(reasons, func(r Reason) bool { return r != ReasonPromised }) {
		t.Fatalf("refusals %v, want ReasonPromised only", reasons)
	}
	if len(oneRounds) != 3+3 || oneRounds[0].Round != 1 || oneRounds[3].Round <= 3 {
		t.Fatalf("one-round ballots %v, want a stale one, then one above 1.3", oneRounds)
	}
}

// TestOneRoundOwnLeaseBlocks: a tenure this node abandoned is still live at
// the voters; the node's next acquire must not take it over in one round
// (R7 at the voter: whoever was told the abandoned tenure's deadline may
// still act until then).
func TestOneRoundOwnLeaseBlocks(t *testing.T) {
	if got := oneRoundOverOwnLease(t, nil); got {
		t.Fatal("a one-round acquire took over this node's own live lease")
	}
}

// oneRoundOverOwnLease has x acquire L in one round, abandon it, and ask
// again at once; it reports whether x holds L again before the abandoned
// lease expired at the voters.
func oneRoundOverOwnLease(t *testing.T, edit func(*Config)) bool {
	t.Helper()
	h := newOneRoundHarness(t, edit, []string{"a", "b", "c"}, "x")
	h.acquire("x", "L", false)
	h.deliverAll(nil)
	tok, _, ok := h.nodes["x"].m.Holding("L")
	if !ok {
		t.Fatalf("x does not hold L: %s", h.dump())
	}
	if err := h.nodes["x"].m.Abandon(h.local(h.nodes["x"]), "L", tok); err != nil {
		t.Fatal(err)
	}
	h.collect(h.nodes["x"])
	h.acquire("x", "L", false)
	h.deliverAll(nil)
	e := h.lastEvent("x")
	if e.Kind == EventFailed && !errors.Is(e.Err, ErrHeld) {
		t.Fatalf("x: %+v, want ErrHeld (its own lease)", e)
	}
	return e.Kind == EventAcquired
}

// TestOneRoundOff: Config.TwoPhaseAcquire sends a Prepare first, as before.
func TestOneRoundOff(t *testing.T) {
	h := newOneRoundHarness(t, func(c *Config) { c.TwoPhaseAcquire = true }, []string{"a", "b", "c"}, "x")
	h.acquire("x", "L", false)
	if n := len(h.take(isType(TypePropose))); n != 0 {
		t.Fatalf("%d Proposes before any Prepare", n)
	}
	h.settle(100*time.Millisecond, nil)
	if h.lastEvent("x").Kind != EventAcquired || h.nodes["x"].m.Counters().OneRounds != 0 {
		t.Fatalf("x: %+v, counters %+v: want acquired in two phases", h.lastEvent("x"), h.nodes["x"].m.Counters())
	}
}

// TestOneRoundSplitIsContention: three nodes ask for a free name at once,
// and each voter accepts a different one first. Every attempt fails, each
// refused by the others' fresh accepts; no single lease was reported by a
// majority, so that is contention, not a holder: nobody is told ErrHeld,
// the minority accepts are released, and after a backoff one of them wins
// in two phases.
func TestOneRoundSplitIsContention(t *testing.T) {
	h := newOneRoundHarness(t, nil, []string{"a", "b", "c"}, "x", "y", "z")
	for _, n := range []string{"x", "y", "z"} {
		h.acquire(n, "L", false)
	}
	props := h.take(isType(TypePropose))
	first := map[string]string{"x": "a", "y": "b", "z": "c"}
	var early, late []hmsg
	for _, p := range props {
		if first[p.from] == p.to {
			early = append(early, p)
		} else {
			late = append(late, p)
		}
	}
	h.deliver(early...)
	h.deliver(late...)
	h.deliverAll(nil)
	for _, n := range []string{"x", "y", "z"} {
		for _, e := range h.events[n] {
			if e.Kind == EventFailed && errors.Is(e.Err, ErrHeld) {
				t.Fatalf("%s told ErrHeld (holder %v) by a split of one-round attempts", n, e.Holder)
			}
		}
	}
	h.settle(500*time.Millisecond, nil)
	if got := h.holders("L"); len(got) != 1 {
		t.Fatalf("holders %v after the split, want one\n%s", got, h.dump())
	}
}

// TestOneRoundReleaseSkipsRefusers: a failed attempt's Release goes only to
// the voters that may have recorded its ballot. Voters that refused get
// none; voters still silent when a majority refused get one only if they
// accept late; a cancelled attempt that nobody answered releases at every
// voter.
func TestOneRoundReleaseSkipsRefusers(t *testing.T) {
	for _, c := range []struct {
		voters, refuse []string
		late           string // a voter that accepts after the attempt failed
		want           []string
	}{
		{[]string{"a"}, []string{"a"}, "", nil},
		{[]string{"a", "b", "c"}, []string{"a", "b"}, "", nil},
		{[]string{"a", "b", "c"}, []string{"a", "b"}, "c", []string{"c", "c"}}, // the first copy and the repeat
		{[]string{"a", "b", "c"}, nil, "", nil},                                // cancelled unanswered: nobody is known to have recorded it
		{[]string{"a", "b", "c"}, nil, "b", []string{"b", "b"}},                // cancelled, then b accepts late
	} {
		p := newProbe(t, "x", c.voters, fresh, func(cfg *Config) { cfg.TwoPhaseAcquire = false })
		prop := first[*Propose](t, p.acquire(AcquireRequest{Name: "L"}))
		for _, v := range c.refuse {
			p.step(v, &Reject{Name: "L", Attempt: prop.Attempt, Promised: Ballot{Era: 1, Round: 9, Node: "y"}, Reason: ReasonPromised})
		}
		if c.refuse == nil {
			p.m.Cancel(p.now, "L") // no answer at all: cancelled, every voter may have recorded it
		}
		out := p.tickTo(p.now.Add(time.Millisecond))
		if c.late != "" {
			out = appendOutput(out, p.step(c.late, &Accepted{Name: "L", Attempt: prop.Attempt}))
		}
		out = appendOutput(out, p.tickTo(p.now.Add(p.m.Config().RetryInterval+time.Millisecond)))
		var to []string
		for _, e := range out.Messages {
			if r, ok := e.Msg.(*Release); ok && r.Ballot.Same(prop.Ballot) {
				to = append(to, e.To)
			}
		}
		if !slices.Equal(to, c.want) {
			t.Fatalf("voters %v, refused by %v, late accept %q: Release sent to %v, want %v", c.voters, c.refuse, c.late, to, c.want)
		}
	}
}
