package protocol

import (
	"testing"
	"time"
)

// Rule tests for the rules at the edges of the contract (R17-R20); see
// protocol/RULES.md. Each check is a function the mutants tests reuse with
// the rule weakened, so that every test here is shown able to fail.

// r17AdmitsForeign reports whether a voter of a,b,c in cluster "prod"
// admits a datagram from a node whose voter list is a,b,c,d,e.
func r17AdmitsForeign(t *testing.T, edit func(*Config)) bool {
	t.Helper()
	p := newProbe(t, "a", abc, fresh, func(c *Config) {
		c.Cluster = "prod"
		if edit != nil {
			edit(c)
		}
	})
	own := Header{From: "b", ID: Identity{Cluster: "prod", Voters: Fingerprint([]string{"c", "b", "a"})}}
	if !p.m.Admit(own) {
		t.Fatal("R17: a datagram of the machine's own identity (voters in another order) was refused")
	}
	other := Header{From: "d", ID: Identity{Cluster: "prod", Voters: Fingerprint([]string{"a", "b", "c", "d", "e"})}}
	otherCluster := Header{From: "b", ID: Identity{Cluster: "test", Voters: own.ID.Voters}}
	admitted := p.m.Admit(other) || p.m.Admit(otherCluster)
	if !admitted && p.m.Counters().Mismatched != 2 {
		t.Fatalf("R17: %d mismatches counted, want 2", p.m.Counters().Mismatched)
	}
	return admitted
}

// R17: acceptors and proposers take only datagrams of their own identity:
// the same cluster ID and the same voter list.
func TestR17ForeignIdentityRefused(t *testing.T) {
	if r17AdmitsForeign(t, nil) {
		t.Fatal("R17: a datagram of another voter list or cluster was admitted")
	}
}

// R17: the fingerprint depends on the set of voters, not their order, and
// changes with any name.
func TestR17Fingerprint(t *testing.T) {
	if Fingerprint([]string{"a", "b", "c"}) != Fingerprint([]string{"c", "a", "b"}) {
		t.Fatal("fingerprint depends on order")
	}
	for _, o := range [][]string{{"a", "b"}, {"a", "b", "c", "d"}, {"a", "b", "cc"}, {"ab", "c"}} {
		if Fingerprint(o) == Fingerprint(abc) {
			t.Fatalf("fingerprint of %v equals that of %v", o, abc)
		}
	}
}

// r19Quarantine is the quarantine of voter a crash-restarted with MaxTTL
// 1s after it ran with bounds b.
func r19Quarantine(t *testing.T, edit func(*Config), b Bounds) time.Duration {
	t.Helper()
	p := newProbe(t, "a", abc, Start{Kind: StartCrashed, Era: 3, Bounds: b}, func(c *Config) {
		c.MaxTTL, c.DefaultTTL = time.Second, 500*time.Millisecond
		if edit != nil {
			edit(c)
		}
	})
	return p.m.QuarantineUntil().Sub(probeStart)
}

// R19: the quarantine of a crashed start covers every TTL and lock delay
// the voter may have granted before, not only today's MaxTTL.
func TestR19QuarantineCoversPersistedBounds(t *testing.T) {
	cfg := Config{MaxTTL: 10 * time.Second, MaxDrift: DefaultMaxDrift}
	if q := r19Quarantine(t, nil, Bounds{MaxTTL: 10 * time.Second}); q < cfg.QuarantineFor(10*time.Second) {
		t.Fatalf("R19: quarantine %v after running with MaxTTL 10s, want >= %v", q, cfg.QuarantineFor(10*time.Second))
	}
	x := 10*time.Second + 5*time.Second // a 10 s lease with a 5 s lock delay
	if q := r19Quarantine(t, nil, Bounds{MaxTTL: 10 * time.Second, MaxExclusion: x}); q < cfg.ExclusionQuarantine(x) {
		t.Fatalf("R19: quarantine %v after accepting an exclusion of %v, want >= %v", q, x, cfg.ExclusionQuarantine(x))
	}
	if q := r19Quarantine(t, nil, Bounds{}); q > 2*time.Second {
		t.Fatalf("R19: quarantine %v with nothing persisted beyond MaxTTL 1s", q)
	}
}

