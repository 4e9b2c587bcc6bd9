package agent

import (
	"encoding/json"
	"errors"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tenure-dev/tenure/api"
	"github.com/tenure-dev/tenure/node"
)

// TestDeadlineMS checks the R16 rule: floor((d - received)·(1-ε)/(1+ε))
// in milliseconds, and that it is conservative: a client on another host
// that sent no later than the agent received, and whose clock runs as
// slow as 1-ε while the agent's runs as fast as 1+ε, never ends later
// than d in real time.
func TestDeadlineMS(t *testing.T) {
	r := time.Unix(1000, 0)
	for _, tc := range []struct {
		span  time.Duration
		drift float64
		want  int64
	}{
		{10 * time.Second, 0, 9999}, // one nanosecond off before flooring
		{10*time.Second + time.Nanosecond, 0, 10000},
		{10 * time.Second, 1e-3, 9980},     // 10000 · 0.999/1.001 = 9980.02
		{10 * time.Second, 0.05, 9047},     // 10000 · 0.95/1.05 = 9047.6
		{time.Hour, 1e-3, 3592807},         // 3600000 · 0.999/1.001 = 3592807.2
		{1500 * time.Microsecond, 0, 1},    // rounded down
		{999 * time.Microsecond, 0, 0},     // under a millisecond
		{0, 1e-3, 0},                       // at the deadline
		{-5 * time.Second, 1e-3, 0},        // past it: never negative
		{3 * time.Second, 0.099, 2459},     // 3000 · 0.901/1.099 = 2459.5
		{time.Millisecond + 1, 0, 1},       // just above one millisecond
		{time.Millisecond, 0, 0},           // exactly one: one nanosecond off
		{100 * time.Millisecond, 1e-6, 99}, // 100 · 0.999998 = 99.9998
	} {
		if got := deadlineMS(r.Add(tc.span), r, tc.drift); got != tc.want {
			t.Errorf("deadlineMS(span %v, ε %v) = %d, want %d", tc.span, tc.drift, got, tc.want)
		}
	}
	// Conservative for every span and ε: the client's real span,
	// deadline_ms/(1-ε), never exceeds the agent's shortest real span,
	// (d - received)/(1+ε).
	rng := rand.New(rand.NewPCG(11, 1))
	for range 100000 {
		span := time.Duration(rng.Int64N(int64(2 * time.Hour)))
		drift := rng.Float64() * 0.1
		ms := deadlineMS(r.Add(span), r, drift)
		client := float64(ms) * float64(time.Millisecond) / (1 - drift)
		agent := float64(span) / (1 + drift)
		if client > agent {
			t.Fatalf("span %v, ε %v: deadline_ms %d lasts %.1fns of real time on a slow client, longer than the %.1fns the agent's span may last", span, drift, ms, client, agent)
		}
	}
}

// TestKeepaliveExpiryRace is the race of issue 11 item 5a, made
// deterministic: the expiry is decided and the tenure marked released in
// one critical section, so a keepalive that the agent received before the
// expiry but that takes the lock just after the decision gets 410 and
// cannot extend a lease the agent is about to free.
func TestKeepaliveExpiryRace(t *testing.T) {
	f := newFixture(t, "")
	f.acquire("race", `{"ttl":"5s"}`)
	h := f.held("race")
	h.mu.Lock()
	h.timer.Stop() // this test plays the timer's part
	expiry := h.expiry
	h.mu.Unlock()

	// The timer "fires" at the expiry and decides.
	if !h.decideExpiry(expiry) {
		t.Fatal("decideExpiry at the expiry did not decide to free the lease")
	}
	// A keepalive received 1ms before the expiry arrives now, between the
	// decision and the release: it must be refused and change nothing.
	g, err := h.keepalive(expiry.Add(-time.Millisecond))
	if !errors.Is(err, ErrGone) {
		t.Fatalf("keepalive after the expiry decision: %+v, %v; want ErrGone", g, err)
	}
	h.mu.Lock()
	after := h.expiry
	h.mu.Unlock()
	if !after.Equal(expiry) {
		t.Fatalf("the refused keepalive moved the expiry by %v", after.Sub(expiry))
	}
	// A second decision must not free it twice.
	if h.decideExpiry(expiry.Add(time.Second)) {
		t.Fatal("decideExpiry decided twice")
	}
	if err := h.free(t.Context()); err != nil {
		t.Fatalf("free: %v", err)
	}
	f.eventually("the released tenure to leave the books", func() bool { return len(f.leases()) == 0 })
	if v := f.metric(`tenure_releases_total{reason="keepalive_timeout"}`); v != 1 {
		t.Fatalf("keepalive_timeout releases = %v, want 1", v)
	}
}

