package agent

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestAcquireKeepaliveRelease walks one keepalive-mode tenure through the
// API: grant, holder hint, refusal of a second client, keepalive, release.
func TestAcquireKeepaliveRelease(t *testing.T) {
	f := newFixture(t, "")
	g := f.acquire("job", `{"ttl":"2s","value":"worker-1"}`)
	if g.Name != "job" || g.Token == 0 || g.TokenStr != strconv.FormatUint(g.Token, 10) {
		t.Fatalf("grant %+v: want name job and token_str equal to token", g)
	}
	if g.DeadlineMS <= 0 || g.DeadlineMS > 2000 || time.Duration(g.TTL) != 2*time.Second {
		t.Fatalf("grant %+v: deadline_ms must lie in (0, ttl]", g)
	}

	// R14: anyone may ask who holds it, and is told it is a hint.
	code, b := f.do("GET", "/v1/leases/job", "")
	var h HolderHint
	mustJSON(t, b, &h)
	if code != 200 || h.Node != "a" || h.Token != g.Token || h.Value != "worker-1" || !h.Hint || h.RemainingMS <= 0 {
		t.Fatalf("holder: %d %s", code, b)
	}

	// A second client cannot have it, and learns who has.
	code, b = f.do("POST", "/v1/leases/job", `{}`)
	var e ErrorResponse
	mustJSON(t, b, &e)
	if code != http.StatusConflict || e.Error != "held" || e.Holder == nil || e.Holder.Token != g.Token {
		t.Fatalf("second acquire: %d %s, want 409 held naming token %d", code, b, g.Token)
	}
	// Waiting runs out the same way.
	if code, b = f.do("POST", "/v1/leases/job", `{"wait":"200ms"}`); code != http.StatusConflict {
		t.Fatalf("acquire with a wait that runs out: %d %s", code, b)
	}

	code, b = f.do("POST", "/v1/leases/job/keepalive", `{"token":`+g.TokenStr+`}`)
	var k Grant
	mustJSON(t, b, &k)
	if code != 200 || k.Token != g.Token || k.DeadlineMS <= 0 {
		t.Fatalf("keepalive: %d %s", code, b)
	}
	if ls := f.leases(); len(ls) != 1 || ls[0].Mode != "keepalive" || ls[0].Token != g.Token {
		t.Fatalf("leases: %+v", ls)
	}

	if code, b = f.do("DELETE", "/v1/leases/job?token="+g.TokenStr, ""); code != http.StatusNoContent {
		t.Fatalf("release: %d %s", code, b)
	}
	if code, b = f.do("DELETE", "/v1/leases/job?token="+g.TokenStr, ""); code != http.StatusGone {
		t.Fatalf("second release: %d %s, want 410", code, b)
	}
	if code, b = f.do("POST", "/v1/leases/job/keepalive", `{"token":`+g.TokenStr+`}`); code != http.StatusGone {
		t.Fatalf("keepalive after release: %d %s, want 410", code, b)
	}
	f.eventually("the voters to forget the holder", func() bool {
		code, _ := f.do("GET", "/v1/leases/job", "")
		return code == http.StatusNotFound
	})
	// R12: the next tenure has a higher token.
	if g2 := f.acquire("job", `{}`); g2.Token <= g.Token {
		t.Fatalf("next token %d not above %d", g2.Token, g.Token)
	}
	if v := f.metric(`tenure_releases_total{reason="client"}`); v != 1 {
		t.Fatalf("releases by client = %v, want 1", v)
	}
	if v := f.metric(`tenure_acquisitions_total{outcome="granted"}`); v != 2 {
		t.Fatalf("granted acquisitions = %v, want 2", v)
	}
}

// TestKeepaliveTimeout checks that a client that stops sending keepalives
// loses the lease after a TTL, and that its keepalive then gets 410.
func TestKeepaliveTimeout(t *testing.T) {
	f := newFixture(t, "")
	g := f.acquire("quiet", `{"ttl":"200ms"}`)
	f.eventually("the agent to release the silent client's lease", func() bool { return len(f.leases()) == 0 })
	if code, b := f.do("POST", "/v1/leases/quiet/keepalive", `{"token":`+g.TokenStr+`}`); code != http.StatusGone {
		t.Fatalf("late keepalive: %d %s, want 410", code, b)
	}
	if v := f.metric(`tenure_releases_total{reason="keepalive_timeout"}`); v != 1 {
		t.Fatalf("keepalive_timeout releases = %v, want 1", v)
	}
}

