package protocol

import (
	"errors"
	"math"
	"slices"
	"testing"
	"time"
)

// The tests in this file encode the rules R8-R14 of RULES.md: quarantine,
// release, renewal, fencing tokens and queries (R8 is checked with R10
// here and by the containment tests of config_test.go). Helpers such as
// probe and b are in rules_test.go and probe_test.go.

// R9: a node started after a crash ignores Prepare, Propose and Release
// (and answers no Query) until its local clock has run Q; from Q on it
// answers.
func TestR9CrashedVoterQuarantine(t *testing.T) {
	p := newProbe(t, "a", abc, Start{Kind: StartCrashed, Era: 4}, nil)
	q := p.m.Config().Quarantine
	if p.m.QuarantineUntil() != probeStart.Add(q) || !p.m.Quarantined(p.now) {
		t.Fatalf("quarantine until %v, want start+Q=%v", p.m.QuarantineUntil(), probeStart.Add(q))
	}
	p.ready()
	in := []Message{
		prepare(5, 1, "x"),
		propose(5, 1, "x", time.Second),
		&Release{Name: "L", Ballot: b(9, 1, "x")},
		&Query{Name: "L", ID: 1},
	}
	for _, at := range []time.Duration{0, q / 2, q - 1} {
		p.at(probeStart.Add(at))
		for _, msg := range in {
			if out := p.step("x", msg); !out.Empty() {
				t.Fatalf("R9: %s at start+%v (Q=%v) gave %+v", msg.Type(), at, q, out)
			}
		}
	}
	p.at(probeStart.Add(q))
	if out := p.step("x", &Release{Name: "L", Ballot: b(9, 1, "x")}); out.PersistEra != 9 {
		t.Fatalf("R9: Release after Q not handled (era not observed): %+v", out)
	}
	runExchanges(t, p, []exchange{
		{from: "x", msg: prepare(9, 2, "x"), want: TypePromise},
		{from: "x", msg: propose(9, 2, "x", time.Second), want: TypeAccepted},
	})
}

// R9: a fresh start (empty data dir) needs no quarantine.
func TestR9FreshStartNoQuarantine(t *testing.T) {
	p := newProbe(t, "a", abc, fresh, nil)
	if p.m.Quarantined(p.now) {
		t.Fatal("fresh start is quarantined")
	}
	runExchanges(t, p, []exchange{{from: "x", msg: prepare(1, 1, "x"), want: TypePromise}})
}

// r10ReleaseClears reports whether acceptor a cleared x's lease at 1.5 on a
// Release from x naming ballot rel.
func r10ReleaseClears(t *testing.T, edit func(*Config), from string, rel Ballot) bool {
	t.Helper()
	p := newProbe(t, "a", abc, fresh, edit)
	runExchanges(t, p, []exchange{{from: "x", msg: propose(1, 5, "x", time.Second), want: TypeAccepted}})
	p.wait(time.Millisecond)
	p.step(from, &Release{Name: "L", Ballot: rel})
	return !queryAcceptor(t, p).Live()
}

// R10: acceptors clear a lease only on an exact (owner, ballot) match: a
// stale Release of an earlier tenure of the same owner never erases a later
// one.
func TestR10ReleaseExactMatch(t *testing.T) {
	cases := []struct {
		name  string
		from  string
		rel   Ballot
		clear bool
	}{
		{"exact", "x", b(1, 5, "x"), true},
		{"earlier tenure of the same owner", "x", b(1, 4, "x"), false},
		{"later ballot of the same owner", "x", b(1, 6, "x"), false},
		{"same era.round from another node", "y", b(1, 5, "y"), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := r10ReleaseClears(t, nil, c.from, c.rel); got != c.clear {
				t.Fatalf("R10: Release(%s, %v) cleared=%v, want %v", c.from, c.rel, got, c.clear)
			}
		})
	}
}