// TestLateKeepaliveChangesNothing checks that a keepalive received at or
// after the keepalive expiry gets 410 and moves nothing, even before the
// timer has decided; one received just before it extends the expiry to its
// receipt plus the TTL; and a keepalive received earlier than a previous
// one never moves the expiry back.
func TestLateKeepaliveChangesNothing(t *testing.T) {
	f := newFixture(t, "")
	f.acquire("late", `{"ttl":"5s"}`)
	h := f.held("late")
	h.mu.Lock()
	expiry := h.expiry
	h.mu.Unlock()
	for _, at := range []time.Time{expiry, expiry.Add(time.Millisecond)} {
		if _, err := h.keepalive(at); !errors.Is(err, ErrGone) {
			t.Fatalf("keepalive received %v after the expiry: %v, want ErrGone", at.Sub(expiry), err)
		}
	}
	h.mu.Lock()
	moved, released := h.expiry.Sub(expiry), h.released
	h.mu.Unlock()
	if moved != 0 || released {
		t.Fatalf("late keepalives moved the expiry by %v, released %v; want nothing changed", moved, released)
	}

	early := expiry.Add(-time.Second)
	g, err := h.keepalive(early)
	if err != nil || g.DeadlineMS <= 0 {
		t.Fatalf("keepalive before the expiry: %+v, %v", g, err)
	}
	h.mu.Lock()
	got := h.expiry
	h.mu.Unlock()
	if want := early.Add(5 * time.Second); !got.Equal(want) {
		t.Fatalf("expiry after a keepalive received at %v: %v, want receipt plus the TTL", early, got)
	}
	// An older receipt (a keepalive that was slow to be served) leaves it.
	if _, err := h.keepalive(early.Add(-2 * time.Second)); err != nil {
		t.Fatalf("older keepalive: %v", err)
	}
	h.mu.Lock()
	back := h.expiry
	h.mu.Unlock()
	if !back.Equal(got) {
		t.Fatalf("an older keepalive moved the expiry from %v to %v", got, back)
	}
}

// TestKeepaliveExpiryConservative checks item 2 of issue 11 with a large ε:
// a client that stops sending keepalives, and whose clock runs 1-ε slow,
// keeps the lease until its own deadline (send time plus deadline_ms,
// stretched by 1/(1-ε)); a waiter is granted no earlier, and is granted.
func TestKeepaliveExpiryConservative(t *testing.T) {
	const drift = 0.05
	f := newFixtureWith(t, "", node.Config{DataDir: t.TempDir(), MaxDrift: drift})
	g, sent := f.acquireSent("quiet", `{"ttl":"1s"}`)
	stretch := func(sent time.Time, ms int64) time.Time {
		return sent.Add(time.Duration(float64(ms) / (1 - drift) * float64(time.Millisecond)))
	}
	mine := stretch(sent, g.DeadlineMS)
	// One keepalive, then silence.
	ksent := time.Now()
	code, b := f.doKey("POST", "/v1/leases/quiet/keepalive", `{"token":"`+g.TokenStr+`"}`, g.LeaseKey)
	if code != 200 {
		t.Fatalf("keepalive: %d %s", code, b)
	}
	var k api.Grant
	mustJSON(t, b, &k)
	if d := stretch(ksent, k.DeadlineMS); d.After(mine) {
		mine = d
	}
	h := f.held("quiet")
	code, b = f.do("POST", "/v1/leases/quiet", `{"wait":"20s"}`)
	granted := time.Now()
	if code != 200 {
		t.Fatalf("waiter: %d %s", code, b)
	}
	if granted.Before(mine) {
		t.Fatalf("the waiter was granted %v before the silent client's own deadline", mine.Sub(granted))
	}
	select {
	case <-h.lease.Done():
	default:
		t.Fatal("the waiter was granted while the first tenure lives")
	}
	if err := h.lease.Err(); !errors.Is(err, node.ErrReleased) {
		t.Fatalf("first tenure ended with %v, want a release at the keepalive expiry", err)
	}
	if v := f.metric(`tenure_releases_total{reason="keepalive_timeout"}`); v != 1 {
		t.Fatalf("keepalive_timeout releases = %v, want 1", v)
	}
}

