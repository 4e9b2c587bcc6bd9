package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// With two of three voters down, the survivor says "unavailable"
// everywhere: /readyz 503 with the reason, /healthz 200, an acquire 503
// "no quorum: 1 of 3 voters answered", and tenure lock exits 5 (or
// --exit-unavailable) without running its command.
func TestUnavailableLockExitCode(t *testing.T) {
	ps := cluster(t)
	a := ps["a"]
	waitFor(t, "a ready", func() bool { return call(t, "GET", a.http+"/readyz", "", nil) == 200 }, a.exited)
	for _, n := range []string{"b", "c"} {
		ps[n].signal(syscall.SIGKILL)
		ps[n].wait()
	}

	var ready struct {
		Status string `json:"status"`
		Error  string `json:"error"`
	}
	// Answers b and c sent just before SIGKILL (to the probe above) may
	// still arrive and count: wait for /readyz to see the majority gone.
	waitFor(t, "a to see the majority gone", func() bool { return call(t, "GET", a.http+"/readyz", "", nil) == 503 }, a.exited)
	if code := call(t, "GET", a.http+"/readyz", "", &ready); code != 503 || ready.Status != "unavailable" || ready.Error != "no quorum: 1 of 3 voters answered" {
		t.Fatalf("/readyz with 2 of 3 voters down: %d %+v", code, ready)
	}
	if code := call(t, "GET", a.http+"/healthz", "", nil); code != 200 {
		t.Fatalf("/healthz: %d, want 200 (the process serves)", code)
	}
	var g grant
	if code := call(t, "POST", a.http+"/v1/leases/job", `{}`, &g); code != 503 || g.Error != "no quorum: 1 of 3 voters answered" {
		t.Fatalf("acquire: %d %+v, want 503 no quorum", code, g)
	}

	marker := filepath.Join(t.TempDir(), "ran")
	status := filepath.Join(t.TempDir(), "status")
	lk := startLock(t, "--agent", a.http, "--status-file", status, "job", "--", "touch", marker)
	code, stderr := lk.wait(t)
	if code != 5 || !strings.Contains(stderr, "UNAVAILABLE") || !strings.Contains(stderr, "no quorum: 1 of 3 voters answered") {
		t.Fatalf("tenure lock: exit %d, want 5; stderr:\n%s", code, stderr)
	}
	if b, _ := os.ReadFile(status); strings.TrimSpace(string(b)) != "unavailable 5" {
		t.Errorf("status file %q, want \"unavailable 5\"", b)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("the command ran without the lease")
	}

	lk = startLock(t, "--agent", a.http, "--wait", "1s", "--exit-unavailable", "17", "job", "--", "touch", marker)
	if code, stderr := lk.wait(t); code != 17 {
		t.Fatalf("tenure lock --wait 1s --exit-unavailable 17: exit %d; stderr:\n%s", code, stderr)
	}
}
