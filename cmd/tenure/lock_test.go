//go:build unix

package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tenure-dev/tenure/api"
	"github.com/tenure-dev/tenure/internal/lockworker"
)

// The lock tests run this test binary as tenure itself ("lock ...": the
// real command, in a process of its own, since it makes that process a
// subreaper) and as the command under it ("worker ..."), against a fake
// agent whose answers and deadlines the test controls.
func init() {
	if os.Getenv("TENURE_LOCKTEST_HELPER") != "1" || len(os.Args) < 2 {
		return
	}
	switch os.Args[1] {
	case "lock":
		os.Exit(runMain(os.Args[1:], os.Stdout, os.Stderr))
	case "worker":
		os.Exit(lockworker.Run(os.Args[2:]))
	}
}

// workerEvent is one line of a worker's log.
type workerEvent struct {
	ev  string
	pid int
	at  time.Time
}

func readWorkerLog(path string) []workerEvent {
	b, _ := os.ReadFile(path)
	var out []workerEvent
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 3 {
			continue // a line being written
		}
		pid, _ := strconv.Atoi(f[1])
		ns, _ := strconv.ParseInt(f[2], 10, 64)
		out = append(out, workerEvent{f[0], pid, time.Unix(0, ns)})
	}
	return out
}

// fakeAgent answers tenure lock's requests. Keepalives get ka: "ok" (200),
// "down" (503: keep retrying) or "gone" (410: the tenure is over).
type fakeAgent struct {
	srv *httptest.Server
	ttl time.Duration

	mu       sync.Mutex
	held     bool      // acquires answer 409
	ka       string    // keepalive behaviour
	deadline time.Time // latest receipt + deadline_ms handed out
	released time.Time // when a DELETE came
	requests int
}

func newFakeAgent(t *testing.T, ttl time.Duration) *fakeAgent {
	a := &fakeAgent{ttl: ttl, ka: "ok"}
	a.srv = httptest.NewServer(http.HandlerFunc(a.serve))
	t.Cleanup(a.srv.Close)
	return a
}

func (a *fakeAgent) set(f func(a *fakeAgent)) {
	a.mu.Lock()
	defer a.mu.Unlock()
	f(a)
}

func (a *fakeAgent) serve(w http.ResponseWriter, r *http.Request) {
	now := time.Now()
	a.mu.Lock()
	defer a.mu.Unlock()
	a.requests++
	grant := func() {
		g := api.Grant{Name: "job", Token: 7, TTL: api.Duration(a.ttl), DeadlineMS: a.ttl.Milliseconds(), LeaseKey: "secret"}
		if d := now.Add(a.ttl); d.After(a.deadline) {
			a.deadline = d
		}
		_ = json.NewEncoder(w).Encode(g)
	}
	fail := func(code int, msg string) {
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(api.ErrorResponse{Error: msg})
	}
	switch {
	case r.Method == http.MethodDelete:
		a.released = now
		w.WriteHeader(http.StatusNoContent)
	case strings.HasSuffix(r.URL.Path, "/keepalive") && a.ka == "down":
		fail(http.StatusServiceUnavailable, "down")
	case strings.HasSuffix(r.URL.Path, "/keepalive") && a.ka == "gone":
		fail(http.StatusGone, "lost")
	case strings.HasSuffix(r.URL.Path, "/keepalive"):
		grant()
	case a.held:
		fail(http.StatusConflict, "held")
	default:
		grant()
	}
}

// lockRun is tenure lock running as a child process of the test.
type lockRun struct {
	cmd    *exec.Cmd
	stderr bytes.Buffer
	done   chan struct{}
}

func startLockProc(t *testing.T, args ...string) *lockRun {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	r := &lockRun{cmd: exec.Command(self, append([]string{"lock"}, args...)...), done: make(chan struct{})}
	r.cmd.Env = append(os.Environ(), "TENURE_LOCKTEST_HELPER=1")
	r.cmd.Stderr = &r.stderr
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = r.cmd.Wait(); close(r.done) }()
	t.Cleanup(func() {
		_ = r.cmd.Process.Kill()
		<-r.done
	})
	return r
}