// TestLeaseKey checks item 5b of issue 11: a third party that read the
// token from the listing or the holder hint can neither renew nor release
// the tenure (403), and the holder keeps it; no listing carries the key.
func TestLeaseKey(t *testing.T) {
	f := newFixture(t, "")
	g := f.acquire("mine", `{"ttl":"5s"}`)
	for _, path := range []string{"/v1/leases", "/v1/leases/mine"} {
		code, b := f.do("GET", path, "")
		if code != 200 || !strings.Contains(string(b), g.TokenStr) || strings.Contains(string(b), g.LeaseKey) || strings.Contains(string(b), "lease_key") {
			t.Fatalf("GET %s: %d %s; want the token and no lease key", path, code, b)
		}
	}
	ls := f.leases()
	if len(ls) != 1 {
		t.Fatalf("leases %+v", ls)
	}
	stolen := ls[0].TokenStr
	for _, key := range []string{"", strings.Repeat("a", 2*leaseKeyBytes), g.LeaseKey + "0"} {
		if code, b := f.doKey("DELETE", "/v1/leases/mine?token="+stolen, "", key); code != http.StatusForbidden {
			t.Fatalf("DELETE with the listed token and key %q: %d %s, want 403", key, code, b)
		}
		if code, b := f.doKey("POST", "/v1/leases/mine/keepalive", `{"token":"`+stolen+`"}`, key); code != http.StatusForbidden {
			t.Fatalf("keepalive with the listed token and key %q: %d %s, want 403", key, code, b)
		}
	}
	if ls := f.leases(); len(ls) != 1 || ls[0].Token != g.Token {
		t.Fatalf("after the third party: %+v, want the holder's tenure", ls)
	}
	if code, b := f.do("POST", "/v1/leases/mine", `{}`); code != http.StatusConflict {
		t.Fatalf("acquire by another client: %d %s, want 409", code, b)
	}
	if code, b := f.doKey("POST", "/v1/leases/mine/keepalive", `{"token":"`+g.TokenStr+`"}`, g.LeaseKey); code != 200 {
		t.Fatalf("the holder's keepalive: %d %s", code, b)
	}
	if v := f.metric(`tenure_keepalives_total{outcome="forbidden"}`); v != 3 {
		t.Fatalf("forbidden keepalives = %v, want 3", v)
	}
	if code, b := f.doKey("DELETE", "/v1/leases/mine?token="+g.TokenStr, "", g.LeaseKey); code != http.StatusNoContent {
		t.Fatalf("the holder's DELETE: %d %s", code, b)
	}
}

