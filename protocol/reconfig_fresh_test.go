package protocol

import (
	"testing"
	"time"
)

// Fresh claims (R18): a start on an empty dir that says "new cluster" is
// checked as one, by the voters it votes with, whenever it was not yet.

// R18, R12: an added voter whose first start was a crash, its disk
// replaced and started with --new-cluster, is stopped cleanly after it
// adopted the configuration that makes it a voter and before any voter
// answered its Hello. The claim of a new cluster is still owed: the State
// keeps it, and the clean restart is checked as a fresh start and found
// stale, its era floor raised past the voters' (when the claim was
// cleared as the check began, the restart was confirmed by voters that
// never heard of the node, with rejectBelow 0; found by a review).
func TestFreshClaimSurvivesInterruptedCheck(t *testing.T) {
	n := newRCNet(t, []string{"a", "b", "c"})
	d := n.start("d", []string{"a", "b", "c"}, 1, Start{Kind: StartCrashed, Boot: 1})
	n.run(5 * time.Second)
	n.change("a", []string{"a", "b", "c", "d"})
	// Some tenures at the current era, so the voters' era is worth learning.
	n.run(10 * time.Millisecond)
	t.Logf("voters' eras: a %d b %d c %d", n.nodes["a"].Era(), n.nodes["b"].Era(), n.nodes["c"].Era())

	d.Stop()
	delete(n.durable, "d")
	d = n.start("d", []string{"a", "b", "c"}, 2, Start{Kind: StartFresh, Boot: 1})
	d.AskConfig(n.now, "a")
	n.flush("d")
	// Deliver the ConfigAsk to a by hand, then drop everything d sends.
	g := n.queue[0]
	n.queue = n.queue[1:]
	h, msgs, err := n.dec.Decode(g.b)
	if err != nil || g.to != "a" {
		t.Fatalf("first datagram to %s: %v", g.to, err)
	}
	n.nodes["a"].Deliver(n.now, h, msgs)
	n.flush("a")
	for _, p := range []string{"a", "b", "c"} {
		n.cut[[2]string{"d", p}] = true
	}
	n.run(5 * time.Millisecond)
	if !d.IsVoter() || !d.Verifying() {
		t.Fatalf("d: voter %v verifying %v; want a voter whose check is under way", d.IsVoter(), d.Verifying())
	}
	st := d.Snapshot(n.now)
	t.Logf("clean stop while verifying: State.FreshClaim %v, QuarantineLeft %v", st.FreshClaim, st.QuarantineLeft)
	cfg := n.durable["d"]
	d.Stop()
	for _, p := range []string{"a", "b", "c"} {
		delete(n.cut, [2]string{"d", p})
	}
	d = n.start("d", []string{"a", "b", "c"}, 3, Start{Kind: StartClean, Boot: 2, State: st, Config: cfg})
	n.run(200 * time.Millisecond)
	t.Logf("after the clean restart: voter %v verifying %v stale %v quarantined %v era %d rejectBelow %d",
		d.IsVoter(), d.Verifying(), d.StaleStart(), d.Quarantined(n.now), d.Era(), d.rejectBelow)
	if !d.StaleStart() {
		t.Fatalf("the wiped d, cleanly restarted during its check, was not found stale (rejectBelow %d, voters' era %d)",
			d.rejectBelow, n.nodes["a"].Era())
	}
}

// R18: a cluster begun as one voter with --new-cluster (no other voter to
// check its start) grows to three: the founder's claim is checked when
// the configuration gives it peers, at era 1, and cleared. Its next clean
// restart is an open voter at once (when the claim was kept unchecked,
// that restart was found stale by its own peers, past era 1 after the
// change: an era bump and a quarantine; found by a review).
func TestFreshFounderCleanRestartStaysOpen(t *testing.T) {
	n := newRCNet(t, []string{"a"}, "b", "c")
	a := n.start("a", []string{"a"}, 1, Start{Kind: StartFresh, Boot: 1})
	n.run(10 * time.Millisecond)
	if a.Quarantined(n.now) || a.Verifying() {
		t.Fatal("the sole fresh voter is not open")
	}
	n.change("a", []string{"a", "b", "c"})
	st := a.Snapshot(n.now)
	t.Logf("a's State.FreshClaim after the growth: %v; b era %d", st.FreshClaim, n.nodes["b"].Era())
	a.Stop()
	a = n.start("a", []string{"a"}, 2, Start{Kind: StartClean, Boot: 2, State: st, Config: n.durable["a"]})
	t.Logf("a after restart: voters %v, verifying %v", a.Membership(), a.Verifying())
	n.run(200 * time.Millisecond)
	if a.StaleStart() || a.Quarantined(n.now) {
		t.Fatalf("a's clean restart: stale %v, quarantined %v (until %v, now %v); want an open voter",
			a.StaleStart(), a.Quarantined(n.now), a.QuarantineUntil(), n.now)
	}
}