// R19: the bounds rise, and reach the driver to persist before the answer
// leaves, when the acceptor accepts a longer exclusion or the node starts
// with a larger MaxTTL.
func TestR19BoundsPersistedBeforeAnswer(t *testing.T) {
	p := newProbe(t, "a", abc, Start{Kind: StartFresh, Bounds: Bounds{MaxTTL: time.Minute}}, nil)
	if out := p.ready(); !out.PersistBounds.IsZero() {
		t.Fatalf("start below the persisted MaxTTL asked to persist %+v", out.PersistBounds)
	}
	out := p.step("x", &Propose{Name: "L", Ballot: b(1, 1, "x"), Attempt: 1, TTL: 2 * time.Second, LockDelay: 3 * time.Second})
	if first[*Accepted](t, out) == nil || out.PersistBounds.MaxExclusion != 5*time.Second {
		t.Fatalf("R19: accept of TTL 2s + lock delay 3s persisted %+v", out.PersistBounds)
	}
	out = p.step("x", &Propose{Name: "M", Ballot: b(1, 2, "x"), Attempt: 2, TTL: time.Second})
	if !out.PersistBounds.IsZero() {
		t.Fatalf("R19: a shorter exclusion asked to persist %+v", out.PersistBounds)
	}
	q := newProbe(t, "a", abc, Start{Kind: StartFresh, Bounds: Bounds{MaxTTL: time.Second}}, nil)
	if out := q.ready(); out.PersistBounds.MaxTTL != DefaultMaxTTL {
		t.Fatalf("R19: a start with a larger MaxTTL persisted %+v", out.PersistBounds)
	}
}

// r20ResendOfOtherAttempt reports whether acceptor a promises a Prepare
// equal to its promise, from the same node, but of another attempt: what a
// restarted node that reuses a ballot of its previous incarnation sends.
func r20ResendOfOtherAttempt(t *testing.T, edit func(*Config)) bool {
	t.Helper()
	p := newProbe(t, "a", abc, fresh, edit)
	runExchanges(t, p, []exchange{
		{from: "y", msg: &Prepare{Name: "L", Ballot: b(1, 1, "y"), Attempt: 7}, want: TypePromise},
		{from: "y", msg: &Prepare{Name: "L", Ballot: b(1, 1, "y"), Attempt: 7}, want: TypePromise}, // a resend
	})
	out := p.step("y", &Prepare{Name: "L", Ballot: b(1, 1, "y"), Attempt: 9})
	pr, _ := msgs[*Promise](out)
	return len(pr) > 0
}

// R20: a Prepare equal to the promise is a resend only when it names the
// same attempt; a new incarnation reusing the ballot is rejected and jumps.
func TestR20EqualBallotOfAnotherAttemptRejected(t *testing.T) {
	if r20ResendOfOtherAttempt(t, nil) {
		t.Fatal("R20: a Prepare of another attempt at the promised ballot was promised")
	}
}

// R20: a node restarted without durable state, in the same era as its
// previous incarnation, never wins with a ballot it used before: its token
// is strictly higher.
func TestR20RestartInSameEraGetsHigherToken(t *testing.T) {
	h := newHarness(t, abc, "y")
	h.start("y", Start{Kind: StartCrashed, Era: 0}) // no data dir: era 1
	token := func() uint64 {
		h.acquire("y", "L", true)
		h.settle(50*time.Millisecond, nil)
		e := h.lastEvent("y")
		if e.Kind != EventAcquired {
			t.Fatalf("no grant: %+v\n%s", e, h.dump())
		}
		return e.Token
	}
	tok1 := token()
	h.nodes["y"].m.Stop() // a crash while holding: the voters keep the lease
	h.settle(3*time.Second, nil)
	h.start("y", Start{Kind: StartCrashed, Era: 0}) // the same era again: no data dir, same second
	tok2 := token()
	if tok2 <= tok1 {
		t.Fatalf("R20: token %d after the restart, not above %d\n%s", tok2, tok1, h.dump())
	}
}

