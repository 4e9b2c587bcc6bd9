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

	"github.com/tenure-dev/tenure/api"
	"github.com/tenure-dev/tenure/node"
)

// TestAcquireKeepaliveRelease walks one keepalive-mode tenure through the
// API: grant, holder hint, refusal of a second client, keepalive, release.
func TestAcquireKeepaliveRelease(t *testing.T) {
	f := newFixture(t, "")
	g, sent := f.acquireSent("job", `{"ttl":"2s","value":"worker-1"}`)
	took := time.Since(sent)
	if g.Name != "job" || g.Token == 0 || g.TokenStr != strconv.FormatUint(g.Token, 10) {
		t.Fatalf("grant %+v: want name job and token_str equal to token", g)
	}
	// deadline_ms counts from the receipt of the request (R16): at most
	// the TTL plus the time the acquire took.
	if g.DeadlineMS <= 0 || time.Duration(g.DeadlineMS)*time.Millisecond > 2*time.Second+took || time.Duration(g.TTL) != 2*time.Second {
		t.Fatalf("grant %+v after %v: deadline_ms must lie in (0, ttl + %v]", g, took, took)
	}

	// R14: anyone may ask who holds it, and is told it is a hint.
	code, b := f.do("GET", "/v1/leases/job", "")
	var h api.HolderHint
	mustJSON(t, b, &h)
	if code != 200 || h.Node != "a" || h.Token != g.Token || h.Value != "worker-1" || !h.Hint || h.RemainingMS <= 0 {
		t.Fatalf("holder: %d %s", code, b)
	}

	// A second client cannot have it, and learns who has.
	code, b = f.do("POST", "/v1/leases/job", `{}`)
	var e api.ErrorResponse
	mustJSON(t, b, &e)
	if code != http.StatusConflict || e.Error != "held" || e.Holder == nil || e.Holder.Token != g.Token {
		t.Fatalf("second acquire: %d %s, want 409 held naming token %d", code, b, g.Token)
	}
	// Waiting runs out the same way.
	if code, b = f.do("POST", "/v1/leases/job", `{"wait":"200ms"}`); code != http.StatusConflict {
		t.Fatalf("acquire with a wait that runs out: %d %s", code, b)
	}

	code, b = f.doKey("POST", "/v1/leases/job/keepalive", `{"token":"`+g.TokenStr+`"}`, g.LeaseKey)
	var k api.Grant
	mustJSON(t, b, &k)
	if code != 200 || k.Token != g.Token || k.DeadlineMS <= 0 || k.LeaseKey != "" {
		t.Fatalf("keepalive: %d %s (want no lease_key in it)", code, b)
	}
	// The key may come in the body instead of the header.
	if code, b = f.do("POST", "/v1/leases/job/keepalive", `{"token":"`+g.TokenStr+`","lease_key":"`+g.LeaseKey+`"}`); code != 200 {
		t.Fatalf("keepalive with the key in the body: %d %s", code, b)
	}
	if ls := f.leases(); len(ls) != 1 || ls[0].Mode != "keepalive" || ls[0].Token != g.Token || ls[0].LeaseKey != "" {
		t.Fatalf("leases: %+v", ls)
	}

	if code, b = f.doKey("DELETE", "/v1/leases/job?token="+g.TokenStr, "", g.LeaseKey); code != http.StatusNoContent {
		t.Fatalf("release: %d %s", code, b)
	}
	if code, b = f.doKey("DELETE", "/v1/leases/job?token="+g.TokenStr, "", g.LeaseKey); code != http.StatusGone {
		t.Fatalf("second release: %d %s, want 410", code, b)
	}
	if code, b = f.doKey("POST", "/v1/leases/job/keepalive", `{"token":"`+g.TokenStr+`"}`, g.LeaseKey); code != http.StatusGone {
		t.Fatalf("keepalive after release: %d %s, want 410", code, b)
	}
	f.eventually("the voters to forget the holder", func() bool {
		code, _ := f.do("GET", "/v1/leases/job", "")
		return code == http.StatusNotFound
	})
	// R12: the next tenure has a higher token.
	if g2 := f.acquire("job", `{}`); g2.Token <= g.Token || g2.LeaseKey == g.LeaseKey {
		t.Fatalf("next tenure: token %d (want above %d), lease key %q (want a new one)", g2.Token, g.Token, g2.LeaseKey)
	}
	// The agent counts a release when its watcher sees the tenure end,
	// just after the DELETE was answered.
	f.eventually("the client's release to be counted", func() bool {
		return f.metric(`tenure_releases_total{reason="client"}`) == 1
	})
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
	if code, b := f.doKey("POST", "/v1/leases/quiet/keepalive", `{"token":"`+g.TokenStr+`"}`, g.LeaseKey); code != http.StatusGone {
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
		code, b := f.doKey("POST", "/v1/leases/busy/keepalive", `{"token":"`+g.TokenStr+`"}`, g.LeaseKey)
		if code != 200 {
			t.Fatalf("keepalive after %v: %d %s", time.Since(start), code, b)
		}
		var k api.Grant
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
// the holder releases it, with a higher token, and that the wait does not
// eat into the waiter's deadline: deadline_ms counts from the receipt of
// its request (R16), so the send time plus deadline_ms still leaves about
// a TTL after the answer.
func TestWaitForRelease(t *testing.T) {
	f := newFixture(t, "")
	g := f.acquire("queue", `{}`)
	type answer struct {
		g        api.Grant
		sent, at time.Time
	}
	got := make(chan answer, 1)
	go func() {
		req, _ := http.NewRequest("POST", f.srv.URL+"/v1/leases/queue", strings.NewReader(`{"wait":"20s"}`))
		req.Header.Set("Content-Type", "application/json")
		sent := time.Now()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			close(got)
			return
		}
		defer resp.Body.Close()
		var g2 api.Grant
		if resp.StatusCode != 200 || json.NewDecoder(resp.Body).Decode(&g2) != nil {
			close(got)
			return
		}
		got <- answer{g2, sent, time.Now()}
	}()
	f.eventually("the waiter to queue", func() bool { return f.node.Stats().Pending == 1 })
	// The waiter waits for longer than a TTL (keepalives keep the holder).
	for range 3 {
		if code, b := f.doKey("POST", "/v1/leases/queue/keepalive", `{"token":"`+g.TokenStr+`"}`, g.LeaseKey); code != 200 {
			t.Fatalf("keepalive: %d %s", code, b)
		}
		time.Sleep(testTTL / 2) // the holder's work between keepalives, not a wait for a condition
	}
	if code, b := f.doKey("DELETE", "/v1/leases/queue?token="+g.TokenStr, "", g.LeaseKey); code != 204 {
		t.Fatalf("release: %d %s", code, b)
	}
	a, ok := <-got
	if !ok || a.g.Token <= g.Token {
		t.Fatalf("waiter got %+v (ok %v), want a token above %d", a.g, ok, g.Token)
	}
	waited := a.at.Sub(a.sent)
	if left := a.sent.Add(time.Duration(a.g.DeadlineMS) * time.Millisecond).Sub(a.at); waited < testTTL || left < testTTL/2 {
		t.Fatalf("after waiting %v the waiter's own deadline is %v away; want at least half the TTL %v", waited, left, testTTL)
	}
}

// TestHoldStream checks hold mode: events while the tenure lasts, the
// lease freed after a hang-up only once the last deadline the stream told
// has passed (R15, R16), and "released" when the holder's DELETE ends it.
func TestHoldStream(t *testing.T) {
	const drift = 0.05 // large, so that a deadline that is not scaled shows
	f := newFixtureWith(t, "", node.Config{DataDir: t.TempDir(), MaxDrift: drift})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	open := func(ctx context.Context) (*http.Response, *bufio.Scanner, time.Time) {
		req, _ := http.NewRequestWithContext(ctx, "POST", f.srv.URL+"/v1/leases/stream", strings.NewReader(`{"ttl":"300ms","hold":true}`))
		req.Header.Set("Content-Type", "application/json")
		sent := time.Now()
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("hold acquire: %v %v", err, resp)
		}
		return resp, bufio.NewScanner(resp.Body), sent
	}
	next := func(sc *bufio.Scanner) api.Grant {
		t.Helper()
		if !sc.Scan() {
			t.Fatalf("stream ended: %v", sc.Err())
		}
		var g api.Grant
		mustJSON(t, sc.Bytes(), &g)
		return g
	}
	resp, sc, sent := open(ctx)
	g := next(sc)
	if g.Event != "acquired" || g.Token == 0 || g.DeadlineMS <= 0 || len(g.LeaseKey) != 2*leaseKeyBytes {
		t.Fatalf("first event %+v", g)
	}
	h := f.held("stream")
	// Renewals are reported for longer than a TTL; each deadline counts
	// from the stream's request.
	told := g.DeadlineMS
	for range 6 {
		e := next(sc)
		if e.Event != "renewed" || e.Token != g.Token || e.DeadlineMS <= 0 || e.LeaseKey != "" {
			t.Fatalf("event %+v, want renewed without the lease key", e)
		}
		told = max(told, e.DeadlineMS)
	}
	if ls := f.leases(); len(ls) != 1 || ls[0].Mode != "hold" || ls[0].LeaseKey != "" {
		t.Fatalf("leases: %+v", ls)
	}
	// Keepalive is refused: the stream keeps this lease.
	if code, _ := f.doKey("POST", "/v1/leases/stream/keepalive", `{"token":"`+g.TokenStr+`"}`, g.LeaseKey); code != 409 {
		t.Fatalf("keepalive of a hold lease: %d, want 409", code)
	}
	// The client hangs up. Its deadline, for a clock running 1-ε slow, is
	// the send time plus the largest deadline_ms read, stretched by 1/(1-ε):
	// the lease must outlive it.
	cancel()
	resp.Body.Close()
	mine := sent.Add(time.Duration(float64(told) / (1 - drift) * float64(time.Millisecond)))
	select {
	case <-h.lease.Done():
	case <-time.After(20 * time.Second):
		t.Fatal("the lease of the hung-up stream was never freed")
	}
	if ended := time.Now(); ended.Before(mine) {
		t.Fatalf("the hang-up freed the lease %v before the client's own deadline", mine.Sub(ended))
	}
	f.eventually("the agent to forget the stream's lease", func() bool { return len(f.leases()) == 0 })
	if v := f.metric(`tenure_releases_total{reason="disconnect"}`); v != 1 {
		t.Fatalf("disconnect releases = %v, want 1", v)
	}

	// The holder's DELETE ends the stream with "released".
	resp, sc, _ = open(context.Background())
	defer resp.Body.Close()
	g = next(sc)
	if code, b := f.do("DELETE", "/v1/leases/stream?token="+g.TokenStr, ""); code != 403 {
		t.Fatalf("release without the lease key: %d %s, want 403", code, b)
	}
	if code, b := f.doKey("DELETE", "/v1/leases/stream?token="+g.TokenStr, "", g.LeaseKey); code != 204 {
		t.Fatalf("release: %d %s", code, b)
	}
	for {
		e := next(sc)
		if e.Event == "renewed" {
			continue
		}
		if e.Event != "released" || e.Token != g.Token || e.DeadlineMS != 0 {
			t.Fatalf("last event %+v, want released", e)
		}
		break
	}
	if sc.Scan() {
		t.Fatalf("stream goes on after released: %s", sc.Text())
	}
}

