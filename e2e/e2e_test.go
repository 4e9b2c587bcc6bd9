package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestAPIAcrossAgents drives the HTTP API of three agent processes with a
// plain HTTP client: a lease taken through one agent is seen (as a hint)
// through another, refused to a third, and survives wrong-token calls.
func TestAPIAcrossAgents(t *testing.T) {
	ps := cluster(t, "--ttl", "1s")
	a, b, c := ps["a"], ps["b"], ps["c"]

	var g grant
	if code := call(t, "POST", b.http+"/v1/leases/api-job", `{"ttl":"2s","value":"b's job"}`, &g); code != 200 || g.Token == 0 || g.TokenStr != strconv.FormatUint(g.Token, 10) {
		t.Fatalf("acquire through b: %d %+v", code, g)
	}
	var h struct {
		Node  string `json:"node"`
		Token uint64 `json:"token,string"`
		Value string `json:"value"`
		Hint  bool   `json:"hint"`
	}
	if code := call(t, "GET", a.http+"/v1/leases/api-job", "", &h); code != 200 || h.Node != "b" || h.Token != g.Token || !h.Hint || h.Value != "b's job" {
		t.Fatalf("holder hint through a: %d %+v", code, h)
	}
	var refused grant
	if code := call(t, "POST", c.http+"/v1/leases/api-job", `{}`, &refused); code != 409 || refused.Error != "held" || refused.Holder == nil || refused.Holder.Node != "b" {
		t.Fatalf("acquire through c while b holds: %d %+v", code, refused)
	}
	// tenure lock cannot have it either: exit 4.
	lk := startLock(t, "--agent", a.http, "--wait", "300ms", "api-job", "--", "true")
	if code, text := lk.wait(t); code != 4 || !strings.Contains(text, "held by b") {
		t.Fatalf("tenure lock on a held lease: exit %d, stderr %q; want 4 naming b", code, text)
	}
	// Wrong tokens touch nothing.
	wrong := strconv.FormatUint(g.Token+1, 10)
	if code := callKey(t, "DELETE", b.http+"/v1/leases/api-job?token="+wrong, "", g.LeaseKey, nil); code != 409 {
		t.Fatalf("DELETE with a wrong token: %d, want 409", code)
	}
	if code := callKey(t, "DELETE", c.http+"/v1/leases/api-job?token="+g.TokenStr, "", g.LeaseKey, nil); code != 410 {
		t.Fatalf("DELETE through an agent that does not hold it: %d, want 410", code)
	}
	var k grant
	if code := callKey(t, "POST", b.http+"/v1/leases/api-job/keepalive", `{"token":"`+g.TokenStr+`"}`, g.LeaseKey, &k); code != 200 || k.DeadlineMS <= 0 {
		t.Fatalf("keepalive: %d %+v", code, k)
	}
	if code := callKey(t, "DELETE", b.http+"/v1/leases/api-job?token="+g.TokenStr, "", g.LeaseKey, nil); code != 204 {
		t.Fatalf("release: %d", code)
	}
	var g2 grant
	if code := call(t, "POST", c.http+"/v1/leases/api-job", `{"wait":"10s"}`, &g2); code != 200 || g2.Token <= g.Token {
		t.Fatalf("acquire through c after the release: %d %+v, want a token above %d", code, g2, g.Token)
	}
}

