package protocol

import (
	"errors"
	"math"
	"slices"
	"testing"
	"time"
)

// The tests in this file encode the rules R1-R7 of protocol/RULES.md
// (R8-R14 are in rules_r8_r14_test.go, R17-R20 in rules_edge_test.go),
// one or more per rule, each citing its number. Most drive a single machine
// by hand (probe): the test plays every other node, so each message
// arrives exactly when the rule says it matters. Where a code-level
// weakening exists, the check is a function that reports the violation,
// and mutants_test.go shows it fires once the weakening is on.

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

// R1: accept answers from non-voters never complete the accept majority.
func TestR1AcceptedFromNonVotersIgnored(t *testing.T) {
	p := newProbe(t, "x", abc, fresh, nil)
	prep := first[*Prepare](t, p.acquire(AcquireRequest{Name: "L", TTL: time.Second}))
	p.step("a", &Promise{Name: "L", Attempt: prep.Attempt})
	prop := first[*Propose](t, p.step("b", &Promise{Name: "L", Attempt: prep.Attempt}))
	for _, from := range []string{"a", "y", "x", "d"} {
		if out := p.step(from, &Accepted{Name: "L", Attempt: prop.Attempt}); len(out.Events) > 0 {
			t.Fatalf("Accepted from %s gave events %+v; only a of the voters accepted", from, out.Events)
		}
	}
	if _, _, ok := p.m.Holding("L"); ok {
		t.Fatal("holder with one voter's accept")
	}
}

// R1: an answer from a name outside the voter list is ignored entirely: a
// Reject from a non-voter neither counts nor moves the proposer's ballots
// or era (one such datagram claiming the last era would otherwise exhaust
// the proposer's tokens, R12).
func TestR1RejectFromNonVoterIgnored(t *testing.T) {
	p := newProbe(t, "x", abc, fresh, nil)
	p.ready()
	prep := first[*Prepare](t, p.acquire(AcquireRequest{Name: "L", TTL: time.Second, Wait: true}))
	for _, from := range []string{"zz", "y", "x"} {
		out := p.step(from, &Reject{Name: "L", Attempt: prep.Attempt, Promised: b(math.MaxUint32, math.MaxUint32, "zz")})
		if out.PersistEra != 0 || p.m.Era() != 1 {
			t.Fatalf("R1: a Reject from non-voter %s raised the era to %d", from, p.m.Era())
		}
	}
	// The attempt fails on the voters' own (low) rejections; the retry's
	// ballot owes nothing to the non-voter's claim.
	p.step("a", &Reject{Name: "L", Attempt: prep.Attempt, Promised: b(1, 0, "y")})
	p.step("b", &Reject{Name: "L", Attempt: prep.Attempt, Promised: b(1, 0, "y")})
	for range 100 {
		out := p.tickTo(p.m.NextWake())
		if f := events(out, EventFailed); len(f) > 0 {
			t.Fatalf("R1: the retry failed: %v", f[0].Err)
		}
		if ps, _ := msgs[*Prepare](out); len(ps) > 0 {
			if ps[0].Ballot.Era != 1 || out.PersistEra != 0 {
				t.Fatalf("R1: retry at %v (PersistEra %d) jumped to a non-voter's claim", ps[0].Ballot, out.PersistEra)
			}
			return
		}
	}
	t.Fatal("no retry")
}

// R1: a node that is not in the voter list never answers as an acceptor,
// even though any node may propose.
func TestR1NonVoterDoesNotAccept(t *testing.T) {
	p := newProbe(t, "y", abc, fresh, nil)
	p.ready()
	for _, msg := range []Message{
		&Prepare{Name: "L", Ballot: b(1, 1, "x"), Attempt: 1},
		&Propose{Name: "L", Ballot: b(1, 1, "x"), Attempt: 1, TTL: time.Second},
		&Query{Name: "L", ID: 1},
	} {
		if out := p.step("x", msg); !out.Empty() {
			t.Fatalf("non-voter answered %s: %+v", msg.Type(), out)
		}
	}
	if p.m.IsVoter() {
		t.Fatal("IsVoter for a node outside the list")
	}
}