// TestCloseAbandons checks that Close frees no lease a client holds
// (R15): the tenures stay held, keepalive and DELETE answer 503, a hold
// stream ends with "stopping" repeating its last deadline, acquires are
// refused and /healthz turns to 503. node.Leave (the fixture's cleanup)
// then abandons them.
func TestCloseAbandons(t *testing.T) {
	f := newFixture(t, "")
	one := f.acquire("one", `{"ttl":"5s"}`)
	f.acquire("two", `{"ttl":"5s"}`)
	req, _ := http.NewRequest("POST", f.srv.URL+"/v1/leases/three", strings.NewReader(`{"ttl":"5s","hold":true}`))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("hold acquire: %v %v", err, resp)
	}
	defer resp.Body.Close()
	events := make(chan api.Grant, 64)
	go func() {
		defer close(events)
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			var g api.Grant
			if json.Unmarshal(sc.Bytes(), &g) == nil {
				events <- g
			}
		}
	}()
	first, ok := <-events
	if !ok || first.Event != "acquired" {
		t.Fatalf("first event %+v", first)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := f.agent.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	last, stop := first, api.Grant{}
	for e := range events {
		if e.Event == "stopping" {
			stop = e
			continue
		}
		if stop.Event != "" {
			t.Fatalf("event %+v after stopping", e)
		}
		last = e
	}
	if stop.Event != "stopping" || stop.DeadlineMS != last.DeadlineMS || stop.DeadlineMS <= 0 {
		t.Fatalf("the stream ended with %+v after %+v; want stopping with the last deadline_ms", stop, last)
	}
	if ls := f.leases(); len(ls) != 3 || f.node.Stats().Held != 3 {
		t.Fatalf("after Close: leases %+v, node holds %d; want all three still held", ls, f.node.Stats().Held)
	}
	if code, b := f.doKey("POST", "/v1/leases/one/keepalive", `{"token":"`+one.TokenStr+`"}`, one.LeaseKey); code != 503 || !strings.Contains(string(b), "stopping") {
		t.Fatalf("keepalive after Close: %d %s, want 503", code, b)
	}
	if code, b := f.doKey("DELETE", "/v1/leases/one?token="+one.TokenStr, "", one.LeaseKey); code != 503 {
		t.Fatalf("DELETE after Close: %d %s, want 503", code, b)
	}
	if code, _ := f.do("GET", "/healthz", ""); code != 503 {
		t.Fatalf("/healthz after Close: %d, want 503", code)
	}
	if code, _ := f.do("POST", "/v1/leases/four", `{}`); code != 503 {
		t.Fatalf("acquire after Close: %d, want 503", code)
	}
	if f.node.Stats().Held != 3 {
		t.Fatalf("the node holds %d tenures after the refused calls, want 3", f.node.Stats().Held)
	}
	for _, r := range []string{reasonClient, reasonShutdown, reasonKeepalive, reasonHangup} {
		if v := f.metric(`tenure_releases_total{reason="` + r + `"}`); v != 0 {
			t.Fatalf("releases with reason %s = %v, want 0", r, v)
		}
	}
}

