package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Review of the single holder at the user's edge: cases the Edge tests do
// not reach. Each asserts that no client is granted a lease before the
// previous client's own deadline (its send time plus the deadline_ms of
// its answers, R16), whatever happens to the processes around it.

// reviewEvent is one event of a hold stream.
type reviewEvent struct {
	Event      string    `json:"event"`
	Token      uint64    `json:"token,string"`
	TokenStr   string    `json:"token_str"`
	DeadlineMS int64     `json:"deadline_ms"`
	Error      string    `json:"error"`
	at         time.Time // when the client read it
}

// reviewStream is a hold-mode client: it sends one acquire with
// "hold":true and reads its events until the stream ends.
type reviewStream struct {
	sent   time.Time
	events chan reviewEvent // closed when the stream ends
	cancel context.CancelFunc
}

// openHold starts a hold-mode acquire of name through url and waits for
// its "acquired" event, which it returns; the later events arrive on
// s.events.
func openHold(t *testing.T, url, name, body string) (*reviewStream, reviewEvent) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, err := http.NewRequestWithContext(ctx, "POST", url+"/v1/leases/"+name, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	s := &reviewStream{events: make(chan reviewEvent, 1024), cancel: cancel}
	s.sent = time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("hold acquire of %s: %v %v", name, err, resp)
	}
	go func() {
		defer close(s.events)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			var e reviewEvent
			if json.Unmarshal(sc.Bytes(), &e) == nil {
				e.at = time.Now()
				s.events <- e
			}
		}
	}()
	select {
	case e, ok := <-s.events:
		if !ok || e.Event != "acquired" || e.Token == 0 || e.DeadlineMS <= 0 {
			t.Fatalf("first event of the hold stream of %s: %+v (open %v)", name, e, ok)
		}
		return s, e
	case <-time.After(generous):
		t.Fatalf("no acquired event on the hold stream of %s", name)
	}
	return nil, reviewEvent{}
}

// drain reads the stream to its end and returns the client's own deadline
// (send time plus the largest deadline_ms) and every event after the first.
func (s *reviewStream) drain(t *testing.T, first reviewEvent) (time.Time, []reviewEvent) {
	t.Helper()
	told := first.DeadlineMS
	var rest []reviewEvent
	end := time.After(generous + 10*time.Second)
	for {
		select {
		case e, ok := <-s.events:
			if !ok {
				return s.sent.Add(time.Duration(told) * time.Millisecond), rest
			}
			rest = append(rest, e)
			told = max(told, e.DeadlineMS)
		case <-end:
			t.Fatalf("the hold stream did not end; events so far: %+v", rest)
		}
	}
}

