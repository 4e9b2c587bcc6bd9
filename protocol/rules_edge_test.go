package protocol

import (
	"testing"
	"time"
)

// Rule checks for the rules at the edges of the contract (R17-R20; see
// protocol/RULES.md) that are not scenarios: the identity check on single
// headers and the fingerprint, and the quarantine's size against the
// persisted bounds. R18 and R20 are golden scripts under testdata/rules.
// Each check is a function the mutants tests reuse with the rule
// weakened, so that every test here is shown able to fail.

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