// r18StaleCopyOpens reports whether voter a, started cleanly from a copy
// of its data dir older than an incarnation b has heard, answers a Prepare
// right away.
func r18StaleCopyOpens(t *testing.T, edit func(*Config)) bool {
	t.Helper()
	st := newProbe(t, "a", abc, fresh, nil).m.Snapshot(probeStart)
	p := newProbe(t, "a", abc, Start{Kind: StartClean, State: st, Boot: 4}, edit)
	out := p.ready()
	if hs, to := msgs[*Hello](out); len(hs) > 0 {
		if len(to) != 2 || hs[0].Boot != 4 {
			t.Fatalf("R18: Hello %+v to %v, want boot 4 to b and c", hs[0], to)
		}
		p.step("b", &HelloReply{Boot: 4, Nonce: hs[0].Nonce, Stale: true, Seen: 5})
	}
	out = p.step("x", prepare(1, 1, "x"))
	_, to := msgs[*Promise](out)
	return len(to) > 0
}

// R18: a clean start that a peer proves stale (it heard a newer
// incarnation) becomes a crashed start: era bump, quarantine.
func TestR18StaleCopyQuarantined(t *testing.T) {
	if r18StaleCopyOpens(t, nil) {
		t.Fatal("R18: a clean start proven stale answered a Prepare")
	}
}

// R18: a clean start answers nothing until every other voter confirmed it
// is the newest incarnation; then it opens at once, with no quarantine.
func TestR18CleanStartVerified(t *testing.T) {
	st := newProbe(t, "a", abc, fresh, nil).m.Snapshot(probeStart)
	p := newProbe(t, "a", abc, Start{Kind: StartClean, State: st, Boot: 4}, nil)
	hs, _ := msgs[*Hello](p.ready())
	if len(hs) != 2 || !p.m.Verifying() || !p.m.Quarantined(p.now) {
		t.Fatalf("R18: clean start sent %d Hellos, verifying=%v", len(hs), p.m.Verifying())
	}
	if out := p.step("x", prepare(1, 1, "x")); !out.Empty() {
		t.Fatalf("R18: answered before verification: %+v", out)
	}
	p.step("b", &HelloReply{Boot: 4, Nonce: hs[0].Nonce, Seen: 3})
	if !p.m.Verifying() {
		t.Fatal("R18: verified with one of two peers")
	}
	p.step("c", &HelloReply{Boot: 4, Nonce: hs[0].Nonce, Seen: 0})
	if p.m.Verifying() || p.m.Quarantined(p.now) || p.m.StaleStart() {
		t.Fatal("R18: still closed after every peer confirmed")
	}
	runExchanges(t, p, []exchange{{from: "x", msg: prepare(1, 2, "x"), want: TypePromise}})
}

// R18: a peer answers stale for an older boot, or the same boot with
// another nonce (a second copy), and remembers only the newest.
func TestR18PeerRecognisesStaleIncarnation(t *testing.T) {
	p := newProbe(t, "b", abc, fresh, nil)
	reply := func(boot, nonce uint64) bool {
		return first[*HelloReply](t, p.step("a", &Hello{Boot: boot, Nonce: nonce})).Stale
	}
	if reply(5, 1) || reply(5, 1) { // first sight, then a resend
		t.Fatal("R18: the newest incarnation (or its resend) called stale")
	}
	if !reply(5, 2) || !reply(4, 9) {
		t.Fatal("R18: a second copy with the same boot, or an older boot, not called stale")
	}
	if reply(6, 3) || !reply(5, 1) {
		t.Fatal("R18: a newer boot not taken, or the old one accepted after it")
	}
	st := p.m.Snapshot(p.now) // a clean stop keeps the memory
	q := newProbe(t, "b", abc, Start{Kind: StartClean, State: st}, nil)
	if !first[*HelloReply](t, q.step("a", &Hello{Boot: 6, Nonce: 4})).Stale {
		t.Fatal("R18: the memory of peers did not survive a clean restart")
	}
}

// R18: a clean start that no peer answers within the quarantine opens
// when it ends, as a crashed start (era bump).
func TestR18UnverifiedStartEndsAsCrashed(t *testing.T) {
	st := newProbe(t, "a", abc, fresh, nil).m.Snapshot(probeStart)
	p := newProbe(t, "a", abc, Start{Kind: StartClean, State: st, Boot: 2}, nil)
	era := p.m.Era()
	end := p.m.QuarantineUntil()
	out := p.tickTo(end)
	if p.m.Verifying() || !p.m.StaleStart() || p.m.Era() != era+1 || out.PersistEra != era+1 {
		t.Fatalf("R18: after the quarantine verifying=%v stale=%v era %d (was %d) persist %d",
			p.m.Verifying(), p.m.StaleStart(), p.m.Era(), era, out.PersistEra)
	}
	runExchanges(t, p, []exchange{{from: "x", msg: prepare(era+1, 1, "x"), want: TypePromise}})
}