// TestReviewEdgeVotersPausedCapsDeadlines: both other voters stop (SIGSTOP)
// while a client holds a lease through agent a in keepalive mode and
// another in hold mode. The client keeps sending keepalives: a's keepalive
// expiry keeps moving, but its node can no longer renew, so every answer
// must be capped by the node's own deadline (R16: "no later than the
// keepalive expiry" and the node's deadline) and, once that deadline is
// past, refused (410). When the voters come back, a waiter elsewhere is
// granted each lease no earlier than the client's own deadline.
func TestReviewEdgeVotersPausedCapsDeadlines(t *testing.T) {
	const ttl = 2 * time.Second
	ps := cluster(t, "--ttl", ttl.String())
	a, b, c := ps["a"], ps["b"], ps["c"]
	g := post("POST", a.http+"/v1/leases/capped", `{}`, "")
	if g.code != 200 || g.LeaseKey == "" {
		t.Fatalf("acquire through a: %d %+v", g.code, g.grant)
	}
	s, first := openHold(t, a.http, "streamed", `{"hold":true}`)

	b.signal(syscall.SIGSTOP)
	c.signal(syscall.SIGSTOP)
	resumed := false
	resume := func() {
		if !resumed {
			resumed = true
			b.signal(syscall.SIGCONT)
			c.signal(syscall.SIGCONT)
		}
	}
	t.Cleanup(resume)

	// The client renews as it would while working, until the agent says
	// the tenure is over.
	deadline, renewed := g.deadline(), 0
	var last sentGrant
	for giveUp := time.Now().Add(generous); ; {
		if time.Now().After(giveUp) {
			t.Fatalf("keepalives through a were still answered 200 %v after its node lost the voters (%d renewals)", generous, renewed)
		}
		time.Sleep(ttl / 8) // the client's pacing, not a wait for a condition
		last = post("POST", a.http+"/v1/leases/capped/keepalive", `{"token":"`+g.TokenStr+`"}`, g.LeaseKey)
		if last.code != 200 {
			break
		}
		renewed++
		if d := last.deadline(); d.After(deadline) {
			deadline = d
		}
	}
	if last.code != 410 {
		t.Fatalf("keepalive after a's node lost its deadline: %d %+v, want 410", last.code, last.grant)
	}
	if renewed == 0 {
		t.Fatalf("no keepalive was answered 200 while the voters were stopped: the case is vacuous")
	}
	// The 410 comes once a's node has given the tenure up, which it does
	// at its own deadline (less the lease's timer lead, a fraction of the
	// margin): a client deadline much later than that answer was not
	// capped by the node's deadline, and under a partition (the voters
	// running on, the renewals lost) the next holder would come before it.
	// Slack: a tenth of the TTL, far more than the lead.
	if over := deadline.Sub(last.at); over > ttl/10 {
		t.Fatalf("the client's own deadline is %v after the agent answered 410: keepalive answers were not capped by the node's deadline", over)
	}
	// The hold stream ends by itself when the node's tenure ends, and told
	// no deadline past the node's either.
	streamDeadline, rest := s.drain(t, first)
	n := len(rest)
	if n == 0 || rest[n-1].Event != "lost" {
		t.Fatalf("hold stream events after acquired: %+v; want it to end with lost", rest)
	}
	if over := streamDeadline.Sub(rest[n-1].at); over > ttl/10 {
		t.Fatalf("the stream client's own deadline is %v after its lost event", over)
	}

	resume()
	wk := startWaiter(b.http, "capped")
	ws := startWaiter(b.http, "streamed")
	late := awaitGrant(t, wk, g, deadline, 10*time.Second)
	lateS := awaitGrant(t, ws, sentGrant{grant: grant{Token: first.Token}}, streamDeadline, 10*time.Second)
	t.Logf("voters paused: %d keepalives answered 200 after the pause; waiters granted %v and %v after the clients' own deadlines",
		renewed, late.Round(time.Millisecond), lateS.Round(time.Millisecond))
}

// TestReviewEdgeHoldStreamSIGTERM: SIGTERM of agent a while a client holds
// a lease through a hold stream, and a client of b waits. The stream ends
// with a "stopping" event that repeats the last deadline it told and
// grants nothing more; the agent frees nothing (R15): the waiter is
// granted no earlier than the stream client's own deadline.
func TestReviewEdgeHoldStreamSIGTERM(t *testing.T) {
	const ttl = 3 * time.Second
	ps := cluster(t, "--ttl", ttl.String())
	a, b := ps["a"], ps["b"]
	s, first := openHold(t, a.http, "streamed", `{"hold":true}`)
	// A renewal or two, so that the last deadline told is not the first.
	var before []reviewEvent
	for len(before) < 2 {
		select {
		case e, ok := <-s.events:
			if !ok || e.Event != "renewed" {
				t.Fatalf("hold stream event %+v (open %v); want renewed", e, ok)
			}
			before = append(before, e)
		case <-time.After(generous):
			t.Fatalf("no renewed event on the hold stream")
		}
	}
	told := first.DeadlineMS
	for _, e := range before {
		told = max(told, e.DeadlineMS)
	}
	w := startWaiter(b.http, "streamed")
	stopped := time.Now()
	a.signal(syscall.SIGTERM)
	deadline, rest := s.drain(t, reviewEvent{DeadlineMS: told})
	var stop *reviewEvent
	for i, e := range rest {
		switch {
		case e.Event == "stopping":
			stop = &rest[i]
		case stop != nil:
			t.Fatalf("event %+v after stopping", e)
		}
	}
	if stop == nil {
		t.Fatalf("the hold stream ended without a stopping event: %+v", rest)
	}
	if stop.DeadlineMS <= 0 || stop.DeadlineMS > deadline.Sub(s.sent).Milliseconds() {
		t.Fatalf("stopping event %+v: want the last deadline_ms told (%v)", *stop, deadline.Sub(s.sent))
	}
	if code := a.wait(); code != 0 {
		t.Fatalf("agent a after SIGTERM: exit %d, want 0", code)
	}
	late := awaitGrant(t, w, sentGrant{grant: grant{Token: first.Token}}, deadline, ttl/2+2*time.Second)
	t.Logf("hold stream, agent SIGTERM (ttl %v): the waiter was granted %v after the stream client's own deadline, %v after the signal",
		ttl, late.Round(time.Millisecond), deadline.Add(late).Sub(stopped).Round(time.Millisecond))
}