// R10: the holder stops first: Release returns with the tenure gone
// (Holding false) and EventReleased in the Output, and that Output carries
// no Release message (the driver sends an Output's messages before it
// delivers its events). The Release messages, with the exact ballot, leave
// at the next Tick, which NextWake asks for at once.
func TestR10ReleaseEventPrecedesMessages(t *testing.T) {
	p := newProbe(t, "x", abc, fresh, nil)
	prep, _ := p.holdVia("L", time.Second, "a", "b")
	tok, _, _ := p.m.Holding("L")
	p.wait(10 * time.Millisecond)
	if err := p.m.Release(p.now, "L", tok+1); !errors.Is(err, ErrNotHeld) {
		t.Fatalf("Release with a wrong token: %v, want ErrNotHeld", err)
	}
	if err := p.m.Release(p.now, "L", tok); err != nil {
		t.Fatal(err)
	}
	if _, _, ok := p.m.Holding("L"); ok {
		t.Fatal("R10: still holding after Release returned")
	}
	out := p.ready()
	if ev := events(out, EventReleased); len(ev) != 1 || ev[0].Token != tok {
		t.Fatalf("R10: events %+v, want released token %d", out.Events, tok)
	}
	if rs, _ := msgs[*Release](out); len(rs) != 0 {
		t.Fatalf("R10: Release messages in the same Output as EventReleased: %+v", rs)
	}
	if w := p.m.NextWake(); w > p.now {
		t.Fatalf("R10: NextWake %v after now %v: the Release would wait", w, p.now)
	}
	rs, to := msgs[*Release](p.tickTo(p.now))
	if len(rs) != 3 || !slices.Equal(to, abc) {
		t.Fatalf("R10: Release messages %+v to %v, want one per voter", rs, to)
	}
	for _, r := range rs {
		if !r.Ballot.Same(prep.Ballot) {
			t.Fatalf("R10: Release ballot %v, want the tenure's %v", r.Ballot, prep.Ballot)
		}
	}
}

// R10, R11: a tenure lost at its deadline (or to a rejected renewal) is
// reported before any Release of it leaves.
func TestR10LostEventPrecedesMessages(t *testing.T) {
	// A Tick that emits EventLost returns no Release in the same Ready.
	q := newProbe(t, "x", abc, fresh, nil)
	_, acq := q.holdVia("L", time.Second, "a", "b")
	dl := acq.Events[0].Deadline
	for {
		w := q.m.NextWake()
		if w > dl {
			t.Fatal("R11: no wake-up at the deadline")
		}
		q.at(w)
		q.m.Tick(w)
		out := q.ready()
		if len(events(out, EventLost)) == 1 {
			if rs, _ := msgs[*Release](out); len(rs) != 0 {
				t.Fatalf("R10: Release in the Output of EventLost: %+v", rs)
			}
			break
		}
	}
}

// R8, R10: the margin m covers an action the holder started just before
// its usable deadline d-m and that finishes by d. A tenure that ends at its
// deadline (the holder never said it stopped) must therefore not be released
// at the voters before d: an early Release frees the name while that action
// may still be in flight, which is what m exists to prevent.
func TestR10LostTenureNotReleasedWithinMargin(t *testing.T) {
	p := newProbe(t, "x", abc, fresh, nil)
	_, acq := p.holdVia("L", time.Second, "a", "b")
	dl := acq.Events[0].Deadline
	cfg := p.m.Config()
	m := cfg.margin(time.Second)
	ren, _ := p.renewal()
	_ = ren // nobody answers the renewal
	out := p.tickTo(dl.Add(m - 1))
	if len(events(out, EventLost)) != 1 {
		t.Fatalf("no EventLost by the deadline: %+v", out.Events)
	}
	if rs, _ := msgs[*Release](out); len(rs) != 0 {
		t.Errorf("R10: lost tenure released at the voters before d = deadline+m (%v): %d Release messages", dl.Add(m), len(rs))
	}
}

// renewal ticks a holder probe until it sends a renewal Propose and returns
// it with the local instant it left.
func (p *probe) renewal() (*Propose, Time) {
	p.t.Helper()
	for range 1000 {
		w := p.m.NextWake()
		p.at(w)
		p.m.Tick(w)
		out := p.ready()
		if len(out.Events) > 0 {
			p.t.Fatalf("events before the renewal: %+v", out.Events)
		}
		if ps, _ := msgs[*Propose](out); len(ps) > 0 {
			return ps[0], w
		}
	}
	p.t.Fatal("no renewal")
	return nil, 0
}

