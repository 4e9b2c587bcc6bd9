package protocol

import (
	"errors"
	"math"
	"testing"
	"time"
)

// The rule checks of R1-R14 (protocol/RULES.md) that are tables, loops or
// boundary sweeps; the scenario-shaped checks are golden scripts under
// testdata/rules, named after their rule and run by TestRules. Most tests
// here drive a single machine by hand (probe): the test plays every other
// node, so each message arrives exactly when the rule says it matters.
// Where a code-level weakening exists, the check is a function that
// reports the violation, and mutants_test.go shows it fires once the
// weakening is on. R17-R20 are in rules_edge_test.go, R13 in r13_test.go.

var abc = []string{"a", "b", "c"}

func b(era, round uint32, node string) Ballot { return Ballot{Era: era, Round: round, Node: node} }

// proposeAfter makes proposer x acquire L, then delivers the given prepare
// answers (each from its sender) and reports whether x sent a Propose.
func proposeAfter(t *testing.T, voters []string, edit func(*Config), answers func(prep *Prepare) []hmsg) bool {
	t.Helper()
	p := newProbe(t, "x", voters, fresh, edit)
	prep := first[*Prepare](t, p.acquire(AcquireRequest{Name: "L", TTL: time.Second}))
	sent := false
	for _, a := range answers(prep) {
		if ps, _ := msgs[*Propose](p.step(a.from, a.msg)); len(ps) > 0 {
			sent = true
		}
	}
	return sent
}

func promises(from ...string) func(*Prepare) []hmsg {
	return func(prep *Prepare) []hmsg {
		var out []hmsg
		for _, f := range from {
			out = append(out, hmsg{from: f, msg: &Promise{Name: prep.Name, Attempt: prep.Attempt}})
		}
		return out
	}
}

// R1: a quorum is a strict majority of the configured voter list. Answers
// from names outside it (a gossip member that is not a voter, the proposer
// itself, an unknown name) never count.
func TestR1QuorumFromFixedVoters(t *testing.T) {
	cases := []struct {
		name    string
		voters  []string
		from    []string
		propose bool
	}{
		{"majority of three", abc, []string{"a", "b"}, true},
		{"one voter and a non-voter member", abc, []string{"a", "y"}, false},
		{"one voter and the proposer itself", abc, []string{"a", "x"}, false},
		{"one voter and unknown names", abc, []string{"a", "d", "zz", ""}, false},
		{"half of four is not a majority", []string{"a", "b", "c", "d"}, []string{"a", "b"}, false},
		{"three of four", []string{"a", "b", "c", "d"}, []string{"a", "b", "d"}, true},
		{"single voter", []string{"a"}, []string{"a"}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := proposeAfter(t, c.voters, nil, promises(c.from...)); got != c.propose {
				t.Fatalf("promises from %v (voters %v): propose=%v, want %v", c.from, c.voters, got, c.propose)
			}
		})
	}
}

// exchange is one message to an acceptor and the answer the rule demands.
type exchange struct {
	from     string
	msg      Message
	want     MsgType // 0: no answer at all
	promised Ballot  // for a Reject: the promise it must carry (R3)
	holder   string  // the owner a Promise or Reject must report ("" for none)
}

func runExchanges(t *testing.T, p *probe, steps []exchange) {
	t.Helper()
	for i, s := range steps {
		out := p.step(s.from, s.msg)
		if s.want == 0 {
			if len(out.Messages) != 0 {
				t.Fatalf("step %d (%s from %s): answered %+v, want silence", i, s.msg.Type(), s.from, out.Messages)
			}
			continue
		}
		if len(out.Messages) != 1 || out.Messages[0].To != s.from {
			t.Fatalf("step %d (%s from %s): answers %+v, want one %s to %s", i, s.msg.Type(), s.from, out.Messages, s.want, s.from)
		}
		got := out.Messages[0].Msg
		if got.Type() != s.want {
			t.Fatalf("step %d (%s %+v from %s): answer %s %+v, want %s", i, s.msg.Type(), s.msg, s.from, got.Type(), got, s.want)
		}
		switch g := got.(type) {
		case *Reject:
			if !g.Promised.Same(s.promised) {
				t.Fatalf("step %d: Reject carries promise %v, want %v (R3)", i, g.Promised, s.promised)
			}
			if g.Holder.Owner != s.holder {
				t.Fatalf("step %d: Reject reports holder %q, want %q", i, g.Holder.Owner, s.holder)
			}
		case *Promise:
			if g.Holder.Owner != s.holder {
				t.Fatalf("step %d: Promise reports holder %q, want %q", i, g.Holder.Owner, s.holder)
			}
		}
	}
}

func prepare(era, round uint32, node string) *Prepare {
	return &Prepare{Name: "L", Ballot: b(era, round, node), Attempt: 1}
}

func propose(era, round uint32, node string, ttl time.Duration) *Propose {
	return &Propose{Name: "L", Ballot: b(era, round, node), Attempt: 1, TTL: ttl}
}