// TestReviewEdgeCleanRestartSameNode: agent a stops cleanly (SIGTERM) and
// is started again at once on its data dir, under the same node name,
// while one client holds a lease through it in keepalive mode and another
// through a hold stream. The new incarnation's node is the owner the
// voters still record for both leases, yet it must not take them back
// for a new client before the old clients' own deadlines (R5, R7, R15,
// R20); the old client's keepalive and DELETE to it are refused (410);
// afterwards the leases are granted through it again with higher tokens.
func TestReviewEdgeCleanRestartSameNode(t *testing.T) {
	const ttl = 4 * time.Second
	flags := []string{"--ttl", ttl.String()}
	ps := cluster(t, flags...)
	a, b := ps["a"], ps["b"]
	voters := []string{"a", "b", "c"}
	g := post("POST", a.http+"/v1/leases/kept", `{}`, "")
	if g.code != 200 || g.LeaseKey == "" {
		t.Fatalf("acquire through a: %d %+v", g.code, g.grant)
	}
	s, first := openHold(t, a.http, "streamed", `{"hold":true}`)
	a.signal(syscall.SIGTERM)
	streamDeadline, rest := s.drain(t, first)
	if n := len(rest); n == 0 || rest[n-1].Event != "stopping" {
		t.Fatalf("hold stream events after acquired: %+v; want it to end with stopping", rest)
	}
	if code := a.wait(); code != 0 {
		t.Fatalf("agent a after SIGTERM: exit %d, want 0", code)
	}
	a2 := restartOn(t, a, voters, b.gossip, a.dataDir, flags...)
	if !strings.Contains(readLog(t, a2), "start=clean") {
		t.Fatalf("a's restart was not a clean start (the case this test is about)")
	}
	if k := post("POST", a2.http+"/v1/leases/kept/keepalive", `{"token":"`+g.TokenStr+`"}`, g.LeaseKey); k.code != 410 {
		t.Fatalf("the old client's keepalive to the restarted agent: %d %+v, want 410", k.code, k.grant)
	}
	// Nor can the old client's DELETE free it through the new incarnation:
	// the voters' lease belongs to the old one, whose lease key is gone.
	if d := post("DELETE", a2.http+"/v1/leases/kept?token="+g.TokenStr, "", g.LeaseKey); d.code != 410 {
		t.Fatalf("the old client's DELETE to the restarted agent: %d %+v, want 410", d.code, d.grant)
	}
	kept, streamed := startProber(a2, "kept"), startProber(a2, "streamed")
	untilPast(g.deadline())
	kept.grantedBefore(t, g.deadline(), "restarted agent, keepalive-mode lease")
	untilPast(streamDeadline)
	streamed.grantedBefore(t, streamDeadline, "restarted agent, hold-mode lease")
	grantAfter(t, a2, "kept", g.Token)
	grantAfter(t, a2, "streamed", first.Token)
}