// TestLockLosesWhenAgentDies runs tenure lock under agent a, kills a with
// SIGKILL, and checks that the lock reports the loss with exit 3 after
// stopping its command's whole process group, and that a client of
// another agent then gets the lease with a higher token.
func TestLockLosesWhenAgentDies(t *testing.T) {
	ps := cluster(t, "--ttl", "1s")
	a, b, c := ps["a"], ps["b"], ps["c"]
	dir := t.TempDir()
	tokens, childPID := filepath.Join(dir, "tokens"), filepath.Join(dir, "child.pid")

	// The normal path first: the command's exit code comes back, and it
	// saw its lease and token.
	lk := startLock(t, "--agent", b.http, "--ttl", "1s", "fenced", "--",
		"sh", "-c", `echo "$TENURE_LEASE $TENURE_TOKEN" >> "$0"; exit 7`, tokens)
	if code, text := lk.wait(t); code != 7 {
		t.Fatalf("tenure lock of a command exiting 7: exit %d, stderr %q", code, text)
	}
	first := readTokens(t, tokens)
	if len(first) != 1 {
		t.Fatalf("tokens file: %q", first)
	}

	// Now a long command with a child of its own, under agent a.
	lk = startLock(t, "--agent", a.http, "--ttl", "1s", "--grace", "1s", "fenced", "--",
		"sh", "-c", `echo "$TENURE_LEASE $TENURE_TOKEN" >> "$0"; sleep 300 & echo $! > "$1"; wait`, tokens, childPID)
	waitFor(t, "the locked command to start", func() bool {
		_, err := os.Stat(childPID)
		return len(readTokens(t, tokens)) == 2 && err == nil
	}, lk.done)
	held := readTokens(t, tokens)[1]
	heldToken, _ := strconv.ParseUint(strings.Fields(held)[1], 10, 64)
	if prev, _ := strconv.ParseUint(strings.Fields(first[0])[1], 10, 64); heldToken <= prev {
		t.Fatalf("token %d not above the previous tenure's %d", heldToken, prev)
	}

	// A client of agent c waits for the lease.
	got := make(chan grant, 1)
	go func() {
		var g grant
		if code := callNoFatal("POST", c.http+"/v1/leases/fenced", `{"wait":"30s"}`, &g); code != 200 {
			g.Error = fmt.Sprintf("status %d: %s", code, g.Error)
		}
		got <- g
	}()

	a.signal(syscall.SIGKILL)
	code, text := lk.wait(t)
	if code != 3 || !strings.Contains(text, "LOST") {
		t.Fatalf("tenure lock under the killed agent: exit %d, stderr %q; want 3 reporting the loss", code, text)
	}
	b1, _ := os.ReadFile(childPID)
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b1)))
	waitFor(t, "the command's child to be gone", func() bool { return pid > 0 && !alive(pid) }, nil)

	g := <-got
	if g.Error != "" || g.Token <= heldToken {
		t.Fatalf("client of c: %+v; want the lease with a token above %d", g, heldToken)
	}
}

// TestAgentSIGTERM checks a clean stop: SIGTERM leaves, writes the
// clean-shutdown state and exits 0, and frees no lease a client holds
// through the agent (R15): right after the stop, a client of another
// agent is still refused the lease, whose holder's deadline is most of a
// 20s TTL away. (How soon the waiter gets it: TestEdgeSIGTERMFailover.)
func TestAgentSIGTERM(t *testing.T) {
	ps := cluster(t, "--ttl", "20s")
	b, c := ps["b"], ps["c"]
	var g grant
	if code := call(t, "POST", b.http+"/v1/leases/svc", `{}`, &g); code != 200 {
		t.Fatalf("acquire through b: %d %+v", code, g)
	}
	b.signal(syscall.SIGTERM)
	if code := b.wait(); code != 0 {
		t.Fatalf("agent b after SIGTERM: exit %d, want 0", code)
	}
	if _, err := os.Stat(filepath.Join(b.dataDir, "state")); err != nil {
		t.Fatalf("no clean-shutdown state in b's data dir: %v", err)
	}
	var refused grant
	if code := call(t, "POST", c.http+"/v1/leases/svc", `{}`, &refused); code != 409 {
		t.Fatalf("acquire through c right after b stopped: %d %+v; want 409: b's client still holds it", code, refused)
	}
}

