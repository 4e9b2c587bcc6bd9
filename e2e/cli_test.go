//go:build linux

package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestCLIVersion builds tenure from this checkout with VCS stamping on
// (whatever GOFLAGS says) and checks that --version and version print the
// commit: the checkout's HEAD, or "unknown" only when this is not a git
// checkout.
func TestCLIVersion(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "tenure")
	build := exec.Command("go", "build", "-buildvcs=auto", "-o", bin, "github.com/tenure-dev/tenure/cmd/tenure")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	head, gitErr := exec.Command("git", "rev-parse", "HEAD").Output()
	for _, arg := range []string{"--version", "version"} {
		out, err := exec.Command(bin, arg).CombinedOutput()
		if err != nil {
			t.Fatalf("tenure %s: %v\n%s", arg, err, out)
		}
		m := regexp.MustCompile(`(?m)^  commit  (\S+)`).FindSubmatch(out)
		if m == nil || !strings.HasPrefix(string(out), "tenure ") {
			t.Fatalf("tenure %s printed no commit:\n%s", arg, out)
		}
		commit := string(m[1])
		switch {
		case gitErr == nil && commit != strings.TrimSpace(string(head)):
			t.Fatalf("tenure %s: commit %s, want HEAD %s:\n%s", arg, commit, head, out)
		case gitErr == nil && !regexp.MustCompile(`^[0-9a-f]{40}$`).MatchString(commit):
			t.Fatalf("tenure %s: commit %q is not 40 hex digits", arg, commit)
		case gitErr != nil && commit != "unknown":
			t.Fatalf("not a git checkout (%v), yet commit %q", gitErr, commit)
		}
		if strings.Contains(string(out), "mutants") {
			t.Fatalf("a normal build mentions mutants:\n%s", out)
		}
	}
}

// TestCLILockSlotsAndUsage runs tenure lock against a real cluster: two
// --slots 2 commands hold the two slots of one name at once, a third is
// refused when it tries once and waits, then runs, when it may wait; a
// TTL the agent refuses and "--" before NAME exit 2.
func TestCLILockSlotsAndUsage(t *testing.T) {
	ps := cluster(t)
	a, b := ps["a"], ps["b"]
	dir := t.TempDir()
	// Each holder writes its TENURE_LEASE, then blocks reading its FIFO
	// until the test writes to it.
	holder := func(i string, agentURL string, extra ...string) *lockProc {
		fifo := filepath.Join(dir, "fifo"+i)
		if err := syscall.Mkfifo(fifo, 0o600); err != nil {
			t.Fatal(err)
		}
		args := append([]string{"--agent", agentURL, "--slots", "2"}, extra...)
		args = append(args, "pool", "--", "sh", "-c", `printf %s "$TENURE_LEASE" > "$0.lease"; read x < "$0"`, fifo)
		return startLock(t, args...)
	}
	leaseOf := func(i string) string {
		b, _ := os.ReadFile(filepath.Join(dir, "fifo"+i+".lease"))
		return string(b)
	}
	release := func(i string) {
		if err := os.WriteFile(filepath.Join(dir, "fifo"+i), []byte("go\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	h1 := holder("1", a.http)
	h2 := holder("2", b.http)
	waitFor(t, "two slot holders to run", func() bool { return leaseOf("1") != "" && leaseOf("2") != "" }, nil)
	s1, s2 := leaseOf("1"), leaseOf("2")
	if s1 == s2 || !strings.HasPrefix(s1, "pool#") || !strings.HasPrefix(s2, "pool#") {
		t.Fatalf("the two holders run under slots %q and %q; want two distinct slots of pool", s1, s2)
	}
	// A third that tries once is not let in.
	if code, stderr := startLock(t, "--agent", a.http, "--slots", "2", "pool", "--", "true").wait(t); code != 4 || !strings.Contains(stderr, "NOT HELD") {
		t.Fatalf("third holder trying once: exit %d, stderr %q; want 4 (not held)", code, stderr)
	}
	// A third that may wait runs once a slot frees up, in that slot.
	h3 := holder("3", a.http, "--wait", "60s")
	if leaseOf("3") != "" {
		t.Fatalf("a third holder runs while both slots are held")
	}
	release("1")
	if code, stderr := h1.wait(t); code != 0 {
		t.Fatalf("first holder: exit %d: %s", code, stderr)
	}
	waitFor(t, "the third holder to run", func() bool { return leaseOf("3") != "" }, h3.done)
	if s3 := leaseOf("3"); s3 != s1 {
		t.Fatalf("third holder runs under %q; want the freed slot %q", s3, s1)
	}
	release("2")
	release("3")
	for _, h := range []*lockProc{h2, h3} {
		if code, stderr := h.wait(t); code != 0 {
			t.Fatalf("holder: exit %d: %s", code, stderr)
		}
	}

	// Usage errors: exit 2, and nothing runs.
	marker := filepath.Join(dir, "ran")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--agent", a.http, "--ttl", "1h", "job", "--", "touch", marker}, "ttl"},
		{[]string{"--agent", a.http, "--", "touch", marker}, `"--" comes after NAME`},
		{[]string{"--agent", a.http, "--slots", "2", "--ttl", "1h", "job", "--", "touch", marker}, "ttl"},
	} {
		if code, stderr := startLock(t, tc.args...).wait(t); code != 2 || !strings.Contains(stderr, tc.want) {
			t.Errorf("tenure lock %q: exit %d, stderr %q; want 2 naming %q", tc.args, code, stderr, tc.want)
		}
	}
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("a command ran after a usage error")
	}
}

// TestCLISimProgressOnTerminal runs a sweep with stderr on a terminal and
// checks the progress line: seeds done, events per second, the end.
func TestCLISimProgressOnTerminal(t *testing.T) {
	s := startPTY(t, nil, binary, "sim", "--seeds", "12", "--duration", "5s", "--workers", "1")
	select {
	case <-s.exited:
	case <-time.After(generous):
		t.Fatalf("tenure sim did not end:\n%s", s.text())
	}
	// The terminal's reader may lag behind the exit: wait for the report's
	// last line to have come through.
	waitFor(t, "the report on the terminal", func() bool { return strings.Contains(s.text(), "trace digest") }, nil)
	screen := s.text()
	if s.cmd.ProcessState.ExitCode() != 0 {
		t.Fatalf("tenure sim: exit %d:\n%s", s.cmd.ProcessState.ExitCode(), screen)
	}
	for _, want := range []string{"12/12 seeds (100%)", "M events/s", "done in", "result"} {
		if !strings.Contains(screen, want) {
			t.Errorf("terminal lacks %q:\n%s", want, screen)
		}
	}
}