// TestReviewEdgeLockAgentRestart: tenure lock holds a lease through agent
// a; a stops cleanly and comes back at once on the same addresses and data
// dir. The first lock's next keepalive reaches the new incarnation, which
// knows nothing of the tenure (410): the lock stops its command and exits
// 3. A second tenure lock through the restarted a waits for the lease: its
// command starts only after the first command's last sign of life.
func TestReviewEdgeLockAgentRestart(t *testing.T) {
	const ttl = 3 * time.Second
	flags := []string{"--ttl", ttl.String()}
	ps := cluster(t, flags...)
	a, b := ps["a"], ps["b"]
	voters := []string{"a", "b", "c"}
	dir := t.TempDir()
	first, second := filepath.Join(dir, "first"), filepath.Join(dir, "second")
	lk1 := startLock(t, "--agent", a.http, "--ttl", ttl.String(), "--grace", "1s", "restart-job", "--", self(t), workerArg, first)
	waitStarted(t, first, lk1.done)
	a.signal(syscall.SIGTERM)
	if code := a.wait(); code != 0 {
		t.Fatalf("agent a after SIGTERM: exit %d", code)
	}
	httpAddr := strings.TrimPrefix(a.http, "http://")
	a2 := launchAgent(t, "a", voters, b.gossip, a.dataDir, append([]string{"--bind", a.gossip, "--http", httpAddr}, flags...)...)
	a2.waitReady()
	if a2.http != a.http {
		t.Fatalf("restarted agent serves %s, not %s", a2.http, a.http)
	}
	lk2 := startLock(t, "--agent", a2.http, "--wait", "30s", "restart-job", "--", self(t), workerArg, second, "for=10ms")
	code, text := lk1.wait(t)
	if code != 3 || !strings.Contains(text, "LOST") {
		t.Fatalf("tenure lock through the restarted agent: exit %d, want 3 reporting the loss; stderr:\n%s", code, text)
	}
	f, s := secondAfterFirst(t, lk2, first, second)
	t.Logf("lock, agent restarted in place: the first lock said %q; the second command started %v after the first ended",
		lastLine(text), s.first.Sub(f.last))
}

// lastLine is the last non-empty line of s.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// TestReviewEdgeLockStopped: tenure lock itself is stopped (SIGSTOP to its
// pid only: a debugger, an operator's kill -STOP) while its command runs.
// Nothing renews the lease, and tenure lock cannot stop the command at the
// deadline: its guard process does (lock_guard.go), so the first command
// is dead before a second command holds the lease through another agent.
// Without the guard the first command ran on (found by this review).
func TestReviewEdgeLockStopped(t *testing.T) {
	const ttl = 2 * time.Second
	ps := cluster(t, "--ttl", ttl.String())
	a, b := ps["a"], ps["b"]
	dir := t.TempDir()
	first, second := filepath.Join(dir, "first"), filepath.Join(dir, "second")
	lk1 := startLock(t, "--agent", a.http, "--ttl", ttl.String(), "--grace", "500ms", "stopped-job", "--", self(t), workerArg, first)
	waitStarted(t, first, lk1.done)
	if err := lk1.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = lk1.cmd.Process.Signal(syscall.SIGCONT) })
	lk2 := startLock(t, "--agent", b.http, "--wait", "30s", "stopped-job", "--", self(t), workerArg, second, "for=10ms")
	if code, text := lk2.wait(t); code != 0 {
		t.Fatalf("second tenure lock: exit %d, stderr:\n%s", code, text)
	}
	s := readWorker(second)
	// The first command's log shows whether it was still working after
	// the second command started.
	waitFor(t, "the first command to log past the second's start", func() bool {
		return readWorker(first).last.After(s.first) || !alive(readWorker(first).pid)
	}, nil)
	_ = lk1.cmd.Process.Signal(syscall.SIGCONT)
	if f := readWorker(first); f.last.After(s.first) {
		t.Fatalf("two holders: the first command (its tenure lock stopped) was still working %v after the second command started (alive now: %v)", f.last.Sub(s.first), alive(f.pid))
	}
}
