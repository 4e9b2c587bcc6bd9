package protocol

import (
	"testing"
	"time"
)

// Answers say why they do not open the way (Reason, issue 15): a live
// lease, a handoff grace, a promise, an era floor. The wire carries it, and
// the proposer reads it.

// TestReasonSaysHandoff: during a handoff grace, a voter turns away a
// Prepare that it does not favour with the released lease and
// ReasonHandoff, never ReasonLive; a live lease says ReasonLive, a low
// ballot ReasonPromised, a low era ReasonEra.
func TestReasonSaysHandoff(t *testing.T) {
	p := newProbe(t, "a", []string{"a"}, fresh, nil)
	b := func(round uint32, node string) Ballot { return Ballot{Era: 1, Round: round, Node: node} }
	p.step("y", &Prepare{Name: "L", Ballot: b(1, "y"), Attempt: 1})
	p.step("y", &Propose{Name: "L", Ballot: b(1, "y"), Attempt: 1, TTL: time.Second})
	live := first[*Promise](t, p.step("x", &Prepare{Name: "L", Ballot: b(2, "x"), Attempt: 2}))
	if live.Reason != ReasonLive || live.Holder.Owner != "y" {
		t.Fatalf("Prepare during a live lease: %+v, want ReasonLive with y", live)
	}
	p.step("z", &Prepare{Name: "L", Ballot: b(3, "z"), Attempt: 3}) // z waits too, after x
	p.step("y", &Release{Name: "L", Ballot: b(1, "y")})
	grace := first[*Promise](t, p.step("z", &Prepare{Name: "L", Ballot: b(4, "z"), Attempt: 4}))
	if grace.Reason != ReasonHandoff || grace.Holder.Owner != "y" || grace.Holder.Remaining <= 0 {
		t.Fatalf("Prepare of an unfavoured waiter in the grace: %+v, want ReasonHandoff", grace)
	}
	if open := first[*Promise](t, p.step("x", &Prepare{Name: "L", Ballot: b(5, "x"), Attempt: 5})); open.Reason != ReasonNone || open.Holder.Live() {
		t.Fatalf("Prepare of the favoured waiter: %+v, want open", open)
	}
	if low := first[*Reject](t, p.step("z", &Prepare{Name: "L", Ballot: b(2, "z"), Attempt: 6})); low.Reason != ReasonPromised {
		t.Fatalf("Prepare below the promise: %+v, want ReasonPromised", low)
	}
	c := newProbe(t, "a", []string{"a"}, Start{Kind: StartCrashed, Era: 4}, nil)
	c.wait(c.m.Config().Quarantine + time.Second)
	if era := first[*Reject](t, c.step("z", &Prepare{Name: "L", Ballot: Ballot{Era: 4, Round: 9, Node: "z"}, Attempt: 8})); era.Reason != ReasonEra || era.Promised.Era != 5 {
		t.Fatalf("Prepare below the era floor: %+v, want ReasonEra with floor 5", era)
	}
}

// TestReasonOnTheWire: reasons and the one-round flag survive the codec; a
// reason this version does not know refuses the datagram.
func TestReasonOnTheWire(t *testing.T) {
	info := LeaseInfo{Owner: "y", Ballot: Ballot{Era: 1, Round: 2, Node: "y"}, Remaining: time.Millisecond}
	in := []Message{
		&Promise{Name: "L", Attempt: 1, Holder: info, Reason: ReasonHandoff},
		&Reject{Name: "L", Attempt: 2, Promised: info.Ballot, Holder: info, Reason: ReasonLive},
		&Reject{Name: "L", Attempt: 3, Promised: Ballot{Era: 5}, Reason: ReasonEra},
		&Propose{Name: "L", Ballot: Ballot{Era: 1, Round: 3, Node: "x"}, Attempt: 4, TTL: time.Second, OneRound: true},
	}
	raw := encodeAll(t, "x", in)
	if len(raw) != 1 {
		t.Fatalf("%d datagrams, want 1", len(raw))
	}
	_, out, err := NewDecoder().Decode(raw[0])
	if err != nil {
		t.Fatal(err)
	}
	if out[0].(*Promise).Reason != ReasonHandoff || out[1].(*Reject).Reason != ReasonLive ||
		out[2].(*Reject).Reason != ReasonEra || !out[3].(*Propose).OneRound {
		t.Fatalf("decoded %s, want %s", dumpMsgs(out), dumpMsgs(in))
	}
	one := encodeAll(t, "x", []Message{&Promise{Name: "L", Attempt: 1, Reason: ReasonLive}})[0]
	if one[len(one)-1] != byte(ReasonLive) {
		t.Fatalf("the reason is not the datagram's last byte: % x", one)
	}
	bad := append([]byte(nil), one...)
	bad[len(bad)-1] = byte(reasonEnd)
	if _, _, err := NewDecoder().Decode(bad); err == nil {
		t.Fatal("a datagram with an unknown reason decoded")
	}
	for r := ReasonNone; r < reasonEnd; r++ {
		if r.String() == "invalid" {
			t.Errorf("reason %d has no name", r)
		}
	}
}

// TestProposerReadsReason: the proposer takes a Promise as open only if it
// says so (ReasonNone and no lease); a handoff grace blocks it like a live
// lease, and a waiting request then waits out what the voters reported.
func TestProposerReadsReason(t *testing.T) {
	p := newProbe(t, "x", []string{"a", "b", "c"}, fresh, nil)
	prep := first[*Prepare](t, p.acquire(AcquireRequest{Name: "L", Wait: true}))
	grace := LeaseInfo{Owner: "y", Ballot: Ballot{Era: 1, Round: 1, Node: "y"}, Remaining: 20 * time.Millisecond}
	var out Output
	for _, v := range []string{"a", "b"} {
		out = appendOutput(out, p.step(v, &Promise{Name: "L", Attempt: prep.Attempt, Holder: grace, Reason: ReasonHandoff}))
	}
	if props, _ := msgs[*Propose](out); len(props) != 0 {
		t.Fatal("proposed on a majority of handoff-grace answers")
	}
	// The request waits for the grace, not for a TTL, then asks again.
	again := p.tickTo(p.now.Add(grace.Remaining + p.m.Config().BackoffMin + time.Millisecond))
	if ps, _ := msgs[*Prepare](again); len(ps) == 0 {
		t.Fatalf("no new Prepare after the grace: %+v", again)
	}
	// A Promise that says it blocks blocks even with no lease in it.
	q := newProbe(t, "x", []string{"a", "b", "c"}, fresh, nil)
	prep = first[*Prepare](t, q.acquire(AcquireRequest{Name: "L"}))
	out = Output{}
	for _, v := range []string{"a", "b"} {
		out = appendOutput(out, q.step(v, &Promise{Name: "L", Attempt: prep.Attempt, Reason: ReasonLive}))
	}
	if props, _ := msgs[*Propose](out); len(props) != 0 {
		t.Fatal("proposed on a majority of answers that say ReasonLive")
	}
}