// TestKeepaliveKeepsLease checks that keepalives inside the TTL keep a
// short lease across several TTLs.
func TestKeepaliveKeepsLease(t *testing.T) {
	f := newFixture(t, "")
	g := f.acquire("busy", `{"ttl":"300ms"}`)
	start := time.Now()
	for time.Since(start) < time.Second {
		sent := time.Now()
		code, b := f.do("POST", "/v1/leases/busy/keepalive", `{"token":`+g.TokenStr+`}`)
		if code != 200 {
			t.Fatalf("keepalive after %v: %d %s", time.Since(start), code, b)
		}
		var k Grant
		mustJSON(t, b, &k)
		// The client's own deadline, from when it sent the request.
		mine := sent.Add(time.Duration(k.DeadlineMS) * time.Millisecond)
		time.Sleep(time.Until(mine) / 3) // a client's keepalive pacing, not a wait for a condition
	}
	if ls := f.leases(); len(ls) != 1 || ls[0].Token != g.Token {
		t.Fatalf("after keepalives: %+v, want the same tenure", ls)
	}
}

// TestWaitForRelease checks that a waiting acquire gets the lease when
// the holder releases it, with a higher token.
func TestWaitForRelease(t *testing.T) {
	f := newFixture(t, "")
	g := f.acquire("queue", `{}`)
	got := make(chan Grant, 1)
	go func() {
		req, _ := http.NewRequest("POST", f.srv.URL+"/v1/leases/queue", strings.NewReader(`{"wait":"20s"}`))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			close(got)
			return
		}
		defer resp.Body.Close()
		var g2 Grant
		if resp.StatusCode != 200 || json.NewDecoder(resp.Body).Decode(&g2) != nil {
			close(got)
			return
		}
		got <- g2
	}()
	f.eventually("the waiter to queue", func() bool { return f.node.Stats().Pending == 1 })
	if code, b := f.do("DELETE", "/v1/leases/queue?token="+g.TokenStr, ""); code != 204 {
		t.Fatalf("release: %d %s", code, b)
	}
	g2, ok := <-got
	if !ok || g2.Token <= g.Token {
		t.Fatalf("waiter got %+v (ok %v), want a token above %d", g2, ok, g.Token)
	}
}

// TestHoldStream checks hold mode: events while the tenure lasts, release
// when the client hangs up, and "released" when another request releases
// it.
func TestHoldStream(t *testing.T) {
	f := newFixture(t, "")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	open := func(ctx context.Context) (*http.Response, *bufio.Scanner) {
		req, _ := http.NewRequestWithContext(ctx, "POST", f.srv.URL+"/v1/leases/stream", strings.NewReader(`{"ttl":"200ms","hold":true}`))
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("hold acquire: %v %v", err, resp)
		}
		return resp, bufio.NewScanner(resp.Body)
	}
	next := func(sc *bufio.Scanner) Grant {
		t.Helper()
		if !sc.Scan() {
			t.Fatalf("stream ended: %v", sc.Err())
		}
		var g Grant
		mustJSON(t, sc.Bytes(), &g)
		return g
	}
	resp, sc := open(ctx)
	g := next(sc)
	if g.Event != "acquired" || g.Token == 0 || g.DeadlineMS <= 0 {
		t.Fatalf("first event %+v", g)
	}
	// Renewals are reported for longer than a TTL.
	for range 6 {
		if e := next(sc); e.Event != "renewed" || e.Token != g.Token || e.DeadlineMS <= 0 {
			t.Fatalf("event %+v, want renewed", e)
		}
	}
	if ls := f.leases(); len(ls) != 1 || ls[0].Mode != "hold" {
		t.Fatalf("leases: %+v", ls)
	}
	// Keepalive is refused: the stream keeps this lease.
	if code, _ := f.do("POST", "/v1/leases/stream/keepalive", `{"token":`+g.TokenStr+`}`); code != 409 {
		t.Fatalf("keepalive of a hold lease: %d, want 409", code)
	}
	cancel()
	resp.Body.Close()
	f.eventually("the hang-up to release the lease", func() bool { return len(f.leases()) == 0 })
	if v := f.metric(`tenure_releases_total{reason="disconnect"}`); v != 1 {
		t.Fatalf("disconnect releases = %v, want 1", v)
	}

	// A DELETE ends the stream with "released".
	resp, sc = open(context.Background())
	defer resp.Body.Close()
	g = next(sc)
	if code, b := f.do("DELETE", "/v1/leases/stream?token="+g.TokenStr, ""); code != 204 {
		t.Fatalf("release: %d %s", code, b)
	}
	for {
		e := next(sc)
		if e.Event == "renewed" {
			continue
		}
		if e.Event != "released" || e.Token != g.Token {
			t.Fatalf("last event %+v, want released", e)
		}
		break
	}
	if sc.Scan() {
		t.Fatalf("stream goes on after released: %s", sc.Text())
	}
}