// R18: a cluster begun as one voter a (--new-cluster, voters a) grows to
// a,b,c. a's disk is replaced and it starts again with --new-cluster and
// the initial list: under epoch 0 it is the only voter and nothing can
// check it (the operator rule: never again --new-cluster for it). Once it
// adopts a,b,c its claim is checked, refuted by voters past era 1, and it
// sits out a quarantine instead of voting with no memory (y was granted
// x's name at x's token inside x's deadline; found by a review).
func TestFreshFounderWipedIsCheckedOnAdoption(t *testing.T) {
	n := newRCNet(t, []string{"a"}, "b", "c", "x", "y")
	a := n.start("a", []string{"a"}, 1, Start{Kind: StartFresh, Boot: 1})
	n.run(10 * time.Millisecond)
	n.change("a", []string{"a", "b", "c"})
	for _, p := range []string{"x", "y"} {
		n.nodes[p].AskConfig(n.now, "b")
		n.flush(p)
	}
	n.run(50 * time.Millisecond)
	// x takes job; c does not hear it (a and b do).
	n.cut[[2]string{"x", "c"}], n.cut[[2]string{"c", "x"}] = true, true
	tok, deadline := n.hold("x", "job", 2*time.Second)
	for _, p := range []string{"a", "b", "c", "y"} {
		n.cut[[2]string{"x", p}], n.cut[[2]string{p, "x"}] = true, true
	}

	a.Stop()
	a = n.start("a", []string{"a"}, 2, Start{Kind: StartFresh, Boot: 1})
	t.Logf("wiped a before adoption: voter %v, epoch %d, verifying %v, quarantined %v",
		a.IsVoter(), a.Membership().Epoch, a.Verifying(), a.Quarantined(n.now))
	a.AskConfig(n.now, "c")
	n.flush("a")
	n.run(50 * time.Millisecond)
	t.Logf("wiped a after adoption: %v, verifying %v, quarantined %v, stale %v",
		a.Membership(), a.Verifying(), a.Quarantined(n.now), a.StaleStart())

	// y reaches a and c only.
	n.cut[[2]string{"y", "b"}], n.cut[[2]string{"b", "y"}] = true, true
	n.notGrantedBefore("y", "job", "x", tok, deadline)
}

// R18: an added voter whose first start was a crash (the README way) is
// added online to a cluster still at era 1; in the joint configuration
// it accepts a tenure, then its disk is replaced and it starts with
// --new-cluster (outside the operator rules: no wipe during a change).
// Era 1 refutes nothing here, so what finds it stale is the voters'
// memory: an amnesic node made a voter announces its incarnation. Without
// that, it opened with no memory and z was granted y's name inside y's
// deadline (found by a review). The control does not wipe d.
func TestAddedVoterAnnouncesIncarnation(t *testing.T) {
	for _, wipe := range []bool{true, false} {
		t.Run(map[bool]string{true: "wiped", false: "control-not-wiped"}[wipe], func(t *testing.T) { addedVoterAnnounced(t, wipe) })
	}
}

// addedVoterAnnounced is TestAddedVoterAnnouncesIncarnation, with d wiped
// if wipe.
func addedVoterAnnounced(t *testing.T, wipe bool) {
	n := newRCNet(t, []string{"a", "b", "c"}, "x", "y", "z")
	n.start("d", []string{"a", "b", "c"}, 11, Start{Kind: StartCrashed, Boot: 1}) // the README way: empty dir, no --new-cluster
	n.start("e", []string{"a", "b", "c"}, 12, Start{Kind: StartCrashed, Boot: 1})
	n.run(5 * time.Second) // past their quarantines
	isolate := func(who string, from ...string) {
		for _, p := range from {
			n.cut[[2]string{who, p}], n.cut[[2]string{p, who}] = true, true
		}
	}
	all := []string{"a", "b", "c", "d", "e", "x", "y", "z"}

	// A short tenure under the old configuration gives the change a retire
	// wait W, during which it stays joint.
	n.hold("x", "w", 400*time.Millisecond)
	isolate("x", all...)
	if err := n.nodes["a"].Reconfigure(n.now, ReconfigureRequest{Voters: []string{"a", "b", "c", "d", "e"}, FromEpoch: 0}); err != nil {
		t.Fatal(err)
	}
	n.flush("a")
	n.run(20 * time.Millisecond)
	if !n.nodes["b"].Membership().Joint() || !n.nodes["d"].Membership().Joint() {
		t.Fatalf("not joint: b %v, d %v", n.nodes["b"].Membership(), n.nodes["d"].Membership())
	}
	for _, v := range []string{"a", "b", "c", "d", "e"} {
		t.Logf("%s era %d", v, n.nodes[v].Era())
	}

	// y takes job in the joint configuration, accepted by a, b (old
	// majority) and a, b, d (new majority); c and e do not hear it.
	isolate("y", "c", "e")
	tok, deadline := n.hold("y", "job", 2*time.Second)
	for _, v := range []string{"a", "b", "d"} {
		if l := n.nodes[v].LiveLeases(n.now); len(l) == 0 {
			t.Fatalf("%s has no copy of job", v)
		}
	}

	// d's disk is replaced; it starts as a new cluster under the initial
	// list and adopts the joint configuration from b.
	isolate("y", "d")
	d := n.nodes["d"]
	if wipe {
		d.Stop()
		d = n.start("d", []string{"a", "b", "c"}, 21, Start{Kind: StartFresh, Boot: 1})
		d.AskConfig(n.now, "b")
		n.flush("d")
	}
	n.run(50 * time.Millisecond)
	t.Logf("wiped d: voter %v joint %v verifying %v quarantined %v stale %v era %d",
		d.IsVoter(), d.Membership().Joint(), d.Verifying(), d.Quarantined(n.now), d.StaleStart(), d.Era())

	// The change finishes (W over); y is cut from every voter now, its
	// client goes on believing until its deadline. z reaches c, d, e.
	isolate("y", all...)
	isolate("z", "a", "b")
	for n.nodes["b"].Membership().Joint() && n.now < deadline {
		n.run(10 * time.Millisecond)
	}
	t.Logf("final at %v before y's deadline: %v", deadline.Sub(n.now), n.nodes["c"].Membership())
	n.notGrantedBefore("z", "job", "y", tok, deadline)
}