// R3, R12: a node never reuses a ballot, across a clean restart (State) and
// a crashed restart (durable era floor) included.
func TestR3BallotsNeverReused(t *testing.T) {
	var seen []Ballot
	collect := func(p *probe, n int) {
		t.Helper()
		prep := first[*Prepare](t, p.acquire(AcquireRequest{Name: "L", TTL: time.Second, Wait: true}))
		for range n {
			seen = append(seen, prep.Ballot)
			// A low rejection: the proposer learns nothing new.
			p.step("a", &Reject{Name: "L", Attempt: prep.Attempt, Promised: b(1, 0, "y")})
			p.step("b", &Reject{Name: "L", Attempt: prep.Attempt, Promised: b(1, 0, "y")})
			for {
				out := p.tickTo(p.m.NextWake())
				if ps, _ := msgs[*Prepare](out); len(ps) > 0 {
					prep = ps[0]
					break
				}
			}
		}
		p.m.Cancel(p.now, "L")
	}
	p := newProbe(t, "x", abc, fresh, nil)
	durable := p.ready().PersistEra
	collect(p, 5)
	st, err := DecodeState(mustEncodeState(t, p.m.Snapshot(p.now)))
	if err != nil {
		t.Fatal(err)
	}
	p = newProbe(t, "x", abc, Start{Kind: StartClean, State: st}, nil)
	collect(p, 5)
	p.m.Stop() // a crash: the state is gone, the era floor stays
	p = newProbe(t, "x", abc, Start{Kind: StartCrashed, Era: durable}, nil)
	collect(p, 5)
	for i := 1; i < len(seen); i++ {
		if seen[i].Cmp(seen[i-1]) <= 0 {
			t.Fatalf("ballot %d %v not above ballot %d %v (all: %v)", i, seen[i], i-1, seen[i-1], seen)
		}
	}
}

func mustEncodeState(t tb, st *State) []byte {
	t.Helper()
	raw, err := EncodeState(st)
	if err != nil {
		t.Fatalf("EncodeState: %v", err)
	}
	return raw
}

// queryAcceptor asks acceptor probe p for its view of L.
func queryAcceptor(t *testing.T, p *probe) LeaseInfo {
	t.Helper()
	return first[*QueryReply](t, p.step("q", &Query{Name: "L", ID: 99})).Holder
}

// r6ProposeAt makes x's prepare majority complete `after` the Prepare was
// sent, without any Tick in between, and reports whether x sent Propose.
func r6ProposeAt(t *testing.T, edit func(*Config), after func(dp time.Duration) time.Duration) bool {
	t.Helper()
	p := newProbe(t, "x", abc, fresh, edit)
	prep := first[*Prepare](t, p.acquire(AcquireRequest{Name: "L", TTL: time.Second}))
	cfg := p.m.Config()
	dp := cfg.AttemptDuration(time.Second)
	p.step("a", &Promise{Name: "L", Attempt: prep.Attempt})
	p.at(probeStart.Add(after(dp)))
	ps, _ := msgs[*Propose](p.step("b", &Promise{Name: "L", Attempt: prep.Attempt}))
	return len(ps) > 0
}

// R6: the attempt deadline d is fixed when Prepare is sent; Propose goes out
// only if the prepare majority completes before d. The check is made in the
// answer's handler: Tick is never called here.
func TestR6NoProposeAfterPrepareDeadline(t *testing.T) {
	cases := []struct {
		name    string
		after   func(dp time.Duration) time.Duration
		propose bool
	}{
		{"just before d", func(dp time.Duration) time.Duration { return dp - 1 }, true},
		{"at d", func(dp time.Duration) time.Duration { return dp }, false},
		{"after d", func(dp time.Duration) time.Duration { return dp + time.Millisecond }, false},
		{"long after d", func(dp time.Duration) time.Duration { return 10 * dp }, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := r6ProposeAt(t, nil, c.after); got != c.propose {
				t.Fatalf("R6: propose=%v, want %v", got, c.propose)
			}
		})
	}
}

// R6: the proposer becomes holder only if the accept majority completes
// before its stored deadline, and its usable deadline is d - m, d counted
// from the Prepare.
func TestR6NoHolderAfterDeadline(t *testing.T) {
	const ttl = time.Second
	cases := []struct {
		name   string
		after  func(dp, m time.Duration) time.Duration
		holder bool
	}{
		{"well before d-m", func(dp, m time.Duration) time.Duration { return dp / 2 }, true},
		{"just before d-m", func(dp, m time.Duration) time.Duration { return dp - m - 1 }, true},
		{"at d", func(dp, m time.Duration) time.Duration { return dp }, false},
		{"after d", func(dp, m time.Duration) time.Duration { return dp + 1 }, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := newProbe(t, "x", abc, fresh, nil)
			cfg := p.m.Config()
			dp, m := cfg.AttemptDuration(ttl), cfg.margin(ttl)
			prep := first[*Prepare](t, p.acquire(AcquireRequest{Name: "L", TTL: ttl}))
			p.wait(time.Millisecond)
			p.step("a", &Promise{Name: "L", Attempt: prep.Attempt})
			prop := first[*Propose](t, p.step("b", &Promise{Name: "L", Attempt: prep.Attempt}))
			p.step("a", &Accepted{Name: "L", Attempt: prop.Attempt})
			p.at(probeStart.Add(c.after(dp, m)))
			out := p.step("b", &Accepted{Name: "L", Attempt: prop.Attempt})
			_, dl, ok := p.m.Holding("L")
			if ok != c.holder || (len(events(out, EventAcquired)) == 1) != c.holder {
				t.Fatalf("R6: holder=%v events=%+v, want holder=%v", ok, out.Events, c.holder)
			}
			if ok && dl != probeStart.Add(dp-m) {
				t.Fatalf("R6: usable deadline %v, want start+D_P-m = %v", dl, probeStart.Add(dp-m))
			}
		})
	}
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

// R12: a crashed start at the last era cannot bump its era floor: New
// refuses it with ErrTokensExhausted instead of wrapping. (The era bump
// itself is the script testdata/rules/r12_crashed_start_bumps_era.txt.)
func TestR12CrashedStartAtLastEraRefused(t *testing.T) {
	if _, err := New(Config{Self: "a", Voters: abc}, Start{Kind: StartCrashed, Era: math.MaxUint32}, rngFor(1), 0); !errors.Is(err, ErrTokensExhausted) {
		t.Fatalf("R12: crashed start at the last era: %v, want ErrTokensExhausted", err)
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
