package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The operator tests replay the six operator mistakes of issue 12 with the
// real binary, each as a new user would make it. Each asserts the one
// thing that matters: a second client is not granted the lease before the
// first client's deadline (the instant the first client sent its request
// plus the deadline_ms it was answered, R16), nor while the first keeps it
// alive. Deadlines are generous; no elapsed time is asserted.

// clientGrant is a grant together with the client's own deadline.
type clientGrant struct {
	grant
	deadline time.Time // the client's send time plus deadline_ms
	answered time.Time // when the grant arrived: no earlier than the grant itself
}

// acquire takes name through p for a client, with body as the request.
func acquire(t *testing.T, p *proc, name, body string) clientGrant {
	t.Helper()
	var g grant
	sent := time.Now()
	if code := call(t, "POST", p.http+"/v1/leases/"+name, body, &g); code != 200 || g.Token == 0 {
		t.Fatalf("acquire %s through %s: %d %+v", name, p.name, code, g)
	}
	return clientGrant{grant: g, deadline: sent.Add(time.Duration(g.DeadlineMS) * time.Millisecond), answered: time.Now()}
}

// keepalive renews the client's tenure through p and moves its deadline.
func (g *clientGrant) keepalive(t *testing.T, p *proc) {
	t.Helper()
	var k grant
	sent := time.Now()
	body := fmt.Sprintf(`{"token":"%d"}`, g.Token)
	if code := callKey(t, "POST", p.http+"/v1/leases/"+g.Name+"/keepalive", body, g.LeaseKey, &k); code != 200 || k.DeadlineMS <= 0 {
		t.Fatalf("keepalive through %s: %d %+v", p.name, code, k)
	}
	if d := sent.Add(time.Duration(k.DeadlineMS) * time.Millisecond); d.After(g.deadline) {
		g.deadline = d
	}
}

// prober is a second client asking p for name over and over, without
// waiting, until stopped; it records every grant with the instant its
// answer arrived.
type prober struct {
	stop   chan struct{}
	done   chan struct{}
	grants []time.Time
	tokens []uint64
	tries  []time.Time // when each try got its answer
}

func startProber(p *proc, name string) *prober {
	pr := &prober{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(pr.done)
		for {
			select {
			case <-pr.stop:
				return
			default:
			}
			var g grant
			code := callNoFatal("POST", p.http+"/v1/leases/"+name, `{"ttl":"1s"}`, &g)
			pr.tries = append(pr.tries, time.Now())
			if code == 200 {
				pr.grants = append(pr.grants, time.Now())
				pr.tokens = append(pr.tokens, g.Token)
			}
			time.Sleep(100 * time.Millisecond) // the client's retry interval
		}
	}()
	return pr
}

// grantedBefore stops the prober and fails the test if any grant arrived
// before the instant first (the first client's deadline).
func (pr *prober) grantedBefore(t *testing.T, first time.Time, what string) {
	t.Helper()
	close(pr.stop)
	<-pr.done
	for i, at := range pr.grants {
		if at.Before(first) {
			t.Fatalf("%s: a second client was granted the lease (token %d) %v before the first client's deadline",
				what, pr.tokens[i], first.Sub(at))
		}
	}
	// Not vacuous: the second client must have had an answer while the
	// first one still held the lease. (How many depends on how long each
	// try takes with the voters quarantined: not asserted.)
	answered := 0
	for _, at := range pr.tries {
		if at.Before(first) {
			answered++
		}
	}
	if answered == 0 {
		t.Fatalf("%s: the second client had no answer before the first client's deadline (%d tries in all)", what, len(pr.tries))
	}
}

// untilPast waits for the wall clock to pass instant at: the test's own
// timeline, not a condition.
func untilPast(at time.Time) {
	if d := time.Until(at); d > 0 {
		time.Sleep(d + 50*time.Millisecond)
	}
}

// grantAfter shows the cluster still grants name through p (liveness):
// a waiting acquire succeeds, with a token above prev.
func grantAfter(t *testing.T, p *proc, name string, prev uint64) {
	t.Helper()
	g := acquire(t, p, name, `{"ttl":"1s","wait":"25s"}`)
	if g.Token <= prev {
		t.Fatalf("token %d after the first client's tenure, not above %d", g.Token, prev)
	}
}