// R12, R18: a start that may have forgotten promises (here a crash whose
// era file is an old copy: era 2) learns from its peers' answers that
// ballots of era 4 exist, and refuses every ballot up to era 4: otherwise
// a majority of voters restored from old copies would let a ballot below
// tokens already granted win once their quarantine ends. Found by the
// simulator (stale restores of a majority of voters).
func TestR18CrashedStartRaisesFloorToPeersEra(t *testing.T) {
	p := newProbe(t, "a", abc, Start{Kind: StartCrashed, Era: 2, Boot: 9}, nil)
	hs, to := msgs[*Hello](p.ready())
	if len(hs) != 2 || len(to) != 2 {
		t.Fatalf("crashed start sent %d Hellos, want 2 (to learn its peers' eras)", len(hs))
	}
	out := p.step("b", &HelloReply{Boot: 9, Nonce: hs[0].Nonce, Era: 4})
	if out.PersistEra != 5 || p.m.Era() != 5 {
		t.Fatalf("era %d (persist %d) after a peer reported era 4, want 5", p.m.Era(), out.PersistEra)
	}
	p.at(p.m.QuarantineUntil())
	runExchanges(t, p, []exchange{
		{from: "x", msg: prepare(4, 9, "x"), want: TypeReject, promised: Ballot{Era: 5}},
		{from: "x", msg: prepare(5, 1, "x"), want: TypePromise},
	})
}

// R18: a fresh start ("a new cluster") that meets a voter past era 1 is a
// wiped data dir, not a new cluster: it becomes a crashed start.
func TestR18FreshStartInOldClusterIsStale(t *testing.T) {
	p := newProbe(t, "a", abc, Start{Kind: StartFresh, Boot: 1}, nil)
	hs, _ := msgs[*Hello](p.ready())
	if len(hs) != 2 {
		t.Fatalf("fresh start sent %d Hellos, want 2", len(hs))
	}
	p.step("b", &HelloReply{Boot: 1, Nonce: hs[0].Nonce, Era: 3})
	if !p.m.StaleStart() || !p.m.Quarantined(p.now) || p.m.Era() <= 3 {
		t.Fatalf("fresh start met era 3: stale=%v quarantined=%v era=%d", p.m.StaleStart(), p.m.Quarantined(p.now), p.m.Era())
	}
	// In a real new cluster every voter is at era 1: it opens once all answered.
	q := newProbe(t, "a", abc, Start{Kind: StartFresh, Boot: 1}, nil)
	hs, _ = msgs[*Hello](q.ready())
	q.step("b", &HelloReply{Boot: 1, Nonce: hs[0].Nonce, Era: 1})
	q.step("c", &HelloReply{Boot: 1, Nonce: hs[0].Nonce, Era: 1})
	if q.m.StaleStart() || q.m.Quarantined(q.now) {
		t.Fatal("a fresh start in a new cluster stayed closed")
	}
}

// R18: a voter's memory of its peers' incarnations is durable: it goes to
// the driver with the reply that first shows it, and a crashed restart
// given it back still recognises a stale copy of a peer.
func TestR18PeerMemorySurvivesCrash(t *testing.T) {
	p := newProbe(t, "b", abc, fresh, nil)
	out := p.step("a", &Hello{Boot: 5, Nonce: 1})
	if len(out.PersistPeers) != 1 || out.PersistPeers[0] != (PeerIncarnation{Name: "a", Incarnation: Incarnation{Boot: 5, Nonce: 1}}) {
		t.Fatalf("R18: peer memory to persist %+v", out.PersistPeers)
	}
	if out := p.step("a", &Hello{Boot: 5, Nonce: 1}); out.PersistPeers != nil {
		t.Fatal("R18: a resent Hello asked to persist again")
	}
	q := newProbe(t, "b", abc, Start{Kind: StartCrashed, Era: 1, Peers: out.PersistPeers}, nil)
	if !first[*HelloReply](t, q.step("a", &Hello{Boot: 5, Nonce: 2})).Stale {
		t.Fatal("R18: after a crash, a second copy of a's boot 5 was not called stale")
	}
}