// R11: a one-phase renewal keeps the ballot (and token) and extends the
// deadline only to its own attempt's deadline, counted from when its
// Propose was sent.
func TestR11RenewalExtendsToOwnDeadline(t *testing.T) {
	p := newProbe(t, "x", abc, fresh, nil)
	prep, acq := p.holdVia("L", time.Second, "a", "b")
	cfg := p.m.Config()
	dp, m := cfg.AttemptDuration(time.Second), cfg.margin(time.Second)
	ren, sent := p.renewal()
	if !ren.Ballot.Same(prep.Ballot) {
		t.Fatalf("R11: renewal at %v, want the tenure's ballot %v", ren.Ballot, prep.Ballot)
	}
	if sent >= acq.Events[0].Deadline {
		t.Fatalf("renewal sent at %v, after the deadline %v", sent, acq.Events[0].Deadline)
	}
	p.wait(5 * time.Millisecond)
	p.step("c", &Accepted{Name: "L", Attempt: ren.Attempt})
	out := p.step("b", &Accepted{Name: "L", Attempt: ren.Attempt})
	ev := events(out, EventRenewed)
	if len(ev) != 1 || ev[0].Token != prep.Ballot.Token() || ev[0].Deadline != sent.Add(dp-m) {
		t.Fatalf("R11: events %+v, want renewed token %d to %v", out.Events, prep.Ballot.Token(), sent.Add(dp-m))
	}
}

// R11: a failed renewal extends nothing: the old deadline stands and the
// tenure is reported lost exactly at it, with no word from the network.
func TestR11FailedRenewalLostAtDeadline(t *testing.T) {
	p := newProbe(t, "x", abc, fresh, nil)
	_, acq := p.holdVia("L", time.Second, "a", "b")
	dl := acq.Events[0].Deadline
	ren, _ := p.renewal()
	// One voter's accept is not a majority: nothing is extended.
	if out := p.step("a", &Accepted{Name: "L", Attempt: ren.Attempt}); len(out.Events) > 0 {
		t.Fatalf("events after one accept: %+v", out.Events)
	}
	out := p.tickTo(dl - 1)
	if len(out.Events) > 0 {
		t.Fatalf("R11: events before the deadline: %+v", out.Events)
	}
	if _, d, ok := p.m.Holding("L"); !ok || d != dl {
		t.Fatalf("R11: holding=%v deadline %v, want the old %v", ok, d, dl)
	}
	if w := p.m.NextWake(); w > dl {
		t.Fatalf("R11: NextWake %v after the deadline %v", w, dl)
	}
	out = p.tickTo(dl)
	if ev := events(out, EventLost); len(ev) != 1 || !errors.Is(ev[0].Err, ErrLost) || ev[0].Deadline != dl {
		t.Fatalf("R11: at the deadline events %+v, want lost", out.Events)
	}
	if _, _, ok := p.m.Holding("L"); ok {
		t.Fatal("R11: still holding after the deadline")
	}
}

// R11: a late Accepted of an earlier attempt (the acquire, or an earlier
// renewal) never counts toward a later renewal's majority.
func TestR11LateAcceptedOfEarlierAttemptNotCounted(t *testing.T) {
	p := newProbe(t, "x", abc, fresh, nil)
	prep := first[*Prepare](t, p.acquire(AcquireRequest{Name: "L", TTL: time.Second}))
	p.step("a", &Promise{Name: "L", Attempt: prep.Attempt})
	acqProp := first[*Propose](t, p.step("b", &Promise{Name: "L", Attempt: prep.Attempt}))
	p.step("a", &Accepted{Name: "L", Attempt: acqProp.Attempt})
	p.step("b", &Accepted{Name: "L", Attempt: acqProp.Attempt})

	r1, _ := p.renewal()
	if out := appendOutput(p.step("c", &Accepted{Name: "L", Attempt: acqProp.Attempt}), p.step("a", &Accepted{Name: "L", Attempt: r1.Attempt})); len(out.Events) > 0 {
		t.Fatalf("R11: acquire's late Accepted counted for renewal 1: %+v", out.Events)
	}
	if out := p.step("b", &Accepted{Name: "L", Attempt: r1.Attempt}); len(events(out, EventRenewed)) != 1 {
		t.Fatalf("renewal 1 not renewed: %+v", out)
	}
	r2, _ := p.renewal()
	if r2.Attempt == r1.Attempt {
		t.Fatal("renewal 2 reuses renewal 1's attempt id")
	}
	if out := appendOutput(p.step("c", &Accepted{Name: "L", Attempt: r1.Attempt}), p.step("a", &Accepted{Name: "L", Attempt: r2.Attempt})); len(out.Events) > 0 {
		t.Fatalf("R11: renewal 1's late Accepted counted for renewal 2: %+v", out.Events)
	}
	if out := p.step("b", &Accepted{Name: "L", Attempt: r2.Attempt}); len(events(out, EventRenewed)) != 1 {
		t.Fatalf("renewal 2 not renewed: %+v", out)
	}
}