func readLog(t *testing.T, p *proc) string {
	t.Helper()
	b, err := os.ReadFile(p.logPath)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// port is the port of a host:port.
func port(hostport string) string { return hostport[strings.LastIndexByte(hostport, ':')+1:] }

// restartOn starts name again on the gossip address it had (a supervisor
// restarting a crashed process in place) with the given data dir.
func restartOn(t *testing.T, old *proc, voters []string, join, dataDir string, extra ...string) *proc {
	t.Helper()
	p := launchAgent(t, old.name, voters, join, dataDir, append([]string{"--bind", "127.0.0.1:" + port(old.gossip)}, extra...)...)
	p.waitReady()
	return p
}

// Case 1, R17: a, b run --voters a,b,c; c is restarted with --voters
// a,b,c,d,e and d, e join with that list. c's data dir was bound to the
// old list: it refuses to start, naming both lists. d and e find members
// of another configuration when they join and refuse to run too, naming
// both lists (a rolling change of the voter list is refused, loudly),
// while the first client keeps its lease alive through a and b.
func TestOperatorVoterListsDiffer(t *testing.T) {
	old, wide := []string{"a", "b", "c"}, []string{"a", "b", "c", "d", "e"}
	flags := []string{"--ttl", "1s", "--max-ttl", "5s"}
	a := startAgent(t, "a", old, "", flags...)
	b := startAgent(t, "b", old, a.gossip, flags...)
	c := startAgent(t, "c", old, a.gossip, flags...)

	c.signal(syscall.SIGTERM)
	if code := c.wait(); code != 0 {
		t.Fatalf("c's clean stop: exit %d", code)
	}
	c2 := launchAgent(t, "c", wide, a.gossip, c.dataDir, flags...)
	if code := c2.wait(); code == 0 {
		t.Fatal("c restarted with another voter list on its data dir and kept running")
	}
	if log := readLog(t, c2); !strings.Contains(log, "Voters a,b,c;") || !strings.Contains(log, "Voters a,b,c,d,e") {
		t.Fatalf("c's refusal does not name both voter lists:\n%s", log)
	}
	for _, name := range []string{"d", "e"} {
		p := launchAgent(t, name, wide, a.gossip, t.TempDir(), append([]string{"--new-cluster"}, flags...)...)
		if code := p.wait(); code == 0 {
			t.Fatalf("%s joined a cluster of another voter list and kept running", name)
		}
		l := readLog(t, p)
		if !strings.Contains(l, "level=ERROR") || !strings.Contains(l, "with voters a,b,c,") || !strings.Contains(l, "with voters a,b,c,d,e;") {
			t.Fatalf("%s's refusal does not name both voter lists at ERROR:\n%s", name, tail([]byte(l), 3000))
		}
	}
	// a and b (two of a,b,c) grant the first client its lease.
	first := acquire(t, a, "job", `{"ttl":"4s","wait":"25s"}`)
	pr := startProber(b, "job")
	// The first client keeps its lease for longer than any quarantine of
	// c, d or e.
	for end := time.Now().Add(12 * time.Second); time.Now().Before(end); {
		first.keepalive(t, a)
		time.Sleep(300 * time.Millisecond) // the client's keepalive interval
	}
	untilPast(first.deadline)
	pr.grantedBefore(t, first.deadline, "voter lists differ")

	grantAfter(t, b, "job", first.Token)
}

// Case 2, R18: a second process named b (another data dir) joins the
// running cluster: it exits non-zero naming the name and both addresses;
// the first b logs it, and the cluster keeps granting.
func TestOperatorDuplicateName(t *testing.T) {
	ps := cluster(t, "--ttl", "1s", "--max-ttl", "3s")
	a, b, c := ps["a"], ps["b"], ps["c"]
	first := acquire(t, a, "job", `{"ttl":"2s"}`)
	dup := launchAgent(t, "b", []string{"a", "b", "c"}, b.gossip, "", "--ttl", "1s", "--max-ttl", "3s")
	if code := dup.wait(); code == 0 {
		t.Fatal("a second b kept running")
	}
	dl := readLog(t, dup)
	named := strings.Contains(dl, `node name "b"`) || strings.Contains(dl, `node name \"b\"`)
	if !named || !strings.Contains(dl, b.gossip) || !strings.Contains(dl, "this process is at 127.0.0.1:") {
		t.Fatalf("the second b's error does not name the name and both addresses:\n%s", dl)
	}
	waitFor(t, "b to log the conflict", func() bool {
		return strings.Contains(readLog(t, b), "another process claims this node's name")
	}, b.exited)
	pr := startProber(c, "job")
	untilPast(first.deadline)
	pr.grantedBefore(t, first.deadline, "duplicate name")
	grantAfter(t, c, "job", first.Token)
}

// Case 3, R20: a non-voter without a data dir is killed and restarted at
// once, within the same second: the next tenure through it is not
// granted before the first client's deadline, and its token is strictly
// higher.
func TestOperatorNonVoterRestart(t *testing.T) {
	ps := cluster(t, "--ttl", "1s", "--max-ttl", "3s")
	voters := []string{"a", "b", "c"}
	x := launchAgent(t, "x", voters, ps["a"].gossip, "-", "--ttl", "1s", "--max-ttl", "3s")
	x.waitReady()
	prev := uint64(0)
	for i := range 3 {
		first := acquire(t, x, "job", `{"ttl":"1s","wait":"25s"}`)
		if first.Token <= prev {
			t.Fatalf("restart %d: token %d not above the previous tenure's %d", i, first.Token, prev)
		}
		x.signal(syscall.SIGKILL)
		x.wait()
		x = restartOn(t, x, voters, ps["a"].gossip, "-", "--ttl", "1s", "--max-ttl", "3s")
		second := acquire(t, x, "job", `{"ttl":"1s","wait":"25s"}`)
		if second.answered.Before(first.deadline) {
			t.Fatalf("restart %d: granted again %v before the first client's deadline", i, first.deadline.Sub(second.answered))
		}
		if second.Token <= first.Token {
			t.Fatalf("restart %d: token %d after a same-second restart, not above %d", i, second.Token, first.Token)
		}
		prev = second.Token
	}
}

// copyDir copies the regular files of src into a new dir dst (a backup).
func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	if err := os.MkdirAll(dst, 0o700); err != nil {
		t.Fatal(err)
	}
	ents, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if !e.Type().IsRegular() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// Case 4, R18: b and c are backed up at a clean stop, run on, crash, and
// are restored from the backup (without --restored: the operator forgot).
// Their peers have heard newer incarnations of them, so the restored
// starts are found stale and sit out the quarantine: no second holder
// while the first client's lease lives.
func TestOperatorRestoredFromBackup(t *testing.T) {
	flags := []string{"--ttl", "1s", "--max-ttl", "8s"}
	ps := cluster(t, flags...)
	a := ps["a"]
	voters := []string{"a", "b", "c"}
	backups := map[string]string{}
	for _, n := range []string{"b", "c"} {
		p := ps[n]
		p.signal(syscall.SIGTERM)
		if code := p.wait(); code != 0 {
			t.Fatalf("%s's clean stop: exit %d", n, code)
		}
		backups[n] = filepath.Join(t.TempDir(), "backup")
		copyDir(t, p.dataDir, backups[n])
		ps[n] = launchAgent(t, n, voters, a.gossip, p.dataDir, flags...)
		ps[n].waitReady()
		ps[n].waitServing() // confirmed by its peers before the next one stops
	}
	first := acquire(t, a, "job", `{"ttl":"7s","wait":"25s"}`)
	for _, n := range []string{"b", "c"} {
		p := ps[n]
		p.signal(syscall.SIGKILL)
		p.wait()
		if err := os.RemoveAll(p.dataDir); err != nil {
			t.Fatal(err)
		}
		copyDir(t, backups[n], p.dataDir)
	}
	for _, n := range []string{"b", "c"} {
		ps[n] = restartOn(t, ps[n], voters, a.gossip, ps[n].dataDir, flags...)
	}
	pr := startProber(ps["b"], "job")
	untilPast(first.deadline)
	pr.grantedBefore(t, first.deadline, "restored from a backup")
	// a had heard the newer starts of b and c: both restored starts were
	// found stale.
	for _, n := range []string{"b", "c"} {
		if l := readLog(t, ps[n]); !strings.Contains(l, "start not confirmed") {
			t.Fatalf("%s's restored start was not found stale:\n%s", n, tail([]byte(l), 3000))
		}
	}
	grantAfter(t, ps["c"], "job", first.Token)
}

// Case 5, R18: b and c crash and come back on new, empty data dirs
// (replaced disks) without --new-cluster: they sit out the quarantine.
func TestOperatorEmptyDirsAfterCrash(t *testing.T) {
	flags := []string{"--ttl", "1s", "--max-ttl", "8s"}
	ps := cluster(t, flags...)
	a := ps["a"]
	voters := []string{"a", "b", "c"}
	first := acquire(t, a, "job", `{"ttl":"7s","wait":"25s"}`)
	for _, n := range []string{"b", "c"} {
		ps[n].signal(syscall.SIGKILL)
		ps[n].wait()
	}
	for _, n := range []string{"b", "c"} {
		ps[n] = restartOn(t, ps[n], voters, a.gossip, filepath.Join(t.TempDir(), "new-disk"), flags...)
		if l := readLog(t, ps[n]); !strings.Contains(l, "start=crashed") {
			t.Fatalf("%s on an empty dir without --new-cluster did not start as after a crash:\n%s", n, l)
		}
	}
	pr := startProber(ps["b"], "job")
	untilPast(first.deadline)
	pr.grantedBefore(t, first.deadline, "empty data dirs after a crash")
	grantAfter(t, ps["c"], "job", first.Token)
}

// Case 6, R19: b and c run --max-ttl 10s, a client takes an 8s lease; b
// and c crash and come back with --max-ttl 1s --ttl 500ms. Their
// quarantine still covers the 10s they ran with and the 8s they
// accepted.
func TestOperatorLowerMaxTTL(t *testing.T) {
	ps := cluster(t, "--ttl", "1s", "--max-ttl", "10s")
	a := ps["a"]
	voters := []string{"a", "b", "c"}
	first := acquire(t, a, "job", `{"ttl":"8s","wait":"25s"}`)
	for _, n := range []string{"b", "c"} {
		ps[n].signal(syscall.SIGKILL)
		ps[n].wait()
	}
	for _, n := range []string{"b", "c"} {
		ps[n] = restartOn(t, ps[n], voters, a.gossip, ps[n].dataDir, "--ttl", "500ms", "--max-ttl", "1s")
	}
	pr := startProber(ps["b"], "job")
	untilPast(first.deadline)
	pr.grantedBefore(t, first.deadline, "lower --max-ttl after a crash")
	grantAfter(t, ps["c"], "job", first.Token)
}