// TestCloseReleases checks that Close releases every lease held through
// the agent, ends waiting acquires, and turns /healthz to 503.
func TestCloseReleases(t *testing.T) {
	f := newFixture(t, "")
	f.acquire("one", `{}`)
	f.acquire("two", `{"ttl":"3s"}`)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := f.agent.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if ls := f.leases(); len(ls) != 0 || f.node.Stats().Held != 0 {
		t.Fatalf("after Close: leases %+v, node holds %d", ls, f.node.Stats().Held)
	}
	if code, _ := f.do("GET", "/healthz", ""); code != 503 {
		t.Fatalf("/healthz after Close: %d, want 503", code)
	}
	if code, _ := f.do("POST", "/v1/leases/three", `{}`); code != 503 {
		t.Fatalf("acquire after Close: %d, want 503", code)
	}
	if v := f.metric(`tenure_releases_total{reason="shutdown"}`); v != 2 {
		t.Fatalf("shutdown releases = %v, want 2", v)
	}
}

// TestMembersAndMetrics checks the members report and that /metrics
// carries the documented series.
func TestMembersAndMetrics(t *testing.T) {
	f := newFixture(t, "")
	f.acquire("m", `{}`)
	code, b := f.do("GET", "/v1/members", "")
	var m Members
	mustJSON(t, b, &m)
	if code != 200 || m.Self != "a" || len(m.Members) != 1 || !m.Members[0].Voter || !m.Members[0].Alive ||
		m.Quorum != (Quorum{Voters: 1, Alive: 1, Majority: true}) {
		t.Fatalf("members: %d %s", code, b)
	}
	_, b = f.do("GET", "/metrics", "")
	for _, name := range []string{
		"tenure_leases_held 1", "tenure_agent_leases{mode=\"keepalive\"} 1", "tenure_acquisitions_total",
		"tenure_acquire_duration_seconds_bucket", "tenure_releases_total", "tenure_losses_total",
		"tenure_datagrams_sent_total", "tenure_datagrams_received_total", "tenure_datagrams_dropped_total",
		"tenure_members_alive 1", "tenure_voters_alive 1", "tenure_voter_majority 1", "tenure_era",
		`tenure_messages_sent_total{type="prepare"}`, `tenure_messages_received_total{type="accepted"}`,
		`tenure_rounds_total{kind="acquire"} 1`, `tenure_rounds_lost_total{cause="contended"} 0`,
		"tenure_quarantined 0", "tenure_quarantine_remaining_seconds 0",
	} {
		if !strings.Contains(string(b), name) {
			t.Errorf("/metrics lacks %q", name)
		}
	}
	for _, line := range strings.Split(string(b), "\n") {
		if line != "" && !strings.HasPrefix(line, "#") && !strings.HasPrefix(line, "tenure_") {
			t.Errorf("metric outside the tenure_ namespace: %s", line)
		}
	}
}
