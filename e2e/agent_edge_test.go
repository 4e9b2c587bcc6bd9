package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The single holder at the user's edge (issue 11): a client that was told
// "you hold it until D" is never followed by another holder before D, by
// its own clock, whatever happens to its agent, and the next holder is not
// kept waiting much longer either.

// sentGrant is an acquire or keepalive answer with the instant the
// request was sent: the client's deadline is sent plus DeadlineMS (R16).
type sentGrant struct {
	grant
	sent, at time.Time // request sent, answer read
	code     int
}

func (g sentGrant) deadline() time.Time {
	return g.sent.Add(time.Duration(g.DeadlineMS) * time.Millisecond)
}

// post sends one request with the lease key (if any) and reads the answer
// with the send and arrival instants; it does not fail the test, so that
// goroutines may use it.
func post(method, url, body, key string) sentGrant {
	var g sentGrant
	ctx, cancel := context.WithTimeout(context.Background(), generous+30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, strings.NewReader(body))
	if err != nil {
		g.Error = err.Error()
		return g
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Tenure-Lease-Key", key)
	}
	g.sent = time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		g.at, g.Error = time.Now(), err.Error()
		return g
	}
	defer resp.Body.Close()
	_ = json.NewDecoder(resp.Body).Decode(&g.grant)
	g.at, g.code = time.Now(), resp.StatusCode
	return g
}

// startWaiter starts a client of the agent at url waiting for name; the
// channel delivers its answer.
func startWaiter(url, name string) <-chan sentGrant {
	ch := make(chan sentGrant, 1)
	go func() { ch <- post("POST", url+"/v1/leases/"+name, `{"wait":"60s"}`, "") }()
	return ch
}

// awaitGrant reads the waiter's answer and checks it against the first
// client's own deadline: granted no earlier (R15), and within bound after
// it (failover stays prompt). It returns how long after the deadline the
// waiter had its answer.
func awaitGrant(t *testing.T, ch <-chan sentGrant, first sentGrant, deadline time.Time, bound time.Duration) time.Duration {
	t.Helper()
	var w sentGrant
	select {
	case w = <-ch:
	case <-time.After(deadline.Sub(time.Now()) + bound + generous):
		t.Fatalf("the waiter was never granted the lease")
	}
	if w.code != 200 || w.Token <= first.Token {
		t.Fatalf("waiter: %d %+v; want the lease with a token above %d", w.code, w.grant, first.Token)
	}
	if w.at.Before(deadline) {
		t.Fatalf("the waiter held the lease %v before the first client's own deadline: two holders", deadline.Sub(w.at))
	}
	if late := w.at.Sub(deadline); late > bound {
		t.Fatalf("the waiter was granted %v after the first client's deadline; want within %v", late, bound)
	}
	return w.at.Sub(deadline)
}

// TestEdgeSIGTERMFailover: SIGTERM of agent a while a client holds `job`
// through it, and a client of b waits. The stop frees nothing (R15): b's
// client is granted no earlier than the first client's own deadline, and
// promptly after it, when the voters' lease runs out.
func TestEdgeSIGTERMFailover(t *testing.T) {
	const ttl = 3 * time.Second
	ps := cluster(t, "--ttl", ttl.String())
	a, b := ps["a"], ps["b"]
	g := post("POST", a.http+"/v1/leases/job", `{}`, "")
	if g.code != 200 || g.LeaseKey == "" {
		t.Fatalf("acquire through a: %d %+v", g.code, g.grant)
	}
	deadline := g.deadline()
	w := startWaiter(b.http, "job")
	// The first client renews a few times, as it would while working.
	for range 3 {
		time.Sleep(ttl / 3) // the client's pacing, not a wait for a condition
		k := post("POST", a.http+"/v1/leases/job/keepalive", `{"token":"`+g.TokenStr+`"}`, g.LeaseKey)
		if k.code != 200 {
			t.Fatalf("keepalive: %d %+v", k.code, k.grant)
		}
		if d := k.deadline(); d.After(deadline) {
			deadline = d
		}
	}
	stopped := time.Now()
	a.signal(syscall.SIGTERM)
	// Once the agent says it is stopping (/healthz 503, or gone), a
	// keepalive is refused (503) or finds nobody: never renewed.
	waitFor(t, "agent a to stop serving", func() bool {
		return post("GET", a.http+"/healthz", "", "").code != 200
	}, nil)
	if k := post("POST", a.http+"/v1/leases/job/keepalive", `{"token":"`+g.TokenStr+`"}`, g.LeaseKey); k.code == 200 {
		t.Fatalf("keepalive after the agent began stopping answered 200: %+v", k.grant)
	}
	if code := a.wait(); code != 0 {
		t.Fatalf("agent a after SIGTERM: exit %d, want 0", code)
	}
	late := awaitGrant(t, w, g, deadline, ttl/2+2*time.Second)
	t.Logf("failover after SIGTERM (ttl %v): the waiter was granted %v after the signal, %v after the first client's own deadline (which was %v after the signal)",
		ttl, deadline.Add(late).Sub(stopped).Round(time.Millisecond), late.Round(time.Millisecond), deadline.Sub(stopped).Round(time.Millisecond))
}