// wait returns tenure lock's exit status and stderr.
func (r *lockRun) wait(t *testing.T) (int, string) {
	t.Helper()
	select {
	case <-r.done:
	case <-time.After(30 * time.Second):
		t.Fatal("tenure lock did not exit")
	}
	return r.cmd.ProcessState.ExitCode(), r.stderr.String()
}

// pollUntil polls cond (a condition with no event to wait on) until it
// holds, failing the test after a generous deadline.
func pollUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func selfPath(t *testing.T) string {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return self
}

func readStatus(t *testing.T, path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("status file: %v", err)
	}
	return strings.TrimSpace(string(b))
}

// TestLockStopsBeforeDeadline runs a command that ignores SIGTERM and
// ends its lease two ways: the agent stops confirming renewals, or says
// the tenure is over. Either way the command gets SIGTERM, lives on for a
// while, and is dead before the deadline the agent handed out (tenure
// lock's own deadline is no later).
func TestLockStopsBeforeDeadline(t *testing.T) {
	for _, mode := range []string{"down", "gone"} {
		t.Run(mode, func(t *testing.T) {
			a := newFakeAgent(t, 1500*time.Millisecond)
			dir := t.TempDir()
			log, status := filepath.Join(dir, "log"), filepath.Join(dir, "status")
			r := startLockProc(t, "--agent", a.srv.URL, "--grace", "5s", "--status-file", status,
				"job", "--", selfPath(t), "worker", log, "ignore-term")
			pollUntil(t, "the command to start", func() bool { return len(readWorkerLog(log)) > 0 })
			a.set(func(a *fakeAgent) { a.ka = mode })
			code, stderr := r.wait(t)
			if code != exitLost || readStatus(t, status) != "lost 3" || !strings.Contains(stderr, "tenure lock: LOST") {
				t.Fatalf("exit %d, status %q, want 3 and \"lost 3\"; stderr:\n%s", code, readStatus(t, status), stderr)
			}
			evs := readWorkerLog(log)
			var term, last time.Time
			aliveAfterTerm := 0
			for _, e := range evs {
				switch {
				case e.ev == "term" && term.IsZero():
					term = e.at
				case e.ev == "alive" && !term.IsZero():
					aliveAfterTerm++
				}
				last = e.at
			}
			a.mu.Lock()
			deadline := a.deadline
			a.mu.Unlock()
			t.Logf("SIGTERM %v before the agent's deadline, last sign of life %v before it, %d alive lines after SIGTERM",
				deadline.Sub(term), deadline.Sub(last), aliveAfterTerm)
			if term.IsZero() || aliveAfterTerm == 0 {
				t.Fatalf("the command got no SIGTERM, or no time after it: %d events, %d after SIGTERM", len(evs), aliveAfterTerm)
			}
			if !last.Before(deadline) {
				t.Fatalf("the command lived until %v after the agent's deadline", last.Sub(deadline))
			}
			pid := evs[0].pid
			if syscall.Kill(pid, 0) == nil {
				t.Fatalf("command pid %d still exists after tenure lock exited", pid)
			}
		})
	}
}

// TestLockWaitsForDescendants runs a command that exits at once, leaving a
// background child in its group and (on Linux) one that moved to a
// session of its own: the lease is released only after both ended.
func TestLockWaitsForDescendants(t *testing.T) {
	a := newFakeAgent(t, 1500*time.Millisecond)
	dir := t.TempDir()
	child, stray, status := filepath.Join(dir, "child"), filepath.Join(dir, "stray"), filepath.Join(dir, "status")
	script := `"$0" worker "$1" for=700ms & "$0" worker "$2" setsid for=1s & exit 5`
	if runtime.GOOS != "linux" {
		script = `"$0" worker "$1" for=700ms & exit 5` // only Linux follows a descendant out of the group
	}
	r := startLockProc(t, "--agent", a.srv.URL, "--status-file", status, "job", "--", "sh", "-c", script, selfPath(t), child, stray)
	code, stderr := r.wait(t)
	if code != 5 || readStatus(t, status) != "done 5" {
		t.Fatalf("exit %d, status %q, want 5 and \"done 5\"; stderr:\n%s", code, readStatus(t, status), stderr)
	}
	if !strings.Contains(stderr, "holding the lease until its") {
		t.Fatalf("tenure lock did not say it waits for the command's processes:\n%s", stderr)
	}
	a.mu.Lock()
	released := a.released
	a.mu.Unlock()
	logs := []string{child}
	if runtime.GOOS == "linux" {
		logs = append(logs, stray)
	}
	for _, p := range logs {
		evs := readWorkerLog(p)
		if len(evs) == 0 || evs[len(evs)-1].ev != "end" {
			t.Fatalf("%s: the worker did not run to its end: %v", p, evs)
		}
		if end := evs[len(evs)-1].at; released.IsZero() || !released.After(end) {
			t.Fatalf("%s: released at %v, the worker ended at %v: released while it ran", filepath.Base(p), released, end)
		}
	}
}