// TestTokenJSON checks item 5c of issue 11 on the types: tokens leave as
// decimal strings, come back from strings exactly (above 2^53 too), and
// from JSON numbers only as plain digits up to 2^53-1.
func TestTokenJSON(t *testing.T) {
	big := uint64(1)<<63 + 12345 // about 9.2e18, like a wall-clock era's tokens
	b, err := json.Marshal(api.Grant{Name: "x", Token: big, TokenStr: strconv.FormatUint(big, 10)})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"token":"9223372036854788153"`) {
		t.Fatalf("grant marshals as %s; want the token as a string", b)
	}
	var g api.Grant
	if err := json.Unmarshal(b, &g); err != nil || g.Token != big {
		t.Fatalf("grant round trip: %d, %v; want %d", g.Token, err, big)
	}
	hb, _ := json.Marshal(api.HolderHint{Token: big})
	if !strings.Contains(string(hb), `"token":"9223372036854788153"`) {
		t.Fatalf("holder hint marshals as %s; want the token as a string", hb)
	}
	if tb, _ := json.Marshal(api.Token(big)); string(tb) != `"9223372036854788153"` {
		t.Fatalf("Token marshals as %s", tb)
	}
	for _, tc := range []struct {
		in   string
		want uint64
		ok   bool
	}{
		{`"9223372036854788153"`, big, true},
		{`"18446744073709551615"`, 1<<64 - 1, true},
		{`9007199254740991`, api.MaxNumberToken, true},
		{`4294967297`, 4294967297, true},
		{`9007199254740992`, 0, false}, // 2^53: may be a rounded 2^53+1
		{`9223372036854788153`, 0, false},
		{`"18446744073709551616"`, 0, false},
		{`1e3`, 0, false},
		{`5.0`, 0, false},
		{`-1`, 0, false},
		{`"-1"`, 0, false},
		{`""`, 0, false},
		{`true`, 0, false},
	} {
		var tok api.Token
		err := json.Unmarshal([]byte(tc.in), &tok)
		if (err == nil) != tc.ok || (tc.ok && uint64(tok) != tc.want) {
			t.Errorf("Token from %s: %d, %v; want %d (ok %v)", tc.in, tok, err, tc.want, tc.ok)
		}
	}
}

// TestBigTokensOverHTTP runs item 5c of issue 11 end to end with the
// tokens of a wall-clock era: a node without a data dir seeds its era from
// the wall clock, so every token is above 2^53. They travel as strings,
// keepalive and DELETE take them back exactly, and a JSON number that
// large is refused rather than read rounded.
func TestBigTokensOverHTTP(t *testing.T) {
	f := newFixtureWith(t, "", node.Config{}) // no data dir: a quarantine of about MaxTTL first
	code, b := f.do("POST", "/v1/leases/big", `{"ttl":"5s","wait":"30s"}`)
	if code != 200 {
		t.Fatalf("acquire: %d %s", code, b)
	}
	var raw map[string]any
	mustJSON(t, b, &raw)
	s, ok := raw["token"].(string)
	if !ok {
		t.Fatalf("token in %s is not a JSON string", b)
	}
	var g api.Grant
	mustJSON(t, b, &g)
	if g.Token <= api.MaxNumberToken || s != strconv.FormatUint(g.Token, 10) {
		t.Fatalf("token %q (%d): want a wall-clock era's token above 2^53", s, g.Token)
	}
	if code, b := f.doKey("POST", "/v1/leases/big/keepalive", `{"token":`+s+`}`, g.LeaseKey); code != 400 || !strings.Contains(string(b), "rounded") {
		t.Fatalf("keepalive with the token as a JSON number: %d %s, want 400", code, b)
	}
	code, b = f.doKey("POST", "/v1/leases/big/keepalive", `{"token":"`+s+`"}`, g.LeaseKey)
	var k api.Grant
	mustJSON(t, b, &k)
	if code != 200 || k.Token != g.Token {
		t.Fatalf("keepalive with the token as a string: %d %s", code, b)
	}
	// The next tenure's token differs in the low bits only: a double could
	// not tell them apart, the strings do.
	if code, b := f.doKey("DELETE", "/v1/leases/big?token="+s, "", g.LeaseKey); code != 204 {
		t.Fatalf("release: %d %s", code, b)
	}
	g2 := f.acquire("big", `{"ttl":"5s","wait":"10s"}`)
	if g2.Token <= g.Token || g2.TokenStr == s {
		t.Fatalf("next token %d after %d", g2.Token, g.Token)
	}
	if code, b := f.doKey("POST", "/v1/leases/big/keepalive", `{"token":"`+s+`"}`, g2.LeaseKey); code != 410 {
		t.Fatalf("keepalive naming the previous tenure: %d %s, want 410", code, b)
	}
}