// r2DuplicateMajority reports whether duplicated answers from one voter made
// a majority: a Propose after two copies of a's Promise (one of them a
// datagram delivered twice), or a holder after two copies of a's Accepted.
func r2DuplicateMajority(t *testing.T, edit func(*Config)) (prepare, accept bool) {
	t.Helper()
	enc, dec := NewEncoder(), NewDecoder()
	dup := func(p *probe, from string, m Message) Output {
		// The same datagram, delivered twice by the network.
		var raw []byte
		if err := enc.Encode(Header{From: from}, []Message{m}, func(b []byte) { raw = slices.Clone(b) }); err != nil {
			t.Fatal(err)
		}
		var out Output
		for range 2 {
			hd, ms, err := dec.Decode(raw)
			f := hd.From
			if err != nil {
				t.Fatal(err)
			}
			out = appendOutput(out, p.step(f, ms[0]))
		}
		return out
	}
	p := newProbe(t, "x", abc, fresh, edit)
	prep := first[*Prepare](t, p.acquire(AcquireRequest{Name: "L", TTL: time.Second}))
	out := dup(p, "a", &Promise{Name: "L", Attempt: prep.Attempt})
	out = appendOutput(out, p.step("a", &Promise{Name: "L", Attempt: prep.Attempt})) // a retry's answer
	ps, _ := msgs[*Propose](out)
	prepare = len(ps) > 0

	q := newProbe(t, "x", abc, fresh, edit)
	prep = first[*Prepare](t, q.acquire(AcquireRequest{Name: "L", TTL: time.Second}))
	q.step("a", &Promise{Name: "L", Attempt: prep.Attempt})
	prop := first[*Propose](t, q.step("b", &Promise{Name: "L", Attempt: prep.Attempt}))
	out = dup(q, "a", &Accepted{Name: "L", Attempt: prop.Attempt})
	_, _, accept = q.m.Holding("L")
	return prepare, accept || len(events(out, EventAcquired)) > 0
}

// R2: votes are counted by voter name: a duplicated datagram or a retried
// answer from one voter never makes a majority, in either phase.
func TestR2DuplicatesNeverMakeMajority(t *testing.T) {
	prepare, accept := r2DuplicateMajority(t, nil)
	if prepare {
		t.Error("R2: duplicated Promise from a alone made x propose")
	}
	if accept {
		t.Error("R2: duplicated Accepted from a alone made x holder")
	}
}