// R11: a majority rejecting the renewal (their promise moved past the
// tenure's ballot) ends the tenure at once, before its deadline.
func TestR11RejectedRenewalEndsTenure(t *testing.T) {
	p := newProbe(t, "x", abc, fresh, nil)
	_, acq := p.holdVia("L", time.Second, "a", "b")
	ren, _ := p.renewal()
	p.step("a", &Reject{Name: "L", Attempt: ren.Attempt, Promised: b(1, 9, "y")})
	out := p.step("c", &Reject{Name: "L", Attempt: ren.Attempt, Promised: b(1, 9, "y")})
	if ev := events(out, EventLost); len(ev) != 1 || ev[0].Token != acq.Events[0].Token {
		t.Fatalf("R11: events %+v, want lost", out.Events)
	}
	if _, _, ok := p.m.Holding("L"); ok {
		t.Fatal("R11: holding after a rejected renewal")
	}
}

// R11, R6: once the deadline has passed, the tenure is over even if Tick
// has not run yet (a paused event loop delivers timers late). A renewal
// majority handled after the old deadline must not revive it: the check is
// made in the handler, not left to timer dispatch order.
func TestR11NoRenewalAfterDeadlinePassed(t *testing.T) {
	p := newProbe(t, "x", abc, fresh, nil)
	_, acq := p.holdVia("L", time.Second, "a", "b")
	dl := acq.Events[0].Deadline
	ren, sent := p.renewal()
	cfg := p.m.Config()
	if nd := sent.Add(cfg.AttemptDuration(time.Second) - cfg.margin(time.Second)); nd <= dl+Time(time.Millisecond) {
		t.Fatalf("test setup: renewal deadline %v not after old deadline %v", nd, dl)
	}
	// The event loop was paused past the deadline; the answers are handled
	// before the overdue Tick.
	p.at(dl + Time(time.Millisecond))
	out := appendOutput(p.step("a", &Accepted{Name: "L", Attempt: ren.Attempt}), p.step("b", &Accepted{Name: "L", Attempt: ren.Attempt}))
	if ev := events(out, EventRenewed); len(ev) > 0 {
		t.Errorf("R11: a tenure whose deadline %v had passed was renewed at %v: %+v", dl, p.now, ev)
	}
	if _, d, ok := p.m.Holding("L"); ok && d > dl {
		t.Errorf("R11: Holding reports deadline %v, beyond the passed deadline %v", d, dl)
	}
}

// R12: a token is era<<32 | round of the winning ballot.
func TestR12TokenLayout(t *testing.T) {
	cases := []struct {
		era, round uint32
		token      uint64
	}{
		{1, 1, 1<<32 | 1},
		{7, 0, 7 << 32},
		{math.MaxUint32, math.MaxUint32, math.MaxUint64},
		{0, math.MaxUint32, math.MaxUint32},
	}
	for _, c := range cases {
		bl := b(c.era, c.round, "n")
		if got := bl.Token(); got != c.token {
			t.Errorf("Token(%v) = %#x, want %#x", bl, got, c.token)
		}
		if e, r := TokenBallot(c.token); e != c.era || r != c.round {
			t.Errorf("TokenBallot(%#x) = %d.%d", c.token, e, r)
		}
	}
	// Token order is ballot order.
	if b(2, 0, "a").Token() <= b(1, math.MaxUint32, "z").Token() {
		t.Error("a higher era does not give a higher token")
	}
	p := newProbe(t, "x", abc, fresh, nil)
	prep, out := p.holdVia("L", time.Second, "a", "b")
	if out.Events[0].Token != prep.Ballot.Token() {
		t.Fatalf("acquired token %#x, want the winning ballot's %#x", out.Events[0].Token, prep.Ballot.Token())
	}
}