// TestPythonExample runs examples/python/lease.py against a real agent.
func TestPythonExample(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not installed")
	}
	p := startAgent(t, "solo", []string{"solo"}, "", "--ttl", "1s")
	script, _ := filepath.Abs(filepath.Join("..", "examples", "python", "lease.py"))
	cmd := exec.Command(py, script, "--agent", p.http, "--ttl", "600ms", "--hold-for", "2", "py-job")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("lease.py: %v\n%s", err, out)
	}
	text := string(out)
	var token uint64
	if _, err := fmt.Sscanf(text[strings.Index(text, "acquired"):], "acquired py-job token %d", &token); err != nil || token == 0 {
		t.Fatalf("no token printed: %v\n%s", err, text)
	}
	// It kept the lease for longer than its TTL, then released it.
	if strings.Count(text, "working under token") < 3 || !strings.Contains(text, fmt.Sprintf("released py-job token %d", token)) {
		t.Fatalf("lease.py output:\n%s", text)
	}
	if code := call(t, "GET", p.http+"/v1/leases/py-job", "", nil); code != 404 {
		t.Fatalf("after lease.py: holder query %d, want 404", code)
	}
	// A second run finds the lease free again: a new tenure, a higher token.
	out, err = exec.Command(py, script, "--agent", p.http, "--ttl", "600ms", "--hold-for", "0.1", "py-job").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "acquired py-job token ") {
		t.Fatalf("second run: %v\n%s", err, out)
	}

	// After a wait of several TTLs the example still starts with time
	// left (issue 11, item 7): the deadline counts from the receipt of its
	// request, and it renews once if less than half a TTL is left.
	var g grant
	if code := call(t, "POST", p.http+"/v1/leases/py-wait", `{"ttl":"1s"}`, &g); code != 200 {
		t.Fatalf("holder's acquire: %d %+v", code, g)
	}
	waiter := exec.Command(py, script, "--agent", p.http, "--ttl", "1s", "--wait", "30s", "--hold-for", "0.5", "py-wait")
	var wout bytes.Buffer
	waiter.Stdout, waiter.Stderr = &wout, &wout
	if err := waiter.Start(); err != nil {
		t.Fatal(err)
	}
	for range 8 { // the holder works for about 2.4s, several of the waiter's TTLs
		if code := callKey(t, "POST", p.http+"/v1/leases/py-wait/keepalive", `{"token":"`+g.TokenStr+`"}`, g.LeaseKey, nil); code != 200 {
			t.Fatalf("holder's keepalive: %d", code)
		}
		time.Sleep(300 * time.Millisecond) // the holder's pacing, not a wait for a condition
	}
	if code := callKey(t, "DELETE", p.http+"/v1/leases/py-wait?token="+g.TokenStr, "", g.LeaseKey, nil); code != 204 {
		t.Fatalf("holder's release: %d", code)
	}
	err = waiter.Wait()
	text = wout.String()
	var left float64
	i := strings.Index(text, "acquired py-wait")
	if err != nil || i < 0 || strings.Contains(text, "LOST") {
		t.Fatalf("lease.py after a long wait: %v\n%s", err, text)
	}
	if _, err := fmt.Sscanf(text[i:], "acquired py-wait token %d (ttl 1s, %fs left)", &token, &left); err != nil || left <= 0 {
		t.Fatalf("lease.py after a long wait reports %.3fs left (%v):\n%s", left, err, text)
	}
}

func readTokens(t *testing.T, path string) []string {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	return strings.Split(strings.TrimSpace(string(b)), "\n")
}

// TestWatchAndSlots drives the recipes over HTTP with the real binary:
// `tenure watch` on agent a prints the tenure b takes and then its vacancy,
// and "slots" hands out distinct slots with their own tokens.
func TestWatchAndSlots(t *testing.T) {
	ps := cluster(t, "--ttl", "1s")
	a, b, c := ps["a"], ps["b"], ps["c"]

	cmd := exec.Command(binary, "watch", "--agent", a.http, "--duration", "60s", "--json", "watched")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	lines := make(chan map[string]any, 16)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			var m map[string]any
			if json.Unmarshal(sc.Bytes(), &m) == nil {
				lines <- m
			}
		}
		close(lines)
	}()
	next := func(what string) map[string]any {
		t.Helper()
		select {
		case m, ok := <-lines:
			if !ok {
				t.Fatalf("tenure watch ended before %s", what)
			}
			return m
		case <-time.After(30 * time.Second):
			t.Fatalf("tenure watch printed nothing for %s", what)
		}
		return nil
	}
	if m := next("the initial state"); m["vacant"] != true {
		t.Fatalf("initial line %v, want vacant", m)
	}
	var g grant
	if code := call(t, "POST", b.http+"/v1/leases/watched", `{"ttl":"3s"}`, &g); code != 200 {
		t.Fatalf("acquire through b: %d", code)
	}
	if m := next("b's tenure"); m["node"] != "b" || m["token_str"] != g.TokenStr {
		t.Fatalf("tenure watch printed %v, want b with token %s", m, g.TokenStr)
	}
	if code := callKey(t, "DELETE", b.http+"/v1/leases/watched?token="+g.TokenStr, "", g.LeaseKey, nil); code != 204 {
		t.Fatalf("release: %d", code)
	}
	for m := next("the vacancy"); m["vacant"] != true; m = next("the vacancy") {
	}

	var s1, s2 grant
	if code := call(t, "POST", b.http+"/v1/leases/pool", `{"slots":2,"ttl":"3s"}`, &s1); code != 200 {
		t.Fatalf("slot through b: %d", code)
	}
	if code := call(t, "POST", c.http+"/v1/leases/pool", `{"slots":2,"ttl":"3s"}`, &s2); code != 200 {
		t.Fatalf("slot through c: %d", code)
	}
	// Distinct slots (tokens order the tenures of one slot; two slots may
	// well show the same token).
	if s1.Name == s2.Name || !strings.HasPrefix(s1.Name, "pool#") || !strings.HasPrefix(s2.Name, "pool#") {
		t.Fatalf("two holders got slots %q and %q", s1.Name, s2.Name)
	}
	if code := call(t, "POST", a.http+"/v1/leases/pool", `{"slots":2}`, nil); code != 409 {
		t.Fatalf("a third holder of 2 slots: %d, want 409", code)
	}
}