// R2: a voter's first answer sticks: a rejection followed by a promise from
// the same voter is one vote, the no.
func TestR2FirstAnswerSticks(t *testing.T) {
	got := proposeAfter(t, abc, nil, func(prep *Prepare) []hmsg {
		return []hmsg{
			{from: "a", msg: &Reject{Name: "L", Attempt: prep.Attempt, Promised: b(1, 0, "y")}},
			{from: "a", msg: &Promise{Name: "L", Attempt: prep.Attempt}},
			{from: "b", msg: &Promise{Name: "L", Attempt: prep.Attempt}},
		}
	})
	if got {
		t.Fatal("R2: a's reject and then promise counted as a yes")
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

// R3: acceptors order ballots by (era, round); the same (era, round) from a
// different node is rejected, in both phases; every rejection carries the
// promise.
func TestR3AcceptorBallotOrder(t *testing.T) {
	cases := []struct {
		name  string
		steps []exchange
	}{
		{"same era.round from another node", []exchange{
			{from: "x", msg: prepare(1, 5, "x"), want: TypePromise},
			{from: "y", msg: prepare(1, 5, "y"), want: TypeReject, promised: b(1, 5, "x")},
			{from: "y", msg: propose(1, 5, "y", time.Second), want: TypeReject, promised: b(1, 5, "x")},
			{from: "x", msg: propose(1, 5, "x", time.Second), want: TypeAccepted},
		}},
		{"lower round rejected with the promise", []exchange{
			{from: "x", msg: prepare(1, 5, "x"), want: TypePromise},
			{from: "y", msg: prepare(1, 4, "y"), want: TypeReject, promised: b(1, 5, "x")},
			{from: "y", msg: propose(1, 4, "y", time.Second), want: TypeReject, promised: b(1, 5, "x")},
		}},
		{"era outranks round", []exchange{
			{from: "x", msg: prepare(1, 9, "x"), want: TypePromise},
			{from: "y", msg: prepare(2, 1, "y"), want: TypePromise},
			{from: "x", msg: prepare(1, 10, "x"), want: TypeReject, promised: b(2, 1, "y")},
			{from: "x", msg: propose(1, 9, "x", time.Second), want: TypeReject, promised: b(2, 1, "y")},
		}},
		{"a resent prepare is promised again", []exchange{
			{from: "x", msg: prepare(1, 5, "x"), want: TypePromise},
			{from: "x", msg: prepare(1, 5, "x"), want: TypePromise},
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			runExchanges(t, newProbe(t, "a", abc, fresh, nil), c.steps)
		})
	}
}

// R3: a rejected proposer's next ballot is above the promise the rejection
// carried (it jumps past it), and above a reported holder's ballot.
func TestR3ProposerJumpsPastPromise(t *testing.T) {
	cases := []struct {
		name   string
		answer func(att uint64) Message
		past   Ballot
	}{
		{"reject with a higher era", func(att uint64) Message {
			return &Reject{Name: "L", Attempt: att, Promised: b(7, 9, "y")}
		}, b(7, 9, "y")},
		{"reject with a higher round", func(att uint64) Message {
			return &Reject{Name: "L", Attempt: att, Promised: b(1, 40, "y")}
		}, b(1, 40, "y")},
		{"blocked by a holder", func(att uint64) Message {
			return &Promise{Name: "L", Attempt: att, Holder: LeaseInfo{Owner: "y", Ballot: b(3, 4, "y"), Remaining: time.Millisecond}}
		}, b(3, 4, "y")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := newProbe(t, "x", abc, fresh, nil)
			prep := first[*Prepare](t, p.acquire(AcquireRequest{Name: "L", TTL: time.Second, Wait: true}))
			p.step("a", c.answer(prep.Attempt))
			p.step("b", c.answer(prep.Attempt))
			var next *Prepare
			for range 100 {
				out := p.tickTo(p.m.NextWake())
				if ps, _ := msgs[*Prepare](out); len(ps) > 0 {
					next = ps[0]
					if c.past.Era > 1 && out.PersistEra != c.past.Era {
						t.Errorf("R12: new era %d used without PersistEra in its Output (got %d)", c.past.Era, out.PersistEra)
					}
					break
				}
			}
			if next == nil {
				t.Fatal("no new Prepare")
			}
			if next.Ballot.Cmp(c.past) <= 0 || next.Ballot.Node != "x" {
				t.Fatalf("next ballot %v not above %v", next.Ballot, c.past)
			}
		})
	}
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

// R4: a prepare not above the promise is rejected with the promise; an
// acceptor with a live lease answers with that lease and leaves its promise
// where it was (so the holder's one-phase renewal still works); otherwise it
// promises and answers open.
func TestR4AcceptorPrepare(t *testing.T) {
	p := newProbe(t, "a", abc, fresh, nil)
	runExchanges(t, p, []exchange{
		{from: "x", msg: prepare(1, 1, "x"), want: TypePromise},
		{from: "x", msg: propose(1, 1, "x", time.Second), want: TypeAccepted},
		{from: "y", msg: prepare(1, 0, "y"), want: TypeReject, promised: b(1, 1, "x"), holder: "x"},
		{from: "y", msg: prepare(1, 2, "y"), want: TypePromise, holder: "x"},
		// The promise stayed at 1.1@x: x's one-phase renewal is accepted,
		// and y's propose at 1.2 is refused (R5: x's lease is live).
		{from: "x", msg: propose(1, 1, "x", time.Second), want: TypeAccepted},
		{from: "y", msg: propose(1, 2, "y", time.Second), want: TypeReject, promised: b(1, 1, "x"), holder: "x"},
	})
	// The holder report carries the remaining exclusion as a duration.
	p.wait(300 * time.Millisecond)
	pr := first[*Promise](t, p.step("y", prepare(1, 3, "y")))
	if pr.Holder.Remaining != 700*time.Millisecond || !pr.Holder.Ballot.Same(b(1, 1, "x")) {
		t.Fatalf("holder report %+v, want x at 1.1 with 700ms left", pr.Holder)
	}
	// Once the exclusion has run out, the prepare is promised and open.
	p.wait(700 * time.Millisecond)
	runExchanges(t, p, []exchange{
		{from: "y", msg: prepare(1, 3, "y"), want: TypePromise},
		{from: "x", msg: propose(1, 1, "x", time.Second), want: TypeReject, promised: b(1, 3, "y")},
	})
}

// R5: a propose below the promise (or at it, from another node) is
// rejected with the promise; a live lease of another owner is never
// replaced, whatever the ballot; otherwise the lease is recorded for TTL of
// the acceptor's clock and the promise rises to the ballot.
func TestR5AcceptorPropose(t *testing.T) {
	cases := []struct {
		name  string
		steps []exchange
	}{
		{"below the promise", []exchange{
			{from: "x", msg: prepare(1, 4, "x"), want: TypePromise},
			{from: "y", msg: propose(1, 3, "y", time.Second), want: TypeReject, promised: b(1, 4, "x")},
		}},
		{"equal from another node", []exchange{
			{from: "x", msg: prepare(1, 4, "x"), want: TypePromise},
			{from: "y", msg: propose(1, 4, "y", time.Second), want: TypeReject, promised: b(1, 4, "x")},
		}},
		{"live lease of another owner, higher ballot", []exchange{
			{from: "x", msg: propose(1, 1, "x", time.Second), want: TypeAccepted},
			{from: "y", msg: propose(1, 9, "y", time.Second), want: TypeReject, promised: b(1, 1, "x"), holder: "x"},
			{from: "y", msg: propose(5, 1, "y", time.Second), want: TypeReject, promised: b(1, 1, "x"), holder: "x"},
			{from: "z", msg: &Query{Name: "L", ID: 1}, want: TypeQueryReply},
		}},
		{"propose raises the promise", []exchange{
			{from: "x", msg: propose(1, 6, "x", time.Second), want: TypeAccepted},
			{from: "y", msg: prepare(1, 6, "y"), want: TypeReject, promised: b(1, 6, "x"), holder: "x"},
			{from: "y", msg: prepare(1, 5, "y"), want: TypeReject, promised: b(1, 6, "x"), holder: "x"},
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := newProbe(t, "a", abc, fresh, nil)
			runExchanges(t, p, c.steps)
			if q := queryAcceptor(t, p); c.name == "live lease of another owner, higher ballot" && (q.Owner != "x" || !q.Ballot.Same(b(1, 1, "x"))) {
				t.Fatalf("lease replaced: %+v", q)
			}
		})
	}
}

// r5ReplacesLive reports whether acceptor a let y's Propose, at a ballot
// above its promise, replace x's live lease.
func r5ReplacesLive(t *testing.T, edit func(*Config)) bool {
	t.Helper()
	p := newProbe(t, "a", abc, fresh, edit)
	runExchanges(t, p, []exchange{{from: "x", msg: propose(1, 1, "x", time.Second), want: TypeAccepted}})
	p.wait(time.Millisecond)
	p.step("y", propose(1, 9, "y", time.Second))
	return queryAcceptor(t, p).Owner != "x"
}

// R5: never replace a live lease of another owner, even with a ballot above
// the promise (defence in depth: this alone repairs the R7 bug).
func TestR5NeverReplaceLiveLease(t *testing.T) {
	if r5ReplacesLive(t, nil) {
		t.Fatal("R5: y's propose replaced x's live lease")
	}
}

// R5: the exclusion lasts exactly TTL of the acceptor's clock from receipt;
// after it, another owner's propose is recorded.
func TestR5ExclusionIsTTLFromReceipt(t *testing.T) {
	p := newProbe(t, "a", abc, fresh, nil)
	runExchanges(t, p, []exchange{{from: "x", msg: propose(1, 1, "x", time.Second), want: TypeAccepted}})
	if q := queryAcceptor(t, p); q.Remaining != time.Second {
		t.Fatalf("remaining at receipt %v, want the full TTL", q.Remaining)
	}
	p.wait(time.Second - 1)
	runExchanges(t, p, []exchange{{from: "y", msg: propose(1, 2, "y", time.Second), want: TypeReject, promised: b(1, 1, "x"), holder: "x"}})
	p.wait(1)
	runExchanges(t, p, []exchange{{from: "y", msg: propose(1, 2, "y", time.Second), want: TypeAccepted}})
	if q := queryAcceptor(t, p); q.Owner != "y" || !q.Ballot.Same(b(1, 2, "y")) || q.Remaining != time.Second {
		t.Fatalf("after expiry: %+v, want y at 1.2 for 1s", q)
	}
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

// r7OwnLeaseOpens reports whether x, asking afresh for L, proposed although
// a majority of voters reported a live lease of x's own (a leftover of an
// abandoned attempt): it must be blocked like any other holder.
func r7OwnLeaseOpens(t *testing.T, edit func(*Config), wait bool) (proposed bool, out Output) {
	t.Helper()
	p := newProbe(t, "x", abc, fresh, edit)
	prep := first[*Prepare](t, p.acquire(AcquireRequest{Name: "L", TTL: time.Second, Wait: wait}))
	mine := LeaseInfo{Owner: "x", Ballot: b(1, 1, "x"), Remaining: 800 * time.Millisecond}
	for _, v := range []string{"a", "b"} {
		out = appendOutput(out, p.step(v, &Promise{Name: "L", Attempt: prep.Attempt, Holder: mine}))
	}
	ps, _ := msgs[*Propose](out)
	return len(ps) > 0, out
}

// R7: the proposer proposes only with a majority of open answers; a report
// of a lease it owns itself blocks a fresh acquire (only a renewal at its
// recorded base may treat it as open, and renewals here send no Prepare).
func TestR7OwnLeaseBlocksFreshAcquire(t *testing.T) {
	for _, wait := range []bool{false, true} {
		proposed, out := r7OwnLeaseOpens(t, nil, wait)
		if proposed {
			t.Fatalf("R7 (wait=%v): proposed over its own stale lease", wait)
		}
		if !wait {
			f := events(out, EventFailed)
			if len(f) != 1 || !errors.Is(f[0].Err, ErrHeld) || f[0].Holder.Owner != "x" {
				t.Fatalf("R7: events %+v, want one failed/ErrHeld naming x", out.Events)
			}
		}
	}
}