// R12: a start that may have forgotten its promises moves its era to E+1,
// asks for it to be persisted in its very first Ready, proposes in E+1 and,
// as an acceptor, rejects every ballot of era <= E (carrying the floor).
func TestR12CrashedStartBumpsEra(t *testing.T) {
	const e = 41
	p := newProbe(t, "a", abc, Start{Kind: StartCrashed, Era: e}, nil)
	if out := p.ready(); out.PersistEra != e+1 {
		t.Fatalf("R12: first Ready PersistEra %d, want %d", out.PersistEra, e+1)
	}
	if p.m.Era() != e+1 {
		t.Fatalf("Era() = %d", p.m.Era())
	}
	prep := first[*Prepare](t, p.acquire(AcquireRequest{Name: "P", TTL: time.Second}))
	if prep.Ballot.Era != e+1 {
		t.Fatalf("R12: proposes in era %d, want %d", prep.Ballot.Era, e+1)
	}
	p.at(p.m.QuarantineUntil())
	runExchanges(t, p, []exchange{
		{from: "x", msg: prepare(e, 1000, "x"), want: TypeReject, promised: Ballot{Era: e + 1}},
		{from: "x", msg: propose(e, 1000, "x", time.Second), want: TypeReject, promised: Ballot{Era: e + 1}},
		{from: "x", msg: prepare(1, 1, "x"), want: TypeReject, promised: Ballot{Era: e + 1}},
		{from: "x", msg: prepare(e+1, 1, "x"), want: TypePromise},
	})
	if _, err := New(Config{Self: "a", Voters: abc}, Start{Kind: StartCrashed, Era: math.MaxUint32}, rngFor(1), 0); !errors.Is(err, ErrTokensExhausted) {
		t.Fatalf("R12: crashed start at the last era: %v, want ErrTokensExhausted", err)
	}
}

// R12: a node that sees a higher era persists it in the same Ready as its
// answer (the driver persists before it sends).
func TestR12HigherEraPersistedWithAnswer(t *testing.T) {
	cases := []struct {
		name string
		msg  Message
		want MsgType
	}{
		{"prepare", prepare(9, 1, "x"), TypePromise},
		{"propose", propose(9, 1, "x", time.Second), TypeAccepted},
		{"release", &Release{Name: "L", Ballot: b(9, 1, "x")}, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := newProbe(t, "a", abc, fresh, nil)
			p.ready()
			out := p.step("x", c.msg)
			if out.PersistEra != 9 {
				t.Fatalf("R12: PersistEra %d with the answer, want 9", out.PersistEra)
			}
			if c.want != 0 && (len(out.Messages) != 1 || out.Messages[0].Msg.Type() != c.want) {
				t.Fatalf("answer %+v, want %s", out.Messages, c.want)
			}
			if p.m.Era() != 9 {
				t.Fatalf("Era() = %d", p.m.Era())
			}
			// Seen again: nothing new to persist.
			if out := p.step("x", prepare(9, 2, "x")); out.PersistEra != 0 {
				t.Fatalf("PersistEra %d for an era already persisted", out.PersistEra)
			}
		})
	}
}