// TestMembersAndMetrics checks the members report and that /metrics
// carries the documented series.
func TestMembersAndMetrics(t *testing.T) {
	f := newFixture(t, "")
	f.acquire("m", `{}`)
	code, b := f.do("GET", "/v1/members", "")
	var m api.Members
	mustJSON(t, b, &m)
	if code != 200 || m.Self != "a" || len(m.Members) != 1 || !m.Members[0].Voter || !m.Members[0].Alive ||
		m.Quorum != (api.Quorum{Voters: 1, Alive: 1, Majority: true}) {
		t.Fatalf("members: %d %s", code, b)
	}
	if m.Node.Cluster != "tenure" || m.Node.Voters != "a" || m.Node.Verifying || m.Node.MismatchedMembers != 0 {
		t.Fatalf("members: node state %+v", m.Node)
	}
	// The node copies the protocol's counters after each step, and may
	// still be at it when the acquire's answer has gone out: read until
	// the round shows (it must, within the deadline).
	f.eventually("the acquire round in /metrics", func() bool {
		_, b = f.do("GET", "/metrics", "")
		return strings.Contains(string(b), `tenure_rounds_total{kind="acquire"} 1`)
	})
	for _, name := range []string{
		"tenure_leases_held 1", "tenure_agent_leases{mode=\"keepalive\"} 1", "tenure_acquisitions_total",
		"tenure_acquire_duration_seconds_bucket", "tenure_releases_total", "tenure_losses_total",
		"tenure_datagrams_sent_total", "tenure_datagrams_received_total", "tenure_datagrams_dropped_total",
		"tenure_members_alive 1", "tenure_voters_alive 1", "tenure_voter_majority 1", "tenure_era",
		`tenure_messages_sent_total{type="prepare"}`, `tenure_messages_received_total{type="accepted"}`,
		`tenure_rounds_total{kind="acquire"} 1`, `tenure_rounds_lost_total{cause="contended"} 0`,
		"tenure_quarantined 0", "tenure_quarantine_remaining_seconds 0",
		"tenure_members_mismatched 0", "tenure_duplicate_names_total 0", "tenure_start_verifying 0", "tenure_start_stale 0",
	} {
		if !strings.Contains(string(b), name) {
			t.Errorf("/metrics lacks %q", name)
		}
	}
	for _, line := range strings.Split(string(b), "\n") {
		// go_ and process_: the Go runtime's and the process's collectors.
		if line != "" && !strings.HasPrefix(line, "#") && !strings.HasPrefix(line, "tenure_") && !strings.HasPrefix(line, "go_") && !strings.HasPrefix(line, "process_") {
			t.Errorf("metric outside the tenure_, go_ and process_ namespaces: %s", line)
		}
	}
}