// TestLockExitStatus checks that a caller can tell the command's own exit
// statuses 3 and 4 from tenure lock's "lost" and "not held": by the status
// file, or by choosing tenure lock's codes.
func TestLockExitStatus(t *testing.T) {
	dir := t.TempDir()
	status := filepath.Join(dir, "status")
	run := func(a *fakeAgent, args ...string) (int, string) {
		t.Helper()
		os.Remove(status)
		r := startLockProc(t, append([]string{"--agent", a.srv.URL, "--status-file", status}, args...)...)
		code, stderr := r.wait(t)
		b, _ := os.ReadFile(status)
		t.Logf("tenure lock %v: exit %d, status %q; stderr:\n%s", args, code, strings.TrimSpace(string(b)), stderr)
		return code, strings.TrimSpace(string(b))
	}
	free := newFakeAgent(t, 2*time.Second)
	for _, own := range []int{3, 4} {
		if code, st := run(free, "job", "--", "sh", "-c", fmt.Sprintf("exit %d", own)); code != own || st != fmt.Sprintf("done %d", own) {
			t.Fatalf("command exiting %d: exit %d, status %q", own, code, st)
		}
	}
	held := newFakeAgent(t, 2*time.Second)
	held.set(func(a *fakeAgent) { a.held = true })
	if code, st := run(held, "job", "--", "true"); code != exitNotHeld || st != "not-held 4" {
		t.Fatalf("held lease: exit %d, status %q; want 4 and \"not-held 4\"", code, st)
	}
	if code, st := run(held, "--exit-not-held", "75", "job", "--", "true"); code != 75 || st != "not-held 75" {
		t.Fatalf("held lease with --exit-not-held 75: exit %d, status %q", code, st)
	}
	gone := newFakeAgent(t, 600*time.Millisecond)
	gone.set(func(a *fakeAgent) { a.ka = "gone" })
	if code, st := run(gone, "--exit-lost", "100", "job", "--", "sleep", "30"); code != 100 || st != "lost 100" {
		t.Fatalf("lost lease with --exit-lost 100: exit %d, status %q", code, st)
	}
	if code, st := run(free, "job", "--", "no-such-command-tenure-test"); code != 1 || st != "error 1" {
		t.Fatalf("missing command: exit %d, status %q; want 1 and \"error 1\"", code, st)
	}
	free.mu.Lock()
	before := free.requests
	free.mu.Unlock()
	for _, bad := range [][]string{
		{"--exit-lost", "0", "job", "--", "true"},
		{"--exit-lost", "256", "job", "--", "true"},
		{"--exit-lost", "9", "--exit-not-held", "9", "job", "--", "true"},
	} {
		if code, st := run(free, bad...); code != 2 || st != "" {
			t.Fatalf("bad usage %v: exit %d, status %q; want 2 and no status file", bad, code, st)
		}
	}
	if code, _ := run(free, "--status-file", filepath.Join(dir, "no-such-dir", "s"), "job", "--", "true"); code != 2 {
		t.Fatalf("--status-file in a missing directory: exit %d, want 2", code)
	}
	free.mu.Lock()
	after := free.requests
	free.mu.Unlock()
	if after != before {
		t.Fatalf("bad usage reached the agent (%d requests)", after-before)
	}
}