// R12: when a node's rounds run out it moves to the next era (persisted
// with the Prepare that uses it); when eras run out too it refuses to
// propose with ErrTokensExhausted, never wrapping.
func TestR12RoundAndEraExhaustion(t *testing.T) {
	st := &State{Version: StateVersion, Era: 5, Round: math.MaxUint32 - 1, Attempts: 5 << 32}
	p := newProbe(t, "x", abc, Start{Kind: StartClean, State: st}, nil)
	prep := first[*Prepare](t, p.acquire(AcquireRequest{Name: "L", TTL: time.Second, Wait: true}))
	if !prep.Ballot.Same(b(5, math.MaxUint32, "x")) {
		t.Fatalf("first ballot %v", prep.Ballot)
	}
	p.step("a", &Reject{Name: "L", Attempt: prep.Attempt, Promised: b(5, math.MaxUint32, "x")})
	p.step("b", &Reject{Name: "L", Attempt: prep.Attempt, Promised: b(5, math.MaxUint32, "x")})
	for {
		out := p.tickTo(p.m.NextWake())
		if ps, _ := msgs[*Prepare](out); len(ps) > 0 {
			if !ps[0].Ballot.Same(b(6, 1, "x")) || out.PersistEra != 6 {
				t.Fatalf("R12: after the last round: ballot %v, PersistEra %d; want 6.1@x, 6", ps[0].Ballot, out.PersistEra)
			}
			break
		}
	}

	st = &State{Version: StateVersion, Era: math.MaxUint32, Round: math.MaxUint32 - 1, Attempts: math.MaxUint32 << 32}
	p = newProbe(t, "x", abc, Start{Kind: StartClean, State: st}, nil)
	prep = first[*Prepare](t, p.acquire(AcquireRequest{Name: "L", TTL: time.Second}))
	if prep.Ballot.Token() != math.MaxUint64 {
		t.Fatalf("last ballot %v", prep.Ballot)
	}
	p.m.Cancel(p.now, "L")
	out := p.acquire(AcquireRequest{Name: "L", TTL: time.Second})
	if ev := events(out, EventFailed); len(ev) != 1 || !errors.Is(ev[0].Err, ErrTokensExhausted) {
		t.Fatalf("R12: events %+v, want failed with ErrTokensExhausted", out.Events)
	}
	if rs, _ := msgs[*Prepare](out); len(rs) != 0 {
		t.Fatalf("R12: Prepare after exhaustion: %+v", rs)
	}
	if err := p.m.Acquire(p.now, AcquireRequest{Name: "M", TTL: time.Second}); !errors.Is(err, ErrTokensExhausted) {
		t.Fatalf("R12: Acquire after exhaustion: %v", err)
	}
}

// R14: a query answers a hint (owner, ballot, remaining duration) gathered
// from a majority of voters, without changing anything; only the holder's
// own Holding says it holds.
func TestR14QueryIsAHint(t *testing.T) {
	h := newHarness(t, abc, "x", "y")
	h.acquire("x", "L", false)
	h.settle(5*time.Millisecond, nil)
	tok, dl, ok := h.nodes["x"].m.Holding("L")
	if !ok {
		t.Fatalf("x does not hold:\n%s", h.dump())
	}
	if acq := h.lastEvent("x"); acq.Kind != EventAcquired || acq.Deadline != dl || acq.Token != tok {
		t.Fatalf("Holding (%d, %v) disagrees with the acquired event %+v", tok, dl, acq)
	}
	y := h.nodes["y"]
	id, err := y.m.Query(h.local(y), "L")
	if err != nil {
		t.Fatal(err)
	}
	h.collect(y)
	h.settle(time.Millisecond, nil)
	q := h.lastEvent("y")
	if q.Kind != EventQuery || q.QueryID != id || q.Err != nil {
		t.Fatalf("query event %+v", q)
	}
	if q.Holder.Owner != "x" || q.Holder.Ballot.Token() != tok || q.Holder.Remaining <= 0 || q.Holder.Remaining > DefaultTTL {
		t.Fatalf("R14: hint %+v, want x with token %d and a remaining duration", q.Holder, tok)
	}
	if _, _, ok := y.m.Holding("L"); ok {
		t.Fatal("R14: the querier believes it holds")
	}
	// No lease: a zero hint; too few voters: ErrNoQuorum.
	id, _ = y.m.Query(h.local(y), "M")
	h.collect(y)
	h.settle(time.Millisecond, nil)
	if q := h.lastEvent("y"); q.QueryID != id || q.Holder.Live() || q.Err != nil {
		t.Fatalf("R14: query of a free name: %+v", q)
	}
	h.nodes["a"].down, h.nodes["b"].down = true, true
	id, _ = y.m.Query(h.local(y), "M")
	h.collect(y)
	h.settle(time.Second, nil)
	if q := h.lastEvent("y"); q.QueryID != id || !errors.Is(q.Err, ErrNoQuorum) {
		t.Fatalf("R14: query with one voter up: %+v", q)
	}
}