// TestEdgeKeepaliveExpiry: a client that stops sending keepalives keeps
// the lease until its own deadline; the agent frees it at the keepalive
// expiry, after that deadline, and a waiter elsewhere gets it promptly.
func TestEdgeKeepaliveExpiry(t *testing.T) {
	ps := cluster(t, "--ttl", "1s")
	a, b := ps["a"], ps["b"]
	g := post("POST", a.http+"/v1/leases/quiet", `{"ttl":"2s"}`, "")
	if g.code != 200 {
		t.Fatalf("acquire through a: %d %+v", g.code, g.grant)
	}
	w := startWaiter(b.http, "quiet")
	time.Sleep(500 * time.Millisecond) // the client works a little, then goes silent
	k := post("POST", a.http+"/v1/leases/quiet/keepalive", `{"token":"`+g.TokenStr+`"}`, g.LeaseKey)
	if k.code != 200 {
		t.Fatalf("keepalive: %d %+v", k.code, k.grant)
	}
	deadline := g.deadline()
	if d := k.deadline(); d.After(deadline) {
		deadline = d
	}
	late := awaitGrant(t, w, g, deadline, 2*time.Second)
	t.Logf("keepalive expiry: the waiter was granted %v after the silent client's own deadline", late.Round(time.Millisecond))
	if k := post("POST", a.http+"/v1/leases/quiet/keepalive", `{"token":"`+g.TokenStr+`"}`, g.LeaseKey); k.code != 410 {
		t.Fatalf("keepalive after the expiry: %d %+v, want 410", k.code, k.grant)
	}
}

// TestEdgeHoldStreamCut: a client cuts its hold stream. The agent frees
// the lease only after the last deadline the stream told, and a waiter
// elsewhere gets it promptly after that.
func TestEdgeHoldStreamCut(t *testing.T) {
	ps := cluster(t, "--ttl", "1s")
	a, b := ps["a"], ps["b"]
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "POST", a.http+"/v1/leases/held", strings.NewReader(`{"ttl":"2s","hold":true}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	sent := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("hold acquire: %v %v", err, resp)
	}
	sc := bufio.NewScanner(resp.Body)
	var first sentGrant
	var told int64
	for i := 0; i < 4 && sc.Scan(); i++ { // "acquired" and a few renewals: longer than a TTL
		var e grant
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("event %q: %v", sc.Text(), err)
		}
		if i == 0 {
			first.grant = e
		}
		told = max(told, e.DeadlineMS)
	}
	if first.Token == 0 || told <= 0 {
		t.Fatalf("stream events: first %+v, largest deadline_ms %d", first.grant, told)
	}
	w := startWaiter(b.http, "held")
	cancel()
	resp.Body.Close()
	deadline := sent.Add(time.Duration(told) * time.Millisecond)
	late := awaitGrant(t, w, first, deadline, 2*time.Second)
	t.Logf("hold stream cut: the waiter was granted %v after the last deadline the stream told", late.Round(time.Millisecond))
}

// TestEdgeThirdPartyToken: the fencing token is public (GET /v1/leases
// lists it), but renewing or releasing needs the lease key only the
// acquirer was given: a third party gets 403, the holder keeps the lease,
// and the token travels as a JSON string.
func TestEdgeThirdPartyToken(t *testing.T) {
	ps := cluster(t, "--ttl", "1s")
	a, c := ps["a"], ps["c"]
	g := post("POST", a.http+"/v1/leases/owned", `{"ttl":"5s"}`, "")
	if g.code != 200 || len(g.LeaseKey) != 32 {
		t.Fatalf("acquire: %d %+v; want a 128-bit lease key", g.code, g.grant)
	}
	var raw struct {
		Leases []map[string]any `json:"leases"`
	}
	if code := call(t, "GET", a.http+"/v1/leases", "", &raw); code != 200 || len(raw.Leases) != 1 {
		t.Fatalf("GET /v1/leases: %d %+v", code, raw)
	}
	listed := raw.Leases[0]
	tok, isString := listed["token"].(string)
	if !isString || tok != g.TokenStr {
		t.Fatalf("listed token %#v: want the string %q", listed["token"], g.TokenStr)
	}
	if _, has := listed["lease_key"]; has {
		t.Fatalf("the listing hands out the lease key: %v", listed)
	}
	for _, key := range []string{"", strings.Repeat("0", 32)} {
		if d := post("DELETE", a.http+"/v1/leases/owned?token="+tok, "", key); d.code != 403 {
			t.Fatalf("third party's DELETE with key %q: %d %+v, want 403", key, d.code, d.grant)
		}
		if k := post("POST", a.http+"/v1/leases/owned/keepalive", `{"token":"`+tok+`"}`, key); k.code != 403 {
			t.Fatalf("third party's keepalive with key %q: %d %+v, want 403", key, k.code, k.grant)
		}
	}
	if r := post("POST", c.http+"/v1/leases/owned", `{}`, ""); r.code != 409 {
		t.Fatalf("acquire through c after the third party's tries: %d %+v, want 409 (still held)", r.code, r.grant)
	}
	if k := post("POST", a.http+"/v1/leases/owned/keepalive", `{"token":"`+tok+`"}`, g.LeaseKey); k.code != 200 || k.Token != g.Token {
		t.Fatalf("the holder's keepalive: %d %+v", k.code, k.grant)
	}
	if d := post("DELETE", a.http+"/v1/leases/owned?token="+tok, "", g.LeaseKey); d.code != 204 {
		t.Fatalf("the holder's DELETE: %d %+v", d.code, d.grant)
	}
	if r := post("POST", c.http+"/v1/leases/owned", `{"wait":"10s"}`, ""); r.code != 200 || r.Token <= g.Token {
		t.Fatalf("acquire through c after the holder's release: %d %+v", r.code, r.grant)
	}
}
